"""The command line, in-process: run (SPEC section 6 JSON), audit verify, demo, and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from approvalflow.cli.main import main

from .conftest import ROOT

EXAMPLE = ROOT / "examples" / "scenarios" / "national_day.scenario.yaml"
PROCESS = (ROOT / "processes" / "licensing" / "general_licensing.bpmn").as_posix()
ORG = (ROOT / "processes" / "org" / "sample_county.yaml").as_posix()


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["run", *args, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_run_example_as_spec_describes(capsys: pytest.CaptureFixture[str]) -> None:
    # Accepted Mon 2026-09-28 10:00. Promised 15 working days: Sep 29, 30, Oct 8, 9, 10 (Sat, worked),
    # 12-16, 19-23 -> Oct 23; statutory 20: Oct 26-30 -> Oct 30. 'decide' became ready Oct 12 16:00 with a limit
    # of 2 working days: Oct 13, 14 -> Oct 14. At Oct 30 09:00: promised passed (red), statutory is today
    # (yellow), decide passed (red). The principal's attempt to decide is refused (五不直接分管).
    assert run_json(capsys, str(EXAMPLE)) == {
        "completed": False,
        "path": ["receive", "accept", "review"],
        "refused": [{"step": 3, "task": "decide", "actor": "zhang", "rules": ["unauthorized", "five-not-direct"]}],
        "violations": [],
        "alerts": [
            {"level": "red", "scope": "case", "limit": "promised", "task": None, "deadline": "2026-10-23"},
            {"level": "yellow", "scope": "case", "limit": "statutory", "task": None, "deadline": "2026-10-30"},
            {"level": "red", "scope": "step", "limit": "step", "task": "decide", "deadline": "2026-10-14"},
        ],
        "deadlines": {"promised": "2026-10-23", "statutory": "2026-10-30"},
    }


def scenario(tmp_path: Path, body: str, name: str = "s.scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(
        f"process: {PROCESS}\norg: {ORG}\nunit: market-bureau\nstart: 2026-09-28T09:00:00+08:00\n" + body,
        encoding="utf-8",
    )
    return path


RECORD = """data: {applicant: 某公司}
policy: record
steps:
  - {task: receive, actor: zhou, at: 2026-09-28T09:30:00+08:00, data: {materials_complete: true}}
  - {task: accept, actor: zhou, at: 2026-09-28T10:00:00+08:00}
  - {task: review, actor: zhou, at: 2026-10-13T10:00:00+08:00, data: {needs_extension: false}}
  - {task: decide, actor: zhang, at: 2026-10-14T10:00:00+08:00}
  - {task: deliver, actor: wang, at: 2026-10-26T10:00:00+08:00}
"""


def test_record_policy_lists_violations(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = run_json(capsys, str(scenario(tmp_path, RECORD)))
    assert out["completed"] is True and out["refused"] == [] and out["alerts"] == []
    # review: ready Sep 28 10:00, 8 working days -> Sep 29, 30, Oct 8, 9, 10, 12, 13, 14: on time on Oct 13.
    # decide: ready Oct 13, 2 days -> Oct 14, 15: on time. deliver: ready Oct 14, 3 days -> Oct 15, 16, 19:
    # late on Oct 26. The case ends Oct 26, after the promised Oct 23 but within the statutory Oct 30.
    assert out["violations"] == [
        {"rule": "separate-actors", "task": "review", "actor": "zhou"},
        {"rule": "unauthorized", "task": "decide", "actor": "zhang"},
        {"rule": "five-not-direct", "task": "decide", "actor": "zhang"},
        {"rule": "step-overdue", "task": "deliver", "actor": "wang"},
        {"rule": "case-overdue", "task": "deliver", "actor": "wang"},
    ]
    assert out["deadlines"] == {"promised": "2026-10-23", "statutory": "2026-10-30"}


def test_trail_and_audit_verify(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trail = tmp_path / "trail.jsonl"
    assert main(["run", str(EXAMPLE), "--trail", str(trail)]) == 0
    human = capsys.readouterr().out
    assert "refused" in human and "five-not-direct" in human
    lines = trail.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5  # start, 3 completions, 1 refusal
    assert main(["audit", "verify", str(trail)]) == 0
    entries = [json.loads(x) for x in lines]
    entries[2]["actor"] = "someone-else"
    trail.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    assert main(["audit", "verify", str(trail)]) == 1
    assert "entry 3" in capsys.readouterr().out


def invalid(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    assert main(["run", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    return captured.err


def test_unknown_actor_names_file_and_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    body = "steps:\n  - task: receive\n    actor: nobody\n    at: 2026-09-28T10:00:00+08:00\n"
    err = invalid(capsys, scenario(tmp_path, body))
    assert "s.scenario.yaml:7" in err and "nobody" in err and "steps[0]" in err


def test_unknown_task(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = invalid(capsys, scenario(tmp_path, "steps:\n  - {task: approve, actor: li, at: 2026-09-28T10:00:00+08:00}\n"))
    assert "s.scenario.yaml:6" in err and "approve" in err


def test_step_not_ready(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = invalid(capsys, scenario(tmp_path, "steps:\n  - {task: decide, actor: li, at: 2026-09-28T10:00:00+08:00}\n"))
    assert "s.scenario.yaml:6" in err and "not ready" in err and "receive" in err


def test_naive_moment_and_unknown_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = invalid(capsys, scenario(tmp_path, "steps:\n  - {task: receive, actor: wang, at: 2026-09-28T10:00:00}\n"))
    assert "s.scenario.yaml:6" in err and "timezone" in err
    err = invalid(capsys, scenario(tmp_path, "speed: fast\n"))
    assert "s.scenario.yaml:5" in err and "speed" in err


def test_bad_process_file_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>\n<x>", encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(f"process: bad.bpmn\norg: {ORG}\nstart: 2026-09-28T09:00:00+08:00\n", encoding="utf-8")
    err = invalid(capsys, path)
    assert "bad.bpmn:2" in err


def test_year_not_covered_then_supplied(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    body = (
        "data: {applicant: 某公司}\nsteps:\n"
        "  - {task: receive, actor: wang, at: 2027-03-01T09:30:00+08:00, data: {materials_complete: true}}\n"
        "  - {task: accept, actor: wang, at: 2027-03-01T10:00:00+08:00}\n"
    )
    far = scenario(tmp_path, body.replace("2027-03-01", "2031-03-03"), "far.scenario.yaml")
    far.write_text(far.read_text().replace("2026-09-28T09:00", "2031-03-03T09:00"), encoding="utf-8")
    err = invalid(capsys, far)  # 2031: neither the package, nor a supplement, nor (that far ahead) the law
    assert "2031" in err and "supplement" in err
    path = scenario(tmp_path, body)
    path.write_text(path.read_text().replace("2026-09-28T09:00", "2027-03-01T09:00"), encoding="utf-8")
    # 2027 from the law: accepted Mon 2027-03-01, no statutory holiday in March (清明 2027 is Mon Apr 5):
    # 15 working days -> Mar 22; 20 -> Mar 29, provisional
    out = run_json(capsys, str(path))
    assert out["deadlines"] == {"promised": "2027-03-22", "statutory": "2027-03-29", "provisional": [2027]}
    (tmp_path / "cn2027.yaml").write_text("year: 2027\nsource: test arrangement\nholidays: []\n", encoding="utf-8")
    path.write_text(path.read_text() + "calendar: {supplements: [cn2027.yaml]}\n", encoding="utf-8")
    out = run_json(capsys, str(path))
    assert out["deadlines"] == {"promised": "2027-03-22", "statutory": "2027-03-29"}


def test_audit_verify_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "t.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    assert main(["audit", "verify", str(bad)]) == 2
    assert "t.jsonl:1" in capsys.readouterr().err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "REFUSED: once" in out and "five-not-direct" in out and "recorded" in out


def test_python_dash_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "approvalflow", "run", str(EXAMPLE), "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["deadlines"] == {"promised": "2026-10-23", "statutory": "2026-10-30"}


def test_run_store_keeps_the_case_and_supervise_sees_its_cards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The example stops open, waiting at 'decide' (see test_run_example_as_spec_describes); at its check_at
    # (Oct 30 09:00) the run gives red promised, yellow statutory and red decide. The stored case must give the
    # same three cards when the store is swept at that moment.
    store = tmp_path / "cases.db"
    assert main(["run", str(EXAMPLE), "--store", str(store), "--json"]) == 0
    alerts = json.loads(capsys.readouterr().out)["alerts"]
    assert main(["supervise", str(store), "--at", "2026-10-30T09:00:00+08:00", "--json"]) == 0
    swept = json.loads(capsys.readouterr().out)
    cards = [{k: c[k] for k in ("level", "scope", "limit", "task", "deadline")} for c in swept["cards"]]
    assert sorted(cards, key=str) == sorted(alerts, key=str)
    assert len(cards) == 3
