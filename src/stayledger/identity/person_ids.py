"""Stable person ids: an id, once given, survives later runs while its events stay together.

Pure core. Given this run's clusters and last run's assignments, keep each old id on the cluster that holds
most of its events, record merges (two old persons now one) and splits (one old person now several), and
mint new ids only for clusters that inherit none.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Mapping

from stayledger.storage.base import IdentityChange


@dataclass(frozen=True, slots=True)
class PersonIdAssignment:
    person_of: dict[str, str]  # event_id -> person_id
    changes: list[IdentityChange]


def mint_person_id(seed_event_id: str, taken: set[str]) -> str:
    """A new opaque id derived from the cluster's first event id (deterministic, reveals nothing)."""
    digest = hashlib.blake2b(seed_event_id.encode("utf-8"), digest_size=6).hexdigest().upper()
    candidate, n = f"P{digest}", 1
    while candidate in taken:
        n += 1
        candidate = f"P{digest}-{n}"
    return candidate


def assign_person_ids(
    cluster_of: Mapping[str, str],
    previous: Mapping[str, str],
    reason: str,
    order: Mapping[str, int] | None = None,
) -> PersonIdAssignment:
    """Map clusters (event_id -> cluster key) onto person ids, reusing ``previous`` (event_id -> person_id).

    ``order`` (event_id -> position in the ledger) settles ties: when a person splits into equal parts, the
    part holding the person's earliest-recorded event keeps the id.
    """
    members: dict[str, list[str]] = defaultdict(list)
    for event_id, cluster in cluster_of.items():
        members[cluster].append(event_id)

    # Candidate claims: (old person, cluster) with how many of the old person's events sit in that cluster.
    claims: Counter[tuple[str, str]] = Counter()
    for event_id, cluster in cluster_of.items():
        old = previous.get(event_id)
        if old is not None:
            claims[(old, cluster)] += 1
    position = order or {}
    claimed = {cluster for _, cluster in claims}  # only claimed clusters are ordered (a first run has none)
    first_seen = {c: min(position.get(e, len(position)) for e in members[c]) for c in claimed}
    # Biggest claims first; ties go to the part recorded first, then by ids, so the result is deterministic.
    ordered = sorted(claims.items(), key=lambda item: (-item[1], item[0][0], first_seen[item[0][1]], item[0][1]))
    id_of_cluster: dict[str, str] = {}
    cluster_of_old: dict[str, str] = {}
    for (old, cluster), _count in ordered:
        if cluster in id_of_cluster or old in cluster_of_old:
            continue
        id_of_cluster[cluster] = old
        cluster_of_old[old] = cluster

    taken = set(previous.values()) | set(id_of_cluster.values())
    for cluster in sorted(members, key=lambda c: min(members[c])):
        if cluster not in id_of_cluster:
            new_id = mint_person_id(min(members[cluster]), taken)
            taken.add(new_id)
            id_of_cluster[cluster] = new_id

    changes: list[IdentityChange] = []
    for (old, cluster), count in sorted(claims.items()):
        kept = id_of_cluster[cluster]
        if kept == old:
            continue
        if cluster_of_old.get(old) is None:
            # The old person's events all went into clusters that kept another id: merged away.
            changes.append(IdentityChange("merge", kept, old, count, reason))
        else:
            changes.append(IdentityChange("split", old, kept, count, reason))
    person_of = {event_id: id_of_cluster[cluster] for event_id, cluster in cluster_of.items()}
    return PersonIdAssignment(person_of, changes)
