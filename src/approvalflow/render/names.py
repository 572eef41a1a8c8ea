"""How the drawings name things in Chinese: power categories, posts (岗位) and time limits.

Processes name posts by the ids of the organisation file (``af:step/@posts``, e.g.
``reviewer``); a flowchart is read by people, so the step labels show the post's title
(``审查员``).  :data:`POST_NAMES` holds the titles of the post ids the shipped processes
use; callers may pass their own mapping (``post_names=`` of :func:`~approvalflow.render.render_views`),
and an id found in neither is shown as it is written.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CATEGORY_NAMES", "MAX_LABEL_CHARS", "MAX_TITLE_CHARS", "POST_NAMES", "clip", "format_limit", "post_title"]

MAX_LABEL_CHARS = 200
"""Longest text drawn as one label (a step's name, a flow's condition, a header line, a lane's title); longer text
is cut with an ellipsis "…" (a label of 200 characters already fills a task six times over). Raise it with
``render_views(..., max_label=...)``; the whole name, up to :data:`MAX_TITLE_CHARS`, stays in the element's
``<title>`` (a tooltip in browsers)."""

MAX_TITLE_CHARS = 2000
"""Longest text kept in a ``<title>`` (an element's full name, the document title) and in a risk point's
description or measure; longer text is cut with an ellipsis. Bounds the size of the SVG for any input."""

CATEGORY_NAMES: Mapping[str, str] = {
    "licensing": "行政许可", "penalty": "行政处罚", "coercion": "行政强制", "levy": "行政征收",
    "payment": "行政给付", "inspection": "行政检查", "confirmation": "行政确认", "reward": "行政奖励",
    "adjudication": "行政裁决", "other": "其他行政权力", "internal": "内部管理", "service": "公共服务",
}  # fmt: skip

POST_NAMES: Mapping[str, str] = {
    "principal": "主要负责人", "deputy": "分管副职", "leader": "局领导", "secretary": "办公室秘书",
    "clerk": "窗口人员", "window-clerk": "综合窗口人员", "reviewer": "审查员", "market-reviewer": "市场监管审查员",
    "environment-reviewer": "生态环境审查员", "construction-reviewer": "住建审查员",
    "hearing-officer": "听证主持人", "legal-reviewer": "法制审核员", "enforcement-officer": "执法人员",
    "cashier": "财务出纳", "expert": "论证专家", "risk-assessor": "风险评估人员", "evaluation-expert": "评审专家",
    "procurement-clerk": "采购经办人", "procurement-reviewer": "采购审核人", "disclosure-clerk": "公开登记员",
    "disclosure-officer": "公开承办人", "petition-clerk": "信访登记员", "petition-officer": "信访承办人",
    "operator": "话务员", "dispatcher": "派单员", "handler": "承办人", "callback-agent": "回访员",
    "township-staff": "乡镇经办人", "township-leader": "乡镇分管领导", "assistance-clerk": "民政经办人",
    "party-secretary": "村党支部书记", "village-director": "村委会主任", "village-clerk": "村文书",
    "supervision-committee": "村务监督委员会",
}  # fmt: skip

_UNITS = {"workday": "个工作日", "day": "日", "hour": "小时"}


def clip(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """``text`` if it has at most ``limit`` characters, else its first ``limit - 1`` and "…"."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def format_limit(value: str | None, unit: str | None) -> str:
    """A limit as people write it: ``10`` workdays -> ``10个工作日``, ``30`` days -> ``30日``, ``0`` -> ``即办``."""
    if value is None or not value.strip():
        return ""
    return "即办" if value.strip() == "0" else f"{clip(value.strip(), 20)}{_UNITS.get(unit or 'workday', '个工作日')}"


def post_title(post: str, names: Mapping[str, str] | None = None) -> str:
    """The title of post id ``post``: from ``names``, then :data:`POST_NAMES`, else the id itself."""
    if names is not None and post in names:
        return names[post]
    return POST_NAMES.get(post, post)
