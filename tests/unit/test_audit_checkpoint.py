"""Signed checkpoints (C2SP tlog-checkpoint in an Ed25519 signed note) and the audit entries' chain."""

from __future__ import annotations

import stat
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stayledger.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_or_create_signing_key,
    parse_and_verify,
    public_key_from_verifier_string,
    sign_checkpoint,
    verifier_key_string,
)
from stayledger.audit.log import GENESIS, AuditRecord, seal, verify_entries
from stayledger.audit.merkle import Frontier

KEY = Ed25519PrivateKey.generate()
CHECKPOINT = Checkpoint("stayledger.audit/test", 42, bytes(range(32)), "2026-12-05T10:00:00Z")


def test_a_signed_checkpoint_verifies_and_reads_back():
    note = sign_checkpoint(CHECKPOINT, "audit", KEY)
    assert note.startswith("stayledger.audit/test\n42\n") and "\n\n\u2014 audit " in note
    assert parse_and_verify(note, "audit", KEY.public_key()) == CHECKPOINT


@pytest.mark.parametrize("change", [
    ("\n42\n", "\n43\n"), ("stayledger.audit/test", "stayledger.audit/other"),
    ("2026-12-05T10:00:00Z", "2026-12-06T10:00:00Z"), ("AAECAwQF", "AAECAwQG"),
])
def test_any_change_to_the_text_breaks_the_signature(change):
    note = sign_checkpoint(CHECKPOINT, "audit", KEY).replace(*change)
    with pytest.raises(CheckpointError, match="does not verify"):
        parse_and_verify(note, "audit", KEY.public_key())


def test_a_checkpoint_signed_by_another_key_is_not_trusted():
    note = sign_checkpoint(CHECKPOINT, "audit", Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError, match="no signature by the trusted key"):
        parse_and_verify(note, "audit", KEY.public_key())


def test_malformed_notes_are_refused():
    for note in ("", "no blank line", "a\n\n\u2014 audit !!!\n", "origin\n007\nAAAA\n\n\u2014 audit AAAA\n"):
        with pytest.raises(CheckpointError):
            parse_and_verify(note, "audit", KEY.public_key())


def test_the_verifier_key_string_round_trips_and_checks_its_id():
    text = verifier_key_string("audit", KEY.public_key())
    name, key = public_key_from_verifier_string(text)
    assert name == "audit" and verifier_key_string(name, key) == text
    with pytest.raises(CheckpointError):
        public_key_from_verifier_string(text.replace("audit+", "other+", 1))


def test_the_signing_key_is_created_private_once_and_reused(tmp_path):
    path = tmp_path / "keys" / "audit.pem"
    first = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_or_create_signing_key(path)
    assert verifier_key_string("k", first.public_key()) == verifier_key_string("k", second.public_key())


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
