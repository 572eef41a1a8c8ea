"""The static HTML efficiency report (效能评估报告): tables and inline SVG bar charts, no script, no network.

A supervisor opens the file in any browser. Every chart is an ``<svg>`` with ``data-chart`` naming it, and every
bar carries ``data-group``, ``data-metric`` and ``data-value`` so that tests (and other tools) can read the figures
back. The page is drawn from the JSON of an evaluation (:meth:`~approvalflow.supervision.efficiency.Evaluation.to_json`)
with the chart kit (:mod:`approvalflow.render.chartkit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..render.chartkit import Bar, attr, bar_rows, esc, html_page, html_table

__all__ = ["COLOURS", "METRIC_LABELS", "render_html"]

_COLOURS = {"on_time_rate": "#2e7d32", "early_rate": "#1565c0", "overdue_rate": "#c62828"}
_OTHER = "#546e7a"
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
    "withdrawn": "撤回",
    "terminated": "终止",
    "urges": "催办次数",
    "good_rate": "好评率",
    "rectification_rate": "差评整改率",
}
_DIMENSIONS = {"unit": "按单位", "power": "按职权", "post": "按岗位", "period": "按期间"}
COLOURS = _COLOURS
"""The colour of each rate's bars (按时, 提前, 超期), shared with the 电子监察 console."""
METRIC_LABELS = _LABELS
"""The Chinese label of each efficiency figure, shared with the 电子监察 console."""


def _chart(chart: str, label: str, groups: Mapping[str, Mapping[str, Any]], metrics: tuple[str, ...],
           scale: float | None) -> str:  # fmt: skip
    rows = [(key, [_bar(key, m, float(values[m] or 0)) for m in metrics]) for key, values in sorted(groups.items())]
    top = scale or max([b.value for _, bars in rows for b in bars] + [1.0])
    return bar_rows(chart, rows, top, title=label)


def _bar(group: str, metric: str, value: float) -> Bar:
    tip = f"{group} {_LABELS[metric]} {value}"
    return Bar(value, _COLOURS.get(metric, _OTHER), tip, {"group": group, "metric": metric})


def _table(groups: Mapping[str, Mapping[str, Any]]) -> str:
    names = list(_LABELS)
    rows = [(key, [values[n] for n in names]) for key, values in sorted(groups.items())]
    return html_table([_LABELS[n] for n in names], rows)


def render_html(evaluation: Mapping[str, Any], title: str) -> str:
    """The whole report as one HTML document, from the JSON of an evaluation (``Evaluation.to_json()``)."""
    sections = []
    legend = " ".join(f"<span style={attr('color:' + c)}>■ {_LABELS[m]}</span>" for m, c in _COLOURS.items())
    for dim, label in _DIMENSIONS.items():
        groups = evaluation[f"by_{dim}"]
        if not groups:
            continue
        chart = (
            _chart(f"{dim}-volume", label, groups, ("received", "completed"), None)
            if dim == "period"
            else _chart(f"{dim}-rates", label, groups, tuple(_COLOURS), 1.0)
        )
        sections.append(f"<section><h2>{label}</h2>{chart}{_table(groups)}</section>")
    total = evaluation["total"]
    summary = "".join(f"<li>{_LABELS[k]}: {'' if v is None else esc(str(v))}</li>" for k, v in total.items())
    until = esc(evaluation["until"]) if evaluation.get("until") else "全部"
    return html_page(title, f'<p>截至 {until}; {legend}</p><ul id="total">{summary}</ul>' + "".join(sections))
