"""Benchmark: approvalflow against bare SpiffWorkflow on the same BPMN and data, in one run.

    .venv/bin/python bench/engine_vs_spiff.py [--cases 2000] [--folder DIR] [--breakdown] [--persisted-breakdown]

Runs N cases of processes/licensing/general_licensing.bpmn (organisation tests/data/market_bureau.yaml, unit
market-bureau) along one path with a 补正 loop and no hearing: receive (materials incomplete), notify_correction,
receive (complete), accept, review (no extension, no hearing), decide, deliver: 7 steps a case. Three figures,
each for approvalflow (all rules on, ``enforce``) and for bare SpiffWorkflow 3.2 driving the same BPMN (its own
``BpmnParser``, hearing.bpmn added for the call activity; conditions evaluated with Python ``eval``, which is
fine in a benchmark and never done by approvalflow):

1. steps per second in memory;
2. steps per second persisted to SQLite after every step (approvalflow: ``SqliteStore`` with ``add_case`` and
   ``complete_step``; Spiff: ``BpmnWorkflowSerializer().serialize_json`` into a one-row-per-case table with
   ``INSERT OR REPLACE`` in a transaction of its own; both WAL with synchronous=NORMAL);
3. memory per open case: N cases kept open after two steps each, measured with ``tracemalloc``.

Goals (issue 15): approvalflow at most 1.3x bare Spiff on each (time per step, time per persisted step, memory
per case). Prints the figures and whether each goal is met; writes nothing outside the folder.

``--breakdown`` then says where approvalflow's time in memory goes: it runs the in-memory measurement again with
one more part of the engine's bookkeeping switched off each time (the snapshot a failed action rolls back to, the
trail, the step deadline, the case deadlines, the rules), interleaving batches of both engines and counting CPU time, so
that each line is the ratio without the parts above it. Those runs give wrong cases; only their time means anything.

``--persisted-breakdown`` then says where a persisted step's time goes on each side: approvalflow's start of a case,
first save, ``Case.complete``, ``dump_case``, the index record (``record_of``) and the store's write; bare Spiff's
start, step, serializer and SQL write; each timed apart, per step, the least over ten rounds of 60 cases.

Besides the totals (on which the verdicts are), each time measure prints the median and range of its rounds' ratios:
how much the machine's speed moved during the run.
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from approvalflow import FakeClock, load_organisation, load_process, start_case  # noqa: E402
from approvalflow.store.cases import add_case, complete_step  # noqa: E402
from approvalflow.store.sqlite import SqliteStore  # noqa: E402

FOLDER = ROOT / "processes" / "licensing"
BPMN = FOLDER / "general_licensing.bpmn"
HEARING = FOLDER / "hearing.bpmn"
ORG = ROOT / "tests" / "data" / "market_bureau.yaml"
START = "2026-09-28T09:00:00+08:00"  # a Monday; seven steps an hour apart stay within every step's limit
GOAL = 1.3

PLAN: list[tuple[str, str, dict[str, Any]]] = [
    ("receive", "wang", {"materials_complete": False}),
    ("notify_correction", "wang", {}),
    ("receive", "wang", {"materials_complete": True}),
    ("accept", "wang", {}),
    ("review", "liu", {"needs_extension": False, "needs_hearing": False}),
    ("decide", "li", {"approved": True}),
    ("deliver", "chen", {}),
]
OPEN_STEPS = 2  # steps completed on each case kept open for the memory figure


# -- approvalflow ------------------------------------------------------------------------------------------
class Ours:
    def __init__(self) -> None:
        self.process = load_process(BPMN)
        self.org = load_organisation(ORG)

    def start(self, n: int) -> tuple[Any, FakeClock]:
        clock = FakeClock(START)
        return start_case(self.process, self.org, unit="market-bureau", clock=clock, case_id=f"c{n}"), clock

    def run(self, cases: int, steps: int = len(PLAN)) -> list[Any]:
        kept = []
        for n in range(cases):
            case, clock = self.start(n)
            for task, actor, data in PLAN[:steps]:
                clock.advance("PT1H")
                case.complete(task, actor, data=data)
            kept.append(case)
        return kept

    def run_persisted(self, cases: int, path: Path) -> None:
        store = SqliteStore(path)
        try:
            for n in range(cases):
                case, clock = self.start(n)
                stored = add_case(store, case)
                for task, actor, data in PLAN:
                    clock.advance("PT1H")
                    complete_step(store, stored, task, actor, data=data)
        finally:
            store.close()


# -- bare SpiffWorkflow ------------------------------------------------------------------------------------
class _Environment(TaskDataEnvironment):  # type: ignore[misc]
    """Python eval, with ``get(name, default)`` reading the task data (the BPMN's hearing condition uses it)."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        return super().evaluate(expression, context, {**(external_context or {}), "get": context.get})


class Bare:
    def __init__(self) -> None:
        parser = BpmnParser()
        parser.add_bpmn_files([str(BPMN), str(HEARING)])
        self.spec = parser.get_spec("general_licensing")
        self.subprocesses = parser.get_subprocess_specs("general_licensing")
        self.engine = PythonScriptEngine(environment=_Environment())
        self.serializer = BpmnWorkflowSerializer()

    def start(self) -> BpmnWorkflow:
        workflow = BpmnWorkflow(self.spec, self.subprocesses, script_engine=self.engine)
        workflow.do_engine_steps()
        return workflow

    @staticmethod
    def step(workflow: BpmnWorkflow, bpmn_id: str, data: dict[str, Any]) -> None:
        ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == bpmn_id]
        if len(ready) != 1:
            raise SystemExit(f"bare Spiff: expected one ready '{bpmn_id}', found {len(ready)}")
        task = ready[0]
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()

    def run(self, cases: int, steps: int = len(PLAN)) -> list[BpmnWorkflow]:
        kept = []
        for _ in range(cases):
            workflow = self.start()
            for task, _actor, data in PLAN[:steps]:
                self.step(workflow, task, data)
            kept.append(workflow)
        return kept

    @staticmethod
    def connect(path: Path) -> sqlite3.Connection:
        """The one-row-per-case table bare Spiff saves to (WAL, synchronous=NORMAL, as our store)."""
        conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS workflows (id TEXT PRIMARY KEY, state TEXT NOT NULL)")
        return conn

    @staticmethod
    def write(conn: sqlite3.Connection, case_id: str, state: str) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO workflows (id, state) VALUES (?, ?)", (case_id, state))
        conn.execute("COMMIT")

    def run_persisted(self, cases: int, path: Path) -> None:
        conn = self.connect(path)

        def save(case_id: str, workflow: BpmnWorkflow) -> None:
            self.write(conn, case_id, self.serializer.serialize_json(workflow))

        try:
            for n in range(cases):
                workflow = self.start()
                save(f"c{n}", workflow)
                for task, _actor, data in PLAN:
                    self.step(workflow, task, data)
                    save(f"c{n}", workflow)
        finally:
            conn.close()


#: Rounds of the time measurements: each side runs cases/ROUNDS cases per round, in turn.
ROUNDS = 10


# -- measuring ---------------------------------------------------------------------------------------------
def timed(work: Callable[[], object]) -> float:
    gc.collect()
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def interleaved(pairs: list[tuple[Callable[[], object], Callable[[], object]]]) -> tuple[float, float, list[float]]:
    """The total time of each side over rounds run in turn (ours, bare, ours, bare...), and each round's ratio."""
    ours = bare = 0.0
    ratios = []
    for run_ours, run_bare in pairs:
        spent_ours, spent_bare = timed(run_ours), timed(run_bare)
        ours += spent_ours
        bare += spent_bare
        ratios.append(spent_ours / spent_bare)
    return ours, bare, ratios


def spread(ratios: list[float]) -> str:
    """The rounds' ratios as median and range: how much the machine moved during the measurement."""
    return f"median {statistics.median(ratios):.2f}x, rounds {min(ratios):.2f}-{max(ratios):.2f}x"


def _size(db: Path) -> int:
    return sum(Path(str(db) + s).stat().st_size for s in ("", "-wal") if Path(str(db) + s).exists())


def memory_per_case(make: Callable[[], list[Any]], cases: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = make()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(kept) == cases
    del kept
    return (after - before) / cases


def check_paths(ours: Ours, bare: Bare) -> None:
    """Both engines walk the same path and end the case (a wrong path would make the comparison meaningless)."""
    [case] = ours.run(1)
    [workflow] = bare.run(1)
    expected = [task for task, _a, _d in PLAN]
    if list(case.path) != expected or case.ready_steps():
        raise SystemExit(f"approvalflow took {case.path}, expected {expected}")
    if not workflow.is_completed():
        raise SystemExit("bare Spiff did not complete the case")


def breakdown(ours: Ours, bare: Bare, cases: int) -> None:
    """Ratios in memory with parts of the bookkeeping switched off, cumulatively (diagnostic only)."""
    from approvalflow.engine import case as engine

    def ratio() -> float:
        spent_ours = spent_bare = 0.0
        batch = max(1, min(cases, 20))
        for _ in range(max(1, cases // batch)):
            began = time.process_time()
            ours.run(batch)
            spent_ours += time.process_time() - began
            began = time.process_time()
            bare.run(batch)
            spent_bare += time.process_time() - began
        return spent_ours / spent_bare

    def no_snapshot() -> None:
        engine.workflow_snapshot = lambda workflow: None  # type: ignore[assignment]
        engine.undo = lambda workflow, snapshot: None  # type: ignore[assignment]

    parts: list[tuple[str, Callable[[], None]]] = [
        ("snapshot to roll back to", no_snapshot),
        ("audit trail entries", lambda: setattr(engine.Case, "_append", lambda self, **fields: None)),
        ("step deadline (step-overdue)", lambda: setattr(engine.Case, "_step_overdue", lambda self, *a: [])),
        ("case deadlines (case-overdue)", lambda: setattr(engine.Case, "_deadlines_before", lambda self, m: None)),
        ("rule checks", lambda: setattr(engine, "check", lambda attempt, rules: [])),
    ]
    saved = {name: getattr(engine.Case, name) for name in ("_append", "_step_overdue", "_deadlines_before")}
    saved_check, saved_snapshot, saved_undo = engine.check, engine.workflow_snapshot, engine.undo
    print()
    print("where the time in memory goes (CPU time, batches interleaved; each line without the parts above it):")
    print(f"  {'everything':<48} {ratio():5.2f}x")
    try:
        for name, switch_off in parts:
            switch_off()
            print(f"  {'without the ' + name:<48} {ratio():5.2f}x")
    finally:
        for name, method in saved.items():
            setattr(engine.Case, name, method)
        engine.check, engine.workflow_snapshot, engine.undo = saved_check, saved_snapshot, saved_undo


def persisted_parts(ours: Ours, bare: Bare, folder: Path, cases: int, rounds: int = 10) -> None:
    """Where a persisted step's time goes on each side (diagnostic only): each part timed apart, per step, the
    least over ``rounds`` rounds of ``cases`` cases (the least is what the machine's noise moves least)."""
    from approvalflow.engine.persistence import dump_case
    from approvalflow.store.index import record_of

    clock_now = time.perf_counter

    def lap(spent: dict[str, float], names: tuple[str, ...], moments: list[float]) -> None:
        """Add each time between two moments in turn to the part of the same rank."""
        for name, began, ended in zip(names, moments, moments[1:], strict=False):
            spent[name] += ended - began

    def ours_round(k: int) -> dict[str, float]:
        spent = dict.fromkeys(("start the case", "first save", "complete", "encode (dump_case)",
                               "index record (record_of)", "store write"), 0.0)  # fmt: skip
        store = SqliteStore(folder / f"parts-approvalflow-{k}.db")
        try:
            for n in range(cases):
                at = [clock_now()]
                case, clock = ours.start(n)
                at.append(clock_now())
                version = store.insert(record_of(case, dump_case(case))).version
                at.append(clock_now())
                lap(spent, ("start the case", "first save"), at)
                for task, actor, data in PLAN:
                    clock.advance("PT1H")
                    at = [clock_now()]
                    case.complete(task, actor, data=data)
                    at.append(clock_now())
                    state = dump_case(case)
                    at.append(clock_now())
                    record = record_of(case, state)
                    at.append(clock_now())
                    version = store.update(record, expected=version).version
                    at.append(clock_now())
                    lap(spent, ("complete", "encode (dump_case)", "index record (record_of)", "store write"), at)
        finally:
            store.close()
        return spent

    def bare_round(k: int) -> dict[str, float]:
        spent = dict.fromkeys(("start the case", "step", "encode (serialize_json)", "SQL write"), 0.0)
        conn = bare.connect(folder / f"parts-spiff-{k}.db")
        try:
            for n in range(cases):
                at = [clock_now()]
                workflow = bare.start()
                at.append(clock_now())
                lap(spent, ("start the case",), at)
                for planned in [None, *PLAN]:  # the save after the start, then a step and a save each
                    at = [clock_now()]
                    if planned is not None:
                        bare.step(workflow, planned[0], planned[2])
                    at.append(clock_now())
                    state = bare.serializer.serialize_json(workflow)
                    at.append(clock_now())
                    bare.write(conn, f"c{n}", state)
                    at.append(clock_now())
                    lap(spent, ("step", "encode (serialize_json)", "SQL write"), at)
        finally:
            conn.close()
        return spent

    best_ours: dict[str, float] = {}
    best_bare: dict[str, float] = {}
    for k in range(rounds):
        for best, parts in ((best_ours, ours_round(k)), (best_bare, bare_round(k))):
            for name, value in parts.items():
                best[name] = min(best.get(name, value), value)
    steps = cases * len(PLAN)
    total_ours, total_bare = sum(best_ours.values()) / steps, sum(best_bare.values()) / steps
    print()
    print(f"where a persisted step's time goes (us per step, least of {rounds} rounds of {cases} cases; a case's")
    print("start and first save shared among its 7 steps):")
    for name, value in best_ours.items():
        print(f"  approvalflow {name:<28} {value / steps * 1e6:7.0f}")
    print(f"  approvalflow {'total':<28} {total_ours * 1e6:7.0f}")
    for name, value in best_bare.items():
        print(f"  bare Spiff   {name:<28} {value / steps * 1e6:7.0f}")
    print(f"  bare Spiff   {'total':<28} {total_bare * 1e6:7.0f}")
    print(f"  ratio of the totals: {total_ours / total_bare:.2f}x")


def row(name: str, ours: float, bare: float, unit: str, ratio: float) -> str:
    verdict = "met" if ratio <= GOAL else "NOT met"
    return f"{name:<28} {ours:>14,.1f} {bare:>14,.1f}  {unit:<10} {ratio:>6.2f}x  {GOAL}x  {verdict}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2_000, help="cases for each measurement (default 2,000)")
    parser.add_argument("--folder", type=Path, help="folder for the SQLite files (default: a temporary folder)")
    parser.add_argument("--breakdown", action="store_true", help="then say where the time in memory goes")
    parser.add_argument(
        "--persisted-breakdown", action="store_true", help="then say where a persisted step's time goes"
    )
    args = parser.parse_args()
    cases = args.cases
    if cases < 1:
        parser.error("--cases must be at least 1")
    ours, bare = Ours(), Bare()
    check_paths(ours, bare)
    steps = cases * len(PLAN)
    print(f"{cases:,} cases x {len(PLAN)} steps = {steps:,} steps each; path: {' -> '.join(t for t, _a, _d in PLAN)}")

    ours.run(min(cases, 50))  # warm up both (imports, caches)
    bare.run(min(cases, 50))
    rounds = max(1, min(ROUNDS, cases))
    per_round = [cases // rounds + (1 if r < cases % rounds else 0) for r in range(rounds)]
    # Interleaved: a round of each in turn, so that a change of load on a shared machine falls on both sides.
    t_ours, t_bare, mem_rounds = interleaved([(lambda n=n: ours.run(n), lambda n=n: bare.run(n)) for n in per_round])

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        dbs = [(folder / f"bench-approvalflow-{r}.db", folder / f"bench-spiff-{r}.db") for r in range(rounds)]
        for pair in dbs:
            for path in pair:
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
        p_ours, p_bare, persisted_rounds = interleaved(
            [
                (lambda n=n, db=o: ours.run_persisted(n, db), lambda n=n, db=b: bare.run_persisted(n, db))
                for n, (o, b) in zip(per_round, dbs, strict=True)
            ]
        )
        size_ours = sum(_size(o) for o, _b in dbs)
        size_bare = sum(_size(b) for _o, b in dbs)

    m_ours = memory_per_case(lambda: ours.run(cases, OPEN_STEPS), cases)
    m_bare = memory_per_case(lambda: bare.run(cases, OPEN_STEPS), cases)

    print()
    print(f"{'measure':<28} {'approvalflow':>14} {'bare Spiff':>14}  {'unit':<10} {'ratio':>7}  goal  verdict")
    print(row("steps in memory", steps / t_ours, steps / t_bare, "steps/s", t_ours / t_bare))
    print(row("steps persisted to SQLite", steps / p_ours, steps / p_bare, "steps/s", p_ours / p_bare))
    print(row(f"memory per open case ({OPEN_STEPS} st.)", m_ours / 1024, m_bare / 1024, "KiB", m_ours / m_bare))
    print()
    print(
        f"ratio = approvalflow / bare Spiff in time per step or memory per case (lower is better). "
        f"Wall time: {t_ours:.1f} s vs {t_bare:.1f} s in memory, {p_ours:.1f} s vs {p_bare:.1f} s persisted; "
        f"SQLite files {size_ours / 1e6:.1f} MB vs {size_bare / 1e6:.1f} MB."
    )
    print(
        f"each of the {rounds} rounds' ratio: in memory {spread(mem_rounds)}; persisted {spread(persisted_rounds)} "
        "(the verdict is on the totals; a wide range means the machine's speed changed during the run)"
    )
    if args.breakdown:
        breakdown(ours, bare, min(cases, 400))
    if args.persisted_breakdown:
        with tempfile.TemporaryDirectory() as tmp:
            persisted_parts(ours, bare, args.folder or Path(tmp), max(1, min(cases, 60)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
