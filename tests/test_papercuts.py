"""Papercuts a new user met (issue 15, item 9): each one a small, checked promise."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from approvalflow import FakeClock, start_case
from approvalflow.bpmn.loader import ProcessDefinition, load_process_string
from approvalflow.errors import BpmnError
from approvalflow.org.organisation import Organisation
from approvalflow.store.cases import add_case
from approvalflow.store.memory import MemoryStore
from approvalflow.supervision.sweep import sweep_store
from approvalflow.validation import validate_paths, validate_string

from .conftest import LICENSING, ROOT


def test_repr_of_a_process_definition_is_one_short_line(licensing: ProcessDefinition) -> None:
    text = repr(licensing)
    assert len(text) < 200 and "\n" not in text
    assert "general_licensing" in text and f"steps={len(licensing.steps)}" in text


def test_sweep_takes_a_moment_as_text_like_case_alerts(licensing: ProcessDefinition, org: Organisation) -> None:
    store = MemoryStore()
    case = start_case(licensing, org, clock=FakeClock("2026-09-28T09:00:00+08:00"), data={"applicant": "x"})
    case.complete("receive", "wang", data={"materials_complete": True})
    case.complete("accept", "wang")
    add_case(store, case)
    # accepted 09-28: 10 working days (the promised limit) end 10-16, so 11-02 is past it: red
    by_text = sweep_store(store, "2026-11-02T09:00:00+08:00")
    assert by_text.cards and {c.level for c in by_text.cards} >= {"red"}
    with pytest.raises(ValueError, match="timezone"):
        sweep_store(store, "2026-11-02T09:00:00")


def test_rendered_svgs_are_readable_by_others_as_open_would_make_them(tmp_path: Path) -> None:
    from approvalflow.render.output import write_svgs

    old = os.umask(0o022)
    try:
        written = write_svgs(LICENSING, tmp_path, "flow")
    finally:
        os.umask(old)
    assert written
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def _cells(svg: str, suffix: str) -> dict[str, str]:
    """The text of each ``<text data-label-for="...{suffix}">`` (its lines joined), by the id before the suffix."""
    root = etree.fromstring(svg.encode())
    return {
        str(el.get("data-label-for"))[: -len(suffix)]: "".join(el.itertext())
        for el in root.iter("{http://www.w3.org/2000/svg}text")
        if str(el.get("data-label-for", "")).endswith(suffix)
    }


@pytest.mark.parametrize("process", ["powerlist/power_list_review.bpmn", "seal/seal_use.bpmn"])
def test_the_risk_table_names_posts_by_the_titles_the_flowchart_shows(process: str) -> None:
    from approvalflow.render import render_views

    path = ROOT / "processes" / process
    ids = set(re.findall(r'\bposts?="([^"]+)"', path.read_text(encoding="utf-8")))
    posts = sorted({p for group in ids for p in group.split()})
    titles = {post: f"岗{n}" for n, post in enumerate(posts)}  # short, so that no label is cut
    [svg] = render_views(path, "risk", post_names=titles)
    table = _cells(svg, ":责任岗位")
    assert len(table) >= 5
    for risk, cell in table.items():
        shown = cell.split("、")
        assert shown and set(shown) <= set(titles.values()), f"{risk}: {cell!r} is not a list of post titles"
    # a risk's own post (af:risk/@post) is titled too, not only the step's posts
    own = dict(re.findall(r'<af:risk id="([^"]+)"[^>]*\bpost="([^"]+)"', path.read_text(encoding="utf-8")))
    assert own
    for risk, post in own.items():
        assert table[risk] == titles[post], risk
    # and the flowchart's step labels show the same titles
    root = etree.fromstring(svg.encode())
    details = ["".join(t.itertext()) for t in root.iter("{*}text") if t.get("data-role") == "detail"]
    assert details and all(" · " not in d or d.split(" · ")[0].split("、")[0] in titles.values() for d in details)
    assert any(d.split(" · ")[0] in titles.values() for d in details)


def _pytest(folder: Path, *args: str) -> tuple[int, str]:
    """Run pytest in a fresh process in ``folder`` on a test that uses the plugin's ``af_clock``."""
    (folder / "test_uses_the_plugin.py").write_text(
        "def test_clock(af_clock):\n    assert af_clock.now().year == 2026\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_", "COVERAGE_"))}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, "test_uses_the_plugin.py"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return run.returncode, run.stdout + run.stderr


def test_pytest_cov_measures_the_package_the_plugin_belongs_to(tmp_path: Path) -> None:
    # pytest imports entry-point plugins before pytest-cov starts measuring: a plugin that imported approvalflow
    # then made coverage warn "Module approvalflow was previously imported, but not measured"
    status, output = _pytest(tmp_path, "--cov=approvalflow", "--cov-report=term")
    assert status == 0 and "1 passed" in output, output
    assert "module-not-measured" not in output and "previously imported" not in output, output
    measured = re.search(r"approvalflow/__init__\.py\s+(\d+)\s+(\d+)", output)
    assert measured and int(measured[2]) < int(measured[1]), "the package's __init__ was not measured"


@pytest.mark.parametrize(
    "load", [["-p", "approvalflow.pytest_plugin"], ["-p", "no:approvalflow", "-p", "approvalflow.pytest_plugin"]]
)
def test_the_plugin_still_loads_by_its_module_name(tmp_path: Path, load: list[str]) -> None:
    # beside the installed entry point (which then steps aside), or instead of it
    status, output = _pytest(tmp_path, *load)
    assert status == 0 and "1 passed" in output, output


def test_without_the_plugin_its_fixtures_are_missing(tmp_path: Path) -> None:
    status, output = _pytest(tmp_path, "-p", "no:approvalflow")
    assert status != 0 and "fixture 'af_clock' not found" in output, output


BPMN_FILES = sorted((ROOT / "processes").rglob("*.bpmn"))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_validate_names_a_misspelt_flow_reference_once_as_load_process_does(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(BPMN_FILES), label="file")
    text = path.read_text(encoding="utf-8")
    flows = [m for m in re.finditer(r'<bpmn:sequenceFlow id="([^"]+)"[^>]*?\b(sourceRef|targetRef)="([^"]+)"', text)]
    flows += [m for m in re.finditer(r'<bpmn:sequenceFlow id="([^"]+)"[^>]*?\b(targetRef)="([^"]+)"', text)]
    assert flows
    flow = data.draw(st.sampled_from(flows), label="flow")
    typo = data.draw(st.sampled_from(["_typo", "x", "-2"]), label="typo")
    start, end = flow.span(3)
    broken = text[:start] + flow[3] + typo + text[end:]
    with pytest.raises(BpmnError) as loading:
        load_process_string(broken, filename=path.name)
    findings = validate_string(broken, filename=path.name)
    assert [(f.rule, f.element, f.line, f.message) for f in findings] == [
        ("invalid-bpmn", flow[1], loading.value.line, loading.value.message)
    ]
    assert f"{flow[2]}='{flow[3]}{typo}'" in findings[0].message


def test_validate_of_a_misspelt_target_in_a_folder_gives_the_one_cause(tmp_path: Path) -> None:
    for source in (ROOT / "processes" / "licensing").glob("*.bpmn"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    path = tmp_path / "general_licensing.bpmn"
    text = path.read_text(encoding="utf-8")
    assert text.count('targetRef="decide"') == 1
    path.write_text(text.replace('targetRef="decide"', 'targetRef="decde"'), encoding="utf-8")
    findings = validate_paths([tmp_path])
    assert [(f.rule, Path(str(f.file)).name) for f in findings] == [("invalid-bpmn", "general_licensing.bpmn")]
    assert "targetRef='decde', which is no element of process 'general_licensing'" in findings[0].message
