"""Time limits as people write them in power lists (办结时限).

``20个工作日``, ``20工作日``, ``30日``, ``30天``, ``3小时``, ``即办``. A limit
keeps the words it was written in (``text``) so that a catalog converts without
changing a cell, and carries the value and unit that ``af:timeLimit`` uses.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..errors import InvalidInputError

__all__ = ["IMMEDIATE", "Limit", "LimitUnit", "format_limit", "parse_time_limit"]

LimitUnit = Literal["workday", "day", "hour"]

IMMEDIATE = "即办"

_UNITS: dict[str, LimitUnit] = {
    "个工作日": "workday",
    "工作日": "workday",
    "日": "day",
    "天": "day",
    "个自然日": "day",
    "自然日": "day",
    "小时": "hour",
    "个小时": "hour",
}
_PATTERN = re.compile(r"(\d{1,5})\s*(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")")
_IMMEDIATE_WORDS = frozenset({"即办", "即办件", "当场办结", "当场办理", "立即办结"})
_WORDS: dict[LimitUnit, str] = {"workday": "个工作日", "day": "日", "hour": "小时"}


class Limit(BaseModel):
    """A case time limit: ``value`` in ``unit``; ``text`` is the cell as written.

    即办 (handled on the spot) is ``value=0`` in working days.
    """

    model_config = ConfigDict(frozen=True)

    value: int
    unit: LimitUnit = "workday"
    text: str

    @property
    def immediate(self) -> bool:
        """True for 即办 (value 0)."""
        return self.value == 0

    def __str__(self) -> str:
        return self.text


def parse_time_limit(text: str) -> Limit:
    """Read a limit in people's words; ``ValueError`` with a hint when it is not one."""
    raw = text.strip()
    norm = unicodedata.normalize("NFKC", raw).replace(" ", "")
    if norm in _IMMEDIATE_WORDS:
        return Limit(value=0, unit="workday", text=raw)
    match = _PATTERN.fullmatch(norm)
    if match is None:
        raise InvalidInputError(f'"{raw}" is not a time limit; write e.g. 20个工作日, 30日, 3小时 or 即办')
    return Limit(value=int(match.group(1)), unit=_UNITS[match.group(2)], text=raw)


def format_limit(value: int, unit: LimitUnit = "workday") -> Limit:
    """The usual words for a limit: ``20个工作日``, ``30日``, ``3小时``; 0 is ``即办``."""
    if value == 0:
        return Limit(value=0, unit="workday", text=IMMEDIATE)
    return Limit(value=value, unit=unit, text=f"{value}{_WORDS[unit]}")


# The name before issue 15, kept so that code written against it keeps working.
parse_limit = parse_time_limit
