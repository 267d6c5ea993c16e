"""Use cases: read, verify, checkpoint and prove the audit log (auditors and admins; each is itself audited).

Verification recomputes the hash chain and the Merkle tree from the stored entries and compares them with the
stored tree heads and, when given, a checkpoint signed with a key kept outside the ledger: a chain alone cannot
show that its newest entries were cut off, a signed checkpoint can.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from stayledger.audit.checkpoint import Checkpoint, CheckpointError, parse_and_verify, sign_checkpoint
from stayledger.audit.log import Verification, parse_entry, verify_entries
from stayledger.audit.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes
from stayledger.domain.access import AccessContext, Action
from stayledger.errors import NotFound, StayledgerError
from stayledger.storage.base import EventStore
from stayledger.usecases.accountability import operation

KEY_NAME = "stayledger-audit"
PROOF_FORMAT = "stayledger-audit-inclusion-proof/1"


@dataclass(frozen=True)
class Signer:
    """The checkpoint key, loaded by the entry point from outside the ledger."""

    private_key: Ed25519PrivateKey
    name: str = KEY_NAME

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


def log_origin(store: EventStore) -> str:
    """The checkpoint origin line: names this ledger's log, so a checkpoint of another ledger never verifies."""
    return f"stayledger.audit/{store.ledger_id()}"


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def list_audit(
    store: EventStore, ctx: AccessContext, *, since: datetime | None = None, actor: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Entries (oldest first) at or after ``since`` and by ``actor``; read from the sealed JSON, not an index."""
    with operation(store, ctx, Action.LIST_AUDIT, since=_stamp(since) if since else None, actor=actor) as op:
        wanted = _stamp(since) if since else None
        found: list[dict[str, Any]] = []
        for _, text, _ in store.audit_rows():
            entry = parse_entry(text)
            if wanted is not None and str(entry.get("at", "")) < wanted:
                continue
            if actor is not None and entry.get("actor") != actor:
                continue
            found.append(entry)
        if limit is not None and len(found) > limit:
            found = found[-limit:]  # the newest
        op.note(count=len(found))
        return found


def verify_audit(
    store: EventStore, ctx: AccessContext, *, checkpoint_note: str | None = None,
    trusted_key: Ed25519PublicKey | None = None, key_name: str = KEY_NAME,
) -> Verification:
    """Check every entry, every stored tree head and (optionally) a signed checkpoint; ``ok`` or the first failure."""
    with operation(store, ctx, Action.VERIFY_AUDIT, against_checkpoint=checkpoint_note is not None) as op:
        checkpoint = None
        if checkpoint_note is not None:
            if trusted_key is None:
                raise StayledgerError("no public key to check the checkpoint's signature with")
            checkpoint = _trusted_checkpoint(store, checkpoint_note, key_name, trusted_key)
        indexed: dict[int, list[str]] = {}  # the entry being checked: its subjects as the index holds them

        def rows() -> Iterator[tuple[int, str, str]]:
            for seq, text, digest, subjects in store.audit_rows_with_subjects():
                indexed[seq] = subjects
                yield seq, text, digest

        result = verify_entries(
            rows(), store.audit_heads(),
            checkpoint=(checkpoint.tree_size, checkpoint.root_hash) if checkpoint else None,
            indexed=indexed.pop,
        )
        op.note(intact=result.ok, entries=result.entries, failed_seq=result.failed_seq)
        return result


def _trusted_checkpoint(store: EventStore, note: str, key_name: str, key: Ed25519PublicKey) -> Checkpoint:
    try:
        checkpoint = parse_and_verify(note, key_name, key)
    except CheckpointError as exc:
        raise StayledgerError(f"the checkpoint cannot be trusted: {exc}") from None
    if checkpoint.origin != log_origin(store):
        raise StayledgerError(f"the checkpoint is of another log ({checkpoint.origin}), not {log_origin(store)}")
    return checkpoint


def checkpoint_audit(store: EventStore, ctx: AccessContext, signer: Signer) -> str:
    """A signed tree head (C2SP tlog-checkpoint, Ed25519 signed note) of the log as it stands now."""
    with operation(store, ctx, Action.CHECKPOINT_AUDIT) as op:
        size, root = _current_head(store)
        op.note(tree_size=size, root_hash=root.hex())
        # The checkpoint covers the entries before this operation's own entry, which is appended on exit.
        return sign_checkpoint(Checkpoint(log_origin(store), size, root, _stamp(store.clock())), signer.name,
                               signer.private_key)


def _current_head(store: EventStore) -> tuple[int, bytes]:
    hashes = [bytes.fromhex(digest) for _, _, digest in store.audit_rows()]
    return len(hashes), root_from_leaf_hashes(hashes)


def prove_entry(store: EventStore, ctx: AccessContext, seq: int, signer: Signer) -> dict[str, Any]:
    """An inclusion proof of entry ``seq`` in the current tree, with a signed checkpoint of that tree.

    An auditor checks it offline (``stayledger audit check-proof``) with only the public key.
    """
    with operation(store, ctx, Action.PROVE_AUDIT, seq=seq) as op:
        texts: list[str] = []
        hashes: list[bytes] = []
        for stored_seq, text, _ in store.audit_rows():
            if stored_seq == seq:
                texts.append(text)
            hashes.append(leaf_hash(text.encode("utf-8")))  # from the content: a proof never vouches for a bad hash
        if not texts or not 1 <= seq <= len(hashes):
            raise NotFound(f"no audit entry {seq} (the log has {len(hashes)} entries)")
        root = root_from_leaf_hashes(hashes)
        note = sign_checkpoint(Checkpoint(log_origin(store), len(hashes), root, _stamp(store.clock())), signer.name,
                               signer.private_key)
        op.note(tree_size=len(hashes))
        return {
            "format": PROOF_FORMAT,
            "entry": texts[0],
            "leaf_index": seq - 1,
            "tree_size": len(hashes),
            "leaf_hash": hashes[seq - 1].hex(),
            "audit_path": [node.hex() for node in inclusion_proof(seq - 1, hashes)],
            "root_hash": root.hex(),
            "checkpoint": note,
        }
