"""``bench/todo_at_scale.py`` runs end to end on a small store (the 1,000,000-case run is in bench/README.md).

The script checks every 待办 it times against the cases it generated (and exits non-zero on a wrong answer), so
this test also checks the index query on a store of a few thousand cases spread over several units.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def test_the_todo_benchmark_runs_small_and_prints_its_figures(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "todo_at_scale.py"), "--cases", "3000", "--units", "6",
         "--persons", "40", "--peer-persons", "3", "--folder", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # 6 units of 3 clerks, 3 reviewers and 3 deputies: 54 persons, each with some of the 3,000 cases
    assert re.search(r"filled 3,000 open cases in 6 units", out)
    assert re.search(r"for 54 persons", out)
    assert re.search(r"store\.todo\(person\) for 40 persons .* p50 [\d.]+ ms, p99 [\d.]+ ms", out)
    assert re.search(r"peer \(a\) .* = [\d,]+x the indexed 待办", out)
    assert re.search(r"peer \(b\) .* = [\d,.]+x the indexed 待办", out)
