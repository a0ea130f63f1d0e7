"""The SVG chart of load/bench.sh's report (standard library only): one row per measured path,
two panels side by side sharing the row labels.

- left: req/s at saturation (bars, linear axis from 0, the value at the end of each bar);
- right: latency percentiles p50 / p99 / p99.9 of the same runs (three thin bars per row on a
  logarithmic time axis).

bench_report.py calls write_svg(); nothing here reads results or knows the harness.
"""

import math
from xml.sax.saxutils import escape

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
CHAR_W = 7.0  # width of one 12 px character, generous for DejaVu Sans (the widest usual face)

# Bar colours of the left panel by kind of row, in legend order.
KINDS = [
    ("direct", "direct to the emulator", "#bdbdbd"),
    ("nginx_off", "nginx, access_log off", "#525252"),
    ("nginx_on", "nginx, access_log on", "#969696"),
    ("lua", "nginx + Lua SigV4 signer (log on)", "#e6550d"),
    ("gw_off", "gateway, access log off", "#08519c"),
    ("gw_text", "gateway, access log text", "#3182bd"),
    ("gw_json", "gateway, access log json", "#9ecae1"),
]
KIND_COLOUR = {k: c for k, _, c in KINDS}
PERCENTILES = [("p50", "p50", "#74c476"), ("p99", "p99", "#31a354"), ("p999", "p99.9", "#006d2c")]


def _text(x, y, s, size=12, anchor="start", weight="normal", fill="#222"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}">{escape(s)}</text>')


def _axis(v, most=6):
    """(end, step) of a linear axis from 0 that holds v: step is 1, 2, 2.5 or 5 × 10^k, with at
    most `most` steps."""
    if v <= 0:
        return 1.0, 0.2
    e = 10 ** math.floor(math.log10(v / most))
    for m in (1, 2, 2.5, 5, 10, 20):
        step = m * e
        n = math.ceil(v / step)
        if n <= most:
            return n * step, step
    return 10 * v, 2 * v


def _rps_label(v):
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def _us_label(v):
    if v >= 1e6:
        return f"{v / 1e6:g} s"
    if v >= 1000:
        return f"{v / 1000:g} ms"
    return f"{v:g} µs"


def write_svg(path, rows, title, subtitle=""):
    """rows: dicts with label, kind (a KINDS key), group (rows of one group share a shade), rps,
    p50, p99, p999 (µs) and errors. Writes the SVG to path."""
    rows = [r for r in rows if r.get("rps") is not None]
    if not rows:
        rows = [{"label": "no saturation runs", "kind": "direct", "group": "", "rps": 0,
                 "p50": 1, "p99": 1, "p999": 1, "errors": 0}]
    margin, row_h, bar_h = 16, 26, 16
    label_w = max(len(r["label"]) for r in rows) * CHAR_W + 12
    p1_x = margin + label_w
    p1_w = 360
    value_w = 130  # room for "123,456 (12 errors)" right of the longest bar
    p2_x = p1_x + p1_w + value_w
    p2_w = 400
    width = p2_x + p2_w + margin + 10

    kinds_used = [k for k in KINDS if any(r["kind"] == k[0] for r in rows)]
    legend_rows = []  # wrap the legend to the chart's width
    line, x = [], margin
    for k in kinds_used:
        w = 22 + len(k[1]) * CHAR_W + 18
        if line and x + w > width - margin:
            legend_rows.append(line)
            line, x = [], margin
        line.append((x, k))
        x += w
    if line:
        legend_rows.append(line)

    # The subtitle (date, commit, the run's settings), wrapped at spaces to the chart's width.
    sub_lines, cur = [], ""
    most = int((width - 2 * margin) / (CHAR_W * 11 / 12))
    for word in subtitle.split():
        if cur and len(cur) + 1 + len(word) > most:
            sub_lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    if cur:
        sub_lines.append(cur)
    title_y = 26
    sub_y = title_y + 20
    legend_y0 = sub_y + 16 * max(0, len(sub_lines) - 1) + 24
    head_y = legend_y0 + 22 * len(legend_rows) + 16
    y0 = head_y + 14
    plot_h = row_h * len(rows)
    height = y0 + plot_h + 48

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}">',
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
           _text(margin, title_y, title, size=16, weight="bold")]
    for i, line in enumerate(sub_lines):
        out.append(_text(margin, sub_y + 16 * i, line, size=11, fill="#555"))
    for i, line in enumerate(legend_rows):
        ly = legend_y0 + 22 * i
        for lx, (_, name, colour) in line:
            out.append(f'<rect x="{lx:.1f}" y="{ly - 10:.1f}" width="14" height="12" fill="{colour}"/>')
            out.append(_text(lx + 20, ly, name))

    # Row shading: alternate by group so a group reads across both panels.
    groups, shade, last = [], False, None
    for r in rows:
        if r["group"] != last:
            shade, last = not shade, r["group"]
        groups.append(shade)
    for i, r in enumerate(rows):
        y = y0 + i * row_h
        if groups[i]:
            out.append(f'<rect x="{margin}" y="{y:.1f}" width="{width - 2 * margin:.1f}" height="{row_h}" '
                       f'fill="#f3f3f3"/>')
        out.append(_text(p1_x - 8, y + row_h / 2 + 4, r["label"], anchor="end"))

    # Left panel: req/s.
    top, step = _axis(max(r["rps"] for r in rows) * 1.02)
    out.append(_text(p1_x, head_y, "Requests per second at saturation (higher is better)", weight="bold"))
    for k in range(round(top / step) + 1):
        v = step * k
        x = p1_x + p1_w * v / top
        out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + plot_h}" stroke="#d0d0d0" '
                   f'stroke-width="1"/>')
        out.append(_text(x, y0 + plot_h + 16, _rps_label(v), size=11, anchor="middle", fill="#444"))
    out.append(_text(p1_x + p1_w / 2, y0 + plot_h + 34, "req/s", size=11, anchor="middle", fill="#444"))
    for i, r in enumerate(rows):
        y = y0 + i * row_h + (row_h - bar_h) / 2
        w = p1_w * r["rps"] / top
        out.append(f'<rect x="{p1_x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" '
                   f'fill="{KIND_COLOUR.get(r["kind"], "#777")}"><title>{escape(r["label"])}: '
                   f'{r["rps"]:,.0f} req/s</title></rect>')
        value = f"{r['rps']:,.0f}"
        if r.get("errors"):
            value += f" ({r['errors']:,} errors)"
        out.append(_text(p1_x + w + 5, y + bar_h - 3, value, size=11,
                         fill="#b30000" if r.get("errors") else "#222"))
    out.append(f'<line x1="{p1_x:.1f}" y1="{y0}" x2="{p1_x:.1f}" y2="{y0 + plot_h}" stroke="#444"/>')

    # Right panel: latency percentiles, log axis.
    values = [r[k] for r in rows for k, _, _ in PERCENTILES if r.get(k)]
    lo = 10 ** math.floor(math.log10(max(1, min(values)))) if values else 10
    hi = 10 ** math.ceil(math.log10(max(values))) if values else 1000
    if hi <= lo:
        hi = lo * 10
    span = math.log10(hi) - math.log10(lo)

    def lx(v):
        v = min(max(v, lo), hi)
        return p2_x + p2_w * (math.log10(v) - math.log10(lo)) / span

    out.append(_text(p2_x, head_y, "Latency at saturation (log scale, lower is better)", weight="bold"))
    decade = lo
    while decade <= hi * 1.001:
        for m in (1, 2, 5):
            v = decade * m
            if v > hi * 1.001:
                break
            x = lx(v)
            major = m == 1
            out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + plot_h}" '
                       f'stroke="{"#c0c0c0" if major else "#e4e4e4"}" stroke-width="1"/>')
            if major or span <= 2:
                out.append(_text(x, y0 + plot_h + 16, _us_label(v), size=11, anchor="middle",
                                 fill="#444" if major else "#888"))
        decade *= 10
    # Percentile legend under the panel's axis.
    lgx = p2_x
    for _, name, colour in PERCENTILES:
        out.append(f'<rect x="{lgx:.1f}" y="{y0 + plot_h + 25:.1f}" width="14" height="10" fill="{colour}"/>')
        out.append(_text(lgx + 19, y0 + plot_h + 34, name, size=11, fill="#444"))
        lgx += 19 + len(name) * CHAR_W + 18
    out.append(_text(p2_x + p2_w, y0 + plot_h + 34, "wrk, closed loop", size=11, anchor="end", fill="#888"))
    sub_h = (bar_h + 2) / 3
    for i, r in enumerate(rows):
        y = y0 + i * row_h + (row_h - bar_h) / 2 - 1
        for j, (key, name, colour) in enumerate(PERCENTILES):
            v = r.get(key)
            if not v:
                continue
            w = max(1.0, lx(v) - p2_x)
            out.append(f'<rect x="{p2_x:.1f}" y="{y + j * sub_h:.1f}" width="{w:.1f}" height="{sub_h - 1:.1f}" '
                       f'fill="{colour}"><title>{escape(r["label"])}: {name} {_us_label(round(v))}</title></rect>')
    out.append(f'<line x1="{p2_x:.1f}" y1="{y0}" x2="{p2_x:.1f}" y2="{y0 + plot_h}" stroke="#444"/>')
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
