"""How many candidate pairs each blocking rule makes on a ledger, and which blocks are the largest.

Prediction scores every pair the blocking rules make, so its time follows these counts. A rule whose key takes
few values among many travellers (a common given name with a four-character piece of a document number) makes
blocks that grow with the square of the travellers in them: prediction then grows faster than the ledger. Run
this on two ledgers of different size to see which rules do.

Counts are per rule before the union (a pair found by two rules counts in both) and include pairs within one
person, which are the point of blocking. ``pairs`` is exact for rules that join a column to itself and an upper
bound (both orders) for rules that join two different columns.

Usage: python benchmarks/blocking_counts.py LEDGER.duckdb [--show-keys [--top 3]] [--rules-from-spec]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from stayledger.identity.engines.duckdb_splink import _rule_columns
from stayledger.identity.features import build_features, discount_documents
from stayledger.identity.model import LinkageModel
from stayledger.identity.model_spec import BLOCKING_RULES
from stayledger.storage.duckdb_store import DuckDBStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ledger", type=Path)
    parser.add_argument("--top", type=int, default=3, help="largest blocks to show per rule (with --show-keys)")
    parser.add_argument("--show-keys", action="store_true",
                        help="print the key values of the largest blocks: names and birth dates, personal data on a real ledger")
    parser.add_argument("--rules-from-spec", action="store_true",
                        help="count the rules of the current model_spec, not those of the ledger's latest model")
    args = parser.parse_args()

    store = DuckDBStore(args.ledger, read_only=True)
    started = time.perf_counter()
    events = store.events_table()
    latest = store.latest_model()
    person_of = store.connection.execute("SELECT event_id AS unique_id, person_id FROM identities").to_arrow_table()
    store.close()
    model = LinkageModel.from_json(latest[1]) if latest else None
    features = build_features(events)
    if model is not None:
        features = discount_documents(features, model.shared_documents)
    if args.rules_from_spec or model is None:
        rules = list(BLOCKING_RULES)
    else:
        rules = [r["blocking_rule"] if isinstance(r, dict) else r for r in model.settings["blocking_rules_to_generate_predictions"]]
    print(f"{'pairs':>14} {'across persons':>12}")
    print(f"{features.num_rows:,} events; features in {time.perf_counter() - started:.1f} s; {len(rules)} rules")

    con = duckdb.connect()
    con.register("features_only", features)
    con.register("person_of", person_of)
    # Pairs within one resolved person are what blocking is for; pairs across persons are the cost that grows
    # with the square of the travellers sharing a key.
    con.execute("CREATE TEMP TABLE features AS SELECT f.*, p.person_id FROM features_only f LEFT JOIN person_of p USING (unique_id)")
    total = 0
    for rule in rules:
        columns = _rule_columns(rule)
        left = [l for l, _ in columns]
        right = [r for _, r in columns]
        not_null = lambda cols: " AND ".join(f"{c} IS NOT NULL" for c in cols)  # noqa: E731
        if left == right:
            keys = ", ".join(left)
            blocks = (f"SELECT {keys}, count(*) AS n FROM features WHERE {not_null(left)} GROUP BY ALL")
            pairs_sql = "n * (n - 1) / 2"
            within_sql = (f"SELECT sum(m * (m - 1) / 2)::HUGEINT FROM (SELECT count(*) AS m FROM features "
                          f"WHERE {not_null(left)} AND person_id IS NOT NULL GROUP BY {keys}, person_id)")
        else:
            lk = ", ".join(f"{c} AS k{i}" for i, c in enumerate(left))
            rk = ", ".join(f"{c} AS k{i}" for i, c in enumerate(right))
            ks = ", ".join(f"k{i}" for i in range(len(left)))
            blocks = (f"SELECT * FROM (SELECT {lk}, count(*) AS nl FROM features WHERE {not_null(left)} GROUP BY ALL) "
                      f"JOIN (SELECT {rk}, count(*) AS nr FROM features WHERE {not_null(right)} GROUP BY ALL) USING ({ks})")
            pairs_sql = "nl * nr"
            within_sql = None
        pairs, largest = con.execute(f"SELECT sum({pairs_sql})::HUGEINT, max({pairs_sql})::HUGEINT FROM ({blocks})").fetchone()
        pairs = int(pairs or 0)
        total += pairs
        within = con.execute(within_sql).fetchone()[0] if within_sql and len(person_of) else None
        across = f"{pairs - int(within or 0):>12,}" if within is not None else f"{'?':>12}"
        print(f"{pairs:>14,} {across}  largest block {int(largest or 0):>8,}  {rule}")
        if not args.show_keys:
            continue
        for row in con.execute(f"SELECT * EXCLUDE ({'n' if left == right else 'nl, nr'}), {pairs_sql} AS pairs "
                           f"FROM ({blocks}) ORDER BY pairs DESC LIMIT {args.top}").fetchall():
            print(f"{'':>16}{row[-1]:>10,}  {row[:-1]}")
    print(f"{total:>14,}  all rules (before the union)")


if __name__ == "__main__":
    main()
