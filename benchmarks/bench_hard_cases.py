"""Identity resolution on the hard cases, by case: namesakes, placeholder and copied document numbers.

Generates a population (``stayledger synth`` or ``benchmarks/foreign_population.py``), ingests it into a
fresh DuckDB ledger, resolves it and prints pair precision/recall/F1, the worst nationalities, false and
missed overstays, the needs_review share (determined and true), then per case:

* namesake groups: different true persons whose first border arrival carries one surname, given names,
  birth date and nationality; how many share a cluster (a false merge), split by whether their trips
  interleave in time or come one after the other (which looks like a passport renewal);
* records carrying a placeholder or someone else's number: how many sit in a cluster mixing true persons,
  how many are split from their person's main cluster.

Usage:
    python benchmarks/bench_hard_cases.py --generator synth --people 30000 --seed 11 [--register 500000000]
    python benchmarks/bench_hard_cases.py --generator foreign --people 30000 --seed 3 [--register 300000000]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from stayledger.domain.access import AccessContext, Role
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.evaluate import evaluate_ledger, read_truth_identities, truth_as_of
from stayledger.usecases.ingest import ingest_file
from stayledger.usecases.resolve import resolve_identities

ADMIN = AccessContext("benchmark", Role.ADMIN, "benchmark run")
CASE_LABELS = ("doc_placeholder", "doc_copied_from_booking",  # stayledger synth
               "placeholder_doc", "group_placeholder_doc", "booking_copied_number")  # foreign_population.py


def generate(kind: str, people: int, seed: int, register: int | None, out: Path) -> None:
    here = Path(__file__).resolve().parent
    if kind == "synth":
        code = "import sys; from stayledger.cli.main import app; sys.argv[0] = 'stayledger'; app()"
        args = [sys.executable, "-c", code, "synth", "--people", str(people), "--seed", str(seed),
                "--out", str(out)] + (["--register", str(register)] if register is not None else [])
    else:
        args = [sys.executable, str(here / "foreign_population.py"), "--people", str(people), "--seed", str(seed),
                "--out", str(out)] + (["--register", str(register)] if register is not None else [])
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def labels_of(population: Path) -> dict[str, list[str]]:
    if (population / "truth_noise.csv").exists():
        with (population / "truth_noise.csv").open(encoding="utf-8") as handle:
            return {row["event_id"]: row["noise"].split(";") for row in csv.DictReader(handle)}
    out = {}
    for line in (population / "noise_log.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        out[record["event_id"]] = record.get("tags", [])
    return out


def report(population: Path, resolved: dict[str, str], store: DuckDBStore) -> None:
    truth = read_truth_identities(population)
    events = [json.loads(line) for line in (population / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    by_id = {e["event_id"]: e for e in events}
    members: dict[str, list[str]] = defaultdict(list)
    for event_id, cluster in resolved.items():
        members[cluster].append(event_id)
    persons_in = {c: {truth[e] for e in es} for c, es in members.items()}
    clusters_of: dict[str, Counter[str]] = defaultdict(Counter)
    for event_id, person in truth.items():
        clusters_of[person][resolved[event_id]] += 1
    main_cluster = {p: c.most_common(1)[0][0] for p, c in clusters_of.items()}

    evaluation, stays = evaluate_ledger(store, ADMIN, population, truth_as_of(population))
    m, status, perfect = evaluation.identity, evaluation.status, evaluation.status_with_true_identities
    print(f"pair precision {m.precision:.4f}, recall {m.recall:.4f}, F1 {m.f1:.4f} "
          f"({len(clusters_of)} true persons, {len(members)} resolved)")
    worst = sorted(evaluation.by_nationality.items(), key=lambda kv: kv[1].f1)[:3]
    print("worst nationalities: " + ", ".join(f"{n} {x.f1:.4f} (P {x.precision:.4f}, R {x.recall:.4f})" for n, x in worst))
    if status is not None and stays is not None:
        print(f"false overstays {status.false_overstays} ({100 * status.false_overstay_rate:.3f}% of stays; with the true "
              f"identities {perfect.false_overstays if perfect else '?'}); missed overstays {status.missed_overstays} of "
              f"{status.true_overstays} (overstay recall {100 * (1 - status.missed_overstay_rate):.2f}%)")
        determined = sum(1 for s in stays if str(s.status) == "needs_review")
        with (population / "truth_stays.csv").open(encoding="utf-8") as handle:
            true_review = sum(1 for row in csv.DictReader(handle) if row["status"] == "needs_review")
        print(f"needs_review {determined} of {len(stays)} stays ({100 * determined / len(stays):.2f}%; "
              f"true {100 * true_review / len(stays):.2f}%)")

    first: dict[str, tuple[str, ...]] = {}
    spans: dict[str, list[str]] = defaultdict(list)
    arrivals: Counter[str] = Counter()
    for e in sorted(events, key=lambda e: e["occurred_on"]):
        person = truth[e["event_id"]]
        spans[person].append(e["occurred_on"])
        if e["kind"] == "arrival":
            arrivals[person] += 1
            first.setdefault(person, (e["surname"].strip().upper(), (e.get("given_names") or "").strip().upper(),
                                      e["date_of_birth"], e["nationality"]))
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for person, key in first.items():
        groups[key].append(person)
    kinds: Counter[tuple[str, bool]] = Counter()
    for people in (g for g in groups.values() if len(g) > 1):
        a, b = people[:2]
        merged = bool(set(clusters_of[a]) & set(clusters_of[b]))
        interleaved = spans[a][0] <= spans[b][-1] and spans[b][0] <= spans[a][-1]
        kind = ("trips interleave" if interleaved else "one after the other") + (
            ", one has a single trip" if min(arrivals[a], arrivals[b]) == 1 else ", both 2+ trips")
        kinds[(kind, merged)] += 1
    total = sum(kinds.values())
    print(f"namesake groups: {total}, falsely merged {sum(n for (_, merged), n in kinds.items() if merged)}")
    for (kind, merged), n in sorted(kinds.items()):
        print(f"  {kind:45s} {'merged' if merged else 'kept apart'}: {n}")

    labels = labels_of(population)
    for label in CASE_LABELS:
        records = [e for e, ls in labels.items() if label in ls]
        if not records:
            continue
        numbers = {by_id[e].get("document_number") for e in records}
        mixed = sum(1 for e in records if len(persons_in[resolved[e]]) > 1)
        split = sum(1 for e in records if resolved[e] != main_cluster[truth[e]])
        print(f"{label}: {len(records)} records, {len(numbers)} numbers; in a cluster mixing persons {mixed}; "
              f"split from their person {split}")
    mixed_clusters = [c for c, ps in persons_in.items() if len(ps) > 1]
    print(f"clusters mixing true persons: {len(mixed_clusters)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", choices=("synth", "foreign"), default="synth")
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--register", type=int, help="register size the namesake rate is derived for")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stayledger-hard-") as tmp:
        population, db = Path(tmp) / "pop", Path(tmp) / "ledger.duckdb"
        started = time.perf_counter()
        generate(args.generator, args.people, args.seed, args.register, population)
        store = DuckDBStore(db)
        try:
            ingest_file(store, ADMIN, population / "events.jsonl")
            resolve_identities(store, ADMIN)
            resolved = {e: a.person_id for e, a in store.identity_assignments().items()}
            print(f"{args.generator} population of {args.people} (seed {args.seed}); ingested and resolved in "
                  f"{time.perf_counter() - started:.0f} s")
            report(population, resolved, store)
        finally:
            store.close()


if __name__ == "__main__":
    main()
