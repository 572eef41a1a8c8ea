"""Cross-department steps (issue 16 item 5): 征求意见 of the 住建局 inside a 自然资源局 case.

A step names the units whose people do it (``af:step/@units``); the case's unit joins them only with
``af:step/@caseUnit="true"``. The engine (rules ``unauthorized``, ``other-unit``, ``five-not-direct``),
``validate --org`` (``staffing``) and the simulator (its pools and its replay) decide who may do a step by the one
function :func:`approvalflow.rules.checks.keeps_off`; the property at the end checks that they agree.

The example is ``tests/data/cross_unit/``: a 建设工程规划许可证核发 of the county 自然资源局 asking the 住建局 and the
交通运输局 for their opinions in parallel, its organisation, a misconfigured organisation and a simulation model.
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import FakeClock, StepRefused, load_organisation, load_process, load_process_string, start_case
from approvalflow.engine import Policy
from approvalflow.errors import ExtensionError
from approvalflow.org.organisation import Organisation, organisation_from_dict
from approvalflow.rules.checks import keeps_off, step_units
from approvalflow.simulation import load_simulation_model, simulate
from approvalflow.simulation.replay import Trace, replay_actors, replay_traces
from approvalflow.simulation.yaml_model import step_pool
from approvalflow.time.periods import SHANGHAI
from approvalflow.validation import validate_file, validate_string
from approvalflow.validation.staffing import staffing_problem

DATA = Path(__file__).parent / "data" / "cross_unit"
BPMN = DATA / "construction_permit.bpmn"
CASE_UNIT = "natural-resources-bureau"
START = "2026-06-01T09:00:00+08:00"


def line_of(text: str, marker: str) -> int:
    """The 1-based line of the first line of ``text`` containing ``marker`` (read from the file, not the code)."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(DATA / "org.yaml")


def reviewed_case(org: Organisation, text: str | None = None) -> Any:
    """A case of the 自然资源局 with receive and review done: both consultations are ready."""
    definition = load_process_string(text) if text is not None else load_process(BPMN)
    case = start_case(definition, org, unit=CASE_UNIT, clock=FakeClock(START), data={"materials_complete": True})
    case.complete("receive", "nr_qian", at="2026-06-01T10:00:00+08:00")
    case.complete("review", "nr_sun", at="2026-06-02T10:00:00+08:00")
    return case


def snapshot(case: Any) -> tuple[Any, ...]:
    return ([(r.id, r.since) for r in case.ready_steps()], list(case.history), dict(case.data), list(case.findings))


def refused(case: Any, step: str, actor: str) -> list[str]:
    """The rule ids of the refusal; the case must be exactly as it was."""
    before = snapshot(case)
    with pytest.raises(StepRefused) as exc:
        case.complete(step, actor, at="2026-06-03T10:00:00+08:00")
    assert snapshot(case) == before
    assert all(rule in str(exc.value) for rule in exc.value.rules)
    return list(exc.value.rules)


# -- the engine ------------------------------------------------------------------------------------------------------
def test_an_officer_of_the_named_unit_completes_the_consultation(org: Organisation) -> None:
    case = reviewed_case(org)
    assert {r.id for r in case.ready_steps()} == {"consult_housing", "consult_transport"}
    assert case.complete("consult_housing", "hb_zhou", at="2026-06-03T10:00:00+08:00") == []
    assert case.complete("consult_transport", "tb_ma", at="2026-06-03T11:00:00+08:00") == []
    case.complete("decide", "nr_li", at="2026-06-04T10:00:00+08:00")
    case.complete("deliver", "nr_qian", at="2026-06-04T11:00:00+08:00")
    assert case.is_completed
    assert [(c.step, c.actor) for c in case.history][2:4] == [
        ("consult_housing", "hb_zhou"),
        ("consult_transport", "tb_ma"),
    ]


def test_a_clerk_of_the_case_unit_may_not_answer_for_the_other_bureau(org: Organisation) -> None:
    case = reviewed_case(org)
    # 王窗口 holds reviewer, the consultation's post: only the unit keeps him off
    assert refused(case, "consult_housing", "nr_wang") == ["other-unit"]
    assert refused(case, "consult_housing", "nr_qian") == ["unauthorized", "other-unit"]
    assert refused(case, "consult_housing", "tb_ma") == ["other-unit"]  # another named unit's step
    assert refused(case, "consult_housing", "hb_wu") == ["unauthorized"]  # the named unit, without the post
    assert case.complete("consult_housing", "hb_zhou", at="2026-06-03T10:00:00+08:00") == []


def test_the_refusal_names_the_units_that_do_the_step(org: Organisation) -> None:
    case = reviewed_case(org)
    with pytest.raises(StepRefused) as exc:
        case.complete("consult_housing", "nr_wang", at="2026-06-03T10:00:00+08:00")
    message = str(exc.value)
    assert "other-unit" in message and "'natural-resources-bureau'" in message and "housing-bureau" in message
    assert "caseUnit" in message


def test_under_record_the_case_unit_clerk_is_a_finding(org: Organisation) -> None:
    case = start_case(load_process(BPMN), org, unit=CASE_UNIT, clock=FakeClock(START), policy=Policy.RECORD,
                      data={"materials_complete": True})  # fmt: skip
    case.complete("receive", "nr_qian", at="2026-06-01T10:00:00+08:00")
    case.complete("review", "nr_sun", at="2026-06-02T10:00:00+08:00")
    found = case.complete("consult_housing", "nr_wang", at="2026-06-03T10:00:00+08:00")
    assert [(f.rule, f.actor, f.step) for f in found] == [("other-unit", "nr_wang", "consult_housing")]


def with_case_unit(text: str) -> str:
    marked = text.replace('units="housing-bureau"', 'units="housing-bureau" caseUnit="true"')
    assert marked != text
    return marked


def test_case_unit_true_admits_the_case_units_holders_too(org: Organisation) -> None:
    text = with_case_unit(BPMN.read_text(encoding="utf-8"))
    assert load_process_string(text).steps["consult_housing"].case_unit
    case = reviewed_case(org, text)
    assert refused(case, "consult_housing", "tb_ma") == ["other-unit"]
    assert case.complete("consult_housing", "nr_wang", at="2026-06-03T10:00:00+08:00") == []
    case = reviewed_case(org, text)
    assert case.complete("consult_housing", "hb_zhou", at="2026-06-03T10:00:00+08:00") == []


def test_case_unit_without_units_is_an_error_at_the_step() -> None:
    text = BPMN.read_text(encoding="utf-8").replace(
        '<af:step posts="reviewer"/>', '<af:step posts="reviewer" caseUnit="false"/>'
    )
    with pytest.raises(ExtensionError, match="caseUnit") as exc:
        load_process_string(text)
    assert exc.value.element == "review"
    assert exc.value.line == line_of(text, 'caseUnit="false"')


def test_step_units(org: Organisation) -> None:
    steps = load_process(BPMN).steps
    assert step_units(steps["consult_housing"], CASE_UNIT) == ("housing-bureau",)
    assert step_units(steps["review"], CASE_UNIT) == (CASE_UNIT,)
    marked = load_process_string(with_case_unit(BPMN.read_text(encoding="utf-8"))).steps
    assert step_units(marked["consult_housing"], CASE_UNIT) == ("housing-bureau", CASE_UNIT)


# -- validate --org --------------------------------------------------------------------------------------------------
def staffing(org_file: str, **kw: Any) -> list[Any]:
    found = validate_file(BPMN, org=load_organisation(DATA / org_file), **kw)
    return [f for f in found if f.rule == "staffing"]


def test_validate_finds_the_consultations_staffed_by_their_units() -> None:
    assert staffing("org.yaml") == []
    assert staffing("org.yaml", unit=CASE_UNIT) == []
    assert validate_file(BPMN, org=load_organisation(DATA / "org.yaml")) == []


def test_validate_reports_each_unstaffed_consultation_at_its_element_and_line() -> None:
    text = BPMN.read_text(encoding="utf-8")
    for kw in ({}, {"unit": CASE_UNIT}):
        found = staffing("org_unstaffed.yaml", **kw)
        assert sorted((f.element, f.line) for f in found) == [
            ("consult_housing", line_of(text, 'id="consult_housing"')),
            ("consult_transport", line_of(text, 'id="consult_transport"')),
        ]
        by_step = {f.element: f.message for f in found}
        assert "'housing-bureau'" in by_step["consult_housing"]
        assert "'transport-bureau'" in by_step["consult_transport"]
        assert all(str(f.file).endswith("construction_permit.bpmn") for f in found)


def test_validate_counts_the_case_unit_only_with_case_unit_true() -> None:
    org = load_organisation(DATA / "org_unstaffed.yaml")
    text = with_case_unit(BPMN.read_text(encoding="utf-8"))
    found = [f for f in validate_string(text, org=org, unit=CASE_UNIT) if f.rule == "staffing"]
    assert [f.element for f in found] == ["consult_transport"]  # the 自然资源局's reviewers may consult housing now


# -- the simulator ---------------------------------------------------------------------------------------------------
def test_the_simulator_pools_the_named_units_people(org: Organisation) -> None:
    model = load_simulation_model(DATA / "simulation.yaml")
    pools = {p.name: p.count for p in model.pools}
    assert pools["reviewer@housing-bureau"] == 1  # 周科员 only
    assert pools["reviewer@transport-bureau"] == 1  # 马科员 only
    assert pools["reviewer"] == 2  # the 自然资源局's own: 王窗口, 孙审查员
    steps = load_process(BPMN).steps
    case_unit = org.units[CASE_UNIT]
    assert step_pool(steps["consult_housing"], org, case_unit) == ("reviewer@housing-bureau", frozenset({"hb_zhou"}))


def test_the_simulated_traces_replay_on_the_engine(org: Organisation) -> None:
    model = load_simulation_model(DATA / "simulation.yaml")
    result = simulate(model, cases=30, seed=20261001, keep_traces=30)
    traces = result.traces
    assert len(traces) == 30
    assert any("notify_correction" in t["path"] for t in traces) and any(
        "notify_correction" not in t["path"] for t in traces
    )
    epoch = datetime.combine(model.start, time(0), SHANGHAI)
    report = replay_traces(load_process(BPMN), org, traces, unit=CASE_UNIT, start=epoch)
    assert report.all_accepted, report.summary()
    assert all({"consult_housing", "consult_transport"} <= set(r.path) for r in report.results)


def test_replay_refuses_when_the_named_unit_has_nobody() -> None:
    org = load_organisation(DATA / "org_unstaffed.yaml")
    path = ("receive", "review", "consult_housing", "consult_transport", "decide", "deliver")
    report = replay_traces(load_process(BPMN), org, [Trace(path, {"gw_materials": ("f_accept",)})], unit=CASE_UNIT)
    assert not report.all_accepted
    divergence = report.results[0].divergence
    assert divergence is not None and divergence.expected == "consult_housing"


# -- one rule for the three: a property over random organisations ------------------------------------------------------
POSTS = ("clerk", "reviewer", "deputy")
UNITS = ("u0", "u1", "u2")


def one_step(posts: tuple[str, ...], units: tuple[str, ...], case_unit: bool, domain: bool) -> str:
    attrs = f' posts="{" ".join(posts)}"' if posts else ""
    attrs += f' units="{" ".join(units)}"' if units else ""
    attrs += ' caseUnit="true"' if case_unit and units else ""
    attrs += ' domain="approval"' if domain else ""
    risk = '<af:risk id="R1" level="high"><af:description>r</af:description></af:risk>' if domain else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:af="urn:approvalflow:bpmn:1"
                  id="d" targetNamespace="urn:test">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="s"><bpmn:extensionElements><af:step{attrs}/>{risk}</bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="s"/>
    <bpmn:sequenceFlow id="f2" sourceRef="s" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[str, Any], str, str]:
    """A random organisation of up to three units, a one-step process naming random units and posts, a case unit."""
    n_units = draw(st.integers(1, 3))
    units = UNITS[:n_units]
    people: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 7))):
        posts = draw(st.lists(st.sampled_from(POSTS), unique=True, max_size=3))
        people[f"p{i}"] = {"unit": draw(st.sampled_from(units)), "posts": posts}
    org: dict[str, Any] = {"units": [], "people": people}
    for u in units:
        members = sorted(p for p, v in people.items() if v["unit"] == u)
        principal = draw(st.sampled_from([None, *members]))
        org["units"].append({"id": u, **({"principal": principal} if principal else {})})
    step_posts = tuple(draw(st.lists(st.sampled_from(POSTS), unique=True, max_size=2)))
    step_unit_ids = tuple(draw(st.lists(st.sampled_from(units), unique=True, max_size=2)))
    text = one_step(step_posts, step_unit_ids, draw(st.booleans()), draw(st.booleans()))
    return org, text, draw(st.sampled_from(units))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_engine_validate_and_simulator_agree_on_who_may_do_a_step(world: tuple[dict[str, Any], str, str]) -> None:
    raw, text, unit = world
    org = organisation_from_dict(raw)
    definition = load_process_string(text)
    step = definition.steps["s"]
    # the engine: who completes the step without a refusal (the rules decide one person at a time)
    engine: set[str] = set()
    for person in org.people:
        case = start_case(definition, org, unit=unit, clock=FakeClock(START))
        try:
            case.complete("s", person, at="2026-06-01T10:00:00+08:00")
        except StepRefused as exc:
            assert set(exc.rules) <= {"unauthorized", "other-unit", "five-not-direct"}
            assert set(exc.rules) == set(keeps_off(step, org.people[person], org.units[unit], org))
            continue
        engine.add(person)
    # validate --org: the step's candidates, and a staffing finding exactly when there are none
    candidates = staffing_problem(definition.steps, org, org.units[unit]).candidates["s"]
    assert set(candidates) == engine
    found = [f for f in validate_string(text, org=org, unit=unit) if f.rule == "staffing"]
    assert bool(found) == (not engine)
    assert all(f.element == "s" for f in found)
    # the simulator: the pool of a step naming units, and replay finding an actor
    if step.units:
        assert step_pool(step, org, org.units[unit])[1] == engine
    case = start_case(definition, org, unit=unit, clock=FakeClock(START))
    assert set(replay_actors(case, "s")) == engine  # the actors replay tries, in a case with no history
    report = replay_traces(definition, org, [Trace(("s",), {})], unit=unit)
    assert report.all_accepted == bool(engine)
