"""Inclusive gateways in the simulator (issue 16, item 6): block-structured splits and joins, refused otherwise.

The model of most tests is 征求意见 of optional departments (``tests/data/inclusive/consult.bpmn``): after 受理
(receive), the 住建局, the 环保局 and the 交通局 are each consulted when a condition on case data holds; 审查 (review)
waits for the opinions asked for. ``consult_sub.bpmn`` makes the 住建局's consultation an embedded sub-process with
a rework loop inside. ``nested.bpmn`` (a rework loop inside a branch, a nested inclusive block, a loop around the
block) is what SpiffWorkflow 3.2's inclusive join gets wrong, so the simulator refuses it. Expected values are
reasoned from fixed durations and from the probabilities (binomial standard deviations); the engine is the oracle
of the replay, which, for a process with inclusive gateways, also checks after every step that the engine has ready
exactly the steps the trace's tokens wait at.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import load_organisation, load_process
from approvalflow.bpmn.steering import flows_taken, steer_set
from approvalflow.engine.case import start_case
from approvalflow.errors import BpmnError, NotExecutableError
from approvalflow.simulation import SimulationError, SimulationModelError, load_simulation_model, simulate
from approvalflow.simulation.compile import compile_bpmn
from approvalflow.simulation.replay import replay_actors, replay_traces
from approvalflow.time.clock import FakeClock, parse_moment
from approvalflow.validation import validate_file

from .simulation_fixtures import bpmn

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "inclusive"
CONSULT = DATA / "consult.bpmn"
NESTED = DATA / "nested.bpmn"
CONSULT_SUB = DATA / "consult_sub.bpmn"
ORG = ROOT / "processes" / "org" / "sample_county.yaml"
ALWAYS = {"days": "every-day", "hours": "24h"}
CONSULT_STEPS = {"receive": 10, "ask_housing": 120, "ask_env": 300, "ask_traffic": 60, "review": 30}
VARYING = {
    "receive": 10, "ask_housing": {"dist": "uniform", "min": 10, "max": 200}, "review": 30,
    "ask_env": {"dist": "uniform", "min": 10, "max": 400}, "ask_traffic": {"dist": "exponential", "mean": 90},
}  # fmt: skip


def _model(tmp: Path, process: Path, steps: dict[str, Any], branches: dict[str, Any], name: str = "m.yaml") -> Path:
    """A model of ``process``: fixed durations (minutes), around the clock, staff enough that nobody waits."""
    data = {
        "process": str(process),
        "org": str(ORG),
        "unit": "market-bureau",
        "staff": {"clerk": 100, "reviewer": 100},
        "calendar": ALWAYS,
        "arrivals": {"per_day": 2},
        "steps": steps,
        "branches": branches,
    }
    path = tmp / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _consult(tmp: Path, housing: float, env: float, traffic: float) -> Path:
    return _model(
        tmp, CONSULT, CONSULT_STEPS, {"gw_consult": {"f_housing": housing, "f_env": env, "f_traffic": traffic}}
    )


def _replay(process: Path, traces: list[dict[str, Any]]) -> None:
    """Every trace replays on the engine, at its simulated moments, along the same path."""
    report = replay_traces(load_process(process), load_organisation(ORG), traces, unit="market-bureau")
    assert report.all_accepted, report.summary()
    for replayed, trace in zip(report.results, traces, strict=True):
        assert list(replayed.path) == trace["path"]


# -- compile ----------------------------------------------------------------------------------------------------
def test_a_block_compiles_to_a_split_matched_with_its_join() -> None:
    g = compile_bpmn(CONSULT)
    split, join = g.nodes[g.index["gw_consult"]], g.nodes[g.index["gw_opinions"]]
    assert (split.kind, join.kind) == ("or", "orjoin")
    assert split.join == g.index["gw_opinions"]
    assert split.default == "f_none"
    assert [n.id for n in g.inclusive_splits()] == ["gw_consult"]


def test_a_branch_may_hold_a_sub_process_with_a_loop_inside() -> None:
    g = compile_bpmn(CONSULT_SUB)
    assert [(n.id, n.join) for n in g.inclusive_splits()] == [("gw_consult", g.index["gw_opinions"])]


def test_nested_as_drawn_is_refused_for_its_loop_around_the_blocks() -> None:
    with pytest.raises(BpmnError) as caught:
        compile_bpmn(NESTED)
    assert caught.value.element == "gw_b"  # gw_a's loop (decide, back to gw_round) runs gw_b's block again too
    assert "a loop leads from its join 'gw_b_join' back to it" in str(caught.value)
    assert "SpiffWorkflow 3.2" in str(caught.value)


@pytest.mark.allow_code_execution  # bare SpiffWorkflow evaluates conditions with Python's eval
def test_spiffworkflow_fires_a_join_early_when_a_branch_splits_so_the_loader_refuses_it() -> None:
    """Why branches must be plain sequences: consulted the 住建局 (a step, then an exclusive gateway) and, directly, no
    one else, bare SpiffWorkflow 3.2's join fires at once and 审查 is ready while the 住建局 is still open. The loader,
    validate and the simulator therefore refuse the block by name. If the first assertion fails, SpiffWorkflow was
    fixed, and bpmn.inclusive may accept such branches."""
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    path = NESTED.parent / "early_join.bpmn"
    parser = BpmnParser()
    # bare SpiffWorkflow has no get(): the same conditions on names every case sets
    text = re.sub(r'get\("(\w+)", False\)', r"\1", path.read_text(encoding="utf-8"))
    parser.add_bpmn_str(text.encode("utf-8"), filename=str(path))
    workflow = BpmnWorkflow(parser.get_spec("early_join"))
    workflow.do_engine_steps()
    receive = workflow.get_tasks(state=TaskState.READY)[0]
    receive.data.update({"ask": True, "direct": True, "note": False})
    receive.run()
    workflow.do_engine_steps()
    ready = {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)}
    assert ready == {"ask_housing", "review"}  # review should wait for ask_housing
    with pytest.raises(NotExecutableError, match="'gw_note' splits a branch of inclusive split 'gw_consult'") as info:
        load_process(path)
    assert info.value.element == "gw_note" and info.value.line == 12
    found = [f for f in validate_file(path) if f.rule == "not-executable"]
    assert [(f.element, f.line) for f in found] == [("gw_note", 12)]
    with pytest.raises(BpmnError, match="splits a branch of inclusive split 'gw_consult'"):
        compile_bpmn(path)


def _gateways(*extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [("start", "startEvent"), ("a", "userTask"), ("b", "userTask"), ("c", "userTask"), ("end", "endEvent"),
            *extra]  # fmt: skip


REFUSED: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str, str]], str, str]] = {
    "a gateway that joins and splits": (
        _gateways(("s", "inclusiveGateway"), ("m", "inclusiveGateway"), ("j", "inclusiveGateway")),
        [("f0", "start", "s"), ("f1", "s", "a"), ("f2", "s", "b"), ("f3", "a", "m"), ("f4", "b", "m"),
         ("f5", "m", "c"), ("f6", "m", "j"), ("f7", "c", "j"), ("f8", "j", "end")],
        "m", "both joins and splits",
    ),
    "a join no split leads to": (
        _gateways(("x", "exclusiveGateway"), ("j", "inclusiveGateway")),
        [("f0", "start", "x"), ("f1", "x", "a"), ("f2", "x", "b"), ("f3", "a", "j"), ("f4", "b", "j"),
         ("f5", "j", "end")],
        "j", "no inclusive split",
    ),
    "a branch that ends inside the block": (
        _gateways(("s", "inclusiveGateway"), ("j", "inclusiveGateway"), ("end2", "endEvent")),
        [("f0", "start", "s"), ("f1", "s", "a"), ("f2", "s", "b"), ("f9", "s", "c"), ("f3", "a", "j"),
         ("f4", "b", "j"), ("f5", "c", "end2"), ("f6", "j", "end")],
        "end2", "ends at 'end2'",
    ),
    "a branch that leaves the block past its join": (
        _gateways(("s", "inclusiveGateway"), ("j", "inclusiveGateway"), ("x", "exclusiveGateway")),
        [("f0", "start", "s"), ("f1", "s", "a"), ("f2", "s", "b"), ("f9", "s", "x"), ("f3", "a", "j"),
         ("f4", "b", "j"), ("f5", "j", "c"), ("f6", "x", "c"), ("f7", "c", "end")],
        "c", "leaves its block",
    ),
    "a flow into the block from outside": (
        _gateways(("x", "exclusiveGateway"), ("s", "inclusiveGateway"), ("j", "inclusiveGateway")),
        [("f0", "start", "x"), ("f1", "x", "s"), ("f2", "x", "b"), ("f3", "s", "a"), ("f4", "s", "b"),
         ("f5", "a", "j"), ("f6", "b", "j"), ("f7", "j", "c"), ("f8", "c", "end")],
        "b", "reached from 'x', outside that block",
    ),
    "a loop back to the split": (
        _gateways(("m", "exclusiveGateway"), ("s", "inclusiveGateway"), ("x", "exclusiveGateway"),
                  ("j", "inclusiveGateway")),
        [("f0", "start", "m"), ("f1", "m", "s"), ("f2", "s", "a"), ("f3", "s", "b"), ("f4", "a", "x"),
         ("f5", "x", "m"), ("f6", "x", "j"), ("f7", "b", "j"), ("f8", "j", "c"), ("f9", "c", "end")],
        "s", "loop around the split",
    ),
    "a parallel gateway inside the block": (
        _gateways(("s", "inclusiveGateway"), ("fork", "parallelGateway"), ("j", "inclusiveGateway")),
        [("f0", "start", "s"), ("f1", "s", "fork"), ("f2", "s", "c"), ("f3", "fork", "a"), ("f4", "fork", "b"),
         ("f5", "a", "j"), ("f6", "b", "j"), ("f7", "c", "j"), ("f8", "j", "end")],
        "fork", "parallel gateway 'fork' is inside the block",
    ),
    "branches that reach two joins": (
        _gateways(("s", "inclusiveGateway"), ("j1", "inclusiveGateway"), ("j2", "inclusiveGateway")),
        [("f0", "start", "s"), ("f1", "s", "a"), ("f2", "s", "b"), ("f3", "a", "j1"), ("f4", "a", "j2"),
         ("f5", "b", "j1"), ("f6", "b", "j2"), ("f7", "j1", "c"), ("f8", "j2", "c"), ("f9", "c", "end")],
        "s", "two inclusive joins",
    ),
    "a branch that splits": (
        _gateways(("s", "inclusiveGateway"), ("x", "exclusiveGateway"), ("j", "inclusiveGateway")),
        [("f0", "start", "s"), ("f1", "s", "a"), ("f2", "s", "x"), ("f3", "x", "b"), ("f4", "x", "c"),
         ("f5", "a", "j"), ("f6", "b", "j"), ("f7", "c", "j"), ("f8", "j", "end")],
        "x", "splits a branch of inclusive split 's'",
    ),
    "a rework loop inside a branch": (
        _gateways(("s", "inclusiveGateway"), ("m", "exclusiveGateway"), ("x", "exclusiveGateway"),
                  ("j", "inclusiveGateway")),
        [("f0", "start", "s"), ("f1", "s", "m"), ("f2", "m", "a"), ("f3", "a", "x"), ("f4", "x", "m"),
         ("f5", "x", "j"), ("f6", "s", "b"), ("f7", "b", "j"), ("f8", "j", "end")],
        "x", "splits a branch",
    ),
    "a nested inclusive block": (
        _gateways(("s", "inclusiveGateway"), ("s2", "inclusiveGateway"), ("j2", "inclusiveGateway"),
                  ("j", "inclusiveGateway")),
        [("f0", "start", "s"), ("f1", "s", "s2"), ("f2", "s2", "a"), ("f3", "s2", "b"), ("f4", "a", "j2"),
         ("f5", "b", "j2"), ("f6", "j2", "j"), ("f7", "s", "c"), ("f8", "c", "j"), ("f9", "j", "end")],
        "s2", "splits a branch of inclusive split 's'",
    ),
    "a loop around the block": (
        _gateways(("m", "exclusiveGateway"), ("s", "inclusiveGateway"), ("j", "inclusiveGateway"),
                  ("x", "exclusiveGateway")),
        [("f0", "start", "m"), ("f1", "m", "s"), ("f2", "s", "a"), ("f3", "s", "b"), ("f4", "a", "j"),
         ("f5", "b", "j"), ("f6", "j", "x"), ("f7", "x", "m"), ("f8", "x", "end")],
        "s", "a loop leads from its join 'j' back to it",
    ),
    "a gateway with no outgoing flow": (
        _gateways(("s", "inclusiveGateway")),
        [("f0", "start", "a"), ("f1", "a", "s")],
        "s", "no outgoing flow",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(REFUSED))
def test_an_unstructured_inclusive_gateway_is_refused_by_name(tmp_path: Path, name: str) -> None:
    nodes, flows, element, words = REFUSED[name]
    document = bpmn(nodes, flows, posts={"a": "clerk", "b": "clerk", "c": "clerk"})
    path = tmp_path / "refused.bpmn"
    path.write_text(document, encoding="utf-8")
    line = next(i for i, text in enumerate(document.splitlines(), 1) if f'id="{element}"' in text)
    with pytest.raises(BpmnError) as caught:
        compile_bpmn(path)
    error = caught.value
    assert (error.element, error.line, error.file) == (element, line, str(path))
    assert words in str(error)
    assert "not supported by the simulator" in str(error)


def test_an_inclusive_gateway_with_one_flow_in_and_out_passes(tmp_path: Path) -> None:
    path = tmp_path / "pass.bpmn"
    path.write_text(
        bpmn(
            [("start", "startEvent"), ("g", "inclusiveGateway"), ("a", "userTask"), ("end", "endEvent")],
            [("f0", "start", "g"), ("f1", "g", "a"), ("f2", "a", "end")],
        ),
        encoding="utf-8",
    )
    assert compile_bpmn(path).nodes[compile_bpmn(path).index["g"]].kind == "pass"


# -- the kernel: the join waits for exactly the branches the split activated --------------------------------------
@pytest.mark.parametrize(
    ("housing", "env", "traffic", "hours"),
    [
        # receive 10 min, then the consultations asked for run side by side, then review 30 min
        (1.0, 1.0, 0.0, 10 / 60 + 5 + 0.5),  # 住建局 2 h and 环保局 5 h: the join fires at 5 h
        (1.0, 0.0, 0.0, 10 / 60 + 2 + 0.5),  # only the 住建局: the join does not wait for the 5 h the 环保局 would take
        (1.0, 0.0, 1.0, 10 / 60 + 2 + 0.5),  # 2 h and 1 h
        (0.0, 0.0, 0.0, 10 / 60 + 0.5),  # nobody asked: the default flow goes straight to the join
        (1.0, 1.0, 1.0, 10 / 60 + 5 + 0.5),
    ],
)
def test_the_join_fires_when_the_last_activated_branch_ends(
    tmp_path: Path, housing: float, env: float, traffic: float, hours: float
) -> None:
    result = simulate(
        load_simulation_model(_consult(tmp_path, housing, env, traffic)), cases=20, seed=5, keep_traces=20
    )
    figures = result.to_dict()
    assert figures["cycle_time_hours"]["mean"] == pytest.approx(hours)
    assert figures["cycle_time_hours"]["p99"] == pytest.approx(hours)
    asked = [f for f, p in (("f_housing", housing), ("f_env", env), ("f_traffic", traffic)) if p == 1.0] or ["f_none"]
    assert all(t["gateways"] == {"gw_consult": [asked]} for t in result.traces)
    assert figures["steps"]["review"]["count"] == 20
    assert figures["steps"]["ask_env"]["count"] == (20 if env else 0)


def test_each_flow_is_taken_by_its_own_probability(tmp_path: Path) -> None:
    """4,000 cases: each department's share is its probability within 4 binomial standard deviations, two are
    asked together as often as independence says, and the default flow is taken when none is drawn."""
    n, p = 4000, {"f_housing": 0.6, "f_env": 0.3, "f_traffic": 0.5}
    result = simulate(load_simulation_model(_consult(tmp_path, *p.values())), cases=n, seed=20261001, keep_traces=n)
    visits = [set(t["gateways"]["gw_consult"][0]) for t in result.traces]
    assert len(visits) == n

    def close(count: int, q: float) -> bool:
        return abs(count / n - q) <= 4 * math.sqrt(q * (1 - q) / n)

    for flow, q in p.items():
        assert close(sum(flow in v for v in visits), q), flow
    assert close(sum({"f_housing", "f_env"} <= v for v in visits), 0.6 * 0.3)
    none = (1 - 0.6) * (1 - 0.3) * (1 - 0.5)
    assert close(sum(v == {"f_none"} for v in visits), none)
    assert all(v == {"f_none"} or "f_none" not in v for v in visits)  # the default flow only ever alone
    steps = result.to_dict()["steps"]
    assert steps["ask_housing"]["count"] == sum("f_housing" in v for v in visits)


def _no_default(tmp: Path) -> Path:
    """start, a, inclusive split s (no default flow) to b (flow fb) and c (flow fc), join j, end."""
    nodes = [("start", "startEvent"), ("a", "userTask"), ("s", "inclusiveGateway"), ("b", "userTask"),
             ("c", "userTask"), ("j", "inclusiveGateway"), ("end", "endEvent")]  # fmt: skip
    flows = [("f0", "start", "a"), ("f1", "a", "s"), ("fb", "s", "b"), ("fc", "s", "c"), ("f2", "b", "j"),
             ("f3", "c", "j"), ("f4", "j", "end")]  # fmt: skip
    path = tmp / "no_default.bpmn"
    path.write_text(bpmn(nodes, flows, posts={"a": "clerk", "b": "reviewer", "c": "reviewer"}), encoding="utf-8")
    return path


def test_without_a_default_flow_an_empty_draw_takes_one_flow_by_share(tmp_path: Path) -> None:
    """s has no default flow: fb 0.5, fc 0.25 drawn independently; when neither is drawn (0.5 x 0.75 = 0.375) one
    is taken by share, fb 2/3 of the time. So fb is taken in 0.5 + 0.375 x 2/3 = 0.75 of the visits, fc in
    0.25 + 0.375 / 3 = 0.375, and no visit takes none."""
    n = 4000
    steps = {"a": 1, "b": 1, "c": 1}
    model = _model(tmp_path, _no_default(tmp_path), steps, {"s": {"fb": 0.5, "fc": 0.25}})
    result = simulate(load_simulation_model(model), cases=n, seed=3, keep_traces=n)
    visits = [set(t["gateways"]["s"][0]) for t in result.traces]
    assert all(visits)
    for flow, q in (("fb", 0.75), ("fc", 0.375)):
        assert abs(sum(flow in v for v in visits) / n - q) <= 4 * math.sqrt(q * (1 - q) / n), flow


# -- replay: the engine agrees -------------------------------------------------------------------------------------
def test_hundreds_of_consult_traces_replay_on_the_engine(tmp_path: Path) -> None:
    result = simulate(load_simulation_model(_consult(tmp_path, 0.6, 0.3, 0.5)), cases=300, seed=11, keep_traces=300)
    traces = list(result.traces)
    assert len({tuple(sorted(t["gateways"]["gw_consult"][0])) for t in traces}) == 8  # every subset, and none
    _replay(CONSULT, traces)


def test_varying_durations_and_a_sub_process_with_rework_replay_on_the_engine(tmp_path: Path) -> None:
    """Drawn durations, so the consultations end in every order; the 住建局 may be asked again inside its
    sub-process. The replay also checks, after every step, that the engine has exactly the trace's steps ready."""
    branches = {"gw_consult": {"f_housing": 0.6, "f_env": 0.5, "f_traffic": 0.5},
                "gw_housing_out": {"hs_ok": 0.6, "hs_again": 0.4}}  # fmt: skip
    result = simulate(load_simulation_model(_model(tmp_path, CONSULT_SUB, VARYING, branches)), cases=300, seed=4,
                      keep_traces=300)  # fmt: skip
    traces = list(result.traces)
    assert any(t["gateways"].get("gw_housing_out", []).count("hs_again") for t in traces)  # rework was taken
    orders = {tuple(s for s in t["path"] if s.startswith("ask_")) for t in traces}
    assert {("ask_env", "ask_housing"), ("ask_housing", "ask_env")} <= orders  # both orders of two consultations
    _replay(CONSULT_SUB, traces)


def test_the_engine_join_waits_for_exactly_the_branches_taken() -> None:
    """The engine itself, step by step: 审查 is ready only once both consultations asked for are done, and never
    waits for the one not asked for."""
    definition, org = load_process(CONSULT), load_organisation(ORG)
    case = start_case(definition, org, unit="market-bureau", clock=FakeClock(parse_moment("2026-03-02T09:00+08:00")),
                      data={"applicant": "某公司"})  # fmt: skip

    def done(step: str, **data: object) -> set[str]:
        case.complete(step, replay_actors(case, step)[0], data=data)
        return {r.id for r in case.ready_steps()}

    assert done("receive", consult_housing=True, consult_traffic=True) == {"ask_housing", "ask_traffic"}
    assert done("ask_traffic") == {"ask_housing"}
    assert done("ask_housing") == {"review"}
    assert done("review") == set()
    assert case.is_completed


def test_steer_set_finds_data_for_exactly_a_set_of_flows() -> None:
    flows = list(load_process(CONSULT).flows.values())
    out = [f for f in flows if f.source == "gw_consult"]
    for wanted in ({"f_housing", "f_traffic"}, {"f_env"}, {"f_none"}, {"f_housing", "f_env", "f_traffic"}):
        data = steer_set(out, wanted, {})
        assert data is not None
        assert set(flows_taken(out, data) or ()) == wanted
    assert steer_set(out, {"f_none", "f_env"}, {}) is None  # the default flow is only ever taken alone


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    probs=st.tuples(*[st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])] * 3),
    again=st.sampled_from([0.0, 0.3, 0.6]),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_every_simulated_trace_replays_whatever_the_probabilities(
    tmp_path: Path, probs: tuple[float, float, float], again: float, seed: int
) -> None:
    housing, env, traffic = probs
    branches = {"gw_consult": {"f_housing": housing, "f_env": env, "f_traffic": traffic},
                "gw_housing_out": {"hs_ok": 1 - again, "hs_again": again}}  # fmt: skip
    result = simulate(load_simulation_model(_model(tmp_path, CONSULT_SUB, VARYING, branches)), cases=20, seed=seed,
                      keep_traces=20)  # fmt: skip
    _replay(CONSULT_SUB, list(result.traces))


# -- hostile model files -----------------------------------------------------------------------------------------
HOSTILE: dict[str, tuple[Any, str, str]] = {
    "above 1": ({"f_housing": 1.5, "f_env": 0.3, "f_traffic": 0.5}, "branches.gw_consult.f_housing", "[0, 1]"),
    "negative": ({"f_housing": -0.1, "f_env": 0.3, "f_traffic": 0.5}, "branches.gw_consult.f_housing", ">= 0"),
    "NaN": ({"f_housing": float("nan"), "f_env": 0.3, "f_traffic": 0.5}, "branches.gw_consult.f_housing", "number"),
    "text": ({"f_housing": "often", "f_env": 0.3, "f_traffic": 0.5}, "branches.gw_consult.f_housing", "number"),
    "an unknown flow": ({"f_housing": 0.1, "f_env": 0.3, "f_traffic": 0.5, "f_x": 0.2}, "branches.gw_consult.f_x",
                        "unknown key"),
    "a missing flow": ({"f_housing": 0.1, "f_env": 0.3}, "branches.gw_consult", "f_traffic"),
    "the default flow": ({"f_housing": 0.1, "f_env": 0.3, "f_traffic": 0.5, "f_none": 0.5},
                         "branches.gw_consult.f_none", "default flow"),
    "not a mapping": ([0.1, 0.3, 0.5], "branches.gw_consult", "mapping"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_inclusive_probability_is_refused_naming_its_line_and_key(tmp_path: Path, name: str) -> None:
    probs, key, words = HOSTILE[name]
    path = _model(tmp_path, CONSULT, CONSULT_STEPS, {"gw_consult": probs})
    with pytest.raises(SimulationModelError) as caught:
        load_simulation_model(path)
    error = caught.value
    assert error.element == key and error.file == str(path)
    last = key.split(".")[-1]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert error.line is not None and f"{last}:" in lines[error.line - 1]
    assert words in str(error)


def test_a_missing_gateway_and_an_impossible_split_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SimulationModelError, match="inclusive gateway 'gw_consult'"):
        load_simulation_model(_model(tmp_path, CONSULT, CONSULT_STEPS, {}))
    model = _model(tmp_path, _no_default(tmp_path), {"a": 1, "b": 1, "c": 1}, {"s": {"fb": 0.0, "fc": 0.0}})
    with pytest.raises(SimulationModelError, match="no flow of inclusive gateway 's' has a probability > 0"):
        load_simulation_model(model)


def _prosimos(tmp: Path, probabilities: list[dict[str, Any]]) -> Path:
    """A Prosimos parameter file for consult.bpmn, copied next to it; one pool around the clock."""
    (tmp / "consult.bpmn").write_text(CONSULT.read_text(encoding="utf-8"), encoding="utf-8")
    week = [{"from": "MONDAY", "to": "SUNDAY", "beginTime": "00:00:00", "endTime": "23:59:59"}]
    fixed = [{"value": 600}]
    data = {
        "resource_profiles": [{"id": "pool", "resource_list": [{"id": "r", "amount": 50, "calendar": "c"}]}],
        "resource_calendars": [{"id": "c", "time_periods": week}],
        "arrival_time_distribution": {"distribution_name": "fix", "distribution_params": [{"value": 3600}]},
        "arrival_time_calendar": week,
        "task_resource_distribution": [
            {
                "task_id": t,
                "resources": [{"resource_id": "r", "distribution_name": "fix", "distribution_params": fixed}],
            }
            for t in CONSULT_STEPS
        ],
        "gateway_branching_probabilities": [{"gateway_id": "gw_consult", "probabilities": probabilities}],
    }
    path = tmp / "consult.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _paths(values: dict[str, float]) -> list[dict[str, Any]]:
    return [{"path_id": f, "value": v} for f, v in values.items()]


def test_a_prosimos_model_gives_the_per_flow_probabilities(tmp_path: Path) -> None:
    model = load_simulation_model(_prosimos(tmp_path, _paths({"f_housing": 1.0, "f_env": 0.0, "f_traffic": 1.0})))
    result = simulate(model, cases=10, seed=1, keep_traces=10)
    assert all(t["gateways"] == {"gw_consult": [["f_housing", "f_traffic"]]} for t in result.traces)
    assert result.to_dict()["cycle_time_hours"]["mean"] == pytest.approx(3 * 600 / 3600)  # receive, 住建局, review


@pytest.mark.parametrize(
    ("values", "path", "words"),
    [
        ({"f_housing": 1.5, "f_env": 0.1, "f_traffic": 0.1}, "probabilities[0].value", "[0, 1]"),
        ({"f_housing": 0.5, "f_env": 0.1}, "probabilities", "f_traffic"),
        ({"f_housing": 0.5, "f_env": 0.1, "f_traffic": 0.1, "f_none": 0.3}, "probabilities[3]", "default flow"),
        ({"f_housing": 0.5, "f_env": 0.1, "f_traffic": 0.1, "f_zz": 0.3}, "gateway_branching_probabilities[0]",
         "f_zz"),
    ],
)  # fmt: skip
def test_a_hostile_prosimos_probability_is_refused_naming_its_path(
    tmp_path: Path, values: dict[str, float], path: str, words: str
) -> None:
    with pytest.raises(SimulationModelError) as caught:
        load_simulation_model(_prosimos(tmp_path, _paths(values)))
    assert caught.value.element is not None and caught.value.element.endswith(path)
    assert words in str(caught.value)


def test_a_prosimos_nan_probability_is_refused(tmp_path: Path) -> None:
    path = _prosimos(tmp_path, _paths({"f_housing": 0.5, "f_env": 0.1, "f_traffic": 0.1}))
    path.write_text(path.read_text(encoding="utf-8").replace('"value": 0.5', '"value": NaN'), encoding="utf-8")
    with pytest.raises(SimulationModelError, match="finite"):
        load_simulation_model(path)


def test_two_tokens_in_one_block_stop_the_run_by_name(tmp_path: Path) -> None:
    """A parallel fork whose two branches merge (exclusively) before an inclusive split puts two tokens into one
    block; counting them per join would be wrong, so the run stops naming the split."""
    nodes = [("start", "startEvent"), ("p", "parallelGateway"), ("m", "exclusiveGateway"), ("s", "inclusiveGateway"),
             ("a", "userTask"), ("b", "userTask"), ("j", "inclusiveGateway"), ("end", "endEvent")]  # fmt: skip
    flows = [("f0", "start", "p"), ("f1", "p", "m"), ("f2", "p", "m"), ("f3", "m", "s"), ("f4", "s", "a"),
             ("f5", "s", "b"), ("f6", "a", "j"), ("f7", "b", "j"), ("f8", "j", "end")]  # fmt: skip
    (tmp_path / "two.bpmn").write_text(bpmn(nodes, flows), encoding="utf-8")
    path = _model(tmp_path, tmp_path / "two.bpmn", {"a": 10, "b": 10}, {"s": {"f4": 1.0, "f5": 1.0}})
    with pytest.raises(SimulationError) as caught:
        simulate(load_simulation_model(path), cases=1, seed=1)
    assert caught.value.element == "s"


# -- random block-structured models ----------------------------------------------------------------------------------
Seq = list[Any]  # elements: "task", "loop" (a loop task), ("xor", [Seq, ...]), ("or", [Seq, ...], has_default)
_STEP = st.sampled_from(["task", "task", "loop"])
_CHAIN = st.lists(_STEP, max_size=3)  # an inclusive block's branch: a plain sequence (bpmn.inclusive)


def _seq(depth: int) -> st.SearchStrategy[Seq]:
    element: st.SearchStrategy[Any] = _STEP
    if depth > 0:
        element = st.one_of(
            _STEP,
            st.tuples(st.just("xor"), st.lists(_seq(depth - 1), min_size=2, max_size=3)),
            st.tuples(st.just("or"), st.lists(_CHAIN, min_size=2, max_size=4), st.booleans()),
        )
    return st.lists(element, min_size=0, max_size=3)


class _Writer:
    """A BPMN process from a :data:`Seq`, with conditions that steering can satisfy and the model's branches."""

    def __init__(self) -> None:
        self.nodes: list[tuple[str, str]] = [("start", "startEvent"), ("end", "endEvent")]
        self.flows: list[tuple[str, str, str, str | None]] = []
        self.defaults: dict[str, str] = {}
        self.tasks: list[str] = []
        self.loops: dict[str, str] = {}  # loop task -> its standardLoopCharacteristics
        self.gateways: dict[str, list[str]] = {}  # split -> its flows (inclusive: the non-default ones)
        self.kinds: dict[str, str] = {}

    def flow(self, source: str, target: str, condition: str | None = None) -> str:
        fid = f"f{len(self.flows)}"
        self.flows.append((fid, source, target, condition))
        return fid

    def node(self, prefix: str, tag: str) -> str:
        nid = f"{prefix}{len(self.nodes)}"
        self.nodes.append((nid, tag))
        return nid

    def seq(self, seq: Seq, source: str, target: str, condition: str | None = None) -> str:
        """Connect ``source`` through ``seq`` to ``target``; the id of the first flow (which gets ``condition``)."""
        first: str | None = None
        for element in seq:
            if element in ("task", "loop"):
                entry = exit_ = self.node("t", "userTask")
                self.tasks.append(entry)
                if element == "loop":  # testBefore and loopMaximum vary with the task's place
                    n = len(self.loops)
                    maximum = ("", ' loopMaximum="2"', ' loopMaximum="3"')[n % 3]
                    self.loops[entry] = (
                        f'<bpmn:standardLoopCharacteristics testBefore="{str(n % 2 == 0).lower()}"{maximum}>'
                        f'<bpmn:loopCondition>get("{entry}_again", False) == True</bpmn:loopCondition>'
                        "</bpmn:standardLoopCharacteristics>"
                    )
            else:
                tag = "exclusiveGateway" if element[0] == "xor" else "inclusiveGateway"
                entry, exit_ = self.node("s", tag), self.node("j", tag)
                self.branches(element, entry, exit_)
            fid = self.flow(source, entry, condition if first is None else None)
            first = first or fid
            source = exit_
        fid = self.flow(source, target, condition if first is None else None)
        return first or fid

    def branches(self, element: Any, split: str, join: str) -> None:
        self.kinds[split] = element[0]
        flows = []
        for i, branch in enumerate(element[1]):
            if element[0] == "xor":
                condition = None if i == 0 else f'get("{split}", 0) == {i}'
            else:
                condition = f'get("{split}_{i}", False) == True'
            fid = self.seq(branch, split, join, condition)
            flows.append(fid)
            if condition is None:
                self.defaults[split] = fid
        if element[0] == "or" and element[2]:
            self.defaults[split] = self.seq([], split, join)
        self.gateways[split] = flows

    def document(self) -> str:
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/'
            '20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1" id="d" targetNamespace="urn:test">\n'
            '<bpmn:process id="random_blocks" isExecutable="true">\n'
        )
        body = []
        for nid, tag in self.nodes:
            default = f' default="{self.defaults[nid]}"' if nid in self.defaults else ""
            ext = (
                '<bpmn:extensionElements><af:step posts="reviewer"/></bpmn:extensionElements>'
                if nid in self.tasks
                else ""
            ) + self.loops.get(nid, "")
            body.append(f'<bpmn:{tag} id="{nid}"{default}>{ext}</bpmn:{tag}>')
        for fid, s, t, condition in self.flows:
            cond = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
            body.append(f'<bpmn:sequenceFlow id="{fid}" sourceRef="{s}" targetRef="{t}">{cond}</bpmn:sequenceFlow>')
        return head + "\n".join(body) + "\n</bpmn:process>\n</bpmn:definitions>\n"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seq=_seq(3),
    probs=st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.8, 1.0]), min_size=60, max_size=60),
    minutes=st.lists(st.integers(min_value=1, max_value=300), min_size=120, max_size=120),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_random_block_structured_models_compile_and_every_trace_replays(
    tmp_path: Path, seq: Seq, probs: list[float], minutes: list[int], seed: int
) -> None:
    """Any nesting of steps, loop tasks and exclusive blocks, with inclusive blocks of plain branches (steps and
    loop tasks, with or without a default flow, with direct flows to the join) anywhere, compiles; every simulated
    trace replays on the engine, which has exactly the trace's steps ready after each step."""
    w = _Writer()
    w.seq(["task", *seq], "start", "end")
    path = tmp_path / "random.bpmn"
    path.write_text(w.document(), encoding="utf-8")
    draws = itertools.cycle(probs)
    branches: dict[str, dict[str, float]] = {}
    for split, flows in w.gateways.items():
        if w.kinds[split] == "xor":
            branches[split] = {f: 1 / len(flows) for f in flows}
        else:
            values = {f: next(draws) for f in flows}
            if split not in w.defaults and not any(values.values()):
                values[flows[0]] = 0.5
            branches[split] = values
    steps: dict[str, Any] = {t: minutes[i % len(minutes)] for i, t in enumerate(w.tasks)}
    steps.update((t, {"duration": steps[t], "repeat": 0.4}) for t in w.loops)
    model = _model(tmp_path, path, steps, branches)
    result = simulate(load_simulation_model(model), cases=10, seed=seed, keep_traces=10)
    _replay(path, list(result.traces))
