"""Timers in the simulator, as the engine fires them on the case clock (:mod:`approvalflow.engine.timers`).

The simulator reads a document's timers with the engine's reader (:func:`approvalflow.bpmn.timers.read_timers`):
what the engine refuses at load (repeating timers, timer start events, event sub-processes started by a timer, a
timer without an expression, ...) the simulator refuses with the engine's reason, at the event. It runs

* an **intermediate timer catch event** (a ``wait`` node): the token waits until the timer is due, then goes on;
* a **boundary timer on a task** (the task becomes a ``btask`` node, the event a ``boundary`` node). The timer starts
  when the task becomes ready. *Interrupting*: if the task is not completed before the due moment (a completion at
  the very moment comes after the timer, as the engine fires what is due before an action), the task is cancelled
  then and the token takes the boundary path: work not started is never done (the task waited until the due
  moment), work in progress stops, and its worked time (working time from its start to the due moment) counts as
  busy time of the pool and as processing time of the step, whose count it does not raise; its staff are free from
  the due moment. *Non-interrupting*: at the due moment a second token starts down the boundary path, and the task
  goes on.

Due moments, counted from the moment the timer starts waiting (the simulated moment its token arrived):

* ``timeDuration``: years and months by the calendar (the day kept, or the month's last day), then weeks, days,
  hours, minutes and seconds as elapsed time, as the engine counts them;
* ``af:timer workdays="N"``: the end of the N-th working day of the **model's** calendar (``calendar.days``) after
  the day the timer started waiting (the engine counts on the case's calendar, China's by default: a model whose
  ``calendar.days`` is ``china`` agrees with it);
* ``timeDate``: that moment on the simulation's time axis (a date already past fires at once).

Refused by name: a timer expression that is not a quoted ISO 8601 value (as the engine's loader, checked the same
way here, since the simulator does not import the loader), a boundary timer on anything but a task (a
signed multi-instance step, a sub-process, a call activity), a timer event without an outgoing flow, and an
``af:once`` step with a boundary timer; a model whose step has an ``after`` wait that leads to a timer (the engine
starts the timer when the step completes, before the wait).
"""

from __future__ import annotations

import calendar as _months
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from lxml import etree

from ..bpmn.annotations import ProcessInfo
from ..bpmn.timers import TimerInfo, duration_parts, read_timers, timer_problems, timer_refusals
from ..errors import BpmnError
from .calendars import DAY, DayIndex

__all__ = ["SourceTimers", "attach_boundaries", "due_after", "timer_kind"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


class SourceTimers:
    """The timers of one BPMN document the engine runs, and why each one it does not run is refused."""

    def __init__(self, root: etree._Element, file: str) -> None:
        self.refused = {str(e.element): e.message for e in _expression_problems(root)}
        for e in timer_refusals(root, file, set(self.refused)):
            self.refused.setdefault(str(e.element), e.message)
        try:
            found = read_timers(root, file)
        except ValueError:  # a date the reader cannot parse: refused above, at its event
            found = {}
        self.run = {k: v for k, v in found.items() if k not in self.refused}


def _expression_problems(root: etree._Element) -> list[BpmnError]:
    """A timer expression the engine's loader refuses (:func:`approvalflow.bpmn.timers.timer_problems`, the one
    check): not an ISO 8601 date, duration or cycle written as a quoted string."""
    return [
        BpmnError(f"{p.message} (the engine's loader refuses it too)", element=p.element)
        for p in timer_problems(root, None)
    ]


def timer_kind(
    timers: SourceTimers | None, kind: str, ident: str, line: int | None, file: str, definitions: tuple[str, ...]
) -> tuple[str, TimerInfo] | None:
    """``("wait" | "boundary", timer)`` for a timer event the simulator runs, None for an element without a timer;
    a timer the engine refuses is refused here with the engine's reason."""
    if timers is None or "timerEventDefinition" not in definitions:
        return None
    refused = timers.refused.get(ident)
    info = timers.run.get(ident)
    if refused is not None or info is None:
        why = refused or "the document has a timer expression the engine refuses (see its other timer events)"
        raise BpmnError(f"{kind} '{ident}' is not supported by the simulator, nor run by the engine: {why}",
                        file=file, line=line, element=ident)  # fmt: skip
    return ("wait" if kind == "intermediateCatchEvent" else "boundary"), info


class _Draft(Protocol):
    key: str
    id: str
    kind: str
    line: int | None
    once: bool
    targets: list[str]
    timer: TimerInfo | None
    boundary: list[str]


def attach_boundaries(drafts: Mapping[str, _Draft], prefix: str, info: ProcessInfo, file: str) -> None:
    """Each boundary timer of process ``info`` (inlined under ``prefix``) onto its task, which becomes a ``btask``."""
    for node in info.nodes.values():
        d = drafts.get(prefix + node.id)
        if d is None or d.kind not in ("wait", "boundary"):
            continue
        if not d.targets:
            raise BpmnError(f"timer event '{d.id}' has no outgoing flow: not supported by the simulator",
                            file=file, line=d.line, element=d.id)  # fmt: skip
        if d.kind == "wait" or d.timer is None:
            continue
        task = drafts.get(prefix + (d.timer.attached_to or ""))
        if task is None or task.kind not in ("task", "btask") or task.once:
            kinds = {"sign": "the signed multi-instance step", "enter": "the sub-process or call activity"}
            what = kinds.get(task.kind, f"the {task.kind} node") if task is not None else "the element"
            what = "the af:once step" if task is not None and task.once else what
            raise BpmnError(
                f"boundary timer '{d.id}' on {what} '{d.timer.attached_to}': the simulator runs boundary timers on "
                "tasks only (not on a signed multi-instance step, a sub-process, a call activity or an af:once "
                "step); not supported by the simulator",
                file=file, line=d.line, element=d.id,
            )  # fmt: skip
        task.kind = "btask"
        task.boundary.append(d.key)


def due_after(info: TimerInfo, since: float, epoch: date, days: DayIndex | None) -> float:
    """When the timer ``info`` that starts waiting at ``since`` (seconds after midnight of ``epoch``) is due."""
    start = datetime(epoch.year, epoch.month, epoch.day, tzinfo=SHANGHAI)
    if info.kind == "date":
        fixed = datetime.fromisoformat(info.value)
        fixed = fixed if fixed.tzinfo is not None else fixed.replace(tzinfo=SHANGHAI)
        return max(since, (fixed - start).total_seconds())
    if info.kind == "workdays":
        if days is None:
            raise BpmnError(f"timer '{info.id}' counts working days, and the model has no working-day calendar",
                            file=info.file, line=info.line, element=info.id)  # fmt: skip
        return (days.add(int(since // DAY), int(info.value)) + 1) * DAY
    parts = duration_parts(info.value)
    moment = since
    months = int(parts.get("Y", 0)) * 12 + int(parts.get("M", 0))
    if months:
        at = start + timedelta(seconds=since)
        index = at.month - 1 + months
        year, month = at.year + index // 12, index % 12 + 1
        shifted = at.replace(year=year, month=month, day=min(at.day, _months.monthrange(year, month)[1]))
        moment = (shifted - start).total_seconds()
    seconds = parts.get("W", 0) * 7 * DAY + parts.get("D", 0) * DAY
    return moment + seconds + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)
