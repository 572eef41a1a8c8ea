"""The organisation model (SPEC section 3): units, their principal, deputies and groups, people, conflicts.

A unit may name groups (``groups``): the bodies that meet for its collective
steps (领导班子, 党组, 村两委, 村民代表会议 ...). A collective step says which
group meets (``af:collective/@group``, default ``leadership``) and the
meeting record of a case must list exactly that group's members (rule
``meeting-members``): membership comes from this file, never from the record.

Declared conflicts (回避) are compared with the parties of a case through
:func:`party_key`, which ignores width (NFKC), case, whitespace and invisible
format characters, so that ``"某公司 "`` or ``"某公司"`` in full width cannot
walk around a declared conflict.

A unit's principal (正职, 一把手) never directly handles the five domains
(五不直接分管): personnel, finance, engineering, procurement and approval.
Deputies (副职) hold them (分管), and no single deputy should hold all five.
Both are configuration errors here, because an organisation that breaks them
cannot run a case lawfully; ``validate --org`` reports the same facts as the
findings ``org-five-not-direct`` and ``org-all-five``.
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..bpmn.model import FIVE_DOMAINS, Domain
from ..errors import InvalidInputError, OrganisationError
from ..io.yamlio import Lines, load_yaml, raise_validation

__all__ = [
    "Group",
    "OrgUnit",
    "Organisation",
    "Person",
    "Proxy",
    "load_organisation",
    "organisation_from_dict",
    "party_key",
]


@functools.lru_cache(maxsize=4096)
def party_key(name: str) -> str:
    """The form in which party names and declared conflicts are compared (回避).

    Unicode NFKC (full-width letters, digits and brackets become their half-width forms), case folded, with every
    whitespace character and every invisible format character (category Cf: zero-width space, joiners, soft
    hyphen, BOM) removed. Removing rather than collapsing whitespace means ``"某建筑 工程"`` and ``"某建筑工程"``
    compare equal; for Latin names ``"AB Co"`` and ``"ABCo"`` do too, which errs on the side of recusal.
    """
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    members: list[str]


class _Unit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str | None = None
    principal: str | None = None
    deputies: dict[str, list[Domain]] = {}
    groups: dict[str, _Group] = {}


class _Person(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    unit: str
    posts: list[str] = []


class _Proxy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    principal: str
    proxy: str
    start: datetime
    end: datetime
    posts: list[str] = []
    processes: list[str] = []
    reason: str | None = None


class _Org(BaseModel):
    model_config = ConfigDict(extra="forbid")
    units: list[_Unit]
    people: dict[str, _Person]
    conflicts: dict[str, list[str]] = {}
    proxies: list[_Proxy] = []


@dataclass(frozen=True)
class Person:
    """A person who may act on cases; ``posts`` are the post ids processes name."""

    id: str
    name: str
    unit: str
    posts: frozenset[str]
    line: int | None = None


@dataclass(frozen=True)
class Group:
    """A body of a unit that meets for collective steps (领导班子, 党组, 村两委 ...): its members, in file order."""

    id: str
    name: str
    members: tuple[str, ...]
    line: int | None = None


@dataclass(frozen=True)
class OrgUnit:
    """A government unit: its principal (正职), its deputies with the domains each holds (分管), its groups."""

    id: str
    name: str
    principal: str | None
    deputies: Mapping[str, frozenset[Domain]]
    line: int | None = None
    groups: Mapping[str, Group] = field(default_factory=dict)

    def domains_of(self, person: str) -> frozenset[Domain]:
        return self.deputies.get(person, frozenset())


@dataclass(frozen=True)
class Proxy:
    """A standing proxy (委托, e.g. while the principal is on leave): ``proxy`` may do the steps ``principal`` holds
    from ``start`` (included) to ``end`` (excluded), only on steps naming one of ``posts`` and in ``processes`` when
    these are given (empty: all). The proxy acts in their own name, checked under the rules as themselves
    (docs/operations.md, "Handing work on")."""

    principal: str
    proxy: str
    start: datetime
    end: datetime
    posts: frozenset[str] = frozenset()
    processes: frozenset[str] = frozenset()
    reason: str | None = None
    line: int | None = None

    def covers(self, at: datetime, posts: Iterable[str] = (), process: str | None = None) -> bool:
        """True when the proxy stands in at ``at`` for a step naming ``posts`` of ``process``."""
        if not self.start <= at < self.end:
            return False
        if self.posts and not self.posts & set(posts):
            return False
        return not (self.processes and process not in self.processes)


@dataclass(frozen=True)
class Organisation:
    """Units, people, declared conflicts of interest (回避) and standing proxies (委托)."""

    units: Mapping[str, OrgUnit]
    people: Mapping[str, Person]
    conflicts: Mapping[str, frozenset[str]]
    file: str | None = None
    proxies: tuple[Proxy, ...] = ()

    def person(self, person_id: str) -> Person | None:
        return self.people.get(person_id)

    def proxy_for(
        self, principal: str, actor: str, at: datetime, posts: Iterable[str] = (), process: str | None = None
    ) -> Proxy | None:
        """The standing proxy by which ``actor`` stands in for ``principal`` at ``at`` on such a step, if any."""
        posts = tuple(posts)
        return next(
            (p for p in self.proxies if p.principal == principal and p.proxy == actor and p.covers(at, posts, process)),
            None,
        )

    def represented(self, actor: str, at: datetime) -> list[Proxy]:
        """The proxies in force at ``at`` by which ``actor`` stands in for someone (for a 待办 list)."""
        return [p for p in self.proxies if p.proxy == actor and p.start <= at < p.end]

    def unit(self, unit_id: str | None = None) -> OrgUnit:
        """The unit with this id; without an id, the only unit (KeyError/ValueError otherwise)."""
        if unit_id is None:
            if len(self.units) != 1:
                names = ", ".join(self.units)
                raise InvalidInputError(f"the organisation has {len(self.units)} units; name one: {names}")
            return next(iter(self.units.values()))
        return self.units[unit_id]

    def holders(self, post: str) -> list[Person]:
        """Everyone who holds ``post``."""
        return [p for p in self.people.values() if post in p.posts]

    def conflicted(self, person: str, parties: Iterable[str]) -> list[str]:
        """The parties (as given) with whom ``person`` declared a conflict, compared by :func:`party_key`."""
        parties = list(parties)
        declared = {party_key(c) for c in self.conflicts.get(person, frozenset())} if parties else None
        return [p for p in parties if party_key(p) in declared] if declared else []


def load_organisation(path: str | Path) -> Organisation:
    """Load an organisation file (YAML, SPEC section 3); errors name the file and line."""
    data, lines, name = load_yaml(path, error=OrganisationError)
    return organisation_from_dict(data, file=name, lines=lines)


def organisation_from_dict(data: Any, *, file: str = "<organisation>", lines: Lines | None = None) -> Organisation:
    """Build an organisation from already-loaded data (e.g. a dict in a test)."""
    lines = lines or Lines()
    if not isinstance(data, Mapping):
        raise OrganisationError(
            "an organisation file is a mapping with units, people and conflicts", file=file, line=lines.of(())
        )
    try:
        raw = _Org.model_validate(data)
    except ValidationError as exc:
        raise_validation(exc, file=file, lines=lines, error=OrganisationError)
        raise  # unreachable: raise_validation always raises
    return _build(raw, file, lines)


def _fail(message: str, file: str, lines: Lines, path: tuple[str | int, ...], element: str) -> OrganisationError:
    return OrganisationError(message, file=file, line=lines.of(path), element=element)


def _build(raw: _Org, file: str, lines: Lines) -> Organisation:
    people = {
        pid: Person(pid, p.name or pid, p.unit, frozenset(p.posts), lines.of(("people", pid)))
        for pid, p in raw.people.items()
    }
    units: dict[str, OrgUnit] = {}
    for i, u in enumerate(raw.units):
        if u.id in units:
            raise _fail(f"unit '{u.id}' is defined twice", file, lines, ("units", i, "id"), u.id)
        _check_unit(u, i, people, file, lines)
        units[u.id] = OrgUnit(
            u.id,
            u.name or u.id,
            u.principal,
            {d: frozenset(doms) for d, doms in u.deputies.items()},
            lines.of(("units", i)),
            _groups(u, i, people, file, lines),
        )
    for pid, person in people.items():
        if person.unit not in units:
            raise _fail(
                f"person '{pid}' is in unit '{person.unit}', which is not defined; units: " + ", ".join(units),
                file,
                lines,
                ("people", pid, "unit"),
                pid,
            )
    for pid, names in raw.conflicts.items():
        if pid not in people:
            raise _fail(f"conflicts name '{pid}', who is not among people", file, lines, ("conflicts", pid), pid)
        for k, name in enumerate(names):
            if not party_key(name):
                raise _fail(
                    f"conflicts of '{pid}': entry {k + 1} is blank; name the party (回避)",
                    file,
                    lines,
                    ("conflicts", pid, k),
                    pid,
                )
    proxies = tuple(_proxy(p, k, people, file, lines) for k, p in enumerate(raw.proxies))
    return Organisation(units, people, {p: frozenset(c) for p, c in raw.conflicts.items()}, file, proxies)


def _proxy(p: _Proxy, k: int, people: Mapping[str, Person], file: str, lines: Lines) -> Proxy:
    """A standing proxy (委托) of the file, checked: known people, not oneself, an aware period that is not empty."""
    path: tuple[str | int, ...] = ("proxies", k)
    for role in ("principal", "proxy"):
        who = getattr(p, role)
        if who not in people:
            raise _fail(f"proxies[{k}]: {role} '{who}' is not among people", file, lines, (*path, role), who)
    if p.principal == p.proxy:
        raise _fail(f"proxies[{k}]: '{p.proxy}' cannot stand in for themselves", file, lines, path, p.proxy)
    if p.start.utcoffset() is None or p.end.utcoffset() is None:
        raise _fail(
            f"proxies[{k}]: start and end need a timezone, e.g. 2026-10-01T00:00:00+08:00", file, lines, path, p.proxy
        )
    if not p.start < p.end:
        raise _fail(f"proxies[{k}]: the period ends ({p.end.isoformat()}) before it starts ({p.start.isoformat()})",
                    file, lines, (*path, "end"), p.proxy)  # fmt: skip
    return Proxy(p.principal, p.proxy, p.start, p.end, frozenset(p.posts), frozenset(p.processes), p.reason,
                 lines.of(path))  # fmt: skip


def _groups(u: _Unit, i: int, people: Mapping[str, Person], file: str, lines: Lines) -> dict[str, Group]:
    found: dict[str, Group] = {}
    for gid, g in u.groups.items():
        path: tuple[str | int, ...] = ("units", i, "groups", gid)
        if not gid.strip() or gid != gid.strip() or any(ch.isspace() for ch in gid):
            raise _fail(f"unit '{u.id}': group id {gid!r} must be one word (no whitespace)", file, lines, path, u.id)
        if not g.members:
            raise _fail(f"unit '{u.id}': group '{gid}' has no members", file, lines, (*path, "members"), u.id)
        for k, member in enumerate(g.members):
            if member not in people:
                raise _fail(
                    f"unit '{u.id}': group '{gid}' names member '{member}', who is not among people",
                    file,
                    lines,
                    (*path, "members", k),
                    u.id,
                )
        twice = sorted(m for m, n in Counter(g.members).items() if n > 1)
        if twice:
            raise _fail(
                f"unit '{u.id}': group '{gid}' lists {', '.join(twice)} more than once",
                file,
                lines,
                (*path, "members"),
                u.id,
            )
        found[gid] = Group(gid, g.name or gid, tuple(g.members), lines.of(path))
    return found


def _check_unit(u: _Unit, i: int, people: Mapping[str, Person], file: str, lines: Lines) -> None:
    if u.principal is not None and u.principal not in people:
        raise _fail(
            f"unit '{u.id}' names principal '{u.principal}', who is not among people",
            file,
            lines,
            ("units", i, "principal"),
            u.id,
        )
    for deputy, domains in u.deputies.items():
        path: tuple[str | int, ...] = ("units", i, "deputies", deputy)
        if deputy not in people:
            raise _fail(f"unit '{u.id}' names deputy '{deputy}', who is not among people", file, lines, path, u.id)
        if deputy == u.principal and domains:
            raise _fail(
                f"unit '{u.id}': the principal '{deputy}' holds {', '.join(sorted(domains))}; under 五不直接分管 "
                "the principal directly handles none of personnel, finance, engineering, procurement, approval "
                "(org-five-not-direct): give these domains to deputies",
                file,
                lines,
                path,
                u.id,
            )
        if frozenset(domains) >= FIVE_DOMAINS:
            raise _fail(
                f"unit '{u.id}': deputy '{deputy}' holds all five domains; split them among deputies so that "
                "no one person holds personnel, finance, engineering, procurement and approval (org-all-five)",
                file,
                lines,
                path,
                u.id,
            )
