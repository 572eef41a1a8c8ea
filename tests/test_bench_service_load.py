"""``bench/service_load.py`` runs end to end, small (5 clients, 10 cases): the 100-client figures are in bench/README.md.

The script starts real ``approvalflow serve`` processes (uvicorn on loopback), so this test is slow. It checks the
script's own verdicts: every case's stored path equals what its client completed (nothing lost), no request failed,
and every one of the 10 cases x 3 steps was completed (the 30 s cap is far above what 30 completions take).
With APPROVALFLOW_TEST_POSTGRES set, the PostgreSQL run and the two serve processes over one database run too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT
from .store_support import PG_URL


@pytest.mark.slow
def test_the_service_load_benchmark_runs_small_and_loses_no_completion(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "service_load.py"), "--clients", "5", "--cases", "10",
         "--seconds", "30", "--folder", str(tmp_path), "--json", str(out)],
        capture_output=True, text=True, timeout=600, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))
    expected = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
    assert sorted(figures) == sorted(expected)
    for backend in expected:
        names = [r["name"] for r in figures[backend]]
        wanted = ["HTTP, one serve process", "library in-process"]
        assert names == ([*wanted, "HTTP, two serve processes"] if backend == "postgresql" else wanted)
        for run in figures[backend]:
            assert (run["completions"], run["errors"], run["lost"]) == (30, [], []), run  # 10 cases x 3 steps
            assert 0 < run["p50_ms"] <= run["p99_ms"]
            assert run["per_second"] > 0
    if not PG_URL:
        assert "postgresql: skipped" in done.stdout
    assert "goal (p99 < 100 ms at 100 clients): not measured at 5 clients" in done.stdout
