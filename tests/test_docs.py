"""The docs stay true to the code: the README and docs examples run (the API page: tests/test_docs_api.py)."""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

import approvalflow
from approvalflow.bpmn.loader import ProcessDefinition
from approvalflow.org.organisation import Organisation
from approvalflow.rules import RULES
from approvalflow.time.clock import FakeClock

from .conftest import ROOT


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_readme_quick_start_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    [code] = python_blocks(ROOT / "README.md")
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "promised 2026-10-23, statutory 2026-10-30" in out
    assert "['unauthorized', 'five-not-direct']" in out


def test_rules_page_example_registers_a_working_rule(
    licensing: ProcessDefinition, org: Organisation, clock: FakeClock
) -> None:
    [code] = python_blocks(ROOT / "docs" / "rules.md")
    try:
        exec(compile(code, "rules.md", "exec"), {})
        assert "amount-cap" in RULES
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
        RULES.pop("amount-cap", None)


def test_the_process_index_lists_every_process_with_its_page() -> None:
    index = (ROOT / "docs" / "processes" / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "processes").rglob("*.bpmn")):
        relative = path.relative_to(ROOT).as_posix()
        assert f"`{relative}`" in index, f"{relative} is missing from docs/processes/README.md"
    for page in re.findall(r"\]\(([a-z_0-9]+\.md)\)", index):
        assert (ROOT / "docs" / "processes" / page).is_file(), page
    for picture in re.findall(r"\]\(\.\./\.\./(diagrams/[^)]+)\)", index):
        assert (ROOT / picture).is_file(), picture


# -- docs that stand alone (issue 15, item 8) -----------------------------------------------------------------

#: Where links are checked: the README and every page under docs/.
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)


def heading_anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown page (lowercase, punctuation dropped, spaces to dashes)."""
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", text), re.M):
        base = re.sub(r"[^\w\- ]", "", re.sub(r"<[^>]+>", "", heading).strip().lower()).replace(" ", "-")
        anchor, n = base, 0
        while anchor in anchors:
            n += 1
            anchor = f"{base}-{n}"
        anchors.add(anchor)
    return anchors


def links(text: str) -> list[str]:
    """Every link and image target of a Markdown page, outside fenced code blocks."""
    return LINK.findall(FENCE.sub("", text))


def link_problems(page: Path, root: Path) -> list[str]:
    """Links of ``page`` that leave ``root``, name a missing file or a missing heading, or point at the SPEC."""
    text = page.read_text(encoding="utf-8")
    problems = []
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:: outside links are fine
            if target.lower().startswith("file:"):
                problems.append(f"{target}: a file: URL")
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if "SPEC.md" in path_part or "shared/" in path_part:
            problems.append(f"{target}: the SPEC is not part of the repository; link the page that documents it")
        elif not resolved.is_relative_to(root):
            problems.append(f"{target}: leaves the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in heading_anchors(resolved.read_text("utf-8")):
            problems.append(f"{target}: no heading #{anchor} in {resolved.relative_to(root).as_posix()}")
    return [f"{page.relative_to(root).as_posix()}: {p}" for p in problems]


def test_every_link_of_the_readme_and_the_docs_resolves_inside_the_repository() -> None:
    problems = [p for page in PAGES for p in link_problems(page, ROOT)]
    assert not problems, "\n".join(problems)


def test_the_docs_do_not_send_readers_to_the_spec() -> None:
    # the SPEC is the project's contract, not shipped with a clone: the docs say what it says instead
    mentions = [
        f"{page.relative_to(ROOT).as_posix()}:{n}"
        for page in PAGES
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bSPEC\b", line)
    ]
    assert not mentions, mentions


def test_the_link_checker_finds_each_kind_of_broken_link(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## The `run` command (SPEC 6)\n", "utf-8")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n\n[fine](other.md#the-run-command-spec-6) [self](#page) [web](https://example.org/x.md)\n"
        "[spec](../../shared/SPEC.md) [out](../../elsewhere.md) [gone](missing.md) [bad](other.md#nowhere)\n"
        "![img](images/none.svg) [here](#nothing)\n\n```md\n[in code](ignored.md)\n```\n",
        "utf-8",
    )
    problems = link_problems(page, tmp_path)
    assert [p.split(": ")[1] for p in problems] == [
        "../../shared/SPEC.md",
        "../../elsewhere.md",
        "missing.md",
        "other.md#nowhere",
        "images/none.svg",
        "#nothing",
    ], problems


def test_heading_anchors_follow_github() -> None:
    text = "# The `af` format\n## 限时办结 (time)\n## A, b & c\n## A, b & c\n```\n# not a heading\n```\n"
    assert heading_anchors(text) == {"the-af-format", "限时办结-time", "a-b--c", "a-b--c-1"}


def test_the_architecture_picture_is_drawn_from_the_current_page() -> None:
    spec = importlib.util.spec_from_file_location("architecture_svg", ROOT / "scripts" / "architecture_svg.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawn = (ROOT / "docs" / "images" / "architecture.svg").read_text(encoding="utf-8")
    assert drawn == script.render(page), "run: python scripts/architecture_svg.py"
    ET.fromstring(drawn)  # well-formed
    [diagram] = re.findall(r"```text\n(.*?)```", page, re.S)
    rows = dict(re.findall(r"^\s*(\d+)\s+(.*)$", diagram, re.M))
    for number, names in script.layers(page).items():
        for name in names:
            assert f">{name}<" in drawn or f">{name}  (" in drawn, name
            assert name in rows.get(str(number), ""), f"the text diagram does not show {name} in layer {number}"


def test_the_architecture_page_names_modules_that_exist() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.(?:py|xsd))`", page))
    assert len(named) > 40
    missing = sorted(n for n in named if not (ROOT / "src" / "approvalflow" / n).is_file() and not (ROOT / n).is_file())
    assert not missing, f"docs/architecture.md names modules that are gone: {missing}"


def test_the_organisation_page_documents_every_key_and_its_example_loads() -> None:
    from approvalflow.org import organisation as module

    page = (ROOT / "docs" / "organisation.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([^`]+)` \|", page, re.M))
    models: dict[str, type[BaseModel]] = {
        "": module._Org,
        "units[].": module._Unit,
        "people.*.": module._Person,
        "units[].groups.*.": module._Group,
        "proxies[].": module._Proxy,
    }
    keys = {prefix + field for prefix, model in models.items() for field in model.model_fields}
    assert keys - documented == set(), "keys of the organisation file missing from docs/organisation.md"
    assert documented - keys == set(), "docs/organisation.md documents keys the reader does not accept"
    [example] = re.findall(r"```yaml\n(.*?)```", page, re.S)
    org = approvalflow.organisation_from_dict(yaml.safe_load(example))
    assert org.unit("finance-bureau").principal == "zhang" and org.conflicts["wang"] == frozenset({"甲建筑公司"})


def test_the_format_page_documents_every_name_of_the_schema() -> None:
    schema = ET.parse(ROOT / "src" / "approvalflow" / "bpmn" / "af.xsd")
    xs = "{http://www.w3.org/2001/XMLSchema}"
    elements = {e.get("name") for e in schema.iter(f"{xs}element")} - {None}
    attributes = {a.get("name") for a in schema.iter(f"{xs}attribute")} - {None}
    page = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    assert len(elements) > 10 and len(attributes) > 15
    missing = sorted(f"af:{e}" for e in elements if f"af:{e}" not in page)
    missing += sorted(f"@{a}" for a in attributes if not re.search(rf"\b{a}=\"|`{a}`|@{a}\b", page))
    assert not missing, f"docs/format.md does not document: {missing}"


def _yaml_keys(value: object, prefix: str = "") -> set[str]:
    """Every key of a YAML document as a dotted path (list items as ``[]``)."""
    if isinstance(value, dict):
        return {f"{prefix}{k}" for k in value} | {
            key for k, v in value.items() for key in _yaml_keys(v, f"{prefix}{k}.")
        }
    if isinstance(value, list):
        return {key for item in value for key in _yaml_keys(item, f"{prefix.rstrip('.')}[].")}
    return set()


def test_the_scenario_example_shows_every_key_a_scenario_may_have() -> None:
    from approvalflow.testing.scenario import CalendarSettings, Scenario, ScenarioStep

    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    example = next(b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if "steps:" in b)
    shown = _yaml_keys(yaml.safe_load(example))
    models: dict[str, type[BaseModel]] = {"": Scenario, "steps[].": ScenarioStep, "calendar.": CalendarSettings}
    keys = {prefix + field for prefix, model in models.items() for field in model.model_fields} - {"expect"}
    assert keys - shown == set(), "scenario keys missing from the example in docs/cli.md"
    testing = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    assert "expect:" in testing  # the one key the plugin reads, documented with the plugin


def test_the_simulation_and_calendar_pages_document_every_key() -> None:
    from approvalflow.simulation import yaml_model
    from approvalflow.time import calendar

    simulation = (ROOT / "docs" / "simulation.md").read_text(encoding="utf-8")
    missing = sorted(k for k in yaml_model._TOP | yaml_model._DIST_KEYS if f"`{k}" not in simulation)
    assert not missing, f"docs/simulation.md does not document: {missing}"
    time_page = (ROOT / "docs" / "time.md").read_text(encoding="utf-8")
    example = next(b for b in re.findall(r"```yaml\n(.*?)```", time_page, re.S) if "holidays" in b)
    assert set(yaml.safe_load(example)) == set(calendar._KEYS)
