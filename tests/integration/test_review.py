"""Clerical review: decisions are kept with who made them, and every later run respects them."""

import csv
import json

from typer.testing import CliRunner

from stayledger.cli.main import app
from stayledger.storage.duckdb_store import DuckDBStore

runner = CliRunner()

ARRIVAL = {"event_id": "BRD-1", "kind": "arrival", "occurred_on": "2024-03-11", "source": "border", "surname": "Mishra",
           "given_names": "Gaurav", "date_of_birth": "2004-12-07", "sex": "M", "nationality": "IND",
           "document_number": "H8151480", "admission_class": "B2", "admitted_until": "2024-09-10", "mode": "air"}
# The same traveller leaving on his other (Czech) passport: no key links them.
DEPARTURE = {"event_id": "APIS-1", "kind": "departure", "occurred_on": "2024-04-22", "source": "carrier", "surname": "MISHRA",
             "given_names": "GAURAV", "date_of_birth": "2004-12-07", "sex": "M", "nationality": "CZE",
             "document_number": "90740464", "mode": "air"}
ANOTHER = {**DEPARTURE, "event_id": "APIS-2", "occurred_on": "2024-05-01", "nationality": "IND", "document_number": "H8151480"}


def invoke(*args, db):
    extra = ["--actor", "officer-7"] if args[0] == "review" and args[1] in ("accept", "reject", "show") else []
    if args[:2] == ("review", "show"):
        extra += ["--purpose", "clerical review"]
    result = runner.invoke(app, [*args, "--db", str(db), *extra])
    return result


def person_of(db):
    store = DuckDBStore(db)
    try:
        return {e: a.person_id for e, a in store.identity_assignments().items()}
    finally:
        store.close()


def stays(tmp_path, db):
    out = tmp_path / "stays.csv"
    runner.invoke(app, ["export", "stays", "--purpose", "test check", "--as-of", "2025-06-30", "--out", str(out), "--db", str(db)])
    return {r["arrival_event_id"]: r for r in csv.DictReader(out.open())}


def test_accepting_a_link_joins_the_departure_and_clears_the_overstay(tmp_path):
    db = tmp_path / "l.duckdb"
    src = tmp_path / "e.jsonl"
    src.write_text(json.dumps(ARRIVAL) + "\n" + json.dumps(DEPARTURE) + "\n")
    runner.invoke(app, ["ingest", str(src), "--db", str(db)])
    assert stays(tmp_path, db)["BRD-1"]["status"] == "overstay"

    result = invoke("review", "accept", "BRD-1", "APIS-1", "--note", "dual national, boarding pass seen", db=db)
    assert result.exit_code == 0, result.output
    ids = person_of(db)
    assert ids["BRD-1"] == ids["APIS-1"]
    assert stays(tmp_path, db)["BRD-1"]["status"] == "departed"
    listing = runner.invoke(app, ["review", "list", "--status", "accepted", "--db", str(db)])
    assert "officer-7" in listing.output


def test_rejecting_a_key_link_splits_the_person_and_records_the_split(tmp_path):
    db = tmp_path / "l.duckdb"
    src = tmp_path / "e.jsonl"
    src.write_text(json.dumps(ARRIVAL) + "\n" + json.dumps(ANOTHER) + "\n")
    runner.invoke(app, ["ingest", str(src), "--db", str(db)])
    runner.invoke(app, ["resolve", "--db", str(db)])
    before = person_of(db)
    assert before["BRD-1"] == before["APIS-2"]

    assert invoke("review", "reject", "APIS-2", "BRD-1", db=db).exit_code == 0
    after = person_of(db)
    assert after["BRD-1"] == before["BRD-1"] != after["APIS-2"]  # the arrival keeps its person id
    store = DuckDBStore(db)
    changes = store.identity_changes()
    store.close()
    assert [c.change for c in changes] == ["split"]
    # later runs respect the decision
    runner.invoke(app, ["resolve", "--full", "--db", str(db)])
    assert person_of(db)["APIS-2"] != person_of(db)["BRD-1"]


def test_deciding_on_an_unknown_event_is_refused(tmp_path):
    db = tmp_path / "l.duckdb"
    src = tmp_path / "e.jsonl"
    src.write_text(json.dumps(ARRIVAL) + "\n")
    runner.invoke(app, ["ingest", str(src), "--db", str(db)])
    result = invoke("review", "accept", "BRD-1", "NOPE", db=db)
    assert result.exit_code == 1 and "NOPE" in result.output


def test_explain_and_person_show_a_document_history(tmp_path):
    # Two namesakes, each on his own passport of one issuer, used in turn: the explanation says the
    # two persons' numbers alternate; one person's renewal reads as numbers that succeed each other.
    def event(eid, on, number, kind="arrival"):
        return {"event_id": eid, "kind": kind, "occurred_on": on, "source": "border", "surname": "KHAN",
                "given_names": "MUHAMMAD", "date_of_birth": "1980-05-05", "sex": "M", "nationality": "PAK",
                "document_number": number, "document_issuer": "PAK", "admission_class": "B2",
                "admitted_until": "2025-12-31", "mode": "air"}
    rows = [event("A-1", "2020-01-10", "AB1111111"), event("B-1", "2021-03-01", "CD2222222"),
            event("A-2", "2022-02-10", "AB1111111"), event("B-2", "2023-04-01", "CD2222222")]
    db = tmp_path / "h.duckdb"
    src = tmp_path / "e.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    runner.invoke(app, ["ingest", str(src), "--db", str(db)])
    runner.invoke(app, ["resolve", "--db", str(db)])
    result = runner.invoke(app, ["explain", "A-1", "B-1", "--purpose", "case check", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "documents of PAK" in result.output and "alternately" in result.output
    person = person_of(db)["A-1"]
    shown = runner.invoke(app, ["person", person, "--purpose", "case check", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "documents of PAK" not in shown.output or "succeed each other" in shown.output
