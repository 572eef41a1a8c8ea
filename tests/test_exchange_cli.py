"""``approvalflow exchange export``: stored cases as 办件 records, JSON or XML, to standard output or a file."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from approvalflow.cli.main import main
from approvalflow.exchange import evaluate_stored
from approvalflow.store.cases import add_case
from approvalflow.store.factory import open_store

from .test_exchange import APPLICANT, BPMN, ORG, new_case, run_full

STEPS = (("accept", "wang"), ("review", "liu"), ("expert", "zhou"), ("extend", "li"), ("decide", "zhao"))


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    store_path, bpmn, org = tmp_path / "cases.db", tmp_path / "exlicence.bpmn", tmp_path / "org.yaml"
    bpmn.write_text(BPMN, encoding="utf-8")
    org.write_text(yaml.safe_dump(ORG, allow_unicode=True), encoding="utf-8")
    store = open_store(str(store_path))
    try:
        add_case(store, run_full())  # c1, started 12 October 2026
        second = new_case("c2", "2026-10-12T11:00:00+08:00")
        for step, actor in STEPS:
            second.complete(step, actor, at="2026-10-16T10:00:00+08:00")
        stored = add_case(store, second)
        evaluate_stored(store, stored, APPLICANT, "不满意", text="慢", at="2026-10-19T10:00:00+08:00")
        add_case(store, new_case("c3", "2026-10-13T09:00:00+08:00"))  # running: not in --all
    finally:
        store.close()
    return store_path, bpmn, org


def test_export_one_case_as_json(files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    store, bpmn, org = files
    assert main(["exchange", "export", str(store), "c2", "--org", str(org), "--process", str(bpmn)]) == 0
    doc = json.loads(capsys.readouterr().out)
    # c2 is the second case of 12 October for 140500-XK-0009 (c1 started at 09:00, c2 at 11:00)
    assert doc["办件基本信息"]["办件编号"] == "140500-XK-000920261012000002"
    assert doc["评价信息"]["整改办件"] == "c2-zg"


def test_export_all_ended_cases_to_a_file(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    store, bpmn, org = files
    out = tmp_path / "out.json"
    args = ["exchange", "export", str(store), "--all", "--org", str(org), "--process", str(bpmn), "-o", str(out),
            "--english"]  # fmt: skip
    assert main(args) == 0
    docs = json.loads(out.read_text(encoding="utf-8"))
    # c1 and c2 ended; c3 runs; c2-zg (the 整改 case, on the built-in process) runs
    assert [d["case"]["case_number"] for d in docs] == ["140500-XK-000920261012000001", "140500-XK-000920261012000002"]


def test_export_the_rectification_case_and_xml(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _bpmn, org = files
    assert main(["exchange", "export", str(store), "c2-zg", "--org", str(org), "--xml"]) == 0
    root = ElementTree.fromstring(capsys.readouterr().out.encode())
    # the 整改 case, started on 19 October 2026, the first of its code that day
    assert root.findtext("办件基本信息/办件编号") == "HCP-ZG20261019000001"
    assert root.findtext("办件基本信息/办件状态") == "在办"
    assert root.findtext("过程信息/记录/环节名称") == "整改"


def test_bad_input_is_refused_and_nothing_written(files: tuple[Path, Path, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    store, bpmn, org = files
    out = tmp_path / "never.json"
    options = ["--org", str(org), "--process", str(bpmn), "-o", str(out)]
    assert main(["exchange", "export", str(store), "nosuch", *options]) == 2
    assert main(["exchange", "export", str(store), "c1", *options, "--template", "{unit}{seq}"]) == 2
    assert main(["exchange", "export", str(store), *options]) == 2  # neither cases nor --all
    assert main(["exchange", "export", str(tmp_path / "missing.db"), "c1", "--org", str(org)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no such case" in err
