"""Benchmark: a supervision sweep over 1,000,000 open cases in SQLite, and step completions with persistence.

    .venv/bin/python bench/store_sweep.py [--cases 1000000] [--folder DIR] [--steps-cases 200]

Fills a SQLite case store with synthetic open cases through the bulk API (index rows and a compact state
blob: the sweep never reads the state), chosen so that about 1% of them are yellow or red at the sweep moment,
then times the sweep (goal: under 1 s). Then runs real licensing cases through the store, saving after every
completion, and reports steps per second. Prints the figures; writes nothing outside the folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from approvalflow import FakeClock, load_organisation, load_process, start_case  # noqa: E402
from approvalflow.engine.trail import TrailHead  # noqa: E402
from approvalflow.store.base import CaseRecord, DeadlineEntry  # noqa: E402
from approvalflow.store.cases import add_case, complete_step  # noqa: E402
from approvalflow.store.index import yellow_from  # noqa: E402
from approvalflow.store.sqlite import SqliteStore  # noqa: E402
from approvalflow.supervision.sweep import sweep_store  # noqa: E402
from approvalflow.time import ChinaCalendar  # noqa: E402
from approvalflow.time.periods import SHANGHAI, Deadline  # noqa: E402

AT = datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI)
STATE = '{"format":"approvalflow.case","synthetic":true}'
CAL = ChinaCalendar()


def _deadlines(first: date, count: int) -> list[tuple[Deadline, datetime]]:
    days = [Deadline.end_of(first + timedelta(days=n)) for n in range(count)]
    return [(d, yellow_from(CAL, d)) for d in days]


NEAR = _deadlines(date(2026, 10, 16), 6)  # Oct 16-21: red or yellow on Oct 20
FAR = _deadlines(date(2026, 11, 2), 60)  # November and December: no card on Oct 20


def _record(n: int) -> CaseRecord:
    case_id = f"c{n:07d}"
    pool = NEAR if n % 100 == 0 else FAR  # 1% of the cases are due
    step, step_yellow = pool[n % len(pool)]
    promised, promised_yellow = FAR[(n * 7) % len(FAR)]
    start = AT - timedelta(days=10)
    rows = (
        DeadlineEntry(
            case_id,
            0,
            "case",
            "promised",
            None,
            promised.day,
            promised.end,
            promised_yellow,
            "market-bureau",
            "140500-XK-0001",
            ("clerk",),
            ("wang",),
        ),
        DeadlineEntry(
            case_id,
            1,
            "step",
            "step",
            "review",
            step.day,
            step.end,
            step_yellow,
            "market-bureau",
            "140500-XK-0001",
            ("reviewer",),
            ("liu", "zhou"),
        ),
    )
    return CaseRecord(
        case_id,
        "general_licensing",
        "0" * 64,
        "140500-XK-0001",
        "market-bureau",
        "open",
        ("review",),
        start,
        None,
        TrailHead("0" * 64, 3),
        STATE,
        {"received_at": start.isoformat()},
        None,
        rows,
    )


def fill(store: SqliteStore, cases: int) -> float:
    began = time.perf_counter()
    store.insert_many(_record(n) for n in range(cases))
    return time.perf_counter() - began


def time_sweep(store: SqliteStore, repeats: int = 3) -> tuple[float, int, int]:
    best, cards, cases = float("inf"), 0, 0
    for _ in range(repeats):
        began = time.perf_counter()
        result = sweep_store(store, AT)
        best = min(best, time.perf_counter() - began)
        cards, cases = len(result.cards), result.counts()["cases_with_cards"]
    return best, cards, cases


def time_steps(store: SqliteStore, cases: int) -> tuple[float, int]:
    process = load_process(ROOT / "processes" / "licensing" / "general_licensing.bpmn")
    org = load_organisation(ROOT / "tests" / "data" / "market_bureau.yaml")
    plan = [
        ("receive", "wang", {"materials_complete": True}),
        ("accept", "wang", {}),
        ("review", "liu", {"needs_extension": False}),
        ("decide", "li", {"approved": True}),
        ("deliver", "chen", {}),
    ]
    steps = 0
    began = time.perf_counter()
    for n in range(cases):
        clock = FakeClock("2026-09-28T09:00:00+08:00")
        stored = add_case(store, start_case(process, org, clock=clock, case_id=f"real-{n}"))
        for task, actor, data in plan:
            clock.advance("PT1H")
            complete_step(store, stored, task, actor, data=data)
            steps += 1
    return time.perf_counter() - began, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--steps-cases", type=int, default=200)
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        path = folder / "bench-cases.db"
        path.unlink(missing_ok=True)
        store = SqliteStore(path)
        seconds = fill(store, args.cases)
        print(
            f"filled {args.cases:,} open cases in {seconds:.1f} s ({args.cases / seconds:,.0f} cases/s); "
            f"store {path.stat().st_size / 1e6:,.0f} MB"
        )
        best, cards, due = time_sweep(store)
        print(
            f"sweep at {AT.isoformat()}: {cards:,} cards on {due:,} cases ({due / args.cases:.2%}) "
            f"in {best * 1000:.0f} ms (best of 3; goal < 1000 ms)"
        )
        seconds, steps = time_steps(store, args.steps_cases)
        print(
            f"step completions with persistence: {steps:,} steps in {seconds:.1f} s = {steps / seconds:,.0f} steps/s "
            f"(load not included: each save re-indexes and rewrites the case)"
        )
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
