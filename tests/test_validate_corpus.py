"""``validate`` tells the truth about what SpiffWorkflow's corpus showed (issue 16, item 7).

Each test is a small model of the pattern a corpus file showed (``gateway_loop_input.bpmn``, a reminder on a step
of a rework loop, ``Parallel-Multiple-Splits.bpmn20.xml``, ``Test-Workflows.bpmn20.xml``), written here so that the
tests run without the corpus; each failed before its fix. Expected lines are counted in the texts written here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from approvalflow import FakeClock, load_process, load_process_string, organisation_from_dict, start_case
from approvalflow.errors import DefinitionError, NotExecutableError
from approvalflow.rules import Finding
from approvalflow.validation import validate_file, validate_string

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">\n'
)
TAIL = "</bpmn:definitions>\n"

Node = tuple[str, str, str]  # (kind, id, attributes and children)
Flow = tuple[str, str, str]  # (source, target, condition or "")


def process(pid: str, nodes: list[Node], flows: list[Flow], *, default: dict[str, int] | None = None) -> str:
    """A process, one element a line; flows are named ``<pid>_f<i>``; ``default``: gateway -> index of its flow."""
    lines = [f'<bpmn:process id="{pid}" isExecutable="true">']
    for kind, ident, extra in nodes:
        attrs = f' default="{pid}_f{default[ident]}"' if default and ident in default else ""
        head, _, body = extra.partition(">") if extra.startswith(" ") else ("", "", extra)
        lines.append(f'<bpmn:{kind} id="{ident}"{attrs}{head}>{body}</bpmn:{kind}>')
    for i, (source, target, condition) in enumerate(flows):
        cond = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
        lines.append(f'<bpmn:sequenceFlow id="{pid}_f{i}" sourceRef="{source}" targetRef="{target}">{cond}'
                     "</bpmn:sequenceFlow>")  # fmt: skip
    lines.append("</bpmn:process>")
    return "\n".join(lines) + "\n"


def errors(text: str, filename: str = "m.bpmn") -> list[Finding]:
    return [f for f in validate_string(text, filename=filename) if f.severity == "error"]


# -- a parallel join that a loop comes back into (gateway_loop_input.bpmn) -----------------------------------------
LOOP_JOIN = (
    HEAD
    + process(
        "main",
        [
            ("startEvent", "s", ""),
            ("userTask", "set", ""),
            ("parallelGateway", "join", ""),
            ("userTask", "increment", ""),
            ("exclusiveGateway", "again", ""),
            ("userTask", "task", ""),
            ("endEvent", "e", ""),
        ],
        [
            ("s", "set", ""),
            ("set", "join", ""),
            ("join", "increment", ""),
            ("increment", "again", ""),
            ("again", "e", ""),
            ("again", "task", "x &lt; 2"),
            ("task", "join", ""),
        ],
        default={"again": 4},
    )
    + TAIL
)


def test_a_parallel_join_a_loop_comes_back_into_is_no_deadlock() -> None:
    assert [f.rule for f in errors(LOOP_JOIN)] == []


def test_the_engine_runs_that_loop_to_its_end() -> None:
    # the two passes: x = 1 goes round again, x = 2 ends; the engine joins each pass on its own
    steps: dict[str, dict[str, int]] = {"set": {"x": 0}, "task": {}}
    definition = load_process_string(LOOP_JOIN, filename="m.bpmn")
    org = organisation_from_dict(
        {"units": [{"id": "u", "principal": "head"}], "people": {"head": {"unit": "u"}, "p": {"unit": "u"}}}
    )
    case = start_case(definition, org, clock=FakeClock("2026-03-02T09:00:00+08:00"))
    done: list[str] = []
    for _ in range(10):
        ready = case.ready_steps()
        if not ready:
            break
        step = ready[0].id
        data = {"x": done.count("increment") + 1} if step == "increment" else steps[step]
        case.complete(step, "p", data=data)
        done.append(step)
    assert case.is_completed
    assert done == ["set", "increment", "task", "increment"]


def test_a_parallel_join_behind_an_exclusive_split_is_still_a_deadlock() -> None:
    text = (
        HEAD
        + process(
            "main",
            [
                ("startEvent", "s", ""),
                ("exclusiveGateway", "choose", ""),
                ("userTask", "a", ""),
                ("userTask", "b", ""),
                ("parallelGateway", "join", ""),
                ("endEvent", "e", ""),
            ],
            [
                ("s", "choose", ""),
                ("choose", "a", ""),
                ("choose", "b", "x &gt; 1"),
                ("a", "join", ""),
                ("b", "join", ""),
                ("join", "e", ""),
            ],
            default={"choose": 1},
        )
        + TAIL
    )
    assert [(f.rule, f.element) for f in errors(text)] == [("deadlock", "join")]


# -- a reminder on a step of a rework loop --------------------------------------------------------------------------
def rework(reminder_goes_to: str) -> str:
    """``review`` is redone until approved; a non-interrupting timer on it starts ``remind`` each time round."""
    return (
        HEAD
        + process(
            "main",
            [
                ("startEvent", "s", ""),
                ("userTask", "review", ""),
                ("exclusiveGateway", "approved", ""),
                (
                    "boundaryEvent",
                    "late",
                    ' attachedToRef="review" cancelActivity="false">'
                    '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT4H"</bpmn:timeDuration></bpmn:timerEventDefinition>',
                ),
                ("userTask", "remind", ""),
                ("endEvent", "e", ""),
                ("endEvent", "e2", ""),
            ],
            [
                ("s", "review", ""),
                ("review", "approved", ""),
                ("approved", "review", ""),
                ("approved", "e", "ok"),
                ("late", "remind", ""),
                ("remind", reminder_goes_to, ""),
            ],
            default={"approved": 2},
        )
        + TAIL
    )


def test_a_non_interrupting_reminder_on_a_step_of_a_rework_loop_is_no_missing_synchronisation() -> None:
    # The timer runs on the case clock now (tests/test_timers.py): no error at all, and no no-sync.
    assert [(f.rule, f.element) for f in errors(rework("e2"))] == []


def test_a_reminder_that_leads_back_into_the_loop_is_still_reported() -> None:
    # its token joins the loop's own: review would run twice at once
    assert "no-sync" in {f.rule for f in errors(rework("review"))}


# -- what load_process refuses, validate reports with the same cause -----------------------------------------------
def test_a_refusal_in_a_called_process_of_the_same_file_is_reported() -> None:
    # Parallel-Multiple-Splits.bpmn20.xml: the engine refuses an exclusive gateway of a called process
    called = process(
        "sub",
        [("startEvent", "s2", ""), ("exclusiveGateway", "g", ""), ("userTask", "y", ""), ("userTask", "n", ""),
         ("endEvent", "e2", ""), ("endEvent", "e3", "")],
        [("s2", "g", ""), ("g", "y", "ok"), ("g", "n", ""), ("y", "e2", ""), ("n", "e3", "")],
    )  # fmt: skip
    main = process(
        "main",
        [("startEvent", "s", ""), ("callActivity", "call", ' calledElement="sub">'), ("endEvent", "e", "")],
        [("s", "call", ""), ("call", "e", "")],
    )
    text = HEAD + main + called + TAIL
    with pytest.raises(NotExecutableError) as info:
        load_process_string(text, filename="m.bpmn")
    refused = info.value
    found = [f for f in errors(text) if f.rule == "not-executable"]
    assert [(f.line, f.element) for f in found] == [(refused.line, refused.element)]
    assert refused.message.removeprefix("the engine cannot run this model: ") in found[0].message
    assert refused.element == "sub_f2"  # the flow without a condition, not default


def test_a_refusal_in_a_called_file_is_reported_at_the_call_activity(tmp_path: Path) -> None:
    # Test-Workflows.bpmn20.xml calls a process of Scripts.bpmn20.xml, whose script tasks the loader refuses
    called = process(
        "sub", [("startEvent", "s2", ""), ("scriptTask", "compute", "<bpmn:script>x = 1</bpmn:script>"),
                ("endEvent", "e2", "")], [("s2", "compute", ""), ("compute", "e2", "")],
    )  # fmt: skip
    main = process(
        "main",
        [("startEvent", "s", ""), ("callActivity", "call", ' calledElement="sub">'), ("endEvent", "e", "")],
        [("s", "call", ""), ("call", "e", "")],
    )
    (tmp_path / "Scripts.bpmn20.xml").write_text(HEAD + called + TAIL, encoding="utf-8")
    caller = tmp_path / "Main.bpmn20.xml"
    caller.write_text(HEAD + main + TAIL, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_process(caller)
    refused = info.value
    assert (Path(refused.file or "").name, refused.element) == ("Scripts.bpmn20.xml", "compute")
    found = [f for f in validate_file(caller) if f.rule == "not-executable"]
    call_line = next(i for i, line in enumerate((HEAD + main).splitlines(), 1) if 'id="call"' in line)
    assert [(f.line, f.element) for f in found] == [(call_line, "call")]
    assert f"Scripts.bpmn20.xml, line {refused.line}, element 'compute'" in found[0].message
