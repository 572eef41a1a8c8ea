"""``log check`` against PM4Py's alignments on PM4Py's own test logs and models, in one run (issue 20).

    .venv/bin/python bench/conformance_vs_pm4py.py --data DIR [--traces 10000] [--noise 0.0 0.2]

Creates bench/.venv-pm4py (python3.11 -m venv; pip install pm4py==2.7.23.11) if it is missing: PM4Py is
AGPL-licensed and stays out of the project's dependencies. DIR holds files of PM4Py's test data
(``tests/input_data`` of github.com/process-intelligence-solutions/pm4py): ``running-example.xes``,
``running-example.bpmn``, ``receipt.csv``, ``receipt.bpmn``, ``roadtraffic100traces.xes``. They are not copied into
this repository (PM4Py's repository is AGPL and names no other licence for them); fetch them once, e.g.
``git show HEAD:tests/input_data/receipt.csv > DIR/receipt.csv`` in a clone.

For each pair (log, model) — the published models, and models PM4Py discovers with its inductive miner at each
noise threshold and writes as BPMN — a PM4Py child process reads the log and the model, converts the model to a
Petri net and computes its alignments (``pm4py.conformance_diagnostics_alignments``), timing the alignments alone;
then ``check_log`` runs here on the same files (its model read by ``load_model``, the log by ``read_event_log``),
timed alone. Prints, per pair: traces, variants, PM4Py's fitting traces and ours, the cases whose verdicts differ,
the cases whose costs differ (PM4Py's cost // 10000 against ours), both times and the ratio. With ``--traces N``
the receipt log is also sampled (with replacement, seeded) up to N traces and timed the same way. Exit 0 when
every verdict and cost agrees and ``log check`` is at least as fast as PM4Py at N traces, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-pm4py"
PM4PY = "pm4py==2.7.23.11"

CHILD = """\
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas, pm4py
log_path, model_path, out, discover = sys.argv[1:5]
if log_path.endswith(".csv"):
    log = pm4py.format_dataframe(pandas.read_csv(log_path), case_id="case:concept:name",
                                 activity_key="concept:name", timestamp_key="time:timestamp")
else:
    log = pm4py.read_xes(log_path)
if discover != "-":
    bpmn = pm4py.discover_bpmn_inductive(log, noise_threshold=float(discover))
    pm4py.write_bpmn(bpmn, model_path)
bpmn = pm4py.read_bpmn(model_path)
net, im, fm = pm4py.convert_to_petri_net(bpmn)
log = pm4py.convert_to_event_log(log)
cases = [t.attributes["concept:name"] for t in log]
began = time.perf_counter()
aligned = pm4py.conformance_diagnostics_alignments(log, net, im, fm)
took = time.perf_counter() - began
result = [{"case": str(c), "fit": a["fitness"] == 1.0, "cost": a["cost"] // 10000} for c, a in zip(cases, aligned)]
json.dump({"seconds": took, "cases": result}, open(out, "w"))
"""


def ensure_pm4py() -> Path:
    """The Python of the PM4Py virtual environment, created on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV} and installing {PM4PY} (once) ...", file=sys.stderr)
        subprocess.run(["python3.11", "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PM4PY], check=True)
    return python


def pm4py_side(python: Path, log: Path, model: Path, discover: str, work: Path) -> dict[str, object]:
    out = work / "pm4py.json"
    script = work / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    subprocess.run([str(python), str(script), str(log), str(model), str(out), discover], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    result: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return result


def our_side(log: Path, model: Path) -> tuple[float, list[tuple[str, bool | None, int | None]], int]:
    sys.path.insert(0, str(ROOT / "src"))
    from approvalflow.supervision.conformance import check_log
    from approvalflow.supervision.eventlog import read_event_log
    from approvalflow.supervision.procnet import load_model

    traces = read_event_log(log).traces
    net = load_model(model)
    began = time.perf_counter()
    checks = check_log(traces, net)
    took = time.perf_counter() - began
    variants = len({tuple(e.activity for e in t.events) for t in traces})
    return took, [(c.case, c.conforms, c.cost) for c in checks], variants


def compare(name: str, python: Path, log: Path, model: Path, discover: str, work: Path) -> tuple[bool, float]:
    theirs = pm4py_side(python, log, model, discover, work)
    took, ours, variants = our_side(log, model)
    by_case = {c["case"]: c for c in theirs["cases"]}  # type: ignore[attr-defined]
    verdicts = [case for case, fit, _ in ours if by_case[case]["fit"] != fit]
    costs = [case for case, _, cost in ours if by_case[case]["cost"] != cost]
    seconds = float(theirs["seconds"])  # type: ignore[arg-type]
    fit = sum(bool(c["fit"]) for c in by_case.values())
    print(
        f"{name:44} traces {len(ours):6,} variants {variants:5,}  fit PM4Py {fit:6,}"
        f" ours {sum(f is True for _, f, _ in ours):6,}  verdicts differ {len(verdicts)}  costs differ {len(costs)}"
        f"  PM4Py {seconds:7.2f} s  ours {took:6.2f} s  ratio {seconds / max(took, 1e-9):6.1f}x"
    )
    for case in (verdicts + costs)[:5]:
        print(f"    {case}: PM4Py {by_case[case]}, ours {[o for o in ours if o[0] == case]}")
    return not verdicts and not costs, seconds / max(took, 1e-9)


def sample(log: Path, n: int, out: Path, seed: int) -> Path:
    """``n`` traces of the CSV log drawn with replacement, each under a new case id."""
    lines = log.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    col = header.split(",").index("case:concept:name")
    cases: dict[str, list[list[str]]] = {}
    for row in rows:
        cells = row.split(",")
        cases.setdefault(cells[col], []).append(cells)
    rng = random.Random(seed)
    keys = sorted(cases)
    with out.open("w", encoding="utf-8") as stream:
        stream.write(header + "\n")
        for k in range(n):
            for cells in cases[rng.choice(keys)]:
                stream.write(",".join([*cells[:col], f"s{k}", *cells[col + 1 :]]) + "\n")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="a folder with PM4Py's test logs and models")
    ap.add_argument("--traces", type=int, default=10_000)
    ap.add_argument("--noise", type=float, nargs="*", default=[0.0, 0.2])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    python = ensure_pm4py()
    d: Path = args.data
    ok, ratio = True, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pairs = [
            ("running-example (published model)", d / "running-example.xes", d / "running-example.bpmn", "-"),
            ("receipt (published model)", d / "receipt.csv", d / "receipt.bpmn", "-"),
        ]
        for log in (d / "running-example.xes", d / "receipt.csv", d / "roadtraffic100traces.xes"):
            for noise in args.noise:
                model = work / f"{log.stem}-im{noise}.bpmn"
                pairs.append((f"{log.stem} (inductive miner, noise {noise})", log, model, str(noise)))
        mined = work / f"receipt-im{args.noise[-1]}.bpmn" if args.noise else d / "receipt.bpmn"
        for name, log, model, discover in pairs:
            agreed, _ = compare(name, python, log, model, discover, work)
            ok &= agreed
        if args.traces:
            big = sample(d / "receipt.csv", args.traces, work / "receipt-sampled.csv", args.seed)
            ratios = []
            for label, model in (
                ("published model", d / "receipt.bpmn"),
                (f"inductive miner {args.noise[-1] if args.noise else '-'}", mined),
            ):
                name = f"receipt sampled to {args.traces:,} traces, {label}"
                agreed, ratio = compare(name, python, big, model, "-", work)
                ok &= agreed and ratio >= 1.0
                ratios.append(ratio)
            ratio = min(ratios)
    print("PASS" if ok else "FAIL", f"(at {args.traces:,} traces log check is {ratio:.1f}x PM4Py's speed)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
