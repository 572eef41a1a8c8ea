"""Empty bookkeeping that costs nothing until it holds something.

Most open cases never get a 抄送, a 催办, an opinion or a held step: their lists and maps stay empty for the whole
case. Each empty list or dict is still an object (56 or 64 bytes), and a case has a dozen of them. Here they start
as one shared value that cannot change, and a case gets its own only when something is put in:

* :class:`LazyList` is a public list attribute of :class:`~approvalflow.engine.case.Case` (``case.opinions``,
  ``case.ccs``...) over a private slot (``_opinions``) that holds either the case's own list or :data:`UNSET` (the
  empty tuple). Reading the attribute always gives the case's own list, made (and kept) on the first read, so a
  caller sees and may change a list exactly as before; approvalflow's own readers (saving, rollback) read the slot,
  which does not make one.
* :data:`NOTHING` is the shared empty map of the private maps that are replaced, never changed in place (held
  steps, waiting timers, open suspensions, returned steps' assignees): a read-only view, so that a change in place
  by mistake raises instead of changing every case. Each such map is made by :func:`map_of` (or
  :func:`with_entry`, :func:`without`): :data:`NOTHING` when empty, and a :class:`Single` for one entry (one 补正
  step open, one returned step), 48 bytes where a dict of one takes 184.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar, overload

__all__ = ["NOTHING", "UNSET", "LazyList", "Single", "map_of", "put_back", "with_entry", "without"]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

#: The value of a :class:`LazyList`'s slot before the case has a list of its own (immutable: it cannot be filled).
UNSET: tuple[()] = ()
#: The shared empty map (a read-only view of an empty dict, which nothing else references).
NOTHING: Mapping[Any, Any] = MappingProxyType({})


class LazyList(Generic[T]):
    """A list attribute over the slot of the same name with a leading underscore (see the module's docstring)."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self.slot: Any = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = owner.__dict__[f"_{name}"]  # the slot's member descriptor

    @overload
    def __get__(self, case: None, owner: type | None = None) -> LazyList[T]: ...

    @overload
    def __get__(self, case: object, owner: type | None = None) -> list[T]: ...

    def __get__(self, case: object, owner: type | None = None) -> LazyList[T] | list[T]:
        if case is None:
            return self
        got: list[T] | tuple[()] = self.slot.__get__(case, owner)
        if got is UNSET:  # the case's own list from now on
            got = []
            self.slot.__set__(case, got)
        return got  # type: ignore[return-value]

    def __set__(self, case: object, value: list[T]) -> None:
        self.slot.__set__(case, value)


def put_back(was: list[T] | tuple[()], length: int, now: list[T] | tuple[()]) -> list[T] | tuple[()]:
    """A lazy list's slot after a rollback: :data:`UNSET` if it was unset before the action (it was empty: the list
    the action made, if any, is dropped), else the list it holds now cut back to ``length`` items (lists only grow
    in an action but for the take-back of the last completion, whose caller puts the item back)."""
    if was is UNSET:
        return UNSET
    current: list[T] = [] if now is UNSET else now  # type: ignore[assignment]
    del current[length:]
    return current


def without(mapping: Mapping[K, V], key: K) -> Mapping[K, V]:
    """``mapping`` without ``key``: a new map (:data:`NOTHING` when that leaves it empty, a :class:`Single` when it
    leaves one entry), or ``mapping`` itself when ``key`` is not in it; ``mapping`` is never changed."""
    if key not in mapping:
        return mapping
    return map_of((k, v) for k, v in mapping.items() if k != key)


class Single(Mapping[K, V]):
    """A read-only map of one entry (see the module docstring); equal to the dict of that entry."""

    __slots__ = ("_key", "_value")

    def __init__(self, key: K, value: V) -> None:
        hash(key)  # a key a dict would refuse is refused here too
        self._key, self._value = key, value

    def __getitem__(self, key: K) -> V:
        if key == self._key:
            return self._value
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key == self._key

    def __iter__(self) -> Iterator[K]:
        return iter((self._key,))

    def __len__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return f"Single({{{self._key!r}: {self._value!r}}})"


def with_entry(mapping: Mapping[K, V], key: K, value: V) -> Mapping[K, V]:
    """``mapping`` with ``key`` set to ``value``: a new map (a :class:`Single` when that is its only entry);
    ``mapping`` is never changed."""
    if not mapping or (len(mapping) == 1 and key in mapping):
        return Single(key, value)
    return {**mapping, key: value}


def map_of(entries: Mapping[K, V] | Iterable[tuple[K, V]]) -> Mapping[K, V]:
    """A map that is replaced, never changed in place, of ``entries`` (a mapping or pairs, the last of a key
    winning): :data:`NOTHING` when there are none, a :class:`Single` for one, else a new dict."""
    made = dict(entries)
    if not made:
        return NOTHING
    if len(made) == 1:
        return Single(*next(iter(made.items())))
    return made
