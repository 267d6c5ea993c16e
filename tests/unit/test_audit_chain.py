"""The audit entries' hash chain: sealing, and each kind of tampering named by the first entry it breaks.

(The Merkle tree and the signed checkpoints have their own tests: test_merkle.py, test_checkpoint.py.)"""

from __future__ import annotations

from datetime import datetime, timezone

from stayledger.audit.log import GENESIS, AuditRecord, seal, verify_entries
from stayledger.audit.merkle import Frontier


def sealed_log(n: int) -> list[tuple[int, str, str]]:
    frontier = Frontier()
    rows: list[tuple[int, str, str]] = []
    last = GENESIS
    for i in range(n):
        (entry,), _ = seal([AuditRecord("person.view", f"officer-{i}", "officer", "ok", "enquiry", objects={"person_id": f"P{i}"})],
                           last_seq=i, last_hash=last, frontier=frontier, at=datetime(2026, 1, 1, tzinfo=timezone.utc))
        rows.append((entry.seq, entry.text, entry.hash))
        last = entry.hash
    return rows


def test_a_sealed_log_verifies_and_each_kind_of_tampering_names_an_entry():
    rows = sealed_log(6)
    assert verify_entries(rows).ok
    edited = [*rows[:2], (3, rows[2][1].replace("officer-2", "nobody"), rows[2][2]), *rows[3:]]
    assert verify_entries(edited).failed_seq == 3
    assert verify_entries([*rows[:2], *rows[3:]]).failed_seq == 3  # removed
    assert verify_entries([rows[0], rows[2], rows[1], *rows[3:]]).failed_seq == 2  # reordered
    renumbered = [rows[0], (2, rows[2][1], rows[2][2]), (3, rows[1][1], rows[1][2])]
    assert verify_entries(renumbered).failed_seq == 2
    root_of_six = Frontier.from_leaf_hashes(bytes.fromhex(h) for _, _, h in rows).root()
    cut = verify_entries(rows[:4], checkpoint=(6, root_of_six))
    assert not cut.ok and cut.failed_seq == 5 and "entries 5–6 removed" in (cut.problem or "")
