"""Messages and logs name the ledger without the database password."""

from pathlib import Path

from stayledger.bootstrap import shown_location


def test_a_postgres_url_is_shown_without_its_password():
    assert shown_location("postgresql://svc:s3cr3t@db.example:5432/ledger") == "postgresql://svc@db.example:5432/ledger"
    assert shown_location("postgres://svc@db/ledger") == "postgres://svc@db/ledger"
    assert shown_location("postgresql://db/ledger") == "postgresql://db/ledger"


def test_a_file_path_is_shown_as_it_is_even_with_an_at_sign():
    assert shown_location(Path("/data/me@host/ledger.duckdb")) == "/data/me@host/ledger.duckdb"
