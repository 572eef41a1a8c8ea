"""Seeds made by approvalflow itself (trusted): a case store of scenario runs, its event logs, a saved case."""

from __future__ import annotations

import contextlib
import functools
import io
import tempfile
from pathlib import Path

from approvalflow.cli.main import main

from .harness import ROOT

__all__ = ["LICENSING", "SCENARIOS", "seed_logs", "seed_store"]

SUPERVISION = ROOT / "tests" / "data" / "supervision"
#: Scenarios whose cases fill the seed store: done, open, refused, timed.
SCENARIOS = (
    SUPERVISION / "lic_done.scenario.yaml",
    SUPERVISION / "lic_review_open.scenario.yaml",
    SUPERVISION / "lic_decide_refused.scenario.yaml",
    SUPERVISION / "lic_promised_yellow.scenario.yaml",
)
LICENSING = ROOT / "processes" / "licensing" / "general_licensing.bpmn"


def _cli(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(list(argv))
    if code != 0:
        raise RuntimeError(f"making a fuzz seed failed: approvalflow {' '.join(argv)}: {err.getvalue()}")


@functools.cache
def seed_store() -> bytes:
    """A SQLite case store holding the cases of :data:`SCENARIOS`."""
    with tempfile.TemporaryDirectory(prefix="af-fuzz-seed-") as tmp:
        db = Path(tmp) / "cases.db"
        for scenario in SCENARIOS:
            _cli("run", str(scenario), "--store", str(db))
        return db.read_bytes()


@functools.cache
def seed_logs() -> dict[str, bytes]:
    """The seed store exported as event logs: ``{"xes": ..., "csv": ...}``."""
    with tempfile.TemporaryDirectory(prefix="af-fuzz-seed-") as tmp:
        db = Path(tmp) / "cases.db"
        db.write_bytes(seed_store())
        out = {}
        for ext in ("xes", "csv"):
            _cli("log", "export", str(db), str(Path(tmp) / f"log.{ext}"))
            out[ext] = (Path(tmp) / f"log.{ext}").read_bytes()
        return out
