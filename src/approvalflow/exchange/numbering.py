"""The 办件编号 (case number) scheme: implementation code + date + sequence, from a template.

A template is a Python format string with three fields and nothing else: ``{code}`` (the 实施编码, by default the
process's ``af:power/@code``), ``{date:...}`` (the day the case was received, 申请时间, in Beijing time, formatted
with ``strftime`` codes) and ``{seq:...}`` (the case's sequence number of that day for that code, formatted as an
integer, e.g. ``06d``). The default :data:`DEFAULT_TEMPLATE` makes ``140500-GG-0401`` + ``20261013`` + ``000001``.
The number must be at most 50 characters of letters, digits and ``-`` (办件编号 ``an..50``, GB/T 39046—2020 表 5-9;
the ``-`` because the power codes of the power list carry it).

:func:`case_number` is the pure function (given the sequence). :func:`sequence_in_store` derives the sequence from a
store: 1 + the cases of the same code received the same day before this one, ordered by (start moment, case id).
That number is stable while no case of that day is added afterwards with an earlier start moment and none is
deleted; a platform that assigns its own 办件编号 when it receives the application writes it into the case data as
``case_number`` and the export uses that (checked the same way) instead.
"""

from __future__ import annotations

import re
import string
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..time.periods import SHANGHAI

if TYPE_CHECKING:
    from ..engine.case import Case
    from ..store.base import CaseStore

__all__ = [
    "DEFAULT_TEMPLATE", "MAX_NUMBER", "case_number", "check_number", "check_template", "day_of", "number_of",
    "sequence_in_store",
]  # fmt: skip

DEFAULT_TEMPLATE = "{code}{date:%Y%m%d}{seq:06d}"
MAX_NUMBER = 50  # 办件编号 an..50
MAX_TEMPLATE = 200
_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")
_SEQ_SPEC = re.compile(r"0?[1-9]?d?")
_DATE_SPEC = re.compile(r"(?:%[YmdyjU]|[\-0-9A-Za-z])*")
_FIELDS = ("code", "date", "seq")


def check_template(template: object) -> str:
    """The template if it is usable (see the module); :class:`InvalidInputError` saying what is wrong otherwise."""
    if not isinstance(template, str) or not template or len(template) > MAX_TEMPLATE:
        raise InvalidInputError(f"a 办件编号 template is a text of 1 to {MAX_TEMPLATE} characters")
    seen: list[str] = []
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidInputError(f"the 办件编号 template {template[:60]!r}: {exc}") from None
    for literal, name, spec, conversion in parts:
        if literal and not _NUMBER.fullmatch("x" + literal):
            raise InvalidInputError(f"the 办件编号 template's text {literal[:40]!r} holds characters other than "
                                    "letters, digits and '-'")  # fmt: skip
        if name is None:
            continue
        if name not in _FIELDS or conversion is not None:
            raise InvalidInputError(f"the 办件编号 template names {{{name[:40]}}}; it may use only {{code}}, "
                                    "{date:...} and {seq:...}, without conversions")  # fmt: skip
        spec = spec or ""
        if name == "seq" and not _SEQ_SPEC.fullmatch(spec):
            raise InvalidInputError(f"{{seq:{spec[:20]}}}: the sequence's format is a width such as 06d")
        if name == "date" and not _DATE_SPEC.fullmatch(spec):
            raise InvalidInputError(f"{{date:{spec[:20]}}}: the date's format uses %Y, %m, %d, %y, %j or %U and "
                                    "letters or digits")  # fmt: skip
        if name == "code" and spec:
            raise InvalidInputError("{code} takes no format")
        seen.append(name)
    if "seq" not in seen:
        raise InvalidInputError("the 办件编号 template has no {seq}: two cases of a day would get one number")
    return template


def check_number(value: object, where: str = "办件编号") -> str:
    """A 办件编号: 1 to 50 letters, digits and '-' (an..50); :class:`InvalidInputError` otherwise."""
    if not isinstance(value, str) or len(value) > MAX_NUMBER or not _NUMBER.fullmatch(value):
        raise InvalidInputError(f"{where} {str(value)[:60]!r} is not a 办件编号: 1 to {MAX_NUMBER} letters, digits "
                                "and '-'")  # fmt: skip
    return value


def case_number(template: str, code: str, day: date, seq: int) -> str:
    """The 办件编号 of the ``seq``-th case (from 1) of ``day`` for ``code``, by ``template``."""
    check_template(template)
    if type(seq) is not int or not 0 < seq < 10**12:
        raise InvalidInputError(f"the sequence {seq!r} is not a whole number from 1")
    if not isinstance(code, str) or not code or not _NUMBER.fullmatch(code):
        raise InvalidInputError(f"the code {str(code)[:60]!r} is not usable in a 办件编号 (letters, digits and '-')")
    values: dict[str, Any] = {"code": code, "date": day, "seq": seq}
    try:
        text = template.format(**values)
    except (ValueError, TypeError) as exc:  # a width the sequence does not fit is not an error; a bad spec is
        raise InvalidInputError(f"the 办件编号 template {template[:60]!r}: {exc}") from None
    return check_number(text, f"the 办件编号 made by {template[:60]!r}")


def day_of(moment: datetime) -> date:
    """The day of a moment in Beijing time (the day a 办件编号 counts in)."""
    return moment.astimezone(SHANGHAI).date()


def sequence_in_store(store: CaseStore, case: Case) -> int:
    """1 + the cases in ``store`` of the same power (the process's ``af:power/@code``, or none) started the same
    Beijing day before ``case``, ordered by (start moment, case id); the case itself need not be stored. A code
    given to the template instead of the power's changes the number printed, not how cases are counted."""
    power = case.definition.power.code if case.definition.power else None
    day = day_of(case.started_at)
    key = (case.started_at, case.id)
    earlier = 0
    for record in store.summaries():
        if record.id == case.id or record.power != power or day_of(record.started_at) != day:
            continue
        earlier += (record.started_at, record.id) < key
    return earlier + 1


def number_of(
    case: Case,
    *,
    template: str = DEFAULT_TEMPLATE,
    store: CaseStore | None = None,
    seq: int | None = None,
    code: str | None = None,
) -> str:
    """The 办件编号 of a case: its data's ``case_number`` if the platform gave one, else made by ``template`` from
    ``code`` (default: the power code), the day it started (Beijing time) and ``seq`` (default: counted in
    ``store``, :func:`sequence_in_store`). :class:`InvalidInputError` when it cannot be made."""
    given = case.data.get("case_number")
    if given is not None:
        return check_number(given, f"case {case.id}: case data 'case_number'")
    chosen = code if code is not None else (case.definition.power.code if case.definition.power else None)
    if chosen is None:
        raise InvalidInputError(f"case {case.id}: process '{case.definition.id}' declares no power code: give the "
                                "code", case=case.id)  # fmt: skip
    if seq is None:
        if store is None:
            raise InvalidInputError(f"case {case.id}: no 'case_number' in its data: give the sequence or the store",
                                    case=case.id)  # fmt: skip
        seq = sequence_in_store(store, case)
    return case_number(template, chosen, day_of(case.started_at), seq)
