"""Clustering's ordered pass in two shares, one in a worker process (as ``resolve`` runs a large batch): the shares
cross a process boundary and come back to the result of one pass."""

from __future__ import annotations

import random
from unittest import mock

import pyarrow as pa

from stayledger.identity import clustering
from stayledger.identity.clustering import IdentityKeys, cluster_links, document_format
from stayledger.worker_processes import worker_pool

SURNAMES = ["SMITH", "GARCIA", "NGUYEN", "KOWALSKI", "OKAFOR"]


def _batch(travellers: int, seed: int) -> tuple[list[str], pa.Table, dict[str, IdentityKeys]]:
    """Travellers with a few records each: mostly alike, with typos, renewals and namesakes' links among them."""
    rng = random.Random(seed)
    keys: dict[str, IdentityKeys] = {}
    left: list[str] = []
    right: list[str] = []
    probabilities: list[float] = []
    for t in range(travellers):
        number = f"P{rng.randrange(10**6, 10**7)}"
        born = f"19{rng.randrange(50, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}"
        surname = rng.choice(SURNAMES)
        records = [f"T{t:04d}R{r}" for r in range(rng.randrange(1, 6))]
        for r, event_id in enumerate(records):
            document, dob = number, born
            if rng.random() < 0.2:
                document = number[:-1] + str(rng.randrange(10))  # a typo, or a relative's number
            if rng.random() < 0.1:
                dob = born[:8] + "2" + born[9]
            keys[event_id] = IdentityKeys(document, dob, surname, "GBR", f"2024-0{r + 1}-01", document_format(document))
        for a, b in zip(records, records[1:]):
            left.append(a)
            right.append(b)
            probabilities.append(rng.choice([0.92, 0.95, 0.99, 0.999]))
        if t and rng.random() < 0.3:  # a namesake's record scored against this traveller's
            left.append(records[0])
            right.append(f"T{rng.randrange(t):04d}R0")
            probabilities.append(rng.choice([0.91, 0.95]))
    links = pa.table({"event_id_l": left, "event_id_r": right, "match_probability": pa.array(probabilities, pa.float64())})
    return list(keys), links, keys


def test_a_share_clustered_in_a_worker_process_gives_the_one_pass_result() -> None:
    ids, links, keys = _batch(400, seed=3)
    one = cluster_links(ids, links, match_threshold=0.9, identity_keys=keys)
    with worker_pool(1) as pool, mock.patch.object(clustering, "ORDERED_PASS_SHARE_LINKS", 0), \
            mock.patch.object(pool, "submit", wraps=pool.submit) as submit:
        two = cluster_links(ids, links, match_threshold=0.9, identity_keys=keys, executor=pool)
    assert submit.call_count == 1
    assert one.refused, "the batch should give the guard something to refuse"
    assert two.cluster_of == one.cluster_of
    assert two.joining_probability == one.joining_probability
    assert two.refused == one.refused
    assert two.questioned == one.questioned
