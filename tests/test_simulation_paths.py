"""Every simulated path is a path of the model: traces replayed as a token game on the BPMN graph.

This checks the simulator against the process structure for every process shipped in processes/ (the replay of
traces through the real engine, rules included, is tests/test_simulation_replay.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from approvalflow.simulation import Arrivals, Distribution, SimulationModel, StepSpec, simulate
from approvalflow.simulation.calendars import DayRule
from approvalflow.simulation.compile import ProcessGraph, compile_bpmn

from .conftest import ROOT

PROCESSES = sorted((ROOT / "processes").rglob("*.bpmn"))


def model_for(path: Path) -> SimulationModel:
    """Every step 30 minutes without staff, every branch equally likely, a case an hour."""
    g = compile_bpmn(path)
    steps = {n.key: StepSpec(Distribution("exponential", mean=1800.0)) for n in g.tasks()}
    branches = {n.key: {f: 1 / len(n.flows) for f in n.flows} for n in g.splits()}
    arrivals = Arrivals(per_hour=((1.0,) * 24,) * 7, on_days_off=True)
    return SimulationModel(
        path.stem, str(path), g, steps, (), arrivals, branches, date(2026, 1, 5), DayRule("weekdays")
    )


def token_game(g: ProcessGraph, trace: dict[str, Any]) -> None:
    """Replay one trace; raise AssertionError at the first step the process does not allow."""
    decisions = {gw: list(flows) for gw, flows in trace["gateways"].items()}
    enabled: Counter[int] = Counter()
    joins: Counter[int] = Counter()

    def advance(n: int) -> None:
        stack = list(g.nodes[n].out)
        while stack:
            m = stack.pop()
            node = g.nodes[m]
            if node.kind == "task":
                enabled[m] += 1
            elif node.kind == "xor":
                assert decisions.get(node.id), f"no decision left at {node.id}"
                flow = decisions[node.id].pop(0)
                stack.append(node.out[node.flows.index(flow)])
            elif node.kind == "and" and node.need > 1:
                joins[m] += 1
                if joins[m] == node.need:
                    joins[m] = 0
                    stack.extend(node.out)
            elif node.kind != "end":
                stack.extend(node.out)

    advance(g.start)
    for step in trace["path"]:
        ready = [m for m in enabled if enabled[m] and g.nodes[m].id == step]
        assert ready, f"{step} is not ready; ready: {[g.nodes[m].id for m in enabled if enabled[m]]}"
        enabled[ready[0]] -= 1
        advance(ready[0])
    assert not +enabled, "the trace stops with steps still ready"
    assert not any(decisions.values()), f"decisions left over: {decisions}"
    assert not +joins, "a parallel join still waits"


@pytest.mark.parametrize("path", PROCESSES, ids=lambda p: p.stem)
def test_simulated_paths_are_paths_of_the_process(path: Path) -> None:
    model = model_for(path)
    result = simulate(model, cases=150, seed=12, keep_traces=150)
    assert len(result.traces) == 150
    once = {n.id for n in model.graph.tasks() if n.once}
    for trace in result.traces:
        token_game(model.graph, trace)
        for step in once:
            assert trace["path"].count(step) <= 1, f"af:once step {step} done twice"


def test_the_token_game_rejects_a_path_the_process_does_not_allow() -> None:
    model = model_for(ROOT / "processes" / "licensing" / "general_licensing.bpmn")
    [trace] = simulate(model, cases=1, seed=1, keep_traces=1).traces
    token_game(model.graph, trace)
    swapped = {**trace, "path": [trace["path"][1], trace["path"][0], *trace["path"][2:]]}
    with pytest.raises(AssertionError, match="not ready"):
        token_game(model.graph, swapped)
    with pytest.raises(AssertionError, match="still ready"):
        token_game(model.graph, {**trace, "path": trace["path"][:-1]})
