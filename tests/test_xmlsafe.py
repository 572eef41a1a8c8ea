"""Tests of safe XML parsing (approvalflow.io.xmlsafe)."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from lxml import etree

from approvalflow.errors import DefinitionError, XmlError
from approvalflow.io import xmlsafe
from approvalflow.io.xmlsafe import element_id, element_label, parse_xml, parse_xml_file, parse_xml_string

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:af="urn:approvalflow:bpmn:1" id="defs">
  <bpmn:process id="purchase" isExecutable="true">
    <!-- a comment -->
    <bpmn:userTask id="review" name="审核">
      <bpmn:extensionElements><af:power kind="approval"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:documentation><![CDATA[<!DOCTYPE looks like this but is only text>]]></bpmn:documentation>
  </bpmn:process>
</bpmn:definitions>
"""

DOCTYPE = "DOCTYPE declarations are not allowed"


def billion_laughs() -> str:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + "\n".join(entities) + "\n]>\n<lolz>&lol9;</lolz>\n"


# --- documents that must be refused ----------------------------------------------------------


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "lol.bpmn"
    path.write_text(billion_laughs())
    started = time.monotonic()
    with pytest.raises(XmlError) as info:
        parse_xml(path)
    assert time.monotonic() - started < 1
    assert DOCTYPE in info.value.message
    assert info.value.file == str(path)
    assert info.value.line == 2


def test_xxe_file_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-4711")
    doc = f'<!DOCTYPE x [<!ENTITY e SYSTEM "{secret.as_uri()}">]><x>&e;</x>'
    with pytest.raises(XmlError) as info:
        parse_xml_string(doc, filename="xxe.bpmn")
    assert DOCTYPE in str(info.value)
    assert "TOP-SECRET" not in str(info.value)


def test_xxe_passwd_payload_is_refused() -> None:
    with pytest.raises(XmlError) as info:
        parse_xml_string('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    assert "root:" not in str(info.value)


def test_external_dtd_is_refused() -> None:
    with pytest.raises(XmlError, match=DOCTYPE):
        parse_xml_string('<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>')


def test_doctype_after_declaration_comment_and_pi_is_found_with_its_line() -> None:
    doc = '<?xml version="1.0"?>\n<!-- c -->\n<?pi x?>\n  <!DOCTYPE x>\n<x/>'
    with pytest.raises(XmlError) as info:
        parse_xml_string(doc, filename="p.bpmn")
    assert info.value.line == 4
    assert str(info.value).startswith("p.bpmn:4: DOCTYPE")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_doctype_is_found_in_other_encodings(codec: str) -> None:
    name = codec.upper().removesuffix("-SIG")
    doc = f'<?xml version="1.0" encoding="{name}"?>\n<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>'
    with pytest.raises(XmlError, match=DOCTYPE):
        parse_xml_string(doc.encode(codec))


def test_doctype_is_refused_even_if_the_prolog_scan_missed_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Second line of defence: the parser expands nothing and the parsed DOCTYPE is refused."""
    monkeypatch.setattr(xmlsafe, "_doctype_line", lambda data: None)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-4711")
    for doc in (
        f'<!DOCTYPE x [<!ENTITY e SYSTEM "{secret.as_uri()}">]><x>&e;</x>',
        '<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>',
        billion_laughs(),
    ):
        with pytest.raises(XmlError) as info:
            parse_xml_string(doc)
        assert "TOP-SECRET" not in str(info.value)


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        body = b'<!ENTITY e "FETCHED">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    _CountingHandler.requests = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_parser_itself_loads_no_dtd_and_expands_no_entity(tmp_path: Path) -> None:
    """Third line of defence: the parser configuration reads no DTD file and resolves no entity."""
    dtd = tmp_path / "ext.dtd"
    dtd.write_text('<!ATTLIST x a CDATA "FROM-DTD">\n<!ENTITY e "FROM-DTD-ENTITY">\n')
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-4711")
    for doc in (
        f'<!DOCTYPE x SYSTEM "{dtd.as_uri()}"><x>&e;</x>',
        f'<!DOCTYPE x [<!ENTITY % p SYSTEM "{dtd.as_uri()}"> %p;]><x>&e;</x>',
        f'<!DOCTYPE x [<!ENTITY e SYSTEM "{secret.as_uri()}">]><x>&e;</x>',
    ):
        root = etree.fromstring(doc.encode(), xmlsafe._parser())
        assert root.get("a") is None
        assert b"FROM-DTD" not in etree.tostring(root)
        assert b"TOP-SECRET" not in etree.tostring(root)


@pytest.mark.skipif(
    "http" not in getattr(etree, "LIBXML_FEATURES", set()),
    reason="this libxml2 is built without HTTP support, so no parser configuration could fetch",
)
def test_parser_never_fetches_from_the_network(local_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with urllib.request.urlopen(f"{local_server}/probe") as response:  # the counter works
        response.read()
    assert _CountingHandler.requests == ["/probe"]
    monkeypatch.setattr(xmlsafe, "_doctype_line", lambda data: None)  # let the parser see the DTDs
    for doc in (
        f'<!DOCTYPE x SYSTEM "{local_server}/x.dtd"><x/>',
        f'<!DOCTYPE x [<!ENTITY e SYSTEM "{local_server}/e">]><x>&e;</x>',
        f'<!DOCTYPE x [<!ENTITY % p SYSTEM "{local_server}/p.dtd"> %p;]><x/>',
    ):
        with contextlib.suppress(XmlError):  # refusal is tested above; here: nothing was fetched
            parse_xml_string(doc)
    assert _CountingHandler.requests == ["/probe"]


def test_not_well_formed_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.bpmn"
    path.write_text("<a>\n  <b>\n  </a>\n")
    with pytest.raises(XmlError) as info:
        parse_xml(path)
    err = info.value
    assert isinstance(err, DefinitionError)
    assert (err.file, err.line) == (str(path), 3)
    assert "not well-formed XML at column" in err.message
    assert "mismatch" in err.message
    assert ", line 3, column" not in err.message  # lxml's own suffix is folded into the location
    assert isinstance(err.__cause__, etree.XMLSyntaxError)


@pytest.mark.parametrize(
    "doc", ["", "   ", "<a>", "no xml at all <", "<a>&undefined;</a>", "<a></a><b/>", "<a x='1' x='2'/>"]
)
def test_malformed_documents_raise_xml_error(doc: str) -> None:
    with pytest.raises(XmlError):
        parse_xml_string(doc, filename="m.bpmn")


def test_libxml_limits_are_kept() -> None:
    with pytest.raises(XmlError, match="safety limit"):
        parse_xml_string("<a>" * 1000 + "</a>" * 1000)


def test_too_large_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.bpmn"
    path.write_text("<a>" + "x" * 2000 + "</a>")
    with pytest.raises(XmlError) as info:
        parse_xml_file(path, max_bytes=1000)
    assert info.value.file == str(path)
    assert "larger than the limit of 1,000 bytes" in info.value.message
    assert parse_xml_file(path, max_bytes=3000).getroot().tag == "a"


def test_too_large_string_is_refused() -> None:
    with pytest.raises(XmlError, match="the limit is 100"):
        parse_xml_string("<a>" + "x" * 200 + "</a>", filename="s.bpmn", max_bytes=100)


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.bpmn"
    with pytest.raises(XmlError) as info:
        parse_xml(path)
    assert info.value.file == str(path)
    assert "cannot read the file" in info.value.message


def test_directory_is_not_readable(tmp_path: Path) -> None:
    with pytest.raises(XmlError, match="cannot read the file"):
        parse_xml_file(tmp_path)


# --- documents that parse --------------------------------------------------------------------


def test_normal_bpmn_parses_and_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "ok.bpmn"
    path.write_text(BPMN, encoding="utf-8")
    for tree in (parse_xml(path), parse_xml(str(path)), parse_xml(BPMN), parse_xml(BPMN.encode())):
        task = tree.find(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask")
        assert task is not None
        line: object = task.sourceline
        assert line == 6
        assert task.get("name") == "审核"
        doc = tree.find(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}documentation")
        assert doc is not None and doc.text == "<!DOCTYPE looks like this but is only text>"


def test_str_with_encoding_declaration_parses() -> None:
    tree = parse_xml_string('<?xml version="1.0" encoding="ISO-8859-1"?>\n<a>é</a>')
    assert tree.getroot().text == "é"


def test_declared_encoding_of_bytes_is_honoured() -> None:
    tree = parse_xml_string('<?xml version="1.0" encoding="GBK"?><a>审核</a>'.encode("gbk"))
    assert tree.getroot().text == "审核"


def test_str_source_rule(tmp_path: Path) -> None:
    path = tmp_path / "rule.bpmn"
    path.write_text("<from-file/>")
    assert parse_xml(str(path)).getroot().tag == "from-file"
    assert parse_xml("\ufeff \n <inline/>").getroot().tag == "inline"
    with pytest.raises(XmlError, match="cannot read the file"):
        parse_xml("relative/missing.bpmn")


def test_filename_overrides_the_name_in_messages(tmp_path: Path) -> None:
    path = tmp_path / "x.bpmn"
    path.write_text("<a>")
    with pytest.raises(XmlError) as info:
        parse_xml(path, filename="department/x.bpmn")
    assert info.value.file == "department/x.bpmn"


def test_element_label_and_id() -> None:
    root = parse_xml_string(BPMN).getroot()
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "af": "urn:approvalflow:bpmn:1"}
    task = root.find(".//bpmn:userTask", ns)
    power = root.find(".//af:power", ns)
    process = root.find("bpmn:process", ns)
    assert task is not None and power is not None and process is not None
    assert element_label(task) == "bpmn:userTask 'review'"
    assert element_id(task) == "review"
    assert element_label(power) == "af:power"
    assert element_id(power) is None
    assert element_label(process[0]) == "comment"
    other = parse_xml_string('<m:task xmlns:m="urn:other" name="n"/>').getroot()
    assert element_label(other) == "m:task 'n'"
    plain = parse_xml_string("<task/>").getroot()
    assert element_label(plain) == "task"


def test_labels_use_canonical_prefixes_whatever_the_document_uses() -> None:
    doc = '<b:definitions xmlns:b="http://www.omg.org/spec/BPMN/20100524/MODEL"><b:task id="t"/></b:definitions>'
    task = parse_xml_string(doc).getroot()[0]
    assert element_label(task) == "bpmn:task 't'"
