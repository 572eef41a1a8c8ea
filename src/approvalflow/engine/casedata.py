"""What a case may hold: JSON-like data within bounds, checked before anything changes.

Every value that enters a case (the initial data, a step's data, an actor's or a step's name) is copied through
:func:`plain_data` or :func:`plain_name` first. They accept only what JSON can carry and the audit trail can
hash: mappings with text keys, lists, text that is valid Unicode (no lone surrogates, which UTF-8 cannot encode),
whole numbers within :data:`MAX_INT_BITS`, finite floats, booleans, ``None``, and dates (kept as ISO text).
Nesting, total size and name lengths are bounded. The walk is iterative, so no input can exhaust the stack.
A value outside these bounds raises :class:`~approvalflow.errors.InvalidInputError` naming where in the data it
sits; the caller raises it before the engine moves, so a refused input changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ..errors import InvalidInputError

__all__ = ["MAX_DATA_ITEMS", "MAX_DEPTH", "MAX_INT_BITS", "MAX_NAME_LENGTH", "MAX_TEXT_LENGTH", "plain_data",
           "plain_name"]  # fmt: skip

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists in case data."""
MAX_DATA_ITEMS = 100_000
"""Most values (mapping entries, list items and scalars, counted through nesting) in one piece of case data."""
MAX_TEXT_LENGTH = 1_000_000
"""Longest text value, in characters (the sum over all texts is bounded by the same number times ten)."""
MAX_INT_BITS = 4_096
"""Largest whole number, in bits (the bound of the expression language)."""
MAX_NAME_LENGTH = 200
"""Longest actor, step, unit or party name, in characters."""


def _text(value: str, where: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidInputError(f"{where}: a text of {len(value):,} characters; at most {limit:,} are accepted")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{where}: the text has a lone surrogate (\\u{ord(value[exc.start]):04x} at character {exc.start}), "
            "which is not valid Unicode text"
        ) from None
    return value


def plain_name(value: object, what: str) -> str:
    """A short, valid Unicode name (actor, step, unit); anything else is an :class:`InvalidInputError`."""
    if not isinstance(value, str):
        raise InvalidInputError(f"the {what} must be text, not {type(value).__name__}")
    return _text(value, f"the {what}", MAX_NAME_LENGTH)


def _scalar(value: object, where: str) -> object:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise InvalidInputError(f"{where}: a whole number of {value.bit_length():,} bits; at most {MAX_INT_BITS}")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{where}: {value} is not a finite number (JSON cannot carry it)")
        return value
    if isinstance(value, str):
        return _text(value, where, MAX_TEXT_LENGTH)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise InvalidInputError(
        f"{where}: case data must be JSON-like (text, number, bool, null, list, mapping with text keys, date); "
        f"got {type(value).__name__}"
    )


def plain_data(value: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A JSON-ready copy of ``value``, or :class:`InvalidInputError` naming the place of the first bad value."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{where} must be a mapping of names to values, not {type(value).__name__}")
    root: dict[str, Any] = {}
    stack: list[tuple[Any, Any, str, int]] = [(value, root, where, 1)]
    items = 0
    text_total = 0
    while stack:
        source, target, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidInputError(f"{path}: nested more than {MAX_DEPTH} levels deep")
        pairs = source.items() if isinstance(source, Mapping) else enumerate(source)
        for key, item in pairs:
            items += 1
            if items > MAX_DATA_ITEMS:
                raise InvalidInputError(f"{where}: more than {MAX_DATA_ITEMS:,} values")
            if isinstance(source, Mapping):
                if not isinstance(key, str):
                    raise InvalidInputError(f"{path}: a key {str(key)[:40]!r} that is not text")
                _text(key, f"{path}: a key", MAX_NAME_LENGTH * 5)
                place = f"{path}.{key}" if len(path) < 200 else path
            else:
                place = f"{path}[{key}]"
            if isinstance(item, Mapping):
                child: Any = {}
                stack.append((item, child, place, depth + 1))
            elif isinstance(item, list | tuple):
                child = [None] * len(item)
                stack.append((item, child, place, depth + 1))
            else:
                child = _scalar(item, place)
                if isinstance(child, str):
                    text_total += len(child)
                    if text_total > MAX_TEXT_LENGTH * 10:
                        raise InvalidInputError(f"{where}: more than {MAX_TEXT_LENGTH * 10:,} characters of text")
            target[key] = child
    return root
