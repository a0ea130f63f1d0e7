#!/usr/bin/env python3
"""Writes the hand-made seeds of the structured fuzz targets (event_build, event_stream,
path_join) into fuzz/corpus/<target>/seed-*.

Those targets take `#[derive(Arbitrary)]` inputs, so a seed is the byte string that
`arbitrary` 1.x decodes into the intended value: fields in order from the front, collection
and string lengths from the back (1 byte while at most 256 bytes are left, then 2 bytes big
endian), `bool` a byte's low bit, integers little endian, enum variants a u32, the last field
of the top-level struct "take rest". `cargo fuzz fmt <target> <file>` prints what a seed
decodes to. Re-run after changing an input struct:  python3 fuzz/make_seeds.py
"""

import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


class Enc:
    """Records the reads `Unstructured` will make, then lays the bytes out."""

    def __init__(self):
        self.ops = []  # ("front", bytes) | ("len", n)

    def raw(self, b):
        self.ops.append(("front", bytes(b)))

    def u8(self, v):
        self.raw([v])

    def boolean(self, v):
        self.u8(1 if v else 0)

    def u32(self, v):
        self.raw(struct.pack("<I", v))

    def i64(self, v):
        self.raw(struct.pack("<q", v))

    def variant(self, i, count):
        v = 0 if i == 0 else ((i << 32) + count - 1) // count
        assert (v * count) >> 32 == i
        self.u32(v)

    def byte_str(self, b):
        b = b.encode() if isinstance(b, str) else bytes(b)
        self.ops.append(("len", len(b)))
        self.raw(b)

    def option(self, value, write):
        self.boolean(value is not None)
        if value is not None:
            write(value)

    def vec(self, items, write):
        for item in items:
            self.boolean(True)
            write(item)
        self.boolean(False)

    def rest(self, b):
        """A take-rest `&[u8]` / `&str` last field: everything left."""
        self.raw(b.encode() if isinstance(b, str) else b)

    def finish(self):
        front = b"".join(b for kind, b in self.ops if kind == "front")
        lens = [n for kind, n in self.ops if kind == "len"]
        widths = [1] * len(lens)
        while True:
            total = len(front) + sum(widths)
            consumed = 0
            new = []
            for kind, b in self.ops:
                if kind == "front":
                    consumed += len(b)
                else:
                    left = total - consumed
                    w = 1 if left <= 256 else 2 if left <= 65537 else 4
                    new.append(w)
                    consumed += w
            if new == widths:
                break
            widths = new
        back = b""
        for n, w in zip(lens, widths):
            back = n.to_bytes(w, "big") + back
        return front + back


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------------------------
# path_join: Input { via_url: bool, base: &str, rest: Option<&str> }
# ---------------------------------------------------------------------------------------------

PATHS = [
    ("plain", False, "/prod", "a/b"),
    ("trailing", False, "/prod", "a/b/"),
    ("empty-rest", False, "/prod", ""),
    ("root", False, "", "x"),
    ("exact", False, "/prod", None),
    ("exact-root", False, "", None),
    ("slashes", False, "/prod", "//a///b"),
    ("dots", False, "/prod", "./a/%2e/b"),
    ("encoded", False, "/p", "a%20b/%E2%9C%93"),
    ("dotdot", False, "/prod", "a/../b"),
    ("enc-dotdot", False, "/prod", "%2E%2e/x"),
    ("double-enc", False, "/prod", "%252e%252e"),
    ("triple-enc", False, "/prod", "%25252e%25252e"),
    ("enc-slash", False, "/prod", "a%2f..%2fb"),
    ("backslash", False, "/prod", "x\\..\\y"),
    ("enc-backslash", False, "/prod", "..%5cx"),
    ("dot-names", False, "/p", "a..b/..."),
    ("url-base", True, "/prod/api/", "v1/orders/42"),
    ("url-root", True, "", "index.html"),
    ("url-dot", True, "/a/./b", "x"),
]

for name, via_url, base, rest in PATHS:
    e = Enc()
    e.boolean(via_url)
    e.byte_str(base)
    e.option(rest, e.byte_str)
    write("path_join", name, e.finish())

# ---------------------------------------------------------------------------------------------
# event_stream: Input { events: Vec<(Kind, &[u8])>, splits: Vec<u8>, garbage: &[u8] (rest) }
# Kind: Chunk | Complete | Other(&str)
# ---------------------------------------------------------------------------------------------


def es_header(name, value):
    n, v = name.encode(), value.encode()
    return bytes([len(n)]) + n + bytes([7]) + struct.pack(">H", len(v)) + v


def encode_event(event_type, payload):
    """What `invoke::stream::encode_event` writes (AWS event-stream framing, CRC32)."""
    headers = (
        es_header(":event-type", event_type)
        + es_header(":message-type", "event")
        + es_header(":content-type", "application/octet-stream")
    )
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + headers + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


def exception(kind, message):
    headers = es_header(":message-type", "exception") + es_header(":exception-type", kind)
    payload = ('{"message":"%s"}' % message).encode()
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + headers + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


STREAMS = [
    ("hello-world", [(0, b"hello "), (0, b"world"), (1, b"{}")], [7]),
    ("complete-error", [(0, b"partial"), (1, b'{"ErrorCode":"Sandbox.Timedout","ErrorDetails":"Task timed out","LogResult":"bG9n"}')], [1, 3, 200]),
    ("prelude-then-body", [(0, b'{"statusCode":200,"headers":{"content-type":"text/plain"}}\0\0\0\0\0\0\0\0'), (0, b"streamed body"), (1, b'{"ErrorCode":"","LogResult":""}')], [12, 5]),
    ("empty-chunks", [(0, b""), (0, b""), (1, b"")], []),
    ("other-type", [(2, b"x"), (0, b"\0\xff\x00binary")], [255]),
]

for name, events, splits in STREAMS:
    e = Enc()

    def one(ev):
        kind, payload = ev
        if kind == 2:
            e.variant(2, 3)
            e.byte_str("SomethingNew")
        else:
            e.variant(kind, 3)
        e.byte_str(payload)

    e.vec(events, one)
    e.vec(splits, e.u8)
    wire = b"".join(
        encode_event({0: "PayloadChunk", 1: "InvokeComplete", 2: "SomethingNew"}[k], p)
        for k, p in events
    )
    e.rest(wire)
    write("event_stream", name, e.finish())

# Wire-only seeds (no round-trip events): an exception, and a frame cut short.
for name, wire in [
    ("exception", exception("Unhandled", "boom")),
    ("truncated", encode_event("PayloadChunk", b"abcdef")[:-3]),
    ("bad-crc", encode_event("PayloadChunk", b"abc")[:-1] + b"\0"),
]:
    e = Enc()
    e.vec([], None)
    e.vec([3], e.u8)
    e.rest(wire)
    write("event_stream", name, e.finish())

# ---------------------------------------------------------------------------------------------
# event_build: see fuzz_targets/event_build.rs `Input`.
# Name: Known(u8) | Raw(&str); Value_: ContentType(u8) | Raw(&[u8]);
# Encoding: Auto | AutoWith(Vec<&str>) | Always | Never
# ---------------------------------------------------------------------------------------------

KNOWN = ["content-type", "cookie", "host", "user-agent", "accept", "x-forwarded-for",
         "authorization", "content-length"]
CTS = ["application/json", "application/json; charset=utf-8", "text/plain",
       "application/x-www-form-urlencoded", "application/octet-stream", "image/png",
       "application/vnd.api+json", "multipart/form-data; boundary=x"]


def request(e, r):
    e.byte_str(r["method"])
    e.byte_str(r["path"])
    e.option(r.get("query"), e.byte_str)

    def header(h):
        name, value = h
        if name in KNOWN:
            e.variant(0, 2)
            e.u8(KNOWN.index(name))
        else:
            e.variant(1, 2)
            e.byte_str(name)
        if value in CTS:
            e.variant(0, 2)
            e.u8(CTS.index(value))
        else:
            e.variant(1, 2)
            e.byte_str(value)

    e.vec(r.get("headers", []), header)
    e.option(r.get("source_ip", "203.0.113.9"), e.byte_str)
    e.boolean(r.get("http2", False))
    e.option(r.get("host"), e.byte_str)
    e.option(r.get("proxy"), e.byte_str)
    e.byte_str(r.get("request_id", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"))
    e.i64(r.get("secs", 1796018400))
    e.u32(r.get("nanos", 123000000))
    e.byte_str(r.get("resource", "/api/{proxy+}"))
    e.option(r.get("stage"), e.byte_str)
    e.byte_str(r.get("account_id", "123456789012"))
    e.byte_str(r.get("api_id", "orders"))
    e.vec(r.get("stage_variables", []), lambda kv: (e.byte_str(kv[0]), e.byte_str(kv[1])))
    enc = r.get("encoding", "auto")
    if isinstance(enc, list):
        e.variant(1, 4)
        e.vec(enc, e.byte_str)
    else:
        e.variant({"auto": 0, "always": 2, "never": 3}[enc], 4)
    for flag in r.get("kong", [True, True, True, True]):
        e.boolean(flag)
    body = r.get("body", b"")
    e.rest(body.encode() if isinstance(body, str) else body)


REQUESTS = {
    "get-query": dict(method="GET", path="/api/orders/42", query="expand=items&expand=customer&flag&a+b=c%20d",
                      headers=[("host", "api.example.com"), ("accept", "*/*"), ("user-agent", "curl/8.5.0")],
                      proxy="orders/42"),
    "post-json": dict(method="POST", path="/api/orders", headers=[("content-type", "application/json"),
                      ("content-length", "27")], body=b'{"item":"book","qty":2}   ',
                      host="api.example.com:8443", proxy="orders", stage="prod"),
    "post-form": dict(method="POST", path="/login", headers=[("content-type", "application/x-www-form-urlencoded")],
                      body=b"user=alice&pass=s%3Dcret&remember", host="example.com"),
    "binary-body": dict(method="PUT", path="/upload/pic.png", headers=[("content-type", "image/png")],
                        body=bytes([0x89]) + b"PNG\r\n\x1a\n\0\0\0\rIHDR", encoding="auto"),
    "cookies": dict(method="GET", path="/", headers=[("cookie", "a=1; b=2"), ("cookie", " ;c=3\t"),
                    ("x-multi", "one"), ("x-multi", "two")], host="[::1]:8080", http2=True),
    "always-base64": dict(method="POST", path="/kong", body=b"plain text", encoding="always",
                          kong=[False, True, False, True]),
    "never": dict(method="PATCH", path="/caf%C3%A9/x%2Fy", body="café ✓".encode(), encoding="never",
                  proxy="caf%C3%A9/x%2Fy", headers=[("content-type", "application/octet-stream")]),
    "custom-types": dict(method="POST", path="/t", headers=[("content-type", "application/vnd.api+json")],
                         body=b'{"data":[]}', encoding=["*/*+json", "text/*"],
                         stage_variables=[("env", "prod"), ("v", "2")]),
    "pre-epoch": dict(method="DELETE", path="/old", secs=-86400, nanos=0, resource="DELETE /old"),
    "far-future": dict(method="GET", path="/future", secs=253402300800, resource="", stage=""),
    "hostile": dict(method="G\"ET", path="/\"\\\u2028", query="\"=\\&%ZZ=%", headers=[("x-bin", b"\xff\xfe\x80ok")],
                    body=b"\"\\\x00\x1f", encoding="never", host="h\"ost"),
}

for name, r in REQUESTS.items():
    e = Enc()
    request(e, r)
    write("event_build", name, e.finish())
