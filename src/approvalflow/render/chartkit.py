"""Drawing primitives of the simulation charts (a private module): palette, a text-measuring SVG canvas, nice axis
ticks, label placement that keeps labels apart. :mod:`approvalflow.simulation.charts` draws the charts with them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .text import FONT_STACK, measure

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
