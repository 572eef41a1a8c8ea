"""The columns of the two tables (SPEC section 9): headers, fields and how a cell is read and written.

:data:`CONVERTERS` turns a raw cell into a field value (``ValueError`` with the
reason when it cannot); :func:`power_cells` and :func:`risk_cells` turn rows
back into cells. Building rows from a whole table is :mod:`.build`'s job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .limits import parse_time_limit
from .model import _CONTROL, CATEGORY_NAMES, LEVEL_NAMES, PowerRow, RiskPointRow, parse_category, parse_level

__all__ = [
    "CONVERTERS",
    "POWER_COLUMNS",
    "POWER_SHEET",
    "RISK_COLUMNS",
    "RISK_SHEET",
    "Column",
    "cell_text",
    "column_letter",
    "power_cells",
    "risk_cells",
    "text_cell",
]

POWER_SHEET = "权力清单"
RISK_SHEET = "廉政风险点"

Kind = Literal["text", "required", "category", "limit", "level", "measures"]


@dataclass(frozen=True)
class Column:
    """A column: the model field, the Chinese header, how its cell is read, whether sheets always show it."""

    field: str
    header: str
    kind: Kind = "text"
    always: bool = True


POWER_COLUMNS: tuple[Column, ...] = (
    Column("code", "职权编码", "required"),
    Column("name", "职权名称", "required"),
    Column("category", "职权类别", "category"),
    Column("basis", "实施依据"),
    Column("body", "实施主体"),
    Column("office", "承办机构"),
    Column("statutory_limit", "法定办结时限", "limit"),
    Column("promised_limit", "承诺办结时限", "limit"),
    Column("fees", "收费依据及标准"),
    Column("flowchart", "流程图"),
    Column("responsibilities", "责任事项"),
    Column("accountability", "追责情形"),
    Column("phone", "监督电话"),
)
RISK_COLUMNS: tuple[Column, ...] = (
    Column("power", "职权编码", "required"),
    Column("step", "环节", "required"),
    Column("id", "风险点编号", "required"),
    Column("description", "风险点", "required"),
    Column("level", "风险等级", "level"),
    Column("measures", "防控措施", "measures"),
    Column("post", "责任岗位"),
    Column("category", "风险类别", always=False),  # optional: written only when some row has one
)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_text(value: Any) -> str | None:
    """A cell as text: numbers without a spurious ``.0``; blank is None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def text_cell(value: Any) -> str | None:
    """A text cell: trimmed, CR normalised, control characters refused; blank is None (the hot path)."""
    if value is None:
        return None
    text = value if type(value) is str else cell_text(value)
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        raise ValueError("contains a control character")
    return text


def _required(value: Any) -> str:
    text = text_cell(value)
    if text is None:
        raise ValueError("is empty; this column is required")
    return text


def _measures(value: Any) -> tuple[str, ...]:
    """防控措施: one text (a measure a line) or a list of texts; anything else is a bad cell (ValueError)."""
    if value is None or isinstance(value, str):
        items = (value or "").split("\n")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError(f"expected measures as text or a list of texts, found {type(value).__name__}")
    return tuple(m for m in map(text_cell, items) if m)


def _limit(value: Any) -> Any:
    text = text_cell(value)
    return None if text is None else parse_time_limit(text)


CONVERTERS: dict[Kind, Callable[[Any], Any]] = {
    "text": text_cell,
    "required": _required,
    "category": lambda v: parse_category(_required(v)),
    "level": lambda v: parse_level(_required(v)),
    "limit": _limit,
    "measures": _measures,
}


def power_cells(p: PowerRow) -> dict[str, str | None]:
    """A power as sheet cells (Chinese category, limits in words), keyed by field."""
    return {
        c.field: (CATEGORY_NAMES[p.category] if c.kind == "category" else cell_text(getattr(p, c.field)))
        for c in POWER_COLUMNS
    }


def risk_cells(r: RiskPointRow) -> dict[str, str | None]:
    """A risk point as sheet cells (高/中/低, one measure a line), keyed by field."""
    cells: dict[str, str | None] = {c.field: cell_text(getattr(r, c.field)) for c in RISK_COLUMNS}
    cells["level"] = LEVEL_NAMES[r.level]
    cells["measures"] = "\n".join(r.measures) or None
    return cells
