"""The static HTML efficiency report (效能评估报告): tables and inline SVG bar charts, no script, no network.

A supervisor opens the file in any browser. Every chart is an ``<svg>`` with ``data-chart`` naming it, and every
bar carries ``data-group`` and ``data-value`` so that tests (and other tools) can read the figures back.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .efficiency import Evaluation, Figures

__all__ = ["render_html"]

_COLOURS = {"on_time_rate": "#2e7d32", "early_rate": "#1565c0", "overdue_rate": "#c62828"}
_LABELS = {
    "received": "受理",
    "completed": "办结",
    "on_time_rate": "按时办结率",
    "early_rate": "提前办结率",
    "overdue_rate": "超期办结率",
    "avg_working_days": "平均用时(工作日)",
    "avg_limit": "平均承诺时限",
    "avg_suspended_days": "平均暂停(工作日)",
    "refusals": "拒绝次数",
}
_DIMENSIONS = {"unit": "按单位", "power": "按职权", "post": "按岗位", "period": "按期间"}


def _bars(chart: str, groups: dict[str, Figures], metrics: tuple[str, ...], scale: float | None) -> str:
    rows = [(k, f.to_json()) for k, f in sorted(groups.items())]
    top = scale or max([float(v[m] or 0) for _, v in rows for m in metrics] + [1.0])
    bar_h, gap, left, width = 14, 10, 180, 420
    height = len(rows) * (bar_h * len(metrics) + gap) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" data-chart="{escape(chart)}" width="{left + width + 80}" '
        f'height="{height}" role="img" aria-label="{escape(chart)}">'
    ]
    y = 10
    for key, values in rows:
        parts.append(f'<text x="{left - 6}" y="{y + bar_h}" text-anchor="end" font-size="12">{escape(key)}</text>')
        for m in metrics:
            v = float(values[m] or 0)
            w = round(width * v / top, 1) if top else 0
            colour = _COLOURS.get(m, "#546e7a")
            parts.append(
                f'<rect x="{left}" y="{y}" width="{w}" height="{bar_h - 2}" fill="{colour}" '
                f'data-group="{escape(key)}" data-metric="{m}" data-value="{v}"><title>{escape(key)} '
                f"{_LABELS[m]} {v}</title></rect>"
                f'<text x="{left + w + 4}" y="{y + bar_h - 3}" font-size="11">{v:g}</text>'
            )
            y += bar_h
        y += gap
    parts.append("</svg>")
    return "".join(parts)


def _table(groups: dict[str, Figures]) -> str:
    names = list(_LABELS)
    head = "".join(f"<th>{_LABELS[n]}</th>" for n in names)
    body = []
    for key, f in sorted(groups.items()):
        values = f.to_json()
        cells = "".join(f"<td>{'' if values[n] is None else values[n]}</td>" for n in names)
        body.append(f"<tr><th>{escape(key)}</th>{cells}</tr>")
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(ev: Evaluation, title: str) -> str:
    """The whole report as one HTML document."""
    sections = []
    legend = " ".join(f'<span style="color:{c}">■ {_LABELS[m]}</span>' for m, c in _COLOURS.items())
    for dim, label in _DIMENSIONS.items():
        groups = ev.groups[dim]
        if not groups:
            continue
        chart = (
            _bars(f"{dim}-volume", groups, ("received", "completed"), None)
            if dim == "period"
            else _bars(f"{dim}-rates", groups, tuple(_COLOURS), 1.0)
        )
        sections.append(f"<section><h2>{label}</h2>{chart}{_table(groups)}</section>")
    total = ev.total.to_json()
    summary = "".join(f"<li>{_LABELS[k]}: {'' if v is None else v}</li>" for k, v in total.items())
    until = escape(ev.until.isoformat()) if ev.until else "全部"
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;"
        "text-align:right}</style></head><body>"
        f'<h1>{escape(title)}</h1><p>截至 {until}; {legend}</p><ul id="total">{summary}</ul>'
        + "".join(sections)
        + "</body></html>"
    )
