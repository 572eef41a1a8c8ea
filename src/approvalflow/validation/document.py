"""Read a BPMN file tolerantly: every problem becomes a finding, and what can be read is kept.

:func:`approvalflow.bpmn.loader.load_process` stops at the first problem, as it
must before a case runs. ``validate`` wants all of them, so this module parses
with :mod:`approvalflow.io.xmlsafe`, checks the schemas and the ``af:`` placement,
reads each process with :mod:`approvalflow.bpmn.annotations`, and turns each error
into a finding. XML that does not parse, or that fails the BPMN / ``af`` schema,
is one ``invalid-bpmn`` (or ``invalid-annotation``) finding and nothing else is
checked in that file, because every later check relies on a valid structure.

A :class:`Workspace` keeps every document read during one run, so that a
folder of a thousand files is parsed once, and finds the file of a called
process with the loader's resolver (:mod:`approvalflow.bpmn.calls`: same file
first, then the same folder).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..bpmn.annotations import ProcessInfo, check_af_placement, read_process
from ..bpmn.calls import CallResolver, folder_files
from ..bpmn.schema import validate_schema
from ..errors import BpmnError, DefinitionError, ExtensionError, NotExecutableError, UnknownReferenceError
from ..io.namespaces import BPMN_NS, bpmn
from ..io.xmlsafe import parse_xml_file, parse_xml_string, strip_comments
from .findings import StaticFinding, finding

__all__ = ["Document", "Workspace", "read_document"]


@dataclass
class Document:
    """One BPMN file as far as it could be read, with the findings of reading it."""

    file: str
    tree: etree._ElementTree | None
    processes: dict[str, ProcessInfo] = field(default_factory=dict)
    findings: list[StaticFinding] = field(default_factory=list)
    elements: dict[str, etree._Element] = field(default_factory=dict)  # id -> element

    @property
    def readable(self) -> bool:
        return self.tree is not None and bool(self.processes)


def _from_error(rule: str, exc: DefinitionError, file: str) -> StaticFinding:
    return finding(rule, exc.message, file=exc.file or file, line=exc.line, element=exc.element)


def read_document(source: Path | str | bytes, *, filename: str | None = None) -> Document:
    """Read a file (a path) or a document (``bytes``, or ``str`` with ``filename``)."""
    file = filename or str(source)
    try:
        if isinstance(source, Path):
            tree = parse_xml_file(source, filename=file)
        else:
            tree = parse_xml_string(source, filename=file)
    except DefinitionError as exc:
        return Document(file, None, findings=[_from_error("invalid-bpmn", exc, file)])
    return _read_tree(strip_comments(tree), file)


def _read_tree(tree: etree._ElementTree, file: str) -> Document:
    root = tree.getroot()
    if root.tag != bpmn("definitions"):
        message = f"the root element is <{root.tag}>, not bpmn:definitions ({BPMN_NS})"
        return Document(
            file, None, findings=[finding("invalid-bpmn", message, file=file, line=root.sourceline, element=None)]
        )
    doc = Document(file, tree)
    try:
        validate_schema(tree, file=file)
        check_af_placement(root, file)
    except ExtensionError as exc:
        doc.findings.append(_from_error("invalid-annotation", exc, file))
        return doc
    except DefinitionError as exc:
        doc.findings.append(_from_error("invalid-bpmn", exc, file))
        return doc
    doc.elements = {str(el.get("id")): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for proc in root.iter(bpmn("process")):
        try:
            info = read_process(proc, file)
        except (DefinitionError, ValueError, KeyError) as exc:
            message = exc.message if isinstance(exc, DefinitionError) else f"cannot read the af annotations: {exc}"
            rule = "invalid-bpmn" if isinstance(exc, BpmnError) else "invalid-annotation"
            rule = "not-executable" if isinstance(exc, NotExecutableError) else rule
            line = (exc.line if isinstance(exc, DefinitionError) else None) or proc.sourceline
            element = (exc.element if isinstance(exc, DefinitionError) else None) or proc.get("id")
            doc.findings.append(finding(rule, message, file=file, line=line, element=element))
            continue
        doc.processes[info.id] = info
    if not doc.processes and not doc.findings:
        doc.findings.append(
            finding("invalid-bpmn", "the file defines no bpmn:process", file=file, line=root.sourceline, element=None)
        )
    return doc


class Workspace:
    """The documents read during one validation run, and where each process id is defined.

    Called processes are found by :class:`approvalflow.bpmn.calls.CallResolver` (one per folder), the resolver
    of the loader and the simulator: the same file first, then the other ``.bpmn`` files of the folder.
    """

    def __init__(self, host_functions: Iterable[str] = ()) -> None:
        #: names of the host's trusted functions and ids of the script tasks it binds functions to: the script
        #: tasks these name run (``load_process(trusted_functions=..., script_tasks=...)``) and are not reported
        self.host_functions = frozenset(host_functions)
        self._docs: dict[Path, Document] = {}
        self._resolvers: dict[Path | None, CallResolver[Document]] = {}
        self._callers: dict[Path, dict[str, list[tuple[Document, ProcessInfo]]]] = {}

    def add(self, path: Path, doc: Document) -> None:
        """Register a document read elsewhere (e.g. from a string) under ``path``."""
        self._docs[path.resolve()] = doc

    def document(self, path: Path) -> Document:
        """The document at ``path``, read once."""
        key = path.resolve()
        if key not in self._docs:
            self._docs[key] = read_document(Path(path), filename=str(path))
        return self._docs[key]

    @staticmethod
    def _folder(doc: Document) -> Path | None:
        path = Path(doc.file)
        return path.resolve().parent if path.is_file() else None

    def resolver(self, doc: Document) -> CallResolver[Document]:
        """The call resolver for processes called from ``doc`` (its folder's; none for a document from a string)."""
        folder = self._folder(doc)
        if folder not in self._resolvers:
            self._resolvers[folder] = CallResolver(
                folder_files(folder) if folder is not None else [],
                self.document,
                _processes,
                ids_of=lambda path: self.document(path).processes,
            )
        return self._resolvers[folder]

    def find_process(self, doc: Document, process_id: str) -> tuple[Document, ProcessInfo] | None:
        """The document and process that ``process_id`` names: in ``doc`` itself, else in its folder."""
        return self.resolver(doc).find(doc, process_id)

    def call_problems(self, doc: Document) -> list[DefinitionError]:
        """What the loader would refuse in the call graph of each process of ``doc``: calls to processes no file
        defines (those made in ``doc``), recursive calls and chains too deep (wherever the call is), each once."""
        found: dict[tuple[str | None, int | None, str | None, str], DefinitionError] = {}
        for pid in doc.processes:
            for problem in self.resolver(doc).problems(doc, pid):
                if isinstance(problem, UnknownReferenceError) and problem.file != doc.file:
                    continue  # reported with the file it is in
                found.setdefault((problem.file, problem.line, problem.element, problem.message), problem)
        return list(found.values())

    def callers(self, doc: Document, process_id: str) -> list[tuple[Document, ProcessInfo]]:
        """Processes of the same file or folder with a call activity calling ``process_id``."""
        found = [(doc, info) for info in doc.processes.values() if process_id in info.called.values()]
        folder = self._folder(doc)
        if folder is None:
            return found
        if folder not in self._callers:
            index: dict[str, list[tuple[Document, ProcessInfo]]] = {}
            for other_path in sorted(set(self.resolver(doc).index().values())):
                other = self.document(other_path)
                for info in other.processes.values():
                    for called in set(info.called.values()):
                        index.setdefault(called, []).append((other, info))
            self._callers[folder] = index
        return found + [(d, i) for d, i in self._callers[folder].get(process_id, []) if d is not doc]


def _processes(doc: Document) -> dict[str, ProcessInfo]:
    return doc.processes
