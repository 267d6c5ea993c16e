"""Batch identity resolution through the product path: ledger → features → train → predict → cluster → ids.

Targets: 1,000,000 events resolved (train + predict + cluster) in <= 3 minutes with <= 4 GB peak memory;
near real time p99 <= 150 ms per new event against 1,000,000 resolved events.
Measures a synthetic population ingested into a fresh DuckDB ledger; each phase runs in this process, and
the peak RSS printed is this process's (ru_maxrss), generator excluded (it runs in a child process).

Usage: python benchmarks/bench_resolve.py [--people 240000] [--seed 5] [--realtime 200]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stayledger.identity.evaluation import metrics_by_group, pair_metrics
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.evaluate import read_truth_identities
from stayledger.usecases.ingest import ingest_file
from stayledger.usecases.resolve import resolve_identities
from stayledger.domain.access import AccessContext, Role

ADMIN = AccessContext("benchmark", Role.ADMIN, "benchmark run")


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=240_000, help="240,000 travellers give about 1,000,000 events")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--realtime", type=int, default=200, help="new events linked one at a time after the batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        population = Path(tmp) / "pop"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "stayledger", "synth", "--people", str(args.people), "--seed", str(args.seed), "--out", str(population)],
            check=True, capture_output=True,
        )
        print(f"synthesised {args.people:,} travellers in {time.perf_counter() - started:.1f} s (child process)")
        events_path = population / "events.jsonl"
        lines = events_path.read_text(encoding="utf-8").splitlines()
        rng = random.Random(args.seed)
        held_out = set(rng.sample(range(len(lines)), min(args.realtime, len(lines) // 10)))
        batch_path = Path(tmp) / "batch.jsonl"
        batch_path.write_text("\n".join(l for i, l in enumerate(lines) if i not in held_out) + "\n", encoding="utf-8")
        later = [json.loads(lines[i]) for i in sorted(held_out)]
        del lines

        store = DuckDBStore(Path(tmp) / "ledger.duckdb")
        started = time.perf_counter()
        report = ingest_file(store, ADMIN, batch_path)
        print(f"ingested {report.added:,} events in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        resolved = resolve_identities(store, ADMIN)
        batch_seconds = time.perf_counter() - started
        print(f"batch resolve ({resolved.method}): {resolved.events:,} events → {resolved.persons:,} persons in {batch_seconds:.1f} s; peak RSS {peak_rss_gb():.2f} GB")
        for note in resolved.notes:
            print(f"  {note}")
        truth = read_truth_identities(population)
        predicted = {e: a.person_id for e, a in store.identity_assignments().items()}
        metrics = pair_metrics(predicted, truth)
        print(f"pair precision {metrics.precision:.5f} recall {metrics.recall:.5f} F1 {metrics.f1:.5f}")

        # Near real time: a linker held in memory (as a service would) links each held-out event on its own.
        from stayledger.domain.events import parse_event
        from stayledger.identity.model import LinkageModel
        from stayledger.usecases.resolve import RealtimeLinker

        started = time.perf_counter()
        version, model_json = store.latest_model()
        linker = RealtimeLinker(store.events_table(), store.identity_assignments(), LinkageModel.from_json(model_json))
        print(f"real-time linker ready in {time.perf_counter() - started:.1f} s (model v{version})")
        latencies = []
        correct = 0
        for record in later:
            event = parse_event(record)
            started = time.perf_counter()
            person, _ = linker.link(event)
            latencies.append(time.perf_counter() - started)
            true_mates = [e for e, p in truth.items() if p == truth[event.event_id] and e in predicted]
            correct += (not true_mates and person.startswith("new:")) or any(predicted[m] == person for m in true_mates)
        latencies.sort()
        if latencies:
            p50 = latencies[len(latencies) // 2] * 1000
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
            print(f"near real time: {len(latencies)} events against {len(predicted):,} resolved: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
                  f"max {latencies[-1] * 1000:.1f} ms; joined the right person {correct}/{len(latencies)}")
        predicted = {e: a.person_id for e, a in store.identity_assignments().items()}
        nationality = {}
        table = store.events_table().select(["event_id", "nationality"])
        for event_id, nat in zip(table.column(0).to_pylist(), table.column(1).to_pylist()):
            nationality.setdefault(truth.get(event_id), nat)
        worst = sorted(metrics_by_group(predicted, truth, nationality).items(), key=lambda kv: kv[1].f1)[:5]
        print("worst nationalities: " + ", ".join(f"{k} {v.f1:.4f} ({v.true_persons})" for k, v in worst))
        print(f"final peak RSS {peak_rss_gb():.2f} GB")
        store.close()


if __name__ == "__main__":
    main()
