"""Agreement with PM4Py's alignments on PM4Py's own test logs and models (issue 20, item 4).

Runs only where PM4Py is importable and its test data is at hand: PM4Py is AGPL and stays out of the project's
dependencies, and its test logs are not copied here (its repository names no other licence for them). Set
``APPROVALFLOW_PM4PY_DATA`` to a folder holding ``running-example.xes``, ``running-example.bpmn``, ``receipt.csv``
and ``receipt.bpmn`` from ``tests/input_data`` of github.com/process-intelligence-solutions/pm4py. The same
comparison, with models PM4Py discovers and the timing, is ``bench/conformance_vs_pm4py.py``.
"""

from __future__ import annotations

import importlib
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

from approvalflow.supervision.conformance import check_log
from approvalflow.supervision.eventlog import read_event_log
from approvalflow.supervision.procnet import load_model

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]


def _data() -> Path:
    folder = os.environ.get("APPROVALFLOW_PM4PY_DATA")
    if not folder or not Path(folder).is_dir():
        pytest.skip("APPROVALFLOW_PM4PY_DATA names no folder of PM4Py's test data")
    return Path(folder)


def _pm4py_verdicts(pm4py: Any, log_path: Path, model: Path) -> dict[str, tuple[bool, int]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if log_path.suffix == ".csv":
            pandas = importlib.import_module("pandas")  # PM4Py's own dependency

            frame = pm4py.format_dataframe(
                pandas.read_csv(log_path),
                case_id="case:concept:name",
                activity_key="concept:name",
                timestamp_key="time:timestamp",
            )
        else:
            frame = pm4py.read_xes(str(log_path))
        log = pm4py.convert_to_event_log(frame)
        net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(model)))
        aligned = pm4py.conformance_diagnostics_alignments(log, net, im, fm)
    cases = [str(t.attributes["concept:name"]) for t in log]
    return {c: (a["fitness"] == 1.0, a["cost"] // 10000) for c, a in zip(cases, aligned, strict=True)}


PAIRS = [("running-example.xes", "running-example.bpmn"), ("receipt.csv", "receipt.bpmn")]


@pytest.fixture(scope="module")
def theirs() -> dict[tuple[str, str], dict[str, tuple[bool, int]]]:
    """PM4Py's verdicts, computed before the per-test guard against eval (numpy and scipy, which PM4Py imports,
    evaluate code of their own while they load; approvalflow is still guarded in the tests themselves)."""
    pm4py = pytest.importorskip("pm4py", reason="PM4Py is not installed (optional, AGPL: bench/.venv-pm4py has it)")
    data = _data()
    return {(log, model): _pm4py_verdicts(pm4py, data / log, data / model) for log, model in PAIRS}


@pytest.mark.parametrize(("log", "model"), PAIRS)
def test_per_case_verdicts_and_costs_equal_pm4pys(
    log: str, model: str, theirs: dict[tuple[str, str], dict[str, tuple[bool, int]]]
) -> None:
    data = _data()
    expected = theirs[(log, model)]
    ours = check_log(read_event_log(data / log).traces, load_model(data / model))
    assert len(ours) == len(expected)
    for check in ours:
        assert (check.conforms, check.cost) == expected[check.case], check.case
