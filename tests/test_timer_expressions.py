"""Timer expressions are checked when a file is loaded (issue 16, item 2): an ISO 8601 value as a quoted string.

An unquoted ``P5D`` used to load and pass ``validate``, then fail at another step as "unknown name 'P5D' in
condition" when the timer was reached. Now ``load_process`` refuses it at the timer's event (file, line of the
expression, event id) and ``validate`` reports the same cause as ``not-executable``. Expected lines are counted
in the texts written here. A timer whose expression is right loads and runs on the case clock
(``tests/test_timers.py``), except a repeating one (``timeCycle``), which is still refused at load by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.bpmn.loader import TIMER_TAGS, load_process_string, timer_problem
from approvalflow.errors import DefinitionError, NotExecutableError, UnsafeContentError
from approvalflow.validation import validate_string

Tag = Literal["timeDuration", "timeDate", "timeCycle"]
Shape = Callable[[str, str], tuple[str, int, str]]
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">\n'
    '<bpmn:process id="p" isExecutable="true">\n'
)


def boundary(tag: str, expression: str) -> tuple[str, int, str]:
    """A user task with a boundary timer whose expression is on a line of its own; (text, that line, event id)."""
    text = (
        HEAD
        + '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n'
        + '<bpmn:userTask id="review"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
        + "</bpmn:userTask>\n"
        + '<bpmn:boundaryEvent id="late" attachedToRef="review"><bpmn:outgoing>f3</bpmn:outgoing>\n'
        + "<bpmn:timerEventDefinition>\n"
        + f"<bpmn:{tag}>{expression}</bpmn:{tag}>\n"
        + "</bpmn:timerEventDefinition></bpmn:boundaryEvent>\n"
        + '<bpmn:userTask id="escalate"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>'
        + "</bpmn:userTask>\n"
        + '<bpmn:endEvent id="e1"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>\n'
        + '<bpmn:endEvent id="e2"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>\n'
        + '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>\n'
        + '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e1"/>\n'
        + '<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="escalate"/>\n'
        + '<bpmn:sequenceFlow id="f4" sourceRef="escalate" targetRef="e2"/>\n'
        + "</bpmn:process>\n</bpmn:definitions>\n"
    )
    line = text.splitlines().index(f"<bpmn:{tag}>{expression}</bpmn:{tag}>") + 1
    return text, line, "late"


def intermediate(tag: str, expression: str) -> tuple[str, int, str]:
    """An intermediate timer between two user tasks, expression on its own line; (text, that line, event id)."""
    lines = [
        '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>',
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>',
        '<bpmn:timerEventDefinition id="wait_definition">',
        f"<bpmn:{tag}>{expression}</bpmn:{tag}>",
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>',
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>',
        '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>',
        "</bpmn:process>",
        "</bpmn:definitions>",
    ]
    text = HEAD + "\n".join(lines) + "\n"
    return text, HEAD.count("\n") + 4, "wait"


SHAPES: list[Shape] = [boundary, intermediate]

VALID: list[tuple[Tag, str]] = [
    ("timeDuration", '"P5D"'),
    ("timeDuration", "'PT4H'"),
    ("timeDuration", '"PT0.5S"'),
    ("timeDuration", '"P1Y2M3DT4H5M6S"'),
    ("timeDuration", '"P2W"'),
    ("timeDate", '"2026-10-09T09:00:00+08:00"'),
    ("timeDate", '"2026-10-09"'),
    ("timeCycle", '"R3/PT1H"'),
    ("timeCycle", '"R/P1D"'),
    ("timeCycle", '"R2/2026-10-09T09:00:00+08:00/P1D"'),
    ("timeCycle", '"R2/P1D/2026-10-09T09:00:00+08:00"'),
]

#: (tag, expression, words the message must contain)
INVALID: list[tuple[Tag, str, str]] = [
    ("timeDuration", "P5D", 'write "P5D"'),
    ("timeDuration", "PT4H", 'write "PT4H"'),
    ("timeCycle", "R6/P1D", 'write "R6/P1D"'),
    ("timeDate", "2026-10-09T09:00:00", 'write "2026-10-09T09:00:00"'),
    ("timeDate", "due_date", "names of case data"),
    ("timeDuration", "days * 2", "names of case data"),
    ("timeDuration", '"P5X"', "not a duration in ISO 8601"),
    ("timeDuration", '"P"', "not a duration in ISO 8601"),
    ("timeDuration", '"PT"', "not a duration in ISO 8601"),
    ("timeDuration", '"5 days"', "not a duration in ISO 8601"),
    ("timeDuration", '"P1.5DT2H"', "not a duration in ISO 8601"),
    ("timeDuration", '"P2W1D"', "not a duration in ISO 8601"),
    ("timeDuration", '"2026-10-09"', "not a duration in ISO 8601"),
    ("timeDate", '"2026-13-09"', "not a date and time in ISO 8601"),
    ("timeDate", '"P5D"', "not a date and time in ISO 8601"),
    ("timeCycle", '"P1D"', "not a repeating interval in ISO 8601"),
    ("timeCycle", '"R3/P1D/P2D"', "not a repeating interval in ISO 8601"),
    ("timeCycle", '"Rx/P1D"', "not a repeating interval in ISO 8601"),
    ("timeDuration", "", "is empty"),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("tag", "expression"), VALID)
def test_an_iso_value_as_a_quoted_string_passes_and_only_a_repeating_timer_is_refused(
    shape: Shape, tag: Tag, expression: str
) -> None:
    # The expression is right, so nothing is said about it. Dates and durations load and run on the case clock;
    # a repeating timer (timeCycle) is refused, at its event, by name.
    text, _, event = shape(tag, expression)
    event_line = next(i for i, line in enumerate(text.splitlines(), 1) if f'id="{event}"' in line)
    assert timer_problem(tag, expression) is None
    found = [f for f in validate_string(text, filename="ok.bpmn") if f.rule == "not-executable"]
    if tag != "timeCycle":
        assert load_process_string(text, filename="ok.bpmn").timers[event].kind in ("date", "duration")
        assert found == []
        return
    with pytest.raises(NotExecutableError) as caught:
        load_process_string(text, filename="ok.bpmn")
    error = caught.value
    assert (error.file, error.line, error.element) == ("ok.bpmn", event_line, event)
    assert "repeating timers (bpmn:timeCycle) are not run" in error.message
    assert [(f.element, f.message) for f in found] == [(event, error.message)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("tag", "expression", "words"), INVALID)
def test_any_other_timer_expression_is_refused_at_its_event(
    shape: Shape, tag: Tag, expression: str, words: str
) -> None:
    text, line, event = shape(tag, expression)
    with pytest.raises(NotExecutableError) as info:
        load_process_string(text, filename="timers.bpmn")
    error = info.value
    assert isinstance(error, DefinitionError)
    assert (error.file, error.line, error.element) == ("timers.bpmn", line, event)
    assert words in error.message and f"bpmn:{tag}" in error.message
    found = [f for f in validate_string(text, filename="timers.bpmn") if f.rule == "not-executable"]
    assert [(f.file, f.line, f.element, f.message) for f in found] == [("timers.bpmn", line, event, error.message)]
    assert all(f.severity == "error" for f in found)


def test_the_unquoted_duration_of_the_issue_is_caught_before_any_case_starts() -> None:
    text, line, _ = boundary("timeDuration", "P5D")
    with pytest.raises(NotExecutableError) as info:
        load_process_string(text, filename="county.bpmn")
    assert str(info.value).startswith(f"county.bpmn:{line}, element 'late': ")
    assert "P5D" in str(info.value) and "unknown name" not in str(info.value)


def test_an_expression_outside_the_safe_language_is_still_refused_as_unsafe_first() -> None:
    text, line, _ = boundary("timeDuration", "__import__('os')")
    with pytest.raises(UnsafeContentError) as info:
        load_process_string(text, filename="evil.bpmn")
    assert info.value.line == line


def test_every_refused_timer_of_a_file_is_a_finding() -> None:
    text, _, _ = boundary("timeDuration", "P5D")
    two = text.replace(
        '<bpmn:endEvent id="e2">',
        '<bpmn:boundaryEvent id="later" attachedToRef="escalate" cancelActivity="false">'
        "<bpmn:timerEventDefinition><bpmn:timeCycle>R2/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>"
        '</bpmn:boundaryEvent>\n<bpmn:endEvent id="e2">',
    )
    found = [f for f in validate_string(two, filename="two.bpmn") if f.rule == "not-executable"]
    assert [f.element for f in found] == ["late", "later"]


_DIGITS = st.integers(min_value=0, max_value=999).map(str)
_PARTS = st.fixed_dictionaries(
    {},
    optional={k: _DIGITS for k in ("Y", "M", "D", "h", "m", "s")},
).filter(bool)


def _duration(parts: dict[str, str]) -> str:
    date = "".join(parts[k] + k for k in ("Y", "M", "D") if k in parts)
    time = "".join(parts[k] + k.upper() for k in ("h", "m", "s") if k in parts)
    return "P" + date + ("T" + time if time else "")


@settings(max_examples=200, deadline=None)
@given(_PARTS)
def test_every_iso_duration_loads_quoted_and_is_refused_unquoted(parts: dict[str, str]) -> None:
    value = _duration(parts)
    assert timer_problem("timeDuration", f'"{value}"') is None
    assert timer_problem("timeCycle", f'"R2/{value}"') is None
    problem = timer_problem("timeDuration", value)
    assert problem is not None and f'write "{value}"' in problem


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(TIMER_TAGS)), st.text(max_size=40))
def test_any_text_gives_a_reason_or_none_never_a_crash(tag: str, text: str) -> None:
    problem = timer_problem(tag, text)
    assert problem is None or (isinstance(problem, str) and problem)
    if problem is None:  # what is accepted is quoted
        assert text[:1] in {'"', "'"} and text[-1:] == text[:1]
