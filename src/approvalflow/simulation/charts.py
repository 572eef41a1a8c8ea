"""Charts of a simulation result, as standalone SVG written in pure Python (no plotting library).

- :func:`write_charts` writes ``cycle_time.svg`` (a histogram of cycle time, 办理时长, with the mean, p50 and
  p90 marked, and the promised and statutory limits, 承诺时限 and 法定时限, when given) and ``utilization.svg``
  (a bar per pool or post, 岗位利用率, coloured green under 70%, orange to 90%, red above, with the mean queue).
- :func:`write_compare_chart` writes one SVG that puts two models side by side: their cycle-time histograms
  overlaid (as shares of cases, so that runs of different sizes compare) and their utilisation bars paired.

The charts use the project's CJK font stack and measure text with the same Noto Sans CJK metrics as the
flowcharts (:mod:`approvalflow.render.text`), so labels are placed where they fit and never overlap. Every element
a program may want carries a ``data-`` attribute: ``data-bin``, ``data-count`` and ``data-share`` on histogram
bars, ``data-marker`` and ``data-value`` on marker lines, ``data-pool``, ``data-share`` and ``data-queue-mean`` on
utilisation bars, ``data-model`` (``a`` or ``b``) in comparisons. Output is deterministic.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..render.chartkit import (
    BAR,
    GREEN,
    GRID,
    INK,
    LIMITS,
    MARGIN,
    MARKERS,
    MODEL_A,
    MODEL_B,
    MUTED,
    ORANGE,
    RED,
    WIDTH,
    Axis,
    Canvas,
    Label,
    attr,
    coord,
    draw_axes,
    draw_markers,
    fit,
    header,
    nice_ticks,
    num,
    place_labels,
    utilization_colour,
    x_axis,
)
from ..render.text import measure
from .outputs import check_result, compare

__all__ = ["nice_ticks", "utilization_colour", "write_charts", "write_compare_chart"]


def _subtitle(result: Mapping[str, Any]) -> str:
    """Model name (cut to fit), cases, replications and seed."""
    seed, runs = result.get("seed"), result.get("replications") or 1
    rest = [f"{int(result.get('cases', 0)):,} cases 件"]
    if runs > 1:
        rest.append(f"{runs} replications")
    rest.append(f"seed {seed}" if seed is not None else "no seed")
    tail = " · " + " · ".join(rest)
    return fit(str(result.get("model", "")), WIDTH - 2 * MARGIN - measure(tail, 12.5) - 4, 12.5) + tail


def _stat_cells(result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    hours, days = result["cycle_time_hours"], result.get("cycle_time_working_days")
    cells: list[tuple[str, str, str]] = []
    for stat, label in (("mean", "均值 mean"), ("p50", "中位数 p50"), ("p90", "p90"), ("p99", "p99")):
        sub = f"{num(days[stat])} 工作日 days" if isinstance(days, Mapping) else "小时 hours"
        cells.append((label, f"{num(hours[stat])} h", sub))
    on_time, cards = result.get("on_time"), result.get("cards")
    for limit, label in (("promised", "承诺时限 promised"), ("statutory", "法定时限 statutory")):
        if isinstance(on_time, Mapping) and on_time.get(limit) is not None:
            cells.append((label, f"{on_time[limit] * 100:.1f}%", "按时办结 on time"))
    if isinstance(cards, Mapping):
        cells.append(("黄牌 / 红牌", f"{cards['yellow']:,} / {cards['red']:,}", "yellow / red cards"))
    return cells


def _stat_strip(c: Canvas, top: float, result: Mapping[str, Any]) -> float:
    """Key figures in cells as wide as their text needs: one row, or cycle time above on-time shares and cards."""
    cells = _stat_cells(result)
    need = [max(measure(a, 11), measure(b, 16, True), measure(d, 10.5)) + 22 for a, b, d in cells]
    room, gap = c.width - 2 * MARGIN, 6.0
    everything = list(range(len(cells)))
    rows = [everything] if sum(need) + gap * (len(cells) - 1) <= room else [everything[:4], everything[4:]]
    for r, row in enumerate(rows):
        spare = (room - gap * (len(row) - 1) - sum(need[i] for i in row)) / len(row)
        x, y = MARGIN, top + r * 72
        for i in row:
            label, value, sub = cells[i]
            width, key = min(need[i], room) + max(0.0, spare), f' data-stat="{i}"'
            c.rect(x, y, width, 66, "#f4f6f9", ' rx="6"')
            c.text(x + 10, y + 18, fit(label, width - 20, 11), size=11, fill=MUTED, role="stat-label", extra=key)
            c.text(x + 10, y + 41, fit(value, width - 20, 16, True), size=16, bold=True, role="stat", extra=key)
            c.text(x + 10, y + 59, fit(sub, width - 20, 10.5), size=10.5, fill=MUTED, role="stat-unit", extra=key)
            x += width + gap
    return top + 72 * len(rows) - 6


def _cycle_time_svg(result: Mapping[str, Any], limits: Mapping[str, float]) -> str:
    c = Canvas(WIDTH, "cycle-time")
    top = _stat_strip(c, header(c, "办理时长分布 Cycle time distribution", _subtitle(result)) + 4, result)
    hist = result["histogram"]
    edges, counts = [float(e) for e in hist["edges"]], [int(n) for n in hist["counts"]]
    unit = str(hist.get("unit", "hours"))
    left, right = MARGIN + 44, WIDTH - MARGIN - 8
    stats = result["cycle_time_hours"] if unit == "hours" else {}
    shown = {k: float(v) for k, v in limits.items() if k in LIMITS}
    x, xticks = x_axis([*edges[:1], *edges[-1:], *stats.values(), *shown.values()], left, right)
    labels = [
        Label(k, f"{MARKERS[k][0]} {num(float(stats[k]))}", x(float(stats[k])), MARKERS[k][1])
        for k in MARKERS
        if k in stats
    ]
    labels += [Label(k, f"{LIMITS[k][0]} {num(v)}", x(v), LIMITS[k][1]) for k, v in shown.items()]
    ytitle = "案件数 cases"
    taken = [(MARGIN - 2, MARGIN + measure(ytitle, 11.5) + 4)]
    rows = place_labels(labels, 11.5, MARGIN, WIDTH - MARGIN, taken)
    plot_top = top + 22 + rows * 16
    bottom = plot_top + 250
    _histogram_body(c, x, xticks, edges, counts, plot_top, bottom)
    line_extra = {}
    for label in labels:
        value = stats.get(label.key, shown.get(label.key))
        dash = ' stroke-dasharray="5 3"' if label.key in LIMITS else ""
        line_extra[label.key] = (
            f' stroke-width="1.6"{dash} data-marker="{label.key}" data-value="{coord(float(value or 0))}"'
        )
    draw_markers(c, labels, plot_top, bottom, ytitle, line_extra, "data-marker")
    title = f"办理时长 cycle time ({unit}{' 小时' if unit == 'hours' else ''})"
    c.text((left + right) / 2, bottom + 42, title, size=12.5, anchor="middle", fill=MUTED, role="axis-title")
    return c.svg(bottom + 58, f"Cycle time distribution of {result.get('model')}")


def _histogram_body(
    c: Canvas, x: Axis, xticks: list[float], edges: list[float], counts: list[int], top: float, bottom: float
) -> None:
    most = max(counts, default=0)
    yticks = nice_ticks(0, max(most, 1), 6)
    scale = (bottom - top) / yticks[-1]
    draw_axes(c, x, xticks, yticks, lambda t: bottom - t * scale, bottom)
    for i, n in enumerate(counts):
        x0, x1 = x(edges[i]), x(edges[i + 1])
        h = n * scale
        c.rect(
            x0 + 0.5,
            bottom - h,
            x1 - x0 - 1,
            h,
            BAR,
            f' data-bin="{i}" data-count="{n}" data-from="{coord(edges[i])}" data-to="{coord(edges[i + 1])}"',
            f"{num(edges[i])}–{num(edges[i + 1])}: {n:,} cases",
        )
    if not most:
        c.text(
            (x.left + x.right) / 2,
            (top + bottom) / 2,
            "无办结案件 no completed cases",
            size=14,
            anchor="middle",
            fill=MUTED,
            role="note",
        )


# -- utilisation ----------------------------------------------------------------------------------------------------
def _share_scale(c: Canvas, x0: float, track: float, head: float, top: float, end: float) -> float:
    """A 0-100% scale over a bar track: tick labels at ``head``, grid lines and the 70% and 90% thresholds of
    :func:`utilization_colour` from ``top`` to ``end`` (returned)."""
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        c.text(x0 + t * track, head, f"{t * 100:.0f}%", size=11.5, anchor="middle", fill=MUTED, role="tick")
    for t in (0.25, 0.5, 0.75, 1.0):
        c.line(x0 + t * track, top, x0 + t * track, end, GRID)
    for t, colour in ((0.7, ORANGE), (0.9, RED)):
        c.line(x0 + t * track, top, x0 + t * track, end, colour, ' stroke-dasharray="3 3" stroke-opacity="0.6"')
    return end


def _queue_text(queue: Mapping[str, Any] | None) -> str:
    if not isinstance(queue, Mapping):
        return "–"
    return f"{float(queue.get('mean', 0)):.1f} (max {int(queue.get('max', 0))})"


def _utilization_svg(result: Mapping[str, Any]) -> str:
    c = Canvas(WIDTH, "utilization")
    top = header(c, "岗位利用率 Utilisation per post", _subtitle(result)) + 14
    util = {str(k): float(v) for k, v in result["utilization"].items()}
    queues = result.get("queue_length") or {}
    pools = sorted(util, key=lambda p: (-util[p], p))
    label_w = min(200.0, max([measure(p, 13) for p in pools] + [measure("岗位 post", 12)]) + 8)
    queue_w = max([measure(_queue_text(queues.get(p)), 12.5) for p in pools] + [measure("排队 queue mean (max)", 11.5)])
    x0, x1 = MARGIN + label_w + 12, WIDTH - MARGIN - queue_w - 20
    track = x1 - x0
    head = top + 14
    c.text(MARGIN, head, "岗位 post", size=11.5, fill=MUTED, role="column")
    c.text(WIDTH - MARGIN, head, "排队 queue mean (max)", size=11.5, anchor="end", fill=MUTED, role="column")
    row_top, row_h = head + 12, 34.0
    end = _share_scale(c, x0, track, head, row_top, row_top + row_h * max(1, len(pools)))
    for i, pool in enumerate(pools):
        y = row_top + i * row_h
        share, mid = util[pool], y + row_h / 2
        c.text(MARGIN, mid + 4.5, fit(pool, label_w, 13), size=13, role="pool", extra=f" data-pool={attr(pool)}")
        c.rect(x0, mid - 9, track, 18, "#f1f3f6", ' rx="3"')
        w = track * min(max(share, 0.0), 1.0)
        queue = queues.get(pool)
        qmean = f' data-queue-mean="{coord(float(queue["mean"]))}"' if isinstance(queue, Mapping) else ""
        c.rect(
            x0,
            mid - 9,
            w,
            18,
            utilization_colour(share),
            f' rx="3" data-pool={attr(pool)} data-share="{share!r}"{qmean}',
            f"{pool}: {share * 100:.1f}% busy",
        )
        pct = f"{share * 100:.1f}%"
        inside = w >= measure(pct, 12, True) + 14
        c.text(
            x0 + w - 6 if inside else x0 + w + 6,
            mid + 4.5,
            pct,
            size=12,
            bold=True,
            anchor="end" if inside else "start",
            fill="#ffffff" if inside else INK,
            role="percent",
            extra=f" data-pool={attr(pool)}",
        )
        c.text(
            WIDTH - MARGIN,
            mid + 4.5,
            _queue_text(queue),
            size=12.5,
            anchor="end",
            role="queue",
            extra=f" data-pool={attr(pool)}",
        )
    return c.svg(_legend(c, end + 18, x0), f"Utilisation per post of {result.get('model')}")


def _legend(c: Canvas, y: float, x: float) -> float:
    items = (("< 70% 正常 normal", GREEN), ("70–90% 繁忙 busy", ORANGE), ("> 90% 饱和 saturated", RED))
    for text, colour in items:
        c.rect(x, y, 12, 12, colour, ' rx="2"')
        c.text(x + 17, y + 10.5, text, size=11.5, fill=MUTED, role="legend")
        x += 17 + measure(text, 11.5) + 22
    return y + 30


# -- the comparison -------------------------------------------------------------------------------------------------
def _compare_svg(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    found = compare(a, b)
    c = Canvas(WIDTH, "compare")
    names = (str(a.get("model")), str(b.get("model")))
    half = (WIDTH - 2 * MARGIN) / 2 - 80
    subtitle = (
        f"A: {fit(names[0], half, 12.5)} ({int(a['cases']):,} cases) · "
        f"B: {fit(names[1], half, 12.5)} ({int(b['cases']):,} cases)"
    )
    y = header(c, "方案对比 Comparison of two models", subtitle) + 8
    c.text(MARGIN, y + 8, fit(found["headline"], WIDTH - 2 * MARGIN, 14, True), size=14, bold=True, role="headline")
    y = _pair_legend(c, y + 26, names)
    y = _overlaid_histograms(c, y + 6, a, b)
    return c.svg(_paired_utilization(c, y + 22, found["utilization"]), f"Comparison: {names[0]} vs {names[1]}")


def _pair_legend(c: Canvas, y: float, names: tuple[str, str]) -> float:
    x = MARGIN
    half = (WIDTH - 2 * MARGIN) / 2 - 30
    for key, name, colour in (("a", names[0], MODEL_A), ("b", names[1], MODEL_B)):
        c.rect(x, y, 12, 12, colour, ' rx="2" fill-opacity="0.75"')
        text = fit(f"{key.upper()}  {name}", half, 12)
        c.text(x + 17, y + 10.5, text, size=12, role="legend", extra=f' data-model="{key}"')
        x += 17 + measure(text, 12) + 30
    return y + 18


def _overlaid_histograms(c: Canvas, top: float, a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    left, right = MARGIN + 44, WIDTH - MARGIN - 8
    sides = (("a", a, MODEL_A), ("b", b, MODEL_B))
    edges = [float(e) for _, r, _ in sides for e in r["histogram"]["edges"]]
    means = {k: float(r["cycle_time_hours"]["mean"]) for k, r, _ in sides}
    x, xticks = x_axis([min(edges), max(edges), *means.values()], left, right)
    labels = [
        Label(k, f"{k.upper()} 均值 mean {num(v)}", x(v), col)
        for (k, _, col), v in zip(sides, means.values(), strict=True)
    ]
    shares = {k: _shares(r["histogram"]) for k, r, _ in sides}
    per = min(_typical_width(r["histogram"]["edges"]) for _, r, _ in sides)
    ytitle = f"案件占比 share of cases per {num(per)} h"
    rows = place_labels(labels, 11.5, MARGIN, WIDTH - MARGIN, [(MARGIN - 2, MARGIN + measure(ytitle, 11.5) + 4)])
    plot_top = top + 22 + rows * 16
    bottom = plot_top + 210
    most = max([s * per for v in shares.values() for s in v] + [0.01])
    yticks = nice_ticks(0, most * 100, 6)
    scale = (bottom - plot_top) / yticks[-1] * 100
    draw_axes(c, x, xticks, yticks, lambda t: bottom - t / 100 * scale, bottom, lambda t: f"{num(t)}%")
    for key, r, colour in sides:
        e = [float(v) for v in r["histogram"]["edges"]]
        for i, share in enumerate(shares[key]):
            h = share * per * scale  # a share per hour times the reference width: bins of any width compare
            c.rect(
                x(e[i]) + 0.5,
                bottom - h,
                x(e[i + 1]) - x(e[i]) - 1,
                h,
                colour,
                f' fill-opacity="0.55" data-model="{key}" data-bin="{i}" data-share="{share * (e[i + 1] - e[i])!r}"',
                f"{key.upper()} {num(e[i])}–{num(e[i + 1])}: {share * (e[i + 1] - e[i]) * 100:.1f}%",
            )
    line_extra = {
        k: f' stroke-width="1.6" data-marker="mean" data-model="{k}" data-value="{coord(v)}"' for k, v in means.items()
    }
    draw_markers(c, labels, plot_top, bottom, ytitle, line_extra, "data-model")
    c.text(
        (left + right) / 2,
        bottom + 40,
        "办理时长 cycle time (hours 小时)",
        size=12.5,
        anchor="middle",
        fill=MUTED,
        role="axis-title",
    )
    return bottom + 48


def _shares(histogram: Mapping[str, Any]) -> list[float]:
    """Each bin's share of the cases per unit of its width (a density)."""
    counts, edges = histogram["counts"], [float(e) for e in histogram["edges"]]
    total = sum(counts)
    return [
        n / total / (edges[i + 1] - edges[i]) if total and edges[i + 1] > edges[i] else 0.0
        for i, n in enumerate(counts)
    ]


def _typical_width(edges: Sequence[float]) -> float:
    widths = sorted(float(b) - float(a) for a, b in itertools.pairwise(edges) if b > a)
    return widths[len(widths) // 2] if widths else 1.0


def _paired_utilization(c: Canvas, top: float, rows: Mapping[str, Mapping[str, Any]]) -> float:
    c.text(MARGIN, top + 4, "岗位利用率 Utilisation per post", size=14, bold=True, role="section")
    pools = list(rows)
    label_w = min(200.0, max([measure(p, 13) for p in pools] + [40.0]) + 8)
    x0 = MARGIN + label_w + 12
    track = WIDTH - MARGIN - 70 - x0
    head = top + 26
    row_top, row_h = head + 10, 40.0
    end = _share_scale(c, x0, track, head, row_top, row_top + row_h * max(1, len(pools)))
    for i, pool in enumerate(pools):
        y = row_top + i * row_h
        c.text(
            MARGIN,
            y + row_h / 2 + 4.5,
            fit(pool, label_w, 13),
            size=13,
            role="pool",
            extra=f" data-pool={attr(pool)}",
        )
        for j, (key, colour) in enumerate((("a", MODEL_A), ("b", MODEL_B))):
            share = rows[pool][key]
            by = y + 4 + j * 16
            text = "–" if share is None else f"{share * 100:.1f}%"
            if share is not None:
                c.rect(
                    x0,
                    by,
                    track * min(max(share, 0.0), 1.0),
                    11,
                    colour,
                    f' fill-opacity="0.85" data-pool={attr(pool)} data-model="{key}" data-share="{share!r}"',
                    f"{key.upper()} {pool}: {text}",
                )
            w = track * min(max(share or 0.0, 0.0), 1.0)
            c.text(
                x0 + w + 5,
                by + 9.5,
                f"{key.upper()} {text}",
                size=10.5,
                fill=MUTED,
                role="percent",
                extra=f' data-pool={attr(pool)} data-model="{key}"',
            )
    return end + 16


# -- writing ---------------------------------------------------------------------------------------------------------
def write_charts(
    result: Mapping[str, Any], directory: str | Path, *, limits: Mapping[str, float] | None = None
) -> list[Path]:
    """Write ``cycle_time.svg`` and ``utilization.svg`` into ``directory`` (created if missing); their paths.

    ``limits`` draws the case limits on the histogram, in the histogram's unit (hours of wall-clock time from
    arrival): ``{"promised": 504.0, "statutory": 672.0}``. The result's time limits are in working days, which
    become hours only through a calendar, so the caller who knows the calendar passes them.
    """
    check_result(result)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, svg in (
        ("cycle_time.svg", _cycle_time_svg(result, limits or {})),
        ("utilization.svg", _utilization_svg(result)),
    ):
        path = out / name
        path.write_text(svg, encoding="utf-8")
        written.append(path)
    return written


def write_compare_chart(a: Mapping[str, Any], b: Mapping[str, Any], path: str | Path) -> Path:
    """Write one SVG comparing two results (A the baseline, B the alternative); its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_compare_svg(a, b), encoding="utf-8")
    return target
