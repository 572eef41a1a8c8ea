"""A separate process writing to a case store, for the concurrency and kill tests.

python store_worker.py complete STORE CASE_ID READY_FILE GO_FILE
    load the case, say it is ready (create READY_FILE), wait for GO_FILE, complete `receive` and save;
    print "ok" (exit 0) or "conflict" (exit 3).
python store_worker.py churn STORE PREFIX
    forever: start a case, complete every step of the licensing process, saving after each; print a line
    after each save.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "src"))

from approvalflow import FakeClock, load_organisation, load_process, start_case  # noqa: E402
from approvalflow.store.base import ConflictError  # noqa: E402
from approvalflow.store.cases import add_case, complete_step, load_case_from  # noqa: E402
from approvalflow.store.factory import open_store  # noqa: E402

PROCESS = load_process(ROOT / "processes" / "licensing" / "general_licensing.bpmn")
ORG = load_organisation(ROOT / "tests" / "data" / "market_bureau.yaml")
STEPS = [
    ("receive", "wang", {"materials_complete": True}),
    ("accept", "wang", {}),
    ("review", "liu", {"needs_extension": False}),
    ("decide", "li", {"approved": True}),
    ("deliver", "chen", {}),
]


def complete(store_url: str, case_id: str, ready: str, go: str) -> int:
    store = open_store(store_url)
    stored = load_case_from(store, case_id, PROCESS, ORG, clock=FakeClock("2026-09-28T09:30:00+08:00"))
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.001)
    try:
        complete_step(store, stored, "receive", "wang", data={"materials_complete": True})
    except ConflictError:
        print("conflict", flush=True)
        return 3
    print("ok", flush=True)
    return 0


def churn(store_url: str, prefix: str) -> int:
    store = open_store(store_url)
    for n in itertools.count():
        clock = FakeClock("2026-09-28T09:00:00+08:00")
        stored = add_case(store, start_case(PROCESS, ORG, clock=clock, case_id=f"{prefix}-{n}"))
        print("saved", flush=True)
        for step, actor, data in STEPS:
            clock.advance("PT1H")
            complete_step(store, stored, step, actor, data=data)
            print("saved", flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "complete":
        raise SystemExit(complete(*sys.argv[2:6]))
    raise SystemExit(churn(*sys.argv[2:4]))
