"""SpiffWorkflow's test models as a corpus (issue 16, item 7): the table of docs/corpus.md, and ``.bpmn20.xml``.

``scripts/corpus_table.py`` runs every model of ``../shared/corpus/spiffworkflow-tests/`` on bare SpiffWorkflow
and on approvalflow, compiles, validates and renders it, and writes docs/corpus.md. The script runs in a child
process: bare SpiffWorkflow runs the corpus's Python scripts, which this test suite forbids in its own process
(``tests/conftest.py``). The corpus lies outside the repository; the test of the committed table is skipped when
it is absent. The table's script is first tried on a corpus of two models written here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from approvalflow import load_process
from approvalflow.bpmn.calls import BPMN_SUFFIXES, folder_files
from approvalflow.simulation.compile import compile_bpmn
from approvalflow.validation import validate_file

from .conftest import ROOT

SCRIPT = ROOT / "scripts" / "corpus_table.py"
CORPUS = ROOT.parent / "shared" / "corpus" / "spiffworkflow-tests"
PAGE = ROOT / "docs" / "corpus.md"

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">\n'
)
TAIL = "</bpmn:definitions>\n"


def chain(pid: str, middle: str) -> str:
    """A process: start, ``middle`` (one element with id ``m_<pid>``), end."""
    return (
        f'<bpmn:process id="{pid}" isExecutable="true">\n'
        f'<bpmn:startEvent id="s_{pid}"/>\n{middle}\n<bpmn:endEvent id="e_{pid}"/>\n'
        f'<bpmn:sequenceFlow id="{pid}_1" sourceRef="s_{pid}" targetRef="m_{pid}"/>\n'
        f'<bpmn:sequenceFlow id="{pid}_2" sourceRef="m_{pid}" targetRef="e_{pid}"/>\n'
        "</bpmn:process>\n"
    )


def calling(pid: str, called: str) -> str:
    return HEAD + chain(pid, f'<bpmn:callActivity id="m_{pid}" calledElement="{called}"/>') + TAIL


def task(pid: str, kind: str = "userTask", inner: str = "") -> str:
    return HEAD + chain(pid, f'<bpmn:{kind} id="m_{pid}">{inner}</bpmn:{kind}>') + TAIL


# -- call activities resolve in .bpmn20.xml files (bpmn.calls, for load, validate and simulate) ---------------------
@pytest.mark.parametrize(
    ("caller_name", "called_name"), [("main.bpmn", "sub.bpmn20.xml"), ("main.bpmn20.xml", "sub.bpmn")]
)
def test_a_called_process_is_found_in_a_bpmn20_xml_file_of_the_folder(
    tmp_path: Path, caller_name: str, called_name: str
) -> None:
    caller = tmp_path / caller_name
    caller.write_text(calling("main", "sub"), encoding="utf-8")
    (tmp_path / called_name).write_text(task("sub"), encoding="utf-8")
    (tmp_path / "notes.xml").write_text(task("other"), encoding="utf-8")  # not a BPMN file name: not looked in
    definition = load_process(caller)
    assert "m_sub" in definition.steps
    assert [f for f in validate_file(caller) if f.severity == "error"] == []
    assert "m_main/m_sub" in compile_bpmn(caller).index  # the called process's step, inside the call


def test_only_the_bpmn_file_names_of_a_folder_are_looked_in(tmp_path: Path) -> None:
    names = ["a.bpmn", "b.bpmn20.xml", "c.xml", "d.bpmn.bak", "e.BPMN20.XML.txt", "f.bpmn20.xml"]
    for name in names:
        (tmp_path / name).write_text(task("x"), encoding="utf-8")
    (tmp_path / "g.bpmn20.xml").mkdir()  # a folder so named is no file
    assert [p.name for p in folder_files(tmp_path)] == ["a.bpmn", "b.bpmn20.xml", "f.bpmn20.xml"]
    assert set(BPMN_SUFFIXES) == {".bpmn", ".bpmn20.xml"}


def test_a_process_no_bpmn20_xml_file_defines_is_still_refused_naming_both_kinds(tmp_path: Path) -> None:
    caller = tmp_path / "main.bpmn20.xml"
    caller.write_text(calling("main", "nowhere"), encoding="utf-8")
    found = [f for f in validate_file(caller) if f.rule == "not-executable" and f.element == "m_main"]
    assert len(found) == 1 and ".bpmn or .bpmn20.xml file" in found[0].message


# -- the table ----------------------------------------------------------------------------------------------------
def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=1200, check=False, cwd=ROOT
    )


def rows(page: str) -> dict[str, list[str]]:
    """The table's rows by model: the cells after the model."""
    found = {}
    for line in page.splitlines():
        match = re.match(r"\| `([^`]+)` \| (.*) \|$", line)
        if match:
            found[match[1]] = [c.strip() for c in re.split(r"(?<!\\)\|", match[2])]
    return found


def test_the_script_marks_a_model_spiff_completes_and_approvalflow_refuses(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "plain.bpmn").write_text(task("plain"), encoding="utf-8")
    script = "<bpmn:script>x = 1</bpmn:script>"
    (corpus / "sub" / "scripted.bpmn20.xml").write_text(task("scripted", "scriptTask", script), encoding="utf-8")
    output = tmp_path / "corpus.md"
    done = run_script("--corpus", str(corpus), "--output", str(output))
    assert done.returncode == 0, done.stderr
    page = output.read_text(encoding="utf-8")
    table = rows(page)
    assert list(table) == ["plain.bpmn", "sub/scripted.bpmn20.xml"]
    assert table["plain.bpmn"][0] == "completes" and table["plain.bpmn"][1] == "completes"
    assert table["plain.bpmn"][-1] == ""
    scripted = table["sub/scripted.bpmn20.xml"]
    assert scripted[0] == "completes" and scripted[1].startswith("refused:") and "m_scripted" in scripted[1]
    assert scripted[-1].startswith("script task")
    assert "| bare SpiffWorkflow completes | 2 |" in page and "| approvalflow completes | 1 |" in page
    assert str(tmp_path) not in page  # paths are relative to the corpus
    assert run_script("--corpus", str(corpus), "--output", str(output), "--check").returncode == 0
    output.write_text(page.replace("| 2 |", "| 3 |"), encoding="utf-8")
    assert run_script("--corpus", str(corpus), "--output", str(output), "--check").returncode == 1


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the SpiffWorkflow corpus is not at {CORPUS} (outside the repository)")
def test_the_committed_corpus_table_is_current(tmp_path: Path) -> None:
    output = tmp_path / "corpus.md"
    done = run_script("--corpus", str(CORPUS), "--output", str(output))
    assert done.returncode == 0, done.stderr
    fresh = output.read_text(encoding="utf-8")
    assert fresh == PAGE.read_text(encoding="utf-8"), "docs/corpus.md is not current: run scripts/corpus_table.py"
    table = rows(fresh)
    assert len(table) == len(list(CORPUS.rglob("*.bpmn"))) + len(list(CORPUS.rglob("*.bpmn20.xml")))
    for model, cells in table.items():
        spiff, af = cells[0], cells[1]
        marked = spiff == "completes" and af != "completes"
        assert bool(cells[-1]) == marked, model  # every row of the work list has its reason, and only those


def test_the_page_links_nowhere_outside_the_repository() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert "](" not in page.replace("](#the-work-list)", "")
    assert "/work/" not in page and "../shared" in page  # named, not linked


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the SpiffWorkflow corpus is not at {CORPUS} (outside the repository)")
def test_every_corpus_model_runs_alike_on_spiffworkflows_workflow_and_the_engines() -> None:
    """The engine's own tree walks (tests/test_spiff_walk.py) change nothing SpiffWorkflow does, on any model."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "spiff_walk_check.py"), "--corpus", str(CORPUS)],
        capture_output=True, text=True, timeout=1200, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = re.search(r"(\d+) models, (\d+) states compared, 0 differ", done.stdout)
    assert summary is not None and int(summary[1]) > 100 and int(summary[2]) > 200, done.stdout[-500:]


def test_the_side_by_side_run_tells_a_different_walk(tmp_path: Path) -> None:
    """The check can fail: a workflow class whose walk skips sub-processes runs a call activity differently."""
    check = ROOT / "scripts" / "spiff_walk_check.py"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "main.bpmn").write_text(calling("main", "inner"), encoding="utf-8")
    (corpus / "sub.bpmn").write_text(task("inner"), encoding="utf-8")
    broken = tmp_path / "broken.py"
    broken.write_text(
        "import runpy, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'src')!r})\n"
        "import approvalflow._spiff as s\n"
        "s._Workflow.get_tasks_iterator = lambda self, first_task=None, **kw: s._iter_tasks(\n"
        "    first_task or self.task_tree, **{**kw, 'skip_subprocesses': True})\n"
        f"sys.argv = [{str(check)!r}, '--corpus', {str(corpus)!r}]\n"
        f"runpy.run_path({str(check)!r}, run_name='__main__')\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(broken)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1 and "differs: main.bpmn" in done.stdout, done.stdout + done.stderr
    fine = subprocess.run([sys.executable, str(check), "--corpus", str(corpus)], capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert fine.returncode == 0 and "2 models" in fine.stdout, fine.stdout + fine.stderr
