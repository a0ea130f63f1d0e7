#!/usr/bin/env python3
"""Soak run: the gateway under mixed traffic with faults for a bounded time, sampling its RSS,
open file descriptors, threads, in-flight requests and alive runtime tasks; exits non-zero when
they do not stay flat. Run through load/soak.sh (builds, installs wrk); see load/README.md.

Traffic (load/wrk/soak.lua): function_uri unsigned and SigV4 (bodies over 64 KiB included),
Invoke raw / v2 / streaming, throttles (429), function errors (502), timeouts (504), connect
refused (retried, then 502), unresolvable host (502), 404s, and connections closed after each
request. Faults on top: clients that leave in the middle of an invoke (a thread here), and a
SIGHUP reload every two minutes. Everything binds 127.0.0.1 on ports chosen at run time, every
loop is bounded, and every process started here is stopped by its PID.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def sample(pid, metrics_port):
    st = proc_status(pid)
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()

    def metric(name):
        m = re.search(rf"^{name} (\S+)$", text, re.M)
        return float(m.group(1)) if m else float("nan")

    requests = sum(float(v) for v in re.findall(r"^lambda_proxy_requests_total\{[^}]*\} (\S+)$", text, re.M))
    return {
        "rss_mib": int(st["VmRSS"].split()[0]) / 1024,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(st["Threads"]),
        "in_flight": metric("lambda_proxy_in_flight_requests"),
        "tasks": metric("lambda_proxy_runtime_alive_tasks"),
        "requests": requests,
    }


def status_classes(metrics_port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    out = {}
    for cls, v in re.findall(r'^lambda_proxy_requests_total\{[^}]*status_class="(\w+)"[^}]*\} (\S+)$', text, re.M):
        out[cls] = out.get(cls, 0) + int(float(v))
    retries = sum(int(float(v)) for v in re.findall(r"^lambda_proxy_upstream_retries_total\{[^}]*\} (\S+)$", text, re.M))
    return out, retries


def wait_port(port, proc, what):
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit(f"soak: {what} exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"soak: {what} did not listen on {port}")


def gateway_config(work, gw_port, met_port, emu_port, closed_port):
    inv = lambda name, fn, extra="": (  # noqa: E731
        f"  - name: {name}\n    uri: {'/' + name if name != 'v2' else '/v2/*'}\n"
        f"    function_name: {fn}\n    aws_region: us-east-1\n    host: 127.0.0.1\n"
        f"    port: {emu_port}\n    disable_https: true\n    aws_key: {AKID}\n"
        f"    aws_secret: '{SECRET}'\n{extra}"
    )
    v2 = "    awsgateway_compatible: true\n    awsgateway_compatible_payload_version: '2.0'\n    is_proxy_integration: true\n"
    invokes = (
        inv("echo", "echo")
        + inv("v2", "proxy", v2)
        + inv("stream", "stream", "    response_streaming: true\n")
        + inv("throttle", "throttle")
        + inv("unhandled", "unhandled")
        + inv("slow", "sleep", "    timeout: 200\n")
    )
    return f"""version: 1
threads: 2
pid_file: {work}/gw.pid
upgrade_sock: {work}/upgrade.sock
grace_period_seconds: 5
graceful_shutdown_timeout_seconds: 2
listeners:
  - address: 127.0.0.1:{gw_port}
metrics:
  address: 127.0.0.1:{met_port}
access_log:
  enabled: false
routes:
  - name: open
    uri: /open/*
    function_uri: http://127.0.0.1:{emu_port}/open
  - name: iam
    uri: /iam/*
    function_uri: http://127.0.0.1:{emu_port}/iam
    authorization:
      iam:
        accesskey: {AKID}
        secretkey: '{SECRET}'
  - name: refused
    uri: /refused/*
    function_uri: http://127.0.0.1:{closed_port}/p
  - name: nodns
    uri: /nodns/*
    function_uri: https://no-such-host.invalid/p
{invokes}"""


def leaving_clients(gw_port, stop, counter):
    """Clients that start an invoke of a 400 ms function and leave after 20 ms, 5 per second."""
    body = b'{"ms":150}'
    req = b"POST /slow HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    while not stop.is_set():
        conns = []
        for _ in range(5):
            try:
                s = socket.create_connection(("127.0.0.1", gw_port), timeout=2)
                s.sendall(req)
                conns.append(s)
            except OSError:
                pass
        time.sleep(0.02)
        for s in conns:
            s.close()
        counter[0] += len(conns)
        stop.wait(1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=600, help="seconds of load (default 600)")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    ap.add_argument("--interval", type=int, default=10, help="seconds between samples (default 10)")
    ap.add_argument("--warmup", type=int, default=60, help="seconds before the baseline sample (default 60)")
    ap.add_argument("--out", help="also write the markdown report here")
    args = ap.parse_args()

    gw_bin = os.path.join(ROOT, "target/release/lambda-proxy")
    emu_bin = os.path.join(ROOT, "target/release/lambda-proxy-emulator")
    for b in (gw_bin, emu_bin):
        if not os.access(b, os.X_OK):
            sys.exit(f"soak: {b} missing (load/soak.sh builds it)")

    work = tempfile.mkdtemp(prefix="lambda-proxy-soak.")
    gw_port, met_port, emu_port, closed_port = free_ports(4)
    conf = os.path.join(work, "gateway.yaml")
    with open(conf, "w") as f:
        f.write(gateway_config(work, gw_port, met_port, emu_port, closed_port))
    procs = []
    stop = threading.Event()
    try:
        emu = subprocess.Popen(
            [emu_bin, "--http", f"127.0.0.1:{emu_port}", "--threads", "1", "--credential", f"{AKID}:{SECRET}"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "emulator.log"), "w"),
            env={**os.environ, "RUST_LOG": "warn"},
        )
        procs.append(emu)
        wait_port(emu_port, emu, "emulator")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"RUST_LOG": "warn", "AWS_EC2_METADATA_DISABLED": "true"})
        gw = subprocess.Popen(
            [gw_bin, "-c", conf], stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(work, "gateway.log"), "w"), env=env,
        )
        procs.append(gw)
        wait_port(gw_port, gw, "gateway")
        # One request so the runtime gauge exists before the first sample.
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{gw_port}/echo", data=b"{}", method="POST"), timeout=5).read()
        start_sample = sample(gw.pid, met_port)
        # A short burst of the same traffic fills the upstream pools (each pooled connection is
        # a descriptor and a watching task); the idle state after it is the baseline the end of
        # the run is compared with.
        lua = os.path.join(ROOT, "load/wrk/soak.lua")
        subprocess.run(
            ["wrk", "-t", "1", "-c", str(args.connections), "-d", "10s", "-s", lua, f"http://127.0.0.1:{gw_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False,
        )
        time.sleep(3)
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{gw_port}/echo", data=b"{}", method="POST"), timeout=5).read()
        warm_sample = sample(gw.pid, met_port)

        leaving = [0]
        t_leave = threading.Thread(target=leaving_clients, args=(gw_port, stop, leaving), daemon=True)
        t_leave.start()
        wrk = subprocess.Popen(
            ["wrk", "-t", "1", "-c", str(args.connections), "-d", f"{args.duration}s", "--timeout", "5s",
             "-s", lua, f"http://127.0.0.1:{gw_port}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        procs.append(wrk)
        t0 = time.time()
        samples = []
        reloads = 0
        next_reload = t0 + 120
        while wrk.poll() is None and time.time() - t0 < args.duration + 30:
            time.sleep(args.interval)
            if wrk.poll() is not None:
                break
            s = sample(gw.pid, met_port)
            s["t"] = round(time.time() - t0)
            samples.append(s)
            print(f"[soak] t={s['t']:>4}s rss={s['rss_mib']:.1f}MiB fds={s['fds']} threads={s['threads']} "
                  f"in_flight={s['in_flight']:.0f} tasks={s['tasks']:.0f} requests={s['requests']:.0f}",
                  file=sys.stderr, flush=True)
            if time.time() >= next_reload:
                os.kill(gw.pid, signal.SIGHUP)
                reloads += 1
                next_reload += 120
        wrk_out = wrk.communicate(timeout=60)[0]
        stop.set()
        t_leave.join(timeout=5)
        time.sleep(3)
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{gw_port}/echo", data=b"{}", method="POST"), timeout=5).read()
        end_sample = sample(gw.pid, met_port)
        classes, retries = status_classes(met_port)
        wrk_json = json.loads(re.search(r"SOAK_JSON (\{.*\})", wrk_out).group(1))
        alive = gw.poll() is None
    finally:
        stop.set()
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    # Baseline: the first sample after the warm-up; the last sample under load; idle at the end.
    under = [s for s in samples if s["t"] >= args.warmup] or samples
    base, last = under[0], under[-1]
    rss_max = max(s["rss_mib"] for s in under)
    verdicts = []

    def check(name, ok, detail):
        verdicts.append((name, ok, detail))

    check("RSS flat under load", last["rss_mib"] <= base["rss_mib"] * 1.10 + 4,
          f"{base['rss_mib']:.1f} MiB at {base['t']} s → {last['rss_mib']:.1f} MiB at {last['t']} s (max {rss_max:.1f})")
    check("fds idle at the end as idle after warm-up", end_sample["fds"] <= warm_sample["fds"] + 8,
          f"{start_sample['fds']} at start, {warm_sample['fds']} idle after warm-up (pooled upstream connections), "
          f"{max(s['fds'] for s in under)} max under load, {end_sample['fds']} idle at the end")
    check("in-flight back to 0 when idle", end_sample["in_flight"] <= 1,
          f"{end_sample['in_flight']:.0f} (the probe request itself may count)")
    check("runtime tasks idle at the end as idle after warm-up", end_sample["tasks"] <= warm_sample["tasks"] + 8,
          f"{start_sample['tasks']:.0f} at start, {warm_sample['tasks']:.0f} idle after warm-up, "
          f"{max(s['tasks'] for s in under):.0f} max under load, {end_sample['tasks']:.0f} idle at the end")
    # Tokio's blocking pool (DNS lookups, credential files) may hold a few idle threads for 10 s.
    check("threads flat", end_sample["threads"] <= warm_sample["threads"] + 4,
          f"{warm_sample['threads']} after warm-up → {end_sample['threads']}")
    check("gateway alive, no socket errors",
          alive and sum(wrk_json["errors"][k] for k in ("connect", "read", "write", "timeout")) == 0,
          f"alive={alive}, wrk errors {wrk_json['errors']}")

    lines = [
        f"Soak: {args.duration} s, wrk 1 thread × {args.connections} connections (load/wrk/soak.lua), "
        f"{leaving[0]} clients leaving mid-invoke, {reloads} SIGHUP reloads; gateway `threads: 2`.",
        "",
        f"Requests in the run: {int(end_sample['requests'] - warm_sample['requests'])} "
        f"({(end_sample['requests'] - warm_sample['requests']) / args.duration:.0f}/s); by status class (warm-up included) "
        f"{json.dumps(classes, sort_keys=True)}; retries started {retries}; wrk p50 {wrk_json['p50_us'] / 1000:.2f} ms, "
        f"p99 {wrk_json['p99_us'] / 1000:.2f} ms, max {wrk_json['max_us'] / 1000:.0f} ms.",
        "",
        "| t (s) | RSS (MiB) | fds | threads | in flight | runtime tasks | requests |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, x in (("start", start_sample), ("idle after warm-up", warm_sample)):
        lines.append(f"| {label} | {x['rss_mib']:.1f} | {x['fds']} | {x['threads']} | {x['in_flight']:.0f} | "
                     f"{x['tasks']:.0f} | {x['requests']:.0f} |")
    step = max(1, 60 // args.interval)
    shown = samples[step - 1::step]
    if samples and (not shown or shown[-1] is not samples[-1]):
        shown.append(samples[-1])
    for s in shown:
        lines.append(f"| {s['t']} | {s['rss_mib']:.1f} | {s['fds']} | {s['threads']} | {s['in_flight']:.0f} | "
                     f"{s['tasks']:.0f} | {s['requests']:.0f} |")
    lines.append(f"| idle end | {end_sample['rss_mib']:.1f} | {end_sample['fds']} | {end_sample['threads']} | "
                 f"{end_sample['in_flight']:.0f} | {end_sample['tasks']:.0f} | {end_sample['requests']:.0f} |")
    lines += ["", "| check | result | figures |", "|---|---|---|"]
    for name, ok, detail in verdicts:
        lines.append(f"| {name} | {'ok' if ok else 'FAILED'} | {detail} |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    if all(ok for _, ok, _ in verdicts):
        import shutil
        shutil.rmtree(work, ignore_errors=True)
        return 0
    print(f"soak: not flat; logs kept in {work}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
