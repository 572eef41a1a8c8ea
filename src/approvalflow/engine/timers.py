"""Timers on the case clock: when each waiting timer event is due, and firing them in order.

SpiffWorkflow decides a timer has fired by comparing its due moment with the wall clock. Here it never decides:
every timer the engine runs is *held* (:func:`approvalflow._spiff.hold_timers`) and fires only through
:func:`fire_timers`, at the moment approvalflow computes from the model (:mod:`approvalflow.bpmn.timers`) and the
moment the event started waiting:

* ``timeDate``: that moment (a date or time without an offset is read in Asia/Shanghai);
* ``timeDuration``: the moment the event started waiting plus the duration (years and months by the calendar, on
  the date in the waiting moment's own time zone, the day kept or clamped to the month's last day; then weeks, days,
  hours, minutes and seconds as elapsed time);
* ``af:timer workdays="N"``: the end (Asia/Shanghai) of the N-th working day of the case's calendar after the day
  the event started waiting (SPEC section 5's period of N working days). Case suspensions (``af:suspendsClock``)
  do not move it: a timer is a fixed moment from the moment it starts waiting, and a timer on a suspending step
  (补正, waiting for the applicant) counts exactly the time the applicant has.

The case keeps, for each waiting timer, the moment it started waiting and its due moment (:class:`TimerWait`;
saved with the case and checked against the model when a case is restored). :func:`fire_timers` fires every timer
due by a moment, earliest first (ties by event id, then task id), each one as an action of its own: the engine
moves on at the due moment (an interrupting boundary timer cancels its step), the steps that become ready are ready
from the due moment, and the trail records a ``timer`` entry whose ``at`` is the moment it fired (the due moment,
or the moment it started waiting for a date already past then) with ``due``, ``since`` and the steps it
interrupted.
"""

from __future__ import annotations

import calendar as _months
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .._spiff import fire_timer, scan, unfired_marks, waiting_timers
from ..bpmn.timers import TimerInfo, duration_parts
from ..errors import EngineError, LoopLimitError
from ..time.calendar import WorkingCalendar
from ..time.clock import check_moment
from ..time.periods import period_deadline
from .empties import map_of

if TYPE_CHECKING:
    from .case import Case

__all__ = ["TimerFiring", "TimerWait"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_FIRINGS = 1_000
"""Most timers one call fires (a timer of no duration in a loop would fire for ever)."""


@dataclass(frozen=True, slots=True)
class TimerWait:
    """A timer event the case waits on: its event id, since when it waits, and when it is due."""

    element: str
    since: datetime
    due: datetime

    def to_dict(self) -> dict[str, str]:
        return {"element": self.element, "since": self.since.isoformat(), "due": self.due.isoformat()}


@dataclass(frozen=True, slots=True)
class TimerFiring:
    """A timer that fired: its event, when it was due, the moment it fired, and the steps it interrupted."""

    element: str
    due: datetime
    at: datetime
    interrupted: tuple[str, ...] = ()


def _plus_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, _months.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_moment(info: TimerInfo, since: datetime, cal: WorkingCalendar) -> datetime:
    """When the timer ``info`` that started waiting at ``since`` is due (see the module's text)."""
    if info.kind == "date":
        moment = datetime.fromisoformat(info.value)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHANGHAI)
    if info.kind == "workdays":
        return period_deadline(cal, since, int(info.value), "workday").end
    parts = duration_parts(info.value)
    moment = _plus_months(since, int(parts.get("Y", 0)) * 12 + int(parts.get("M", 0)))
    elapsed = timedelta(
        weeks=parts.get("W", 0),
        days=parts.get("D", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )
    return check_moment(moment + elapsed)


def sync_timers(case: Case, moment: datetime) -> None:
    """After an action at ``moment``: forget timers that no longer wait, note the new ones with their due moment."""
    kept: Mapping[str, TimerWait] = case._timers
    now: dict[str, TimerWait] = {}
    for key, element in waiting_timers(case.engine_workflow):
        wait = kept.get(key)
        if wait is None or wait.element != element:
            wait = TimerWait(element, moment, due_moment(case.definition.timers[element], moment, case.calendar))
        now[key] = wait
    if now or kept:  # no timer before or after (most steps of most cases): keep the empty map, make none
        case._timers = map_of(now)


def _next(case: Case) -> tuple[str, TimerWait] | None:
    waits: Mapping[str, TimerWait] = case._timers
    if not waits:
        return None
    return min(waits.items(), key=lambda kv: (kv[1].due, kv[1].element, kv[0]))


def fire_timers(case: Case, until: datetime) -> list[TimerFiring]:
    """Fire every timer of ``case`` due by ``until``, earliest first, each one recorded; returns them in order."""
    fired: list[TimerFiring] = []
    while (found := _next(case)) is not None and found[1].due <= until:
        if len(fired) >= MAX_FIRINGS:
            raise LoopLimitError(
                f"{MAX_FIRINGS} timers fired in one call and more are due by {until.isoformat()}: a timer of no "
                "duration in a loop fires for ever",
                case=case.id,
                step=found[1].element,
            )
        fired.append(_fire(case, *found))
    return fired


def _fire(case: Case, key: str, wait: TimerWait) -> TimerFiring:
    at = max(wait.due, wait.since)
    before = {str(t.id): t.task_spec.bpmn_id for t in case._scan.ready}
    base: dict[str, Any] = {
        "action": "timer", "at": at.isoformat(), "step": None, "actor": None, "post": None,
        "unit": case.unit.id, "data": {"timer": wait.element, "due": wait.due.isoformat(),
                                       "since": wait.since.isoformat()},
    }  # fmt: skip
    with case._all_or_nothing(base):
        try:
            fire_timer(case.engine_workflow, key)
            case._interrupt()  # a signal thrown after the timer may start an interrupting event sub-process
        except Exception as exc:
            raise EngineError(
                f"the engine could not fire timer '{wait.element}': {type(exc).__name__}: {str(exc)[:200]}",
                case=case.id,
                step=wait.element,
            ) from exc
        finally:
            case._scan = scan(case.engine_workflow)
        after = {str(t.id) for t in case._scan.ready}
        interrupted = tuple(sorted(step for k, step in before.items() if k not in after))
        base["data"]["interrupted"] = list(interrupted)
        if case.is_completed and case.ended_at is None:
            case.ended_at = at
        case._mark_ready(at)
        case._state_changed()
        case._append(**base, findings=[], outcome="fired")
    return TimerFiring(wait.element, wait.due, at, interrupted)


def restore_timers(case: Case, saved: Any, actions: set[str] | None = None) -> dict[str, TimerWait]:
    """The waiting timers of a saved state, checked against the restored engine and the model (``ValueError``).

    Each must be a timer event the engine waits on, with a moment it started waiting no earlier than the case
    started (and, given ``actions``, the moments of the saved trail's entries, one of them: a timer starts waiting
    at an action), and exactly the due moment the model gives for that moment (a forged due moment is refused);
    every waiting timer of the engine must have one, and none may carry a "fired" mark it did not fire with.
    """
    if not isinstance(saved, dict):
        raise ValueError("'timers' is not a mapping")
    marked = unfired_marks(case.engine_workflow)
    if marked:
        raise ValueError(f"workflow: task {marked[0]} waits on a timer marked as fired")
    waiting = dict(waiting_timers(case.engine_workflow))
    if set(saved) != set(waiting):
        raise ValueError("'timers' does not list exactly the timer events the engine waits on")
    out: dict[str, TimerWait] = {}
    for key, item in saved.items():
        element = waiting[key]
        info = case.definition.timers[element]
        if not isinstance(item, dict) or set(item) != {"element", "since", "due"}:
            raise ValueError(f"timers.{str(key)[:40]}: not a waiting timer record")
        if item["element"] != element:
            raise ValueError(f"timers.{str(key)[:40]}: names another event than the one the engine waits on")
        since, due = _saved_moment(item["since"]), _saved_moment(item["due"])
        if since < case.started_at or (actions is not None and item["since"] not in actions):
            raise ValueError(f"timers.{key}: it started waiting at no moment of an action of the case")
        expected = due_moment(info, since, case.calendar)
        if due != expected or due.isoformat() != item["due"]:
            raise ValueError(f"timers.{key}: its due moment is not the one the model gives ({expected.isoformat()})")
        out[key] = TimerWait(element, since, due)
    return out


def _saved_moment(value: Any) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("a timer moment is not a moment")
    return check_moment(datetime.fromisoformat(value))
