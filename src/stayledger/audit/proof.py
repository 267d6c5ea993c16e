"""Checking an inclusion proof offline: the entry, its path to the root, and the signed checkpoint of that root.

Needs no ledger, only the proof file and the log's public key (the verifier key string that
``stayledger audit checkpoint`` prints).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from stayledger.audit.checkpoint import CheckpointError, parse_and_verify
from stayledger.audit.merkle import leaf_hash, verify_inclusion


def check_inclusion_proof(proof: dict[str, Any], key_name: str | None, public_key: Ed25519PublicKey | None) -> list[str]:
    """Problems found (empty: the entry is in the log the signed checkpoint describes)."""
    problems: list[str] = []
    try:
        entry = str(proof["entry"])
        index, size = int(proof["leaf_index"]), int(proof["tree_size"])
        path = [bytes.fromhex(node) for node in proof["audit_path"]]
        root = bytes.fromhex(proof["root_hash"])
    except (KeyError, TypeError, ValueError) as exc:
        return [f"not an inclusion proof: {exc}"]
    digest = leaf_hash(entry.encode("utf-8"))
    if digest.hex() != proof.get("leaf_hash"):
        problems.append("the entry does not hash to the proof's leaf hash")
    if not verify_inclusion(index, size, digest, path, root):
        problems.append(f"the audit path does not lead from entry {index + 1} to the root of a tree of {size} entries")
    if public_key is None or key_name is None:
        problems.append("no public key given: the root is not shown to be the log's own (pass --key)")
        return problems
    try:
        checkpoint = parse_and_verify(str(proof.get("checkpoint", "")), key_name, public_key)
    except CheckpointError as exc:
        problems.append(f"the checkpoint does not verify: {exc}")
        return problems
    if (checkpoint.tree_size, checkpoint.root_hash) != (size, root):
        problems.append("the signed checkpoint is of another tree than the proof")
    return problems
