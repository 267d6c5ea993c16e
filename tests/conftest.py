"""Fixtures shared by unit and integration tests."""

from tests.postgres_server import pg_database, pg_url  # noqa: F401 - fixtures, found by name
from tests.trained_ledger import trained  # noqa: F401 - a session fixture, found by name
from tests.spark_session import spark  # noqa: F401 - one local Spark session per test run
