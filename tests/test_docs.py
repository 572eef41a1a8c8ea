"""The docs stay true to the code: the API page lists exactly __all__, and the README and docs examples run."""

from __future__ import annotations

import re

import approvalflow

from .conftest import ROOT


def test_all_is_unique_and_importable():
    assert len(set(approvalflow.__all__)) == len(approvalflow.__all__)
    for name in approvalflow.__all__:
        assert hasattr(approvalflow, name), name


def test_api_page_lists_exactly_the_public_names():
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    mentioned = set(re.findall(r"`([A-Za-z_]+)[`(]", text))
    public = set(approvalflow.__all__)
    assert public - mentioned == set(), "public names missing from docs/api.md"
    capitalised = {m for m in mentioned if m[0].isupper() and not m.isupper()} | {"RULES"} & mentioned
    assert capitalised - public == set(), "docs/api.md names classes that are not public"


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_readme_quick_start_runs(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    [code] = python_blocks(ROOT / "README.md")
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "promised 2026-10-23, statutory 2026-10-30" in out
    assert "['unauthorized', 'five-not-direct']" in out


def test_rules_page_example_registers_a_working_rule(licensing, org, clock):
    [code] = python_blocks(ROOT / "docs" / "rules.md")
    try:
        exec(compile(code, "rules.md", "exec"), {})
        assert "amount-cap" in approvalflow.RULES
        case = approvalflow.start_case(licensing, org, clock=clock, data={"applicant": "甲", "amount": 600_000})
        case.complete("receive", "wang", data={"materials_complete": True})
        case.complete("accept", "wang")
        case.complete("review", "liu", data={"needs_extension": False})
        try:
            case.complete("decide", "li")
        except approvalflow.StepRefused as exc:
            assert exc.rules == ["amount-cap"]
        else:
            raise AssertionError("the example rule did not refuse")
    finally:
        approvalflow.RULES.pop("amount-cap", None)


def test_the_process_index_lists_every_process_with_its_page():
    index = (ROOT / "docs" / "processes" / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "processes").rglob("*.bpmn")):
        relative = path.relative_to(ROOT).as_posix()
        assert f"`{relative}`" in index, f"{relative} is missing from docs/processes/README.md"
    for page in re.findall(r"\]\(([a-z_0-9]+\.md)\)", index):
        assert (ROOT / "docs" / "processes" / page).is_file(), page
    for picture in re.findall(r"\]\(\.\./\.\./(diagrams/[^)]+)\)", index):
        assert (ROOT / picture).is_file(), picture
