"""``approvalflow supervise`` and the ``run --store`` hook, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from approvalflow.cli.main import main
from approvalflow.store.factory import open_store
from approvalflow.store.keeping import store_scenario_case
from approvalflow.testing.scenario import run_scenario

DATA = Path(__file__).parent / "data" / "supervision"


def _fill(path: Path) -> None:
    for name in ("lic_decide_refused", "lic_review_open", "lic_done"):
        store_scenario_case(str(path), run_scenario(DATA / f"{name}.scenario.yaml"))


def test_supervise_json_gives_cards_anomalies_and_efficiency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
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


def test_run_store_never_replaces_a_stored_case(tmp_path: Path) -> None:
    import pytest

    from approvalflow.store.base import StoreError

    db = tmp_path / "cases.db"
    _fill(db)
    store = open_store(db)
    before = store.get("lic-done")
    store.close()
    with pytest.raises(StoreError, match="never replaces a stored case"):
        store_scenario_case(str(db), run_scenario(DATA / "lic_done.scenario.yaml"))  # the same id again
    store = open_store(db)
    after = store.get("lic-done")
    assert store.count() == 3 and after.version == 1 and after.state == before.state
    store.close()


def test_supervise_a_missing_store_is_bad_input_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    assert main(["supervise", str(missing), "--at", "2026-10-30T09:00:00+08:00"]) == 2
    assert "no such case store" in capsys.readouterr().err
    assert not missing.exists()


def test_supervise_a_moment_without_timezone_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cases.db"
    _fill(db)
    assert main(["supervise", str(db), "--at", "2026-10-30T09:00:00"]) == 2
    assert "timezone" in capsys.readouterr().err


def test_supervise_human_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cases.db"
    _fill(db)
    assert main(["supervise", str(db), "--at", "2026-10-15T09:00:00+08:00"]) == 0
    out = capsys.readouterr().out
    # Oct 15: review red in lic-review-open (Oct 14); lic-decide-refused: decide red (Oct 14).
    assert "2 open cases, 2 red and 0 yellow cards" in out


def test_supervise_with_a_catalog_names_the_responsibility_and_accountability(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cases.db"
    _fill(db)
    catalog = tmp_path / "catalog.yaml"
    # the licensing cases run processes/licensing/general_licensing.bpmn, whose af:power code is 140500-XK-0001
    catalog.write_text(
        "powers:\n"
        "- {code: 140500-XK-0001, name: 一般行政许可, category: licensing,"
        " responsibilities: 审查阶段责任：对申请材料进行审查, accountability: 不在法定期限内作出决定的}\n"
        "- {code: 140500-XK-9999, name: 另一项许可, category: licensing, accountability: 别的情形}\n",
        encoding="utf-8",
    )
    at = "2026-10-30T09:00:00+08:00"
    assert main(["supervise", str(db), "--at", at, "--json", "--catalog", str(catalog)]) == 0
    cards = json.loads(capsys.readouterr().out)["cards"]
    assert len(cards) == 6
    assert {(c["responsibility"], c["accountability"]) for c in cards} == {
        ("审查阶段责任：对申请材料进行审查", "不在法定期限内作出决定的")
    }
    assert main(["supervise", str(db), "--at", at, "--catalog", str(catalog)]) == 0
    assert capsys.readouterr().out.count("追责情形: 不在法定期限内作出决定的") == 6


def test_supervise_without_a_catalog_leaves_the_clauses_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cases.db"
    _fill(db)
    assert main(["supervise", str(db), "--at", "2026-10-30T09:00:00+08:00", "--json"]) == 0
    cards = json.loads(capsys.readouterr().out)["cards"]
    assert cards and all(not c.get("responsibility") and not c.get("accountability") for c in cards)


def test_supervise_with_a_bad_catalog_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cases.db"
    _fill(db)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("powers:\n- {code: X-1, name: 无类别}\n", encoding="utf-8")
    assert main(["supervise", str(db), "--at", "2026-10-30T09:00:00+08:00", "--catalog", str(catalog)]) == 2
    assert "catalog.yaml" in capsys.readouterr().err
