"""The validate command, the project's processes, and the BPMN-MIWG reference models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from approvalflow.cli.main import main
from approvalflow.validation import has_errors, validate_paths

from .conftest import ROOT, SAMPLE_ORG
from .test_validate_support import model, step

MIWG = ROOT / "tests" / "corpus" / "bpmn-miwg"
START, END = ("startEvent", "s"), ("endEvent", "e")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def deadlocked() -> str:
    return model(
        [
            START,
            ("exclusiveGateway", "x"),
            ("userTask", "b", step()),
            ("userTask", "c", step()),
            ("parallelGateway", "j"),
            END,
        ],
        [("s", "x"), ("x", "b", "go == True"), ("x", "c", "default"), ("b", "j"), ("c", "j"), ("j", "e")],
    )


def test_json_output_and_exit_status_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "bad.bpmn", deadlocked())
    write(tmp_path, "good.bpmn", model([START, ("userTask", "a", step()), END], [("s", "a"), ("a", "e")]))
    assert main(["validate", str(tmp_path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    # j is node 4: line 9; the folder is searched recursively
    assert out == [
        {
            "rule": "deadlock",
            "severity": "error",
            "file": str(tmp_path / "sub" / "bad.bpmn"),
            "line": 9,
            "element": "j",
            "message": out[0]["message"],
        }
    ]


def test_exit_0_and_human_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(
        tmp_path,
        "good.bpmn",
        model([START, ("userTask", "a", '<af:step timeLimit="1"/>'), END], [("s", "a"), ("a", "e")]),
    )
    assert main(["validate", str(good)]) == 0  # no-posts is a warning
    out = capsys.readouterr().out
    assert f"{good}: 1 finding" in out and "warning  no-posts" in out and "1 files: 0 errors, 1 warnings" in out


def test_exit_2_for_missing_path_and_unknown_unit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.bpmn")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    good = write(tmp_path, "g.bpmn", model([START, END], [("s", "e")]))
    assert main(["validate", str(good), "--org", str(SAMPLE_ORG), "--unit", "mars"]) == 2
    assert "unit 'mars'" in capsys.readouterr().err


def test_unparsable_file_is_a_finding_and_the_others_are_still_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "a.bpmn", "<bpmn:definitions>\n  <oops\n")
    write(tmp_path, "b.bpmn", deadlocked())
    assert main(["validate", str(tmp_path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [(f["rule"], Path(f["file"]).name) for f in out] == [("invalid-bpmn", "a.bpmn"), ("deadlock", "b.bpmn")]


def test_every_process_of_the_project_has_no_error() -> None:
    found = validate_paths([ROOT / "processes"], org=SAMPLE_ORG)
    assert [f for f in found if f.severity == "error"] == []
    assert not has_errors(found)


def test_the_sample_process_breaks_when_a_step_limit_grows(tmp_path: Path) -> None:
    # general_licensing: after accept, review 8 + extend 1 + decide 2 + deliver 3 = 14 <= promised 15 (+10 through
    # the extension step); without extension review 8 + decide 2 + deliver 3 = 13. With review at 11: 16 > 15.
    lic = (ROOT / "processes" / "licensing" / "general_licensing.bpmn").read_text(encoding="utf-8")
    hearing = (ROOT / "processes" / "licensing" / "hearing.bpmn").read_text(encoding="utf-8")
    write(tmp_path, "hearing.bpmn", hearing)
    path = write(
        tmp_path,
        "lic.bpmn",
        lic.replace('<af:step posts="reviewer" timeLimit="8"', '<af:step posts="reviewer" timeLimit="11"'),
    )
    found = [f for f in validate_paths([path]) if f.rule == "time-budget"]
    assert len(found) == 1 and "review 11 + decide 2 + deliver 3 = 16" in found[0].message


def test_miwg_models_validate_without_a_crash() -> None:
    files = sorted(MIWG.glob("*.bpmn"))
    assert len(files) == 21
    found = validate_paths([MIWG])
    assert all(f.element for f in found if f.rule != "invalid-bpmn")
    by_file = {f.name: {x.rule for x in found if Path(x.file or "").name == f.name} for f in files}
    # SpiffWorkflow builds the executable process of C.1.0 and C.9.1; C.1.0's conditions are JUEL (${...}),
    # which the safe expression language refuses, and C.9.1's timers are unquoted ISO 8601 (P7D), which the engine
    # would read as names of case data (issue 16): no model runs on our engine as it is.
    runnable = sorted(name for name, rules in by_file.items() if "not-executable" not in rules)
    assert runnable == []
    reasons = {f.file and Path(f.file).name: f.message for f in found if f.rule == "not-executable"}
    assert 'write "P7D"' in " ".join(f.message for f in found if Path(f.file or "").name == "C.9.1.bpmn")
    assert "isExecutable" in reasons["A.1.0.bpmn"]
    assert "data store" in reasons["C.4.0.bpmn"]
    assert "task type" in reasons["C.9.0.bpmn"] or "expression" in reasons["C.9.0.bpmn"]
