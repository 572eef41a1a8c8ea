"""Shrink a crashing input before it goes into the corpus (a tool, not a test).

    .venv/bin/python -m tests.fuzz.minimize KIND FILE OUT

replays ``FILE`` as an input of ``KIND`` (bpmn, org, scenario, catalog, eventlog, case, store), notes the crash
signature (exception and the approvalflow function it escapes from) and greedily removes XML elements and
attributes, YAML/JSON keys and items, lines and byte spans, and shortens long texts, as long as the same
signature remains. Binary kinds (XLSX, SQLite) are only copied.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from .harness import Crash, replaying, signature

Sig = tuple[str, str] | None


def _signature_of(kind: str, name: str, data: bytes, sibling: Path | None) -> Sig:
    module = importlib.import_module(f"tests.fuzz.test_fuzz_{kind}")
    with tempfile.TemporaryDirectory(prefix="af-min-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        if sibling is not None:
            shutil.copy(sibling, Path(tmp) / sibling.name.replace(sibling.name.split(".")[0], path.stem, 1))
        try:
            with replaying():
                module.replay(path)
        except Crash as exc:
            cause = exc.__cause__
            if cause is not None:
                sig = signature(cause)
                return sig[0], sig[1]
            return "BadExit", str(exc).split(":", 2)[-1][:40]
    return None


def _greedy(items: int, attempt: Callable[[int], bool]) -> None:
    i = 0
    while i < items:
        if attempt(i):
            items -= 1
        else:
            i += 1


def _shrink_xml(data: bytes, keeps: Callable[[bytes], bool]) -> bytes:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, recover=False))

    def dump(r: Any) -> bytes:
        return bytes(etree.tostring(r, xml_declaration=True, encoding="UTF-8"))

    changed = True
    while changed:
        changed = False
        for index in range(1, sum(1 for _ in root.iter())):
            trial = copy.deepcopy(root)
            found = list(trial.iter())[index]
            parent = found.getparent()
            if parent is None:
                continue
            parent.remove(found)
            if keeps(dump(trial)):
                root, changed = trial, True
                break
        for el in list(root.iter()):
            if not isinstance(el.tag, str):
                continue
            for name in list(el.attrib):
                saved = el.attrib[name]
                del el.attrib[name]
                if not keeps(dump(root)):
                    el.set(name, saved)
                else:
                    changed = True
            for attr in ("text", "tail"):
                value = getattr(el, attr)
                if value and len(value) > 8:
                    setattr(el, attr, value[: len(value) // 2])
                    if keeps(dump(root)):
                        changed = True
                    else:
                        setattr(el, attr, value)
    return dump(root)


def _shrink_tree(doc: Any, keeps: Callable[[Any], bool]) -> Any:
    changed = True
    while changed:
        changed = False
        stack: list[Any] = [doc]
        while stack and not changed:
            node = stack.pop()
            keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
            for k in reversed(keys):
                saved = node[k]
                del node[k]
                if keeps(doc):
                    changed = True
                    break
                if isinstance(node, list):
                    node.insert(k, saved)
                else:
                    node[k] = saved
                if isinstance(saved, str) and len(saved) > 8:
                    node[k] = saved[: len(saved) // 2]
                    if keeps(doc):
                        changed = True
                        break
                    node[k] = saved
                stack.append(saved)
    return doc


def _shrink_lines(data: bytes, keeps: Callable[[bytes], bool]) -> bytes:
    lines = data.split(b"\n")

    def attempt(i: int) -> bool:
        trial = lines[:i] + lines[i + 1 :]
        if keeps(b"\n".join(trial)):
            lines[:] = trial
            return True
        return False

    _greedy(len(lines), attempt)
    return b"\n".join(lines)


def _shrink_bytes(data: bytes, keeps: Callable[[bytes], bool]) -> bytes:
    chunk = max(len(data) // 8, 1)
    while chunk >= 1:
        i = 0
        while i < len(data):
            trial = data[:i] + data[i + chunk :]
            if keeps(trial):
                data = trial
            else:
                i += chunk
        chunk //= 2
        if len(data) > 20_000 and chunk < 64:
            break
    return data


def minimize(kind: str, source: Path) -> bytes:
    """The smallest variant of ``source`` found that still crashes with the same signature."""
    data = source.read_bytes()
    ext = source.suffix.lstrip(".")
    sibling = source.with_name(f"{source.stem}.廉政风险点{source.suffix}")
    sibling_or_none = sibling if sibling.exists() else None
    name = f"fuzz.{ext}"
    target = _signature_of(kind, name, data, sibling_or_none)
    if target is None:
        raise SystemExit(f"{source}: no crash to minimize")
    print(f"signature: {target[0]} escaping from {target[1]}", file=sys.stderr)

    def keeps(trial: bytes) -> bool:
        return _signature_of(kind, name, trial, sibling_or_none) == target

    if ext in ("xlsx", "db"):
        return data
    if ext in ("bpmn", "xes", "xml"):
        with contextlib.suppress(etree.XMLSyntaxError):
            data = _shrink_xml(data, keeps)
    elif ext in ("yaml", "json"):

        def dump(value: Any) -> bytes:
            if ext == "json":
                return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
            return yaml.safe_dump(value, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")

        def keeps_tree(value: Any) -> bool:
            return keeps(dump(value))

        try:
            doc = json.loads(data) if ext == "json" else yaml.safe_load(data)
            if keeps_tree(doc):
                data = dump(_shrink_tree(doc, keeps_tree))
        except (ValueError, yaml.YAMLError, RecursionError):
            pass
    data = _shrink_lines(data, keeps)
    return _shrink_bytes(data, keeps)


if __name__ == "__main__":
    kind_, source_, out_ = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    result = minimize(kind_, source_)
    out_.parent.mkdir(parents=True, exist_ok=True)
    out_.write_bytes(result)
    print(f"{out_}: {len(result)} bytes (from {source_.stat().st_size})", file=sys.stderr)
