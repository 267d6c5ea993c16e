"""The Merkle tree against published RFC 6962 test vectors, and its proofs as properties."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given, settings

from stayledger.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# The 8-leaf data set of the certificate-transparency test suites, as published in transparency-dev/merkle
# (testonly/constants.go: LeafInputs, RootHashes, inclusion and consistency proofs).
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                      "606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {  # (leaf index, tree size): audit path
    (0, 1): [],
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}
CONSISTENCY = {  # (old size, new size): proof
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}
HASHES = [leaf_hash(leaf) for leaf in LEAVES]


def test_roots_of_every_size_match_the_published_vectors():
    assert EMPTY_ROOT.hex() == ROOTS[0]
    for size in range(9):
        assert root_from_leaf_hashes(HASHES[:size]).hex() == ROOTS[size]
        assert Frontier.from_leaf_hashes(HASHES[:size]).root().hex() == ROOTS[size]


def test_inclusion_proofs_match_and_verify():
    for (index, size), path in INCLUSION.items():
        assert [h.hex() for h in inclusion_proof(index, HASHES[:size])] == path
        assert verify_inclusion(index, size, HASHES[index], [bytes.fromhex(h) for h in path], bytes.fromhex(ROOTS[size]))


def test_consistency_proofs_match_and_verify():
    for (old, new), proof in CONSISTENCY.items():
        assert [h.hex() for h in consistency_proof(old, HASHES[:new])] == proof
        assert verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), [bytes.fromhex(h) for h in proof])


def test_malformed_proofs_are_refused_not_raised():
    root = bytes.fromhex(ROOTS[8])
    path = inclusion_proof(5, HASHES)
    assert not verify_inclusion(5, 8, HASHES[5], path[:-1], root)  # a node missing
    assert not verify_inclusion(5, 8, HASHES[5], [*path, path[0]], root)  # a node too many
    assert not verify_inclusion(8, 8, HASHES[5], path, root)  # index outside the tree
    assert not verify_inclusion(-1, 8, HASHES[5], path, root)
    assert not verify_consistency(6, 8, bytes.fromhex(ROOTS[6]), root, [])
    assert not verify_consistency(9, 8, root, root, [])


leaf_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=70)


@settings(max_examples=60, deadline=None)
@given(leaf_lists, st.data())
def test_every_inclusion_proof_verifies_and_only_for_its_own_leaf(leaves, data):
    hashes = [leaf_hash(leaf) for leaf in leaves]
    root = root_from_leaf_hashes(hashes)
    index = data.draw(st.integers(0, len(hashes) - 1))
    path = inclusion_proof(index, hashes)
    assert verify_inclusion(index, len(hashes), hashes[index], path, root)
    assert not verify_inclusion(index, len(hashes), leaf_hash(leaves[index] + b"!"), path, root)
    assert not verify_inclusion(index, len(hashes), hashes[index], path, leaf_hash(b"another root"))
    if len(hashes) > 1:
        other = data.draw(st.integers(0, len(hashes) - 1).filter(lambda i: i != index))
        if hashes[other] != hashes[index]:
            assert not verify_inclusion(other, len(hashes), hashes[index], path, root)


@settings(max_examples=60, deadline=None)
@given(leaf_lists, st.data())
def test_every_consistency_proof_verifies_and_fails_for_a_rewritten_past(leaves, data):
    hashes = [leaf_hash(leaf) for leaf in leaves]
    old = data.draw(st.integers(1, len(hashes)))
    proof = consistency_proof(old, hashes)
    old_root, new_root = root_from_leaf_hashes(hashes[:old]), root_from_leaf_hashes(hashes)
    assert verify_consistency(old, len(hashes), old_root, new_root, proof)
    rewritten = root_from_leaf_hashes([leaf_hash(b"forged"), *hashes[1:old]])
    assert not verify_consistency(old, len(hashes), rewritten, new_root, proof)


@settings(max_examples=40, deadline=None)
@given(leaf_lists)
def test_the_frontier_gives_the_root_at_every_size_and_survives_json(leaves):
    hashes = [leaf_hash(leaf) for leaf in leaves]
    frontier = Frontier()
    for size, digest in enumerate(hashes, start=1):
        frontier.append(digest)
        assert frontier.root() == root_from_leaf_hashes(hashes[:size])
        again = Frontier.from_json(frontier.to_json())
        assert (again.size, again.root()) == (frontier.size, frontier.root())
