"""Reading and writing files that come from other systems: bounded, regular files only, with positions for errors.

Layer 1: imports only :mod:`approvalflow.errors`. XML (:mod:`.xmlsafe`), YAML (:mod:`.yamlio`), CSV cells
(:mod:`.csvsafe`), input files (:mod:`.inputfiles`), output files (:mod:`.outputfiles`) and the XML namespaces
(:mod:`.namespaces`). Names are imported on first use, so that reading a CSV file does not import lxml or pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .csvsafe import CsvLimitError, neutralise, neutralise_row, read_rows
    from .inputfiles import is_regular_file, read_regular_file, regular_files
    from .namespaces import AF_NS, BPMN_NS
    from .outputfiles import temp_beside
    from .xmlsafe import parse_xml, parse_xml_file, parse_xml_string
    from .yamlio import YamlDocument, load_yaml, parse_yaml

__all__ = [
    "AF_NS", "BPMN_NS", "CsvLimitError", "YamlDocument", "is_regular_file", "load_yaml", "neutralise",
    "neutralise_row", "parse_xml", "parse_xml_file", "parse_xml_string", "parse_yaml", "read_regular_file",
    "read_rows", "regular_files", "temp_beside",
]  # fmt: skip

#: Each module and the names of ``__all__`` it defines, imported on first use (see :mod:`approvalflow._lazy`).
_LAZY: dict[str, str] = {
    ".xmlsafe": "parse_xml parse_xml_file parse_xml_string",
    ".yamlio": "YamlDocument load_yaml parse_yaml",
    ".csvsafe": "CsvLimitError neutralise neutralise_row read_rows",
    ".inputfiles": "is_regular_file read_regular_file regular_files",
    ".outputfiles": "temp_beside",
    ".namespaces": "AF_NS BPMN_NS",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
