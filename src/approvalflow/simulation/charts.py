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
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..render.text import FONT_STACK, measure
from .outputs import check_result, compare

__all__ = ["nice_ticks", "utilization_colour", "write_charts", "write_compare_chart"]

WIDTH = 760.0
MARGIN = 28.0
INK, MUTED, GRID, AXIS = "#1f2937", "#5b6472", "#e6e8ec", "#9aa1ab"
BAR, MODEL_A, MODEL_B = "#3b6fb6", "#3b6fb6", "#e07b39"
GREEN, ORANGE, RED = "#2e9d5b", "#ee8a12", "#d64545"
MARKERS = {"mean": ("均值 mean", INK), "p50": ("中位数 p50", MUTED), "p90": ("p90", "#7c3aed")}
HALO = ' stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'  # lines pass behind
LIMITS = {"promised": ("承诺时限 promised", ORANGE), "statutory": ("法定时限 statutory", RED)}


def utilization_colour(share: float) -> str:
    """Green under 70%, orange from 70% to 90%, red above 90%."""
    return GREEN if share < 0.7 else ORANGE if share <= 0.9 else RED


def nice_ticks(low: float, high: float, most: int = 8) -> list[float]:
    """At most ``most`` round tick values (1, 2 or 5 times a power of ten apart) covering ``low``..``high``."""
    if not high > low:
        high = low + 1.0
    for step in _steps((high - low) / max(1, most - 1)):
        first = math.floor(low / step + 1e-9) * step
        count = math.ceil(high / step - 1e-9) - math.floor(low / step + 1e-9) + 1
        if count <= most:
            return [_clean(first + i * step) for i in range(count)]
    raise AssertionError("unreachable")  # pragma: no cover


def _steps(raw: float) -> Iterable[float]:
    power = 10.0 ** math.floor(math.log10(raw))
    while True:
        for m in (1.0, 2.0, 5.0):
            if m * power >= raw * 0.999:
                yield m * power
        power *= 10


def _clean(v: float) -> float:
    return round(v, 10) + 0.0


def _num(v: float) -> str:
    """A number for people: no needless decimals, thousands separated."""
    if abs(v - round(v)) < 1e-9:
        return f"{round(v):,}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}".rstrip("0").rstrip(".")


def _f(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


# -- a small SVG canvas -------------------------------------------------------------------------------------------
@dataclass
class _Canvas:
    width: float
    kind: str
    parts: list[str] = field(default_factory=list)

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        size: float = 12,
        anchor: str = "start",
        fill: str = INK,
        bold: bool = False,
        role: str = "label",
        extra: str = "",
    ) -> None:
        """Text whose baseline is at ``y``."""
        weight = ' font-weight="bold"' if bold else ""
        self.parts.append(
            f'<text class="af-chart-text" data-role="{role}" x="{_f(x)}" y="{_f(y)}" font-size="{_f(size)}" '
            f'text-anchor="{anchor}" fill="{fill}"{weight}{extra}>{escape(content)}</text>'
        )

    def rect(self, x: float, y: float, w: float, h: float, fill: str, extra: str = "", tip: str = "") -> None:
        title = f"<title>{escape(tip)}</title>" if tip else ""
        self.parts.append(
            f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(max(0.0, w))}" height="{_f(max(0.0, h))}" '
            f'fill="{fill}"{extra}>{title}</rect>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str, extra: str = "") -> None:
        self.parts.append(f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" stroke="{stroke}"{extra}/>')

    def svg(self, height: float, title: str) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(self.width)}" height="{_f(height)}" '
            f'viewBox="0 0 {_f(self.width)} {_f(height)}" font-family={quoteattr(FONT_STACK)} '
            f'data-chart="{self.kind}" role="img"><title>{escape(title)}</title>'
            f'<rect width="100%" height="100%" fill="#ffffff"/>' + "".join(self.parts) + "</svg>\n"
        )


def _fit(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` cut with an ellipsis to ``width``."""
    if measure(text, size, bold) <= width:
        return text
    while text and measure(text + "…", size, bold) > width:
        text = text[:-1]
    return text + "…"


def _header(c: _Canvas, title: str, subtitle: str) -> float:
    """Title and subtitle; returns the y below them."""
    c.text(MARGIN, 34, _fit(title, c.width - 2 * MARGIN, 19, True), size=19, bold=True, role="title")
    c.text(MARGIN, 56, _fit(subtitle, c.width - 2 * MARGIN, 12.5), size=12.5, fill=MUTED, role="subtitle")
    return 68.0


def _subtitle(result: Mapping[str, Any]) -> str:
    """Model name (cut to fit), cases, replications and seed."""
    seed, runs = result.get("seed"), result.get("replications") or 1
    rest = [f"{int(result.get('cases', 0)):,} cases 件"]
    if runs > 1:
        rest.append(f"{runs} replications")
    rest.append(f"seed {seed}" if seed is not None else "no seed")
    tail = " · " + " · ".join(rest)
    return _fit(str(result.get("model", "")), WIDTH - 2 * MARGIN - measure(tail, 12.5) - 4, 12.5) + tail


# -- label rows: marker labels that must not overlap ---------------------------------------------------------------
@dataclass
class _Label:
    key: str
    text: str
    x: float
    colour: str
    anchor: str = "middle"
    row: int = 0
    span: tuple[float, float] = (0.0, 0.0)


def _place(labels: list[_Label], size: float, low: float, high: float, taken: Sequence[tuple[float, float]]) -> int:
    """Give each label a row (0 nearest the plot) where it overlaps nothing; returns the rows used."""
    rows: list[list[tuple[float, float]]] = [list(taken)]
    for label in sorted(labels, key=lambda lb: lb.x):
        w = measure(label.text, size) + 6
        left = min(max(label.x - w / 2, low), high - w)
        label.anchor, label.span = "middle", (left, left + w)
        for i, row in enumerate([*rows, []]):
            if all(label.span[1] <= a or label.span[0] >= b for a, b in row):
                if i == len(rows):
                    rows.append([])
                rows[i].append(label.span)
                label.row = i
                break
    return len(rows)


def _draw_markers(
    c: _Canvas, labels: list[_Label], top: float, bottom: float, ytitle: str, extra: Mapping[str, str], key: str
) -> None:
    """Marker lines first, then every label above them (with a white halo where a line passes behind)."""
    for label in labels:
        c.line(label.x, top - 9 - 16 * label.row, label.x, bottom, label.colour, extra[label.key])
    c.text(MARGIN, top - 12, ytitle, size=11.5, fill=MUTED, role="axis-title", extra=HALO)
    for label in labels:
        middle = (label.span[0] + label.span[1]) / 2
        c.text(middle, top - 12 - 16 * label.row, label.text, size=11.5, anchor="middle", fill=label.colour,
               role="marker", extra=f' {key}="{label.key}"{HALO}')  # fmt: skip


# -- the cycle-time histogram -------------------------------------------------------------------------------------
@dataclass
class _Axis:
    low: float
    high: float
    left: float
    right: float

    def __call__(self, v: float) -> float:
        return self.left + (v - self.low) / (self.high - self.low) * (self.right - self.left)


def _x_axis(values: Sequence[float], left: float, right: float) -> tuple[_Axis, list[float]]:
    low, high = min(values), max(values)
    most = 10
    while True:
        ticks = nice_ticks(low, high, most)
        widest = max(measure(_num(t), 11.5) for t in ticks)
        if most <= 2 or (right - left) / max(1, len(ticks) - 1) >= widest + 14:
            return _Axis(ticks[0], ticks[-1], left, right), ticks
        most -= 1


def _stat_cells(result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    hours, days = result["cycle_time_hours"], result.get("cycle_time_working_days")
    cells: list[tuple[str, str, str]] = []
    for stat, label in (("mean", "均值 mean"), ("p50", "中位数 p50"), ("p90", "p90"), ("p99", "p99")):
        sub = f"{_num(days[stat])} 工作日 days" if isinstance(days, Mapping) else "小时 hours"
        cells.append((label, f"{_num(hours[stat])} h", sub))
    on_time, cards = result.get("on_time"), result.get("cards")
    for limit, label in (("promised", "承诺时限 promised"), ("statutory", "法定时限 statutory")):
        if isinstance(on_time, Mapping) and on_time.get(limit) is not None:
            cells.append((label, f"{on_time[limit] * 100:.1f}%", "按时办结 on time"))
    if isinstance(cards, Mapping):
        cells.append(("黄牌 / 红牌", f"{cards['yellow']:,} / {cards['red']:,}", "yellow / red cards"))
    return cells


def _stat_strip(c: _Canvas, top: float, result: Mapping[str, Any]) -> float:
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
            c.text(x + 10, y + 18, _fit(label, width - 20, 11), size=11, fill=MUTED, role="stat-label", extra=key)
            c.text(x + 10, y + 41, _fit(value, width - 20, 16, True), size=16, bold=True, role="stat", extra=key)
            c.text(x + 10, y + 59, _fit(sub, width - 20, 10.5), size=10.5, fill=MUTED, role="stat-unit", extra=key)
            x += width + gap
    return top + 72 * len(rows) - 6


def _cycle_time_svg(result: Mapping[str, Any], limits: Mapping[str, float]) -> str:
    c = _Canvas(WIDTH, "cycle-time")
    top = _stat_strip(c, _header(c, "办理时长分布 Cycle time distribution", _subtitle(result)) + 4, result)
    hist = result["histogram"]
    edges, counts = [float(e) for e in hist["edges"]], [int(n) for n in hist["counts"]]
    unit = str(hist.get("unit", "hours"))
    left, right = MARGIN + 44, WIDTH - MARGIN - 8
    stats = result["cycle_time_hours"] if unit == "hours" else {}
    shown = {k: float(v) for k, v in limits.items() if k in LIMITS}
    x, xticks = _x_axis([*edges[:1], *edges[-1:], *stats.values(), *shown.values()], left, right)
    labels = [
        _Label(k, f"{MARKERS[k][0]} {_num(float(stats[k]))}", x(float(stats[k])), MARKERS[k][1])
        for k in MARKERS
        if k in stats
    ]
    labels += [_Label(k, f"{LIMITS[k][0]} {_num(v)}", x(v), LIMITS[k][1]) for k, v in shown.items()]
    ytitle = "案件数 cases"
    taken = [(MARGIN - 2, MARGIN + measure(ytitle, 11.5) + 4)]
    rows = _place(labels, 11.5, MARGIN, WIDTH - MARGIN, taken)
    plot_top = top + 22 + rows * 16
    bottom = plot_top + 250
    _histogram_body(c, x, xticks, edges, counts, plot_top, bottom)
    line_extra = {}
    for label in labels:
        value = stats.get(label.key, shown.get(label.key))
        dash = ' stroke-dasharray="5 3"' if label.key in LIMITS else ""
        line_extra[label.key] = (
            f' stroke-width="1.6"{dash} data-marker="{label.key}" data-value="{_f(float(value or 0))}"'
        )
    _draw_markers(c, labels, plot_top, bottom, ytitle, line_extra, "data-marker")
    title = f"办理时长 cycle time ({unit}{' 小时' if unit == 'hours' else ''})"
    c.text((left + right) / 2, bottom + 42, title, size=12.5, anchor="middle", fill=MUTED, role="axis-title")
    return c.svg(bottom + 58, f"Cycle time distribution of {result.get('model')}")


def _histogram_body(
    c: _Canvas, x: _Axis, xticks: list[float], edges: list[float], counts: list[int], top: float, bottom: float
) -> None:
    most = max(counts, default=0)
    yticks = nice_ticks(0, max(most, 1), 6)
    scale = (bottom - top) / yticks[-1]
    for t in yticks:
        y = bottom - t * scale
        c.line(x.left, y, x.right, y, GRID if t else AXIS)
        c.text(x.left - 8, y + 4, _num(t), size=11.5, anchor="end", fill=MUTED, role="tick")
    for t in xticks:
        c.line(x(t), bottom, x(t), bottom + 5, AXIS)
        c.text(x(t), bottom + 22, _num(t), size=11.5, anchor="middle", fill=MUTED, role="tick")
    for i, n in enumerate(counts):
        x0, x1 = x(edges[i]), x(edges[i + 1])
        h = n * scale
        c.rect(
            x0 + 0.5,
            bottom - h,
            x1 - x0 - 1,
            h,
            BAR,
            f' data-bin="{i}" data-count="{n}" data-from="{_f(edges[i])}" data-to="{_f(edges[i + 1])}"',
            f"{_num(edges[i])}–{_num(edges[i + 1])}: {n:,} cases",
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
def _queue_text(queue: Mapping[str, Any] | None) -> str:
    if not isinstance(queue, Mapping):
        return "–"
    return f"{float(queue.get('mean', 0)):.1f} (max {int(queue.get('max', 0))})"


def _utilization_svg(result: Mapping[str, Any]) -> str:
    c = _Canvas(WIDTH, "utilization")
    top = _header(c, "岗位利用率 Utilisation per post", _subtitle(result)) + 14
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
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        c.text(x0 + t * track, head, f"{t * 100:.0f}%", size=11.5, anchor="middle", fill=MUTED, role="tick")
    row_top, row_h = head + 12, 34.0
    end = row_top + row_h * max(1, len(pools))
    for t in (0.25, 0.5, 0.75, 1.0):
        c.line(x0 + t * track, row_top, x0 + t * track, end, GRID)
    for t, colour in ((0.7, ORANGE), (0.9, RED)):
        c.line(x0 + t * track, row_top, x0 + t * track, end, colour, ' stroke-dasharray="3 3" stroke-opacity="0.6"')
    for i, pool in enumerate(pools):
        y = row_top + i * row_h
        share, mid = util[pool], y + row_h / 2
        c.text(MARGIN, mid + 4.5, _fit(pool, label_w, 13), size=13, role="pool", extra=f" data-pool={quoteattr(pool)}")
        c.rect(x0, mid - 9, track, 18, "#f1f3f6", ' rx="3"')
        w = track * min(max(share, 0.0), 1.0)
        queue = queues.get(pool)
        qmean = f' data-queue-mean="{_f(float(queue["mean"]))}"' if isinstance(queue, Mapping) else ""
        c.rect(
            x0,
            mid - 9,
            w,
            18,
            utilization_colour(share),
            f' rx="3" data-pool={quoteattr(pool)} data-share="{share!r}"{qmean}',
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
            extra=f" data-pool={quoteattr(pool)}",
        )
        c.text(
            WIDTH - MARGIN,
            mid + 4.5,
            _queue_text(queue),
            size=12.5,
            anchor="end",
            role="queue",
            extra=f" data-pool={quoteattr(pool)}",
        )
    return c.svg(_legend(c, end + 18, x0), f"Utilisation per post of {result.get('model')}")


def _legend(c: _Canvas, y: float, x: float) -> float:
    items = (("< 70% 正常 normal", GREEN), ("70–90% 繁忙 busy", ORANGE), ("> 90% 饱和 saturated", RED))
    for text, colour in items:
        c.rect(x, y, 12, 12, colour, ' rx="2"')
        c.text(x + 17, y + 10.5, text, size=11.5, fill=MUTED, role="legend")
        x += 17 + measure(text, 11.5) + 22
    return y + 30


# -- the comparison -------------------------------------------------------------------------------------------------
def _compare_svg(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    found = compare(a, b)
    c = _Canvas(WIDTH, "compare")
    names = (str(a.get("model")), str(b.get("model")))
    half = (WIDTH - 2 * MARGIN) / 2 - 80
    subtitle = (
        f"A: {_fit(names[0], half, 12.5)} ({int(a['cases']):,} cases) · "
        f"B: {_fit(names[1], half, 12.5)} ({int(b['cases']):,} cases)"
    )
    y = _header(c, "方案对比 Comparison of two models", subtitle) + 8
    c.text(MARGIN, y + 8, _fit(found["headline"], WIDTH - 2 * MARGIN, 14, True), size=14, bold=True, role="headline")
    y = _pair_legend(c, y + 26, names)
    y = _overlaid_histograms(c, y + 6, a, b)
    return c.svg(_paired_utilization(c, y + 22, found["utilization"]), f"Comparison: {names[0]} vs {names[1]}")


def _pair_legend(c: _Canvas, y: float, names: tuple[str, str]) -> float:
    x = MARGIN
    half = (WIDTH - 2 * MARGIN) / 2 - 30
    for key, name, colour in (("a", names[0], MODEL_A), ("b", names[1], MODEL_B)):
        c.rect(x, y, 12, 12, colour, ' rx="2" fill-opacity="0.75"')
        text = _fit(f"{key.upper()}  {name}", half, 12)
        c.text(x + 17, y + 10.5, text, size=12, role="legend", extra=f' data-model="{key}"')
        x += 17 + measure(text, 12) + 30
    return y + 18


def _overlaid_histograms(c: _Canvas, top: float, a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    left, right = MARGIN + 44, WIDTH - MARGIN - 8
    sides = (("a", a, MODEL_A), ("b", b, MODEL_B))
    edges = [float(e) for _, r, _ in sides for e in r["histogram"]["edges"]]
    means = {k: float(r["cycle_time_hours"]["mean"]) for k, r, _ in sides}
    x, xticks = _x_axis([min(edges), max(edges), *means.values()], left, right)
    labels = [
        _Label(k, f"{k.upper()} 均值 mean {_num(v)}", x(v), col)
        for (k, _, col), v in zip(sides, means.values(), strict=True)
    ]
    shares = {k: _shares(r["histogram"]) for k, r, _ in sides}
    per = min(_typical_width(r["histogram"]["edges"]) for _, r, _ in sides)
    ytitle = f"案件占比 share of cases per {_num(per)} h"
    rows = _place(labels, 11.5, MARGIN, WIDTH - MARGIN, [(MARGIN - 2, MARGIN + measure(ytitle, 11.5) + 4)])
    plot_top = top + 22 + rows * 16
    bottom = plot_top + 210
    most = max([s * per for v in shares.values() for s in v] + [0.01])
    yticks = nice_ticks(0, most * 100, 6)
    scale = (bottom - plot_top) / yticks[-1] * 100
    for t in yticks:
        yy = bottom - t / 100 * scale
        c.line(left, yy, right, yy, GRID if t else AXIS)
        c.text(left - 8, yy + 4, f"{_num(t)}%", size=11.5, anchor="end", fill=MUTED, role="tick")
    for t in xticks:
        c.line(x(t), bottom, x(t), bottom + 5, AXIS)
        c.text(x(t), bottom + 22, _num(t), size=11.5, anchor="middle", fill=MUTED, role="tick")
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
                f"{key.upper()} {_num(e[i])}–{_num(e[i + 1])}: {share * (e[i + 1] - e[i]) * 100:.1f}%",
            )
    line_extra = {
        k: f' stroke-width="1.6" data-marker="mean" data-model="{k}" data-value="{_f(v)}"' for k, v in means.items()
    }
    _draw_markers(c, labels, plot_top, bottom, ytitle, line_extra, "data-model")
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


def _paired_utilization(c: _Canvas, top: float, rows: Mapping[str, Mapping[str, Any]]) -> float:
    c.text(MARGIN, top + 4, "岗位利用率 Utilisation per post", size=14, bold=True, role="section")
    pools = list(rows)
    label_w = min(200.0, max([measure(p, 13) for p in pools] + [40.0]) + 8)
    x0 = MARGIN + label_w + 12
    track = WIDTH - MARGIN - 70 - x0
    head = top + 26
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        c.text(x0 + t * track, head, f"{t * 100:.0f}%", size=11.5, anchor="middle", fill=MUTED, role="tick")
    row_top, row_h = head + 10, 40.0
    end = row_top + row_h * max(1, len(pools))
    for t in (0.25, 0.5, 0.75, 1.0):
        c.line(x0 + t * track, row_top, x0 + t * track, end, GRID)
    for t, colour in ((0.7, ORANGE), (0.9, RED)):
        c.line(x0 + t * track, row_top, x0 + t * track, end, colour, ' stroke-dasharray="3 3" stroke-opacity="0.6"')
    for i, pool in enumerate(pools):
        y = row_top + i * row_h
        c.text(
            MARGIN,
            y + row_h / 2 + 4.5,
            _fit(pool, label_w, 13),
            size=13,
            role="pool",
            extra=f" data-pool={quoteattr(pool)}",
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
                    f' fill-opacity="0.85" data-pool={quoteattr(pool)} data-model="{key}" data-share="{share!r}"',
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
                extra=f' data-pool={quoteattr(pool)} data-model="{key}"',
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
