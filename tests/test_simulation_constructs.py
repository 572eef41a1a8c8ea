"""The simulator and the engine on the BPMN constructs of issue 16, item 6 that the engine runs today.

Modelled: terminate end events (the case ends at once, the other branches cancelled; inside a sub-process only
that sub-process ends) and embedded sub-processes (their inner flow runs). Each has a test whose expected values
are reasoned from the model (fixed durations, staff enough that nobody queues) and a test that the simulator's
traces replay on the engine (:mod:`approvalflow.simulation.replay`).

Refused by name, with file, line and element (never run approximately): multi-instance activities that no person
signs (signed steps: tests/test_simulation_countersign.py), standard loop activities other than tasks (loop tasks:
tests/test_simulation_loops.py), timers the engine refuses too (timers: tests/test_simulation_timers.py), message,
signal and conditional catch events, event sub-processes, script tasks, complex gateways, error, escalation and link
events, boundary events other than timers on a task, parallel gateways inside a sub-process. Inclusive gateways are
modelled as blocks (tests/test_simulation_inclusive.py, which also has their refusals).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from approvalflow import load_organisation, load_process
from approvalflow.errors import BpmnError
from approvalflow.simulation import load_simulation_model, simulate
from approvalflow.simulation.compile import compile_bpmn
from approvalflow.simulation.replay import replay_traces

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "sim_constructs"
ORG = ROOT / "processes" / "org" / "sample_county.yaml"
ALWAYS = {"days": "every-day", "hours": "24h"}


def _model(tmp: Path, bpmn: Path, steps: dict[str, Any], branches: dict[str, Any] | None = None) -> Path:
    """A model of ``bpmn`` with fixed durations (minutes), around the clock, staff enough that nobody waits."""
    data: dict[str, Any] = {
        "process": str(bpmn),
        "org": str(ORG),
        "unit": "market-bureau",
        "staff": {"clerk": 50, "reviewer": 50},
        "start": "2026-03-02",
        "calendar": ALWAYS,
        "arrivals": {"per_day": 2},
        "steps": steps,
    }
    if branches:
        data["branches"] = branches
    path = tmp / "model.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _run(model: Path, cases: int, seed: int = 7) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    result = simulate(load_simulation_model(model), cases=cases, seed=seed, keep_traces=cases)
    return result.to_dict(), list(result.traces)


def _replay(bpmn: Path, traces: list[dict[str, Any]]) -> None:
    """Every trace replays on the engine, along the same path."""
    traces = [{"path": t["path"], "gateways": t["gateways"]} for t in traces]
    report = replay_traces(load_process(bpmn), load_organisation(ORG), traces, unit="market-bureau")
    assert report.all_accepted, report.summary()
    for replayed, trace in zip(report.results, traces, strict=True):
        assert list(replayed.path) == trace["path"]


# -- terminate end events ---------------------------------------------------------------------------------------
TERMINATE = DATA / "terminate.bpmn"


def test_a_terminate_end_cancels_the_slower_branch(tmp_path: Path) -> None:
    """quick (10 min) ends at a terminate end event; slow takes 60 min, so it is still running at minute 10:
    every case ends at minute 10 with only quick done, and slow and after_slow are never completed."""
    figures, traces = _run(_model(tmp_path, TERMINATE, {"quick": 10, "slow": 60, "after_slow": 10}), 50)
    assert {tuple(t["path"]) for t in traces} == {("quick",)}
    assert figures["cycle_time_hours"]["mean"] == pytest.approx(10 / 60)
    assert figures["cycle_time_hours"]["p99"] == pytest.approx(10 / 60)
    assert figures["steps"]["quick"]["count"] == 50
    assert figures["steps"]["slow"]["count"] == 0
    assert figures["steps"]["after_slow"]["count"] == 0


def test_a_terminate_end_cancels_the_step_in_progress(tmp_path: Path) -> None:
    """slow (5 min) is done before quick (10 min); after_slow (30 min, from minute 5 to 35) is in progress when
    quick terminates the case at minute 10: it is cancelled, and the case took 10 minutes, not 35."""
    figures, traces = _run(_model(tmp_path, TERMINATE, {"quick": 10, "slow": 5, "after_slow": 30}), 50)
    assert {tuple(t["path"]) for t in traces} == {("slow", "quick")}
    assert figures["cycle_time_hours"]["p99"] == pytest.approx(10 / 60)
    assert figures["steps"]["slow"]["count"] == 50
    assert figures["steps"]["after_slow"]["count"] == 0


def test_without_the_terminate_definition_the_case_waits_for_both_branches(tmp_path: Path) -> None:
    """The control: the same process with a plain end event takes max(10, 5 + 30) = 35 minutes a case."""
    plain = tmp_path / "plain.bpmn"
    plain.write_text(
        TERMINATE.read_text(encoding="utf-8").replace('<bpmn:terminateEventDefinition id="term_def"/>', ""),
        encoding="utf-8",
    )
    figures, traces = _run(_model(tmp_path, plain, {"quick": 10, "slow": 5, "after_slow": 30}), 20)
    assert {tuple(t["path"]) for t in traces} == {("slow", "quick", "after_slow")}
    assert figures["cycle_time_hours"]["mean"] == pytest.approx(35 / 60)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    quick=st.integers(min_value=1, max_value=120),
    slow=st.integers(min_value=1, max_value=120),
    after=st.integers(min_value=1, max_value=120),
)
def test_a_terminate_end_keeps_exactly_the_steps_done_before_it(
    tmp_path: Path, quick: int, slow: int, after: int
) -> None:
    """For any fixed durations: the case ends when quick does; the steps on the other branch that are done by
    then stay in the path (in the order they were done), the rest are cancelled."""
    assume(slow != quick and slow + after != quick)  # a tie has no order to reason from
    figures, traces = _run(_model(tmp_path, TERMINATE, {"quick": quick, "slow": slow, "after_slow": after}), 5)
    done = sorted([(quick, "quick"), (slow, "slow"), (slow + after, "after_slow")])
    expected = tuple(step for at, step in done if at <= quick)
    assert {tuple(t["path"]) for t in traces} == {expected}
    assert figures["cycle_time_hours"]["p99"] == pytest.approx(quick / 60)


@pytest.mark.parametrize(("slow", "after"), [(60, 10), (5, 30), (3, 4)], ids=["slow-cancelled", "after-cancelled",
                                                                            "both-done"])  # fmt: skip
def test_terminated_cases_replay_on_the_engine(tmp_path: Path, slow: int, after: int) -> None:
    _figures, traces = _run(_model(tmp_path, TERMINATE, {"quick": 10, "slow": slow, "after_slow": after}), 6)
    _replay(TERMINATE, traces)


def test_terminated_cases_under_queues_and_office_hours_replay_on_the_engine(tmp_path: Path) -> None:
    """Random durations, one person a post, office hours: queues form, steps of one case wait behind another's,
    and every case still ends at its terminate end event, on a path the engine accepts."""
    model = _model(tmp_path, TERMINATE, {
        "quick": {"dist": "exponential", "mean": 3, "unit": "hours"},
        "slow": {"dist": "exponential", "mean": 2, "unit": "hours"},
        "after_slow": {"dist": "exponential", "mean": 1, "unit": "hours"},
    })  # fmt: skip
    data = yaml.safe_load(model.read_text(encoding="utf-8"))
    data.update(staff={"clerk": 1, "reviewer": 1}, calendar={"days": "china", "hours": ["09:00-12:00", "13:30-17:30"]})
    data["arrivals"] = {"per_day": 3}
    model.write_text(yaml.safe_dump(data), encoding="utf-8")
    figures, traces = _run(model, 60)
    assert figures["cases"] == 60 and len(traces) == 60
    assert all(t["path"][-1] == "quick" for t in traces)  # the case ends when quick does, never later
    assert len({tuple(t["path"]) for t in traces}) > 1
    _replay(TERMINATE, traces)


def test_the_engine_refuses_a_trace_that_goes_on_after_the_terminate() -> None:
    """The replay has teeth: on the engine, nothing runs after the terminate end event."""
    report = replay_traces(
        load_process(TERMINATE), load_organisation(ORG), [{"path": ["quick", "slow"]}], unit="market-bureau"
    )
    assert not report.all_accepted


# -- embedded sub-processes -------------------------------------------------------------------------------------
SUBPROCESS = DATA / "subprocess.bpmn"
SUB_STEPS = {"receive": 10, "check": 20, "extra": 30, "decide": 40}


def test_an_embedded_sub_process_runs_its_inner_flow(tmp_path: Path) -> None:
    """receive, then the sub-process (check, and extra when gw_check takes s_more: 40%), then decide: each case
    takes 10 + 20 + 40 = 70 minutes, or 100 with extra. The terminate end event inside the sub-process ends only
    the sub-process: decide follows in every case."""
    model = _model(tmp_path, SUBPROCESS, SUB_STEPS, {"gw_check": {"s_ok": 0.6, "s_more": 0.4}})
    figures, traces = _run(model, 400)
    paths = [tuple(t["path"]) for t in traces]
    assert set(paths) == {("receive", "check", "decide"), ("receive", "check", "extra", "decide")}
    share = sum(1 for p in paths if "extra" in p) / len(paths)
    assert share == pytest.approx(0.4, abs=0.08)  # 400 cases: a standard error of 0.025
    assert figures["cycle_time_hours"]["mean"] * 60 == pytest.approx(70 + 30 * share)
    for t in traces:
        assert t["times"][-1] * 60 == pytest.approx(100 if "extra" in t["path"] else 70)


def test_sub_process_cases_replay_on_the_engine(tmp_path: Path) -> None:
    model = _model(tmp_path, SUBPROCESS, SUB_STEPS, {"gw_check": {"s_ok": 0.5, "s_more": 0.5}})
    _figures, traces = _run(model, 12)
    assert len({tuple(t["path"]) for t in traces}) == 2  # both ways through the sub-process
    _replay(SUBPROCESS, traces)


# -- refused by name ----------------------------------------------------------------------------------------------
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1" '
    'id="d" targetNamespace="urn:test">\n'
    '<bpmn:process id="p" isExecutable="true">\n'
)
TAIL = "</bpmn:process>\n</bpmn:definitions>\n"
USER = '<bpmn:userTask id="{id}"><bpmn:extensionElements><af:step posts="clerk"/></bpmn:extensionElements>{body}'


def _line(*body: str) -> str:
    return HEAD + "\n".join(body) + "\n" + TAIL


def _chain(middle: str, middle_id: str) -> str:
    """start -> a -> middle -> b -> end, one element a line."""
    return _line(
        '<bpmn:startEvent id="start"/>',
        USER.format(id="a", body="</bpmn:userTask>"),
        middle,
        USER.format(id="b", body="</bpmn:userTask>"),
        '<bpmn:endEvent id="end"/>',
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>',
        f'<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="{middle_id}"/>',
        f'<bpmn:sequenceFlow id="f3" sourceRef="{middle_id}" targetRef="b"/>',
        '<bpmn:sequenceFlow id="f4" sourceRef="b" targetRef="end"/>',
    )


REFUSED: dict[str, tuple[str, str, str]] = {
    # name: (document, element refused, words the message must have)
    "multi-instance service task (no person signs it)": (
        _chain('<bpmn:serviceTask id="sign"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3'
               "</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>", "sign"),
        "sign", "multi-instance",
    ),
    "sequential multi-instance service task": (
        _chain('<bpmn:serviceTask id="sign"><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
               "<bpmn:loopCardinality>3</bpmn:loopCardinality>"
               "</bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>", "sign"),
        "sign", "one instance",
    ),
    "standard loop sub-process": (
        _chain('<bpmn:subProcess id="again"><bpmn:standardLoopCharacteristics testBefore="false">'
               "<bpmn:loopCondition>n &lt; 3</bpmn:loopCondition></bpmn:standardLoopCharacteristics>"
               '<bpmn:startEvent id="s0"/></bpmn:subProcess>', "again"),
        "again", "loop activity (standardLoopCharacteristics) that is not a task",
    ),
    "repeating timer (timeCycle; timers are tested in tests/test_simulation_timers.py)": (
        _chain('<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeCycle>"R3/PT1H"'
               "</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>", "wait"),
        "wait", "timeCycle",
    ),
    "message catch event": (
        _chain('<bpmn:intermediateCatchEvent id="msg"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>',
               "msg"),
        "msg", "message",
    ),
    "signal catch event": (
        _chain('<bpmn:intermediateCatchEvent id="sig"><bpmn:signalEventDefinition/></bpmn:intermediateCatchEvent>',
               "sig"),
        "sig", "signal",
    ),
    "link throw event": (
        _chain('<bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="x"/>'
               "</bpmn:intermediateThrowEvent>", "jump"),
        "jump", "link",
    ),
    "script task": (
        _chain('<bpmn:scriptTask id="calc"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>', "calc"),
        "calc", "script",
    ),
    "receive task": (
        _chain('<bpmn:receiveTask id="wait_reply"/>', "wait_reply"),
        "wait_reply", "waits for a message",
    ),
    "complex gateway": (
        _chain('<bpmn:complexGateway id="cx"/>', "cx"),
        "cx", "complexGateway",
    ),
    "multi-instance sub-process": (
        _chain('<bpmn:subProcess id="sub"><bpmn:multiInstanceLoopCharacteristics/>'
               '<bpmn:startEvent id="s0"/></bpmn:subProcess>', "sub"),
        "sub", "multi-instance",
    ),
    "event sub-process": (
        _line(
            '<bpmn:startEvent id="start"/>',
            USER.format(id="a", body="</bpmn:userTask>"),
            '<bpmn:endEvent id="end"/>',
            '<bpmn:subProcess id="on_timer" triggeredByEvent="true">',
            '<bpmn:startEvent id="t0"><bpmn:timerEventDefinition/></bpmn:startEvent>',
            "</bpmn:subProcess>",
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>',
            '<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="end"/>',
        ),
        "on_timer", "event sub-process",
    ),
    "timer start event": (
        _line(
            '<bpmn:startEvent id="start"><bpmn:timerEventDefinition/></bpmn:startEvent>',
            USER.format(id="a", body="</bpmn:userTask>"),
            '<bpmn:endEvent id="end"/>',
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>',
            '<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="end"/>',
        ),
        "start", "timer",
    ),
    "error end event": (
        _line(
            '<bpmn:startEvent id="start"/>',
            USER.format(id="a", body="</bpmn:userTask>"),
            '<bpmn:endEvent id="fail"><bpmn:errorEventDefinition/></bpmn:endEvent>',
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>',
            '<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="fail"/>',
        ),
        "fail", "error",
    ),
    "boundary timer": (
        _line(
            '<bpmn:startEvent id="start"/>',
            USER.format(id="a", body="</bpmn:userTask>"),
            '<bpmn:boundaryEvent id="late" attachedToRef="a"><bpmn:timerEventDefinition/></bpmn:boundaryEvent>',
            '<bpmn:endEvent id="end"/>',
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a"/>',
            '<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="end"/>',
            '<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="end"/>',
        ),
        "late", "boundaryEvent",
    ),
    "parallel gateway inside a sub-process": (
        _chain(
            '<bpmn:subProcess id="sub"><bpmn:startEvent id="s0"/><bpmn:parallelGateway id="fork"/>'
            '<bpmn:endEvent id="s1"/><bpmn:endEvent id="s2"/>'
            '<bpmn:sequenceFlow id="g1" sourceRef="s0" targetRef="fork"/>'
            '<bpmn:sequenceFlow id="g2" sourceRef="fork" targetRef="s1"/>'
            '<bpmn:sequenceFlow id="g3" sourceRef="fork" targetRef="s2"/></bpmn:subProcess>',
            "sub",
        ),
        "fork", "sub-process 'sub'",
    ),
    "sub-process without a start event": (
        _chain('<bpmn:subProcess id="sub"><bpmn:endEvent id="s1"/></bpmn:subProcess>', "sub"),
        "sub", "0 start events",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_construct_the_simulator_does_not_model_is_refused_by_name(tmp_path: Path, name: str) -> None:
    document, element, words = REFUSED[name]
    path = tmp_path / "refused.bpmn"
    path.write_text(document, encoding="utf-8")
    line = next(i for i, text in enumerate(document.splitlines(), 1) if f'id="{element}"' in text)
    with pytest.raises(BpmnError) as caught:
        compile_bpmn(path)
    error = caught.value
    assert error.element == element
    assert error.line == line
    assert error.file == str(path)
    assert words in str(error)


def test_message_and_signal_throws_and_plain_events_pass(tmp_path: Path) -> None:
    """Thrown messages and signals (nothing in the process catches them) and events without a definition pass."""
    document = _chain(
        '<bpmn:intermediateThrowEvent id="tell"><bpmn:messageEventDefinition/></bpmn:intermediateThrowEvent>', "tell"
    ).replace('<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end"><bpmn:signalEventDefinition/></bpmn:endEvent>')
    path = tmp_path / "throws.bpmn"
    path.write_text(document, encoding="utf-8")
    graph = compile_bpmn(path)
    assert [n.id for n in graph.tasks()] == ["a", "b"]
    assert graph.nodes[graph.index["tell"]].kind == "pass"
    assert graph.nodes[graph.index["end"]].kind == "end"
