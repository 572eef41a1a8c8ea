"""Fixtures of the HTTP service tests: a store with the permit process, two units, and a key of each role."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # Starlette 0.4x asks for 'httpx2', which is not packaged yet: httpx works the same
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient as TestClient

from approvalflow import FakeClock, load_organisation
from approvalflow.service.app import create_app
from approvalflow.service.context import ServiceContext
from approvalflow.store.base import CaseStore
from approvalflow.store.keys import create_key

from .conftest import MARKET_ORG
from .registry_support import permit
from .store_support import BACKENDS, make_store

MONDAY = "2026-03-02T09:00:00+08:00"  # Monday 2 March 2026, a working day
MARKET = "market-bureau"
TAX = "tax-bureau"
TAX_ORG = """\
units:
  - id: tax-bureau
    name: 县税务局
    principal: tx_zhang
    deputies:
      tx_li: [approval]
people:
  tx_zhang: {name: 张局长, unit: tax-bureau, posts: [principal, leader]}
  tx_li:    {name: 李副局长, unit: tax-bureau, posts: [deputy, leader]}
  tx_wang:  {name: 王窗口, unit: tax-bureau, posts: [clerk]}
  tx_liu:   {name: 刘审查员, unit: tax-bureau, posts: [reviewer]}
"""


@dataclass
class Service:
    """A client over a store, with a key of each role and helpers."""

    client: TestClient
    store: CaseStore
    context: ServiceContext
    keys: dict[str, str]
    clock: FakeClock

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def get(self, path: str, who: str = "market", **kw: Any) -> Any:
        return self.client.get(path, headers=self.auth(who), **kw)

    def post(self, path: str, body: Any = None, who: str = "market", **kw: Any) -> Any:
        return self.client.post(path, json=body, headers=self.auth(who), **kw)

    def deploy(self, text: str | None = None, who: str = "market") -> Any:
        body = (text or permit()).encode()
        return self.client.post("/api/v1/processes?name=permit.bpmn", content=body,
                                headers={**self.auth(who), "Content-Type": "application/xml"})  # fmt: skip

    def start(self, case_id: str, who: str = "market", **extra: Any) -> Any:
        return self.post("/api/v1/cases", {"process": "permit", "case_id": case_id, **extra}, who)

    def applicant_key(self, case_id: str) -> str:
        _, key = create_key(self.store, "applicant", case=case_id)
        return key


def make_service(kind: str, tmp_path: Path) -> Service:
    store = make_store(kind, tmp_path)
    tax = tmp_path / "tax.yaml"
    tax.write_text(TAX_ORG, encoding="utf-8")
    market_org, tax_org = load_organisation(MARKET_ORG), load_organisation(tax)
    clock = FakeClock(MONDAY)
    context = ServiceContext(store, {MARKET: market_org, TAX: tax_org}, clock=clock)
    keys = {
        "market": create_key(store, "platform", unit=MARKET)[1],
        "tax": create_key(store, "platform", unit=TAX)[1],
        "supervisor": create_key(store, "supervisor")[1],
    }
    client = TestClient(create_app(context, console=False), raise_server_exceptions=False)
    return Service(client, store, context, keys, clock)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    made = make_service("memory", tmp_path)
    yield made
    made.store.close()


@pytest.fixture(params=BACKENDS)
def any_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    made = make_service(request.param, tmp_path)
    yield made
    made.store.close()
