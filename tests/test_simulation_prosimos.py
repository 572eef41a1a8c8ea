"""Reading Prosimos simulation-parameter JSON, with Prosimos's own parameter conventions."""

from __future__ import annotations

import json
import math
import random
import shutil
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from approvalflow.simulation import SimulationModelError, load_simulation_model, simulate
from approvalflow.simulation.calendars import DAY

from .conftest import ROOT

BENCH = ROOT / "bench" / "prosimos-approval"


def test_the_24_7_model_is_read_with_prosimos_conventions() -> None:
    m = load_simulation_model(BENCH / "approval_params_247.json")
    assert m.graph.file == str(BENCH / "approval.bpmn")  # the only .bpmn next to the JSON
    assert [(p.name, p.count, p.hours) for p in m.pools] == [
        ("pool_clerk", 2, None),  # 00:00:00-23:59:59 every day is read as around the clock
        ("pool_reviewer", 3, None),
        ("pool_manager", 1, None),
    ]
    steps = {m.graph.nodes[m.graph.index[k]].id: s for k, s in m.steps.items()}
    assert steps["review"].pool == "pool_reviewer"
    accept = steps["accept"].duration  # lognorm [mean 600, variance 300^2, min 60, max 3600]
    assert (accept.kind, accept.mean, accept.sd, accept.low, accept.high) == ("lognormal", 600, 300, 60, 3600)
    supplement = steps["supplement"].duration  # expon [mean 900, min 60, max 7200]: 60 + Exp(840)
    assert (supplement.kind, supplement.mean, supplement.shift, supplement.high) == ("exponential", 900, 60, 7200)
    gamma = steps["review"].duration
    assert (gamma.kind, gamma.mean, gamma.sd) == ("gamma", 2700, 900)
    assert m.arrivals.interarrival is not None and m.arrivals.interarrival.mean == 1800
    assert m.graph.index and m.branches["gw_split"] == {"f_split_supplement": 0.2, "f_split_review": 0.8}
    assert m.days is None


def test_distributions_match_their_prosimos_parameters() -> None:
    m = load_simulation_model(BENCH / "approval_params_247.json")
    steps = {m.graph.nodes[m.graph.index[k]].id: s.duration for k, s in m.steps.items()}
    rng = random.Random(11)
    n = 40000
    for step, mean, sd, lo, hi in (
        ("accept", 600, 300, 60, 3600),  # lognormal mean and sd are those of the duration itself
        ("review", 2700, 900, 300, 14400),  # gamma: shape (2700/900)^2 = 9, scale 300
        ("decide", 900, 300, 120, 3600),  # normal
    ):
        xs = steps[step].batch(rng)(n)
        assert min(xs) >= lo and max(xs) <= hi
        # truncation moves the mean by much less than 1% here; allow 4 standard errors plus 1%
        assert abs(statistics.fmean(xs) - mean) < 4 * sd / math.sqrt(n) + 0.01 * mean
        assert statistics.stdev(xs) == pytest.approx(sd, rel=0.05)
    xs = steps["supplement"].batch(rng)(n)
    assert min(xs) >= 60 and statistics.fmean(xs) == pytest.approx(900, rel=0.02)
    xs = steps["deliver"].batch(rng)(n)
    assert min(xs) >= 120 and max(xs) <= 480 and statistics.fmean(xs) == pytest.approx(300, rel=0.01)


def test_the_weekday_model_reads_office_hours() -> None:
    m = load_simulation_model(BENCH / "approval_params_weekday.json")
    hours = m.pools[0].hours
    assert hours is not None
    assert hours.weekly[0] == ((9 * 3600.0, 17 * 3600.0),) and hours.weekly[5] == ()
    assert m.arrivals.calendar == hours
    d = simulate(m, cases=300, seed=1).to_dict()
    assert d["cycle_time_working_days"] is None  # a Prosimos model has no working-day calendar
    assert 0 < d["utilization"]["pool_reviewer"] < 1


def test_utilisation_matches_the_offered_load() -> None:
    # clerks: 1.25 x 600 + 0.25 x 900 + 300 = 1275 s of work per case every 1800 s, shared by 2
    d = simulate(load_simulation_model(BENCH / "approval_params_247.json"), cases=20000, seed=2).to_dict()
    assert d["utilization"]["pool_clerk"] == pytest.approx(1275 / 1800 / 2, rel=0.03)
    assert d["utilization"]["pool_reviewer"] == pytest.approx(2700 / 1800 / 3, rel=0.03)
    assert d["utilization"]["pool_manager"] == pytest.approx(900 / 1800, rel=0.03)


def _copy(tmp_path: Path, change: Callable[[dict[str, Any]], object]) -> Path:
    data = json.loads((BENCH / "approval_params_247.json").read_text(encoding="utf-8"))
    change(data)
    shutil.copy(BENCH / "approval.bpmn", tmp_path / "approval.bpmn")
    path = tmp_path / "params.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "where", "what"),
    [
        (lambda d: d["task_resource_distribution"][2]["resources"][0].update(distribution_name="weibull"),
         "task_resource_distribution[2].resources[0].distribution_name", "not supported"),
        (lambda d: d["task_resource_distribution"][0]["resources"][0]["distribution_params"].pop(),
         "task_resource_distribution[0].resources[0].distribution_params", "needs 4 parameters"),
        (lambda d: d["resource_profiles"][1]["resource_list"][0].update(calendar="nope"),
         "resource_profiles[1].resource_list[0].calendar", "no resource calendar 'nope'"),
        (lambda d: d["resource_calendars"][0]["time_periods"][0].update(beginTime="9 o'clock"),
         "resource_calendars[0].time_periods[0].beginTime", "not a time"),
        (lambda d: d.pop("arrival_time_distribution"), "arrival_time_distribution", "missing"),
        (lambda d: d["gateway_branching_probabilities"][0]["probabilities"][0].update(path_id="f_x"),
         "gateway_branching_probabilities[0]", "f_x"),
        (lambda d: d.update(batch_processing=[{"task_id": "review"}]), "batch_processing", "not supported"),
    ],
)  # fmt: skip
def test_bad_json_names_the_json_path(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], where: str, what: str
) -> None:
    path = _copy(tmp_path, change)
    with pytest.raises(SimulationModelError) as info:
        load_simulation_model(path)
    assert info.value.element == where
    assert what in str(info.value) and str(path) in str(info.value)


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "resource_profiles": [\n    oops\n  ]\n}\n', encoding="utf-8")
    with pytest.raises(SimulationModelError) as info:
        load_simulation_model(path)
    assert info.value.line == 3


def test_the_bpmn_is_given_or_the_only_one_in_the_folder(tmp_path: Path) -> None:
    path = _copy(tmp_path, lambda d: None)
    shutil.copy(BENCH / "approval.bpmn", tmp_path / "second.bpmn")
    with pytest.raises(SimulationModelError, match="--bpmn"):
        load_simulation_model(path)
    assert load_simulation_model(path, bpmn=tmp_path / "second.bpmn").graph.file == str(tmp_path / "second.bpmn")


def test_whole_day_constant() -> None:
    assert DAY == 86400.0
