"""Call activities: which process a ``calledElement`` names, and which call graphs cannot run.

The one resolver of the package: :func:`approvalflow.bpmn.loader.load_process`, ``validate``
(:class:`approvalflow.validation.document.Workspace`) and the simulator
(:func:`approvalflow.simulation.compile.compile_bpmn`) all find called processes and refuse bad call graphs here,
so a misnamed ``calledElement`` or a recursive call gets the same message, file, line and element in all three.

Where a called process is looked up (:meth:`CallResolver.find`):

1. in the file of the calling process itself, then in the file being read (a called file may call back);
2. in the files of the search list (``load_process(..., search=[...])``), in the order given;
3. in the other BPMN files (:data:`BPMN_SUFFIXES`: ``*.bpmn`` and ``*.bpmn20.xml``) of the folder of the file
   being read (regular files only, in name order).

The first file that defines the process id wins; a file that cannot be parsed is skipped while looking (it is an
error only if it is the one that defines the process, which only reading it fully can tell).

What is refused (:meth:`CallResolver.problems`, :meth:`CallResolver.resolve`), each error naming the file, line
and id of the call activity:

* a call activity whose process is in none of these files (:class:`~approvalflow.errors.UnknownReferenceError`);
* a process that calls itself, directly or through others (:class:`~approvalflow.errors.NotExecutableError`): it
  would start sub-processes without end;
* a chain of call activities deeper than :data:`MAX_CALL_DEPTH` (:class:`~approvalflow.errors.NotExecutableError`).

The resolver is generic over the document type of its user (the loader's strict documents, ``validate``'s
tolerant ones, the simulator's parsed trees): it needs only a function reading a file into a document and one
giving a document's processes as :class:`~approvalflow.bpmn.annotations.ProcessInfo`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from ..errors import DefinitionError, NotExecutableError, UnknownReferenceError
from ..io.inputfiles import is_regular_file
from ..io.namespaces import bpmn
from ..io.xmlsafe import parse_xml
from .annotations import ProcessInfo

__all__ = [
    "BPMN_SUFFIXES",
    "MAX_CALL_DEPTH",
    "Call",
    "CallResolver",
    "calls_of",
    "candidate_files",
    "defined_processes",
    "folder_files",
    "missing_process",
]

MAX_CALL_DEPTH = 10
"""Deepest chain of call activities a process may have (a process calling one calling one ...). A process that
calls itself, directly or through others, is refused: it would start sub-processes without end."""

BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")
"""The endings of the file names looked in for called processes: Camunda Modeler and bpmn.io save ``.bpmn``,
Signavio and Activiti ``.bpmn20.xml``."""

D = TypeVar("D")


@dataclass(frozen=True)
class Call:
    """One call activity: ``activity`` (an id of process ``caller``) calls process ``called``."""

    caller: str
    activity: str
    called: str
    file: str | None
    line: int | None


def calls_of(info: ProcessInfo) -> list[Call]:
    """The call activities of a process that name a process (``calledElement``), in document order."""
    return [
        Call(info.id, activity, called, info.file, info.nodes[activity].line if activity in info.nodes else None)
        for activity, called in info.called.items()
    ]


def _at(call: Call, error: type[DefinitionError], message: str) -> DefinitionError:
    return error(message, file=call.file, line=call.line, element=call.activity)


def missing_process(call: Call) -> DefinitionError:
    """The error for a call activity whose process no file defines (the same text in load, validate, simulate):
    an :class:`~approvalflow.errors.UnknownReferenceError`."""
    return _at(
        call,
        UnknownReferenceError,
        f"call activity '{call.activity}' calls process '{call.called}', which no file defines: not this file, "
        "not the search list, not another .bpmn or .bpmn20.xml file of the same folder",
    )


def _recursive(call: Call, chain: Sequence[str]) -> DefinitionError:
    cycle = " -> ".join((*chain[chain.index(call.called) :], call.called))
    message = (
        f"call activity '{call.activity}' calls process '{call.called}', which is already running above it "
        f"({cycle}): a recursive call would start sub-processes without end"
    )
    return _at(call, NotExecutableError, message)


def _too_deep(call: Call, chain: Sequence[str]) -> DefinitionError:
    message = (
        f"call activity '{call.activity}' nests call activities {len(chain) + 1} deep "
        f"({' -> '.join((*chain, call.called))}); the limit is {MAX_CALL_DEPTH} (bpmn.calls.MAX_CALL_DEPTH)"
    )
    return _at(call, NotExecutableError, message)


def candidate_files(file: str | Path | None, search: Iterable[str | Path] = ()) -> list[Path]:
    """Where called processes are looked up after the calling file: ``search``, then the other BPMN files
    (:func:`folder_files`) of ``file``'s folder (none when ``file`` is ``None`` or names no file, e.g. a document
    read from a string)."""
    found = [Path(p) for p in search]
    if file is None or not Path(file).is_file():
        return found
    own = Path(file).resolve()
    return found + [p for p in folder_files(own.parent) if p.resolve() != own]


def folder_files(folder: Path) -> list[Path]:
    """The BPMN files of ``folder`` (names ending in one of :data:`BPMN_SUFFIXES`) where called processes are
    looked up: regular files, in name order."""
    return sorted(p for p in folder.iterdir() if p.name.endswith(BPMN_SUFFIXES) and is_regular_file(p))


def defined_processes(path: Path) -> list[str]:
    """The ids of the processes the BPMN file ``path`` defines (parsed safely); none when it does not parse."""
    try:
        root = parse_xml(path, filename=str(path)).getroot()
    except DefinitionError:
        return []
    return [proc.get("id", "") for proc in root.iter(bpmn("process"))]


class CallResolver(Generic[D]):
    """Finds called processes among ``candidates`` (see the module) and checks call graphs.

    ``read`` reads a candidate file into a document (called once per file, only for a file that defines a
    process some call needs; its errors propagate), ``processes_of`` gives a document's processes, and ``ids_of``
    lists the process ids a candidate file defines, for the index (by default a safe parse of the file,
    :func:`defined_processes`); the index is built on the first process not found in its caller's own file.
    """

    def __init__(
        self,
        candidates: Sequence[Path],
        read: Callable[[Path], D],
        processes_of: Callable[[D], Mapping[str, ProcessInfo]],
        *,
        ids_of: Callable[[Path], Iterable[str]] = defined_processes,
    ) -> None:
        self._candidates = list(candidates)
        self._read = read
        self._processes_of = processes_of
        self._ids_of = ids_of
        self._index: dict[str, Path] | None = None
        self._documents: dict[Path, D] = {}

    def index(self) -> Mapping[str, Path]:
        """Which candidate file defines which process id (the first file wins)."""
        if self._index is None:
            self._index = {}
            for path in self._candidates:
                for pid in self._ids_of(path):
                    self._index.setdefault(pid, path)
        return self._index

    def documents(self) -> list[D]:
        """The candidate documents read so far, in the order they were read."""
        return list(self._documents.values())

    def find(self, doc: D, process_id: str, root: D | None = None) -> tuple[D, ProcessInfo] | None:
        """The document and process that ``process_id`` names, for a call made in ``doc``; ``None`` if none.

        ``root``, the document being loaded (whose processes a called file may call back), is looked in right
        after ``doc``.
        """
        for known in (doc,) if root is None else (doc, root):
            own = self._processes_of(known)
            if process_id in own:
                return known, own[process_id]
        path = self.index().get(process_id)
        if path is None:
            return None
        key = path.resolve()
        if key not in self._documents:
            self._documents[key] = self._read(path)
        other = self._documents[key]
        info = self._processes_of(other).get(process_id)
        return None if info is None else (other, info)

    def reached(self, doc: D, main: str) -> list[tuple[D, ProcessInfo]]:
        """``main`` (a process of ``doc``) and every process it calls, directly or not, each once.

        Raises :func:`missing_process`'s error for the first call whose process is not found; does not check
        recursion or depth (see :meth:`resolve`).
        """
        found: dict[str, tuple[D, ProcessInfo]] = {}
        todo = [(doc, self._processes_of(doc)[main])]
        while todo:
            current, info = todo.pop()
            if info.id in found:
                continue
            found[info.id] = (current, info)
            for call in calls_of(info):
                hit = self.find(current, call.called, doc)
                if hit is None:
                    raise missing_process(call)
                todo.append(hit)
        return list(found.values())

    def problems(self, doc: D, main: str) -> list[DefinitionError]:
        """Everything wrong with ``main``'s call graph: each call to a process no file defines, each call back
        into a process already running above it, and the first chain deeper than :data:`MAX_CALL_DEPTH`.

        One depth-first walk over processes (not over paths: a process reached twice is walked once), without
        recursion, so a hostile file with many calls per process costs time linear in its calls.
        """
        missing: list[DefinitionError] = []
        cycles: list[DefinitionError] = []
        height: dict[str, int] = {main: 1}  # process -> processes in its longest call chain (itself included)
        below: dict[str, tuple[Call, str]] = {}  # process -> the call that starts that chain, and its process
        finished: set[str] = set()
        chain: list[str] = [main]  # the processes being walked, each called by the one before
        on_chain = {main}
        walks: list[tuple[Iterator[tuple[Call, tuple[D, ProcessInfo] | None]], Call | None]] = [
            (self._calls(doc, main, doc), None)
        ]
        while walks:
            calls, entered_by = walks[-1]
            step = next(calls, None)
            if step is None:  # every call of chain[-1] seen: its height is known
                walks.pop()
                done = chain.pop()
                on_chain.discard(done)
                finished.add(done)
                if entered_by is not None:
                    _relax(height, below, entered_by, done)
                continue
            call, hit = step
            if hit is None:
                missing.append(missing_process(call))
            elif hit[1].id in on_chain:
                cycles.append(_recursive(call, chain))
            elif hit[1].id in finished:
                _relax(height, below, call, hit[1].id)
            else:
                chain.append(hit[1].id)
                on_chain.add(hit[1].id)
                height[hit[1].id] = 1
                walks.append((self._calls(hit[0], hit[1].id, doc), call))
        return [*missing, *cycles, *_too_deep_chain(main, height, below)]

    def _calls(self, doc: D, process: str, root: D) -> Iterator[tuple[Call, tuple[D, ProcessInfo] | None]]:
        for call in calls_of(self._processes_of(doc)[process]):
            yield call, self.find(doc, call.called, root)

    def resolve(self, doc: D, main: str) -> list[tuple[D, ProcessInfo]]:
        """:meth:`reached`, after refusing the first of :meth:`problems` (missing processes first)."""
        reached = self.reached(doc, main)
        problems = self.problems(doc, main)
        if problems:
            raise problems[0]
        return reached


def _relax(height: dict[str, int], below: dict[str, tuple[Call, str]], call: Call, called: str) -> None:
    """The caller's longest chain may go through ``call`` to the finished process ``called``."""
    if height[called] + 1 > height.get(call.caller, 1):
        height[call.caller] = height[called] + 1
        below[call.caller] = (call, called)


def _too_deep_chain(
    main: str, height: Mapping[str, int], below: Mapping[str, tuple[Call, str]]
) -> list[DefinitionError]:
    """The error for ``main``'s longest chain if it is deeper than the limit, at the call that passes it."""
    if height.get(main, 1) <= MAX_CALL_DEPTH:
        return []
    path = [main]
    while len(path) < MAX_CALL_DEPTH:
        path.append(below[path[-1]][1])
    return [_too_deep(below[path[-1]][0], path)]
