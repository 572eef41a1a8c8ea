"""Mutation strategies of the fuzz suite: bytes, XML trees, YAML/JSON trees, CSV tables, XLSX (zip) files.

Every strategy takes a *seed* (a valid input of that kind) and draws a damaged variant of it; the seeds are
trusted (they come from this repository), the variants are not.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import math
import os
import warnings
import zipfile
from collections.abc import Sequence
from typing import Any

import yaml
from hypothesis import strategies as st
from lxml import etree

__all__ = [
    "HOSTILE_TEXT",
    "HUGE",
    "byte_mutation",
    "csv_mutation",
    "hostile_text",
    "hostile_value",
    "tree_mutation",
    "xml_mutation",
    "yaml_text_mutation",
    "zip_mutation",
]

#: Characters of the "huge" hostile texts: 100,000 under the ci profile; 3,000 in the default run, which must
#: stay cheap (a known quadratic error path would otherwise spend the per-example CPU bound on each of them).
HUGE = 100_000 if os.environ.get("AF_FUZZ_PROFILE") == "ci" else 3_000

#: Bytes an "inflated" zip member gains (it compresses to almost nothing): 64 MiB under the ci profile, 8 MiB in
#: the default run.
INFLATE_BYTES = (64 if os.environ.get("AF_FUZZ_PROFILE") == "ci" else 8) * 1024 * 1024

#: Texts that broke parsers elsewhere: empty, huge, control characters, formula and path look-alikes, numbers
#: past every sane bound, dates that do not exist, template and code look-alikes.
HOSTILE_TEXT: tuple[str, ...] = (
    "",
    " ",
    "x" * HUGE,
    "名" * (HUGE // 5),
    "\x00",
    "a\x00b",
    "\x1b[31mred\x1b[0m",
    "\r\n\r\n",
    "\u202e\u200b\ufeff",
    "1000000000",
    "10" + "0" * 400,
    "-1",
    "0",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e309",
    "0x1F",
    "true",
    "null",
    "~",
    "2026-02-30",
    "2026-13-01T25:61:61+08:00",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-23:59",
    "P99999999D",
    "PT-1H",
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    '=HYPERLINK("http://x")',
    "../../../../etc/passwd",
    "/etc/passwd",
    "/dev/zero",
    "C:\\Windows\\win.ini",
    "file:///etc/passwd",
    "__import__('os').system('true')",
    "().__class__.__mro__",
    "${HOME}",
    "{{7*7}}",
    "%s%s%n",
    "<x/>",
    "&amp;",
    "]]>",
    "'\"",
    "*a",
    "&a",
    "!!python/object/apply:os.system ['true']",
)

#: Texts a Python str can hold but UTF-8 cannot encode: only where the format has an escape for them (JSON,
#: YAML double quotes).
SURROGATES: tuple[str, ...] = ("\ud800", "a\udfffb", "\udc80")

#: Bytes worth inserting into any file.
_TOKENS: tuple[bytes, ...] = (
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xc3",
    b"\xed\xa0\x80",  # an encoded surrogate: not UTF-8
    b"\r",
    b"\n",
    b'"',
    b"'",
    b",",
    b"<",
    b">",
    b"&",
    b"&x;",
    b"]]>",
    b"<!DOCTYPE d [<!ENTITY e 'x'>]>",
    b"<!ENTITY % p SYSTEM 'file:///etc/passwd'>",
    b"<?xml version='1.0'?>",
    b"<![CDATA[",
    b"&#0;",
    b"&#x10FFFF;",
    b"*a",
    b"&a ",
    b"<<: ",
    b"!!python/object:os.system ",
    b"- ",
    b": ",
    b"[",
    b"{",
    b"\t",
    b"%YAML 1.1\n",
    b"---\n",
    b"1e999",
    b"-1",
    b"9999999999999999999999",
    b"=1+1",
)


def hostile_text(*, surrogates: bool = False) -> st.SearchStrategy[str]:
    """A hostile text, or any short text (with lone surrogates only when the format can carry them)."""
    choices = HOSTILE_TEXT + (SURROGATES if surrogates else ())
    alphabet = st.characters(codec=None if surrogates else "utf-8")
    return st.one_of(st.sampled_from(choices), st.text(alphabet, max_size=20))


def hostile_value(*, surrogates: bool = False) -> st.SearchStrategy[Any]:
    """A value of the wrong type, size or depth for any field of a YAML/JSON document."""
    deep_list: Any = []
    for _ in range(300):
        deep_list = [deep_list]
    deep_map: Any = {}
    for _ in range(300):
        deep_map = {"k": deep_map}
    return st.one_of(
        hostile_text(surrogates=surrogates),
        st.sampled_from([None, True, False, 0, -1, 10**9, -(10**9), 10**30, 2**63, math.nan, math.inf, -0.0, 1e308]),
        st.sampled_from([[], {}, [None], {"": None}, {"x": []}, list(range(50)), deep_list, deep_map]),
        st.integers(),
        st.floats(),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
    )


# -- bytes ---------------------------------------------------------------------------------------------------


@st.composite
def byte_mutation(draw: st.DrawFn, seed: bytes, *, max_ops: int = 6) -> bytes:
    """``seed`` with a few byte-level edits: flip, insert, delete, duplicate a span, truncate."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(("flip", "insert", "token", "delete", "duplicate", "truncate", "set")))
        n = len(data)
        pos = draw(st.integers(0, n))
        if op == "flip" and n:
            i = min(pos, n - 1)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and n:
            data[min(pos, n - 1)] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "token":
            data[pos:pos] = draw(st.sampled_from(_TOKENS))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == "duplicate":
            span = bytes(data[pos : pos + draw(st.integers(1, 256))])
            at = draw(st.integers(0, n))
            data[at:at] = span * draw(st.integers(1, 4))
        elif op == "truncate":
            del data[pos:]
    return bytes(data)


# -- XML -----------------------------------------------------------------------------------------------------


def _xml_text(draw: st.DrawFn) -> str:
    text = draw(hostile_text())
    # what XML 1.0 can carry: no control characters but tab, newline and carriage return
    return "".join(c for c in text if c in "\t\n\r" or (ord(c) >= 0x20 and c not in "\ufffe\uffff"))


@st.composite
def xml_mutation(draw: st.DrawFn, seed: bytes, *, max_ops: int = 4) -> bytes:
    """``seed`` (well-formed XML) with elements dropped, duplicated, moved or renamed, attributes and texts
    replaced by hostile values, and numbers pushed past their bounds; then serialized again."""
    root = etree.fromstring(seed, etree.XMLParser(resolve_entities=False, no_network=True))
    for _ in range(draw(st.integers(1, max_ops))):
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        target = elements[draw(st.integers(0, len(elements) - 1))]
        op = draw(st.sampled_from(("drop", "duplicate", "move", "attr", "drop-attr", "text", "rename", "ref")))
        parent = target.getparent()
        if op == "drop" and parent is not None:
            parent.remove(target)
        elif op == "duplicate" and parent is not None:
            parent.insert(parent.index(target), copy.deepcopy(target))
        elif op == "move" and parent is not None:
            others = [e for e in elements if e is not target and target not in e.iterancestors()]
            others = [e for e in others if not any(a is target for a in e.iterancestors())]
            if others:
                host = others[draw(st.integers(0, len(others) - 1))]
                parent.remove(target)
                host.insert(draw(st.integers(0, len(host))), target)
        elif op == "attr":
            names = list(target.attrib) or ["id"]
            name = draw(st.sampled_from(names))
            target.set(name, _xml_text(draw))
        elif op == "drop-attr" and target.attrib:
            del target.attrib[draw(st.sampled_from(list(target.attrib)))]
        elif op == "text":
            target.text = _xml_text(draw)
        elif op == "rename":
            tags = sorted({e.tag for e in elements})
            target.tag = draw(st.sampled_from(tags))
        elif op == "ref":  # point a reference at another element's id, or at nothing, or at itself
            ids = sorted({e.get("id", "") for e in elements} - {""}) or ["x"]
            refs = [a for a in target.attrib if a.endswith(("Ref", "ef", "sourceRef", "targetRef", "default"))]
            if refs:
                target.set(draw(st.sampled_from(refs)), draw(st.sampled_from([*ids, "", "nowhere"])))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# -- YAML and JSON trees -------------------------------------------------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _get(value: Any, path: Sequence[Any]) -> Any:
    for p in path:
        value = value[p]
    return value


@st.composite
def tree_mutation(draw: st.DrawFn, seed: Any, *, max_ops: int = 4, surrogates: bool = False) -> Any:
    """A deep copy of the YAML/JSON value ``seed`` with values replaced by hostile ones (wrong type, size, depth),
    keys dropped or added, list items duplicated or dropped."""
    doc = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, max_ops))):
        paths = _paths(doc)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        op = draw(st.sampled_from(("replace", "replace", "drop", "add", "dup", "key")))
        if not path:
            if op == "replace":
                doc = draw(hostile_value(surrogates=surrogates))
            continue
        parent = _get(doc, path[:-1])
        last = path[-1]
        if op == "replace":
            parent[last] = draw(hostile_value(surrogates=surrogates))
        elif op == "drop":
            del parent[last]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(hostile_text(surrogates=surrogates))] = draw(hostile_value(surrogates=surrogates))
        elif op == "dup" and isinstance(parent, list):
            parent.insert(last, copy.deepcopy(parent[last]))
        elif op == "key" and isinstance(parent, dict):  # the same value under a hostile key
            parent[draw(hostile_text(surrogates=surrogates))] = parent.pop(last)
    return doc


def dump_yaml(value: Any) -> bytes:
    """``value`` as YAML (non-ASCII kept; a lone surrogate escaped in double quotes)."""
    try:
        return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=10**6).encode("utf-8")
    except (UnicodeEncodeError, RecursionError, yaml.YAMLError):
        return yaml.safe_dump(value, allow_unicode=False, sort_keys=False, width=10**6).encode("ascii")


def dump_json(value: Any) -> bytes:
    """``value`` as JSON (NaN and infinities as JavaScript literals, as Python writes them)."""
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return json.dumps(value, ensure_ascii=True).encode("ascii")


#: YAML fragments appended or prepended to a document: aliases (a billion laughs), merge keys, tags that would
#: construct Python objects, deep nesting, duplicate keys, documents after the first.
YAML_ATTACKS: tuple[bytes, ...] = (
    b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    b"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    b"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
    b"base: &base {unit: x, posts: [a]}\nmerged: {<<: *base, <<: *base}\n",
    b"x: !!python/object/apply:os.system ['true']\n",
    b"x: !!python/name:os.system\n",
    b"x: !custom tag\n",
    b"x: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    b"x: " + b"{a: " * 2000 + b"1" + b"}" * 2000 + b"\n",
    b"dup: 1\ndup: 2\n",
    b"---\nsecond: document\n",
    b"? [complex, key]\n: value\n",
    b"x: 1e999\ny: .nan\nz: -.inf\n",
    b"x: 2026-02-30\ny: 2026-09-28T25:00:00+08:00\n",
    b"x: 0o777777777777777777777777\ny: 1_000_000_000_000_000_000\n",
    b"x: !!binary AAAA\ny: !!set {a, b}\nz: !!omap [a: 1]\n",
    b'x: "\\ud800"\n',
    b"x: &r [*r]\n",
)


@st.composite
def yaml_text_mutation(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a hostile YAML fragment added, or a value replaced by an alias, or an anchor on a node."""
    lines = seed.split(b"\n")
    op = draw(st.sampled_from(("append", "prepend", "alias", "anchor", "indent")))
    i = draw(st.integers(0, max(len(lines) - 1, 0)))
    if op == "append":
        return seed + b"\n" + draw(st.sampled_from(YAML_ATTACKS))
    if op == "prepend":
        return draw(st.sampled_from(YAML_ATTACKS)) + seed
    line = lines[i]
    if op == "alias" and b": " in line:
        key = line.split(b": ", 1)[0]
        lines[i] = key + b": *" + draw(st.sampled_from([b"a", b"nowhere", b"x"]))
        lines.insert(0, b"anchors: &a " + draw(st.sampled_from([b"[1, 2]", b"{k: v}", b"x", b"&x [*x]"])))
    elif op == "anchor" and b": " in line:
        key, value = line.split(b": ", 1)
        lines[i] = key + b": &x " + value
        lines.append(b"again: *x")
    elif op == "indent":
        lines[i] = b" " * draw(st.integers(1, 9)) + line
    return b"\n".join(lines)


# -- CSV -----------------------------------------------------------------------------------------------------


@st.composite
def csv_mutation(draw: st.DrawFn, rows: Sequence[Sequence[str]], *, max_ops: int = 5) -> list[list[str]]:
    """``rows`` (header first) with hostile cells (formulas, huge fields, bad dates), rows and columns added,
    dropped or duplicated."""
    table = [list(r) for r in rows]
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(("cell", "cell", "cell", "drop-row", "dup-row", "add-col", "drop-col", "ragged")))
        r = draw(st.integers(0, max(len(table) - 1, 0)))
        if not table:
            table = [[""]]
        row = table[r]
        if op == "cell" and row:
            row[draw(st.integers(0, len(row) - 1))] = draw(hostile_text())
        elif op == "drop-row":
            del table[r]
        elif op == "dup-row":
            table.insert(r, list(row) * draw(st.integers(1, 2)))
        elif op == "add-col":
            at = draw(st.integers(0, len(table[0]) if table else 0))
            value = draw(hostile_text())
            for row_ in table:
                row_.insert(at, value)
        elif op == "drop-col" and table and table[0]:
            at = draw(st.integers(0, len(table[0]) - 1))
            for row_ in table:
                if at < len(row_):
                    del row_[at]
        elif op == "ragged" and row:
            if draw(st.booleans()):
                del row[draw(st.integers(0, len(row) - 1)) :]
            else:
                row.extend(draw(st.lists(hostile_text(), min_size=1, max_size=3)))
    return table


def write_csv(rows: Sequence[Sequence[str]], encoding: str = "utf-8") -> bytes:
    """``rows`` as CSV bytes in ``encoding`` (characters it cannot encode replaced)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding, errors="replace")


def read_csv(data: bytes, encoding: str = "utf-8-sig") -> list[list[str]]:
    """The rows of a trusted seed CSV."""
    return list(csv.reader(io.StringIO(data.decode(encoding))))


# -- XLSX (zip) ----------------------------------------------------------------------------------------------


@st.composite
def zip_mutation(draw: st.DrawFn, seed: bytes, *, max_ops: int = 3) -> bytes:
    """The zip archive ``seed`` (an XLSX) with members corrupted (byte or XML mutation), dropped, duplicated,
    renamed or inflated (a small member that unpacks to many megabytes)."""
    with zipfile.ZipFile(io.BytesIO(seed)) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    for _ in range(draw(st.integers(1, max_ops))):
        i = draw(st.integers(0, len(members) - 1))
        name, body = members[i]
        op = draw(st.sampled_from(("bytes", "xml", "xml", "drop", "dup", "rename", "inflate")))
        if op == "bytes":
            members[i] = (name, draw(byte_mutation(body, max_ops=3)))
        elif op == "xml" and name.endswith((".xml", ".rels")):
            with contextlib.suppress(etree.XMLSyntaxError):
                members[i] = (name, draw(xml_mutation(body, max_ops=3)))
        elif op == "drop":
            del members[i]
            if not members:
                members = [("x", b"")]
        elif op == "dup":
            members.insert(i, (name, body))
        elif op == "rename":
            members[i] = (draw(st.sampled_from(["../evil.xml", "/abs.xml", "xl/worksheets/sheet9.xml", ""])), body)
        elif op == "inflate":
            members[i] = (name, body + b" " * INFLATE_BYTES)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # duplicate names are the point
                z.writestr(name or "unnamed", body)
    return out.getvalue()


#: Prologues that must be refused before anything is read: DTDs with internal entities (a billion laughs),
#: external entities and parameter entities (a file or the network), XInclude, processing instructions.
XML_PROLOGUES: tuple[bytes, ...] = (
    b'<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>',
    b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>',
    b'<!DOCTYPE d SYSTEM "http://127.0.0.1:9/x.dtd">',
    b"<!DOCTYPE d [<!ELEMENT d ANY><!ATTLIST d id ID #IMPLIED>]>",
    b'<?xml-stylesheet type="text/xsl" href="file:///etc/passwd"?>',
    b"<!-- " + b"-" * 10 + b" -->",
)


@st.composite
def xml_attack(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` (XML) with a hostile prologue, an entity reference in a text or attribute, an XInclude, or a
    deeply nested or very wide element added."""
    body = seed.split(b"?>", 1)[1] if seed.startswith(b"<?xml") else seed
    op = draw(st.sampled_from(("prologue", "entity", "xinclude", "deep", "wide")))
    if op == "prologue":
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + draw(st.sampled_from(XML_PROLOGUES)) + body
    close = body.rindex(b"</")
    if op == "entity":
        prologue = draw(st.sampled_from(XML_PROLOGUES[:3]))
        ref = draw(st.sampled_from([b"&f;", b"&x;", b"&a;", b"&undefined;"]))
        return prologue + body[:close] + b"<x>" + ref + b"</x>" + body[close:]
    if op == "xinclude":
        inc = b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>'
        return body[:close] + inc + body[close:]
    if op == "deep":
        depth = draw(st.sampled_from([256, 5_000, 100_000]))
        return body[:close] + b"<x>" * depth + b"</x>" * depth + body[close:]
    attrs = b" ".join(b'a%d="%d"' % (i, i) for i in range(draw(st.sampled_from([1_000, 50_000]))))
    return body[:close] + b"<x " + attrs + b"/>" + body[close:]
