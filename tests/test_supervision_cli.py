"""``approvalflow supervise`` and the ``run --store`` hook, in-process."""

from __future__ import annotations

import json
from pathlib import Path

from approvalflow.cli import main
from approvalflow.cli_supervise import store_scenario_case
from approvalflow.scenario import run_scenario
from approvalflow.store.base import open_store

DATA = Path(__file__).parent / "data" / "supervision"


def _fill(path: Path) -> None:
    for name in ("lic_decide_refused", "lic_review_open", "lic_done"):
        store_scenario_case(str(path), run_scenario(DATA / f"{name}.scenario.yaml"))


def test_supervise_json_gives_cards_anomalies_and_efficiency(tmp_path: Path, capsys) -> None:
    db = tmp_path / "cases.db"
    _fill(db)
    html = tmp_path / "report.html"
    assert main(["supervise", str(db), "--at", "2026-10-30T09:00:00+08:00", "--json", "--html", str(html)]) == 0
    out = json.loads(capsys.readouterr().out)
    # At Oct 30: lic-decide-refused: promised red (Oct 23), statutory yellow (Oct 30), decide red (Oct 14);
    # lic-review-open: promised red (Oct 23), statutory yellow, review red (Oct 14); lic-done: nothing.
    assert out["counts"] == {"yellow": 2, "red": 4, "cases_with_cards": 2}
    assert out["open_cases"] == 2
    assert {(c["case"], c["level"], c["task"] or c["limit"]) for c in out["cards"]} == {
        ("lic-decide-refused", "red", "promised"),
        ("lic-decide-refused", "yellow", "statutory"),
        ("lic-decide-refused", "red", "decide"),
        ("lic-review-open", "red", "promised"),
        ("lic-review-open", "yellow", "statutory"),
        ("lic-review-open", "red", "review"),
    }
    assert out["refusals_by_person"] == {"zhang": {"five-not-direct": 1, "unauthorized": 1}}
    assert out["efficiency"]["total"]["completed"] == 1 and out["efficiency"]["total"]["received"] == 3
    assert "<svg" in html.read_text(encoding="utf-8")


def test_run_store_replaces_a_rerun_scenario(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    _fill(db)
    _fill(db)  # running the same scenarios again replaces the cases
    store = open_store(db)
    assert store.count() == 3 and store.get("lic-done").version == 2
    store.close()


def test_supervise_a_missing_store_is_bad_input_and_creates_nothing(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.db"
    assert main(["supervise", str(missing), "--at", "2026-10-30T09:00:00+08:00"]) == 2
    assert "no such case store" in capsys.readouterr().err
    assert not missing.exists()


def test_supervise_a_moment_without_timezone_is_bad_input(tmp_path: Path, capsys) -> None:
    db = tmp_path / "cases.db"
    _fill(db)
    assert main(["supervise", str(db), "--at", "2026-10-30T09:00:00"]) == 2
    assert "timezone" in capsys.readouterr().err


def test_supervise_human_output(tmp_path: Path, capsys) -> None:
    db = tmp_path / "cases.db"
    _fill(db)
    assert main(["supervise", str(db), "--at", "2026-10-15T09:00:00+08:00"]) == 0
    out = capsys.readouterr().out
    # Oct 15: review red in lic-review-open (Oct 14); lic-decide-refused: decide red (Oct 14).
    assert "2 open cases, 2 red and 0 yellow cards" in out
