"""RFC 6962 / RFC 9162 Merkle tree hashing, compact frontier, inclusion and consistency proofs.

Pure: standard library only. Written here rather than taken from a library because it is small, exactly
specified by the RFCs, and the audit log depends on its byte-for-byte behaviour.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable, Sequence

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): leaves and nodes are hashed differently, so a node can never pass for a leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over already-hashed leaves; the empty tree's root is SHA-256 of nothing."""
    if not hashes:
        return EMPTY_ROOT
    frontier = Frontier()
    for digest in hashes:
        frontier.append(digest)
    return frontier.root()


class Frontier:
    """The roots of the perfect subtrees of a tree of ``size`` leaves (one per set bit, largest first).

    Appending a leaf merges equal-sized subtrees like binary carry, so each append costs O(log n), and the root of
    the whole tree folds the frontier from the right — which equals the RFC 6962 MTH for any size.
    """

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        self.hashes: list[bytes] = list(hashes)
        if len(self.hashes) != bin(size).count("1"):
            raise ValueError(f"a frontier of a tree of {size} leaves has {bin(size).count('1')} hashes, not {len(self.hashes)}")

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> "Frontier":
        frontier = cls()
        for digest in hashes:
            frontier.append(digest)
        return frontier

    def append(self, leaf: bytes) -> None:
        node = leaf
        size = self.size
        while size & 1:  # a perfect subtree of the same height exists: merge with it
            node = node_hash(self.hashes.pop(), node)
            size >>= 1
        self.hashes.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root

    def to_json(self) -> str:
        return json.dumps({"size": self.size, "hashes": [h.hex() for h in self.hashes]}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Frontier":
        document = json.loads(text)
        return cls(int(document["size"]), [bytes.fromhex(h) for h in document["hashes"]])


def _subtree_root(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    frontier = Frontier()
    for i in range(start, end):
        frontier.append(hashes[i])
    return frontier.root()


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1: the sibling hashes from leaf ``index`` up to the root."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n} leaves")
    path: list[bytes] = []
    start, end, m = 0, n, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            path.append(_subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            path.append(_subtree_root(leaf_hashes, start, start + k))
            start, m = start + k, m - k
    path.reverse()  # RFC order: from the leaf's sibling upwards
    return path


def verify_inclusion(index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` lead from ``leaf`` at ``index`` to ``root`` of a tree of ``tree_size``?"""
    try:
        if not 0 <= index < tree_size:
            return False
        fn, sn = index, tree_size - 1
        r = leaf
        for p in proof:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = node_hash(p, r)
                if not fn & 1:
                    while fn and not fn & 1:
                        fn >>= 1
                        sn >>= 1
            else:
                r = node_hash(r, p)
            fn >>= 1
            sn >>= 1
        return sn == 0 and r == root
    except (TypeError, ValueError):
        return False


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2: shows the tree of ``old_size`` leaves is a prefix of this one."""
    n = len(leaf_hashes)
    if not 0 < old_size <= n:
        raise ValueError(f"no consistency proof from size {old_size} to {n}")

    def subproof(m: int, start: int, end: int, complete: bool) -> list[bytes]:
        size = end - start
        if m == size:
            return [] if complete else [_subtree_root(leaf_hashes, start, end)]
        k = _split(size)
        if m <= k:
            return subproof(m, start, start + k, complete) + [_subtree_root(leaf_hashes, start + k, end)]
        return subproof(m - k, start + k, end, False) + [_subtree_root(leaf_hashes, start, start + k)]

    return subproof(old_size, 0, n, True)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (old_size, old_root) a prefix of (new_size, new_root)?"""
    try:
        if not 0 < old_size <= new_size:
            return False
        if old_size == new_size:
            return not proof and old_root == new_root
        if not proof:
            return False
        path = list(proof)
        if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself the first node
            path.insert(0, old_root)
        fn, sn = old_size - 1, new_size - 1
        while fn & 1:
            fn >>= 1
            sn >>= 1
        fr = sr = path[0]
        for c in path[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                fr = node_hash(c, fr)
                sr = node_hash(c, sr)
                if not fn & 1:
                    while fn and not fn & 1:
                        fn >>= 1
                        sn >>= 1
            else:
                sr = node_hash(sr, c)
            fn >>= 1
            sn >>= 1
        return sn == 0 and fr == old_root and sr == new_root
    except (TypeError, ValueError):
        return False
