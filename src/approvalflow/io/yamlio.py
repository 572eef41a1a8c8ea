"""Read YAML with the line of every value, so errors can name file and line; bounded in size, depth and nodes.

Every YAML file the package reads (organisation, scenario, catalog, calendar
supplement, simulation model) goes through :func:`parse_yaml`; the files come from
other people's systems, so reading one must neither exhaust memory nor time:

* the file must be a regular file of at most :data:`MAX_YAML_BYTES` bytes (read at
  most that plus one byte; FIFOs and devices are refused before reading);
* before anything is composed, one pass over the parser's events (a loop, no
  recursion) checks the nesting depth (:data:`MAX_YAML_DEPTH`) and counts the nodes
  the document stands for, each alias counting the nodes of what it repeats
  (:data:`MAX_YAML_NODES`): a "billion laughs" of anchors and aliases is refused
  while it is still a few lines of text, and so is an alias inside the node it
  names (a recursive structure);
* anchors and aliases used sparingly (a shared block of defaults) still work.

PyYAML's safe loader then builds the data; a walk over the composed node tree
records where each mapping key and sequence item starts. Pydantic validation
errors carry a ``loc`` path, which :meth:`Lines.of` turns into a line.  Each limit
is a keyword argument of :func:`load_yaml` and :func:`parse_yaml`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import DefinitionError, Location
from .inputfiles import ErrorFactory, read_regular_file

__all__ = [
    "MAX_YAML_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "Lines",
    "YamlDocument",
    "collection_paused",
    "line_of",
    "load_yaml",
    "parse_yaml",
    "raise_validation",
    "read_yaml_text",
]

MAX_YAML_BYTES = 16 * 2**20
"""Largest YAML file read, in bytes (an organisation file of a whole county is under 1 MB); raise it with
``load_yaml(..., max_bytes=...)`` (catalogs have their own, larger bound: ``catalog.formats.tree_format``)."""

MAX_YAML_DEPTH = 100
"""Deepest nesting of mappings and sequences (the package's own files nest at most 6 deep); checked without
recursion before composing. Raise it with ``load_yaml(..., max_depth=...)`` (at most a few hundred: PyYAML's
composer recurses once per level)."""

MAX_YAML_NODES = 250_000
"""Most nodes (scalars, mappings, sequences) a document may stand for, each alias counting the nodes of what it
repeats: bounds a "billion laughs" of anchors and aliases before it expands, and the memory of the node tree (an
organisation file of a county with 2,000 people has about 30,000). Raise it with ``load_yaml(..., max_nodes=...)``;
catalogs have their own bound."""

PathKey = tuple[str | int, ...]
_LINES_DEPTH = 16  # deepest path given its own line (the package's files nest at most 6 deep)
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Lines:
    """Line numbers (1-based) of values in a YAML document, by path of keys and indexes."""

    by_path: dict[PathKey, int] = field(default_factory=dict)
    file: str | None = None

    def at(self, path: Sequence[str | int], element: str | None = None) -> Location:
        """The position of the value at ``path`` for an error's ``at=``: file, line and (default) the key path."""
        shown = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path).lstrip(".")
        return Location(self.file, self.of(path), element if element is not None else (shown or None))

    def of(self, path: Sequence[str | int]) -> int | None:
        """The line of the value at ``path``, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.by_path:
                return self.by_path[key]
            key = key[:-1]
        return self.by_path.get((), None)


@dataclass
class YamlDocument:
    """A YAML document read within the bounds: its composed node tree, its data and the file name."""

    node: yaml.Node | None
    data: Any
    file: str

    def lines(self, depth: int = _LINES_DEPTH) -> Lines:
        """The line of every key and item, by path (a loop, no recursion).

        Paths are recorded down to ``depth`` levels (deeper values take the line of their ancestor there; a
        catalog asks for 2, the line of each row), and a node repeated by an alias is walked once: the table
        grows with the text, not with the expansion of its aliases.
        """
        lines = Lines(file=self.file)
        stack: list[tuple[yaml.Node, PathKey]] = [] if self.node is None else [(self.node, ())]
        walked: set[int] = set()
        while stack:
            node, path = stack.pop()
            lines.by_path.setdefault(path, node.start_mark.line + 1)
            if id(node) in walked or len(path) >= depth:
                continue
            walked.add(id(node))
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in reversed(node.value):
                    key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark.line)
                    lines.by_path.setdefault((*path, key), key_node.start_mark.line + 1)
                    stack.append((value_node, (*path, key)))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(node.value))))
        return lines


def line_of(node: yaml.Node | None) -> int | None:
    """The line (1-based) where a node of a :class:`YamlDocument`'s tree starts; ``None`` for no node.

    For readers that check the node tree itself (``construct=False``, e.g. the calendar supplements, whose dates
    are read as written, not as YAML timestamps); :meth:`YamlDocument.lines` gives the same lines by path.
    """
    return None if node is None else node.start_mark.line + 1


def read_yaml_text(
    source: str | Path, *, error: ErrorFactory, max_bytes: int = MAX_YAML_BYTES, hint: str | None = None
) -> str:
    """The text of the file ``source``: a regular file of at most ``max_bytes`` bytes, UTF-8 (a BOM is dropped).

    ``hint`` says how to raise the size limit (by default: ``max_bytes=`` of this module's functions).
    """
    data = read_regular_file(source, max_bytes=max_bytes, error=error, hint=hint or _hint("max_bytes"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"the file is not UTF-8 text ({exc.reason})", file=str(source), line=line) from None


def _hint(option: str) -> str:
    return f"raise the limit with {option}= (see approvalflow.io.yamlio)"


def _check_events(
    text: str, loader: type[yaml.SafeLoader], *, file: str, error: ErrorFactory, max_depth: int, max_nodes: int
) -> None:
    """One pass over the events: nesting depth, expanded node count and recursive aliases, without recursion."""
    sizes: dict[str, int] = {}  # anchor -> nodes it stands for (complete nodes only)
    stack: list[list[Any]] = []  # open collections: [anchor, nodes so far]
    total = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.ScalarEvent):
            count = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            known = sizes.get(str(event.anchor))
            if known is None:
                if any(entry[0] == event.anchor for entry in stack):
                    message = f"the alias *{event.anchor} is inside the node it names (a recursive structure)"
                    raise error(message, file=file, line=_line(event))
                known = 1  # an undefined alias: the composer reports it
            count = known
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1])
            total += 1
            if len(stack) > max_depth:
                message = f"nested more than {max_depth} levels deep; {_hint('max_depth')}"
                raise error(message, file=file, line=_line(event))
            continue
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, count = stack.pop()
            if anchor is not None:
                sizes[anchor] = count
            if stack:
                stack[-1][1] += count
            continue
        else:
            continue
        total += count
        if stack:
            stack[-1][1] += count
        if total > max_nodes:
            how = "with the aliases expanded " if isinstance(event, yaml.AliasEvent) else ""
            message = f"the document has more than {max_nodes:,} nodes {how}(the limit); {_hint('max_nodes')}"
            raise error(message, file=file, line=_line(event))


def _line(event: yaml.Event) -> int | None:
    return None if event.start_mark is None else event.start_mark.line + 1


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large tree is built, then restore it as it was.

    The trees of a YAML document and a county power list (some 100,000 rows, a few containers each) form no
    reference cycles, but their number alone triggers collection after collection (3-5x slower).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_yaml(
    source: str | Path,
    *,
    error: ErrorFactory,
    text: str | None = None,
    construct: bool = True,
    fast: bool = True,
    max_bytes: int = MAX_YAML_BYTES,
    max_depth: int = MAX_YAML_DEPTH,
    max_nodes: int = MAX_YAML_NODES,
) -> YamlDocument:
    """Read the YAML file ``source`` (or ``text`` named ``source``) within the bounds; any problem raises ``error``.

    ``construct=False`` only composes the node tree (``data`` is ``None``). ``fast`` (the default) parses with
    libyaml when PyYAML has it, eight times faster than the pure-Python parser (a file at the size bound takes
    seconds, not a minute); ``fast=False`` uses the pure-Python parser.
    """
    name = str(source)
    if text is None:
        text = read_yaml_text(source, error=error, max_bytes=max_bytes)
    elif len(text) > max_bytes:
        raise error(
            f"the document is larger than the limit of {max_bytes:,} characters; {_hint('max_bytes')}", file=name
        )
    loader_class = _FAST_LOADER if fast else yaml.SafeLoader
    node: yaml.Node | None = None
    loader = loader_class(text)
    try:
        _check_events(text, loader_class, file=name, error=error, max_depth=max_depth, max_nodes=max_nodes)
        with collection_paused():
            node = loader.get_single_node()
            data = loader.construct_document(node) if construct and node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = str(exc.problem or exc.context)
        if "maximum nesting depth" in problem:  # libyaml's own bound (1000), met while it looks ahead
            problem = f"nested more than {max_depth} levels deep; {_hint('max_depth')}"
            raise error(problem, file=name, line=line) from exc
        raise error(f"not valid YAML: {problem}", file=name, line=line) from exc
    except yaml.YAMLError as exc:
        raise error(f"not valid YAML: {exc}", file=name) from exc
    except RecursionError:  # a backstop: depth is checked above, but merge keys (<<) can chain
        raise error("the YAML is nested too deeply (merge keys '<<' chained too far)", file=name) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible date such as 2027-02-30
        raise error(f"not a valid value: {exc}", file=name, line=_bad_scalar_line(node)) from exc
    finally:
        loader.dispose()
    return YamlDocument(node, data, name)


def _bad_scalar_line(node: yaml.Node | None) -> int | None:
    """The line of the first scalar (in document order) that the safe constructor cannot build.

    Each scalar is built by a fresh constructor: the loader that failed is left mid-construction and would
    report every node it was building as recursive.
    """
    stack = [node] if node is not None else []
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            try:
                yaml.SafeLoader("").construct_object(current, deep=True)
            except (ValueError, TypeError, OverflowError, yaml.YAMLError):
                return current.start_mark.line + 1
        elif isinstance(current, yaml.MappingNode):
            stack.extend(n for pair in reversed(current.value) for n in reversed(pair))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(reversed(current.value))
    return None


def load_yaml(
    source: str | Path,
    *,
    error: type[DefinitionError],
    text: str | None = None,
    max_bytes: int = MAX_YAML_BYTES,
    max_depth: int = MAX_YAML_DEPTH,
    max_nodes: int = MAX_YAML_NODES,
) -> tuple[Any, Lines, str]:
    """Load a YAML file (or ``text`` named ``source``); returns (data, lines, file name).

    Any problem raises ``error`` with the file and line; the bounds are those of :func:`parse_yaml`.
    """
    doc = parse_yaml(source, error=error, text=text, max_bytes=max_bytes, max_depth=max_depth, max_nodes=max_nodes)
    return doc.data, doc.lines(), doc.file


def raise_validation(
    exc: ValidationError,
    *,
    file: str,
    lines: Lines,
    error: type[DefinitionError],
    prefix: PathKey = (),
    describe: Callable[[PathKey], str] | None = None,
) -> None:
    """Turn pydantic's first error into ``error`` naming the file, line and the field."""
    first = exc.errors()[0]
    loc: PathKey = (*prefix, *(x for x in first["loc"] if isinstance(x, (str, int))))
    where = describe(loc) if describe else ".".join(str(x) for x in loc)
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    raise error(f"{where}: {first['msg']}{tail}", file=file, line=lines.of(loc), element=where or None) from exc
