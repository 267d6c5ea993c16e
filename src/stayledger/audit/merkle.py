"""RFC 6962 / RFC 9162 Merkle tree hashing, compact frontier, inclusion and consistency proofs.

Pure: standard library only. Written here rather than taken from a library because it is small, exactly
specified by the RFCs, and the audit log depends on its byte-for-byte behaviour.

Leaf indices count from 0; sizes are numbers of leaves. Functions that take ``leaf_hashes`` expect leaves that
are already hashed with :func:`leaf_hash` (the log stores those), so nothing is hashed twice.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Sequence

_sha256 = hashlib.sha256

EMPTY_ROOT: bytes = _sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string (RFC 6962 §2.1)."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): leaves and nodes are hashed differently, so a node can never pass for a leaf."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): an interior node over two subtree roots."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """k of RFC 6962: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The roots of the perfect subtrees of a tree of ``size`` leaves (one per set bit of ``size``, largest first).

    Appending a leaf merges equal-sized subtrees like a binary carry, so an append costs O(log n) hashes
    (amortised O(1)); :meth:`root` folds the frontier from the right, which equals the RFC 6962 MTH for any
    size, in at most log2(n) hashes. Stream leaves through ``append`` and call ``root()`` whenever the root of
    the tree so far is wanted.
    """

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"a tree size is a whole number of leaves, not {size!r}")
        self.size = size
        self.hashes: list[bytes] = list(hashes)
        wanted = size.bit_count()
        if len(self.hashes) != wanted:
            raise ValueError(f"a frontier of a tree of {size} leaves has {wanted} hashes, not {len(self.hashes)}")
        if any(not isinstance(h, bytes) or len(h) != 32 for h in self.hashes):
            raise ValueError("a frontier holds 32-byte SHA-256 hashes")

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> Frontier:
        """The frontier of the tree of these (already hashed) leaves."""
        frontier = cls()
        for digest in hashes:
            frontier.append(digest)
        return frontier

    def append(self, leaf_hash: bytes) -> None:
        """Add one already-hashed leaf."""
        hashes, node, size = self.hashes, leaf_hash, self.size
        while size & 1:  # a perfect subtree of the same height ends the frontier: merge with it
            node = _sha256(b"\x01" + hashes.pop() + node).digest()
            size >>= 1
        hashes.append(node)
        self.size += 1

    def root(self) -> bytes:
        """MTH of all leaves appended so far."""
        hashes = self.hashes
        if not hashes:
            return EMPTY_ROOT
        root = hashes[-1]
        for i in range(len(hashes) - 2, -1, -1):
            root = _sha256(b"\x01" + hashes[i] + root).digest()
        return root

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)

    def to_json(self) -> str:
        return json.dumps({"size": self.size, "hashes": [h.hex() for h in self.hashes]}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Frontier:
        """Inverse of :meth:`to_json`; ``ValueError`` for anything else."""
        document: Any = json.loads(text)
        if not isinstance(document, dict) or not isinstance(document.get("hashes"), list):
            raise ValueError("a frontier is a JSON object with a size and a list of hashes")
        if any(not isinstance(h, str) or len(h) != 64 for h in document["hashes"]):
            raise ValueError("a frontier's hashes are 64 hex digits each")
        size = document.get("size")
        if not isinstance(size, int):
            raise ValueError(f"a frontier's size is a whole number, not {size!r}")
        return cls(size, [bytes.fromhex(h) for h in document["hashes"]])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frontier):
            return NotImplemented
        return self.size == other.size and self.hashes == other.hashes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Frontier(size={self.size}, hashes=[{', '.join(h.hex()[:8] + '…' for h in self.hashes)}])"


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over already-hashed leaves in O(n); the empty tree's root is :data:`EMPTY_ROOT`."""
    return Frontier.from_leaf_hashes(hashes).root()


def _subtree_root(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    frontier = Frontier()
    for i in range(start, end):
        frontier.append(hashes[i])
    return frontier.root()


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1, n = len(leaf_hashes): sibling hashes from leaf ``index`` up to the root.

    The siblings are disjoint subtrees, so computing them hashes each leaf once: O(n) in all.
    """
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n} leaves")
    path: list[bytes] = []
    start, end = 0, n
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(_subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            path.append(_subtree_root(leaf_hashes, start, start + k))
            start += k
    path.reverse()  # found top-down; the RFC lists them from the leaf's sibling upwards
    return path


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2: shows the tree of the first ``old_size`` leaves is a prefix of this one.

    Empty when m == n. m == 0 is refused, as transparency-dev/merkle does: every tree extends the empty one, so
    there is nothing to prove. O(n) hashing (disjoint subtrees); recursion only log2(n) deep.
    """
    n = len(leaf_hashes)
    if not 0 < old_size <= n:
        raise ValueError(f"no consistency proof from a tree of {old_size} leaves to one of {n}")

    def subproof(m: int, start: int, end: int, complete: bool) -> list[bytes]:
        # SUBPROOF(m, D[start:end], b): ``complete`` is b, "this subtree's root is one the old tree had".
        size = end - start
        if m == size:
            return [] if complete else [_subtree_root(leaf_hashes, start, end)]
        k = _split(size)
        if m <= k:
            return subproof(m, start, start + k, complete) + [_subtree_root(leaf_hashes, start + k, end)]
        return subproof(m - k, start + k, end, False) + [_subtree_root(leaf_hashes, start, start + k)]

    return subproof(old_size, 0, n, True)


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _all_bytes(*values: object) -> bool:
    return all(isinstance(v, (bytes, bytearray)) for v in values)


def _all_hashes(values: Sequence[object]) -> bool:
    return all(isinstance(v, (bytes, bytearray)) and len(v) == 32 for v in values)


def verify_inclusion(index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` lead from ``leaf_hash`` at ``index`` to ``root`` of a tree of ``tree_size``?

    False (never an exception) for anything malformed: out-of-range index, wrong types, too few or too many nodes.
    """
    try:
        path = list(proof)
    except TypeError:
        return False
    # Every node and leaf hash is a SHA-256 (as transparency-dev/merkle checks the leaf's); the root need only
    # compare equal.
    if not (_is_index(index) and _is_index(tree_size) and _all_hashes([leaf_hash, *path]) and _all_bytes(root)):
        return False
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in path:
        if sn == 0:  # the path is longer than this tree is deep
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:  # levels where this node had no right sibling: it was carried up
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (``old_size``, ``old_root``) a prefix of (``new_size``, ``new_root``)?

    Equal sizes need an empty proof and equal roots; ``old_size`` 0 is refused (see :func:`consistency_proof`).
    False, never an exception, for malformed input.
    """
    try:
        path = list(proof)
    except TypeError:
        return False
    if not (_is_index(old_size) and _is_index(new_size) and _all_hashes(path) and _all_bytes(old_root, new_root)):
        return False
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if not path:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree, left out of the proof
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
