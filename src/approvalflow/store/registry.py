"""The process registry (流程版本库) of a case store: every deployed version of every process, kept by digest.

``deploy(store, files)`` loads each BPMN file as :func:`~approvalflow.bpmn.loader.load_process` does (every check
and limit of the loader applies: a refused file is named with its line and element, and nothing is written), and
keeps its bytes and those of the files its call activities use, each file once, by SHA-256. A process gets version
1, 2, ... in the order its distinct definitions are deployed; deploying a definition already deployed (the same
digest) is a no-op that says so (:attr:`Deployment.new` is false). All the files of one ``deploy`` are written in
one transaction.

A definition is always loaded back from the stored bytes, never from disk (:func:`stored_definition`,
:func:`definition_of`): its call activities are resolved among the files kept with it, and the digest it loads
with must be the digest it was deployed under. So a case loads on the version it started on whatever happened to
the file on disk: :func:`~approvalflow.store.cases.load_case_from` and the commands that take a store
(``tick``, ``calendar update``, ``store check``...) look a case's digest up here when the caller does not give
that definition (:class:`KnownDefinitions`). The spec is never copied into a case: a saved case holds the digest.

New cases start on the latest version or a chosen one:
:func:`~approvalflow.store.cases.start_deployed`. Tables: ``af_processes``
(process, version, digest, file_name, deployed_at), ``af_definitions`` (digest, process, files) and ``af_files``
(sha256, size, content in base64); :class:`~approvalflow.store.memory.MemoryStore` keeps the same in dicts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..bpmn.loader import ProcessDefinition, load_process, load_process_sources
from ..errors import ApprovalflowError, DefinitionError, InvalidInputError
from ..expressions import TrustedFunction
from ..io.xmlsafe import read_xml_bytes
from ..time.clock import SystemClock, parse_moment
from .base import StoreError
from .registry_rows import MemoryRegistry, NewVersion, RegistryBackend, SqlRegistry

__all__ = [
    "MAX_DEPLOY_BYTES",
    "MAX_DEPLOY_FILES",
    "Deployment",
    "KnownDefinitions",
    "MemoryRegistry",
    "RegistryBackend",
    "SqlRegistry",
    "definition_of",
    "deploy",
    "deploy_sources",
    "registry_of",
    "stored_definition",
    "version_of",
    "versions",
]

MAX_DEPLOY_FILES = 1_000
"""Most BPMN files one ``deploy`` takes (each is also bounded by the loader's size limit)."""
MAX_DEPLOY_BYTES = 256 * 2**20
"""Most bytes the files of one ``deploy`` may hold together (256 MiB): what one transaction writes."""


@dataclass(frozen=True)
class Deployment:
    """One version of a process in the registry; ``new`` is false when a deploy found it already there."""

    process: str
    version: int
    digest: str
    file: str
    deployed_at: datetime
    files: tuple[str, ...] = ()
    new: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "version": self.version,
            "digest": self.digest,
            "file": self.file,
            "deployed_at": self.deployed_at.isoformat(),
            "files": list(self.files),
            "new": self.new,
        }


def _backend(store: Any) -> RegistryBackend | None:
    """The registry of a store (through a :class:`~approvalflow.store.base.CollectingStore` too), or None."""
    from .sql import SqlStoreBase

    inner = getattr(store, "store", store)
    if isinstance(inner, SqlStoreBase):
        return SqlRegistry(inner)
    registry = getattr(inner, "registry", None)
    return registry if isinstance(registry, MemoryRegistry) else None


def registry_of(store: Any) -> RegistryBackend:
    """The registry of a store; :class:`StoreError` for a store that keeps none."""
    backend = _backend(store)
    if backend is None:
        raise StoreError(f"the store {getattr(store, 'url', '?')} keeps no process registry")
    return backend


# -- deploying -----------------------------------------------------------------------------------------------
def deploy(
    store: Any,
    files: Sequence[str | Path],
    *,
    at: datetime | str | None = None,
    trusted_functions: Mapping[str, TrustedFunction] | None = None,
    script_tasks: Mapping[str, TrustedFunction] | None = None,
) -> list[Deployment]:
    """Deploy each BPMN file (with the files its call activities use) into the store; see the module.

    Call activities are resolved as the loader does, the other files given first. Every file is loaded and checked
    before anything is written; then all are written in one transaction. Returns one :class:`Deployment` per file
    given, in order (``new`` false for a definition the registry already had).
    """
    if isinstance(files, str | Path):
        raise InvalidInputError("deploy takes a list of BPMN files")
    paths = [Path(f) for f in files]
    if not paths:
        raise InvalidInputError("deploy: no BPMN file given")
    if len(paths) > MAX_DEPLOY_FILES:
        raise InvalidInputError(f"deploy: {len(paths):,} files; at most {MAX_DEPLOY_FILES:,} at once")
    moment = parse_moment(at) if at is not None else SystemClock().now()
    items = [_prepare(p, [q for q in paths if q != p], trusted_functions, script_tasks) for p in paths]
    total = sum(len(data) for data in {sha: data for item in items for sha, data in item.contents.items()}.values())
    if total > MAX_DEPLOY_BYTES:
        raise InvalidInputError(
            f"deploy: the files hold {total:,} bytes together; at most {MAX_DEPLOY_BYTES:,} at once "
            "(approvalflow.store.registry.MAX_DEPLOY_BYTES); nothing was written"
        )
    return _put(store, items, moment)


def deploy_sources(
    store: Any,
    sources: Sequence[tuple[str, bytes]],
    *,
    deploy: Sequence[str] | None = None,
    at: datetime | str | None = None,
    trusted_functions: Mapping[str, TrustedFunction] | None = None,
    script_tasks: Mapping[str, TrustedFunction] | None = None,
) -> list[Deployment]:
    """:func:`deploy` for documents held in memory (``(name, bytes)`` each, e.g. uploaded over HTTP): each one named
    in ``deploy`` (default: every one) is a process, its call activities resolved among the others. Nothing is read
    from disk; the names are kept as the file names (at most 255 characters, no control characters, each once)."""
    if isinstance(sources, tuple | list) and not sources:
        raise InvalidInputError("deploy: no BPMN document given")
    if len(sources) > MAX_DEPLOY_FILES:
        raise InvalidInputError(f"deploy: {len(sources):,} documents; at most {MAX_DEPLOY_FILES:,} at once")
    for name, data in sources:
        if not isinstance(name, str) or not name or len(name) > 255 or any(ord(c) < 32 for c in name):
            raise InvalidInputError(f"deploy: a document's name is 1 to 255 characters of text, not {str(name)[:60]!r}")
        if not isinstance(data, bytes):
            raise InvalidInputError(f"deploy: document {name}: bytes expected")
    if len({n for n, _ in sources}) != len(sources):
        raise InvalidInputError("deploy: two documents have the same name")
    if sum(len(d) for _, d in sources) > MAX_DEPLOY_BYTES:
        raise InvalidInputError(f"deploy: the documents hold more than {MAX_DEPLOY_BYTES:,} bytes together")
    names = [n for n, _ in sources]
    chosen = names if deploy is None else list(deploy)
    unknown = [n for n in chosen if n not in names]
    if unknown or not chosen:
        raise InvalidInputError(f"deploy: {unknown[0][:60]!r} is not a document given" if unknown else
                                "deploy: no document to deploy")  # fmt: skip
    moment = parse_moment(at) if at is not None else SystemClock().now()
    items = []
    for i, (name, data) in enumerate(sources):
        if name not in chosen:
            continue
        ordered = [(name, data), *(s for j, s in enumerate(sources) if j != i)]
        definition = load_process_sources(ordered, trusted_functions=trusted_functions, script_tasks=script_tasks)
        used = [name, *dict.fromkeys(p.file for p in definition.processes.values() if p.file and p.file != name)]
        kept = [(n, d) for n, d in ordered if n in used]
        again = load_process_sources(
            kept, process_id=definition.id, trusted_functions=trusted_functions, script_tasks=script_tasks
        )
        if again.digest != definition.digest:
            raise DefinitionError(
                "the process does not load the same from the documents it uses alone; nothing was written",
                file=name,
                element=definition.id,
            )
        hashed = [(n, hashlib.sha256(d).hexdigest(), d) for n, d in kept]
        items.append(
            NewVersion(
                definition.id,
                definition.digest,
                name,
                tuple((n, sha) for n, sha, _ in hashed),
                {sha: d for _, sha, d in hashed},
            )
        )
    return _put(store, items, moment)


def _put(store: Any, items: list[Any], moment: datetime) -> list[Deployment]:
    """Write the checked items in one transaction (a no-op for content already deployed); what each became."""
    done = registry_of(store).put(items, moment.isoformat())
    return [
        Deployment(
            item.process,
            version,
            item.digest,
            item.file,
            _when(when, "af_processes"),
            tuple(n for n, _ in item.files),
            new,
        )
        for item, (version, new, when) in zip(items, done, strict=True)
    ]


def _prepare(
    path: Path,
    search: list[Path],
    trusted: Mapping[str, TrustedFunction] | None,
    script_tasks: Mapping[str, TrustedFunction] | None,
) -> NewVersion:
    definition = load_process(path, search=search, trusted_functions=trusted, script_tasks=script_tasks)
    names = [str(path)]
    for info in definition.processes.values():
        if info.file is not None and info.file not in names:
            names.append(info.file)
    sources = [(name, read_xml_bytes(name, filename=name)) for name in names]
    again = load_process_sources(
        sources, process_id=definition.id, trusted_functions=trusted, script_tasks=script_tasks
    )
    if again.digest != definition.digest:
        raise DefinitionError(
            "the process does not load the same from its files alone (a file changed while it was deployed, or a "
            "call activity resolves to another file when only the files it used are kept); nothing was written",
            file=str(path),
            element=definition.id,
        )
    hashed = [(name, hashlib.sha256(data).hexdigest(), data) for name, data in sources]
    return NewVersion(
        definition.id,
        definition.digest,
        str(path),
        tuple((name, sha) for name, sha, _ in hashed),
        {sha: data for _, sha, data in hashed},
    )


def _when(value: Any, table: str) -> datetime:
    """A ``deployed_at`` column read back: an ISO 8601 moment with its offset, else a StoreError naming the table."""
    moment = None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise StoreError(f"table {table}: damaged row: deployed_at {str(value)[:40]!r} is not a moment")
    return moment


# -- reading -------------------------------------------------------------------------------------------------
def versions(store: Any, process: str | None = None) -> list[Deployment]:
    """Every deployed version (of one process), by process id and version number."""
    out = []
    for row in registry_of(store).rows(process):
        if len(row) != 5 or not all(isinstance(row[i], str) for i in (0, 2, 3, 4)) or type(row[1]) is not int:
            raise StoreError(f"table af_processes: damaged row {str(tuple(row))[:120]}")
        out.append(Deployment(row[0], row[1], row[2], row[3], _when(row[4], "af_processes"), new=False))
    return out


def _pick(store: Any, process: str, version: int | None) -> Deployment:
    found = versions(store, process)
    if not found:
        known = sorted({d.process for d in versions(store)})
        raise StoreError(
            f"no process '{process[:80]}' is deployed in {store.url}; deployed: {', '.join(known) or 'none'}"
        )
    if version is None:
        return found[-1]
    for d in found:
        if d.version == version:
            return d
    raise StoreError(f"process '{process}' has no version {version}; versions 1 to {found[-1].version}")


_CACHE: dict[tuple[str, str], ProcessDefinition] = {}  # (digest, files) -> definition, without host functions
_CACHE_SIZE = 32


def definition_of(
    store: Any,
    digest: str,
    *,
    trusted_functions: Mapping[str, TrustedFunction] | None = None,
    script_tasks: Mapping[str, TrustedFunction] | None = None,
) -> ProcessDefinition | None:
    """The definition deployed with this digest, loaded from the stored bytes (never from disk); None if none.

    The files are checked against their SHA-256 and the definition against its digest: a registry row changed
    since it was deployed is a :class:`StoreError`, never another process.
    """
    backend = registry_of(store)
    row = backend.definition(digest)
    if row is None:
        return None
    host = not trusted_functions and not script_tasks
    key = (digest, str(row[1]))  # a digest names one definition: loaded once, whichever store keeps it
    if host and key in _CACHE:
        return _CACHE[key]
    where = f"{store.url}: table af_definitions, digest {digest[:12]}…"
    process, listed = row
    try:
        entries = json.loads(listed) if isinstance(listed, str) else None
    except (ValueError, RecursionError):
        entries = None
    if (
        not isinstance(process, str)
        or not isinstance(entries, list)
        or not entries
        or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries)
        or not all(isinstance(e.get("sha256"), str) for e in entries)
    ):
        raise StoreError(f"{where}: damaged row (process and files)")
    sources = []
    for entry in entries:
        content = backend.content(entry["sha256"])
        try:
            data = base64.b64decode(content, validate=True) if isinstance(content, str) else None
        except (binascii.Error, ValueError):
            data = None
        if data is None or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise StoreError(f"{where}: file {entry['name'][:120]} is missing or damaged in table af_files")
        sources.append((entry["name"], data))
    try:
        definition = load_process_sources(
            sources, process_id=process, trusted_functions=trusted_functions, script_tasks=script_tasks
        )
    except ApprovalflowError as exc:
        raise StoreError(f"{where}: the stored files no longer load: {exc}") from None
    if definition.digest != digest:
        raise StoreError(f"{where}: the stored files load with digest {definition.digest[:12]}…, not this one")
    if host:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = definition
    return definition


def stored_definition(
    store: Any,
    process: str,
    version: int | None = None,
    *,
    trusted_functions: Mapping[str, TrustedFunction] | None = None,
    script_tasks: Mapping[str, TrustedFunction] | None = None,
) -> ProcessDefinition:
    """The deployed definition of ``process`` (its latest version, or ``version``), loaded from the stored bytes."""
    chosen = _pick(store, process, version)
    definition = definition_of(store, chosen.digest, trusted_functions=trusted_functions, script_tasks=script_tasks)
    if definition is None:
        raise StoreError(f"{store.url}: version {chosen.version} of '{process}' names digest {chosen.digest[:12]}…, "
                         "which table af_definitions lacks")  # fmt: skip
    return definition


def version_of(store: Any, digest: str, process: str) -> int | None:
    """The version number the registry gave this digest of ``process``, or None when it is not deployed."""
    return next((d.version for d in versions(store, process) if d.digest == digest), None)


class KnownDefinitions:
    """The definitions a caller gave, by digest, and behind them the store's registry: what loads a stored case.

    ``get(digest)`` is the given definition of that digest, else the deployed one (loaded once), else None. The
    host functions of the given definitions are passed on to definitions loaded from the registry.
    """

    def __init__(self, store: Any, given: Iterable[ProcessDefinition] = ()) -> None:
        self.store = store
        self.given = {p.digest: p for p in given}
        first = next(iter(self.given.values()), None)
        self._trusted = dict(first._trusted) if first is not None else {}
        self._script_tasks = dict(first._script_tasks) if first is not None else {}
        self._loaded: dict[str, ProcessDefinition | None] = {}

    def get(self, digest: str) -> ProcessDefinition | None:
        if digest in self.given:
            return self.given[digest]
        if digest not in self._loaded:
            self._loaded[digest] = (
                None
                if _backend(self.store) is None
                else definition_of(
                    self.store, digest, trusted_functions=self._trusted or None, script_tasks=self._script_tasks or None
                )
            )
        return self._loaded[digest]
