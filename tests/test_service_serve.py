"""``approvalflow serve`` for real: uvicorn on loopback, a key made by ``keys create``, the OpenAPI document."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from approvalflow.cli.main import main
from approvalflow.store.factory import open_store

from .conftest import MARKET_ORG

SRC = Path(__file__).resolve().parents[1] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_over_http_with_the_keys_of_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cases.db"
    open_store(db).close()
    assert main(["keys", "create", str(db), "--role", "supervisor", "--json"]) == 0
    key = json.loads(capsys.readouterr().out)["key"]
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "approvalflow", "serve", str(db), "--org", str(MARKET_ORG), "--port", str(port),
               "--log-level", "warning"]  # fmt: skip
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                doc = httpx.get(f"{base}/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.2)
        assert doc.status_code == 200 and doc.json()["openapi"].startswith("3.")
        assert httpx.get(f"{base}/api/v1/processes", timeout=5).status_code == 401
        listed = httpx.get(f"{base}/api/v1/processes", headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert (listed.status_code, listed.json()) == (200, [])
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_refuses_a_unit_in_two_organisation_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cases.db"
    open_store(db).close()
    assert main(["serve", str(db), "--org", str(MARKET_ORG), str(MARKET_ORG)]) == 2
    assert "market-bureau is in two organisation files" in capsys.readouterr().err
