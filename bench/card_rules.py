"""Benchmark: the supervision sweep of a SQLite store under card rules, against today's sweep.

    .venv/bin/python bench/card_rules.py [--cases 100000] [--folder DIR]

Fills a store with the synthetic open cases of ``bench/store_sweep.py`` (1% due at the sweep moment), their
summaries carrying the licensing process's limits (promised 15 working days) and every 50th case two 催办, then
times (best of 3) ``sweep_store`` with no rules, with a rules file of today's rule only under another id (the
rules path, reading only the rows due), and with a share-of-period rule and an urges rule (every deadline row and
every case row's summary read; a step's limit from its process, by digest). Prints the figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from store_sweep import AT, _record  # noqa: E402

from approvalflow import load_process  # noqa: E402
from approvalflow.store.base import CaseRecord  # noqa: E402
from approvalflow.store.sqlite import SqliteStore  # noqa: E402
from approvalflow.supervision.cardrules import rules_from_data  # noqa: E402
from approvalflow.supervision.sweep import sweep_store  # noqa: E402

LICENSING = load_process(ROOT / "processes" / "licensing" / "general_licensing.bpmn")


def record(n: int) -> CaseRecord:
    r = _record(n)
    summary = dict(r.summary, promised_limit=15, statutory_limit=20, limit_unit="workday", extension_days=None)
    if n % 50 == 0:
        urged = [AT.replace(day=1).isoformat(), AT.replace(day=2).isoformat()]
        summary.update(urges=2, card_facts={"urges": urged})
    return replace(r, digest=LICENSING.digest, summary=summary)


def best_of(store: SqliteStore, rules: object, repeats: int = 3) -> tuple[float, int, int]:
    best, cards, notes = float("inf"), 0, 0
    for _ in range(repeats):
        began = time.perf_counter()
        result = sweep_store(store, AT, rules=rules, definitions={LICENSING.digest: LICENSING}.get)  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - began)
        cards, notes = len(result.cards) + len(result.case_cards), len(result.notes)
    return best, cards, notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--folder", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        store = SqliteStore(str(Path(folder) / "cases.db"))
        began = time.perf_counter()
        store.insert_many(record(n) for n in range(args.cases))
        print(f"filled {args.cases:,} open cases in {time.perf_counter() - began:.1f} s")
        same = rules_from_data({"rules": [{"id": "today", "kind": "deadline"}]})
        shared = rules_from_data(
            {
                "rules": [
                    {"id": "yellow-90", "kind": "share-of-period", "level": "yellow", "share": 0.9},
                    {"id": "overrun", "kind": "stage-overrun", "level": "red"},
                    {"id": "urged", "kind": "urges", "level": "yellow", "more_than": 1},
                ]
            }
        )
        for name, rules in (("no rules file", None), ("today's rule by another id", same), ("share + urges", shared)):
            seconds, cards, notes = best_of(store, rules)
            print(f"{name:28} {seconds * 1000:8.0f} ms  {cards:7,} cards  {notes} notes")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
