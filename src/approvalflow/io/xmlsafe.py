"""Parse XML without network access, without entities or DTDs, and with a size bound.

BPMN files come from other departments, so parsing one must never read other
files, reach the network or expand entities.  Any document with a DOCTYPE is
refused (BPMN never needs one; this closes billion-laughs and XXE), and the
parser runs with entity resolution, DTD loading and network access switched off.

Which entry point to use:

* :func:`parse_xml_file` — a path (``str`` or path-like);
* :func:`parse_xml_string` — the document itself (``str`` or ``bytes``);
* :func:`parse_xml` — either: ``bytes`` are content, a path-like is a path, and a
  ``str`` is content if it is blank or its first non-blank character is ``<``,
  else a path (a file name never starts with ``<`` in practice; use the explicit
  functions when in doubt).

Every failure is an :class:`~approvalflow.errors.XmlError` naming the file and,
where known, the line; lxml's own exceptions never escape.
"""

from __future__ import annotations

import os
import re

from lxml import etree

from ..errors import XmlError
from .inputfiles import read_regular_file
from .namespaces import AF_NS, BPMN_NS

__all__ = [
    "DEFAULT_MAX_BYTES", "element_id", "element_label", "parse_xml", "parse_xml_file", "parse_xml_string",
    "read_xml_bytes",
]  # fmt: skip

DEFAULT_MAX_BYTES = 50 * 2**20
"""Largest XML document parsed, in bytes; raise it with ``max_bytes=`` of the parse functions."""
_PREFIXES = {
    BPMN_NS: "bpmn", AF_NS: "af", "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc", "http://www.omg.org/spec/DD/20100524/DI": "di",
}  # fmt: skip
_DOCTYPE_MESSAGE = "DOCTYPE declarations are not allowed in BPMN files (entities could expand or read files)"
_LXML_WHERE = re.compile(r",\s*line \d+, column \d+\s*$")
_HUGE_HINT = re.compile(r"[,:]?\s*(use|try) XML_PARSE_HUGE( option)?")


def _parser(encoding: str | None = None) -> etree.XMLParser:
    """A fresh parser (lxml parsers are not thread-safe) with every external access off."""
    return etree.XMLParser(
        encoding=encoding, resolve_entities=False, no_network=True, load_dtd=False,
        dtd_validation=False, huge_tree=False, remove_blank_text=False,
    )  # fmt: skip


def _doctype_line(data: bytes) -> int | None:
    """The line of a DOCTYPE in the prolog of ``data``, or ``None``; linear, before any parsing."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<"):  # UTF-16, with or without a BOM
        codec = {b"<\x00": "utf-16-le", b"\x00<": "utf-16-be"}.get(data[:2], "utf-16")
        data = data.decode(codec, errors="replace").encode("utf-8")
    pos = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while pos < len(data):
        if data[pos : pos + 1].isspace():
            pos += 1
        elif data.startswith(b"<?", pos) or data.startswith(b"<!--", pos):
            closing = b"?>" if data.startswith(b"<?", pos) else b"-->"
            end = data.find(closing, pos + 2)
            if end < 0:
                return None
            pos = end + len(closing)
        elif data.startswith(b"<!DOCTYPE", pos):
            return data.count(b"\n", 0, pos) + 1
        else:
            return None
    return None


def parse_xml_string(
    text: str | bytes, *, filename: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> etree._ElementTree:
    """Parse the document ``text``; ``filename`` is only used in error messages and as base URL."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if len(data) > max_bytes:
        raise XmlError(f"the document is {len(data):,} bytes; the limit is {max_bytes:,}", file=filename)
    line = _doctype_line(data)
    if line is not None:
        raise XmlError(_DOCTYPE_MESSAGE, file=filename, line=line)
    try:
        parser = _parser("utf-8" if isinstance(text, str) else None)
        root = etree.fromstring(data, parser, base_url=filename) if filename else etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, None)
        message = _LXML_WHERE.sub("", exc.msg or str(exc)).strip() or "not well-formed"
        where = f" at column {column}" if column else ""
        problem = "not well-formed XML"
        if "XML_PARSE_HUGE" in message:  # libxml2's depth and size limits
            problem, message = "the XML exceeds a safety limit", _HUGE_HINT.sub("", message)
        raise XmlError(f"{problem}{where}: {message}", file=filename, line=line) from exc
    except (etree.LxmlError, ValueError) as exc:
        raise XmlError(f"cannot parse the XML: {exc}", file=filename) from exc
    tree = root.getroottree()
    info = tree.docinfo
    if getattr(info, "doctype", "") or info.internalDTD is not None or info.externalDTD is not None:
        raise XmlError(_DOCTYPE_MESSAGE, file=filename, line=1)  # backstop if the prolog scan missed it
    return tree


def strip_comments(tree: etree._ElementTree) -> etree._ElementTree:
    """Remove comments and processing instructions, keeping the text around them, in place.

    SpiffWorkflow reads an expression as an element's ``.text``, which stops at the first comment: a condition
    ``a<!-- -->> 1`` would run as ``a``. Every reader whose tree reaches the engine, validation or the simulator
    strips them first, so what is checked is what runs.
    """
    etree.strip_tags(tree, etree.Comment, etree.ProcessingInstruction)
    return tree


def read_xml_bytes(
    path: str | os.PathLike[str], *, filename: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes``; a FIFO, device or folder is refused.

    The file is opened without blocking and checked on the opened descriptor, so a FIFO named ``*.bpmn``
    never hangs a reader (see :mod:`approvalflow.io.inputfiles`).
    """
    hint = "raise the limit with max_bytes= (approvalflow.io.xmlsafe)"
    return read_regular_file(path, max_bytes=max_bytes, error=XmlError, filename=filename, hint=hint)


def parse_xml_file(
    path: str | os.PathLike[str], *, filename: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> etree._ElementTree:
    """Read and parse the file at ``path``, refusing it if it is larger than ``max_bytes``.

    ``filename`` is the name used in error messages (default: the path).
    """
    filename = filename or os.fspath(path)
    data = read_xml_bytes(path, filename=filename, max_bytes=max_bytes)
    return parse_xml_string(data, filename=filename, max_bytes=max_bytes)


def parse_xml(
    source: str | bytes | os.PathLike[str], *, filename: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> etree._ElementTree:
    """Parse a path or a document.

    ``bytes`` are content and a path-like is a path.  A ``str`` is content if it is blank or
    its first non-blank character (after a byte-order mark) is ``<``, else a path.
    ``filename`` is the name used in error messages (default for a path: the path itself).
    """
    if isinstance(source, str) and source.lstrip("\ufeff \t\r\n")[:1] in ("<", ""):
        return parse_xml_string(source, filename=filename, max_bytes=max_bytes)
    if isinstance(source, bytes):
        return parse_xml_string(source, filename=filename, max_bytes=max_bytes)
    return parse_xml_file(source, filename=filename, max_bytes=max_bytes)


def element_id(el: etree._Element) -> str | None:
    """The ``id`` attribute of ``el``, or ``None``."""
    ident = el.get("id")
    return None if ident is None else str(ident)


def element_label(el: etree._Element) -> str:
    """A short description for messages, e.g. ``bpmn:userTask 'review'`` (the id, else the name)."""
    if not isinstance(el.tag, str):
        return "comment" if isinstance(el, etree._Comment) else "processing instruction"
    qname = etree.QName(el)
    prefix = _PREFIXES.get(qname.namespace or "") or el.prefix
    tag = f"{prefix}:{qname.localname}" if prefix else qname.localname
    ident = el.get("id") or el.get("name")
    return f"{tag} '{ident}'" if ident else tag
