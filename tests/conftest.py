"""Fixtures shared by unit and integration tests."""

from tests.postgres_server import pg_database, pg_url  # noqa: F401 - fixtures, found by name
