"""The stays stage alone, on a resolved ledger: the CSV export bench_scale times, and the stays snapshot.

Runs ``export_stays`` (the stage bench_scale calls "stays": worker processes, CSV rows) and ``record_stays`` (the
`stays determine` use case: in this process, the snapshot written to the ledger), each timed with bench_scale's
Meter: wall s, CPU s of this process and its worker processes (and of this process alone: "of it main"), peak RSS
of the process tree. The ledger is changed (an audit entry per step, the stays snapshot replaced): give it a copy.

    cp /work/data/l1m.duckdb l1m.duckdb
    flock /work/notes/heavy.lock nice -n 10 python benchmarks/bench_stays.py l1m.duckdb --csv-out stays.csv \
        --snapshot-out stays.parquet

``--csv-out`` keeps the CSV and ``--snapshot-out`` writes the snapshot table (Parquet, snapshot order), to compare
runs exactly.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import ADMIN, Meter, gb  # noqa: E402


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ledger", type=Path, help="a resolved DuckDB ledger (a copy: it is written to)")
    parser.add_argument("--as-of", default="2025-12-31")
    parser.add_argument("--pack", default="us")
    parser.add_argument("--csv-out", type=Path, help="keep the stays CSV here")
    parser.add_argument("--snapshot-out", type=Path, help="write the stays snapshot here (Parquet)")
    parser.add_argument("--skip", choices=("export", "snapshot"), action="append", default=[])
    args = parser.parse_args()

    from stayledger.storage.duckdb_store import DuckDBStore
    from stayledger.usecases.export import export_stays
    from stayledger.usecases.stays_snapshot import record_stays

    as_of = date.fromisoformat(args.as_of)
    store = DuckDBStore(args.ledger)
    meter = Meter()
    meter.start()
    counts: dict[str, int] = {}
    own_cpu: dict[str, float] = {}  # CPU s of this process alone (the rest of a stage's: its worker processes)
    with tempfile.TemporaryDirectory(prefix="bench-stays-") as scratch:
        if "export" not in args.skip:
            started = _own_cpu()
            with meter.stage("export stays (CSV, worker processes)"):
                counts["export"] = export_stays(store, ADMIN, as_of, args.csv_out or Path(scratch) / "stays.csv",
                                                pack=args.pack)
            own_cpu["export"] = _own_cpu() - started
        if "snapshot" not in args.skip:
            started = _own_cpu()
            with meter.stage("record stays (snapshot, in process)"):
                counts["snapshot"] = record_stays(store, ADMIN, as_of, pack=args.pack).stays
            own_cpu["snapshot"] = _own_cpu() - started
    meter.stop()
    if args.snapshot_out:
        store.connection.execute(f"COPY (SELECT * EXCLUDE (run_id) FROM stays ORDER BY person_id, arrived_on, "
                                 f"arrival_event_id) TO '{args.snapshot_out}' (FORMAT parquet)")
    store.close()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"{'stage':<38} {'wall s':>8} {'cpu s':>8} {'of it main':>10} {'peak GB':>8}  stays")
    for name, key in zip(meter.order, [k for k in ("export", "snapshot") if k not in args.skip]):
        s = meter.stages[name]
        print(f"{name:<38} {s.seconds:8.1f} {s.cpu:8.1f} {own_cpu[key]:10.1f} {gb(s.peak)}  {counts[key]:,}")
    print(f"load average at the end {load}")


if __name__ == "__main__":
    main()
