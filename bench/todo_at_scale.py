"""Benchmark: a person's 待办 (to-do list) over 1,000,000 open cases in SQLite, against scans a platform would do.

    PYTHONPATH=src .venv/bin/python bench/todo_at_scale.py [--cases 1000000] [--units 2000] [--persons 2000]
        [--peer-persons 5] [--folder DIR]

Fills a SQLite case store with synthetic open cases of the licensing process spread over many units of a county
(each unit: a principal, three deputies, three clerks and three reviewers; the process's steps: 收件 and 受理 by
the clerks, 审查 by the reviewers, 决定 by the deputies, never the principal: 五不直接分管), written through the
store's own bulk API (:meth:`SqliteStore.insert_many`: the same case row, seal, deadline rows and worklist rows a
saved case writes; the state is a compact placeholder, which no worklist reads). Who may do each case's ready
step is decided here from the synthetic organisation (the unit's holders of the step's post, less the clerk who
received the case for 受理's separation of duties), so one person's 待办 holds tens to a few hundred items.

Then times ``store.todo(person)`` for many persons (p50, p99, max; goal: under 50 ms at 1,000,000 open cases) and
checks each answer against the cases generated. In the same run it times the peers a platform has without the
worklist index: (a) the scan of the deadline index's ``people`` column (what a schema-3 store offers: every step
row whose responsible people name the person; a full scan), (b) reading every open case of the person's unit
through the ``(status, unit, power)`` index and matching the ready step's posts in Python (faster, but wrong: it
cannot know the rules, e.g. 回避 or separation of duties, without loading each case), and prints the ratios.
Writes nothing outside the folder.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from approvalflow.engine.trail import TrailHead  # noqa: E402
from approvalflow.store.base import CaseRecord, DeadlineEntry, DoneEntry, TodoEntry  # noqa: E402
from approvalflow.store.sqlite import SqliteStore  # noqa: E402
from approvalflow.time import ChinaCalendar  # noqa: E402
from approvalflow.time.periods import SHANGHAI, Deadline, yellow_from  # noqa: E402

AT = datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI)
STATE = '{"format":"approvalflow.case","synthetic":true}'
CAL = ChinaCalendar()
PROCESS, POWER = "general_licensing", "140500-XK-0001"
#: The licensing steps a case may wait on: (step, name, post, the steps done before it, by which post).
STEPS = (
    ("receive", "收件", "clerk", ()),
    ("accept", "受理", "clerk", (("receive", "收件", "clerk"),)),
    ("review", "审查", "reviewer", (("receive", "收件", "clerk"), ("accept", "受理", "clerk"))),
    ("decide", "决定", "deputy", (("receive", "收件", "clerk"), ("accept", "受理", "clerk"),
                                 ("review", "审查", "reviewer"))),
)  # fmt: skip
DEADLINES = [Deadline.end_of(date(2026, 10, 12) + timedelta(days=n)) for n in range(60)]
YELLOW = {d: yellow_from(CAL, d) for d in DEADLINES}


def people_of(unit: int) -> dict[str, list[str]]:
    """The synthetic unit's post holders (the principal holds no post a step names)."""
    u = f"u{unit:04d}"
    return {post: [f"{u}-{post}{k}" for k in range(3)] for post in ("clerk", "reviewer", "deputy")}


def record(n: int, units: int, rng: random.Random) -> CaseRecord:
    """Case ``n``: open, waiting on one step, with the rows a real save of such a case writes."""
    case_id = f"c{n:07d}"
    unit = rng.randrange(units)
    held = people_of(unit)
    step, name, post, before = STEPS[rng.choice((0, 0, 1, 1, 2, 2, 2, 3))]
    started = AT - timedelta(days=rng.randrange(1, 30), minutes=rng.randrange(600))
    since = started + timedelta(hours=len(before) * 5)
    receiver = rng.choice(held["clerk"])
    done = tuple(
        DoneEntry(
            case_id,
            k,
            receiver if s_post == "clerk" else rng.choice(held[s_post]),
            s,
            s_name,
            started + timedelta(hours=5 * (k + 1)),
            started + timedelta(hours=5 * k),
            f"u{unit:04d}",
            POWER,
            PROCESS,
        )
        for k, (s, s_name, s_post) in enumerate(before)
    )
    may = [p for p in held[post] if not (step == "accept" and p == receiver)]  # 受理 af:separateFrom 收件 (synthetic)
    step_d, case_d = rng.choice(DEADLINES), rng.choice(DEADLINES)
    unit_id = f"u{unit:04d}"
    deadlines = (
        DeadlineEntry(
            case_id,
            0,
            "case",
            "promised",
            None,
            case_d.day,
            case_d.end,
            YELLOW[case_d],
            unit_id,
            POWER,
            (post,),
            tuple(may),
        ),
        DeadlineEntry(
            case_id,
            1,
            "step",
            "step",
            step,
            step_d.day,
            step_d.end,
            YELLOW[step_d],
            unit_id,
            POWER,
            (post,),
            tuple(may),
        ),
    )
    first = min(deadlines, key=lambda d: (d.end, d.ordinal))
    yellow = min(d.yellow_from for d in deadlines)
    todo = tuple(
        TodoEntry(
            case_id,
            k,
            person,
            step,
            None,
            name,
            since,
            first.day,
            first.limit,
            first.end,
            yellow,
            unit_id,
            POWER,
            PROCESS,
        )
        for k, person in enumerate(may)
    )
    return CaseRecord(case_id, PROCESS, "0" * 64, POWER, unit_id, "open", (step,), started, None,
                      TrailHead("0" * 64, 1 + len(before)), STATE, {"received_at": started.isoformat()}, None,
                      deadlines, (), 0, (), todo, done)  # fmt: skip


def fill(store: SqliteStore, cases: int, units: int) -> tuple[float, dict[str, int]]:
    """Write the cases in bulk; returns the seconds and how many 待办 items each person has."""
    rng = random.Random(20261205)
    expected: dict[str, int] = {}

    def records() -> object:
        for n in range(cases):
            r = record(n, units, rng)
            for t in r.todo:
                expected[t.person] = expected.get(t.person, 0) + 1
            yield r

    conn = store._conn
    assert conn is not None
    conn.execute("PRAGMA synchronous=OFF")  # the fill only: a crash would merely spoil the benchmark's file
    began = time.perf_counter()
    store.insert_many(records())  # type: ignore[arg-type]
    seconds = time.perf_counter() - began
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("ANALYZE")
    return seconds, expected


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_todo(store: SqliteStore, persons: list[str], expected: dict[str, int]) -> list[float]:
    times = []
    for person in persons:
        began = time.perf_counter()
        items = store.todo(person, at=AT)
        times.append(time.perf_counter() - began)
        if len(items) != expected.get(person, 0):
            raise SystemExit(f"wrong answer for {person}: {len(items)} items, generated {expected.get(person, 0)}")
        ends = [(t.end, t.ready_since) for t in items]
        if ends != sorted(ends):
            raise SystemExit(f"wrong order for {person}")
    return times


def peer_people_scan(store: SqliteStore, person: str) -> tuple[float, int]:
    """(a): every open step row whose responsible people name the person: a scan of the deadline index."""
    conn = store._conn
    assert conn is not None
    began = time.perf_counter()
    rows = conn.execute(
        "SELECT d.case_id, d.task, d.day, d.end_at, d.yellow_at FROM af_deadlines d JOIN af_cases c ON c.id = d.case_id"
        " WHERE d.scope = 'step' AND c.status = 'open' AND (' ' || d.people || ' ') LIKE ? ORDER BY d.end_at",
        (f"% {person} %",),
    ).fetchall()
    return time.perf_counter() - began, len(rows)


def peer_unit_scan(store: SqliteStore, person: str, post: str, unit: str) -> tuple[float, int]:
    """(b): every open case of the person's unit (status index), its ready step's post matched in Python."""
    conn = store._conn
    assert conn is not None
    posts = {"receive": "clerk", "accept": "clerk", "review": "reviewer", "decide": "deputy"}
    began = time.perf_counter()
    rows = conn.execute(
        "SELECT id, steps, started_at, summary FROM af_cases WHERE status = 'open' AND unit = ?", (unit,)
    ).fetchall()
    mine = [r for r in rows if any(posts.get(s) == post for s in r[1].split())]
    return time.perf_counter() - began, len(mine)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=2000, help="units of the county (default 2,000)")
    parser.add_argument("--persons", type=int, default=2000, help="persons whose 待办 is timed")
    parser.add_argument("--peer-persons", type=int, default=5, help="persons the scans are timed for")
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        path = folder / "bench-todo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        store = SqliteStore(path)
        seconds, expected = fill(store, args.cases, args.units)
        rows = sum(expected.values())
        sizes = sorted(expected.values())
        print(
            f"filled {args.cases:,} open cases in {args.units:,} units in {seconds:.1f} s "
            f"({args.cases / seconds:,.0f} cases/s); {rows:,} 待办 rows for {len(expected):,} persons "
            f"(a person's 待办: median {statistics.median(sizes):.0f}, max {sizes[-1]} items); "
            f"store {path.stat().st_size / 1e6:,.0f} MB"
        )
        rng = random.Random(7)
        everyone = sorted(expected)
        persons = [rng.choice(everyone) for _ in range(args.persons)]
        time_todo(store, persons[:20], expected)  # warm the cache as a running host's would be
        times = time_todo(store, persons, expected)
        p50, p99 = percentile(times, 0.5) * 1000, percentile(times, 0.99) * 1000
        met = "met" if p99 < 50 else "NOT met"
        print(
            f"store.todo(person) for {len(persons):,} persons (every answer checked against the generated cases): "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(times) * 1000:.2f} ms (goal < 50 ms: {met})"
        )
        ours, a, b = [], [], []
        for p in persons[: args.peer_persons]:  # each peer timed beside ours for the same person, in turn
            began = time.perf_counter()
            store.todo(p, at=AT)
            ours.append(time.perf_counter() - began)
            a.append(peer_people_scan(store, p)[0])
            unit, post = p.split("-")[0], p.split("-")[1].rstrip("0123456789")
            b.append(peer_unit_scan(store, p, post, unit)[0])
        mine = statistics.median(ours)
        print(
            f"peer (a) scan of af_deadlines.people for {len(ours)} of these persons: median "
            f"{statistics.median(a) * 1000:.1f} ms = {statistics.median(a) / mine:,.0f}x the indexed 待办 "
            f"({mine * 1000:.2f} ms for the same persons)"
        )
        print(
            f"peer (b) the unit's open cases through the status index, posts matched in Python (no rules): median "
            f"{statistics.median(b) * 1000:.1f} ms = {statistics.median(b) / mine:,.1f}x the indexed 待办"
        )
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
