"""Gateway steering (``approvalflow.bpmn.steering``), the one search the replay and the Hypothesis walks share.

The oracle is the engine itself: data that :func:`steer` finds for a wanted flow must make a real case, run by
SpiffWorkflow, take that flow and no other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.bpmn.loader import load_process_string
from approvalflow.bpmn.model import FlowInfo
from approvalflow.bpmn.steering import (
    CANDIDATE_VALUES,
    assignments,
    candidate_values,
    condition_reads,
    flows_taken,
    gateway_reads,
    steer,
)
from approvalflow.engine.case import start_case
from approvalflow.org.organisation import organisation_from_dict
from approvalflow.time.clock import FakeClock

ORG = organisation_from_dict({"units": [{"id": "u"}], "people": {"a": {"unit": "u"}}})
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="urn:t">\n'
)


def flow(fid: str, condition: str | None = None, default: bool = False) -> FlowInfo:
    return FlowInfo(id=fid, source="g", target="t_" + fid, process="p", line=1, condition=condition, default=default)


def gateway_process(conditions: dict[str, str | None], default: str | None) -> str:
    """start -> t1 -> exclusive gateway g -> one user task per flow (t_<flow>) -> end."""
    xml_escape = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
    body = [
        '<bpmn:startEvent id="s"><bpmn:outgoing>f_s</bpmn:outgoing></bpmn:startEvent>',
        '<bpmn:userTask id="t1"><bpmn:incoming>f_s</bpmn:incoming><bpmn:outgoing>f_g</bpmn:outgoing></bpmn:userTask>',
        f'<bpmn:exclusiveGateway id="g"{f" default={chr(34)}{default}{chr(34)}" if default else ""}>'
        "<bpmn:incoming>f_g</bpmn:incoming>"
        + "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in conditions)
        + "</bpmn:exclusiveGateway>",
        '<bpmn:endEvent id="e">'
        + "".join(f"<bpmn:incoming>x_{f}</bpmn:incoming>" for f in conditions)
        + "</bpmn:endEvent>",
        '<bpmn:sequenceFlow id="f_s" sourceRef="s" targetRef="t1"/>',
        '<bpmn:sequenceFlow id="f_g" sourceRef="t1" targetRef="g"/>',
    ]
    for f, cond in conditions.items():
        body.append(
            f'<bpmn:userTask id="t_{f}"><bpmn:incoming>{f}</bpmn:incoming><bpmn:outgoing>x_{f}</bpmn:outgoing>'
            "</bpmn:userTask>"
        )
        text = "".join(xml_escape.get(c, c) for c in cond or "")
        inner = f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{text}</bpmn:conditionExpression>'
        body.append(
            f'<bpmn:sequenceFlow id="{f}" sourceRef="g" targetRef="t_{f}">{inner if cond else ""}</bpmn:sequenceFlow>'
        )
        body.append(f'<bpmn:sequenceFlow id="x_{f}" sourceRef="t_{f}" targetRef="e"/>')
    return (
        HEAD
        + '<bpmn:process id="p" isExecutable="true">\n'
        + "\n".join(body)
        + "\n</bpmn:process>\n</bpmn:definitions>\n"
    )


@st.composite
def gateways(draw: st.DrawFn) -> tuple[dict[str, str | None], str, str, dict[str, Any]]:
    """Three mutually exclusive flows (a threshold on a number, then a word) and the default; a wanted flow."""
    limit = draw(st.integers(-1000, 1000))
    word = draw(st.sampled_from(["urgent", "general", "补正", ""]))
    number = draw(st.sampled_from(["amount", 'get("amount", 0)']))
    conditions: dict[str, str | None] = {
        "f_big": f"{number} > {limit}",
        "f_word": f'{number} <= {limit} and kind == "{word}"',
        "f_other": None,
    }
    base = draw(st.fixed_dictionaries({}, optional={"amount": st.integers(-2000, 2000), "kind": st.just("x")}))
    return conditions, "f_other", draw(st.sampled_from(sorted(conditions))), base


@settings(max_examples=40, deadline=None)
@given(gateways())
def test_steered_data_makes_the_engine_take_the_wanted_flow(case: tuple[dict[str, str | None], str, str, Any]) -> None:
    conditions, default, wanted, base = case
    definition = load_process_string(gateway_process(conditions, default), filename="g.bpmn")
    flows = [f for f in definition.flows.values() if f.source == "g"]
    data = steer(flows, wanted, base)
    assert data is not None  # each flow is reachable by construction: a number above, at, below the limit
    run = start_case(definition, ORG, clock=FakeClock(datetime.fromisoformat("2026-03-02T09:00:00+08:00")), data=base)
    run.complete("t1", "a", data=data)
    assert sorted(s.id for s in run.ready_steps()) == ["t_" + wanted]


def test_a_name_fixed_by_an_earlier_gateway_is_not_changed() -> None:
    flows = [flow("yes", "x == 1"), flow("no", "x != 1")]
    assert steer(flows, "yes", {"x": 0}) == {"x": 1}
    assert steer(flows, "yes", {"x": 0}, fixed=["x"]) is None
    assert steer(flows, "no", {"x": 0}, fixed=["x"]) == {}


def test_an_owned_name_is_only_true_or_false() -> None:
    got = list(assignments(["m", "n"], [1, "a"], owned="m"))
    assert {repr(a["m"]) for a in got if "m" in a} == {"True", "False"}
    assert {repr(a["n"]) for a in got if "n" in a} == {"1", "'a'"}


def test_assignments_smallest_changes_first_without_repeats() -> None:
    got = list(assignments(["a", "b"], [0, 1]))
    assert got[0] == {}
    assert got[1:5] == [{"a": 0}, {"a": 1}, {"b": 0}, {"b": 1}]
    assert got[5:] == [{"a": 0, "b": 0}, {"a": 0, "b": 1}, {"a": 1, "b": 0}, {"a": 1, "b": 1}]
    one = list(assignments(["a"], [0, 1]))
    assert one == [{}, {"a": 0}, {"a": 1}]  # the combinations of one name are the one-name changes: not repeated
    assert list(assignments(["a", "b"], [0, 1], partial=False)) == got[5:]
    assert len(list(assignments(["a", "b", "c"], list(range(10)), partial=False, limit=7))) == 7
    assert list(assignments([], [0, 1], partial=False)) == [{}]


def test_values_keep_one_and_true_apart() -> None:
    values = candidate_values([1, True, 2.5, "x", "x"])
    assert values[: len(CANDIDATE_VALUES)] == list(CANDIDATE_VALUES)
    assert values[len(CANDIDATE_VALUES) :] == [2.5, "x"]
    assert [repr(v) for v in values].count("1") == 1 and [repr(v) for v in values].count("True") == 1


@pytest.mark.parametrize(
    ("condition", "names", "constants"),
    [
        # the name given to get() is a constant too: harmless, one more candidate value
        ('get("amount", 0) > 10 and kind == "a"', ["amount", "kind"], [0, -1, 1, 10, 9, 11, "a", "amount"]),
        ("not flag", ["flag"], []),
        ("x in [1.5]", ["x"], [1.5, 0.5, 2.5]),
        ("x > -3", ["x"], [-3, -4, -2, 3, 2, 4]),  # a negative literal is minus a constant
        ("True", [], []),
    ],
)
def test_what_a_condition_reads(condition: str, names: list[str], constants: list[object]) -> None:
    got_names, got_constants = condition_reads(condition)
    assert got_names == names
    assert sorted(map(repr, got_constants)) == sorted(map(repr, constants))


def test_the_default_flow_is_taken_only_when_no_condition_holds() -> None:
    flows = [flow("a", "x > 1"), flow("b", "x > 5"), flow("d", "x > 100", default=True)]
    assert flows_taken(flows, {"x": 0}) == ("d",)  # a default flow's condition is never read
    assert flows_taken(flows, {"x": 3}) == ("a",)
    assert flows_taken(flows, {"x": 9}) == ("a", "b")
    assert flows_taken(flows, {}) is None  # x unknown: the engine could not decide either
    assert flows_taken([flow("only")], {}) == ("only",)  # a gateway's only flow needs no condition
    assert gateway_reads(flows) == (["x"], [1, 0, 2, 5, 4, 6])
