#!/usr/bin/env python3
"""Turns load/bench.sh's raw results (one JSON object per run) into the markdown report.

usage: bench_report.py RESULTS.jsonl [--command CMD] [--args TEXT] [--versions TEXT]

Every figure comes from the one harness run that wrote RESULTS.jsonl: wrk's counts and
latency percentiles, utime+stime deltas of the measured processes (/proc/PID/stat), their
VmHWM (/proc/PID/status, reset before each measured window) and the gateway's Prometheus
counters scraped before and after each gateway run.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")
RSS_TARGET_KB = 64 * 1024  # 64 MiB

LABELS = {
    "direct": "direct to the emulator",
    "nginx": "nginx pass-through",
    "nginx_lua": "nginx + Lua SigV4 signer (access_log on)",
    "fu_apikey": "gateway function_uri, unsigned (API key)",
    "fu_iam": "gateway function_uri, IAM-signed",
    "invoke_raw": "gateway Invoke, signed, raw event",
    "invoke_v2": "gateway Invoke, signed, API Gateway v2 event",
}
PROCESS = {"direct": "emulator", "nginx": "nginx", "nginx_lua": "nginx + lua-nginx-module"}
GATEWAY_PATHS = ["fu_apikey", "fu_iam", "invoke_raw", "invoke_v2"]


def load(path):
    runs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    for r in runs:
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
    return runs


METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+([0-9.eE+-]+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def reuse_counts(metrics_file, route):
    """(new, reused) from lambda_proxy_upstream_connections_total for one route."""
    new = reused = 0.0
    if not metrics_file or not os.path.exists(metrics_file):
        return None
    with open(metrics_file, encoding="utf-8") as f:
        for line in f:
            m = METRIC_LINE.match(line)
            if not m or m.group(1) != "lambda_proxy_upstream_connections_total":
                continue
            labels = dict(LABEL.findall(m.group(2)))
            if labels.get("route") != route:
                continue
            if labels.get("reused") == "true":
                reused += float(m.group(3))
            else:
                new += float(m.group(3))
    return new, reused


def us(v):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v / 1000:.2f} ms"
    return f"{v:.0f} µs"


def mb(kb):
    return f"{kb / 1024:.1f} MiB" if kb else "–"


def ratio(a, b):
    return f"{a / b:.2f}×" if b else "–"


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001 - informational only
        return ""


def machine():
    model = sh("lscpu | grep 'Model name' | sed 's/Model name: *//'") or "?"
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return f"{sh('nproc')} cores (`nproc`), {model}, {mem} RAM, kernel {sh('uname -r')} ({sh('uname -m')})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--command", default="./load/bench.sh")
    ap.add_argument("--args", default="")
    ap.add_argument("--versions", default="")
    a = ap.parse_args()
    runs = load(a.results)
    sat = {r["path"]: r for r in runs if r["mode"] == "sat"}
    out = []
    p = out.append

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = sh("git rev-parse --short HEAD 2>/dev/null")
    p("# lambda-proxy benchmark")
    p("")
    p(f"- date: {now}")
    p(f"- command: `{a.command}` ({a.args})")
    p(f"- machine: {machine()}")
    if a.versions:
        p(f"- tools: {a.versions}")
    if commit:
        p(f"- commit: {commit}")
    p("- processes: lambda-proxy `threads: 1` or nginx `worker_processes 1` alone on the proxy core; "
      "wrk (1 thread) and `lambda-proxy-emulator --fast --threads 1` on the load core")
    p("")

    any_sat = next(iter(sat.values()), None)
    if any_sat:
        body = a.args.split("body=")[1].split()[0] if "body=" in a.args else "?"
        p(f"## Saturation ({any_sat['conns']} keep-alive connections, POST {body} JSON, "
          f"{any_sat['seconds']:.0f} s per path after a warm-up)")
        p("")
        p("| path | proxy process | req/s | × nginx | × direct | p50 | p99 | p99.9 | CPU µs/req | CPU × nginx "
          "| busy: proxy core / load core | emulator CPU µs/req | peak RSS | errors |")
        p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        ng = sat.get("nginx")
        di = sat.get("direct")
        for key in LABELS:
            r = sat.get(key)
            if not r:
                continue
            w = r["wrk"]
            p("| {} | {} | {:,.0f} | {} | {} | {} | {} | {} | {:.1f} | {} | {:.0%} / {:.0%} | {:.1f} | {} | {} |".format(
                LABELS[key], PROCESS.get(key, "lambda-proxy"), r["rps"],
                ratio(r["rps"], ng["rps"]) if ng else "–", ratio(r["rps"], di["rps"]) if di else "–",
                us(w["p50_us"]), us(w["p99_us"]), us(w["p999_us"]), r["cpu_us_per_req"],
                ratio(r["cpu_us_per_req"], ng["cpu_us_per_req"]) if ng else "–",
                r["proxy_core_busy"], r["load_core_busy"],
                r["emu_us_per_req"], mb(r["hwm_kb"]), r["errors"]))
        p("")
        p("CPU µs/req: utime+stime of the proxy process (for *direct*: the emulator) over the measured "
          "window, divided by the requests wrk completed. Busy: share of the proxy core and of the load "
          "core (wrk + emulator) not idle over the window, from /proc/stat (100% = saturated; the "
          "*direct* row's proxy core is idle by design). Peak RSS: VmHWM, reset at the start of the window. "
          "Errors: wrk connect/read/write errors, timeouts and non-2xx answers.")
        p("")

    seq = {r["path"]: r for r in runs if r["mode"] == "seq"}
    if seq:
        p("## Unloaded round trip (1 connection, closed loop)")
        p("")
        p("| path | req/s | p50 | p99 | p99.9 | added p50 vs direct | added p50 vs nginx | CPU µs/req |")
        p("|---|--:|--:|--:|--:|--:|--:|--:|")
        sd, sn = seq.get("direct"), seq.get("nginx")
        for key in LABELS:
            r = seq.get(key)
            if not r:
                continue
            w = r["wrk"]
            p("| {} | {:,.0f} | {} | {} | {} | {} | {} | {:.1f} |".format(
                LABELS[key], r["rps"], us(w["p50_us"]), us(w["p99_us"]), us(w["p999_us"]),
                us(w["p50_us"] - sd["wrk"]["p50_us"]) if sd else "–",
                us(w["p50_us"] - sn["wrk"]["p50_us"]) if sn and key not in ("direct", "nginx") else "–",
                r["cpu_us_per_req"]))
        p("")
        p("*direct* never leaves the load core (wrk and the emulator share it); every proxied path crosses "
          "to the proxy core and back twice (client → proxy → emulator → proxy → client), so its added "
          "latency includes waking the other core each time. *nginx* shows that floor for a minimal proxy.")
        p("")

    lat = [r for r in runs if r["mode"].startswith("lat:")]
    if lat:
        p("## Latency at a fixed rate (half of each gateway path's saturation rate; nginx and direct at the same rate)")
        p("")
        p("| path | target req/s | achieved req/s | p50 | p99 | p99.9 | p99 from schedule "
          "| nginx p50 / p99 | direct p50 / p99 | added vs direct p50 / p99 | added vs nginx p50 / p99 | errors |")
        p("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for key in GATEWAY_PATHS:
            pr = next((r for r in lat if r["mode"] == f"lat:{key}" and r["path"] == key), None)
            nr = next((r for r in lat if r["mode"] == f"lat:{key}" and r["path"] == "nginx"), None)
            dr = next((r for r in lat if r["mode"] == f"lat:{key}" and r["path"] == "direct"), None)
            if not pr or not dr or not nr:
                continue
            pw, nw, dw = pr["wrk"], nr["wrk"], dr["wrk"]
            p("| {} | {:,} | {:,.0f} | {} | {} | {} | {} | {} / {} | {} / {} | {} / {} | {} / {} | {} |".format(
                LABELS[key], pr["target_rate"], pr["rps"],
                us(pw["p50_us"]), us(pw["p99_us"]), us(pw["p999_us"]), us(pw.get("p99_sched_us")),
                us(nw["p50_us"]), us(nw["p99_us"]), us(dw["p50_us"]), us(dw["p99_us"]),
                us(pw["p50_us"] - dw["p50_us"]), us(pw["p99_us"] - dw["p99_us"]),
                us(pw["p50_us"] - nw["p50_us"]), us(pw["p99_us"] - nw["p99_us"]),
                pr["errors"] + nr["errors"] + dr["errors"]))
        p("")
        p(f"Fixed rate: `load/fixed-rate`, open loop, Poisson arrivals at the target rate over "
          f"{lat[0]['conns']} keep-alive connections (one thread each, microsecond sleeps). Latency "
          "from writing the request to reading the whole answer; *from schedule* also counts a send "
          "delayed by its busy connection or a late client wake-up.")
        p("")

    rss1 = {r["path"]: r for r in runs if r["mode"] == "rss1"}
    rss2 = {r["path"]: r for r in runs if r["mode"] == "rss2"}
    if rss1:
        n = next(iter(rss1.values()))["conns"]
        p(f"## Peak RSS with {n:,} keep-alive clients (saturating)")
        p("")
        p("| path | process | RSS at start | wave 1: req/s | wave 1: p99 | wave 1: peak RSS | (peak − start) / client "
          "| wave 2: req/s | wave 2: peak RSS | errors |")
        p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
        for key in LABELS:
            r1, r2 = rss1.get(key), rss2.get(key)
            if not r1:
                continue
            start = r1.get("rss_start_kb") or 0
            p("| {} | {} | {} | {:,.0f} | {} | {} | {:.1f} KiB | {} | {} | {} |".format(
                LABELS[key], PROCESS.get(key, "lambda-proxy") + (" worker" if key == "nginx" else ""),
                mb(start), r1["rps"], us(r1["wrk"]["p99_us"]), mb(r1["hwm_kb"]), (r1["hwm_kb"] - start) / r1["conns"],
                f"{r2['rps']:,.0f}" if r2 else "–", mb(max(r1["hwm_kb"], r2["hwm_kb"])) if r2 else "–",
                r1["errors"] + (r2["errors"] if r2 else 0)))
        p("")
        p("Each gateway path starts from a fresh process (*RSS at start*). Wave 1: one wrk with "
          f"{n:,} connections for the warm-up plus the measured time. Wave 2: those clients are gone and "
          f"{n:,} new ones connect (clients reconnecting); its peak is over both waves. Both are "
          "saturation runs, so the gateway also holds up to that many upstream connections. "
          "MiB = 1,048,576 bytes (VmHWM's kB are KiB).")
        p("")

    reuse = {}
    gw_runs = [r for r in runs if r.get("route")]
    if gw_runs:
        p("## Upstream connection reuse (`lambda_proxy_upstream_connections_total`, measured windows)")
        p("")
        p("| run | route | new | reused | reuse |")
        p("|---|---|--:|--:|--:|")
        for r in gw_runs:
            before = reuse_counts(r["metrics_before"], r["route"])
            after = reuse_counts(r["metrics_after"], r["route"])
            if before is None or after is None:
                continue
            new, reused = after[0] - before[0], after[1] - before[1]
            total = new + reused
            share = reused / total if total else None
            reuse[(r["mode"], r["path"])] = share
            p("| {} {} | {} | {:,.0f} | {:,.0f} | {} |".format(
                r["mode"], r["path"], r["route"], new, reused, f"{share:.3%}" if share is not None else "–"))
        p("")

    # Targets
    p("## Targets")
    p("")
    p("| target | figure | met |")
    p("|---|---|---|")

    def row(name, figure, ok):
        p(f"| {name} | {figure} | {'met' if ok else '**not met**'} |")

    ng, inv, fu, di = sat.get("nginx"), sat.get("invoke_raw"), sat.get("fu_apikey"), sat.get("direct")
    if ng and inv:
        row("signed Invoke (raw event) ≥ 0.45× nginx req/s", f"{inv['rps'] / ng['rps']:.2f}× "
            f"({inv['rps']:,.0f} vs {ng['rps']:,.0f})", inv["rps"] >= 0.45 * ng["rps"])
        row("signed Invoke p99 no worse than nginx's (saturation)",
            f"{us(inv['wrk']['p99_us'])} vs {us(ng['wrk']['p99_us'])}", inv["wrk"]["p99_us"] <= ng["wrk"]["p99_us"])
    lua = sat.get("nginx_lua")
    for key, want in (("invoke_raw", 1.3), ("fu_iam", 1.15)):
        r = sat.get(key)
        if lua and r:
            row(f"{LABELS[key]} ≥ {want}× the nginx + Lua SigV4 signer's req/s (issue 14)",
                f"{r['rps'] / lua['rps']:.2f}× ({r['rps']:,.0f} vs {lua['rps']:,.0f}); "
                f"CPU µs/req {r['cpu_us_per_req']:.1f} vs {lua['cpu_us_per_req']:.1f}",
                r["rps"] >= want * lua["rps"])
    if ng and fu:
        row("unsigned function_uri ≥ 0.6× nginx req/s", f"{fu['rps'] / ng['rps']:.2f}× "
            f"({fu['rps']:,.0f} vs {ng['rps']:,.0f})", fu["rps"] >= 0.6 * ng["rps"])
    for key in GATEWAY_PATHS:
        pr = next((r for r in lat if r["mode"] == f"lat:{key}" and r["path"] == key), None)
        nr = next((r for r in lat if r["mode"] == f"lat:{key}" and r["path"] == "nginx"), None)
        dr = next((r for r in lat if r["mode"] == f"lat:{key}" and r["path"] == "direct"), None)
        if pr and dr:
            a50 = pr["wrk"]["p50_us"] - dr["wrk"]["p50_us"]
            a99 = pr["wrk"]["p99_us"] - dr["wrk"]["p99_us"]
            n50 = f" (nginx at the same rate: {us(nr['wrk']['p50_us'] - dr['wrk']['p50_us'])})" if nr else ""
            n99 = f" (nginx at the same rate: {us(nr['wrk']['p99_us'] - dr['wrk']['p99_us'])})" if nr else ""
            row(f"added p50 ≤ 100 µs at half saturation: {LABELS[key]}", us(a50) + n50, a50 <= 100)
            row(f"added p99 ≤ 1 ms at half saturation: {LABELS[key]}", us(a99) + n99, a99 <= 1000)
    for key in GATEWAY_PATHS:
        r1, r2 = rss1.get(key), rss2.get(key)
        if r1:
            row(f"RSS ≤ 64 MiB with {r1['conns']:,} keep-alive clients (wave 1): {LABELS[key]}",
                f"{mb(r1['hwm_kb'])} ({r1['hwm_kb'] * 1024 / 1e6:.1f} MB)", r1["hwm_kb"] <= RSS_TARGET_KB)
        if r1 and r2:
            peak = max(r1["hwm_kb"], r2["hwm_kb"])
            row(f"RSS ≤ 64 MiB after a second wave of {r2['conns']:,} new clients: {LABELS[key]}",
                f"{mb(peak)} ({peak * 1024 / 1e6:.1f} MB)", peak <= RSS_TARGET_KB)
    share = reuse.get(("sat", "invoke_raw"))
    if share is not None:
        row("upstream connection reuse > 99% at steady state (signed Invoke run)", f"{share:.3%}", share > 0.99)
    if di:
        gw = [(k, r["rps"]) for k, r in sat.items() if k in GATEWAY_PATHS]
        if gw:
            k, top = max(gw, key=lambda kv: kv[1])
            row("emulator not the bottleneck: direct ≥ 2× every gateway path",
                f"direct {di['rps']:,.0f} req/s = {di['rps'] / top:.1f}× the fastest gateway path ({LABELS[k]})",
                di["rps"] >= 2 * top)
        proxied = [r for k, r in sat.items() if k != "direct"]
        if proxied:
            worst_proxy = min(r["proxy_core_busy"] for r in proxied)
            worst_load = max(r["load_core_busy"] for r in proxied)
            row("the proxy's core is saturated in every proxied saturation run (≥ 95% busy)",
                f"proxy core ≥ {worst_proxy:.0%} busy (load core at most {worst_load:.0%})", worst_proxy >= 0.95)
    errors = sum(r["errors"] for r in runs)
    row("no errors in any run", f"{errors} errors", errors == 0)
    p("")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
