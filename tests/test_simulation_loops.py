"""Loop tasks (``standardLoopCharacteristics``) in the simulator (issue 16, item 6), as SpiffWorkflow 3.2 runs them.

The engine does a loop task again while its ``loopCondition`` holds, checked after each time (and, with
``testBefore="true"``, also before the first, so the task may be skipped), and never more than ``loopMaximum``
times; without a condition it does the task ``loopMaximum`` times
(``SpiffWorkflow/bpmn/specs/mixins/multiinstance_task.py``, ``StandardLoopTask``). The simulator draws the
condition at each check with the model's probability of repeating (``steps.<id>.repeat``); each time is a piece of
work. The model is 补正 as a loop task (``tests/data/loops/revise.bpmn``): 受理, 核对材料 again while the materials must
be resubmitted, 决定. Expected values are reasoned from fixed durations and from the probabilities; replay drives
every simulated case through the engine, steering the loop condition, and checks after every step that the engine
has exactly the trace's steps ready.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import load_organisation, load_process
from approvalflow.errors import BpmnError
from approvalflow.simulation import SimulationModelError, load_simulation_model, simulate
from approvalflow.simulation.compile import compile_bpmn
from approvalflow.simulation.replay import replay_traces

ROOT = Path(__file__).parent.parent
REVISE = Path(__file__).parent / "data" / "loops" / "revise.bpmn"
ORG = ROOT / "processes" / "org" / "sample_county.yaml"
ATTRIBUTES = 'testBefore="false" loopMaximum="3"'
CONDITION = '<bpmn:loopCondition>get("resubmit", False) == True</bpmn:loopCondition>'


def _variant(tmp: Path, *, before: bool = False, maximum: int | None = 3, condition: bool = True) -> Path:
    """revise.bpmn with other loop characteristics."""
    text = REVISE.read_text(encoding="utf-8")
    attributes = f'testBefore="{str(before).lower()}"' + (f' loopMaximum="{maximum}"' if maximum is not None else "")
    text = text.replace(ATTRIBUTES, attributes)
    if not condition:
        text = text.replace(CONDITION, "")
    path = tmp / "revise.bpmn"
    path.write_text(text, encoding="utf-8")
    return path


def _model(tmp: Path, process: Path, check: Any, name: str = "m.yaml") -> Path:
    data = {
        "process": str(process),
        "org": str(ORG),
        "unit": "market-bureau",
        "staff": {"clerk": 100, "reviewer": 100},
        "calendar": {"days": "every-day", "hours": "24h"},
        "arrivals": {"per_day": 2},
        "steps": {"receive": 10, "check": check, "decide": 30},
    }
    path = tmp / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _replay(process: Path, traces: list[dict[str, Any]]) -> None:
    report = replay_traces(load_process(process), load_organisation(ORG), traces, unit="market-bureau")
    assert report.all_accepted, report.summary()
    for replayed, trace in zip(report.results, traces, strict=True):
        assert list(replayed.path) == trace["path"]


# -- compile ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("before", [False, True])
def test_a_loop_task_is_its_task_and_a_rep_node(tmp_path: Path, before: bool) -> None:
    g = compile_bpmn(_variant(tmp_path, before=before))
    task, rep = g.index["check"], g.index["check/loop"]
    assert g.nodes[task].kind == "task" and g.nodes[rep].kind == "rep"
    assert g.nodes[task].out == (rep,)
    assert g.nodes[rep].out == (task, g.index["decide"])  # again, or on
    loop = g.nodes[rep].loop
    assert loop is not None and (loop.maximum, loop.test_before) == (3, before)
    assert loop.condition == 'get("resubmit", False) == True'
    # testBefore: the condition is checked before the first time, so the flow into the task reaches the rep node
    assert g.nodes[g.index["receive"]].out == ((rep,) if before else (task,))
    assert [n.id for n in g.loops()] == ["check"]


def test_one_test_before_loop_task_after_another_is_checked_before_each(tmp_path: Path) -> None:
    """check, then a second testBefore loop task recheck: the way on from check's rep node leads to recheck's rep
    node (its condition is checked before its first time), never to recheck itself."""
    text = _variant(tmp_path, before=True).read_text(encoding="utf-8")
    second = text[text.index('<bpmn:userTask id="check"') : text.index('<bpmn:userTask id="decide"')]
    text = text.replace(
        '<bpmn:userTask id="decide"', second.replace('"check"', '"recheck"') + '<bpmn:userTask id="decide"'
    )
    text = text.replace('sourceRef="check" targetRef="decide"', 'sourceRef="check" targetRef="recheck"')
    text = text.replace(
        "</bpmn:process>", '<bpmn:sequenceFlow id="f5" sourceRef="recheck" targetRef="decide"/></bpmn:process>'
    )
    path = tmp_path / "twice.bpmn"
    path.write_text(text, encoding="utf-8")
    g = compile_bpmn(path)
    assert g.nodes[g.index["check/loop"]].out == (g.index["check"], g.index["recheck/loop"])
    assert g.nodes[g.index["recheck/loop"]].out == (g.index["recheck"], g.index["decide"])


REFUSED = {
    "neither a maximum nor a condition": (
        '<bpmn:standardLoopCharacteristics testBefore="false"/>',
        "neither a loopMaximum nor a loopCondition",
    ),
    "a maximum that is no number": ('<bpmn:standardLoopCharacteristics loopMaximum="three"/>', "not a whole number"),
    "an af:once loop task": (
        '<af:once/><bpmn:standardLoopCharacteristics loopMaximum="2"/>',
        "af:once step and a loop",
    ),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_loop_task_the_simulator_cannot_run_is_refused_by_name(tmp_path: Path, name: str) -> None:
    loop, words = REFUSED[name]
    text = REVISE.read_text(encoding="utf-8")
    start = text.index("<bpmn:standardLoopCharacteristics")
    end = text.index("</bpmn:standardLoopCharacteristics>") + len("</bpmn:standardLoopCharacteristics>")
    text = text[:start] + loop.removeprefix("<af:once/>") + text[end:]
    if loop.startswith("<af:once/>"):
        text = text.replace('<af:step posts="reviewer"/></bpmn:extensionElements>\n      <bpmn:standardLoop',
                            '<af:step posts="reviewer"/><af:once/></bpmn:extensionElements>\n      <bpmn:standardLoop')  # fmt: skip
        assert "<af:once/>" in text
    path = tmp_path / "refused.bpmn"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BpmnError) as caught:
        compile_bpmn(path)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if 'id="check"' in t)
    assert (caught.value.element, caught.value.line, caught.value.file) == ("check", line, str(path))
    assert words in str(caught.value)


# -- the kernel: each time is a piece of work; loopMaximum and testBefore as the engine ----------------------------
@pytest.mark.parametrize(
    ("before", "maximum", "times"),
    [
        (False, 3, 3),  # no condition: done loopMaximum times
        (True, 3, 3),
        (False, 0, 1),  # checked only after the first time, which always happens: once
        (True, 0, 0),  # checked before the first time: skipped
    ],
)
def test_without_a_condition_a_loop_task_is_done_loop_maximum_times(
    tmp_path: Path, before: bool, maximum: int, times: int
) -> None:
    """receive 10 min, check 60 min each time, decide 30 min."""
    model = _model(tmp_path, _variant(tmp_path, before=before, maximum=maximum, condition=False), 60)
    result = simulate(load_simulation_model(model), cases=10, seed=1, keep_traces=10)
    figures = result.to_dict()
    assert figures["cycle_time_hours"]["mean"] == pytest.approx((10 + 60 * times + 30) / 60)
    assert all(t["path"] == ["receive", *["check"] * times, "decide"] for t in result.traces)
    assert figures["steps"]["check"]["count"] == 10 * times
    assert figures["steps"]["check"]["processing_hours_mean"] == pytest.approx(1.0 if times else 0.0)  # per time
    _replay(tmp_path / "revise.bpmn", list(result.traces))


@pytest.mark.parametrize(
    ("before", "maximum", "shares"),
    [
        # repeat 0.5 at each check; checked after each time: 1, 2 or 3 times (stopped by loopMaximum)
        (False, 3, {1: 0.5, 2: 0.25, 3: 0.25}),
        # checked before the first time too: 0 .. 3 times
        (True, 3, {0: 0.5, 1: 0.25, 2: 0.125, 3: 0.125}),
    ],
)
def test_the_number_of_times_follows_the_probability_of_repeating(
    tmp_path: Path, before: bool, maximum: int, shares: dict[int, float]
) -> None:
    n = 4000
    model = _model(tmp_path, _variant(tmp_path, before=before, maximum=maximum), {"duration": 60, "repeat": 0.5})
    result = simulate(load_simulation_model(model), cases=n, seed=20261001, keep_traces=n)
    times = Counter(t["path"].count("check") for t in result.traces)
    assert set(times) == set(shares)
    for k, q in shares.items():
        assert abs(times[k] / n - q) <= 4 * math.sqrt(q * (1 - q) / n), (k, times[k])
    # the trace keeps each check: again or done
    assert all(t["gateways"]["check"][-1] == "done" for t in result.traces)
    assert all(t["gateways"]["check"].count("again") == t["path"].count("check") - (0 if before else 1)
               for t in result.traces)  # fmt: skip


def test_without_a_maximum_the_mean_number_of_times_is_one_over_one_minus_p(tmp_path: Path) -> None:
    """Checked after each time, repeating with p = 0.6: geometric, mean 1 / 0.4 = 2.5, variance 0.6 / 0.16."""
    n, p = 4000, 0.6
    model = _model(tmp_path, _variant(tmp_path, maximum=None), {"duration": 60, "repeat": p})
    result = simulate(load_simulation_model(model), cases=n, seed=7)
    mean = result.to_dict()["steps"]["check"]["count"] / n
    assert abs(mean - 1 / (1 - p)) <= 4 * math.sqrt(p / (1 - p) ** 2 / n)


# -- replay: the engine agrees -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("before", "maximum"), [(False, 3), (True, 3), (False, None), (True, None)])
def test_simulated_loop_traces_replay_on_the_engine(tmp_path: Path, before: bool, maximum: int | None) -> None:
    model = _model(tmp_path, _variant(tmp_path, before=before, maximum=maximum), {"duration": 60, "repeat": 0.5})
    result = simulate(load_simulation_model(model), cases=200, seed=3, keep_traces=200)
    traces = list(result.traces)
    assert max(t["path"].count("check") for t in traces) >= 3
    _replay(tmp_path / "revise.bpmn", traces)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.booleans(),
    maximum=st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
    condition=st.booleans(),
    repeat=st.sampled_from([0.0, 0.3, 0.7, 0.95, 1.0]),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_every_simulated_loop_trace_replays(
    tmp_path: Path, before: bool, maximum: int | None, condition: bool, repeat: float, seed: int
) -> None:
    if maximum is None and not condition:
        maximum = 2  # the engine refuses a loop task with neither
    if maximum is None and repeat == 1.0:
        repeat = 0.5  # refused at load: it would never end
    check: Any = {"duration": {"dist": "exponential", "mean": 60}, "repeat": repeat} if condition else 60
    model = _model(tmp_path, _variant(tmp_path, before=before, maximum=maximum, condition=condition), check)
    result = simulate(load_simulation_model(model), cases=15, seed=seed, keep_traces=15)
    _replay(tmp_path / "revise.bpmn", list(result.traces))


# -- hostile model files -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("check", "maximum", "key", "words"),
    [
        (60, 3, "steps.check", "needs `repeat`"),
        ({"duration": 60, "repeat": 1.2}, 3, "steps.check.repeat", "[0, 1)"),
        ({"duration": 60, "repeat": 1.0}, None, "steps.check.repeat", "1 only with a loopMaximum"),
        ({"duration": 60, "repeat": -0.5}, 3, "steps.check.repeat", ">= 0"),
        ({"duration": 60, "repeat": float("nan")}, 3, "steps.check.repeat", "number"),
        ({"duration": 60, "repeat": "often"}, 3, "steps.check.repeat", "number"),
    ],
)
def test_a_hostile_probability_of_repeating_is_refused_naming_its_line_and_key(
    tmp_path: Path, check: Any, maximum: int | None, key: str, words: str
) -> None:
    path = _model(tmp_path, _variant(tmp_path, maximum=maximum), check)
    with pytest.raises(SimulationModelError) as caught:
        load_simulation_model(path)
    assert caught.value.element == key and caught.value.file == str(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert caught.value.line is not None and f"{key.split('.')[-1]}:" in lines[caught.value.line - 1]
    assert words in str(caught.value)


def test_repeat_on_a_step_that_is_no_conditional_loop_is_refused(tmp_path: Path) -> None:
    path = _model(tmp_path, _variant(tmp_path, condition=False), {"duration": 60, "repeat": 0.5})
    with pytest.raises(SimulationModelError, match="has no loopCondition"):
        load_simulation_model(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["steps"] = {"receive": {"duration": 10, "repeat": 0.5}, "check": 60, "decide": 30}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(SimulationModelError, match="is no loop task") as caught:
        load_simulation_model(path)
    assert caught.value.element == "steps.receive.repeat"


def test_a_prosimos_model_cannot_give_a_loop_condition_its_probability(tmp_path: Path) -> None:
    _variant(tmp_path)
    week = [{"from": "MONDAY", "to": "SUNDAY", "beginTime": "00:00:00", "endTime": "23:59:59"}]
    fixed = {"distribution_name": "fix", "distribution_params": [{"value": 600}]}
    data = {
        "resource_profiles": [{"id": "pool", "resource_list": [{"id": "r", "amount": 5, "calendar": "c"}]}],
        "resource_calendars": [{"id": "c", "time_periods": week}],
        "arrival_time_distribution": fixed,
        "task_resource_distribution": [
            {"task_id": t, "resources": [{"resource_id": "r", **fixed}]} for t in ("receive", "check", "decide")
        ],
    }
    path = tmp_path / "revise.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SimulationModelError, match="loop task 'check' has a loopCondition") as caught:
        load_simulation_model(path)
    assert caught.value.element == "check"
