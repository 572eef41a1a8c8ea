"""What a case store indexes from a case, computed with :mod:`approvalflow.engine.timing` when the case is saved.

For every open deadline (the open case's promised and statutory deadlines, each open step's own limit) the
index keeps the deadline day, the moment it turns red (``end``: the deadline passed) and the first moment it is
yellow (:func:`~approvalflow.time.periods.yellow_from`), so that a sweep at any moment T is a range query, never
a deserialization.

Case deadlines do not move once set, except while a ``suspendsClock`` step is open after the case clock
started: a suspension still open at T counts up to T (SPEC section 5). Such a case gets no case-deadline rows;
its ``clock`` facts are kept instead and the sweep computes its case deadlines at T from those plain facts with
the function the engine uses (:func:`clock_deadlines`, :func:`approvalflow.time.caseclock.case_deadlines`). Step
deadlines never move.
"""

from __future__ import annotations

import contextlib
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from ..bpmn.model import TimeLimit
from ..engine.timing import case_time, step_deadline
from ..rules.checks import step_units
from ..time.calendar import WorkingCalendar
from ..time.caseclock import CASE_SUSPENSION, CaseDeadlines, Suspension, case_deadlines
from ..time.periods import Deadline, elapsed_working_days, remaining_working_days, yellow_from
from .base import COLUMN_JSON, AnomalyEntry, CaseRecord, DeadlineEntry, Status, TimerEntry
from .cardfacts import facts_json
from .worklists import done_rows, implied, todo_rows

if TYPE_CHECKING:
    from ..engine.case import Case, ReadyStep
    from ..rules.checks import Completion


__all__ = ["clock_deadlines", "record_of", "store_status", "summary_of"]

Scope = Literal["case", "step"]
Limit = Literal["promised", "statutory", "step"]
T = TypeVar("T")

#: Deadlines, yellow moments and working-day counts already computed for a case, kept with the case (dropped with
#: it). Each is a pure function of the case's calendar and the plain values in its key (moments with their time
#: zone), so a case saved after every step no longer recomputes the deadline of every step it completed before.
_MEMO: weakref.WeakKeyDictionary[Case, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()
_MEMO_SIZE = 4096


def _case_memo(case: Case) -> dict[tuple[Any, ...], Any]:
    memo = _MEMO.get(case)
    if memo is None:
        memo = _MEMO.setdefault(case, {})
    return memo


def _memoised(case: Case, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, kept for ``case`` under ``key`` and the case's calendar (which must hash)."""
    memo = _case_memo(case)
    try:
        full = (case.calendar, *key)
        return cast(T, memo[full])
    except KeyError:
        pass
    except TypeError:  # a calendar that does not hash: computed each time
        return compute()
    value = compute()
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[full] = value
    return value


def _entries(case: Case) -> list[dict[str, Any]]:
    """The case's trail entries (read only here), decoding only those appended since the case was last indexed.

    The entries kept are reused only while the trail still continues them: same trail object, and the first new
    entry's ``prev`` (or, with no new entry, the head) is the hash of the last entry kept.
    """
    trail = case.trail
    memo = _case_memo(case)
    kept = memo.get(("entries",))
    entries: list[dict[str, Any]]
    if kept is not None and kept[0] is trail and kept[1] and trail.count >= len(kept[1]):
        old: list[dict[str, Any]] = kept[1]
        new = trail.entries_from(len(old))
        link = new[0].get("prev") if new else trail.head.hash
        if link == old[-1].get("hash"):
            entries = old + new
            memo[("entries",)] = (trail, entries)
            return entries
    entries = trail.entries
    memo[("entries",)] = (trail, entries)
    return entries


def _moment_key(moment: datetime | None) -> tuple[Any, ...]:
    # equal instants in other time zones compare (and hash) equal; the zone is part of the key
    return (moment, moment.tzinfo if moment is not None else None)


def _step_deadline(case: Case, step: str, since: datetime, until: datetime) -> Deadline | None:
    """The deadline of a step completed at ``until`` (:func:`approvalflow.engine.timing.step_deadline`: a case
    suspension that began after the completion does not move it), memoised here on the step's limit, ``since`` and
    the suspensions that began before ``until`` (closed ones: nobody completes a step of a suspended case)."""
    info = case.definition.steps.get(step)
    if info is None or info.time_limit is None:
        return None
    later = [s for s in case.suspensions if s.step == CASE_SUSPENSION and s.start >= since]
    if not later:  # no suspension since the step became ready: the deadline the case kept while it was ready
        return case.step_deadline(step, since)
    pauses = tuple((s.start, s.end) for s in later if s.start < until)
    if any(end is None for _start, end in pauses):  # not for a completed step; computed afresh should it be
        return step_deadline(case, step, since, until=until)
    key = ("step", info.time_limit, info.unit, *_moment_key(since), *_moment_key(until), pauses)
    return _memoised(case, key, lambda: step_deadline(case, step, since, until=until))


def _yellow_from(case: Case, d: Deadline, k: int) -> datetime:
    return _memoised(case, ("yellow", d, *_moment_key(d.end), k), lambda: yellow_from(case.calendar, d, k))


def _elapsed(case: Case, since: datetime, at: datetime) -> int:
    key = ("elapsed", *_moment_key(since), *_moment_key(at))
    return _memoised(case, key, lambda: elapsed_working_days(case.calendar, since, at))


def _case_deadlines(case: Case, at: datetime) -> CaseDeadlines | None:
    """:func:`~approvalflow.engine.timing.case_deadlines` at ``at``, as the case keeps them for its next completion
    (which asks the same of the state it starts from: computed once for both)."""
    return case._deadlines_before(at)


def _moving(case: Case) -> bool:
    tl = case.definition.time_limit
    return (
        tl is not None
        and not case.is_completed
        and case.clock_start is not None
        and any(s.end is None for s in case.suspensions)
    )


def _responsible(case: Case, posts: tuple[str, ...], task: str | None = None) -> tuple[str, ...]:
    """Who holds one of ``posts`` in the units that do the step (:func:`~approvalflow.rules.checks.step_units`).

    Kept for every case of the same organisation and definition objects (:func:`.worklists.implied`), by the case's
    unit id, the posts and the step.
    """
    table = implied(case)
    key = ("responsible", case.unit.id, posts, task)
    people: tuple[str, ...] | None = table.get(key) if table is not None else None
    if people is None:
        people = _people(case, posts, task)
        if table is not None:
            table[key] = people
    return people


def _people(case: Case, posts: tuple[str, ...], task: str | None) -> tuple[str, ...]:
    step = case.definition.steps.get(task) if task else None
    units = set(step_units(step, case.unit.id)) if step is not None else {case.unit.id}
    people = case.organisation.people.values()
    return tuple(sorted(p.id for p in people if p.unit in units and p.posts & set(posts)))


def _power(case: Case) -> str | None:
    return case.definition.power.code if case.definition.power else None


def _deadline_rows(case: Case, ready: Sequence[ReadyStep] | None = None) -> list[DeadlineEntry]:
    power, unit, k = _power(case), case.unit.id, case.yellow_days
    if ready is None:
        ready = case.ready_steps()
    rows: list[DeadlineEntry] = []

    memo = _case_memo(case)
    last = memo.get(("rows",))
    # the entries of the last indexing, reused where a deadline did not change (the store then reuses the row and
    # digest it made of each: store/sql.py); its yellow moment depends only on the deadline, k and the calendar
    before: Sequence[DeadlineEntry] = last[2] if last is not None and last[0] is case.calendar and last[1] == k else ()

    def add(scope: Scope, limit: Limit, task: str | None, d: Deadline, posts: tuple[str, ...]) -> None:
        ordinal, people = len(rows), _responsible(case, posts, task)
        old = before[ordinal] if ordinal < len(before) else None
        if (
            old is not None
            and old.end == d.end
            and old.end.tzinfo is d.end.tzinfo
            and old.day == d.day
            and old.task == task
            and old.scope == scope
            and old.limit == limit
            and old.posts == posts
            and old.people == people
            and old.unit == unit
            and old.power == power
            and old.case_id == case.id
        ):
            rows.append(old)
            return
        rows.append(
            DeadlineEntry(
                case.id, ordinal, scope, limit, task, d.day, d.end, _yellow_from(case, d, k), unit, power, posts, people
            )
        )

    all_posts = tuple(sorted({p for r in ready for p in r.posts}))
    if not case.is_completed and not _moving(case):
        deadlines = _case_deadlines(case, case.started_at)
        if deadlines is not None:
            pairs: tuple[tuple[Limit, Deadline | None], ...] = (
                ("promised", deadlines.promised),
                ("statutory", deadlines.statutory),
            )
            for limit, d in pairs:
                if d is not None:
                    add("case", limit, None, d, all_posts)
    for r in () if case.status == "suspended" else ready:  # 中止: nobody may act, no step card
        d = case.step_deadline(r.id, r.since)
        if d is not None:
            add("step", "step", r.id, d, r.posts)
    memo[("rows",)] = (case.calendar, k, tuple(rows))
    return rows


def _clock_facts(case: Case, ready: Sequence[ReadyStep] | None = None) -> dict[str, Any] | None:
    if not _moving(case):
        return None
    tl = cast(TimeLimit, case.definition.time_limit)
    posts = tuple(sorted({p for r in (case.ready_steps() if ready is None else ready) for p in r.posts}))
    return {
        "promised": tl.promised,
        "statutory": tl.statutory,
        "unit": tl.unit,
        "extension_days": case.extension_days,
        "clock_start": cast(datetime, case.clock_start).isoformat(),
        "suspensions": [
            [s.step, s.reason, s.start.isoformat(), s.end.isoformat() if s.end else None] for s in case.suspensions
        ],
        "yellow_days": case.yellow_days,
        "posts": list(posts),
        "people": list(_responsible(case, posts)),
    }


def clock_deadlines(facts: dict[str, Any], cal: WorkingCalendar, at: datetime) -> CaseDeadlines | None:
    """The case deadlines at ``at`` from the ``clock`` facts of a record (same arithmetic as the engine)."""
    tl = TimeLimit(statutory=facts["statutory"], promised=facts["promised"], unit=facts["unit"])
    suspensions = [
        Suspension(s[0], s[1], datetime.fromisoformat(s[2]), datetime.fromisoformat(s[3]) if s[3] else None)
        for s in facts["suspensions"]
    ]
    return case_deadlines(
        cal, tl, datetime.fromisoformat(facts["clock_start"]), suspensions, facts["extension_days"], at
    )


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _completions(case: Case, entries: list[dict[str, Any]], texts: list[str] | None = None) -> list[dict[str, Any]]:
    """The summary's completions (copies: the caller may change them); with ``texts``, each one's JSON (as
    :data:`COLUMN_JSON` writes it) is appended there, kept with the completion."""
    posts = [
        e.get("post")
        for e in entries
        if e.get("action") == "complete" and e.get("outcome") in ("completed", "recorded")
    ]
    memo = _case_memo(case)
    out = []
    for n, c in enumerate(case.history):
        post = posts[n] if n < len(posts) else None
        key = ("row", id(c))
        kept = memo.get(key)
        if kept is None or kept[0] is not c or kept[1] != post or kept[2] is not case.calendar:
            row = _completion(case, c, post)
            kept = (c, post, case.calendar, row, COLUMN_JSON.encode(row))
            memo[key] = kept
        out.append(dict(kept[3]))
        if texts is not None:
            texts.append(kept[4])
    return out


def _completion(case: Case, c: Completion, post: Any) -> dict[str, Any]:
    """One completed step as the summary lists it (kept per case: it never changes once the step is done)."""
    d = _step_deadline(case, c.step, c.since, c.at)
    return {
        "step": c.step,
        "actor": c.actor,
        "post": post,
        "since": c.since.isoformat(),
        "at": c.at.isoformat(),
        "limit": case.definition.steps[c.step].time_limit,
        "working_days": _elapsed(case, c.since, c.at),
        "on_time": None if d is None else not d.is_late(c.at),
        "deadline": _iso(d.day) if d else None,
    }


def _outcome(deadline: Deadline | None, case: Case, end: datetime) -> str | None:
    if deadline is None:
        return None
    if deadline.is_late(end):
        return "late"
    return "early" if remaining_working_days(case.calendar, deadline, end) > 0 else "on_time"


def summary_of(case: Case, *, entries: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What efficiency figures need of a case: when received and ended, limits, outcome, days, refusals.

    ``entries``: the case's trail entries, when the caller has them decoded (:func:`record_of`)."""
    return _summary(case, _entries(case) if entries is None else entries)


def _summary_json(summary: dict[str, Any], completions: Sequence[str]) -> str:
    """``COLUMN_JSON.encode(summary)``, with the JSON of each of its completions given (``completions``: what
    :func:`_completions` kept for them) instead of encoded again: the members before and after ``completions``
    are encoded and the list put between them (the keys sort the same either way)."""
    enc = COLUMN_JSON.encode
    low = {k: v for k, v in summary.items() if k < "completions"}
    high = {k: v for k, v in summary.items() if k > "completions"}
    parts = [enc(low)[1:-1]] if low else []
    parts.append('"completions": [' + ", ".join(completions) + "]")
    if high:
        parts.append(enc(high)[1:-1])
    return "{" + ", ".join(parts) + "}"


def _summary(case: Case, entries: list[dict[str, Any]], texts: list[str] | None = None) -> dict[str, Any]:
    """:func:`summary_of`; with ``texts``, the JSON of each completion is appended there (:func:`_summary_json`)."""
    tl = case.definition.time_limit
    refused = [e for e in entries if e.get("outcome") == "refused"]
    summary: dict[str, Any] = {
        "received_at": (case.clock_start or case.started_at).isoformat(),
        "ended_at": _iso(case.ended_at),
        "limit_unit": tl.unit if tl else None,
        "promised_limit": tl.promised if tl else None,
        "statutory_limit": tl.statutory if tl else None,
        "refusals": len(refused),
        "refused_posts": [e.get("post") for e in refused],
        "extension_days": case.extension_days,
        "completions": _completions(case, entries, texts),
        "status": case.status,
        "case_outcome": case.outcome,
        "outcome": None,
        "statutory_late": None,
        "working_days": None,
        "suspended_days": None,
        "promised_deadline": None,
        "statutory_deadline": None,
    }
    if case.evaluation is not None:  # 好差评: written only then (efficiency's 好评率 and 差评整改率)
        summary["evaluation"] = {"grade": case.evaluation.grade, "at": case.evaluation.at.isoformat(),
                                 "rectification": case.evaluation.rectification}  # fmt: skip
    rectifies = case.data.get("rectifies")
    if isinstance(rectifies, str):  # a 整改 case (approvalflow.exchange.rectification): the case it answers
        summary["rectifies"] = rectifies
    if case._urges:  # 催办: written only then, so the summary of every case stored before is unchanged
        summary["urges"] = len(case._urges)
    facts = facts_json(case)  # what the card rules count (cardfacts.CaseFacts), or None
    if facts is not None:  # 补正 notices, 催办 and a refusal's reason for the card rules: written only then, likewise
        summary["card_facts"] = facts
    if case.ended_at is not None:
        report = case_time(case, case.ended_at)  # the case's own figures: no row for every step
        d = report.deadlines
        summary.update(
            outcome=_outcome(d.promised if d else None, case, case.ended_at),
            statutory_late=d.statutory.is_late(case.ended_at) if d and d.statutory else None,
            working_days=report.elapsed,
            suspended_days=report.suspended,
            promised_deadline=_iso(d.promised.day) if d and d.promised else None,
            statutory_deadline=_iso(d.statutory.day) if d and d.statutory else None,
        )
    return summary


def _anomalies(case: Case, entries: list[dict[str, Any]]) -> tuple[AnomalyEntry, ...]:
    """:func:`~approvalflow.store.anomalies.trail_anomalies` of the entries, reading only those after the entries
    read when the case was last indexed, while those are the same entry objects (:func:`_entries` keeps them while
    the trail continues them) of the same definition and unit."""
    from .anomalies import trail_anomalies

    memo = _case_memo(case)
    definition, unit = case.definition, case.unit.id
    kept = memo.get(("anomalies",))
    start, seen, found = 0, Counter[str](), ()
    if (
        kept is not None
        and kept[0] is definition
        and kept[1] == unit
        and 0 < kept[2] <= len(entries)
        and entries[kept[2] - 1] is kept[3]
    ):
        if kept[2] == len(entries):  # nothing new
            return cast(tuple[AnomalyEntry, ...], kept[5])
        start, seen, found = kept[2], Counter(kept[4]), kept[5]
    suspending, extensions = _trail_steps(definition)
    new = trail_anomalies(entries[start:], case_id=case.id, unit=unit, power=_power(case), suspending=suspending,
                          extension_steps=extensions, seen=seen)  # fmt: skip
    out = found + tuple(new)
    if entries:
        memo[("anomalies",)] = (definition, unit, len(entries), entries[-1], seen, out)
    return out


#: The ``suspendsClock`` steps and the extension steps of each definition (what the anomalies of a trail look for),
#: by the definition's id, with a weak reference to it (so that an id is never taken for another's).
_TRAIL_STEPS: dict[int, tuple[weakref.ref[Any], dict[str, str], tuple[str, ...]]] = {}


def _trail_steps(definition: Any) -> tuple[dict[str, str], tuple[str, ...]]:
    kept = _TRAIL_STEPS.get(id(definition))
    if kept is not None and kept[0]() is definition:
        return kept[1], kept[2]
    steps = definition.steps.values()
    suspending = {s.id: s.suspends_clock for s in steps if s.suspends_clock is not None}
    extensions = tuple(s.id for s in steps if s.extension)
    if len(_TRAIL_STEPS) >= 256:
        _TRAIL_STEPS.clear()
    with contextlib.suppress(TypeError):  # a definition that cannot be referred to weakly: not kept
        _TRAIL_STEPS[id(definition)] = (weakref.ref(definition), suspending, extensions)
    return suspending, extensions


def store_status(case: Case) -> Status:
    """The store's ``status`` column: ``open`` for a running case (the value stores have always held), else the
    case's status (``completed``, ``suspended``, ``withdrawn``, ``terminated``)."""
    status = case.status
    return "open" if status == "running" else cast(Status, status)


def record_of(case: Case, state: str, *, version: int = 0) -> CaseRecord:
    """The store record of ``case`` whose serialized state (:func:`dump_case`) is ``state``.

    The case's ready steps and trail entries are read once and given to each part that needs them."""
    ready = case.ready_steps()
    entries = _entries(case)
    deadlines = tuple(_deadline_rows(case, ready))
    process, power = case.definition.id, _power(case)
    texts: list[str] = []
    summary = _summary(case, entries, texts)
    record = CaseRecord(
        id=case.id,
        process=process,
        digest=case.definition.digest,
        power=power,
        unit=case.unit.id,
        status=store_status(case),
        steps=tuple(r.id for r in ready),
        started_at=case.started_at,
        ended_at=case.ended_at,
        trail_head=case.trail.head,
        state=state,
        summary=summary,
        clock=_clock_facts(case, ready),
        deadlines=deadlines,
        anomalies=_anomalies(case, entries),
        version=version,
        timers=tuple(TimerEntry(case.id, t.element, t.due) for t in case.timers()),
        todo=todo_rows(case, ready, deadlines, process=process, power=power),
        done=done_rows(case, process=process, power=power),
    )
    # the summary's JSON, made of the completions' kept JSON (a store writes it while the record's summary is this
    # very dict: CaseRecord.summary_text)
    object.__setattr__(record, "_summary_text", (summary, _summary_json(summary, texts)))
    return record
