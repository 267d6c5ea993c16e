"""Issue 14 items 13 and 15: Ctrl-C during a parallel ingest tells the truth; worker processes die with their parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from stayledger.storage.duckdb_store import DuckDBStore

ROOT = Path(__file__).resolve().parents[2]
RECORD = {"kind": "departure", "occurred_on": "2024-05-20", "source": "carrier", "surname": "DOE",
          "date_of_birth": "1980-01-01", "nationality": "GBR"}

# Ctrl-C at a terminal reaches the whole process group: the workers as well as the command.
PARALLEL_CTRL_C = """
import os, signal, sys
import stayledger.usecases.ingest as ingest
ingest.PARALLEL_MIN_BYTES, ingest.PARALLEL_CHUNK_BYTES = 0, 4_000
real, appended = ingest._append, []
def append_then_ctrl_c(op, report, chunk):
    real(op, report, chunk)
    appended.append(chunk.records)
    if len(appended) == 2:
        os.killpg(0, signal.SIGINT)
ingest._append = append_then_ctrl_c
from stayledger.cli.main import app
app(sys.argv[1:], prog_name="stayledger")
"""


def test_ctrl_c_during_a_parallel_ingest_says_what_was_committed_without_a_traceback(tmp_path):
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps({**RECORD, "event_id": f"E{i}", "document_number": str(10**6 + i)}) + "\n"
                              for i in range(400)), encoding="utf-8")
    db = tmp_path / "l.duckdb"
    done = subprocess.run([sys.executable, "-c", PARALLEL_CTRL_C, "ingest", str(source), "--db", str(db), "--actor", "t"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, start_new_session=True)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "BrokenProcessPool" not in done.stderr, done.stderr
    message = " ".join(done.stderr.split())
    store = DuckDBStore(db)
    try:
        kept = store.events_table().num_rows
    finally:
        store.close()
    assert 0 < kept < 400
    assert f"the first {kept} records of this file were committed ({kept} added" in message


# The parent prints its worker's pid, then waits on a task that outlives it.
ORPHAN = """
import os, time
from stayledger.worker_processes import worker_pool
pool = worker_pool(1)
print(pool.submit(os.getpid).result(), flush=True)
pool.submit(time.sleep, 60).result()
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited (nobody may reap it in a container)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_workers_exit_when_their_parent_is_killed(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    worker = 0
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert _running(worker)
        parent.kill()  # kill -9
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _running(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(worker), "the worker outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        if worker and _running(worker):
            os.kill(worker, signal.SIGKILL)


def test_ctrl_c_inside_a_duckdb_query_is_a_keyboard_interrupt_and_the_unit_rolls_back(tmp_path):
    store = DuckDBStore(tmp_path / "l.duckdb")
    try:
        ctrl_c = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
        with pytest.raises(KeyboardInterrupt):  # DuckDB's client raises RuntimeError("Query interrupted")
            with store.unit_of_work():
                store._con.execute("CREATE TABLE scratch (n INTEGER)")
                ctrl_c.start()
                store._con.execute("SELECT count(*) FROM range(10000000000) t1").fetchall()
        ctrl_c.join()
        assert store._con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scratch'").fetchone() == (0,)
    finally:
        store.close()
