"""Stay rule packs and the registry that names them.

A rule pack turns one person's events into stay determinations as of a date. Pure core: standard
library only. ``determine_all`` runs a pack over many persons, optionally across worker processes;
the per-person function stays the reference and gives the same answers.
"""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Iterable, Iterator, Mapping, Protocol, Sequence

from stayledger.domain.events import Event
from stayledger.domain.stays import StayDetermination
from stayledger.errors import ConfigurationError
from stayledger.rules import schengen, us


class DeterminePersonStays(Protocol):
    """The signature every rule pack's per-person function has."""

    def __call__(
        self,
        person_id: str,
        events: Sequence[Event],
        as_of: date,
        *,
        link_probabilities: Mapping[str, float] | None = None,
        uncertain_event_ids: frozenset[str] = frozenset(),
    ) -> list[StayDetermination]: ...


@dataclass(frozen=True, slots=True)
class RulePack:
    """A named, versioned set of stay rules."""

    name: str
    version: str
    determine_person_stays: DeterminePersonStays


_PACKS: dict[str, RulePack] = {
    us.RULE_PACK: RulePack(us.RULE_PACK, us.RULE_VERSION, us.determine_person_stays),
    schengen.RULE_PACK: RulePack(schengen.RULE_PACK, schengen.RULE_VERSION, schengen.determine_person_stays),
}


def known_packs() -> tuple[str, ...]:
    """The names of the rule packs, sorted."""
    return tuple(sorted(_PACKS))


def get_pack(name: str) -> RulePack:
    """The rule pack with this name; the error lists the known packs."""
    try:
        return _PACKS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown rule pack {name!r}; known packs: {', '.join(known_packs())} (set rule_pack to one of them)"
        ) from None


# Per-worker context, set once by the pool initializer so large mappings cross the process boundary once.
_worker_context: tuple[RulePack, date, Mapping[str, float] | None, frozenset[str]] | None = None


def _init_worker(
    pack_name: str, as_of: date, link_probabilities: Mapping[str, float] | None, uncertain: frozenset[str]
) -> None:
    global _worker_context
    _worker_context = (get_pack(pack_name), as_of, link_probabilities, uncertain)


def _determine_chunk(chunk: list[tuple[str, Sequence[Event]]]) -> list[StayDetermination]:
    assert _worker_context is not None, "worker used without _init_worker"
    pack, as_of, probabilities, uncertain = _worker_context
    return _run(pack, chunk, as_of, probabilities, uncertain)


def _run(
    pack: RulePack,
    groups: Iterable[tuple[str, Sequence[Event]]],
    as_of: date,
    probabilities: Mapping[str, float] | None,
    uncertain: frozenset[str],
) -> list[StayDetermination]:
    determine = pack.determine_person_stays
    out: list[StayDetermination] = []
    for person_id, events in groups:
        out.extend(
            determine(person_id, events, as_of, link_probabilities=probabilities, uncertain_event_ids=uncertain)
        )
    return out


def _chunks(groups: Iterable[tuple[str, Sequence[Event]]], size: int) -> Iterator[list[tuple[str, Sequence[Event]]]]:
    iterator = iter(groups)
    while chunk := list(islice(iterator, size)):
        yield chunk


def determine_all(
    groups: Iterable[tuple[str, Sequence[Event]]],
    as_of: date,
    *,
    pack: str = us.RULE_PACK,
    link_probabilities: Mapping[str, float] | None = None,
    uncertain_event_ids: frozenset[str] = frozenset(),
    workers: int = 1,
    chunk_size: int = 20_000,
) -> Iterator[StayDetermination]:
    """Determine the stays of many persons: (person_id, events) groups in, determinations out, in input order.

    With ``workers`` > 1 the groups are split into chunks and determined in that many processes; the
    answers are the same as with one. Shipping events and determinations between processes costs more
    than determining them (see benchmarks/bench_rules.py), so one worker is the faster choice unless the
    per-person work grows. ``link_probabilities`` and ``uncertain_event_ids`` are keyed by
    event id, which is unique across persons, so one mapping serves every group.
    """
    if workers < 1:
        raise ConfigurationError(f"workers must be at least 1, got {workers}")
    if chunk_size < 1:
        raise ConfigurationError(f"chunk_size must be at least 1, got {chunk_size}")
    rule_pack = get_pack(pack)
    if workers == 1:
        for chunk in _chunks(groups, chunk_size):
            yield from _run(rule_pack, chunk, as_of, link_probabilities, uncertain_event_ids)
        return
    with ProcessPoolExecutor(
        max_workers=workers,
        initializer=_init_worker,
        initargs=(pack, as_of, link_probabilities, uncertain_event_ids),
    ) as pool:
        # Submit a bounded number of chunks ahead so memory stays flat on large inputs.
        pending: list[Future[list[StayDetermination]]] = []
        for chunk in _chunks(groups, chunk_size):
            pending.append(pool.submit(_determine_chunk, chunk))
            if len(pending) >= workers * 2:
                yield from pending.pop(0).result()
        for future in pending:
            yield from future.result()
