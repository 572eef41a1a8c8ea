"""Scale-out: chunks over any concurrent.futures.Executor, reproducible whatever the number of workers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import approvalflow.simulation.runner as runner
from approvalflow.simulation import load_simulation_model, simulate

from .conftest import ROOT

MODEL = ROOT / "bench" / "prosimos-approval" / "approval_params_247.json"


def plain(result: Any) -> dict[str, Any]:
    d: dict[str, Any] = result.to_dict()
    d.pop("wall_seconds")
    return d


def test_chunk_plan_depends_on_cases_and_replications_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SEGMENT", 1000)
    assert runner.chunk_plan(2500, 2) == [(0, 0, 1000), (0, 1, 1000), (0, 2, 500), (1, 0, 1000), (1, 1, 1000),
                                          (1, 2, 500)]  # fmt: skip
    seeds = {runner.chunk_seed(7, r, s) for r, s, _ in runner.chunk_plan(2500, 2)}
    assert len(seeds) == 6  # an independent stream per chunk


def test_two_processes_give_the_same_result_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_simulation_model(MODEL)
    one = simulate(model, cases=3000, seed=5, replications=3, jobs=1, keep_traces=5)
    two = simulate(model, cases=3000, seed=5, replications=3, jobs=2, keep_traces=5)
    assert plain(one) == plain(two)
    assert one.traces == two.traces and len(one.traces) == 5
    assert one.to_dict()["cases"] == 9000


def test_any_executor_and_split_runs_merge_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SEGMENT", 700)  # a large run is split into segments of at most 700 cases
    model = load_simulation_model(MODEL)
    here = simulate(model, cases=2000, seed=9)
    with ThreadPoolExecutor(max_workers=2) as pool:
        there = simulate(model, cases=2000, seed=9, executor=pool)
    assert plain(here) == plain(there)
    assert here.to_dict()["cases"] == 2000
    assert sum(s["count"] for s in here.to_dict()["steps"].values() if s["name"].startswith("交付")) == 2000


def test_progress_is_reported_up_to_the_total() -> None:
    seen: list[tuple[int, int]] = []
    simulate(load_simulation_model(MODEL), cases=9000, seed=1, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (9000, 9000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) >= 3


@pytest.mark.slow
def test_a_dask_executor_works_unchanged() -> None:
    distributed = pytest.importorskip("dask.distributed")
    model = load_simulation_model(MODEL)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2) as client:
        result = simulate(model, cases=1000, seed=3, replications=2, executor=client.get_executor())
    assert plain(result) == plain(simulate(model, cases=1000, seed=3, replications=2))
