"""Issue 14: only regular files are read. A FIFO named ``*.bpmn`` (or ``*.yaml``) must not hang a command.

Opening a FIFO for reading waits for a writer; reading ``/dev/zero`` never ends. Each test runs the command in
a subprocess under a timeout, so a regression shows as a timeout rather than a hung test run. Given directly,
such a path is a clear one-line error (exit 2); inside a folder it is not a document and is left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from approvalflow.errors import DefinitionError, XmlError
from approvalflow.io.inputfiles import read_regular_file, regular_files
from approvalflow.render.output import bpmn_files as render_files
from approvalflow.validation import bpmn_files as validate_files

ROOT = Path(__file__).resolve().parents[1]
LICENSING = ROOT / "processes" / "licensing" / "general_licensing.bpmn"
SAMPLE_ORG = ROOT / "processes" / "org" / "sample_county.yaml"

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")

TIMEOUT = 60.0


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``approvalflow ARGS`` in a subprocess; a hang fails the test with TimeoutExpired."""
    return subprocess.run(
        [sys.executable, "-m", "approvalflow", *args], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with one real process, a FIFO, a folder and a dangling link all named ``*.bpmn``."""
    (tmp_path / "real.bpmn").write_bytes(LICENSING.read_bytes())
    os.mkfifo(tmp_path / "pipe.bpmn")
    (tmp_path / "folder.bpmn").mkdir()
    (tmp_path / "dangling.bpmn").symlink_to(tmp_path / "nowhere")
    return tmp_path


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_folder_searches_list_only_regular_files(folder: Path) -> None:
    expected = [folder / "real.bpmn"]
    assert regular_files(folder, "*.bpmn") == expected
    assert render_files([folder]) == expected
    assert validate_files([folder]) == expected


def test_validate_api_refuses_a_fifo_named_directly(folder: Path) -> None:
    with pytest.raises(DefinitionError, match="FIFO") as info:
        validate_files([folder / "pipe.bpmn"])
    assert info.value.file == str(folder / "pipe.bpmn")
    with pytest.raises(DefinitionError, match="no such file or folder"):
        validate_files([folder / "missing.bpmn"])


@pytest.mark.parametrize("name, kind", [("pipe.bpmn", "FIFO"), ("folder.bpmn", "folder")])
def test_reading_refuses_what_is_not_a_regular_file(folder: Path, name: str, kind: str) -> None:
    code = (
        "from approvalflow.io.xmlsafe import parse_xml_file\n"
        "from approvalflow.errors import XmlError\n"
        f"try:\n    parse_xml_file({str(folder / name)!r})\n"
        "except XmlError as exc:\n    print(exc)\n"
    )
    result = python(code)
    assert kind in result.stdout and name in result.stdout, (result.stdout, result.stderr)


def test_a_device_is_refused_before_reading() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    with pytest.raises(XmlError, match="device"):
        read_regular_file("/dev/zero", max_bytes=10, error=XmlError)


def test_size_bound_reads_at_most_one_byte_more(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 101)
    assert read_regular_file(path, max_bytes=101, error=XmlError) == b"x" * 101
    with pytest.raises(XmlError, match="larger than the limit of 100 bytes; raise"):
        read_regular_file(path, max_bytes=100, error=XmlError, hint="raise it")


def test_validate_folder_with_a_fifo_does_not_hang(folder: Path) -> None:
    result = cli("validate", str(folder), "--json")
    assert result.returncode in (0, 1), result.stderr
    assert "pipe.bpmn" not in result.stdout and "real.bpmn" in result.stdout


def test_validate_fifo_given_directly(folder: Path) -> None:
    one_line_error(cli("validate", str(folder / "pipe.bpmn")), "pipe.bpmn", "FIFO")


def test_validate_fifo_as_organisation_file(folder: Path) -> None:
    os.mkfifo(folder / "org.yaml")
    one_line_error(cli("validate", str(LICENSING), "--org", str(folder / "org.yaml")), "org.yaml", "FIFO")


def test_render_folder_with_a_fifo_does_not_hang(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("render", str(folder), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert [p.name for p in out.iterdir()] == ["real.flow.svg"]


def test_render_and_layout_fifo_given_directly(folder: Path, tmp_path: Path) -> None:
    one_line_error(cli("render", str(folder / "pipe.bpmn"), "-o", str(tmp_path / "out")), "pipe.bpmn", "FIFO")
    one_line_error(cli("layout", str(folder / "pipe.bpmn")), "pipe.bpmn", "FIFO")


def test_yaml_inputs_that_are_fifos(folder: Path) -> None:
    """Scenario, organisation named by a scenario, catalog and simulation model: each a FIFO, each refused."""
    for name in ("s.scenario.yaml", "org.yaml", "c.yaml"):
        os.mkfifo(folder / name)
    one_line_error(cli("run", str(folder / "s.scenario.yaml")), "FIFO")
    scenario = folder / "ok.scenario.yaml"
    scenario.write_text(
        f"process: {LICENSING}\norg: org.yaml\nunit: market-bureau\nstart: 2026-09-28T09:00:00+08:00\n",
        encoding="utf-8",
    )
    one_line_error(cli("run", str(scenario)), "org.yaml", "FIFO")
    one_line_error(cli("catalog", "check", str(folder / "c.yaml")), "c.yaml", "regular file")


def test_simulation_model_that_is_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "m.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "approvalflow", "simulate", str(tmp_path / "m.yaml")],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    one_line_error(result, "m.yaml", "FIFO")


def test_trails_and_prosimos_models_that_are_fifos(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "t.jsonl")
    os.mkfifo(tmp_path / "m.json")
    for args in (["audit", "verify", str(tmp_path / "t.jsonl")], ["simulate", str(tmp_path / "m.json")]):
        result = subprocess.run(
            [sys.executable, "-m", "approvalflow", *args], capture_output=True, text=True, timeout=20, check=False
        )
        assert result.returncode == 2, result.stderr
        assert "FIFO" in result.stderr and "Traceback" not in result.stderr
