"""Read YAML with the line of every value, so errors can name file and line.

PyYAML's safe loader builds the data; a walk over the composed node tree
records where each mapping key and sequence item starts. Pydantic validation
errors carry a ``loc`` path, which :meth:`Lines.of` turns into a line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import DefinitionError

__all__ = ["Lines", "load_yaml", "raise_validation"]

PathKey = tuple[str | int, ...]


@dataclass
class Lines:
    """Line numbers (1-based) of values in a YAML document, by path of keys and indexes."""

    by_path: dict[PathKey, int] = field(default_factory=dict)

    def of(self, path: Sequence[str | int]) -> int | None:
        """The line of the value at ``path``, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.by_path:
                return self.by_path[key]
            key = key[:-1]
        return self.by_path.get((), None)


def _walk(node: yaml.Node, path: PathKey, lines: Lines) -> None:
    lines.by_path.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark.line)
            lines.by_path[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines)


def _bad_scalar_line(loader: yaml.SafeLoader, node: yaml.Node | None) -> int | None:
    """The line of the first scalar that the safe constructor cannot build."""
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop(0)
        if isinstance(current, yaml.ScalarNode):
            try:
                loader.construct_object(current, deep=True)
            except (ValueError, TypeError):
                return current.start_mark.line + 1
        elif isinstance(current, yaml.MappingNode):
            stack.extend(n for pair in current.value for n in pair)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return None


def load_yaml(source: str | Path, *, error: type[DefinitionError], text: str | None = None) -> tuple[Any, Lines, str]:
    """Load a YAML file (or ``text`` named ``source``); returns (data, lines, file name).

    Any problem raises ``error`` with the file and line.
    """
    name = str(source)
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise error(f"cannot read the file: {exc.strerror or exc}", file=name) from exc
        except UnicodeDecodeError as exc:
            raise error(f"the file is not UTF-8 text ({exc.reason})", file=name) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise error(f"not valid YAML: {exc.problem or exc.context}", file=name, line=line) from exc
    except yaml.YAMLError as exc:
        raise error(f"not valid YAML: {exc}", file=name) from exc
    except (ValueError, TypeError) as exc:  # e.g. an impossible date such as 2027-02-30
        raise error(f"not a valid value: {exc}", file=name, line=_bad_scalar_line(loader, node)) from exc
    finally:
        loader.dispose()
    lines = Lines()
    if node is not None:
        _walk(node, (), lines)
    return data, lines, name


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
