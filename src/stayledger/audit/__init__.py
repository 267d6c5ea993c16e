"""Tamper-evident audit log: entries, Merkle tree, signed checkpoints."""
