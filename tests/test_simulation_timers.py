"""The simulator runs timers as the engine fires them on the case clock, and replay through the engine agrees.

The process (tests/data/sim_mi/timers.bpmn): 收件 (receive, clerk, 10 min), an intermediate timer ``cooling``
(PT3H), 审查 (review, expert) with two boundary timers, ``remind`` (non-interrupting, PT2H: 督办提醒 urge, clerk,
10 min, on a token of its own) and ``late`` (interrupting, PT5H: 报请领导 escalate, leader, 30 min), then 决定
(decide, leader, 10 min). Around the clock, every day, cases three days apart, unless a test says otherwise.

So review is ready at minute 10 + 180 = 190; remind is due at 190 + 120 = 310 and late at 190 + 300 = 490. The
expected values below are reasoned from these numbers; a completion at the moment a timer is due comes after the
timer, as in the engine (which fires what is due before an action).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import load_organisation, load_process
from approvalflow.errors import BpmnError, DefinitionError
from approvalflow.simulation import load_simulation_model, simulate
from approvalflow.simulation.replay import replay_traces

DATA = Path(__file__).parent / "data" / "sim_mi"
ORG = DATA / "org.yaml"
TIMERS = DATA / "timers.bpmn"
APART = {"interarrival": {"dist": "fixed", "value": 3, "unit": "days"}}
EVERY = {"days": "every-day", "hours": "24h"}


def _model(tmp: Path, review: Any, *, bpmn: Path = TIMERS, experts: int = 10, **more: Any) -> Path:
    data: dict[str, Any] = {
        "process": str(bpmn),
        "org": str(ORG),
        "unit": "bureau",
        "staff": {"clerk": 10, "expert": experts, "leader": 10},
        "start": "2026-03-02",
        "calendar": EVERY,
        "arrivals": APART,
        "steps": {"receive": 10, "review": review, "urge": 10, "escalate": 30, "decide": 10},
        **more,
    }
    path = tmp / "model.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _run(model: Path, cases: int, seed: int = 5) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    result = simulate(load_simulation_model(model), cases=cases, seed=seed, keep_traces=cases)
    return result.to_dict(), list(result.traces)


def _replay(bpmn: Path, traces: list[dict[str, Any]], start: str = "2026-03-02T00:00:00+08:00") -> None:
    """Every trace replays with no divergence: same path, same timers fired at the same moments."""
    report = replay_traces(load_process(bpmn), load_organisation(ORG), traces, unit="bureau", start=start)
    assert report.all_accepted, report.summary()
    for replayed, trace in zip(report.results, traces, strict=True):
        assert list(replayed.path) == trace["path"]


def _minutes(values: list[float]) -> list[int]:
    return [round(v * 60) for v in values]


def test_an_intermediate_timer_waits_its_duration(tmp_path: Path) -> None:
    """review of 60 min (done before any boundary timer): 10 + 180 + 60 + 10 = 260 min; cooling fires at 190."""
    _figures, traces = _run(_model(tmp_path, 60), 5)
    for t in traces:
        assert t["path"] == ["receive", "review", "decide"]
        assert _minutes(t["times"]) == [10, 250, 260]
        assert {k: _minutes(v) for k, v in t["timers"].items()} == {"cooling": [190]}


def test_an_interrupting_boundary_timer_cancels_an_eight_hour_task_at_five_hours(tmp_path: Path) -> None:
    """review of 8 h: remind fires at 310 (urge to 320); late fires at 490 and cancels review (never completed);
    escalate 490-520, decide 520-530. The expert was busy 5 h per case: review's count is 0."""
    figures, traces = _run(_model(tmp_path, 480), 5)
    for t in traces:
        assert t["path"] == ["receive", "urge", "escalate", "decide"]
        assert _minutes(t["times"]) == [10, 320, 520, 530]
        assert {k: _minutes(v) for k, v in t["timers"].items()} == {"cooling": [190], "remind": [310], "late": [490]}
    assert figures["steps"]["review"]["count"] == 0


def test_the_interrupted_work_counts_and_frees_the_expert(tmp_path: Path) -> None:
    """One expert, two cases a minute apart, review of 8 h. Case 1's review runs from 190 and is cancelled at 490:
    the expert is free then (not at 670), takes case 2's review (ready at 191) at 490, which is cancelled at its own
    due moment 191 + 300 = 491. Busy: 300 + 1 min, over the window from the first arrival (0) to the last completion
    (case 2's decide, 1 + 530 = 531)."""
    model = _model(tmp_path, 480, experts=1, arrivals={"interarrival": {"dist": "fixed", "value": 1}})
    figures, traces = _run(model, 2)
    assert [_minutes(t["times"])[-1] for t in traces] == [530, 530]
    assert figures["utilization"]["expert"] == pytest.approx(301 / 531)


def test_a_non_interrupting_boundary_timer_starts_a_second_token(tmp_path: Path) -> None:
    """review of 3 h: remind at 310 starts urge (to 320) while review goes on to 370; decide to 380."""
    _figures, traces = _run(_model(tmp_path, 180), 5)
    for t in traces:
        assert t["path"] == ["receive", "urge", "review", "decide"]
        assert _minutes(t["times"]) == [10, 320, 370, 380]


@pytest.mark.parametrize(("review", "path"), [(120, ["receive", "review", "urge", "decide"]),
                                              (300, ["receive", "urge", "escalate", "decide"])])  # fmt: skip
def test_a_timer_due_at_the_completion_fires_first(tmp_path: Path, review: int, path: list[str]) -> None:
    """review of exactly 2 h ends at 310, when remind is due: remind fires (urge runs); review of exactly 5 h ends at
    490, when late is due: late fires first and cancels it. Both replay on the engine."""
    _figures, traces = _run(_model(tmp_path, review), 3)
    assert all(t["path"] == path for t in traces)
    _replay(TIMERS, traces)


def test_a_timer_of_working_days_counts_china_s_calendar(tmp_path: Path) -> None:
    """cooling as af:timer workdays="5", from 2026-09-29 (Tuesday): the working days after it are 09-30, 10-08,
    10-09, 10-10 (Saturday, a 调休 working day) and 10-12 (the National Day holidays are 10-01..10-07), so it fires
    at the end of 10-12, 2026-10-13 00:00: 14 days (336 h) after the first case arrived at midnight of 09-29."""
    text = TIMERS.read_text(encoding="utf-8").replace(
        '<bpmn:intermediateCatchEvent id="cooling" name="冷静期">\n'
        '      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT3H"</bpmn:timeDuration></bpmn:timerEventDefinition>',
        '<bpmn:intermediateCatchEvent id="cooling" name="冷静期">\n'
        '      <bpmn:extensionElements><af:timer workdays="5"/></bpmn:extensionElements>\n'
        "      <bpmn:timerEventDefinition/>",
    )
    bpmn = tmp_path / "workdays.bpmn"
    bpmn.write_text(text, encoding="utf-8")
    model = _model(tmp_path, 60, bpmn=bpmn, start="2026-09-29", calendar={"days": "china", "hours": "24h"})
    _figures, traces = _run(model, 1)
    assert traces[0]["arrival"] == 0
    assert traces[0]["timers"] == {"cooling": [pytest.approx(336)]}
    _replay(bpmn, traces, start="2026-09-29T00:00:00+08:00")


@pytest.mark.parametrize("experts", [1, 2, 4])
def test_simulated_timers_replay_on_the_engine(tmp_path: Path, experts: int) -> None:
    """Hundreds of cases, drawn review times (exponential, mean 3 h), queues at few experts, office hours on China's
    calendar: some reviews finish early, some get a reminder, some are cancelled; every trace replays."""
    model = _model(tmp_path, {"dist": "exponential", "mean": 3, "unit": "hours"}, experts=experts,
                   calendar={"days": "china", "hours": ["09:00-12:00", "13:30-17:30"]},
                   arrivals={"per_day": 2})  # fmt: skip
    _figures, traces = _run(model, 200)
    paths = {tuple(t["path"]) for t in traces}
    assert {("receive", "review", "decide"), ("receive", "urge", "escalate", "decide")} <= paths
    _replay(TIMERS, traces)


def test_replay_has_teeth_on_timers(tmp_path: Path) -> None:
    """A trace that says a timer fired at another moment diverges."""
    _figures, traces = _run(_model(tmp_path, 60), 1)
    wrong = {**traces[0], "timers": {"cooling": [traces[0]["timers"]["cooling"][0] + 1]}}
    report = replay_traces(load_process(TIMERS), load_organisation(ORG), [wrong], unit="bureau",
                           start="2026-03-02T00:00:00+08:00")  # fmt: skip
    assert not report.all_accepted
    assert "timers fired differ" in report.summary()


def test_an_after_wait_before_a_timer_is_refused(tmp_path: Path) -> None:
    model = _model(tmp_path, 60)
    data = yaml.safe_load(model.read_text(encoding="utf-8"))
    data["steps"]["receive"] = {"duration": 10, "after": 30}
    model.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(BpmnError, match="after") as caught:
        simulate(load_simulation_model(model), cases=2, seed=1)
    assert caught.value.element == "receive"


def test_a_boundary_timer_on_a_signed_step_is_refused(tmp_path: Path) -> None:
    text = TIMERS.read_text(encoding="utf-8").replace(
        '<af:step posts="expert"/></bpmn:extensionElements>',
        '<af:step posts="expert"/></bpmn:extensionElements>\n      <bpmn:multiInstanceLoopCharacteristics>'
        "<bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>",
    )
    bpmn = tmp_path / "signed.bpmn"
    bpmn.write_text(text, encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if 'id="remind"' in s)
    with pytest.raises(BpmnError, match="tasks only") as caught:
        load_simulation_model(_model(tmp_path, 60, bpmn=bpmn))
    assert (caught.value.element, caught.value.line) == ("remind", line)


def test_signed_steps_and_timers_beside_a_terminate_end_event_replay(tmp_path: Path) -> None:
    """The terminate process of tests/data/sim_constructs (quick ends the case; slow, then after_slow, on the other
    branch), with slow signed by two reviewers (会签 of 2, 80% approval) and a PT30M timer before
    after_slow: walked in time order, the terminate cancels signatures and waits still open; every trace replays."""
    src = (Path(__file__).parent / "data" / "sim_constructs" / "terminate.bpmn").read_text(encoding="utf-8")
    src = src.replace(
        "<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>",
        "<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing><bpmn:multiInstanceLoopCharacteristics>"
        "<bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>",
    ).replace(
        '<bpmn:sequenceFlow id="f5" sourceRef="slow" targetRef="after_slow"/>',
        '<bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT30M"'
        "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        '<bpmn:sequenceFlow id="f5" sourceRef="slow" targetRef="pause"/>'
        '<bpmn:sequenceFlow id="f5b" sourceRef="pause" targetRef="after_slow"/>',
    )
    bpmn = tmp_path / "terminate.bpmn"
    bpmn.write_text(src, encoding="utf-8")
    org = Path(__file__).parent.parent / "processes" / "org" / "sample_county.yaml"
    seen: set[tuple[str, ...]] = set()
    for quick in (30, 90, 200):
        model = tmp_path / "model.yaml"
        model.write_text(yaml.safe_dump({
            "process": str(bpmn), "org": str(org), "unit": "market-bureau", "staff": {"clerk": 2, "reviewer": 2},
            "start": "2026-03-02", "calendar": EVERY, "arrivals": {"per_day": 4},
            "steps": {"quick": quick, "slow": {"duration": {"dist": "exponential", "mean": 60}, "approve": 0.8},
                      "after_slow": 30},
        }), encoding="utf-8")  # fmt: skip
        _figures, traces = _run(model, 100)
        seen |= {tuple(t["path"]) for t in traces}
        report = replay_traces(load_process(bpmn), load_organisation(org), traces, unit="market-bureau",
                               start="2026-03-02T00:00:00+08:00")  # fmt: skip
        assert report.all_accepted, report.summary()
    assert ("slow", "slow", "after_slow", "quick") in seen and ("quick",) in seen


def test_a_timer_date_is_placed_on_the_simulated_time_axis(tmp_path: Path) -> None:
    """cooling waits until 2026-03-05 10:00 (timeDate). Cases arrive at midnight of 03-02, 03-05 and 03-08 (three
    days apart): the first waits until 82 h after its arrival, the second until 10 h after it, and for the third the
    date is past, so cooling fires at once when receive ends (10 min): as the engine fires a past date."""
    text = TIMERS.read_text(encoding="utf-8").replace(
        '<bpmn:timeDuration>"PT3H"</bpmn:timeDuration>', '<bpmn:timeDate>"2026-03-05T10:00:00+08:00"</bpmn:timeDate>'
    )
    bpmn = tmp_path / "date.bpmn"
    bpmn.write_text(text, encoding="utf-8")
    _figures, traces = _run(_model(tmp_path, 60, bpmn=bpmn), 3)
    assert [t["arrival"] for t in traces] == [0, 72, 144]
    assert [_minutes(t["timers"]["cooling"]) for t in traces] == [[82 * 60], [10 * 60], [10]]
    _replay(bpmn, traces)


@pytest.mark.parametrize("expression", ["2026-03-05T10:00:00+08:00", '"PT1.5H30M"', '"soon"', "PT3H"])
def test_a_timer_expression_the_simulator_cannot_read_as_the_engine_is_refused(tmp_path: Path, expression: str) -> None:
    """Unquoted, a fraction before the last part, or no ISO 8601 value: refused at the event, as the engine's loader
    refuses them (checked against load_process)."""
    tag = "timeDate" if "2026" in expression else "timeDuration"
    text = TIMERS.read_text(encoding="utf-8").replace(
        '<bpmn:timeDuration>"PT3H"</bpmn:timeDuration>', f"<bpmn:{tag}>{expression}</bpmn:{tag}>"
    )
    bpmn = tmp_path / "bad.bpmn"
    bpmn.write_text(text, encoding="utf-8")
    with pytest.raises(BpmnError, match="the timer expression") as caught:
        load_simulation_model(_model(tmp_path, 60, bpmn=bpmn))
    assert caught.value.element == "cooling"
    with pytest.raises(DefinitionError) as engine:
        load_process(bpmn)
    assert engine.value.element == "cooling"
    assert engine.value.message in caught.value.message  # one check, one message (bpmn.timers.timer_problems)


def test_a_fraction_of_a_second_runs_as_in_the_engine(tmp_path: Path) -> None:
    """ "PT0.5S" (a fraction in the last part, which the engine accepts): cooling fires half a second after 10 min."""
    text = TIMERS.read_text(encoding="utf-8").replace('"PT3H"', '"PT0.5S"')
    bpmn = tmp_path / "fraction.bpmn"
    bpmn.write_text(text, encoding="utf-8")
    _figures, traces = _run(_model(tmp_path, 60, bpmn=bpmn), 2)
    assert traces[0]["timers"]["cooling"] == [pytest.approx((600 + 0.5) / 3600)]
    _replay(bpmn, traces)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    remind=st.integers(min_value=1, max_value=8),
    late=st.integers(min_value=1, max_value=8),
    remind_interrupts=st.booleans(),
    late_interrupts=st.booleans(),
    experts=st.integers(min_value=1, max_value=3),
)
def test_random_timer_models_replay_without_divergence(
    tmp_path: Path, remind: int, late: int, remind_interrupts: bool, late_interrupts: bool, experts: int
) -> None:
    """Any durations of the two boundary timers (hours), either interrupting or not, few experts: every simulated
    trace replays on the engine with the same path and the same timer firings."""
    text = TIMERS.read_text(encoding="utf-8").replace('"PT2H"', f'"PT{remind}H"').replace('"PT5H"', f'"PT{late}H"')
    text = text.replace('attachedToRef="review" cancelActivity="false"',
                        f'attachedToRef="review" cancelActivity="{str(remind_interrupts).lower()}"')  # fmt: skip
    text = text.replace('<bpmn:boundaryEvent id="late" name="超时" attachedToRef="review">',
                        f'<bpmn:boundaryEvent id="late" name="超时" attachedToRef="review" '
                        f'cancelActivity="{str(late_interrupts).lower()}">')  # fmt: skip
    bpmn = tmp_path / "random.bpmn"
    bpmn.write_text(text, encoding="utf-8")
    model = _model(tmp_path, {"dist": "exponential", "mean": 3, "unit": "hours"}, bpmn=bpmn, experts=experts,
                   arrivals={"per_day": 4})  # fmt: skip
    _figures, traces = _run(model, 15, seed=remind * 10 + late)
    _replay(bpmn, traces)
