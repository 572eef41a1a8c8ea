"""Issue 14: ``render`` of hostile BPMN. Comments and processing instructions inside any element change nothing;
a name of millions of characters renders in bounded time, cut for display, whole (to a bound) in a ``<title>``.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from approvalflow.render import diagrams_of, render_views
from approvalflow.render.names import MAX_LABEL_CHARS, MAX_TITLE_CHARS, clip

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"
SOURCES = [
    ROOT / "processes" / "licensing" / "general_licensing.bpmn",  # lanes, af: extensions, call activity, DI
    ROOT / "processes" / "decision" / "major_decision.bpmn",  # risk points with measures
    ROOT / "tests" / "corpus" / "bpmn-miwg" / "A.4.1.bpmn",  # pools, message flows, sub-processes
    ROOT / "tests" / "corpus" / "bpmn-miwg" / "B.2.0.bpmn",  # data objects, annotations, boundary events
    ROOT / "tests" / "corpus" / "bpmn-miwg" / "C.4.0.bpmn",  # several diagrams
]


def _open_close(match: re.Match[str]) -> str:
    inner = match.group(1)
    return f"<{inner}><!-- inside --><?pi empty?></{inner.split()[0]}>"


def with_comments(xml: str) -> str:
    """A comment and a processing instruction after every start tag and before every end tag.

    Self-closing elements are opened so that they get some too: tasks, lanes, flows, DI shapes and bounds,
    waypoints, extension elements, flowNodeRef and condition texts all hold them.
    """
    xml = re.sub(r"<((?![?!/])[^<>]*?)\s*/>", _open_close, xml)
    xml = re.sub(r"(<(?![?!/])[^<>]*?>)", r"\1<!-- after start --><?pi a?>", xml)
    return re.sub(r"(</[^<>]*?>)", r"<!-- before end --><?pi b?>\1", xml)


def without_di(xml: str) -> str:
    return re.sub(r"<(\w+:)?BPMNDiagram\b.*?</(\w+:)?BPMNDiagram>", "", xml, flags=re.S)


def outcome(path: Path, view: str) -> list[str] | str:
    try:
        return [svg.replace(path.stem, "STEM") for svg in render_views(path, view)]  # type: ignore[arg-type]
    except Exception as exc:  # both variants must fail alike; the type is compared
        return type(exc).__name__


@pytest.mark.parametrize("di", [True, False], ids=["di", "autolayout"])
@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_comments_and_processing_instructions_change_nothing(tmp_path: Path, source: Path, di: bool) -> None:
    text = source.read_text(encoding="utf-8")
    if not di:
        text = without_di(text)
    plain, hostile = tmp_path / "plain.bpmn", tmp_path / "hostile.bpmn"
    plain.write_text(text, encoding="utf-8")
    hostile.write_text(with_comments(text), encoding="utf-8")
    assert hostile.read_text(encoding="utf-8").count("<!--") > 50
    for view in ("flow", "risk"):
        expected = outcome(plain, view)
        if di:
            assert isinstance(expected, list), expected  # the shipped and reference files render
        assert outcome(hostile, view) == expected


# -- long names -------------------------------------------------------------------------------------------------------

_B = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _one_task(name: str) -> bytes:
    """A process with one named task, laid out by DI (no Graphviz needed)."""
    xml = (
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'id="d" targetNamespace="t"><process id="p"><task id="t"/></process>'
        '<bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="pl" bpmnElement="p">'
        '<bpmndi:BPMNShape id="s" bpmnElement="t"><dc:Bounds x="10" y="10" width="100" height="80"/>'
        "</bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>"
    )
    root = etree.fromstring(xml.encode())
    task = root.find(f"{_B}process/{_B}task")
    assert task is not None
    task.set("name", name)
    return bytes(etree.tostring(root, encoding="utf-8"))


_NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=3 * MAX_LABEL_CHARS)


@settings(max_examples=80, deadline=None)
@given(_NAMES)
def test_labels_are_cut_and_the_whole_name_kept_in_a_title(name: str) -> None:
    shape = diagrams_of(_one_task(name))[0].shapes[0]
    whole = " ".join(name.split("\r")).strip()  # as a name attribute reads (XML normalises line ends)
    assert len(shape.name) <= MAX_LABEL_CHARS
    if len(whole) <= MAX_LABEL_CHARS:
        assert (shape.name, shape.title) == (whole, "")
    else:
        assert shape.name == whole[: MAX_LABEL_CHARS - 1] + "…" and shape.title == whole


def test_title_is_bounded_too() -> None:
    name = "审" * (MAX_TITLE_CHARS * 3)
    svg = etree.fromstring(render_views(_one_task(name))[0].encode())
    group = svg.find(".//*[@data-element-id='t']")
    assert group is not None
    title = group.find(f"{SVG}title")
    assert title is not None and title.text == clip(name, MAX_TITLE_CHARS)
    drawn = "".join("".join(t.itertext()) for t in svg.iter(f"{SVG}text") if t.get("data-label-for") == "t")
    assert 0 < len(drawn) <= MAX_LABEL_CHARS


_HUGE = 3_000_000
_RENDER_LIMITED = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({mem}, {mem}))
from approvalflow.render import render_views
begin = time.perf_counter()
for view in ("flow", "risk"):
    svgs = render_views(sys.argv[1], view)
print(time.perf_counter() - begin, sum(len(s) for s in svgs))
"""


def _huge_file(tmp_path: Path, di: bool) -> Path:
    """The licensing process with a 3,000,000-character task name, lane name, flow name, power name and risk."""
    text = (ROOT / "processes" / "licensing" / "general_licensing.bpmn").read_text(encoding="utf-8")
    huge = "长" * 10 + "x" * _HUGE  # one unbreakable token: the worst case for line wrapping
    text = re.sub(r'(<bpmn:userTask id="review"[^>]*? name=")[^"]*', lambda m: m.group(1) + huge, text, count=1)
    text = re.sub(r'(<bpmn:lane id="[^"]*" name=")[^"]*', lambda m: m.group(1) + huge, text, count=1)
    text = re.sub(r'(<af:power [^>]*?name=")[^"]*', lambda m: m.group(1) + huge, text, count=1)
    text = re.sub(r"(<af:description>)[^<]*", lambda m: m.group(1) + huge, text, count=1)
    text = re.sub(
        r'(<bpmn:sequenceFlow id="f_gw_accept"[^>]*? name=")[^"]*', lambda m: m.group(1) + huge, text, count=1
    )
    assert text.count(huge) == 5, "the fixture no longer has the elements this test grows"
    path = tmp_path / "huge.bpmn"
    path.write_text(text if di else without_di(text), encoding="utf-8")
    return path


@pytest.mark.parametrize("di", [True, False], ids=["di", "autolayout"])
def test_three_million_character_names_render_in_bounded_time_and_memory(tmp_path: Path, di: bool) -> None:
    path = _huge_file(tmp_path, di)
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    mem = 2 * 2**30 if hard == resource.RLIM_INFINITY else min(2 * 2**30, hard)
    begin = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _RENDER_LIMITED.format(mem=mem), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seconds, size = result.stdout.split()
    assert float(seconds) < 10, f"render took {seconds} s"
    assert int(size) < 200_000  # the SVG does not carry the names whole
    assert time.perf_counter() - begin < 60
