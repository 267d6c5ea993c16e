"""Batch prediction with identical records scored once, against prediction over every event, on a resolved ledger.

Reads the ledger's events and latest model, builds the features as resolve does, then predicts twice:
``linking.predict_links`` (groups of identical records scored once, ``identity/identical_records.py``) and the
engine's prediction over every event (unless ``--skip-every-event``). Prints the distinct records, wall and CPU
seconds, the peak RSS (bench_scale's sampler: this process and its children), and whether the two tables are equal
pair for pair and score for score.

Usage: python benchmarks/bench_identical_records.py LEDGER.duckdb [--skip-every-event] [--threshold 0.5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from stayledger.identity import linking
from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine
from stayledger.identity.features import build_features, discount_documents, shared_documents_of
from stayledger.identity.identical_records import group_identical
from stayledger.identity.model import LinkageModel
from stayledger.identity.term_frequencies import with_term_frequencies
from stayledger.storage.duckdb_store import DuckDBStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import Meter  # noqa: E402 - the stage clock and RSS sampler of the end-to-end benchmark

METER = Meter()


def timed(label: str, work: Callable[[], Any]) -> Any:
    with METER.stage(label) as stage:
        result = work()
    print(f"{label:<44} {stage.seconds:8.1f} s wall {stage.cpu:8.1f} CPU s  peak {stage.peak / 1e9:5.2f} GB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ledger", type=Path)
    parser.add_argument("--threshold", type=float, default=0.5, help="lowest probability kept (resolve keeps the grey zone's 0.5)")
    parser.add_argument("--skip-every-event", action="store_true", help="do not run the prediction over every event")
    args = parser.parse_args()
    METER.start()

    store = DuckDBStore(args.ledger, read_only=True)
    events = store.events_table()
    latest = store.latest_model()
    store.close()
    if latest is None:
        raise SystemExit(f"{args.ledger}: no linkage model (run `stayledger resolve` first)")
    model = LinkageModel.from_json(latest[1])
    features = build_features(events)
    features = discount_documents(features, shared_documents_of(features) | model.shared_documents)
    del events

    groups = timed("grouping identical records", lambda: group_identical(with_term_frequencies(features, model)))
    several = int((groups.sizes > 1).sum())
    print(f"{features.num_rows:,} events; {len(groups.sizes):,} distinct records ({len(groups.sizes) / features.num_rows:.1%}); "
          f"{several:,} of them seen more than once, largest group {int(groups.sizes.max()):,}")
    engine = DuckDBSplinkEngine()
    collapsed = timed("predict, identical records scored once", lambda: linking.predict_links(features, model, threshold=args.threshold, engine=engine))
    print(f"  {collapsed.num_rows:,} pairs at or above {args.threshold}")
    if args.skip_every_event:
        return
    every = timed("predict over every event", lambda: engine.predict(with_term_frequencies(features, model), model, threshold=args.threshold))
    print(f"  {every.num_rows:,} pairs at or above {args.threshold}")
    print(f"equal pair for pair and score for score: {collapsed.equals(every)}")


if __name__ == "__main__":
    main()
