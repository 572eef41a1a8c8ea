"""The timer events of a BPMN document: what each one waits for, and which ones the engine refuses by name.

The engine fires timers on the case's clock (:mod:`approvalflow.engine.timers`), never by the wall clock. It runs

* boundary timers (interrupting and non-interrupting), intermediate timer catch events, and the timer start events
  of event sub-processes directly in a process (interrupting or not);
* with ``bpmn:timeDate`` (a moment; one without an offset is read in Asia/Shanghai), ``bpmn:timeDuration`` (an ISO
  8601 duration counted from the moment the event starts waiting), or ``af:timer workdays="N"`` in the event's
  ``extensionElements`` with an empty ``bpmn:timerEventDefinition`` (N working days of China's calendar, counted as
  SPEC section 5 counts a period: the timer fires when the N-th working day after the day it started waiting ends).

A timer may also be a branch of an event-based gateway (the first of its events to come takes the gateway).

Refused at load by name (:func:`timer_refusals`), at the event: repeating timers (``bpmn:timeCycle``), timer start
events of a process or of an event sub-process inside a sub-process, an event with a timer and
another event definition, a timer with neither an expression nor ``af:timer`` (or with both), a duration with a
fraction of a year or month, a duration longer than :data:`MAX_TIMER_DAYS` days, a date outside the years the
package accepts, and ``af:timer`` on an event that has no timer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lxml import etree

from ..errors import NotExecutableError
from ..io.namespaces import AF_NS, BPMN_NS, bpmn, owner_id

__all__ = [
    "MAX_TIMER_DAYS",
    "MAX_WORKDAYS",
    "TIMER_CHECKS",
    "TIMER_TAGS",
    "TimerInfo",
    "duration_parts",
    "engine_document",
    "read_timers",
    "timer_problem",
    "timer_problems",
    "timer_refusals",
]

TimerKind = Literal["date", "duration", "workdays"]

MAX_TIMER_DAYS = 36_600
"""Longest timer duration accepted, in days (about a hundred years): a longer one is refused at load."""
MAX_WORKDAYS = 2_500
"""Most working days an ``af:timer`` may count (about ten years)."""


_RUN_ON = frozenset({"boundaryEvent", "intermediateCatchEvent"})
_DATE_YEARS = (1900, 2999)  # approvalflow.time.clock's MIN_YEAR and MAX_YEAR (a lower layer may not import it)


@dataclass(frozen=True)
class TimerInfo:
    """One timer event the engine runs: its event, what it waits for, and where it is."""

    id: str
    """The BPMN id of the timer event."""
    event: str
    """``boundaryEvent``, ``intermediateCatchEvent``, or ``startEvent`` (of an event sub-process of the process)."""
    kind: TimerKind
    value: str
    """The ISO 8601 date or duration (without its quotes), or the number of working days."""
    attached_to: str | None = None
    """The activity a boundary timer is attached to."""
    interrupting: bool = True
    """False for a non-interrupting boundary timer (``cancelActivity="false"``) or event sub-process
    (``isInterrupting="false"``)."""
    file: str | None = None
    line: int | None = None

    @property
    def workdays(self) -> int | None:
        return int(self.value) if self.kind == "workdays" else None


_PART = re.compile(r"(\d+(?:[.,]\d+)?)([YMWDHS])")


def duration_parts(text: str) -> dict[str, float]:
    """The parts of an ISO 8601 duration the loader accepted: ``Y``, ``M``, ``W``, ``D`` and ``h``, ``m``, ``s``."""
    date_part, _, time_part = text.removeprefix("P").partition("T")
    parts: dict[str, float] = {}
    for number, unit in _PART.findall(date_part):
        parts[unit] = float(number.replace(",", "."))
    for number, unit in _PART.findall(time_part):
        parts[unit.lower()] = float(number.replace(",", "."))
    return parts


def _unquoted(el: etree._Element) -> str:
    text = "".join(el.itertext()).strip()
    return text[1:-1].strip() if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" else text


def _af_timer(event: etree._Element) -> etree._Element | None:
    return event.find(f"{{{BPMN_NS}}}extensionElements/{{{AF_NS}}}timer")


def _duration_problem(text: str) -> str | None:
    parts = duration_parts(text)
    if any(not parts[k].is_integer() for k in ("Y", "M") if k in parts):
        return (
            f"the duration {text!r} has a fraction of a year or month, which has no fixed length; write it in "
            "smaller units (e.g. P45D)"
        )
    days = (
        parts.get("Y", 0) * 366
        + parts.get("M", 0) * 31
        + parts.get("W", 0) * 7
        + parts.get("D", 0)
        + (parts.get("h", 0) / 24 + parts.get("m", 0) / 1440 + parts.get("s", 0) / 86400)
    )
    if days > MAX_TIMER_DAYS:
        return f"the duration {text[:40]!r} is longer than {MAX_TIMER_DAYS:,} days"
    return None


def _date_problem(text: str) -> str | None:
    moment = datetime.fromisoformat(text)
    if not _DATE_YEARS[0] <= moment.year <= _DATE_YEARS[1]:
        return f"the date {text!r} is outside the years {_DATE_YEARS[0]}-{_DATE_YEARS[1]}"
    return None


def _read_one(event: etree._Element, definition: etree._Element, file: str | None) -> TimerInfo | str:
    """The timer of ``event``, or why it is refused."""
    kind = etree.QName(event).localname
    esp_timer = kind == "startEvent" and _in_event_subprocess(event)
    if esp_timer and not _at_process_level(event):
        return (
            "an event sub-process started by a timer is run only directly in the case's own process: SpiffWorkflow "
            "3.2 runs one inside a sub-process as a parallel branch of it; use a boundary timer on the sub-process "
            "(or on its steps) instead"
        )
    if kind == "startEvent" and not esp_timer:
        return "a timer start event is not run: a case starts when the host starts it (start_case)"
    if kind not in _RUN_ON and not esp_timer:
        return f"a timer on a bpmn:{kind} is not run"
    others = [c for c in event if isinstance(c.tag, str) and c.tag.endswith("EventDefinition") and c is not definition]
    if others:
        return "an event with a timer and another event definition (a multiple event) is not run"
    exprs = {etree.QName(c).localname: c for c in definition if isinstance(c.tag, str)}
    af_timer = _af_timer(event)
    if "timeCycle" in exprs:
        return (
            "repeating timers (bpmn:timeCycle) are not run: SpiffWorkflow 3.2 hangs each repetition's path under the "
            "waiting timer, so completing the step would cancel the reminders' open steps; use a non-interrupting "
            "boundary timer with a duration (bpmn:timeDuration or af:timer), or a step with a time limit"
        )
    given = [k for k in ("timeDate", "timeDuration") if k in exprs]
    if af_timer is not None and given:
        return f"the timer has both bpmn:{given[0]} and af:timer; give one of them"
    attached = event.get("attachedToRef") if kind == "boundaryEvent" else None
    interrupting = (
        event.get("isInterrupting", "true") if esp_timer else event.get("cancelActivity", "true")
    ) != "false"
    base = {"attached_to": attached, "interrupting": interrupting, "file": file, "line": event.sourceline}
    ident = str(event.get("id"))
    if af_timer is not None:
        return TimerInfo(ident, kind, "workdays", str(int(af_timer.get("workdays", "0"))), **base)
    if not given:
        return "the timer has no bpmn:timeDate, bpmn:timeDuration or af:timer (workdays); give one"
    text = _unquoted(exprs[given[0]])
    problem = _date_problem(text) if given[0] == "timeDate" else _duration_problem(text)
    if problem is not None:
        return problem
    return TimerInfo(ident, kind, "date" if given[0] == "timeDate" else "duration", text, **base)


def _at_process_level(event: etree._Element) -> bool:
    """Whether the event sub-process of ``event`` lies directly in a bpmn:process (not in a sub-process)."""
    sub = event.getparent()
    above = sub.getparent() if sub is not None else None
    return above is not None and above.tag == bpmn("process")


def _in_event_subprocess(event: etree._Element) -> bool:
    parent = event.getparent()
    return parent is not None and parent.tag == bpmn("subProcess") and parent.get("triggeredByEvent") == "true"


def _walk(root: etree._Element, file: str | None, wrong: set[str | None]) -> Iterator[TimerInfo | NotExecutableError]:
    for definition in root.iter(bpmn("timerEventDefinition")):
        event = definition.getparent()
        if event is None or event.get("id") in wrong:
            continue
        found = _read_one(event, definition, file)
        if isinstance(found, str):
            yield NotExecutableError(found, file=file, line=event.sourceline, element=event.get("id"))
        else:
            yield found
    for af_timer in root.iter(f"{{{AF_NS}}}timer"):
        ext = af_timer.getparent()
        event = ext.getparent() if ext is not None else None
        if event is not None and event.find(bpmn("timerEventDefinition")) is None:
            yield NotExecutableError(
                "af:timer stands on an event without bpmn:timerEventDefinition; add an empty one",
                file=file,
                line=af_timer.sourceline,
                element=event.get("id"),
            )


def read_timers(root: etree._Element, file: str | None) -> dict[str, TimerInfo]:
    """Every timer event of the document the engine runs, by id (refused ones are left out)."""
    return {t.id: t for t in _walk(root, file, set()) if isinstance(t, TimerInfo)}


def timer_refusals(
    root: etree._Element, file: str | None, wrong: set[str | None] | None = None
) -> list[NotExecutableError]:
    """A refusal at each timer event of the document the engine does not run, in document order (events in
    ``wrong``, whose expression is already refused, are skipped)."""
    return [t for t in _walk(root, file, wrong or set()) if isinstance(t, NotExecutableError)]


def engine_document(root: etree._Element) -> etree._Element:
    """The document as SpiffWorkflow reads it (the loader and ``validate``): a timer counted in working days
    (``af:timer``, with an empty ``bpmn:timerEventDefinition``) gets a duration SpiffWorkflow can parse. It is never
    evaluated: the timer is held (:func:`approvalflow._spiff.hold_timers`) and fired by the engine on the case clock,
    at the working-day moment."""
    if next(root.iter(f"{{{AF_NS}}}timer"), None) is None:
        return root
    copy = etree.fromstring(etree.tostring(root))
    for definition in copy.iter(bpmn("timerEventDefinition")):
        if len(definition) == 0:
            etree.SubElement(definition, bpmn("timeDuration")).text = '"PT0S"'
    return copy


# -- timer expressions, checked at load (the loader, validate and the simulator alike) ---------------------------
#: The timer expressions (children of ``bpmn:timerEventDefinition``) and what each must be: an ISO 8601 value
#: written as a quoted string, e.g. ``"P5D"``. Checked at load (:func:`timer_problems`); nothing else is accepted
#: (no name of case data, no arithmetic), so that a timer the engine cannot read is refused before a case starts.
TIMER_TAGS = {
    "timeDuration": ("a duration", '"P5D" or "PT4H"'),
    "timeDate": ("a date and time", '"2026-10-09T09:00:00+08:00"'),
    "timeCycle": ("a repeating interval", '"R3/PT1H" or "R/2026-10-09T09:00:00+08:00/P1D"'),
}

_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"P(?=[\dT])(?:(?P<Y>{_NUMBER})Y)?(?:(?P<M>{_NUMBER})M)?(?:(?P<W>{_NUMBER})W)?(?:(?P<D>{_NUMBER})D)?"
    rf"(?:T(?=\d)(?:(?P<h>{_NUMBER})H)?(?:(?P<m>{_NUMBER})M)?(?:(?P<s>{_NUMBER})S)?)?"
)
_QUOTED = re.compile(r"""(["'])([^"'\\]*)\1""")


def _is_duration(text: str) -> bool:
    """ISO 8601 ``PnYnMnDTnHnMnS`` (or ``PnW`` alone); only the last part given may have a fraction."""
    match = _DURATION.fullmatch(text)
    if match is None or text.endswith("T"):
        return False
    parts = [v for v in match.groups() if v is not None]
    if not parts or any(not v.isdigit() for v in parts[:-1]):
        return False
    return match["W"] is None or len(parts) == 1


def _is_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][\d:.,]+(Z|[+-]\d{2}:?\d{2})?)?", text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_cycle(text: str) -> bool:
    """``Rn/duration``, ``Rn/start/duration`` or ``Rn/duration/end`` (``R/...``: without end)."""
    parts = text.split("/")
    if not re.fullmatch(r"R\d*", parts[0]) or len(parts) not in (2, 3):
        return False
    if len(parts) == 2:
        return _is_duration(parts[1])
    return (_is_date(parts[1]) and _is_duration(parts[2])) or (_is_duration(parts[1]) and _is_date(parts[2]))


#: For each timer element, whether a value (unquoted) is what it must be (:data:`TIMER_TAGS`).
TIMER_CHECKS: dict[str, Callable[[str], bool]] = {
    "timeDuration": _is_duration,
    "timeDate": _is_date,
    "timeCycle": _is_cycle,
}


def timer_problem(tag: str, text: str) -> str | None:
    """What is wrong with the expression ``text`` of a ``bpmn:<tag>`` timer element (:data:`TIMER_TAGS`), or
    ``None`` when it is an ISO 8601 value of the right kind written as a quoted string."""
    kind, example = TIMER_TAGS[tag]
    quoted = _QUOTED.fullmatch(text)
    if quoted is None:
        if not text:
            return f"is empty: write {kind} in ISO 8601 as a quoted string, e.g. {example}"
        if TIMER_CHECKS[tag](text):
            return (
                f'must be a quoted string: write "{text}" (unquoted, the engine reads it as an expression over '
                "case data and fails when the timer is reached)"
            )
        return (
            f"is not {kind} in ISO 8601 written as a quoted string (e.g. {example}); names of case data and "
            "calculations are not accepted in timers"
        )
    if not TIMER_CHECKS[tag](quoted.group(2).strip()):
        return f"is not {kind} in ISO 8601 (e.g. {example})"
    return None


def timer_problems(root: etree._Element, file: str | None) -> Iterator[NotExecutableError]:
    """Each timer expression of the document that :func:`timer_problem` refuses, at its event (file, line of the
    expression, id of the event, else of the nearest element with one). :func:`load_process` raises the first;
    ``validate`` reports each as ``not-executable``."""
    for el in root.iter(*(bpmn(tag) for tag in TIMER_TAGS)):
        text = "".join(el.itertext()).strip()
        tag = etree.QName(el).localname
        problem = timer_problem(tag, text)
        if problem is None:
            continue
        definition = el.getparent()
        event = definition.getparent() if definition is not None else None
        element = event.get("id") if event is not None and event.get("id") else owner_id(el)
        shown = text if len(text) <= 60 else text[:59] + "…"
        yield NotExecutableError(
            f"the timer expression {shown!r} in bpmn:{tag} {problem}",
            file=file,
            line=el.sourceline,
            element=element,
        )
