"""The simulation kernel against queueing theory and exact answers.

Where a result is random, the tolerance comes from the run itself: R independent replications give R means whose
spread estimates the standard error, and the check allows four standard errors (a false alarm about 1 in 15,000
runs at a fixed seed, i.e. never, since the seeds are fixed); utilisation also gets a bound from the sample size.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from approvalflow.simulation import SimulationError, SimulationModel, load_simulation_model, simulate

from .simulation_fixtures import ALWAYS, bpmn, serial, write_model


def replicate(model: SimulationModel, cases: int, reps: int, key: tuple[str, ...]) -> tuple[float, float]:
    """Mean of ``key`` over ``reps`` replications with seeds 1..reps, and its standard error."""
    values = []
    for seed in range(1, reps + 1):
        d: Any = simulate(model, cases=cases, seed=seed).to_dict()
        for k in key:
            d = d[k]
        values.append(float(d))
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(reps)


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in queue of M/M/c (Erlang C), from the textbook formula."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def mm_model(tmp_path: Path, lam_per_hour: float, servers: int, mean_minutes: float) -> SimulationModel:
    path = write_model(
        tmp_path,
        serial(["work"]),
        {
            "calendar": ALWAYS,
            "staff": {"staff": servers},
            "arrivals": {"per_hour": lam_per_hour},
            "steps": {"work": {"dist": "exponential", "mean": mean_minutes}},
        },
    )
    return load_simulation_model(path)


@pytest.mark.parametrize(("lam", "c"), [(0.5, 1), (2.0, 3)])
def test_mmc_mean_waiting_time_and_utilisation(tmp_path: Path, lam: float, c: int) -> None:
    model = mm_model(tmp_path, lam, c, 60.0)  # mu = 1 per hour
    expected = erlang_c_wait(lam, 1.0, c)  # M/M/1: rho/(mu - lam) = 1 h; M/M/3 with a = 2: 4/9 h
    mean, se = replicate(model, 3000, 8, ("waiting_time_hours", "mean"))
    assert abs(mean - expected) < 4 * se + 0.01, (mean, se, expected)
    result = simulate(model, cases=10000, seed=3).to_dict()
    # busy time / available time; relative error of n service times and n gaps: about sqrt(2/n) = 1.4%
    assert result["utilization"]["staff"] == pytest.approx(lam / c, rel=0.06)
    assert result["cycle_time_hours"]["mean"] == pytest.approx(
        result["waiting_time_hours"]["mean"] + result["processing_time_hours"]["mean"]
    )


def test_fixed_serial_process_has_exact_cycle_time(tmp_path: Path) -> None:
    path = write_model(
        tmp_path,
        serial(["a", "b", "c"]),
        {
            "calendar": ALWAYS,
            "staff": {"staff": 1},
            "arrivals": {"interarrival": {"dist": "fixed", "value": 2, "unit": "hours"}},
            "steps": {"a": 30, "b": 45, "c": {"dist": "fixed", "value": 0.25, "unit": "hours"}},
        },
    )
    d = simulate(load_simulation_model(path), cases=50, seed=1).to_dict()
    # one case every 2 h, 1.5 h of work each: nobody ever waits; every cycle is 30 + 45 + 15 minutes
    for k in ("mean", "p50", "p90", "p99"):
        assert d["cycle_time_hours"][k] == pytest.approx(1.5)
    assert d["waiting_time_hours"]["mean"] == 0
    assert d["utilization"]["staff"] == pytest.approx(50 * 1.5 / (49 * 2 + 1.5))  # first arrival to last end
    assert d["queue_length"]["staff"] == {"mean": 0.0, "max": 0}
    assert d["steps"]["b"] == {"name": "b", "count": 50, "waiting_hours_mean": 0.0, "processing_hours_mean": 0.75}
    assert d["histogram"]["counts"] == [50] or sum(d["histogram"]["counts"]) == 50


def xor_process() -> str:
    return bpmn(
        [("start", "startEvent"), ("gw", "exclusiveGateway"), ("a", "task"), ("b", "task"), ("end", "endEvent")],
        [("f0", "start", "gw"), ("to_a", "gw", "a"), ("to_b", "gw", "b"), ("fa", "a", "end"), ("fb", "b", "end")],
    )


def test_branch_probabilities_give_expected_visit_counts(tmp_path: Path) -> None:
    path = write_model(
        tmp_path,
        xor_process(),
        {
            "calendar": ALWAYS,
            "arrivals": {"per_hour": 1},
            "steps": {"a": 10, "b": 10},
            "branches": {"gw": {"to_a": 0.3, "to_b": 0.7}},
        },
    )
    n = 20000
    d = simulate(load_simulation_model(path), cases=n, seed=5).to_dict()
    count = d["steps"]["a"]["count"]
    assert d["steps"]["a"]["count"] + d["steps"]["b"]["count"] == n
    assert abs(count - 0.3 * n) < 4 * math.sqrt(n * 0.3 * 0.7)  # binomial: 4 standard deviations
    assert d["utilization"] == {}  # tasks without posts need no staff


def rework_process() -> str:
    return bpmn(
        [("start", "startEvent"), ("join", "exclusiveGateway"), ("a", "task"), ("gw", "exclusiveGateway"),
         ("end", "endEvent")],
        [("f0", "start", "join"), ("f1", "join", "a"), ("f2", "a", "gw"), ("again", "gw", "join"),
         ("done", "gw", "end")],
    )  # fmt: skip


def test_rework_loop_visits_are_geometric(tmp_path: Path) -> None:
    p = 0.4
    path = write_model(
        tmp_path,
        rework_process(),
        {
            "calendar": ALWAYS,
            "arrivals": {"per_hour": 1},
            "steps": {"a": 5},
            "branches": {"gw": {"again": p, "done": 0.6}},
        },
    )
    n = 20000
    d = simulate(load_simulation_model(path), cases=n, seed=2, keep_traces=200).to_dict()
    visits = d["steps"]["a"]["count"] / n
    sd = math.sqrt(p / (1 - p) ** 2 / n)  # geometric number of visits: mean 1/(1-p), variance p/(1-p)^2
    assert abs(visits - 1 / (1 - p)) < 4 * sd


def test_traces_are_paths_with_their_decisions(tmp_path: Path) -> None:
    path = write_model(
        tmp_path,
        rework_process(),
        {
            "calendar": ALWAYS,
            "arrivals": {"per_hour": 1},
            "steps": {"a": 5},
            "branches": {"gw": {"again": 0.5, "done": 0.5}},
        },
    )
    result = simulate(load_simulation_model(path), cases=300, seed=4, keep_traces=50)
    assert len(result.traces) == 50
    assert [t["case"] for t in result.traces] == list(range(50))
    for t in result.traces:
        flows = t["gateways"]["gw"]
        assert flows[-1] == "done" and set(flows[:-1]) <= {"again"}  # loop until 'done'
        assert t["path"] == ["a"] * len(flows)
        assert t["times"] == sorted(t["times"])


def parallel_process() -> str:
    return bpmn(
        [("start", "startEvent"), ("a", "task"), ("fork", "parallelGateway"), ("b", "task"), ("c", "task"),
         ("join", "parallelGateway"), ("d", "task"), ("end", "endEvent")],
        [("f0", "start", "a"), ("f1", "a", "fork"), ("f2", "fork", "b"), ("f3", "fork", "c"), ("f4", "b", "join"),
         ("f5", "c", "join"), ("f6", "join", "d"), ("f7", "d", "end")],
    )  # fmt: skip


def test_parallel_branches_join_before_going_on(tmp_path: Path) -> None:
    path = write_model(
        tmp_path,
        parallel_process(),
        {
            "calendar": ALWAYS,
            "arrivals": {"interarrival": {"dist": "fixed", "value": 10, "unit": "hours"}},
            "steps": {"a": 60, "b": 60, "c": 120, "d": 30},
        },
    )
    result = simulate(load_simulation_model(path), cases=20, seed=1, keep_traces=3)
    d = result.to_dict()
    assert d["cycle_time_hours"]["mean"] == pytest.approx(1 + 2 + 0.5)  # a, then the longer of b and c, then d
    assert d["processing_time_hours"]["mean"] == pytest.approx(1 + 1 + 2 + 0.5)  # work summed over branches
    assert result.traces[0]["path"] == ["a", "b", "c", "d"]  # in order of completion


def office_model(tmp_path: Path, start: str, at_hours: float) -> SimulationModel:
    path = write_model(
        tmp_path,
        serial(["work"]),
        {
            "start": start,
            "calendar": {"days": "china", "hours": ["09:00-17:00"]},
            "staff": {"staff": 1},
            "arrivals": {"interarrival": {"dist": "fixed", "value": 30, "unit": "days"}},
            "steps": {"work": {"dist": "fixed", "value": 1, "unit": "hours"}},
        },
    )
    return replace(load_simulation_model(path), start_offset=at_hours * 3600)


def test_work_stops_outside_office_hours_and_on_holidays(tmp_path: Path) -> None:
    # Friday 2026-10-09 16:30: half an hour of work that day; Saturday 2026-10-10 is a working day (调休) in
    # China's 2026 calendar, so the task ends there at 09:30: 17 hours after arrival, one working day later.
    d = simulate(office_model(tmp_path, "2026-10-09", 16.5), cases=1, seed=1).to_dict()
    assert d["cycle_time_hours"]["mean"] == pytest.approx(17.0)
    assert d["cycle_time_working_days"]["mean"] == 1
    # Wednesday 2026-09-30 16:30: National Day holidays run 10-01..10-07, so it ends Thursday 10-08 09:30.
    d = simulate(office_model(tmp_path, "2026-09-30", 16.5), cases=1, seed=1).to_dict()
    assert d["cycle_time_hours"]["mean"] == pytest.approx(7 * 24 + 17.0)
    assert d["cycle_time_working_days"]["mean"] == 1
    assert d["waiting_time_hours"]["mean"] == pytest.approx(0.0)


def test_case_limits_on_time_and_cards(tmp_path: Path) -> None:
    process = bpmn(
        [("start", "startEvent"), ("accept", "userTask"), ("review", "userTask"), ("end", "endEvent")],
        [("f0", "start", "accept"), ("f1", "accept", "review"), ("f2", "review", "end")],
        posts={"accept": "staff", "review": "staff"},
        process_ext='<af:timeLimit statutory="5" promised="2" unit="workday" startsAfter="accept"/>',
    )
    path = write_model(
        tmp_path,
        process,
        {
            "start": "2026-03-02",  # a Monday with no holiday that week
            "calendar": {"days": "china", "hours": ["09:00-17:00"]},
            "staff": {"staff": 1},
            "arrivals": {"interarrival": {"dist": "fixed", "value": 30, "unit": "days"}},
            "steps": {"accept": 60, "review": {"dist": "fixed", "value": 24, "unit": "hours"}},
        },
    )
    model = replace(load_simulation_model(path), start_offset=9 * 3600)
    d = simulate(model, cases=1, seed=1).to_dict()
    # accepted Monday 10:00 (clock starts); 24 working hours of review end Thursday 10:00 (7 + 8 + 8 + 1 h).
    # Promised 2 working days end with Wednesday: late (red, and yellow before). Statutory 5 end Monday next.
    assert d["cycle_time_hours"]["mean"] == pytest.approx(3 * 24 + 1)
    assert d["on_time"] == {"promised": 0.0, "statutory": 1.0}
    assert d["cards"] == {"yellow": 1, "red": 1}


def test_seed_makes_runs_reproducible(tmp_path: Path) -> None:
    model = mm_model(tmp_path, 0.8, 1, 60.0)
    a, b, c = (simulate(model, cases=2000, seed=s).to_dict() for s in (7, 7, 8))
    for d in (a, b, c):
        d.pop("wall_seconds")
    assert a == b
    assert a != c


def test_a_loop_that_never_ends_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import approvalflow.simulation.kernel as kernel

    path = write_model(
        tmp_path,
        rework_process(),
        {
            "calendar": ALWAYS,
            "arrivals": {"per_hour": 1},
            "steps": {"a": 5},
            "branches": {"gw": {"again": 1.0, "done": 0.0}},
        },
    )
    monkeypatch.setattr(kernel, "_EVENTS_PER_CASE", 5)
    monkeypatch.setattr(kernel, "_EVENTS_SLACK", 100)
    with pytest.raises(SimulationError, match="loop"):
        simulate(load_simulation_model(path), cases=10, seed=1)


def test_arrivals_follow_the_hour_and_weekday_profile_and_skip_holidays(tmp_path: Path) -> None:
    from datetime import date, timedelta

    from approvalflow.time.calendar import ChinaCalendar

    path = write_model(
        tmp_path,
        serial(["work"]),
        {
            "start": "2026-09-21",  # a Monday; National Day holidays 10-01..10-07, Saturday 10-10 a working day
            "calendar": {"days": "china", "hours": ["09:00-17:00"]},
            "staff": {"staff": 5},
            "arrivals": {"per_day": 6, "hours": {"9": 1, "10": 1}, "weekday": {"wed": 2}},
            "steps": {"work": 1},
        },
    )
    n = 300
    result = simulate(load_simulation_model(path), cases=n, seed=8, keep_traces=n)
    hours = [t["arrival"] for t in result.traces]
    cal = ChinaCalendar()
    days = [date(2026, 9, 21) + timedelta(int(h // 24)) for h in hours]
    assert all(9 <= h % 24 < 11 for h in hours)  # only in the hours of the profile
    assert all(cal.is_working_day(d) for d in days)  # never on a day off
    assert date(2026, 10, 10) in days  # the 调休 Saturday gets applications
    # rate: 6 a working day, 12 on Wednesdays; the count over the span is Poisson (4 sd is 4 x sqrt(n))
    span = [days[0] + timedelta(k) for k in range((days[-1] - days[0]).days + 1)]
    expected = sum((12 if d.weekday() == 2 else 6) for d in span if cal.is_working_day(d))
    assert abs(n - expected) < 4 * math.sqrt(n) + 12


def test_unsupported_bpmn_is_an_error_naming_file_line_and_element(tmp_path: Path) -> None:
    from approvalflow.errors import BpmnError

    process = bpmn(
        [("start", "startEvent"), ("gw", "complexGateway"), ("a", "task"), ("end", "endEvent")],
        [("f0", "start", "gw"), ("f1", "gw", "a"), ("f2", "a", "end")],
    )
    path = write_model(tmp_path, process, {"calendar": ALWAYS, "arrivals": {"per_hour": 1}, "steps": {"a": 1}})
    with pytest.raises(BpmnError) as info:
        load_simulation_model(path)
    line = next(i for i, t in enumerate(process.splitlines(), 1) if 'id="gw"' in t)
    assert info.value.element == "gw" and info.value.line == line
    assert "complexGateway" in str(info.value) and str(tmp_path / "p.bpmn") in str(info.value)


def test_a_step_with_a_least_duration_stays_open(tmp_path: Path) -> None:
    process = bpmn(
        [("start", "startEvent"), ("consult", "userTask"), ("end", "endEvent")],
        [("f0", "start", "consult"), ("f1", "consult", "end")],
        posts={"consult": "staff"},
        extra={"consult": '<af:minDuration value="2" unit="day"/>'},
    )
    path = write_model(
        tmp_path,
        process,
        {
            "start": "2026-03-02",  # a Monday
            "calendar": {"days": "china", "hours": ["09:00-17:00"]},
            "staff": {"staff": 1},
            "arrivals": {"interarrival": {"dist": "fixed", "value": 30, "unit": "days"}},
            "steps": {"consult": 60},
        },
    )
    d = simulate(replace(load_simulation_model(path), start_offset=9 * 3600), cases=1, seed=1).to_dict()
    # ready Monday 09:00, worked until 10:00; as the engine's min-duration rule reads "2 days" it may complete once
    # the second day after Monday has ended: Thursday 00:00, 63 hours after arrival
    assert d["cycle_time_hours"]["mean"] == pytest.approx(63.0)
    assert d["processing_time_hours"]["mean"] == pytest.approx(1.0)
    assert d["utilization"]["staff"] == pytest.approx(1 / 24)  # 1 h busy of Mon, Tue, Wed 09:00-17:00
