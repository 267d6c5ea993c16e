"""The PostgreSQL server the tests run against: a fresh database per test run, dropped afterwards.

STAYLEDGER_TEST_PG names the server (default: the machine's, trust auth). Each test gets its own schema in
that database (selected through the URL's search_path), so tests never see each other's ledgers.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator
from urllib.parse import quote

import psycopg
import pytest

SERVER = os.environ.get("STAYLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + database


def schema_url(database_url: str, schema: str) -> str:
    return f"{database_url}?options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a database made for this test run."""
    try:
        admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {SERVER} (set STAYLEDGER_TEST_PG): {str(exc).strip()}")
    name = f"stayledger_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        try:
            yield _with_database(SERVER, name)
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")  # type: ignore[arg-type]


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """URL of a fresh, empty schema in the test run's database (a ledger of its own)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")  # type: ignore[arg-type]
    yield schema_url(pg_database, schema)
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[arg-type]
