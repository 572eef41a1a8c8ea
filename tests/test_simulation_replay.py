"""Simulated paths are paths the engine accepts: traces replayed through start_case / Case.complete.

(a) hand-written traces on the process library: valid ones are accepted with no findings; a trace that skips a
step, takes a branch the model does not allow there, or leaves decisions unused is rejected at the first
divergence. (b) the agreement test: the real simulator's traces on examples/simulation/*.yaml all replay.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pytest
import yaml

from approvalflow import load_organisation, load_process
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.org.organisation import Organisation
from approvalflow.simulation.replay import Trace, as_trace, replay_traces
from approvalflow.time.periods import SHANGHAI

ROOT = Path(__file__).parent.parent
PROCESSES = ROOT / "processes"
LICENSING = {"gw_materials": ["f_gw_accept"], "gw_hearing": ["f_gwh_join"], "gw_extension": ["f_gwx_join"]}
STRAIGHT = ["receive", "accept", "review", "decide", "deliver"]


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(PROCESSES / "org" / "sample_county.yaml")


@pytest.fixture(scope="module")
def licensing() -> ProcessDefinition:
    return load_process(PROCESSES / "licensing" / "general_licensing.bpmn")


def one(process: ProcessDefinition, org: Organisation, trace: object, unit: str, **kw: Any) -> Any:
    report = replay_traces(process, org, [trace], unit=unit, **kw)
    assert report.total == 1
    return report.results[0]


# -- (a) accepted ----------------------------------------------------------------------------------------------------
def test_straight_licensing_case_is_accepted(licensing: ProcessDefinition, org: Organisation) -> None:
    r = one(licensing, org, {"path": STRAIGHT, "gateways": LICENSING}, "market-bureau")
    assert r.accepted and r.divergence is None
    assert r.path == tuple(STRAIGHT)
    assert r.findings == ()


def test_correction_loop_hearing_and_extension_are_accepted(licensing: ProcessDefinition, org: Organisation) -> None:
    steps = ["receive", "notify_correction", "receive", "accept", "review",
             "hearing_notice", "hearing_preside", "hearing_record", "extend", "decide", "deliver"]  # fmt: skip
    gateways = {"gw_materials": ["f_gw_notify", "f_gw_accept"], "gw_hearing": ["f_gwh_hearing"],
                "gw_extension": ["f_gwx_extend"]}  # fmt: skip
    r = one(licensing, org, {"steps": steps, "gateways": gateways}, "market-bureau")
    assert r.accepted, r.divergence
    assert r.path == tuple(steps)
    assert r.findings == ()


def test_a_call_activity_named_as_one_step_runs_its_process(licensing: ProcessDefinition, org: Organisation) -> None:
    steps = ["receive", "accept", "review", "hearing", "decide", "deliver"]
    gateways = {**LICENSING, "gw_hearing": ["f_gwh_hearing"]}
    r = one(licensing, org, {"steps": steps, "gateways": gateways}, "market-bureau")
    assert r.accepted, r.divergence
    assert r.path == ("receive", "accept", "review", "hearing_notice", "hearing_preside", "hearing_record",
                      "decide", "deliver")  # fmt: skip


def test_parallel_reviews_in_any_order(org: Organisation) -> None:
    joint = load_process(PROCESSES / "joint" / "joint_approval.bpmn")
    reviews = ["review_construction", "review_market", "review_environment"]
    traces = [
        Trace(("accept", *order, "decide", "deliver"), {"gw_extension": ("f_gwx_join",)})
        for order in (reviews, reviews[::-1], reviews[1:] + reviews[:1])
    ]
    report = replay_traces(joint, org, traces, unit="approval-bureau")
    assert report.all_accepted, report.summary()
    assert report.accepted == 3 and report.finding_counts() == {}


def test_collective_decision_both_outcomes(org: Organisation) -> None:
    major = load_process(PROCESSES / "decision" / "major_decision.bpmn")
    loop = ["f_comment_again", "f_public_join"]  # 公众参与 once too short (不足30日), then a second round
    head = ("draft", "expert_review", "public_participation", "risk_assessment", "public_participation",
            "legality_review", "collective_decision")  # fmt: skip
    passed = Trace(
        (*head, "publish", "archive"), {"gw_comment_days": tuple(loop), "gw_decided": ("f_decided_publish",)}
    )
    failed = Trace((*head, "archive"), {"gw_comment_days": tuple(loop), "gw_decided": ("f_decided_archive",)})
    report = replay_traces(major, org, [passed, failed], unit="county-government")
    assert report.all_accepted, report.summary()
    assert [r.path[-2:] for r in report.results] == [("publish", "archive"), ("collective_decision", "archive")]
    # the meeting record decided the branch: the engine set collective_decision_passed from the votes
    assert all(r.findings == () or all(f.rule == "step-overdue" for f in r.findings) for r in report.results)


def test_both_branches_of_a_data_condition(org: Organisation) -> None:
    decision = load_process(PROCESSES / "decision" / "collective_decision.bpmn")
    steps = ("propose", "solicit", "meeting", "minutes")
    traces = [Trace((*steps, "implement"), {"gw_passed": ("f_gw_implement",)}),
              Trace(steps, {"gw_passed": ("f_gw_rejected",)})]  # fmt: skip
    report = replay_traces(decision, org, traces, unit="county-government")
    assert report.all_accepted, report.summary()
    assert report.results[1].path == steps


def test_penalty_with_hearing_and_collective_discussion(org: Organisation) -> None:
    """The penalty process with a hearing and a collective discussion (重大案件集体讨论)."""
    penalty = load_process(PROCESSES / "penalty" / "ordinary_penalty.bpmn")
    steps = ("file_case", "investigate", "cosign_investigation", "legal_review", "notify_rights", "hearing",
             "collective", "decide", "deliver", "confirm_payment")  # fmt: skip
    trace = Trace(steps, {"gw_defense": ("f_gwd_hearing",), "gw_major": ("f_gwm_collective",)})
    r = one(penalty, org, trace, "market-bureau")
    assert r.accepted, r.divergence


# -- (a) rejected at the first divergence ------------------------------------------------------------------------------
def test_a_skipped_step_is_named(licensing: ProcessDefinition, org: Organisation) -> None:
    r = one(licensing, org, {"steps": ["receive", "accept", "decide", "deliver"], "gateways": LICENSING},
            "market-bureau")  # fmt: skip
    assert not r.accepted
    d = r.divergence
    assert (d.position, d.expected, d.ready) == (2, "decide", ("review",))
    assert "not ready" in d.reason
    assert r.path == ("receive", "accept")


def test_a_branch_that_contradicts_the_steps(licensing: ProcessDefinition, org: Organisation) -> None:
    """The gateway says 'extend' but the trace goes straight to 'decide': the engine readies 'extend'."""
    r = one(licensing, org, {"steps": STRAIGHT, "gateways": {**LICENSING, "gw_extension": ["f_gwx_extend"]}},
            "market-bureau")  # fmt: skip
    assert not r.accepted
    assert (r.divergence.position, r.divergence.expected, r.divergence.ready) == (3, "decide", ("extend",))


def test_a_flow_that_does_not_leave_the_gateway(licensing: ProcessDefinition, org: Organisation) -> None:
    r = one(licensing, org, {"steps": STRAIGHT, "gateways": {**LICENSING, "gw_hearing": ["f_gwx_extend"]}},
            "market-bureau")  # fmt: skip
    assert not r.accepted
    assert r.divergence.position == 2 and r.divergence.expected == "review"
    assert "'f_gwx_extend' at gateway 'gw_hearing'" in r.divergence.reason
    assert "f_gwh_hearing" in r.divergence.reason


def test_a_decision_missing_for_a_gateway(licensing: ProcessDefinition, org: Organisation) -> None:
    gateways = {"gw_materials": ["f_gw_accept"], "gw_hearing": ["f_gwh_join"]}
    r = one(licensing, org, {"steps": STRAIGHT, "gateways": gateways}, "market-bureau")
    assert not r.accepted
    assert r.divergence.position == 2  # review is followed by gw_hearing and then gw_extension
    assert "gw_extension" in r.divergence.reason and "0 decision" in r.divergence.reason


def test_a_second_once_step_is_refused(licensing: ProcessDefinition, org: Organisation) -> None:
    """一次告知: a path through notify_correction twice is not one the engine accepts."""
    steps = ["receive", "notify_correction", "receive", "notify_correction", "receive", *STRAIGHT[1:]]
    gateways = {**LICENSING, "gw_materials": ["f_gw_notify", "f_gw_notify", "f_gw_accept"]}
    r = one(licensing, org, {"steps": steps, "gateways": gateways}, "market-bureau")
    assert not r.accepted
    assert r.divergence.position == 3 and r.divergence.expected == "notify_correction"
    assert "once" in r.divergence.reason


def test_unused_decisions_and_an_unfinished_case(licensing: ProcessDefinition, org: Organisation) -> None:
    extra = {**LICENSING, "gw_extension": ["f_gwx_join", "f_gwx_join"]}
    r = one(licensing, org, {"steps": STRAIGHT, "gateways": extra}, "market-bureau")
    assert not r.accepted and r.divergence.position == 5 and r.divergence.expected is None
    assert "gw_extension: f_gwx_join" in r.divergence.reason
    short = {"steps": STRAIGHT[:3], "gateways": LICENSING}
    r = one(licensing, org, short, "market-bureau")
    assert not r.accepted and "not completed" in r.divergence.reason and r.divergence.ready == ("decide",)
    assert one(licensing, org, {**short, "complete": False}, "market-bureau").accepted  # still running: fine


# -- findings ----------------------------------------------------------------------------------------------------------
LATE = {
    # 2026-03-02 is a Monday; March 2026 has no holiday and no adjusted working day.
    "start": "2026-03-02T09:00:00+08:00",
    "times": ["2026-03-02T10:00:00+08:00", "2026-03-02T11:00:00+08:00",   # receive; accept starts the case clock
              "2026-03-12T10:00:00+08:00",   # review: 8 working days after 03-02 end with 03-12, on time
              "2026-03-16T10:00:00+08:00",   # decide: 2 working days after 03-12 are 03-13 and 03-16, on time
              "2026-03-24T10:00:00+08:00"],  # deliver: 3 after 03-16 end with 03-19 (late); the case's
    # promised 15 working days after 03-02 end with 03-23 (late), statutory 20 with 03-30 (on time)
}  # fmt: skip


def test_findings_are_reported_and_compared(licensing: ProcessDefinition, org: Organisation) -> None:
    base = {"steps": STRAIGHT, "gateways": LICENSING, **LATE}
    r = one(licensing, org, base, "market-bureau")
    assert r.accepted  # the trace names no findings: only the path is compared
    assert sorted((f.rule, f.step) for f in r.findings) == [("case-overdue", "deliver"), ("step-overdue", "deliver")]
    assert "promised" in next(f.message for f in r.findings if f.rule == "case-overdue")
    assert one(licensing, org, {**base, "findings": ["step-overdue", "case-overdue"]}, "market-bureau").accepted
    wrong = one(licensing, org, {**base, "findings": ["case-overdue"]}, "market-bureau")
    assert not wrong.accepted and "findings differ" in wrong.divergence.reason
    on_time = one(licensing, org, {**base, "findings": []}, "market-bureau")
    assert not on_time.accepted


def test_times_in_hours_after_the_start(licensing: ProcessDefinition, org: Organisation) -> None:
    hours = [1, 2, 10 * 24 + 1, 14 * 24 + 1, 22 * 24 + 1]  # the same moments as LATE, counted from 03-02 09:00
    r = one(licensing, org, {"steps": STRAIGHT, "gateways": LICENSING, "times": hours}, "market-bureau",
            start="2026-03-02T09:00:00+08:00")  # fmt: skip
    assert sorted(f.rule for f in r.findings) == ["case-overdue", "step-overdue"]


def test_report_summary_and_dict(licensing: ProcessDefinition, org: Organisation) -> None:
    good = {"path": STRAIGHT, "gateways": LICENSING, "case": 7}
    bad = {"path": ["receive", "review"], "gateways": LICENSING}
    report = replay_traces(licensing, org, [good, bad, {**good, **LATE}], unit="market-bureau")
    assert (report.total, report.accepted, report.all_accepted) == (3, 2, False)
    assert [r.index for r in report.rejected] == [1]
    assert report.results[0].case == "7"
    assert report.finding_counts() == {"case-overdue": 1, "step-overdue": 1}
    assert report.summary().startswith("2 of 3 traces of general_licensing accepted by the engine")
    assert "trace 1 at step 1 (review)" in report.summary()
    d = report.to_dict()
    assert d["traces"][1]["divergence"] == {"position": 1, "expected": "review", "ready": ["accept"],
                                            "reason": "'review' is not ready in the engine"}  # fmt: skip


@dataclass
class KernelTrace:
    path: list[str]
    gateways: dict[str, list[str]] = field(default_factory=dict)


def test_traces_as_objects_and_bad_traces() -> None:
    t = as_trace(KernelTrace(STRAIGHT, LICENSING))
    assert t.steps == tuple(STRAIGHT) and t.gateways["gw_hearing"] == ("f_gwh_join",)
    with pytest.raises(TypeError, match="needs 'steps'"):
        as_trace({"gateways": {}})
    with pytest.raises(TypeError, match="5 steps but 1 times"):
        as_trace({"steps": STRAIGHT, "times": ["2026-03-02T10:00:00+08:00"]})


def test_a_malformed_trace_is_named_by_its_index(licensing: ProcessDefinition, org: Organisation) -> None:
    with pytest.raises(TypeError, match=r"trace 1: a trace needs 'steps'"):
        replay_traces(
            licensing, org, [{"steps": STRAIGHT, "gateways": LICENSING}, {"path": "receive"}], unit="market-bureau"
        )


# -- (b) agreement with the simulator ------------------------------------------------------------------------------
def _simulation() -> Any:
    """The simulator package, or None while it is not written yet (the only reason to skip)."""
    try:
        module = importlib.import_module("approvalflow.simulation")
    except ImportError:
        return None
    return module if hasattr(module, "simulate") and hasattr(module, "load_simulation_model") else None


EXAMPLES = sorted((ROOT / "examples" / "simulation").glob("*.yaml"))


def _where(model_file: Path) -> tuple[Path, str | None]:
    """The organisation file and unit a simulation model names (its cases run there on the engine)."""
    data = yaml.safe_load(model_file.read_text(encoding="utf-8"))
    return (model_file.parent / data["org"]).resolve(), data.get("unit")


def _overloaded(example: Path, folder: Path) -> Path:
    """The example with one reviewer and more applications: many cases late, on-time shares in between."""
    data = yaml.safe_load(example.read_text(encoding="utf-8"))
    for key in ("process", "org"):
        data[key] = str((example.parent / data[key]).resolve())
    data["staff"]["reviewer"] = 1
    data["arrivals"]["per_day"] = 3.0
    out = folder / f"{example.stem}_overloaded.yaml"
    out.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return out


def _agree(model_file: Path, cases: int, *, times: bool = True) -> dict[str, Any]:
    """Simulate; replay every case on the engine (at the simulated moments unless ``times`` is false).

    Paths must be the same; with times, the engine's late cases (``case-overdue``) must be exactly those the
    simulator counted: the on-time shares and the red cards (红牌) agree.
    """
    sim = _simulation()
    model = sim.load_simulation_model(model_file)
    result = sim.simulate(model, cases=cases, seed=20261001, keep_traces=cases)
    traces = result.traces if times else [{"path": t["path"], "gateways": t["gateways"]} for t in result.traces]
    assert len(traces) == cases  # every simulated case, so the shares below are over the same cases
    org_file, unit = _where(model_file)
    epoch = datetime.combine(model.start, time(0), SHANGHAI)  # trace times are hours after the model's epoch
    process = load_process(model.graph.file)
    report = replay_traces(process, load_organisation(org_file), traces, unit=unit, start=epoch)
    assert report.all_accepted, report.summary()
    for replayed, trace in zip(report.results, traces, strict=True):
        assert list(replayed.path) == list(trace["path"])  # same steps, same order
    assert len({tuple(t["path"]) for t in traces}) > 1  # branches and loops of the model were exercised
    figures = result.to_dict()
    on_time, cards = figures["on_time"] or {}, figures["cards"]
    if not times:
        return dict(on_time)
    starts = process.time_limit.starts_after if process.time_limit else None
    clocked = sum(1 for t in traces if starts is None or starts in t["path"])
    late = {
        limit: sum(
            1 for r in report.results if any(f.rule == "case-overdue" and limit in f.message for f in r.findings)
        )
        for limit in ("promised", "statutory")
    }
    for limit in [k for k, v in on_time.items() if v is not None]:
        assert 1 - late[limit] / clocked == pytest.approx(on_time[limit], abs=1e-9), limit
    if cards is not None:
        assert cards["red"] == late["promised" if on_time.get("promised") is not None else "statutory"]
    return dict(on_time)


SKIP_NO_SIMULATOR = pytest.mark.skipif(
    _simulation() is None, reason="approvalflow.simulation.simulate does not exist yet"
)
SKIP_NO_EXAMPLES = pytest.mark.skipif(not EXAMPLES, reason="examples/simulation/*.yaml do not exist yet")


@pytest.mark.slow
@SKIP_NO_SIMULATOR
@SKIP_NO_EXAMPLES
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_simulated_traces_replay_on_the_engine(example: Path) -> None:
    _agree(example, 200)


@pytest.mark.slow
@SKIP_NO_SIMULATOR
@pytest.mark.skipif(not (ROOT / "examples" / "simulation" / "general_licensing.yaml").exists(), reason="no example yet")
def test_late_cases_agree_under_load(tmp_path: Path) -> None:
    """With one reviewer for three applications a day most cases run late (超期): the engine, replaying every
    simulated case at its simulated moments, finds exactly the late cases the simulator counted."""
    on_time = _agree(_overloaded(ROOT / "examples" / "simulation" / "general_licensing.yaml", tmp_path), 200)
    assert 0 < on_time["promised"] <= on_time["statutory"] < 1  # some late, some not: the check has teeth


# Models of other processes of the library, written here so that the agreement covers parallel review (并联审批),
# a loop, a collective decision that passes or fails (集体讨论决定) and af:minDuration (征求意见期不少于30日).
JOINT = """
name: 并联审批 agreement
process: {root}/processes/joint/joint_approval.bpmn
org: {root}/processes/org/sample_county.yaml
unit: approval-bureau
start: 2025-03-03
arrivals: {{per_day: 2}}
steps:
  accept: 20
  review_market: {{dist: exponential, mean: 3, unit: hours}}
  review_environment: {{dist: exponential, mean: 6, unit: hours}}
  review_construction: {{dist: exponential, mean: 4, unit: hours}}
  extend: 20
  decide: 60
  deliver: 20
branches:
  gw_extension: {{f_gwx_extend: 0.2, f_gwx_join: 0.8}}
"""
MAJOR = """
name: 重大行政决策 agreement
process: {root}/processes/decision/major_decision.bpmn
org: {root}/processes/org/sample_county.yaml
unit: county-government
start: 2024-01-08
arrivals: {{per_day: 0.1}}
steps:
  draft: {{dist: exponential, mean: 5, unit: hours}}
  public_participation: {{duration: 60, after: {{dist: uniform, min: 20, max: 40, unit: days}}}}
  expert_review: {{dist: exponential, mean: 10, unit: hours}}
  risk_assessment: {{dist: exponential, mean: 10, unit: hours}}
  legality_review: {{dist: uniform, min: 5, max: 12, unit: hours}}
  collective_decision: 120
  publish: 60
  archive: 30
branches:
  gw_comment_days: {{f_public_join: 0.7, f_comment_again: 0.3}}
  gw_decided: {{f_decided_publish: 0.8, f_decided_archive: 0.2}}
"""


def _model(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(text.format(root=ROOT.as_posix()), encoding="utf-8")
    return path


@pytest.mark.slow
@SKIP_NO_SIMULATOR
def test_parallel_review_agrees(tmp_path: Path) -> None:
    on_time = _agree(_model(tmp_path, JOINT), 150)
    assert 0 < on_time["promised"] < 1  # some cases late: the comparison of late cases has teeth


@pytest.mark.slow
@SKIP_NO_SIMULATOR
def test_major_decision_paths_agree(tmp_path: Path) -> None:
    """Loops of 公众参与, three parallel procedures and meetings that pass or fail: the same paths on the engine."""
    _agree(_model(tmp_path, MAJOR), 40, times=False)


@pytest.mark.slow
@SKIP_NO_SIMULATOR
def test_major_decision_agrees_at_the_simulated_moments(tmp_path: Path) -> None:
    _agree(_model(tmp_path, MAJOR), 40)
