"""``approvalflow simulate``: in-process, and as a subprocess for the start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from approvalflow.cli.main import main
from approvalflow.cli.simulate import ProgressBar

from .conftest import ROOT

BENCH = ROOT / "bench" / "prosimos-approval" / "approval_params_247.json"
EXAMPLE = ROOT / "examples" / "simulation" / "general_licensing.yaml"
VARIANT = ROOT / "examples" / "simulation" / "general_licensing_more_reviewers.yaml"
KEYS = {
    "model", "cases", "seed", "replications", "cycle_time_hours", "cycle_time_working_days", "waiting_time_hours",
    "processing_time_hours", "utilization", "queue_length", "on_time", "cards", "steps", "histogram", "wall_seconds",
}  # fmt: skip


def test_json_has_exactly_the_contract_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(EXAMPLE), "--cases", "200", "--seed", "4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) == KEYS
    assert d["cases"] == 200 and d["seed"] == 4 and d["replications"] == 1
    assert set(d["cycle_time_hours"]) == {"mean", "p50", "p90", "p99"}
    assert set(d["on_time"]) == {"promised", "statutory"} and set(d["cards"]) == {"yellow", "red"}
    assert d["histogram"]["unit"] == "hours" and sum(d["histogram"]["counts"]) == 200
    assert len(d["histogram"]["edges"]) == len(d["histogram"]["counts"]) + 1
    assert all(0 <= u <= 1 for u in d["utilization"].values())


def test_human_output_is_a_short_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(BENCH), "--cases", "500", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "approval_params_247: 500 cases, seed 1" in out
    assert "pool_reviewer" in out and "utilisation" in out
    assert "working days" not in out  # a Prosimos model has no working-day calendar


def test_bad_model_exits_2_naming_file_line_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"process: {ROOT / 'processes/licensing/general_licensing.bpmn'}\nstafff: {{}}\n", encoding="utf-8")
    assert main(["simulate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2" in err and "stafff" in err and "Traceback" not in err


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(BENCH), "--cases", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_compare_csv_and_charts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["simulate", str(EXAMPLE), "--cases", "150", "--seed", "2", "--compare", str(VARIANT),
         "--csv", str(tmp_path / "r.csv"), "--charts", str(tmp_path / "charts")]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "two reviewers" in out and "three reviewers" in out
    assert (tmp_path / "r.csv").stat().st_size > 0
    assert list((tmp_path / "charts").glob("*.svg"))


def test_progress_bar_draws_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    bar = ProgressBar(sys.stderr, width=10)
    for done in (0, 500, 1000):
        bar(done, 1000)
    err = capsys.readouterr().err
    assert "[#####     ]  50%" in err and err.endswith("100% 1,000/1,000 cases\n")


def test_simulate_never_imports_spiffworkflow_or_pydantic() -> None:
    code = (
        "import sys; from approvalflow.cli.main import main; "
        f"main(['simulate', {str(BENCH)!r}, '--cases', '100', '--json']); "
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('SpiffWorkflow', 'pydantic', 'numpy')]; "
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cases"] == 100
