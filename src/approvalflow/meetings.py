"""Meeting records of collective steps (集体讨论决定, 三重一大): checking them and deciding the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import Collective
from .org import Organisation

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


def meeting_from(value: Meeting | Mapping[str, Any]) -> Meeting:
    """A :class:`Meeting` from a mapping ``{members, present, votes: [[who, vote], ...]}``; TypeError if malformed."""
    if isinstance(value, Meeting):
        return value
    if not isinstance(value, Mapping):
        raise TypeError("a meeting record is a mapping with members, present and votes")
    try:
        votes = tuple((str(v[0]), str(v[1])) for v in value.get("votes", ()))
    except (TypeError, IndexError) as exc:
        raise TypeError("each vote is a pair [person, vote]") from exc
    return Meeting(tuple(map(str, value.get("members", ()))), tuple(map(str, value.get("present", ()))), votes)


def meeting_problems(record: Meeting, organisation: Organisation) -> list[str]:
    """What makes a record inconsistent: unknown people, attendees who are not members, votes by the absent."""
    problems = [
        f"'{pid}' is not a person of the organisation"
        for pid in sorted({*record.members, *record.present, *(v for v, _ in record.votes)})
        if organisation.person(pid) is None
    ]
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
