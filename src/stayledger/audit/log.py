"""Audit entries: what one operation did, sealed into a hash chain and an RFC 6962 Merkle tree.

An entry holds no personal data (no names, birth dates or document numbers), only ids and counts, so erasing a
person never rewrites the log. Each entry is stored as its canonical JSON (RFC 8785); its hash is the Merkle
leaf hash of those bytes, and each entry names the hash of the one before it. Editing, removing, inserting or
reordering stored entries breaks the chain; removing the newest entries is caught by a signed checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

import orjson
import rfc8785

from stayledger.audit.merkle import Frontier, leaf_hash

GENESIS = "0" * 64  # the "previous hash" of the first entry

# Objects an entry may reference: identifiers and counts, never names, dates of birth or document numbers.
ObjectValue = str | int | bool | None | list[str]
# The objects naming the persons and events an entry is about: its subjects, indexed beside the log so that a
# traveller's access log is read by them instead of by a scan of every entry (which took longer the longer the
# log, and far longer for a record found than for a miss: its time told a guesser the details were right).
SUBJECT_KEYS = ("person_id", "person_ids", "event_ids", "confirmed_by")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One operation before it is sealed (the store gives it a sequence number, time and chain link)."""

    action: str
    actor: str
    role: str
    outcome: str  # "ok", "refused: …", "not_found", "error: ErrorType", "interrupted"
    purpose: str | None = None
    case_ref: str | None = None
    request_id: str | None = None
    objects: Mapping[str, ObjectValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SealedEntry:
    seq: int
    text: str  # canonical JSON (RFC 8785)
    hash: str  # hex SHA-256 Merkle leaf hash of the text's UTF-8 bytes


@dataclass(frozen=True, slots=True)
class TreeHead:
    tree_size: int
    root_hash: str  # hex
    frontier: str  # Frontier.to_json(): lets the next append continue the tree without reading every entry


def subjects_of(objects: Mapping[str, object]) -> list[str]:
    """The persons and events an entry's ``objects`` name (sorted, each once): what the subject index holds for it."""
    found: set[str] = set()
    for key in SUBJECT_KEYS:
        value = objects.get(key)
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))
    return sorted(found)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware (UTC)")
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def seal(
    records: Sequence[AuditRecord], *, last_seq: int, last_hash: str, frontier: Frontier, at: datetime
) -> tuple[list[SealedEntry], TreeHead]:
    """Number, time-stamp and chain ``records`` after entry ``last_seq``; extend ``frontier`` in place."""
    sealed: list[SealedEntry] = []
    previous = last_hash
    stamp = _timestamp(at)
    for offset, record in enumerate(records, start=1):
        document: dict[str, Any] = {
            "seq": last_seq + offset,
            "at": stamp,
            "actor": record.actor,
            "role": record.role,
            "action": record.action,
            "purpose": record.purpose,
            "case_ref": record.case_ref,
            "request_id": record.request_id,
            "objects": dict(record.objects),
            "outcome": record.outcome,
            "prev": previous,
        }
        text = rfc8785.dumps(document).decode("utf-8")
        digest = leaf_hash(text.encode("utf-8"))
        frontier.append(digest)
        previous = digest.hex()
        sealed.append(SealedEntry(last_seq + offset, text, previous))
    return sealed, TreeHead(frontier.size, frontier.root().hex(), frontier.to_json())


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a log: ``ok``, or the first entry (or tree head) that fails and why."""

    entries: int
    root_hash: str
    ok: bool = True
    failed_seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "entries": self.entries, "root_hash": self.root_hash,
                "failed_seq": self.failed_seq, "problem": self.problem}


def verify_entries(
    rows: Iterable[tuple[int, str, str]],
    heads: Iterable[tuple[int, str]] = (),
    *,
    checkpoint: tuple[int, bytes] | None = None,
    indexed: Callable[[int], Sequence[str]] | None = None,
) -> Verification:
    """Check stored ``(seq, text, hash)`` rows in stored order, the stored tree heads and a trusted checkpoint.

    Entries must be numbered 1, 2, … in order, each text must hash to its stored hash, and each must name
    the previous entry's hash. Every stored tree head, and the checkpoint's (size, root), must be the Merkle
    root of the entries up to its size. ``indexed``: what the stored subject index holds for an entry (by seq); it
    must be exactly the subjects the entry's objects name (a row removed would hide an access from the traveller's
    access log, which is read through the index).
    """
    wanted: dict[int, list[str]] = {}
    for size, root in heads:
        wanted.setdefault(int(size), []).append(root)
    if checkpoint is not None:
        wanted.setdefault(checkpoint[0], []).append(checkpoint[1].hex())
    frontier = Frontier()
    expected_seq = 1
    previous = GENESIS

    def fail(seq: int | None, problem: str) -> Verification:
        return Verification(frontier.size, frontier.root().hex(), False, seq, problem)

    def heads_at(size: int) -> Verification | None:
        roots = wanted.pop(size, ())
        if roots and any(r != frontier.root().hex() for r in roots):
            source = "the checkpoint" if checkpoint is not None and checkpoint[0] == size else "a stored tree head"
            return fail(size, f"the first {size} entries do not match {source} (root {roots[0][:16]}…): "
                              "an entry up to here was altered")
        return None

    problem = heads_at(0)
    if problem:
        return problem
    misindexed: int | None = None
    for seq, text, stored_hash in rows:
        if seq != expected_seq:
            what = "missing (removed)" if seq > expected_seq else "stored twice or out of order"
            return fail(expected_seq, f"entry {expected_seq} is {what}: found seq {seq} in its place")
        digest = leaf_hash(text.encode("utf-8"))
        if digest.hex() != stored_hash:
            return fail(seq, f"entry {seq} was altered: its content does not match its hash")
        try:
            document = orjson.loads(text)
            claimed_seq, claimed_prev = document["seq"], document["prev"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return fail(seq, f"entry {seq} is not a well-formed audit entry")
        if claimed_seq != seq:
            return fail(seq, f"entry {seq} says it is entry {claimed_seq}: entries were reordered or renumbered")
        if claimed_prev != previous:
            return fail(seq, f"entry {seq} does not follow entry {seq - 1}: an entry before it was altered, "
                             "removed or inserted")
        objects = document.get("objects")
        if (indexed is not None and misindexed is None
                and sorted(indexed(seq)) != subjects_of(objects if isinstance(objects, dict) else {})):
            misindexed = seq  # told after the log itself is found intact: a broken chain says more
        frontier.append(digest)
        previous = stored_hash
        expected_seq += 1
        problem = heads_at(seq)
        if problem:
            return problem
    if wanted:
        size = min(wanted)
        source = "the checkpoint" if checkpoint is not None and checkpoint[0] == size else "a stored tree head"
        missing = f"entry {size}" if size == frontier.size + 1 else f"entries {frontier.size + 1}–{size}"
        return fail(frontier.size + 1, f"the log has {frontier.size} entries but {source} covers {size}: "
                                        f"{missing} removed")
    if misindexed is not None:
        return fail(misindexed, f"the subject index of entry {misindexed} does not match the entry: a traveller's "
                                "access log would show the wrong accesses")
    return Verification(frontier.size, frontier.root().hex())


def parse_entry(text: str) -> dict[str, object]:
    """A stored entry as a dictionary (the canonical JSON is the authority, not any index column)."""
    document = orjson.loads(text)
    if not isinstance(document, dict):
        raise ValueError("not an audit entry")
    return document
