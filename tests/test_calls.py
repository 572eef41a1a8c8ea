"""Call activities are resolved once (``approvalflow.bpmn.calls``): load, validate and simulate agree.

The same misnamed ``calledElement``, the same recursive call and the same call chain one too deep give the same
refusal (class, message, file, line, element) whether the file is loaded, validated or compiled for simulation.
Expected lines are found in the texts written here, not taken from the code.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvalflow.bpmn.annotations import ProcessInfo
from approvalflow.bpmn.calls import MAX_CALL_DEPTH, CallResolver, candidate_files
from approvalflow.bpmn.loader import load_process, load_process_string
from approvalflow.bpmn.model import NodeInfo
from approvalflow.errors import DefinitionError, NotExecutableError, UnknownReferenceError
from approvalflow.simulation.compile import compile_bpmn
from approvalflow.validation import validate_file

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">\n'
)
TAIL = "</bpmn:definitions>\n"


def caller(pid: str, calls: list[tuple[str, str]]) -> str:
    """A process: start, then one call activity per (activity id, called process) in a row, then end."""
    ids = ["s_" + pid, *(a for a, _ in calls), "e_" + pid]
    lines = [f'<bpmn:process id="{pid}" isExecutable="true">']
    lines.append(f'<bpmn:startEvent id="{ids[0]}"><bpmn:outgoing>{pid}_f0</bpmn:outgoing></bpmn:startEvent>')
    for i, (activity, called) in enumerate(calls):
        lines.append(
            f'<bpmn:callActivity id="{activity}" calledElement="{called}"><bpmn:incoming>{pid}_f{i}</bpmn:incoming>'
            f"<bpmn:outgoing>{pid}_f{i + 1}</bpmn:outgoing></bpmn:callActivity>"
        )
    lines.append(f'<bpmn:endEvent id="{ids[-1]}"><bpmn:incoming>{pid}_f{len(calls)}</bpmn:incoming></bpmn:endEvent>')
    lines += [
        f'<bpmn:sequenceFlow id="{pid}_f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(itertools.pairwise(ids))
    ]
    lines.append("</bpmn:process>")
    return "\n".join(lines) + "\n"


def leaf(pid: str) -> str:
    """A process with one user task."""
    return (
        f'<bpmn:process id="{pid}" isExecutable="true">\n'
        f'<bpmn:startEvent id="s_{pid}"><bpmn:outgoing>{pid}_1</bpmn:outgoing></bpmn:startEvent>\n'
        f'<bpmn:userTask id="t_{pid}"><bpmn:incoming>{pid}_1</bpmn:incoming><bpmn:outgoing>{pid}_2</bpmn:outgoing>'
        "</bpmn:userTask>\n"
        f'<bpmn:endEvent id="e_{pid}"><bpmn:incoming>{pid}_2</bpmn:incoming></bpmn:endEvent>\n'
        f'<bpmn:sequenceFlow id="{pid}_1" sourceRef="s_{pid}" targetRef="t_{pid}"/>\n'
        f'<bpmn:sequenceFlow id="{pid}_2" sourceRef="t_{pid}" targetRef="e_{pid}"/>\n'
        "</bpmn:process>\n"
    )


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only occurrence of ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, hits
    return hits[0]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refusals(path: Path, error: type[DefinitionError]) -> list[tuple[str, str | None, int | None, str | None]]:
    """(message, file, line, element) of the refusal of load and of simulate, and of validate's finding."""
    seen: list[tuple[str, str | None, int | None, str | None]] = []
    for read in (load_process, compile_bpmn):
        with pytest.raises(error) as info:
            read(path)
        seen.append((info.value.message, info.value.file, info.value.line, info.value.element))
    findings = [f for f in validate_file(path) if f.rule == "not-executable" and f.element == seen[0][3]]
    seen += [(f.message, f.file, f.line, f.element) for f in findings]
    return seen


# -- the same refusal in load, validate and simulate ---------------------------------------------------------------
def test_a_misnamed_called_element_gets_one_refusal_everywhere(tmp_path: Path) -> None:
    main = HEAD + caller("main", [("hearing", "hearing_proces")]) + TAIL  # misspelt: hearing_process
    path = write(tmp_path, "main.bpmn", main)
    write(tmp_path, "hearing.bpmn", HEAD + leaf("hearing_process") + TAIL)
    seen = refusals(path, UnknownReferenceError)
    assert len(seen) == 3  # load, simulate, validate
    assert len(set(seen)) == 1, seen
    message, file, line, element = seen[0]
    assert (file, line, element) == (str(path), line_of(main, 'id="hearing"'), "hearing")
    assert "'hearing_proces'" in message and "no file defines" in message


def test_the_spelt_name_is_found_in_the_folder_by_all_three(tmp_path: Path) -> None:
    path = write(tmp_path, "main.bpmn", HEAD + caller("main", [("hearing", "hearing_process")]) + TAIL)
    write(tmp_path, "hearing.bpmn", HEAD + leaf("hearing_process") + TAIL)
    assert "t_hearing_process" in load_process(path).steps
    assert [n.id for n in compile_bpmn(path).tasks()] == ["t_hearing_process"]
    assert not [f for f in validate_file(path) if f.rule == "not-executable"]


def test_a_recursive_call_across_files_gets_one_refusal_in_load_and_simulate(tmp_path: Path) -> None:
    a_text = HEAD + caller("a", [("call_b", "b")]) + TAIL
    b_text = HEAD + caller("b", [("call_a", "a")]) + TAIL
    a = write(tmp_path, "a.bpmn", a_text)
    b = write(tmp_path, "b.bpmn", b_text)
    seen = refusals(a, NotExecutableError)
    # from a: a calls b, and b's call_a calls a, which is running above it: the refusal is at call_a, in b.bpmn
    assert seen[0] == seen[1]
    message, file, line, element = seen[0]
    assert (file, line, element) == (str(b), line_of(b_text, 'id="call_a"'), "call_a")
    assert "recursive call" in message and "(a -> b -> a)" in message
    # validate reports each file's view, each at the call that closes the cycle, with the loader's text
    assert seen[0] in seen[2:]
    other = {(f.message, f.file, f.line, f.element) for f in validate_file(b) if f.rule == "not-executable"}
    assert any(f == str(a) and ln == line_of(a_text, 'id="call_b"') and "(b -> a -> b)" in m for m, f, ln, _ in other)


@pytest.mark.parametrize("depth", [MAX_CALL_DEPTH, MAX_CALL_DEPTH + 1])
def test_the_call_depth_limit_is_the_same_everywhere(tmp_path: Path, depth: int) -> None:
    """A chain of ``depth`` processes (p0 calls p1 ... calls p{depth-1}), one per file."""
    texts = {}
    for n in range(depth - 1):
        texts[n] = HEAD + caller(f"p{n}", [(f"call_{n}", f"p{n + 1}")]) + TAIL
    texts[depth - 1] = HEAD + leaf(f"p{depth - 1}") + TAIL
    paths = {n: write(tmp_path, f"p{n:02d}.bpmn", text) for n, text in texts.items()}
    if depth <= MAX_CALL_DEPTH:
        assert len(load_process(paths[0]).processes) == depth
        assert [t.id for t in compile_bpmn(paths[0]).tasks()] == [f"t_p{depth - 1}"]
        assert not [f for f in validate_file(paths[0]) if f.rule == "not-executable"]
        return
    seen = refusals(paths[0], NotExecutableError)
    assert len(set(seen)) == 1 and len(seen) == 3, seen
    message, file, line, element = seen[0]
    last = MAX_CALL_DEPTH - 1  # p0 .. p9 are MAX_CALL_DEPTH processes; p9's call makes the chain one too deep
    assert (file, line, element) == (str(paths[last]), line_of(texts[last], f'id="call_{last}"'), f"call_{last}")
    assert f"{MAX_CALL_DEPTH + 1} deep" in message


def test_a_process_called_many_times_over_is_refused_quickly(tmp_path: Path) -> None:
    """Nine processes, each calling the next from 40 call activities: 40**8 paths, 320 calls."""
    text = HEAD
    for n in range(8):
        text += caller(f"q{n}", [(f"c{n}_{k}", f"q{n + 1}") for k in range(40)])
    text += leaf("q8") + TAIL
    path = write(tmp_path, "wide.bpmn", text)
    begin = time.perf_counter()
    assert len(load_process(path).processes) == 9  # legal: 9 deep, no recursion; each process walked once
    with pytest.raises(DefinitionError, match="nodes"):  # inlining it would stand for 40**8 task nodes
        compile_bpmn(path)
    assert time.perf_counter() - begin < 20


# -- where a called process is looked up ------------------------------------------------------------------------
def test_own_file_then_search_list_then_folder_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    main = write(folder, "main.bpmn", HEAD + caller("main", [("c", "sub")]) + TAIL)
    write(folder, "a_broken.bpmn", "<not xml")  # skipped while looking
    write(folder, "b.bpmn", HEAD + leaf("sub").replace("t_sub", "t_from_b") + TAIL)
    write(folder, "c.bpmn", HEAD + leaf("sub").replace("t_sub", "t_from_c") + TAIL)
    searched = write(elsewhere, "s.bpmn", HEAD + leaf("sub").replace("t_sub", "t_from_search") + TAIL)
    assert "t_from_b" in load_process(main).steps
    assert "t_from_search" in load_process(main, search=[searched]).steps
    assert [t.id for t in compile_bpmn(main).tasks()] == ["t_from_b"]
    own = write(folder, "own.bpmn", HEAD + caller("own", [("c", "sub")]) + leaf("sub") + TAIL)
    assert "t_sub" in load_process(own, process_id="own").steps
    assert candidate_files(main, [searched])[0] == searched
    assert main not in candidate_files(main)


def test_a_document_from_a_string_looks_only_in_the_search_list(tmp_path: Path) -> None:
    text = HEAD + caller("main", [("c", "sub")]) + TAIL
    sub = write(tmp_path, "sub.bpmn", HEAD + leaf("sub") + TAIL)
    with pytest.raises(UnknownReferenceError, match="'sub'"):
        load_process_string(text, filename=str(tmp_path / "main.bpmn"))
    assert "t_sub" in load_process_string(text, filename="main.bpmn", search=[sub]).steps


# -- the call graph check against a brute force ---------------------------------------------------------------
Graph = Mapping[str, list[str]]


def infos(graph: Graph) -> dict[str, ProcessInfo]:
    out = {}
    for pid, called in graph.items():
        info = ProcessInfo(id=pid, name=None, line=1, executable=True, file="g.bpmn")
        for k, target in enumerate(called):
            activity = f"{pid}_call{k}"
            info.nodes[activity] = NodeInfo(activity, "callActivity", None, pid, k + 2)
            info.called[activity] = target
        out[pid] = info
    return out


def brute(graph: Graph, main: str) -> tuple[bool, bool, int]:
    """(a call back into a running process, a missing process, the most processes in one chain), by every path."""
    cyclic = missing = False
    deepest = 0
    stack: list[tuple[str, ...]] = [(main,)]
    while stack:
        path = stack.pop()
        deepest = max(deepest, len(path))
        for target in graph[path[-1]]:
            if target not in graph:
                missing = True
            elif target in path:
                cyclic = True
            else:
                stack.append((*path, target))
    return cyclic, missing, deepest


@st.composite
def graphs(draw: st.DrawFn) -> dict[str, list[str]]:
    """Up to 13 processes: a chain p0 -> p1 -> ... of drawn length, and up to two more calls each (to any
    process, or to one that does not exist), so that chains around the depth limit are drawn often."""
    n = draw(st.integers(1, 13))
    chain = draw(st.integers(0, n - 1))
    targets = st.sampled_from([*(f"p{j}" for j in range(n)), "nowhere"])
    graph = {f"p{i}": draw(st.lists(targets, max_size=2)) for i in range(n)}
    for i in range(chain):
        graph[f"p{i}"].insert(draw(st.integers(0, len(graph[f"p{i}"]))), f"p{i + 1}")
    return graph


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_problems_match_a_brute_force_over_every_path(graph: dict[str, list[str]]) -> None:
    doc = infos(graph)
    resolver: CallResolver[dict[str, ProcessInfo]] = CallResolver([], lambda p: {}, lambda d: d)
    problems = resolver.problems(doc, "p0")
    cyclic, missing, deepest = brute(graph, "p0")
    assert any(isinstance(p, UnknownReferenceError) for p in problems) == missing
    assert any("recursive call" in p.message for p in problems) == cyclic
    too_deep = [p for p in problems if " deep (" in p.message]
    if not cyclic:  # with a cycle, a chain's length depends on where it is cut; without, it is the longest path
        assert bool(too_deep) == (deepest > MAX_CALL_DEPTH)
    for p in too_deep:
        chain = p.message.split(" deep (")[1].split(")")[0].split(" -> ")
        assert len(chain) == MAX_CALL_DEPTH + 1 and chain[0] == "p0"
        assert all(b in graph[a] for a, b in itertools.pairwise(chain))  # a real chain of calls
        assert len(set(chain)) == len(chain)
    if not problems:
        assert {i.id for _, i in resolver.resolve(doc, "p0")} == reachable(graph, "p0")


def reachable(graph: Graph, main: str) -> set[str]:
    seen = {main}
    todo = [main]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen
