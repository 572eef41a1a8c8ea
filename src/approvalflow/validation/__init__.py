"""``validate``: prove a process sound and compliant before any case runs (SPEC section 4).

Each BPMN file is read tolerantly (:mod:`.document`), its graph built once
(:mod:`.graph`), and every registered check (:data:`CHECKS`, by rule id) runs
over it and collects all its findings:

* structural (:mod:`.structural`, :mod:`.tokens`): ``unreachable``, ``dead-end``,
  ``deadlock``, ``no-sync``, ``missing-default``, ``unknown-step-ref``;
* executable (:mod:`.executable`): ``not-executable``, with every reason;
* compliance (:mod:`.compliance`): ``no-posts``, ``no-time-limit``,
  ``risk-coverage``, ``time-budget``, ``requires-not-dominating``;
* organisation, with ``org`` (:mod:`.staffing`, :mod:`.orgcheck`): ``staffing``,
  ``org-five-not-direct``, ``org-all-five``.

Reading problems are findings too (``invalid-bpmn``, ``invalid-annotation``).
Only what cannot be validated at all (a path that does not exist or is not a
regular file, an organisation file that cannot be read, an unknown unit) raises a
:class:`~approvalflow.errors.DefinitionError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

from ..bpmn.loader import dangling_references
from ..errors import DefinitionError, OrganisationError
from ..io.inputfiles import file_kind, is_regular_file, regular_files
from ..io.namespaces import bpmn
from ..org.organisation import Organisation
from . import compliance, events, executable, staffing, structural  # noqa: F401  (they register their checks)
from .context import CHECKS, Check, Context
from .document import Document, Workspace, read_document
from .findings import SEVERITY, Severity, StaticFinding, finding
from .graph import build_graph
from .orgcheck import load_org_tolerant

__all__ = [
    "CHECKS",
    "SEVERITY",
    "Check",
    "Severity",
    "StaticFinding",
    "bpmn_files",
    "default_jobs",
    "has_errors",
    "validate_definition",
    "validate_file",
    "validate_paths",
    "validate_string",
]


def _run(doc: Document, workspace: Workspace, org: Organisation | None, unit: str | None) -> list[StaticFinding]:
    found = list(doc.findings)
    broken = _dangling(doc)
    if broken:  # one finding per broken reference, not the unreachable nodes and engine errors that follow from it
        found += broken
    elif doc.readable:
        ctx = Context(doc, build_graph(doc), workspace, org, unit)
        for fn in dict.fromkeys(CHECKS.values()):
            try:
                found.extend(fn(ctx))
            except Exception as exc:  # a malformed model must give findings, never a traceback
                found.append(_check_failed(doc, fn.__name__, exc))
    return sorted(dict.fromkeys(found), key=StaticFinding.sort_key)


def _dangling(doc: Document) -> list[StaticFinding]:
    """Sequence flows and boundary events naming no element of their process, as ``load_process`` names them."""
    if doc.tree is None:
        return []
    found = []
    for proc in doc.tree.getroot().iter(bpmn("process")):
        info = doc.processes.get(str(proc.get("id")))
        for exc in dangling_references(proc, info, doc.file) if info is not None else []:
            found.append(finding("invalid-bpmn", exc.message, file=exc.file or doc.file, line=exc.line,
                                 element=exc.element))  # fmt: skip
    return found


def _check_failed(doc: Document, check_name: str, exc: Exception) -> StaticFinding:
    """A check that could not run on a malformed model is itself an error finding, naming the check."""
    detail = f"{type(exc).__name__}: {str(exc)[:200]}"
    message = (
        f"the {check_name.replace('_', '-')} check could not run on this model ({detail}); "
        "fix the other errors reported for this file first"
    )
    return finding("invalid-bpmn", message, file=doc.file, line=None, element=None)


def _check_unit(org: Organisation | None, unit: str | None) -> None:
    if unit is not None and (org is None or unit not in org.units):
        known = ", ".join(org.units) if org is not None else "no organisation given"
        raise OrganisationError(f"unit '{unit}' is not in the organisation ({known})", file=org.file if org else None)


def validate_file(
    path: str | Path,
    *,
    org: Organisation | None = None,
    unit: str | None = None,
    workspace: Workspace | None = None,
    host_functions: Iterable[str] = (),
) -> list[StaticFinding]:
    """All findings of one BPMN file; called processes are looked up in its folder.

    ``host_functions``: the names of the trusted functions the host registers and the ids of the script tasks it
    binds functions to (``load_process(trusted_functions=..., script_tasks=...)``); the script tasks they name are
    not reported as ``not-executable``. Ignored when ``workspace`` is given (the workspace's own are used).
    """
    _check_unit(org, unit)
    path = Path(path)
    if not is_regular_file(path):
        raise DefinitionError(_not_a_file(path), file=str(path))
    ws = workspace or Workspace(host_functions)
    return _run(ws.document(path), ws, org, unit)


def validate_string(
    text: str | bytes,
    *,
    filename: str = "<string>",
    org: Organisation | None = None,
    unit: str | None = None,
    host_functions: Iterable[str] = (),
) -> list[StaticFinding]:
    """All findings of a BPMN document given as text (called processes must be in it); the rest as
    :func:`validate_file`."""
    _check_unit(org, unit)
    return _run(read_document(text, filename=filename), Workspace(host_functions), org, unit)


def validate_definition(definition: object, *, org: Organisation | None = None) -> list[StaticFinding]:
    """All findings of the file a loaded :class:`~approvalflow.bpmn.loader.ProcessDefinition` came from."""
    file = getattr(definition, "file", None)
    if not file:
        raise DefinitionError("the process definition was not loaded from a file; use validate_string")
    return validate_file(file, org=org)


def bpmn_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, and the ``.bpmn`` files under the folders named, in order.

    A folder yields only its regular files (a FIFO or device named ``*.bpmn`` is not a document). A path that
    does not exist, or names a FIFO, device or socket, is an error.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += regular_files(p, "*.bpmn")
        elif is_regular_file(p):
            files.append(p)
        else:
            raise DefinitionError(_not_a_file(p, folder_ok=True), file=str(p))
    return list(dict.fromkeys(files))


def _not_a_file(path: Path, *, folder_ok: bool = False) -> str:
    """Why ``path`` cannot be validated: missing, or not a regular file (said without opening it)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return "no such file or folder" if folder_ok else "no such file"
    return f"cannot read the file: it is {file_kind(mode)}, and only regular files are read"


def validate_paths(
    paths: Iterable[str | Path],
    *,
    org: str | Path | Organisation | None = None,
    unit: str | None = None,
    jobs: int = 1,
    executor: Executor | None = None,
) -> list[StaticFinding]:
    """All findings of every BPMN file under ``paths``, and of the organisation file if one is given.

    With ``jobs > 1`` (or an ``executor``) the folders are validated in parallel,
    one folder per task: call activities and their callers are looked up within a
    folder, so the findings are exactly those of a serial run, in the same order.
    Parallel runs pay off from about a hundred files; below that the start-up of the
    worker processes costs more than it saves.
    """
    files = bpmn_files(paths)
    org_findings: list[StaticFinding] = []
    if isinstance(org, (str, Path)):
        org, org_findings = load_org_tolerant(org)
    _check_unit(org, unit)
    found = list(org_findings)
    folders = _by_folder(files)
    if (jobs > 1 or executor is not None) and len(folders) > 1:
        if executor is not None:
            for part in executor.map(_validate_folder, folders, [org] * len(folders), [unit] * len(folders)):
                found += part
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(folders))) as pool:
                for part in pool.map(_validate_folder, folders, [org] * len(folders), [unit] * len(folders)):
                    found += part
        return found
    for group in folders:
        found += _validate_folder(group, org, unit)
    return found


def default_jobs() -> int:
    """The number of worker processes ``validate`` uses by default: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _by_folder(files: list[Path]) -> list[list[Path]]:
    """The files grouped by folder, groups in the order their first file was named."""
    groups: dict[Path, list[Path]] = {}
    for path in files:
        groups.setdefault(path.resolve().parent, []).append(path)
    return list(groups.values())


def _validate_folder(files: list[Path], org: Organisation | None, unit: str | None) -> list[StaticFinding]:
    ws = Workspace()
    found: list[StaticFinding] = []
    for path in files:
        found += _run(ws.document(path), ws, org, unit)
    return found


def has_errors(findings: Iterable[StaticFinding]) -> bool:
    """True when any finding has severity ``error`` (exit status 1 of ``validate``)."""
    return any(f.severity == "error" for f in findings)
