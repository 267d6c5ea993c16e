"""The audit log's costs: appending entries, and verifying a log of a million entries.

Targets (issue "accountable access"): `audit verify` of 1,000,000 entries in <= 30 s; audit appends add <= 5% to
bench_ingest.py (compare its figures with and without the audit log; ingest writes one entry per chunk).
Usage: python benchmarks/bench_audit.py [--entries N] [--single 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from stayledger.audit.log import AuditRecord, verify_entries
from stayledger.storage.duckdb_store import DuckDBStore

BATCH = 1_000  # entries per append call while building the big log (a busy service's group commit)


def record(i: int) -> AuditRecord:
    return AuditRecord("person.view", f"officer-{i % 50}", "officer", "ok", "traveller enquiry", f"CASE-{i % 997}",
                       f"req-{i:09d}", {"person_id": f"P{i:011d}", "event_ids": [f"E{i:09d}", f"E{i + 1:09d}"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=2_000, help="one-entry appends to time (each its own transaction)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "audit.duckdb")
        started = time.perf_counter()
        for i in range(args.single):
            store.append_audit([record(i)])
        single = time.perf_counter() - started
        print(f"single appends: {args.single:,} in {single:.2f} s = {single / args.single * 1000:.2f} ms per entry "
              "(each its own transaction, with its tree head)")
        started = time.perf_counter()
        done = args.single
        while done < args.entries:
            n = min(BATCH, args.entries - done)
            store.append_audit([record(done + k) for k in range(n)])
            done += n
        built = time.perf_counter() - started
        print(f"batched appends: {args.entries - args.single:,} in {built:.1f} s = "
              f"{(args.entries - args.single) / built:,.0f} entries/s ({BATCH} per call)")
        size_mb = (Path(tmp) / "audit.duckdb").stat().st_size / 1e6
        started = time.perf_counter()
        result = verify_entries(store.audit_rows(), store.audit_heads())
        verified = time.perf_counter() - started
        print(f"verify: {result.entries:,} entries ({size_mb:.0f} MB ledger) in {verified:.1f} s — "
              f"{'intact' if result.ok else 'NOT intact: ' + str(result.problem)}")
        store.close()


if __name__ == "__main__":
    main()
