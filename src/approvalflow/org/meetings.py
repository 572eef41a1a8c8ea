"""Meeting records of collective steps (集体讨论决定, 三重一大): checking them and deciding the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..bpmn.model import Collective
from ..errors import InvalidTypeError
from .organisation import Organisation

__all__ = ["Meeting", "meeting_from", "meeting_passed", "meeting_problems"]

_YES = frozenset({"for", "yes", "agree", "同意", "赞成"})


@dataclass(frozen=True)
class Meeting:
    """The record of a collective step: members, who attended, and the votes in speaking order."""

    members: tuple[str, ...]
    present: tuple[str, ...]
    votes: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"members": list(self.members), "present": list(self.present), "votes": [list(v) for v in self.votes]}


_FIELDS = ("members", "present", "votes")


def meeting_from(value: object) -> Meeting:
    """A :class:`Meeting` from a mapping ``{members: [...], present: [...], votes: [[who, vote], ...]}``.

    ``members`` and ``present`` are lists of person ids (strings); ``votes`` (optional) a list of ``[person, vote]``
    pairs of strings in speaking order. Anything else (a missing or unknown key, a string where a list belongs, a
    vote given as a mapping, a number or ``true`` where a string belongs) raises
    :class:`~approvalflow.errors.InvalidTypeError` (a ``TypeError``) with a message saying what is wrong; no other
    exception escapes, whatever the value. A :class:`Meeting` is checked the same way.
    """
    if isinstance(value, Meeting):
        value = {"members": value.members, "present": value.present, "votes": value.votes}
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            f"a meeting record is a mapping with members, present and votes; got {type(value).__name__}"
        )
    keys = list(value)
    unknown = [k for k in keys if k not in _FIELDS]
    if unknown:
        raise InvalidTypeError(
            f"unknown key(s) {', '.join(map(repr, unknown))}; a meeting record has members, present, votes"
        )
    for name in ("members", "present"):
        if name not in value:
            raise InvalidTypeError(f"the record has no '{name}': list the person ids")
    members = _ids(value["members"], "members")
    present = _ids(value["present"], "present")
    votes = _votes(value.get("votes", ()))
    return Meeting(members, present, votes)


def _ids(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidTypeError(f"'{name}' is a list of person ids; got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise InvalidTypeError(f"'{name}' item {i + 1} is {_show(item)}; a person id is a non-empty string")
    return tuple(value)


def _votes(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list | tuple):
        raise InvalidTypeError(
            f"'votes' is a list of [person, vote] pairs in speaking order; got {type(value).__name__}"
            + (
                " (a mapping has no speaking order: write [[li, for], [zhang, for]])"
                if isinstance(value, Mapping)
                else ""
            )
        )
    found: list[tuple[str, str]] = []
    for i, vote in enumerate(value):
        if not isinstance(vote, list | tuple) or len(vote) != 2:
            raise InvalidTypeError(f"vote {i + 1} is {_show(vote)}; each vote is a pair [person, vote]")
        who, what = vote
        if not isinstance(who, str) or not who:
            raise InvalidTypeError(f"vote {i + 1}: the person is {_show(who)}; a person id is a non-empty string")
        if not isinstance(what, str) or not what:
            raise InvalidTypeError(
                f"vote {i + 1} of '{who}' is {_show(what)}; a vote is a non-empty string such as for, against, "
                "abstain (in YAML, quote yes and no)"
            )
        found.append((who, what))
    return tuple(found)


def _show(value: object) -> str:
    if isinstance(value, str):
        return "an empty string" if not value else repr(value[:40])
    if isinstance(value, bool | int | float) or value is None:
        return repr(value)
    return f"a {type(value).__name__}"


def meeting_problems(record: Meeting, organisation: Organisation) -> list[str]:
    """What makes a record inconsistent: unknown people, attendees who are not members, votes by the absent."""
    problems = [
        f"'{pid}' is not a person of the organisation"
        for pid in sorted({*record.members, *record.present, *(v for v, _ in record.votes)})
        if organisation.person(pid) is None
    ]
    for name, ids in (("members", record.members), ("present", record.present)):
        if len(ids) != len(set(ids)):
            problems.append(f"{name} lists someone twice")
    if not set(record.present) <= set(record.members):
        extra = ", ".join(sorted(set(record.present) - set(record.members)))
        problems.append(f"present lists people who are not members: {extra}")
    voters = [v for v, _ in record.votes]
    if not set(voters) <= set(record.present):
        problems.append(f"votes by people who were not present: {', '.join(sorted(set(voters) - set(record.present)))}")
    if len(voters) != len(set(voters)):
        problems.append("someone voted twice")
    return problems


def meeting_passed(rule: Collective, meeting: Meeting) -> bool:
    """Whether the meeting passed the matter, under the step's ``pass`` rule."""
    yes = sum(1 for _, v in meeting.votes if v.lower() in _YES)
    present, members = len(set(meeting.present)), len(set(meeting.members))
    match rule.pass_rule:
        case "majority-of-members":
            return yes * 2 > members
        case "two-thirds-of-present":
            return present > 0 and yes * 3 >= present * 2
        case "two-thirds-of-members":
            return members > 0 and yes * 3 >= members * 2
        case "unanimous":
            return present > 0 and yes == len(meeting.votes) == present
        case _:
            return yes * 2 > present
