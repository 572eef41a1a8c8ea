"""Case-store fixtures shared by the store, supervision and event-log tests (no tests here).

``backend`` is parametrised over the memory, SQLite and PostgreSQL stores; PostgreSQL runs only when
APPROVALFLOW_TEST_POSTGRES names a server (``export APPROVALFLOW_TEST_POSTGRES="$(bash scripts/ci_postgres.sh)"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from approvalflow.store.base import CaseStore
from approvalflow.store.factory import open_store
from approvalflow.store.memory import MemoryStore

PG_URL = os.environ.get("APPROVALFLOW_TEST_POSTGRES")
PG_SKIP = "no PostgreSQL server configured: set APPROVALFLOW_TEST_POSTGRES (see scripts/ci_postgres.sh)"
BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason=PG_SKIP))]


def drop_postgres_tables(url: str) -> None:
    """Drop every ``af_`` table of the test database, whatever an earlier test left (a store whose tables this
    version would refuse to open included), without opening it as a store."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name LIKE 'af\\_%'"
        ).fetchall()
        for (table,) in rows:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')


def fresh_postgres() -> CaseStore:
    from approvalflow.store.postgres import PostgresStore

    assert PG_URL
    drop_postgres_tables(PG_URL)
    return PostgresStore(PG_URL)


def make_store(kind: str, tmp_path: Path) -> CaseStore:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return open_store(tmp_path / "cases.db")
    return fresh_postgres()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CaseStore]:
    made = make_store(request.param, tmp_path)
    yield made
    made.close()
