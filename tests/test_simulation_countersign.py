"""The simulator runs signed multi-instance steps (会签, 或签, 依次审批, 票签) as the engine runs them.

The process (tests/data/sim_mi/review.bpmn, varied per test): 收件 (receive, clerk), 专家评审 (expert_review, a
multi-instance step of the expert post), then gw_review takes f_passed when ``expert_review_passed == True`` (决定,
decide, leader) and its default f_rejected otherwise (不予许可告知, refuse, clerk). The gateway follows the signing
decision (a ``follow`` node), so the model gives it no branch probabilities.

Expected values are reasoned from the model: fixed durations, cases three days apart (nobody queues behind another
case unless a test says so), each signer agreeing with probability ``approve``. The replay tests drive every
simulated trace through the engine (each instance signed by a distinct expert, with the simulated opinion).
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import load_organisation, load_process
from approvalflow.errors import BpmnError
from approvalflow.simulation import load_simulation_model, simulate
from approvalflow.simulation.model import SimulationModelError
from approvalflow.simulation.replay import replay_traces

DATA = Path(__file__).parent / "data" / "sim_mi"
ORG = DATA / "org.yaml"
REVIEW = DATA / "review.bpmn"
EPOCH = "2026-03-02T00:00:00+08:00"  # midnight of the models' start date: the traces' hours count from it
APART = {"interarrival": {"dist": "fixed", "value": 3, "unit": "days"}}
COUNTERSIGN = '<af:countersign mode="all"/>'
LOOP = '<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
CARDINALITY = "<bpmn:loopCardinality>3</bpmn:loopCardinality>"


def _process(
    tmp: Path, *, mode: str = "all", sequential: bool = False, count: str = "3", extra: str = "", condition: str = ""
) -> Path:
    """review.bpmn with another countersign: ``extra`` attributes (e.g. ``pass="2/3"``), ``count`` signers."""
    text = REVIEW.read_text(encoding="utf-8")
    text = text.replace(COUNTERSIGN, f'<af:countersign mode="{mode}" {extra}/>')
    text = text.replace(LOOP, f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">')
    text = text.replace(CARDINALITY, f"<bpmn:loopCardinality>{count}</bpmn:loopCardinality>" if count else "")
    if condition:
        text = text.replace("expert_review_passed == True", condition)
    path = tmp / "review.bpmn"
    path.write_text(text, encoding="utf-8")
    return path


def _model(tmp: Path, bpmn: Path, review: dict[str, Any], *, experts: int = 10, **more: Any) -> Path:
    """Fixed durations (minutes): receive 10, decide 10, refuse 10; ``review`` the expert_review entry."""
    data: dict[str, Any] = {
        "process": str(bpmn),
        "org": str(ORG),
        "unit": "bureau",
        "staff": {"clerk": 10, "expert": experts, "leader": 10},
        "start": "2026-03-02",
        "calendar": {"days": "every-day", "hours": "24h"},
        "arrivals": APART,
        "steps": {"receive": 10, "expert_review": review, "decide": 10, "refuse": 10},
        **more,
    }
    path = tmp / "model.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _run(model: Path, cases: int, seed: int = 3) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    result = simulate(load_simulation_model(model), cases=cases, seed=seed, keep_traces=cases)
    return result.to_dict(), list(result.traces)


def _replay(bpmn: Path, traces: list[dict[str, Any]]) -> None:
    """Every trace replays on the engine with no divergence, along the same path."""
    report = replay_traces(load_process(bpmn), load_organisation(ORG), traces, unit="bureau", start=EPOCH)
    assert report.all_accepted, report.summary()
    for replayed, trace in zip(report.results, traces, strict=True):
        assert list(replayed.path) == trace["path"]


def _minutes(trace: dict[str, Any]) -> float:
    return float(trace["times"][-1]) * 60


# -- hand-computed cycle times ----------------------------------------------------------------------------------
def test_countersign_all_agree_ends_with_the_last_signature(tmp_path: Path) -> None:
    """会签 of 3, each 2 h, 10 experts: the three sign at once, at 2 h; cycle 10 + 120 + 10 = 140 min; the step
    is done three times (each signature) with 2 h of work each."""
    figures, traces = _run(_model(tmp_path, REVIEW, {"duration": 120, "approve": 1.0}), 20)
    assert {tuple(t["path"]) for t in traces} == {("receive", *["expert_review"] * 3, "decide")}
    assert all(_minutes(t) == pytest.approx(140) for t in traces)
    assert figures["steps"]["expert_review"]["count"] == 60
    assert figures["steps"]["expert_review"]["processing_hours_mean"] == pytest.approx(2.0)
    assert all(sorted(i for i, _o in t["signatures"]["expert_review"]) == [0, 1, 2] for t in traces)


def test_countersign_with_one_expert_signs_one_after_another(tmp_path: Path) -> None:
    """The same 会签 with one expert: the instances queue at once and are signed 2, 4 and 6 h after the step is
    ready (minutes 130, 250, 370); decide ends at 380. They waited 0, 2 and 4 h."""
    figures, traces = _run(_model(tmp_path, REVIEW, {"duration": 120}, experts=1), 10)
    assert all(_minutes(t) == pytest.approx(380) for t in traces)
    assert [round(x * 60) for x in traces[0]["times"]] == [10, 130, 250, 370, 380]
    assert figures["steps"]["expert_review"]["waiting_hours_mean"] == pytest.approx((0 + 2 + 4) / 3)


def test_sequential_signing_adds_up(tmp_path: Path) -> None:
    """依次审批 of 3, each 2 h, 10 experts: one after another, 2 + 2 + 2 = 6 h; 10 + 360 + 10 = 380 min; the
    instances in the order given (0, 1, 2)."""
    bpmn = _process(tmp_path, mode="sequence", sequential=True)
    _figures, traces = _run(_model(tmp_path, bpmn, {"duration": 120}), 10)
    assert all(_minutes(t) == pytest.approx(380) for t in traces)
    assert all(t["signatures"]["expert_review"] == [[0, "agree"], [1, "agree"], [2, "agree"]] for t in traces)


def test_or_signing_decides_at_the_first_approval_and_frees_the_experts(tmp_path: Path) -> None:
    """或签 of 3 with one expert: instance 0 signs at 2 h and passes; 1 and 2, never started, are cancelled and
    take nobody's time: the expert worked 2 h per case (processing 2 h), and the case took 140 min."""
    bpmn = _process(tmp_path, mode="any")
    figures, traces = _run(_model(tmp_path, bpmn, {"duration": 120}, experts=1), 10)
    assert {tuple(t["path"]) for t in traces} == {("receive", "expert_review", "decide")}
    assert all(_minutes(t) == pytest.approx(140) for t in traces)
    assert figures["steps"]["expert_review"]["processing_hours_mean"] == pytest.approx(2.0)


def test_a_cancelled_instance_frees_its_signer_for_the_next_case(tmp_path: Path) -> None:
    """或签 of 3 with one expert, two cases one minute apart. Case 1's instance 0 runs from minute 10 to 130 and
    decides; its instances 1 and 2 are cancelled before they start, so the expert takes case 2's instance 0 at
    minute 130 (not at 370, after work that is never done): case 2 ends at 130 + 120 + 10 = 260, 259 minutes after
    it arrived."""
    bpmn = _process(tmp_path, mode="any")
    model = _model(tmp_path, bpmn, {"duration": 120}, experts=1,
                   arrivals={"interarrival": {"dist": "fixed", "value": 1}})  # fmt: skip
    _figures, traces = _run(model, 2)
    assert [round(_minutes(t)) for t in traces] == [140, 259]


def test_or_signing_stops_the_instances_in_progress(tmp_path: Path) -> None:
    """或签 of 3 with 10 experts, durations 2, 3 or 4 h (drawn): the three start at once; the first to sign (the
    shortest, t) decides; the other two stop at t, so each case's processing is 3 t, and its one signature is at
    10 + 60 t minutes."""
    bpmn = _process(tmp_path, mode="any")
    figures, traces = _run(_model(tmp_path, bpmn, {"duration": {"dist": "empirical", "values": [2, 3, 4],
                                                                "unit": "hours"}}), 60)  # fmt: skip
    firsts = [t["times"][1] for t in traces]
    assert {round(f, 6) for f in firsts} <= {round(10 / 60 + h, 6) for h in (2, 3, 4)}
    assert figures["steps"]["expert_review"]["count"] == 60
    mean_first = sum(f - 10 / 60 for f in firsts) / len(firsts)
    assert figures["steps"]["expert_review"]["processing_hours_mean"] == pytest.approx(3 * mean_first)


def test_countersign_all_agree_with_drawn_durations_ends_at_the_longest(tmp_path: Path) -> None:
    """会签 of 3, durations 2, 3 or 4 h, all agreeing: the step ends with its longest instance, and the three
    signatures are in the order of their durations."""
    figures, traces = _run(_model(tmp_path, REVIEW, {"duration": {"dist": "empirical", "values": [2, 3, 4],
                                                                  "unit": "hours"}}), 60)  # fmt: skip
    for t in traces:
        hours = [round(x - 10 / 60, 6) for x in t["times"][1:4]]
        assert hours == sorted(hours) and set(hours) <= {2.0, 3.0, 4.0}
        assert _minutes(t) == pytest.approx(10 + hours[-1] * 60 + 10)
    mean = sum(sum(round(x - 10 / 60, 6) for x in t["times"][1:4]) for t in traces) / 180
    assert figures["steps"]["expert_review"]["processing_hours_mean"] == pytest.approx(mean)


def test_ratio_signing_passes_at_its_share(tmp_path: Path) -> None:
    """票签 2/3 of 3 with one expert, all agreeing: the second approval (at 4 h) passes; the third is cancelled."""
    bpmn = _process(tmp_path, mode="ratio", extra='pass="2/3"')
    _figures, traces = _run(_model(tmp_path, bpmn, {"duration": 120}, experts=1), 5)
    assert {tuple(t["path"]) for t in traces} == {("receive", "expert_review", "expert_review", "decide")}
    assert all(_minutes(t) == pytest.approx(10 + 240 + 10) for t in traces)


def test_one_disagreement_rejects_a_countersign(tmp_path: Path) -> None:
    """会签 with approve 0: the first signature (instance 0, ties by index) is 不同意 and rejects at 2 h; the
    gateway takes f_rejected; the other two instances stop at 2 h."""
    figures, traces = _run(_model(tmp_path, REVIEW, {"duration": 120, "approve": 0}), 10)
    assert {tuple(t["path"]) for t in traces} == {("receive", "expert_review", "refuse")}
    assert all(t["gateways"] == {"gw_review": ["f_rejected"]} for t in traces)
    assert all(t["signatures"] == {"expert_review": [[0, "disagree"]]} for t in traces)
    assert figures["steps"]["expert_review"]["processing_hours_mean"] == pytest.approx(6.0)


# -- the share of passes: binomial ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "extra", "approve", "passes"),
    [
        ("all", "", 0.8, 0.8**3),  # every one of 3 agrees
        ("any", "", 0.3, 1 - 0.7**3),  # at least one agrees
        ("ratio", 'pass="2/3"', 0.5, 0.5),  # at least 2 of 3: 3 p^2 (1-p) + p^3
    ],
)
def test_the_share_of_passes_is_binomial(tmp_path: Path, mode: str, extra: str, approve: float, passes: float) -> None:
    cases = 2000
    bpmn = _process(tmp_path, mode=mode, extra=extra)
    _figures, traces = _run(_model(tmp_path, bpmn, {"duration": 60, "approve": approve}), cases, seed=11)
    share = sum(t["gateways"]["gw_review"] == ["f_passed"] for t in traces) / cases
    sd = math.sqrt(passes * (1 - passes) / cases)
    assert abs(share - passes) < 4 * sd, (share, passes, sd)


# -- replay agreement --------------------------------------------------------------------------------------------
BUSY = {"arrivals": {"per_day": 6}}  # cases overlap: queues form at the experts
DRAWN = {"dist": "exponential", "mean": 2, "unit": "hours"}
CONSTRUCTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "会签 parallel": ({}, {}),
    "或签 parallel": ({"mode": "any"}, {}),
    "票签 2/3 of 5": ({"mode": "ratio", "extra": 'pass="2/3"', "count": "5"}, {}),
    "依次审批": ({"mode": "sequence", "sequential": True}, {}),
    "或签 one at a time": ({"mode": "any", "sequential": True}, {}),
    "named signers": ({"extra": 'signers="e2 e4 e6"', "count": ""}, {}),
    "signers from case data": ({"extra": 'signersFrom="experts"', "count": ""}, {"signers": 4}),
    "cardinality from case data": ({"count": "n_experts"}, {"signers": 2}),
    "approval count condition": ({"condition": "expert_review_approvals >= 2"}, {}),
}


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_simulated_signing_replays_on_the_engine(tmp_path: Path, name: str) -> None:
    """Hundreds of cases with drawn durations, queues at three experts and a 70% approval: every trace replays."""
    shape, review = CONSTRUCTS[name]
    bpmn = _process(tmp_path, **shape)
    model = _model(tmp_path, bpmn, {"duration": DRAWN, "approve": 0.7, **review}, experts=3, **BUSY)
    _figures, traces = _run(model, 200)
    assert len({tuple(t["path"]) for t in traces}) > 1  # passes and rejections, with several signature counts
    _replay(bpmn, traces)


def test_replay_has_teeth_on_signatures(tmp_path: Path) -> None:
    """A trace whose opinions would not decide as it says diverges, and so does one with a signature too many."""
    _figures, traces = _run(_model(tmp_path, REVIEW, {"duration": 60}), 1)
    wrong = {**traces[0], "signatures": {"expert_review": [[0, "agree"], [1, "disagree"], [2, "agree"]]}}
    extra = {**traces[0], "signatures": {"expert_review": [[0, "agree"], [1, "agree"], [2, "agree"], [0, "agree"]]}}
    report = replay_traces(load_process(REVIEW), load_organisation(ORG), [wrong, extra], unit="bureau", start=EPOCH)
    assert [r.accepted for r in report.results] == [False, False]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    signers=st.integers(min_value=1, max_value=5),
    mode=st.sampled_from(["all", "any", "ratio", "sequence"]),
    sequential=st.booleans(),
    share=st.sampled_from([Fraction(1, 3), Fraction(1, 2), Fraction(2, 3), Fraction(1)]),
    approve=st.sampled_from([0.0, 0.3, 0.7, 1.0]),
    experts=st.integers(min_value=1, max_value=6),
)
def test_random_signing_models_replay_without_divergence(
    tmp_path: Path, signers: int, mode: str, sequential: bool, share: Fraction, approve: float, experts: int
) -> None:
    extra = f'pass="{share}"' if mode == "ratio" else ""
    bpmn = _process(tmp_path, mode=mode, sequential=sequential or mode == "sequence", count=str(signers), extra=extra)
    model = _model(tmp_path, bpmn, {"duration": DRAWN, "approve": approve}, experts=experts, **BUSY)
    _figures, traces = _run(model, 12, seed=signers * 7 + experts)
    _replay(bpmn, traces)


# -- refused by name ---------------------------------------------------------------------------------------------
def test_signers_from_case_data_need_their_number(tmp_path: Path) -> None:
    bpmn = _process(tmp_path, extra='signersFrom="experts"', count="")
    with pytest.raises(SimulationModelError, match=r"steps\.expert_review\.signers") as caught:
        load_simulation_model(_model(tmp_path, bpmn, {"duration": 60}))
    assert caught.value.element == "steps.expert_review"


@pytest.mark.parametrize(
    ("review", "key", "words"),
    [
        ({"duration": 60, "signers": 4}, "steps.expert_review.signers", "BPMN fixes"),
        ({"duration": 60, "approve": 1.5}, "steps.expert_review.approve", "probability"),
    ],
)
def test_bad_signing_keys_are_refused(tmp_path: Path, review: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(SimulationModelError, match=words) as caught:
        load_simulation_model(_model(tmp_path, REVIEW, review))
    assert caught.value.element == key


def test_approve_on_a_step_that_is_not_signed_is_refused(tmp_path: Path) -> None:
    model = _model(tmp_path, REVIEW, {"duration": 60})
    data = yaml.safe_load(model.read_text(encoding="utf-8"))
    data["steps"]["decide"] = {"duration": 10, "approve": 0.5}
    model.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SimulationModelError, match="not one") as caught:
        load_simulation_model(model)
    assert caught.value.element == "steps.decide.approve"


def test_a_gateway_reading_the_decision_and_other_data_is_refused(tmp_path: Path) -> None:
    bpmn = _process(tmp_path, condition="expert_review_passed == True and fee_paid")
    line = next(i for i, s in enumerate(bpmn.read_text(encoding="utf-8").splitlines(), 1) if 'id="gw_review"' in s)
    with pytest.raises(BpmnError, match="fee_paid") as caught:
        load_simulation_model(_model(tmp_path, bpmn, {"duration": 60}))
    assert (caught.value.element, caught.value.line, caught.value.file) == ("gw_review", line, str(bpmn))


def test_branch_probabilities_for_a_gateway_that_follows_the_decision_are_refused(tmp_path: Path) -> None:
    model = _model(tmp_path, REVIEW, {"duration": 60}, branches={"gw_review": {"f_passed": 0.5, "f_rejected": 0.5}})
    with pytest.raises(SimulationModelError, match=r"no exclusive (or inclusive )?split 'gw_review'"):
        load_simulation_model(model)


def test_a_least_duration_on_a_signed_step_is_refused(tmp_path: Path) -> None:
    bpmn = _process(tmp_path)
    text = bpmn.read_text(encoding="utf-8").replace(
        '<af:step posts="expert"/>', '<af:step posts="expert"/><af:minDuration value="3" unit="day"/>'
    )
    bpmn.write_text(text, encoding="utf-8")
    with pytest.raises(BpmnError, match="minDuration") as caught:
        load_simulation_model(_model(tmp_path, bpmn, {"duration": 60}))
    assert caught.value.element == "expert_review"
