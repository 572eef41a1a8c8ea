"""The chart kit: every SVG chart and HTML report of the package draws through it.

Palette, escaping (:func:`esc`, :func:`attr`), numbers for people (:func:`num`) and for coordinates
(:func:`coord`), a text-measuring SVG :class:`Canvas`, nice axis ticks (:func:`nice_ticks`, :func:`x_axis`,
:func:`draw_axes`), marker labels that keep apart (:func:`place_labels`, :func:`draw_markers`), horizontal bar rows
(:func:`bar_rows`), and the HTML of a static report (:func:`html_table`, :func:`html_page`: no script, no
network). Text is measured with the Noto Sans CJK metrics of the flowcharts (:mod:`approvalflow.render.text`).
Users: :mod:`approvalflow.simulation.charts` (cycle time, utilisation, comparison) and
:mod:`approvalflow.supervision.report_html` (效能评估报告).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from .text import FONT_STACK, measure

__all__ = [
    "AXIS", "BAR", "GREEN", "GRID", "HALO", "INK", "LIMITS", "MARGIN", "MARKERS", "MODEL_A", "MODEL_B", "MUTED",
    "ORANGE", "RED", "REPORT_STYLE", "WIDTH", "Axis", "Bar", "Canvas", "Label", "attr", "bar_rows", "coord",
    "draw_axes", "draw_markers", "esc", "fit", "header", "html_page", "html_table", "nice_ticks", "num",
    "place_labels", "utilization_colour", "x_axis",
]  # fmt: skip

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
    """At most ``most`` round tick values (1, 2 or 5 times a power of ten apart) covering ``low``..``high``.

    Two ticks cover any range on one side of zero; a range across zero needs three (below, zero, above), so
    ``most`` is at least 2, and at least 3 across zero.
    """
    if not high > low:
        high = low + 1.0
    most = max(most, 3 if low < 0 < high else 2)
    for step in _steps((high - low) / max(1, most - 1)):
        first = math.floor(low / step + 1e-9) * step
        count = math.ceil(high / step - 1e-9) - math.floor(low / step + 1e-9) + 1
        if count <= most:
            return [_clean(first + i * step, step) for i in range(count)]
    raise AssertionError("unreachable")  # pragma: no cover


def _steps(raw: float) -> Iterable[float]:
    power = 10.0 ** math.floor(math.log10(raw))
    while True:
        for m in (1.0, 2.0, 5.0):
            if m * power >= raw * 0.999:
                yield m * power
        power *= 10


def _clean(v: float, step: float) -> float:
    """``v`` without the float noise of ``first + i * step`` (0.30000000000000004), to two digits below the step's
    first: a tick of a tiny range stays apart from its neighbours (a fixed number of decimals would merge them)."""
    return round(v, max(0, 2 - math.floor(math.log10(step)))) + 0.0


def esc(text: str) -> str:
    """``text`` as SVG or HTML character data (``&``, ``<`` and ``>`` escaped)."""
    return escape(text)


def attr(value: str) -> str:
    """``value`` as a quoted attribute value, quotes included (``"a&amp;b"``)."""
    return quoteattr(value)


def num(v: float) -> str:
    """A number for people: no needless decimals, thousands separated."""
    if abs(v - round(v)) < 1e-9:
        return f"{round(v):,}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}".rstrip("0").rstrip(".")


def coord(v: float) -> str:
    """A coordinate or size: at most two decimals, no trailing zeros."""
    return f"{v:.2f}".rstrip("0").rstrip(".")


# -- a small SVG canvas -------------------------------------------------------------------------------------------
@dataclass
class Canvas:
    """An SVG being drawn: ``width`` wide, ``data-chart`` naming its ``kind``; :meth:`svg` closes it."""

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
            f'<text class="af-chart-text" data-role="{role}" x="{coord(x)}" y="{coord(y)}" font-size="{coord(size)}" '
            f'text-anchor="{anchor}" fill="{fill}"{weight}{extra}>{escape(content)}</text>'
        )

    def rect(self, x: float, y: float, w: float, h: float, fill: str, extra: str = "", tip: str = "") -> None:
        title = f"<title>{escape(tip)}</title>" if tip else ""
        self.parts.append(
            f'<rect x="{coord(x)}" y="{coord(y)}" width="{coord(max(0.0, w))}" height="{coord(max(0.0, h))}" '
            f'fill="{fill}"{extra}>{title}</rect>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str, extra: str = "") -> None:
        self.parts.append(
            f'<line x1="{coord(x1)}" y1="{coord(y1)}" x2="{coord(x2)}" y2="{coord(y2)}" stroke="{stroke}"{extra}/>'
        )

    def svg(self, height: float, title: str) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{coord(self.width)}" height="{coord(height)}" '
            f'viewBox="0 0 {coord(self.width)} {coord(height)}" font-family={quoteattr(FONT_STACK)} '
            f'data-chart="{self.kind}" role="img"><title>{escape(title)}</title>'
            f'<rect width="100%" height="100%" fill="#ffffff"/>' + "".join(self.parts) + "</svg>\n"
        )


def fit(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` cut with an ellipsis to ``width``."""
    if measure(text, size, bold) <= width:
        return text
    while text and measure(text + "…", size, bold) > width:
        text = text[:-1]
    return text + "…"


def header(c: Canvas, title: str, subtitle: str) -> float:
    """Title and subtitle; returns the y below them."""
    c.text(MARGIN, 34, fit(title, c.width - 2 * MARGIN, 19, True), size=19, bold=True, role="title")
    c.text(MARGIN, 56, fit(subtitle, c.width - 2 * MARGIN, 12.5), size=12.5, fill=MUTED, role="subtitle")
    return 68.0


# -- label rows: marker labels that must not overlap ---------------------------------------------------------------
@dataclass
class Label:
    """A marker's label: its key, text and x, then the row and span :func:`place_labels` gives it."""

    key: str
    text: str
    x: float
    colour: str
    anchor: str = "middle"
    row: int = 0
    span: tuple[float, float] = (0.0, 0.0)


def place_labels(
    labels: list[Label], size: float, low: float, high: float, taken: Sequence[tuple[float, float]]
) -> int:
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


def draw_markers(
    c: Canvas, labels: list[Label], top: float, bottom: float, ytitle: str, extra: Mapping[str, str], key: str
) -> None:
    """Marker lines first, then every label above them (with a white halo where a line passes behind)."""
    for label in labels:
        c.line(label.x, top - 9 - 16 * label.row, label.x, bottom, label.colour, extra[label.key])
    c.text(MARGIN, top - 12, ytitle, size=11.5, fill=MUTED, role="axis-title", extra=HALO)
    for label in labels:
        middle = (label.span[0] + label.span[1]) / 2
        c.text(middle, top - 12 - 16 * label.row, label.text, size=11.5, anchor="middle", fill=label.colour,
               role="marker", extra=f' {key}="{label.key}"{HALO}')  # fmt: skip


# -- axes -------------------------------------------------------------------------------------
@dataclass
class Axis:
    """A linear scale from ``low``..``high`` to ``left``..``right`` (call it with a value)."""

    low: float
    high: float
    left: float
    right: float

    def __call__(self, v: float) -> float:
        return self.left + (v - self.low) / (self.high - self.low) * (self.right - self.left)


def x_axis(values: Sequence[float], left: float, right: float) -> tuple[Axis, list[float]]:
    """An axis over ``values`` with as many nice ticks as fit between ``left`` and ``right``; and the ticks."""
    low, high = min(values), max(values)
    most = 10
    while True:
        ticks = nice_ticks(low, high, most)
        widest = max(measure(num(t), 11.5) for t in ticks)
        if most <= 2 or (right - left) / max(1, len(ticks) - 1) >= widest + 14:
            return Axis(ticks[0], ticks[-1], left, right), ticks
        most -= 1


def draw_axes(
    c: Canvas,
    x: Axis,
    xticks: Sequence[float],
    yticks: Sequence[float],
    y: Callable[[float], float],
    bottom: float,
    ylabel: Callable[[float], str] = num,
) -> None:
    """Horizontal grid lines with their labels at each y tick (the zero line as the axis), then the x ticks."""
    for t in yticks:
        yy = y(t)
        c.line(x.left, yy, x.right, yy, GRID if t else AXIS)
        c.text(x.left - 8, yy + 4, ylabel(t), size=11.5, anchor="end", fill=MUTED, role="tick")
    for t in xticks:
        c.line(x(t), bottom, x(t), bottom + 5, AXIS)
        c.text(x(t), bottom + 22, num(t), size=11.5, anchor="middle", fill=MUTED, role="tick")


# -- horizontal bar rows (the efficiency report) --------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    """One bar of a row: its value, colour, tooltip and the ``data-`` attributes that name it."""

    value: float
    colour: str
    tip: str
    data: Mapping[str, str] = field(default_factory=dict)


def bar_rows(
    kind: str,
    rows: Sequence[tuple[str, Sequence[Bar]]],
    top: float,
    *,
    title: str = "",
    left: float = 180,
    track: float = 420,
) -> str:
    """An SVG of labelled rows of horizontal bars, ``top`` the value of a full ``track`` (bars 14 apart, rows 10).

    Each bar carries ``data-value`` (its value as written by Python) and the ``data-`` attributes it names, so that
    tests and tools read the figures back; the value is printed beside the bar.
    """
    bar_h, gap = 14, 10
    height = sum(bar_h * len(bars) + gap for _, bars in rows) + 30
    c = Canvas(left + track + 80, kind)
    y = 10
    for label, bars in rows:
        c.text(left - 6, y + bar_h, label, anchor="end", role="group")
        for bar in bars:
            w = round(track * bar.value / top, 1) if top else 0
            data = "".join(f" data-{k}={attr(v)}" for k, v in bar.data.items())
            c.rect(left, y, w, bar_h - 2, bar.colour, f'{data} data-value="{bar.value}"', bar.tip)
            c.text(left + w + 4, y + bar_h - 3, f"{bar.value:g}", size=11, role="value")
            y += bar_h
        y += gap
    return c.svg(height, title or kind)


# -- HTML ---------------------------------------------------------------------------------------------------------
REPORT_STYLE = (
    f"body{{font-family:{FONT_STACK};margin:2em}}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
)


def html_table(columns: Sequence[str], rows: Sequence[tuple[str, Sequence[object]]]) -> str:
    """A table with a header row of ``columns`` and one row per ``(label, cells)``; ``None`` is an empty cell."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        f"<tr><th>{esc(label)}</th>" + "".join(f"<td>{'' if v is None else esc(str(v))}</td>" for v in cells) + "</tr>"
        for label, cells in rows
    )
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_page(title: str, body: str, *, lang: str = "zh-CN", style: str = REPORT_STYLE) -> str:
    """A whole static HTML document: ``title`` (escaped) as its title and first heading, then ``body``."""
    return (
        f'<!DOCTYPE html><html lang="{esc(lang)}"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{style}</style></head><body><h1>{esc(title)}</h1>{body}</body></html>"
    )
