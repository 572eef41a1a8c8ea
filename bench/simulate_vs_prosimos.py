"""approvalflow's simulator against Prosimos on the same model, in one run (issue 7, item 5).

    .venv/bin/python bench/simulate_vs_prosimos.py [--cases 20000] [--seed 1] [--model approval_params_247.json]

Creates bench/.venv-prosimos (python3.11 -m venv; pip install prosimos==2.1.0) if it is missing, then runs
Prosimos and ``approvalflow simulate`` each as a child process on bench/prosimos-approval/approval.bpmn with
the same parameter JSON and number of cases, measuring each child's wall time and peak memory (maximum resident
set size, from os.wait4, one child at a time so that the maxima do not mix). Prosimos has no seed option: a
small wrapper seeds ``random`` and ``numpy.random`` before calling its command line. Prints both results, the
ratios, the relative differences and PASS/FAIL for: mean cycle time within 5%, each pool's utilisation within
5%, wall time ratio >= 20, peak memory ratio >= 5. Exit status 0 when everything passes, 1 otherwise.
See bench/PROSIMOS_NOTES.md for how the two simulators' definitions were matched.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODEL_DIR = HERE / "prosimos-approval"
VENV = HERE / ".venv-prosimos"
PROSIMOS = "prosimos==2.1.0"
START = "2025-04-01T09:00:00+09:00"  # as in bench/prosimos-approval/README.md

WRAPPER = """\
import random, sys
import numpy
seed = int(sys.argv[1])
random.seed(seed)
numpy.random.seed(seed)
from cli.diff_res_bpsim import cli
sys.argv = ["prosimos", *sys.argv[2:]]
sys.exit(cli())
"""


def ensure_prosimos() -> Path:
    """The Python of the Prosimos virtual environment, created on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV} and installing {PROSIMOS} (once) ...", file=sys.stderr)
        subprocess.run(["python3.11", "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PROSIMOS], check=True)
    return python


# Children run with bytecode caching on, as installed packages do (pip compiles them; this checkout's sources get
# their __pycache__ on the warm-up run): an environment with PYTHONDONTWRITEBYTECODE would otherwise recompile
# every module of the child on every run.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_child(argv: list[str], cwd: Path) -> tuple[float, int, bytes]:
    """Run one child; its wall seconds, peak RSS in KiB (Linux ru_maxrss) and stdout."""
    with tempfile.TemporaryFile() as out:
        began = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.PIPE, env=CHILD_ENV)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{err.decode(errors='replace')[-2000:]}")
        out.seek(0)
        return wall, int(usage.ru_maxrss), out.read()


def read_prosimos_stats(path: Path) -> tuple[float, float, dict[str, float]]:
    """Mean cycle time (wall clock and Prosimos's own, seconds) and utilisation per pool from its stats CSV."""
    rows = list(csv.reader(path.open(encoding="utf-8")))
    worked: dict[str, float] = {}
    available: dict[str, float] = {}
    section, idle_cycle, cycle = "", None, None
    for row in rows:
        if len(row) == 1:
            section = row[0]
            continue
        if section == "Resource Utilization" and row and row[0] != "Resource ID":
            pool = row[6]
            worked[pool] = worked.get(pool, 0.0) + float(row[4])
            available[pool] = available.get(pool, 0.0) + float(row[5])
        if section == "Overall Scenario Statistics" and row and row[0] in ("cycle_time", "idle_cycle_time"):
            value = float(row[3])
            if row[0] == "cycle_time":
                cycle = value
            else:
                idle_cycle = value
    if idle_cycle is None or cycle is None or not worked:
        raise SystemExit(f"could not read cycle time and utilisation from {path}")
    return idle_cycle, cycle, {p: worked[p] / available[p] for p in worked}


def within(a: float, b: float, tolerance: float) -> tuple[float, bool]:
    diff = (a - b) / b
    return diff, abs(diff) <= tolerance


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", default="approval_params_247.json")
    args = ap.parse_args()
    python = ensure_prosimos()
    params = MODEL_DIR / args.model
    bpmn = MODEL_DIR / "approval.bpmn"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wrapper = work / "seeded_prosimos.py"
        wrapper.write_text(WRAPPER, encoding="utf-8")
        stats = work / "stats.csv"

        def prosimos(cases: int) -> tuple[float, int, bytes]:
            return run_child(
                [str(python), str(wrapper), str(args.seed), "start-simulation", "--bpmn_path", str(bpmn),
                 "--json_path", str(params), "--total_cases", str(cases), "--stat_out_path", str(stats),
                 "--log_out_path", str(work / "log.csv"), "--starting_at", START],
                work,
            )  # fmt: skip

        prosimos(10)  # warm-up: file caches
        p_wall, p_rss, _ = prosimos(args.cases)
        p_cycle, p_cycle_own, p_util = read_prosimos_stats(stats)
    ours = ROOT / ".venv" / "bin" / "approvalflow"

    def approvalflow(cases: int) -> tuple[float, int, bytes]:
        return run_child(
            [str(ours), "simulate", str(params), "--cases", str(cases), "--seed", str(args.seed), "--json"], ROOT
        )

    approvalflow(10)  # warm-up: file caches and bytecode
    a_wall, a_rss, out = approvalflow(args.cases)
    result = json.loads(out)
    a_cycle = result["cycle_time_hours"]["mean"] * 3600.0
    checks: list[tuple[str, bool]] = []
    print(f"model {params.relative_to(ROOT)}, {args.cases:,} cases, seed {args.seed}, {os.cpu_count()} CPUs")
    print(f"{'':34}{'approvalflow':>14}{'Prosimos':>14}{'ratio / diff':>14}  check")
    diff, ok = within(a_cycle, p_cycle, 0.05)
    checks.append(("mean cycle time", ok))
    print(f"{'mean cycle time (h, wall clock)':34}{a_cycle / 3600:>14.4f}{p_cycle / 3600:>14.4f}{diff:>+14.2%}  "
          f"{'PASS' if ok else 'FAIL'} (within 5%)")  # fmt: skip
    print(f"{'  Prosimos cycle_time (h)':34}{'':>14}{p_cycle_own / 3600:>14.4f}")
    for pool, pu in sorted(p_util.items()):
        au = result["utilization"].get(pool)
        if au is None:
            checks.append((f"utilisation {pool}", False))
            print(f"utilisation {pool}: missing in approvalflow's result  FAIL")
            continue
        diff, ok = within(au, pu, 0.05)
        checks.append((f"utilisation {pool}", ok))
        print(f"{'utilisation ' + pool:34}{au:>14.4f}{pu:>14.4f}{diff:>+14.2%}  {'PASS' if ok else 'FAIL'} (within 5%)")
    wall_ratio, mem_ratio = p_wall / a_wall, p_rss / a_rss
    checks += [("wall time", wall_ratio >= 20), ("peak memory", mem_ratio >= 5)]
    print(f"{'wall time (s, incl. start-up)':34}{a_wall:>14.3f}{p_wall:>14.3f}{wall_ratio:>13.1f}x  "
          f"{'PASS' if wall_ratio >= 20 else 'FAIL'} (>= 20x)")  # fmt: skip
    print(f"{'peak memory (MiB, max RSS)':34}{a_rss / 1024:>14.1f}{p_rss / 1024:>14.1f}{mem_ratio:>13.1f}x  "
          f"{'PASS' if mem_ratio >= 5 else 'FAIL'} (>= 5x)")  # fmt: skip
    failed = [name for name, ok in checks if not ok]
    print("ALL PASS" if not failed else f"FAILED: {', '.join(failed)}")
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
