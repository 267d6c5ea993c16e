"""Every command that touches the ledger goes through the policy and leaves an audit entry naming its actor.

A new command fails here until it is listed, with the action it performs, or named as one that needs no ledger.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from stayledger.audit.log import parse_entry
from stayledger.cli.main import app
from stayledger.storage.duckdb_store import DuckDBStore

runner = CliRunner()
# No ledger (demo builds its own), or, for serve, each request is audited as the caller (tests/integration/test_api.py).
OFFLINE = {"schema", "synth", "mrz", "calc schengen", "audit check-proof", "demo", "serve"}
EVENTS = [
    {"event_id": "BRD-1", "kind": "arrival", "occurred_on": "2024-03-01", "source": "border", "surname": "DOE",
     "date_of_birth": "1980-02-11", "nationality": "GBR", "document_number": "123456789", "admission_class": "WT",
     "admitted_until": "2024-05-29"},
    {"event_id": "APIS-1", "kind": "departure", "occurred_on": "2024-05-20", "source": "carrier", "surname": "DOE",
     "date_of_birth": "1980-02-11", "nationality": "GBR", "document_number": "123456789"},
]


def commands(tmp: Path, person: str) -> dict[str, tuple[list[str], str]]:
    """command → (arguments, the action its audit entry must name)."""
    truth = tmp / "truth"
    truth.mkdir(exist_ok=True)
    (truth / "truth_identities.csv").write_text("event_id,person\nBRD-1,p\nAPIS-1,p\n", encoding="utf-8")
    why = ["--purpose", "policy test"]
    return {
        "ingest": ([str(tmp / "events.jsonl")], "events.ingest"),
        "quarantine list": (why, "quarantine.list"),
        "resolve": (["--full"], "identities.resolve"),
        "export events": (["--out", str(tmp / "o.jsonl"), *why], "export.events"),
        "export identities": (["--out", str(tmp / "i.csv"), *why], "export.identities"),
        "export stays": (["--out", str(tmp / "s.csv"), *why], "export.stays"),
        "stays determine": (["--as-of", "2025-01-01"], "stays.determine"),
        "evaluate": ([str(truth)], "accuracy.evaluate"),
        "report overstays": (["--fiscal-year", "2024", "--as-of", "2025-01-01"], "report.overstays"),
        "person": ([person, *why], "person.view"),
        "correct": (["BRD-1", "--set", "sex=F", *why], "event.correct"),
        "explain": (["BRD-1", "APIS-1", *why], "pair.explain"),
        "review list": ([], "review.list"),
        "review held": (["--as-of", "2025-01-01"], "review.held"),
        "review show": (["BRD-1", "APIS-1", *why], "review.show"),
        "review accept": (["BRD-1", "APIS-1"], "review.decide"),
        "review reject": (["BRD-1", "APIS-1"], "review.decide"),
        "retention": (["--as-of", "2025-01-01"], "retention.check"),
        "migrate": (["--to", str(tmp / "copy.duckdb")], "ledger.migrate"),
        "audit list": ([], "audit.list"),
        "audit verify": ([], "audit.verify"),
        "audit checkpoint": (["--key", str(tmp / "k.pem")], "audit.checkpoint"),
        "audit prove": (["1", "--key", str(tmp / "k.pem")], "audit.prove"),
        "users add": (["feed-1", "--role", "ingest"], "users.add"),
        "users list": ([], "users.list"),
        "users revoke": (["feed-1"], "users.revoke"),
    }


def registered(group, prefix: str = "") -> set[str]:
    names = set()
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        names |= registered(command, f"{full} ") if hasattr(command, "commands") else {full}
    return names


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "l.duckdb"
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(tmp_path / "events.jsonl"), "--db", str(path), "--actor", "setup"]).exit_code == 0
    assert runner.invoke(app, ["resolve", "--db", str(path), "--actor", "setup"]).exit_code == 0
    return path


def test_every_command_is_either_audited_here_or_needs_no_ledger(tmp_path):
    assert registered(typer.main.get_command(app)) == set(commands(tmp_path, "P")) | OFFLINE


def test_each_ledger_command_leaves_an_entry_naming_its_actor_and_action(db, tmp_path):
    store = DuckDBStore(db)
    person_id = store.identity_assignments()["BRD-1"].person_id
    store.close()
    for name, (args, action) in commands(tmp_path, person_id).items():
        actor_flag = "--as" if name == "audit list" else "--actor"
        result = runner.invoke(app, [*name.split(), *args, "--db", str(db), actor_flag, f"tester-{name}"])
        assert result.exit_code in (0, 3), f"{name}: {result.output}"
        store = DuckDBStore(db)
        last = parse_entry(list(store.audit_rows())[-1][1])
        store.close()
        assert (last["actor"], last["action"], last["role"]) == (f"tester-{name}", action, "admin"), name
