#!/usr/bin/env python3
"""Turns load/bench.sh's raw results (one JSON object per run) into the markdown report, and
draws its chart (load/bench_chart.py).

usage: bench_report.py RESULTS.jsonl [--command CMD] [--args TEXT] [--versions TEXT] [--chart FILE.svg]

Every figure comes from the one harness run that wrote RESULTS.jsonl: wrk's counts and
latency percentiles, utime+stime deltas of the measured processes (/proc/PID/stat), their
VmHWM (/proc/PID/status, reset before each measured window), the access log lines written in
each window, and the gateway's Prometheus counters scraped before and after each gateway run.

--chart FILE.svg writes the chart (req/s at saturation, and p50 / p99 / p99.9 of the same runs,
per row) and links it from the report as FILE.svg's base name: keep the two files side by side.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_chart  # noqa: E402  (beside this file)

CLK_TCK = os.sysconf("SC_CLK_TCK")
RSS_TARGET_KB = 64 * 1024  # 64 MiB
LOG_COST_MAX = 0.05        # the access log may cost at most 5% of req/s
JWT_CPU_MAX = 1.10         # a JWT authorizer with a repeated token: CPU µs/req ≤ 1.10× without
LIMIT_RPS_MIN = 0.97       # per-process limits: ≥ 97% of the same route's req/s without them
REDIS_RPS_MIN = 0.90       # Redis-backed limits: ≥ 90% of the same route's req/s without limits
REDIS_P99_ADD_MAX_US = 1000  # Redis-backed limits: added p99 at half load ≤ 1 ms (same rate)

LABELS = {
    "direct": "direct to the emulator",
    "nginx": "nginx pass-through, access_log off",
    "nginx_log": "nginx pass-through, access_log on (combined, to a file)",
    "nginx_lua": "nginx + Lua SigV4 signer (access_log on)",
    "fu_apikey": "gateway function_uri, unsigned (API key)",
    "fu_apikey_tok": "gateway function_uri, unsigned (API key), the JWT path's token sent (no authorizer)",
    "fu_jwt": "gateway function_uri, unsigned (API key) + JWT authorizer, repeated token",
    "fu_limited": "gateway function_uri, unsigned (API key) + route and per-address limits (never reached)",
    "fu_limited_redis": "gateway function_uri, unsigned (API key) + the same limits in Redis (throttling_store)",
    "fu_apikey_rgw": "gateway function_uri, unsigned (API key), served by the Redis gateway (no limits on this route)",
    "fu_iam": "gateway function_uri, IAM-signed",
    "invoke_raw": "gateway Invoke, signed, raw event",
    "invoke_v2": "gateway Invoke, signed, API Gateway v2 event",
}
SHORT = {
    "direct": "direct to the emulator",
    "nginx": "nginx, access_log off",
    "nginx_log": "nginx, access_log on",
    "nginx_lua": "nginx + Lua signer, log on",
    "fu_apikey": "gateway function_uri, API key",
    "fu_apikey_tok": "gateway function_uri, API key, token sent",
    "fu_jwt": "gateway function_uri, API key + JWT",
    "fu_limited": "gateway function_uri, API key + limits",
    "fu_limited_redis": "gateway function_uri, API key + Redis limits",
    "fu_apikey_rgw": "gateway function_uri, API key (Redis gateway)",
    "fu_iam": "gateway function_uri, IAM-signed",
    "invoke_raw": "gateway Invoke raw, signed",
    "invoke_v2": "gateway Invoke v2, signed",
}
PROCESS = {"direct": "emulator", "nginx": "nginx", "nginx_log": "nginx", "nginx_lua": "nginx + lua-nginx-module"}
REF_PATHS = ["direct", "nginx", "nginx_log", "nginx_lua"]
GATEWAY_PATHS = ["fu_apikey", "fu_apikey_tok", "fu_jwt", "fu_limited", "fu_limited_redis", "fu_apikey_rgw", "fu_iam",
                 "invoke_raw", "invoke_v2"]
# Feature-cost pairs (bench.sh's PAIRS): the feature's path and its baseline, measured in
# alternating rounds in one gateway process.
PAIRS = [("fu_limited", "fu_apikey"), ("fu_jwt", "fu_apikey_tok"), ("fu_limited_redis", "fu_apikey_rgw")]
SIGNED_PATHS = ["fu_iam", "invoke_raw", "invoke_v2"]
LOG_MODES = ["off", "text", "json"]
ROW_ORDER = REF_PATHS + [f"{p}@{m}" for p in GATEWAY_PATHS for m in LOG_MODES]
DEFAULT_LOG = {"direct": "none", "nginx": "off", "nginx_log": "combined", "nginx_lua": "combined"}


# The notes under the tables.
NOTE_SATURATION = (
    "CPU µs/req: utime+stime of the proxy process (for *direct*: the emulator) over the measured "
    "window, divided by the requests wrk completed. Busy: the proxy process's CPU time over the "
    "window (one core = 100%; below about 90% while its core is saturated, something else ran on "
    "that core), and the share of the proxy core and of the load core (wrk + emulator) not idle over "
    "the window, from /proc/stat (100% = saturated; the *direct* row's proxy core is idle by design). "
    "Peak RSS: VmHWM, reset at the start of the window. "
    "req/s vs log off: against the same path with its access log off (nginx: `access_log off`). "
    "Log lines / req: access log lines written over the window per completed request (about 1 when "
    "every request is logged). Errors: wrk connect/read/write errors, timeouts and non-2xx answers. "
    "*JWT authorizer, repeated token*: the API key route plus a JWT authorizer (RS256, key set from a "
    "second emulator); every request carries the same token (an `Authorization` header of about "
    "0.6 KB that the API key rows' requests do not carry), so past the first one its check is a "
    "SHA-256 of the token and a cache lookup."
)
NOTE_ACCESS_LOG = (
    "Each gateway figure comes from its own freshly started gateway, the three modes back to back. "
    "Lines dropped: `lambda_proxy_access_log_dropped_total` over the window (lines the writer's "
    "queue could not take; never requests). On a shared or noisy machine a few percent between "
    "back-to-back runs is noise: read CPU µs/req alongside req/s."
)
NOTE_UNLOADED = (
    "*direct* never leaves the load core (wrk and the emulator share it); every proxied path crosses "
    "to the proxy core and back twice (client → proxy → emulator → proxy → client), so its added "
    "latency includes waking the other core each time. *nginx* shows that floor for a minimal proxy."
)


def row_id(r):
    """A row of the report: the path, and for a gateway path its access log mode."""
    return f"{r['path']}@{r['log']}" if r["path"] in GATEWAY_PATHS else r["path"]


def label(rid, short=False):
    names = SHORT if short else LABELS
    if "@" in rid:
        path, mode = rid.split("@")
        return f"{names[path]} · log {mode}" if short else f"{names[path]} — log {mode}"
    return names[rid]


def ordered(rows):
    """rows: {row id: run}; their ids in report order."""
    return sorted(rows, key=lambda k: ROW_ORDER.index(k) if k in ROW_ORDER else len(ROW_ORDER))


def load(path):
    runs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    for r in runs:
        # Results of earlier harness versions have no access log fields (their gateway log was off).
        r.setdefault("log", DEFAULT_LOG.get(r["path"], "off"))
        r.setdefault("log_lines", None)
        r["id"] = row_id(r)
        w = r["wrk"]
        r["seconds"] = w["duration_us"] / 1e6
        r["rps"] = w["requests"] / r["seconds"] if r["seconds"] else 0.0
        r["errors"] = (
            w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"] + w["status_errors"]
        )
        reqs = max(1, w["requests"])
        r["cpu_us_per_req"] = r["proxy_ticks"] * 1e6 / CLK_TCK / reqs
        r["emu_us_per_req"] = r["emu_ticks"] * 1e6 / CLK_TCK / reqs
        r["busy"] = r["proxy_ticks"] / CLK_TCK / r["window_s"] if r["window_s"] else 0.0
        pb, pt = r.get("proxy_core", [0, 0])
        lb, lt = r.get("load_core", [0, 0])
        r["proxy_core_busy"] = pb / pt if pt else 0.0
        r["load_core_busy"] = lb / lt if lt else 0.0
        logged = r["log"] not in ("none", "off") and r["log_lines"] is not None
        r["lines_per_req"] = r["log_lines"] / reqs if logged else None
    return runs


METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+([0-9.eE+-]+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_lines(metrics_file):
    """(name, labels, value) of every sample in a scrape; None when the file is missing."""
    if not metrics_file or not os.path.exists(metrics_file):
        return None
    samples = []
    with open(metrics_file, encoding="utf-8") as f:
        for line in f:
            m = METRIC_LINE.match(line)
            if m:
                samples.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return samples


def reuse_counts(metrics_file, route):
    """(new, reused) from lambda_proxy_upstream_connections_total for one route."""
    samples = metric_lines(metrics_file)
    if samples is None:
        return None
    new = reused = 0.0
    for name, labels, value in samples:
        if name != "lambda_proxy_upstream_connections_total" or labels.get("route") != route:
            continue
        if labels.get("reused") == "true":
            reused += value
        else:
            new += value
    return new, reused


def dropped_lines(r):
    """Access log lines the gateway dropped over a run's window (its queue was full), or None."""
    before, after = metric_lines(r.get("metrics_before")), metric_lines(r.get("metrics_after"))
    if before is None or after is None:
        return None

    def total(samples):
        return sum(v for n, _, v in samples if n == "lambda_proxy_access_log_dropped_total")

    return total(after) - total(before)


def cache_hits(r):
    """(hits, lookups) of the authorizer answer cache over a run's window
    (`lambda_proxy_authorizer_cache_total`, every authorizer), or None."""
    before, after = metric_lines(r.get("metrics_before")), metric_lines(r.get("metrics_after"))
    if before is None or after is None:
        return None

    def total(samples, hit):
        return sum(v for n, labels, v in samples if n == "lambda_proxy_authorizer_cache_total"
                   and (labels.get("result") == "hit" or not hit))

    return total(after, True) - total(before, True), total(after, False) - total(before, False)


def store_calls(r):
    """(ok, failed) calls to the throttling store over a run's window
    (`lambda_proxy_throttling_store_calls_total`; failed: timeout or unavailable), or None."""
    before, after = metric_lines(r.get("metrics_before")), metric_lines(r.get("metrics_after"))
    if before is None or after is None:
        return None

    def total(samples, ok):
        return sum(v for n, labels, v in samples if n == "lambda_proxy_throttling_store_calls_total"
                   and (labels.get("result") == "ok") == ok)

    return total(after, True) - total(before, True), total(after, False) - total(before, False)


def redis_scripts(info_file):
    """The store's round trips Redis served up to an `INFO commandstats` (EVALSHA + EVAL calls), or None."""
    if not info_file or not os.path.exists(info_file):
        return None
    n, seen = 0, False
    with open(info_file, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^cmdstat_eval(?:sha)?:calls=(\d+)", line.strip())
            if m:
                n, seen = n + int(m.group(1)), True
    return n if seen else (0 if os.path.getsize(info_file) else None)


def round_trips(r):
    """Redis script calls (the store's round trips) over a run's window, or None."""
    before, after = redis_scripts(r.get("redis_before")), redis_scripts(r.get("redis_after"))
    return None if before is None or after is None else after - before


def store_figure(r):
    """Store calls and Redis round trips per request over a run's window, for a target's figure.
    `lambda_proxy_throttling_store_calls_total` counts a decision per bucket per request (2 here:
    the route's and the address's), served from a lease or not; Redis's script calls are the
    round trips, which the leases keep far below 1 per request."""
    reqs = max(1, r["wrk"]["requests"])
    calls, trips = store_calls(r), round_trips(r)
    parts = []
    if trips is not None:
        parts.append(f"Redis round trips (script calls) per request {trips / reqs:.3f} ({trips:,} for {reqs:,})")
    if calls is not None:
        parts.append(f"store calls ok per request {calls[0] / reqs:.2f} (one per bucket, lease hits included), "
                     f"failed {calls[1]:,.0f}")
    return "; ".join(parts) or "store calls: no metrics"


def us(v):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v / 1000:.2f} ms"
    return f"{v:.0f} µs"


def mb(kb):
    return f"{kb / 1024:.1f} MiB" if kb else "–"


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def ratio(a, b):
    return f"{a / b:.2f}×" if b else "–"


def pct(a, b):
    """a relative to b, as a signed percentage."""
    return f"{(a / b - 1) * 100:+.1f}%".replace("-", "−") if b else "–"


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001 - informational only
        return ""


def machine():
    model = sh("lscpu | grep 'Model name' | sed 's/Model name: *//'") or "?"
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return f"{sh('nproc')} cores (`nproc`), {model}, {mem} RAM, kernel {sh('uname -r')} ({sh('uname -m')})"


class Report:
    def __init__(self, runs, args):
        self.runs = runs
        self.a = args
        self.out = []
        self.sat = {r["id"]: r for r in runs if r["mode"] == "sat"}
        self.seq = {r["id"]: r for r in runs if r["mode"] == "seq"}
        self.lat = [r for r in runs if r["mode"].startswith("lat:")]
        self.pair_runs = [r for r in runs if r["mode"].startswith("pair:")]
        self.lat_pair_runs = [r for r in runs if r["mode"].startswith("latpair:")]
        self.rss1 = {r["id"]: r for r in runs if r["mode"] == "rss1"}
        self.rss2 = {r["id"]: r for r in runs if r["mode"] == "rss2"}
        self.modes = [m for m in LOG_MODES if any(f"{p}@{m}" in self.sat for p in GATEWAY_PATHS)]
        # The gateway's access log mode in the unloaded, fixed-rate and RSS runs.
        detail = [r["log"] for r in runs if r["path"] in GATEWAY_PATHS and r["mode"] != "sat"]
        self.detail = detail[0] if detail else None
        self.reuse = {}

    def p(self, line=""):
        self.out.append(line)

    def para(self, text):
        """A paragraph and the blank line after it."""
        self.p(text)
        self.p()

    def table_head(self, title, header, left=1):
        """A section's title, then its table's header row (columns separated by " | ") and the
        alignment row: the first `left` columns left-aligned, the others right-aligned."""
        self.para(f"## {title}")
        n = len(header.split(" | "))
        self.p(f"| {header} |")
        self.p("|" + "---|" * left + "--:|" * (n - left))

    def gw(self, path, mode):
        return self.sat.get(f"{path}@{mode}")

    def lat_run(self, key, path):
        """The fixed-rate run of `path` at half of gateway path `key`'s saturation rate."""
        want = f"{path}@{self.detail}" if path in GATEWAY_PATHS else path
        return next((r for r in self.lat if r["mode"] == f"lat:{key}" and r["id"] == want), None)

    # -- sections ----------------------------------------------------------------------------
    def header(self, chart_name):
        a, p = self.a, self.p
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        commit = sh("git rev-parse --short HEAD 2>/dev/null")
        self.commit, self.date = commit, now
        p("# lambda-proxy benchmark")
        p()
        p(f"- date: {now}")
        p(f"- command: `{a.command}` ({a.args})")
        p(f"- machine: {machine()}")
        if a.versions:
            p(f"- tools: {a.versions}")
        if commit:
            p(f"- commit: {commit}")
        p("- processes: lambda-proxy `threads: 1` or nginx `worker_processes 1` alone on the proxy core; "
          "wrk (1 thread) and `lambda-proxy-emulator --fast --threads 1` on the load core")
        if self.modes:
            p(f"- access log: each gateway path at saturation with its access log "
              f"{' / '.join(f'**{m}**' for m in self.modes)} (off: `access_log.enabled: false`; text, json: "
              "that format, `RUST_LOG=warn,access=info`, to a file), a fresh gateway for each; nginx "
              "pass-through with `access_log off` and on (combined format, to a file); nginx + Lua with "
              "`access_log` on."
              + (f" The unloaded, fixed-rate and RSS runs: gateway access log **{self.detail}**."
                 if self.detail else ""))
        p()
        if chart_name:
            p(f"![req/s at saturation and p50 / p99 / p99.9 latency per path]({chart_name})")
            p()

    def saturation(self):
        p, sat = self.p, self.sat
        any_sat = next(iter(sat.values()), None)
        if not any_sat:
            return
        body = self.a.args.split("body=")[1].split()[0] if "body=" in self.a.args else "?"
        self.table_head(
            f"Saturation ({any_sat['conns']} keep-alive connections, POST {body} JSON, "
            f"{any_sat['seconds']:.0f} s per path after a warm-up)",
            "path | proxy process | req/s | × nginx | × direct | req/s vs log off | p50 | p99 | p99.9 | CPU µs/req "
            "| CPU × nginx | busy: proxy process / proxy core / load core | emulator CPU µs/req | peak RSS | log lines / req | errors",
            left=2)
        ng, di = sat.get("nginx"), sat.get("direct")
        for rid in ordered(sat):
            r = sat[rid]
            w = r["wrk"]
            off = None
            if rid == "nginx_log":
                off = ng
            elif "@" in rid and not rid.endswith("@off"):
                off = sat.get(rid.split("@")[0] + "@off")
            p("| {} | {} | {:,.0f} | {} | {} | {} | {} | {} | {} | {:.1f} | {} | {:.0%} / {:.0%} / {:.0%} | {:.1f} | {} | {} | {} |".format(
                label(rid), PROCESS.get(r["path"], "lambda-proxy"), r["rps"],
                ratio(r["rps"], ng["rps"]) if ng else "–", ratio(r["rps"], di["rps"]) if di else "–",
                pct(r["rps"], off["rps"]) if off else "–",
                us(w["p50_us"]), us(w["p99_us"]), us(w["p999_us"]), r["cpu_us_per_req"],
                ratio(r["cpu_us_per_req"], ng["cpu_us_per_req"]) if ng else "–",
                r["busy"], r["proxy_core_busy"], r["load_core_busy"], r["emu_us_per_req"], mb(r["hwm_kb"]),
                f"{r['lines_per_req']:.3f}" if r["lines_per_req"] is not None else "–", r["errors"]))
        p()
        self.para(NOTE_SATURATION)

    def access_log(self):
        """Access log cost per gateway path: req/s and CPU per request, off against text and json."""
        on = [m for m in self.modes if m != "off"]
        if "off" not in self.modes or not on:
            return
        p, sat = self.p, self.sat
        self.table_head(
            "Access log cost at saturation (same path, access log off against on)",
            " | ".join(["path", "req/s, log off"] + [f"req/s, {m} (vs off)" for m in on] + ["CPU µs/req, off"]
                       + [f"CPU µs/req, {m}" for m in on] + [f"lines dropped, {m}" for m in on]))
        for path in GATEWAY_PATHS:
            off = self.gw(path, "off")
            if not off:
                continue
            runs = [self.gw(path, m) for m in on]
            drops = [dropped_lines(r) if r else None for r in runs]
            p(f"| {LABELS[path]} | {off['rps']:,.0f} | "
              + " | ".join(f"{r['rps']:,.0f} ({pct(r['rps'], off['rps'])})" if r else "–" for r in runs)
              + f" | {off['cpu_us_per_req']:.1f} | "
              + " | ".join(f"{r['cpu_us_per_req']:.1f}" if r else "–" for r in runs) + " | "
              + " | ".join(f"{d:,.0f}" if d is not None else "–" for d in drops) + " |")
        p()
        ng, nl = sat.get("nginx"), sat.get("nginx_log")
        if ng and nl:
            self.para(f"For reference, nginx pass-through with `access_log` on (combined, to a file): "
                      f"{nl['rps']:,.0f} req/s against {ng['rps']:,.0f} off ({pct(nl['rps'], ng['rps'])}), "
                      f"CPU µs/req {nl['cpu_us_per_req']:.1f} against {ng['cpu_us_per_req']:.1f}.")
        self.para(NOTE_ACCESS_LOG)

    def unloaded(self):
        p, seq = self.p, self.seq
        if not seq:
            return
        self.table_head(f"Unloaded round trip (1 connection, closed loop; gateway access log {self.detail})",
                        "path | req/s | p50 | p99 | p99.9 | added p50 vs direct | added p50 vs nginx | CPU µs/req")
        sd, sn = seq.get("direct"), seq.get("nginx")
        for rid in ordered(seq):
            r = seq[rid]
            w = r["wrk"]
            p("| {} | {:,.0f} | {} | {} | {} | {} | {} | {:.1f} |".format(
                label(rid), r["rps"], us(w["p50_us"]), us(w["p99_us"]), us(w["p999_us"]),
                us(w["p50_us"] - sd["wrk"]["p50_us"]) if sd else "–",
                us(w["p50_us"] - sn["wrk"]["p50_us"]) if sn and rid not in ("direct", "nginx") else "–",
                r["cpu_us_per_req"]))
        p()
        self.para(NOTE_UNLOADED)

    def fixed_rate(self):
        p, lat = self.p, self.lat
        if not lat:
            return
        self.table_head(
            f"Latency at a fixed rate (half of each gateway path's saturation rate, gateway access log "
            f"{self.detail}; nginx + Lua, nginx and direct at the same rate)",
            "path | target req/s | achieved req/s | p50 | p99 | p99.9 | p99 from schedule "
            "| nginx + Lua p50 / p99 | p99 ÷ nginx + Lua's | nginx p50 / p99 | direct p50 / p99 "
            "| added vs direct p50 / p99 | added vs nginx p50 / p99 | errors")
        for key in GATEWAY_PATHS:
            pr, lr = self.lat_run(key, key), self.lat_run(key, "nginx_lua")
            nr, dr = self.lat_run(key, "nginx"), self.lat_run(key, "direct")
            if not pr or not dr or not nr:
                continue
            pw, nw, dw = pr["wrk"], nr["wrk"], dr["wrk"]
            lw = lr["wrk"] if lr else None
            p("| {} | {:,} | {:,.0f} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} / {} | {} / {} | {} |".format(
                label(pr["id"]), pr["target_rate"], pr["rps"],
                us(pw["p50_us"]), us(pw["p99_us"]), us(pw["p999_us"]), us(pw.get("p99_sched_us")),
                f"{us(lw['p50_us'])} / {us(lw['p99_us'])}" if lw else "–",
                ratio(pw["p99_us"], lw["p99_us"]) if lw else "–",
                us(nw["p50_us"]), us(nw["p99_us"]), us(dw["p50_us"]), us(dw["p99_us"]),
                us(pw["p50_us"] - dw["p50_us"]), us(pw["p99_us"] - dw["p99_us"]),
                us(pw["p50_us"] - nw["p50_us"]), us(pw["p99_us"] - nw["p99_us"]),
                pr["errors"] + nr["errors"] + dr["errors"] + (lr["errors"] if lr else 0)))
        p()
        self.para(f"Fixed rate: `load/fixed-rate`, open loop, Poisson arrivals at the target rate over "
                  f"{lat[0]['conns']} keep-alive connections (one thread each, microsecond sleeps). Latency "
                  "from writing the request to reading the whole answer; *from schedule* also counts a send "
                  "delayed by its busy connection or a late client wake-up. nginx + Lua runs at the rate of each "
                  "signed gateway path (it has no unsigned peer). The same route without limits on the Redis "
                  "gateway (fu_apikey_rgw: the same process) also runs at fu_limited_redis's rate, as the "
                  "reference of the Redis-backed limits' added p99 (Targets).")

    def rss(self):
        p, rss1, rss2 = self.p, self.rss1, self.rss2
        if not rss1:
            return
        n = next(iter(rss1.values()))["conns"]
        self.table_head(
            f"Peak RSS with {n:,} keep-alive clients (saturating; gateway access log {self.detail})",
            "path | process | RSS at start | wave 1: req/s | wave 1: p99 | wave 1: peak RSS | (peak − start) / client "
            "| wave 2: req/s | wave 2: peak RSS | errors", left=2)
        for rid in ordered(rss1):
            r1, r2 = rss1[rid], rss2.get(rid)
            start = r1.get("rss_start_kb") or 0
            proc = PROCESS.get(r1["path"], "lambda-proxy") + (" worker" if r1["path"].startswith("nginx") else "")
            p("| {} | {} | {} | {:,.0f} | {} | {} | {:.1f} KiB | {} | {} | {} |".format(
                label(rid), proc, mb(start), r1["rps"], us(r1["wrk"]["p99_us"]), mb(r1["hwm_kb"]),
                (r1["hwm_kb"] - start) / r1["conns"],
                f"{r2['rps']:,.0f}" if r2 else "–", mb(max(r1["hwm_kb"], r2["hwm_kb"])) if r2 else "–",
                r1["errors"] + (r2["errors"] if r2 else 0)))
        p()
        self.para("Each gateway path starts from a fresh process (*RSS at start*); the nginx workers have served "
                  "the earlier runs. Wave 1: one wrk with "
                  f"{n:,} connections for the warm-up plus the measured time. Wave 2: those clients are gone and "
                  f"{n:,} new ones connect (clients reconnecting); its peak is over both waves. Both are "
                  "saturation runs, so the gateway also holds up to that many upstream connections. "
                  "MiB = 1,048,576 bytes (VmHWM's kB are KiB).")

    def reuse_table(self):
        p = self.p
        gw_runs = [r for r in self.runs if r.get("route")]
        if not gw_runs:
            return
        lines = []
        for r in gw_runs:
            before = reuse_counts(r["metrics_before"], r["route"])
            after = reuse_counts(r["metrics_after"], r["route"])
            if before is None or after is None:
                continue
            new, reused = after[0] - before[0], after[1] - before[1]
            total = new + reused
            share = reused / total if total else None
            self.reuse[(r["mode"], r["id"])] = share
            lines.append("| {} {} | {} | {} | {:,.0f} | {:,.0f} | {} |".format(
                r["mode"], r["path"], r["route"], r["log"], new, reused,
                f"{share:.3%}" if share is not None else "–"))
        if not lines:
            return
        self.table_head("Upstream connection reuse (`lambda_proxy_upstream_connections_total`, measured windows)",
                        "run | route | access log | new | reused | reuse", left=3)
        for line in lines:
            p(line)
        p()

    def _rounds(self, runs, feature):
        """`feature`'s rounds among pair runs (mode `<kind>:<feature>:<round>`) with its baseline:
        [(feature run, base run)] in round order."""
        base = dict(PAIRS).get(feature)
        by_round = {}
        for r in runs:
            _, feat, rnd = r["mode"].split(":")
            if feat == feature:
                by_round.setdefault(int(rnd), {})[r["path"]] = r
        return [(d[feature], d[base]) for _, d in sorted(by_round.items()) if feature in d and base in d]

    def pair(self, feature):
        """A feature-cost pair's rounds: {"rounds": [(feature run, base run)], "rps": median
        ratio of req/s, "cpu": median ratio of CPU µs/req, "rps_range": (min, max)}; None
        without runs."""
        rounds = self._rounds(self.pair_runs, feature)
        if not rounds or any(not b["rps"] or not b["cpu_us_per_req"] for _, b in rounds):
            return None
        rps = [f["rps"] / b["rps"] for f, b in rounds]
        cpu = [f["cpu_us_per_req"] / b["cpu_us_per_req"] for f, b in rounds]
        return {"rounds": rounds, "rps": median(rps), "cpu": median(cpu), "rps_range": (min(rps), max(rps)),
                "cpu_range": (min(cpu), max(cpu)), "base": dict(PAIRS)[feature]}

    def lat_pair(self, feature):
        """The fixed-rate rounds of `feature` and its baseline in one process: [(feature run,
        base run)] by round, or None."""
        return self._rounds(self.lat_pair_runs, feature) or None

    def pairs(self):
        present = [f for f, _ in PAIRS if self.pair(f)]
        if not present:
            return
        self.table_head("Feature costs in one gateway process (alternating rounds)",
                        "feature | baseline | rounds | req/s ratio, median (min–max) | "
                        "CPU µs/req ratio, median (min–max) | errors", left=2)
        for f in present:
            st = self.pair(f)
            errors = sum(a["errors"] + b["errors"] for a, b in st["rounds"])
            lo, hi = st["rps_range"]
            clo, chi = st["cpu_range"]
            self.p(f"| {SHORT[f]} | {SHORT[st['base']]} | {len(st['rounds'])} | {st['rps']:.3f} "
                   f"({lo:.3f}–{hi:.3f}) | {st['cpu']:.3f} ({clo:.3f}–{chi:.3f}) | {errors:,} |")
        self.p()
        log = self.pair_runs[0]["log"]
        self.para(
            f"Each feature against its baseline in the same gateway process (access log {log}), short "
            "saturation runs alternating base, feature, then feature, base, and so on; a round's ratio is "
            "feature ÷ base. On this VM two fresh starts of one configuration differ by several percent "
            "(see the saturation table), more than the costs measured here; alternating in one process takes "
            "that out. The cost targets use the medians.")

    def targets(self):
        p, sat = self.p, self.sat
        self.table_head("Targets", "target | figure | met", left=3)

        def row(name, figure, ok):
            p(f"| {name} | {figure} | {'met' if ok else '**not met**'} |")

        ng, nl, lua, di = sat.get("nginx"), sat.get("nginx_log"), sat.get("nginx_lua"), sat.get("direct")
        # Against the Lua signer (access_log on): the gateway with its access log on too (text, the
        # default, else json); log off when that is all there is.
        like = next((m for m in ("text", "json", "off") if m in self.modes), None)
        for key, want in (("invoke_raw", 1.3), ("fu_iam", 1.15)):
            r = self.gw(key, like) if like else None
            if not (lua and r):
                continue
            others = ", ".join(f"log {m}: {self.gw(key, m)['rps'] / lua['rps']:.2f}×"
                               for m in self.modes if m != like)
            row(f"{LABELS[key]}, access log {like}, ≥ {want}× the nginx + Lua SigV4 signer's req/s "
                "(issue 14; the signer logs every request too)",
                f"{r['rps'] / lua['rps']:.2f}× ({r['rps']:,.0f} vs {lua['rps']:,.0f}); "
                f"CPU µs/req {r['cpu_us_per_req']:.1f} vs {lua['cpu_us_per_req']:.1f}"
                + (f"; {others}" if others else ""),
                r["rps"] >= want * lua["rps"])
        # The JWT authorizer's cost with a repeated token (verified tokens cached by SHA-256):
        # CPU per request against the same route without an authorizer receiving the same
        # request (fu_apikey_tok: the token sent, not checked), in one process, alternating.
        st = self.pair("fu_jwt")
        if st:
            last = st["rounds"][-1][0]
            hits = cache_hits(last)
            cached = (f"; token cache hits {hits[0] / hits[1]:.3%} of {hits[1]:,.0f} lookups (last round)"
                      if hits and hits[1] else "")
            row(f"JWT authorizer, repeated token: CPU µs/req of fu_jwt ≤ {JWT_CPU_MAX:.2f} × fu_apikey_tok "
                f"(the same request without an authorizer; one process, {len(st['rounds'])} alternating rounds, "
                f"access log {last['log']})",
                f"{st['cpu']:.3f}× median ({st['cpu_range'][0]:.3f}–{st['cpu_range'][1]:.3f}); req/s ratio "
                f"{st['rps']:.3f}{cached}",
                st["cpu"] <= JWT_CPU_MAX)
        # The JWT authorizer's cost with a repeated token (verified tokens cached by SHA-256):
        # CPU per request against the same route without an authorizer receiving the same
        # request (fu_apikey_tok: the token sent, not checked), in the same log mode; the
        # figure also shows the route without the token header (fu_apikey).
        for m in ([] if st else self.modes):
            jwt = self.gw("fu_jwt", m)
            base_key = "fu_apikey_tok" if self.gw("fu_apikey_tok", m) else "fu_apikey"
            key, plain = self.gw(base_key, m), self.gw("fu_apikey", m)
            if jwt and key and key["cpu_us_per_req"]:
                hits = cache_hits(jwt)
                cached = (f"; token cache hits {hits[0] / hits[1]:.3%} of {hits[1]:,.0f} lookups"
                          if hits and hits[1] else "")
                no_header = (f"; fu_apikey without the header {plain['cpu_us_per_req']:.1f} µs"
                             if plain and base_key != "fu_apikey" else "")
                row(f"JWT authorizer, repeated token: CPU µs/req of fu_jwt ≤ {JWT_CPU_MAX:.2f} × {base_key} "
                    f"(the same request without an authorizer; access log {m} both)",
                    f"{jwt['cpu_us_per_req'] / key['cpu_us_per_req']:.3f}× ({jwt['cpu_us_per_req']:.1f} vs "
                    f"{key['cpu_us_per_req']:.1f} µs); req/s {jwt['rps']:,.0f} vs {key['rps']:,.0f} "
                    f"({pct(jwt['rps'], key['rps'])}){no_header}{cached}",
                    jwt["cpu_us_per_req"] <= JWT_CPU_MAX * key["cpu_us_per_req"])
        # Per-process limits (a route bucket and a per-address bucket that never refuse): req/s
        # against the same route without limits (issue 16: ≤ 3%), in one process, alternating.
        st = self.pair("fu_limited")
        if st:
            row(f"per-process limits cost ≤ {1 - LIMIT_RPS_MIN:.0%} of req/s: fu_limited vs fu_apikey "
                f"(one process, {len(st['rounds'])} alternating rounds, access log {st['rounds'][0][0]['log']})",
                f"{(st['rps'] - 1) * 100:+.1f}% req/s median ({(st['rps_range'][0] - 1) * 100:+.1f}…"
                f"{(st['rps_range'][1] - 1) * 100:+.1f}%); CPU µs/req ratio {st['cpu']:.3f}",
                st["rps"] >= LIMIT_RPS_MIN)
        # Per-process limits (a route bucket and a per-address bucket that never refuse): req/s
        # against the same route without limits, same log mode (issue 16: ≤ 3%).
        for m in ([] if st else self.modes):
            lim, key = self.gw("fu_limited", m), self.gw("fu_apikey", m)
            if lim and key and key["rps"]:
                row(f"per-process limits cost ≤ {1 - LIMIT_RPS_MIN:.0%} of req/s: fu_limited vs fu_apikey "
                    f"(access log {m} both)",
                    f"{pct(lim['rps'], key['rps'])} ({lim['rps']:,.0f} vs {key['rps']:,.0f}); CPU µs/req "
                    f"{lim['cpu_us_per_req']:.1f} vs {key['cpu_us_per_req']:.1f}",
                    lim["rps"] >= LIMIT_RPS_MIN * key["rps"])
        # Redis-backed limits (the same buckets in Redis through throttling_store, on the second
        # gateway) against the same route without limits on that gateway, in one process,
        # alternating (≤ 10%); met only if Redis served the store in every round and no store
        # call failed (on_failure: deny, so a failed call is a 503 that wrk counts).
        st = self.pair("fu_limited_redis")
        if st:
            feats = [f for f, _ in st["rounds"]]
            calls = [store_calls(f) for f in feats]
            trips = [round_trips(f) for f in feats]
            used = all(t for t in trips) and all(c is not None for c in calls)
            failed = sum(c[1] for c in calls if c)
            total_trips = sum(t or 0 for t in trips)
            reqs = sum(f["wrk"]["requests"] for f in feats)
            row(f"Redis-backed limits cost ≤ {1 - REDIS_RPS_MIN:.0%} of req/s: fu_limited_redis vs fu_apikey_rgw "
                f"(one process, {len(st['rounds'])} alternating rounds, access log {feats[0]['log']}; Redis used, "
                "no store call failed)",
                f"{(st['rps'] - 1) * 100:+.1f}% req/s median ({(st['rps_range'][0] - 1) * 100:+.1f}…"
                f"{(st['rps_range'][1] - 1) * 100:+.1f}%); CPU µs/req ratio {st['cpu']:.3f}; Redis round trips "
                f"per request {total_trips / max(1, reqs):.4f} ({total_trips:,} for {reqs:,}); failed store "
                f"calls {failed:,.0f}",
                st["rps"] >= REDIS_RPS_MIN and used and failed == 0)
        # Redis-backed limits (the same buckets, in Redis through throttling_store, on a second
        # gateway): req/s against the same route without limits, same log mode (≤ 10%); met only
        # if Redis served the store during the window and no store call failed (on_failure:
        # deny, so a failed call is a 503 that wrk counts as a request). Redis round trips per
        # request show the leases: one script call per batch of up to 20 tokens per bucket.
        for m in ([] if st else self.modes):
            red, key = self.gw("fu_limited_redis", m), self.gw("fu_apikey", m)
            if red and key and key["rps"]:
                calls, trips = store_calls(red), round_trips(red)
                row(f"Redis-backed limits cost ≤ {1 - REDIS_RPS_MIN:.0%} of req/s: fu_limited_redis vs fu_apikey "
                    f"(access log {m} both; Redis used, no store call failed)",
                    f"{pct(red['rps'], key['rps'])} ({red['rps']:,.0f} vs {key['rps']:,.0f}); CPU µs/req "
                    f"{red['cpu_us_per_req']:.1f} vs {key['cpu_us_per_req']:.1f}; {store_figure(red)}",
                    red["rps"] >= REDIS_RPS_MIN * key["rps"] and bool(trips) and calls is not None
                    and calls[1] == 0)
        fu_off, fu_text = self.gw("fu_apikey", "off"), self.gw("fu_apikey", "text")
        if ng and fu_off:
            row("unsigned function_uri ≥ 0.6× nginx req/s (both access logs off)",
                f"{fu_off['rps'] / ng['rps']:.2f}× ({fu_off['rps']:,.0f} vs {ng['rps']:,.0f})",
                fu_off["rps"] >= 0.6 * ng["rps"])
        if nl and fu_text:
            row("unsigned function_uri ≥ 0.6× nginx req/s (both access logs on: text vs combined)",
                f"{fu_text['rps'] / nl['rps']:.2f}× ({fu_text['rps']:,.0f} vs {nl['rps']:,.0f})",
                fu_text["rps"] >= 0.6 * nl["rps"])
        for key in GATEWAY_PATHS:
            off = self.gw(key, "off")
            for m in ("text", "json"):
                r = self.gw(key, m)
                if off and r:
                    row(f"access log {m} costs ≤ {LOG_COST_MAX:.0%} req/s against off: {LABELS[key]}",
                        f"{pct(r['rps'], off['rps'])} ({r['rps']:,.0f} vs {off['rps']:,.0f}); CPU µs/req "
                        f"{r['cpu_us_per_req']:.1f} vs {off['cpu_us_per_req']:.1f}",
                        r["rps"] >= (1 - LOG_COST_MAX) * off["rps"])
        for key in SIGNED_PATHS:
            pr, lr = self.lat_run(key, key), self.lat_run(key, "nginx_lua")
            if pr and lr:
                row(f"p99 at half load ≤ the nginx + Lua signer's p99 at the same rate: {label(pr['id'])}",
                    f"{us(pr['wrk']['p99_us'])} vs {us(lr['wrk']['p99_us'])} at {pr['target_rate']:,} req/s",
                    pr["wrk"]["p99_us"] <= lr["wrk"]["p99_us"])
        # Redis-backed limits at half load: fu_limited_redis and fu_apikey at the same rate, half
        # of fu_limited_redis's saturation rate (so half load or less for fu_apikey).
        red = self.lat_run("fu_limited_redis", "fu_limited_redis")
        ref = "fu_apikey_rgw" if self.lat_run("fu_limited_redis", "fu_apikey_rgw") else "fu_apikey"
        key = self.lat_run("fu_limited_redis", ref)
        lp = self.lat_pair("fu_limited_redis")
        if lp:
            adds = sorted(f["wrk"]["p99_us"] - b["wrk"]["p99_us"] for f, b in lp)
            n = len(adds)
            add = median(adds)
            calls = [store_calls(f) for f, _ in lp]
            trips = [round_trips(f) for f, _ in lp]
            failed = sum(c[1] for c in calls if c)
            used = all(t for t in trips) and all(c is not None for c in calls)
            p99s = ", ".join(f"{us(f['wrk']['p99_us'])} vs {us(b['wrk']['p99_us'])}" for f, b in lp)
            row(f"Redis-backed limits add ≤ {us(REDIS_P99_ADD_MAX_US)} p99 at half load: fu_limited_redis vs "
                f"fu_apikey_rgw at the same rate (half of fu_limited_redis's saturation rate, {lp[0][0]['target_rate']:,} "
                f"req/s), one process, {n} alternating rounds, access log {lp[0][0]['log']}",
                f"{us(add)} median ({us(adds[0])}…{us(adds[-1])}; rounds: {p99s}); failed store calls {failed:,.0f}",
                add <= REDIS_P99_ADD_MAX_US and used and failed == 0)
            red = key = None
        if red and key:
            add = red["wrk"]["p99_us"] - key["wrk"]["p99_us"]
            calls, trips = store_calls(red), round_trips(red)
            row(f"Redis-backed limits add ≤ {us(REDIS_P99_ADD_MAX_US)} p99 at half load: fu_limited_redis vs "
                f"{ref} at the same rate (half of fu_limited_redis's saturation rate, access log {self.detail})",
                f"{us(add)} ({us(red['wrk']['p99_us'])} vs {us(key['wrk']['p99_us'])} at {red['target_rate']:,} req/s; "
                f"p50 {us(red['wrk']['p50_us'])} vs {us(key['wrk']['p50_us'])}); {store_figure(red)}",
                add <= REDIS_P99_ADD_MAX_US and bool(trips) and calls is not None and calls[1] == 0)
        inv = self.gw("invoke_raw", "off")
        if ng and inv:
            row("signed Invoke (raw event) ≥ 0.45× nginx req/s (both access logs off)",
                f"{inv['rps'] / ng['rps']:.2f}× ({inv['rps']:,.0f} vs {ng['rps']:,.0f})",
                inv["rps"] >= 0.45 * ng["rps"])
            row("signed Invoke p99 no worse than nginx's (saturation, both access logs off)",
                f"{us(inv['wrk']['p99_us'])} vs {us(ng['wrk']['p99_us'])}", inv["wrk"]["p99_us"] <= ng["wrk"]["p99_us"])
        for key in GATEWAY_PATHS:
            pr, nr, dr = self.lat_run(key, key), self.lat_run(key, "nginx"), self.lat_run(key, "direct")
            if pr and dr:
                a50 = pr["wrk"]["p50_us"] - dr["wrk"]["p50_us"]
                a99 = pr["wrk"]["p99_us"] - dr["wrk"]["p99_us"]
                n50 = f" (nginx at the same rate: {us(nr['wrk']['p50_us'] - dr['wrk']['p50_us'])})" if nr else ""
                n99 = f" (nginx at the same rate: {us(nr['wrk']['p99_us'] - dr['wrk']['p99_us'])})" if nr else ""
                row(f"added p50 ≤ 100 µs at half saturation: {label(pr['id'])}", us(a50) + n50, a50 <= 100)
                row(f"added p99 ≤ 1 ms at half saturation: {label(pr['id'])}", us(a99) + n99, a99 <= 1000)
        for key in GATEWAY_PATHS:
            rid = f"{key}@{self.detail}"
            r1, r2 = self.rss1.get(rid), self.rss2.get(rid)
            if r1:
                row(f"RSS ≤ 64 MiB with {r1['conns']:,} keep-alive clients (wave 1): {label(rid)}",
                    f"{mb(r1['hwm_kb'])} ({r1['hwm_kb'] * 1024 / 1e6:.1f} MB)", r1["hwm_kb"] <= RSS_TARGET_KB)
            if r1 and r2:
                peak = max(r1["hwm_kb"], r2["hwm_kb"])
                row(f"RSS ≤ 64 MiB after a second wave of {r2['conns']:,} new clients: {label(rid)}",
                    f"{mb(peak)} ({peak * 1024 / 1e6:.1f} MB)", peak <= RSS_TARGET_KB)
        share = next((self.reuse[("sat", f"invoke_raw@{m}")] for m in self.modes
                      if self.reuse.get(("sat", f"invoke_raw@{m}")) is not None), None)
        if share is not None:
            row("upstream connection reuse > 99% at steady state (signed Invoke run)", f"{share:.3%}", share > 0.99)
        if di:
            gw = [(k, r["rps"]) for k, r in sat.items() if r["path"] in GATEWAY_PATHS]
            if gw:
                k, top = max(gw, key=lambda kv: kv[1])
                row("emulator not the bottleneck: direct ≥ 2× every gateway path",
                    f"direct {di['rps']:,.0f} req/s = {di['rps'] / top:.1f}× the fastest gateway row ({label(k)})",
                    di["rps"] >= 2 * top)
        proxied = [r for k, r in sat.items() if k != "direct"]
        if proxied:
            worst_proxy = min(r["proxy_core_busy"] for r in proxied)
            worst_load = max(r["load_core_busy"] for r in proxied)
            row("the proxy's core is saturated in every proxied saturation run (≥ 95% busy)",
                f"proxy core ≥ {worst_proxy:.0%} busy (load core at most {worst_load:.0%})", worst_proxy >= 0.95)
            least = min(proxied, key=lambda r: r["busy"])
            row("the proxy had its core to itself in every proxied saturation run (its own CPU ≥ 90% of "
                "the core; else other work ran there and req/s are not comparable)",
                f"lowest {least['busy']:.0%} ({label(least['id'])})", least["busy"] >= 0.9)
        logged = [r for r in sat.values() if r["lines_per_req"] is not None]
        if logged:
            low = min(logged, key=lambda r: r["lines_per_req"])
            drops = sum(d for d in (dropped_lines(r) for r in logged) if d)
            row("access log complete: ≥ 0.98 lines per request in every saturation run with it on, none dropped",
                f"lowest {low['lines_per_req']:.3f} ({label(low['id'])}); {drops:,.0f} dropped",
                low["lines_per_req"] >= 0.98 and drops == 0)
        errors = sum(r["errors"] for r in self.runs)
        row("no errors in any run", f"{errors} errors", errors == 0)
        p()

    def chart(self, path):
        rows = []
        for rid in ordered(self.sat):
            r = self.sat[rid]
            if r["path"] in GATEWAY_PATHS:
                kind, group = f"gw_{r['log']}", r["path"]
            else:
                kind = {"direct": "direct", "nginx": "nginx_off", "nginx_log": "nginx_on",
                        "nginx_lua": "lua"}.get(r["path"], "direct")
                group = "references"
            w = r["wrk"]
            text = label(rid, short=True)
            trips = round_trips(r)
            if trips is not None:  # the Redis-backed path: its leases at work
                text += f" ({trips / max(1, w['requests']):.3f} Redis calls/req)"
            rows.append({"label": text, "kind": kind, "group": group, "rps": r["rps"],
                         "p50": w["p50_us"], "p99": w["p99_us"], "p999": w["p999_us"], "errors": r["errors"]})
        any_sat = next(iter(self.sat.values()), None)
        conns = f"{any_sat['conns']} keep-alive connections" if any_sat else ""
        title = f"lambda-proxy benchmark: saturation, {conns}, one proxy core"
        sub = " · ".join(x for x in (self.date, f"commit {self.commit}" if self.commit else "",
                                     self.a.args) if x)
        bench_chart.write_svg(path, rows, title, sub)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--command", default="./load/bench.sh")
    ap.add_argument("--args", default="")
    ap.add_argument("--versions", default="")
    ap.add_argument("--chart", default="", help="write the SVG chart to this file (linked by its base name)")
    a = ap.parse_args()
    rep = Report(load(a.results), a)
    rep.header(os.path.basename(a.chart) if a.chart else "")
    rep.saturation()
    rep.access_log()
    rep.unloaded()
    rep.fixed_rate()
    rep.rss()
    rep.reuse_table()
    rep.pairs()
    rep.targets()
    if a.chart:
        rep.chart(a.chart)
    sys.stdout.write("\n".join(rep.out) + "\n")


if __name__ == "__main__":
    main()
