"""Use case: measure identity resolution and stay determination against ground truth files.

Ground truth comes as ``truth_identities.csv`` (event_id,person) and optionally ``truth_stays.csv``
(arrival_event_id,status,authorized_until,overstay_days), as the synthetic generator writes them.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa

from stayledger.domain.access import AccessContext, Action
from stayledger.domain.corrections import effective_events
from stayledger.domain.events import Event
from stayledger.domain.stays import StayDetermination
from stayledger.errors import StayledgerError
from stayledger.identity.evaluation import PairMetrics, metrics_by_group, pair_metrics
from stayledger.rules import get_pack
from stayledger.storage.arrow_events import table_to_events
from stayledger.storage.base import EventStore
from stayledger.usecases.accountability import operation
from stayledger.usecases.resolve import ensure_resolved


@dataclass
class StatusMetrics:
    stays: int
    matched: int  # arrivals present in both truth and determination
    correct: int
    false_overstays: int  # determined overstay, truly not
    true_overstays: int
    missed_overstays: int  # truly overstay, determined otherwise
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (truth, determined) -> count

    @property
    def accuracy(self) -> float:
        return self.correct / self.matched if self.matched else 1.0

    @property
    def false_overstay_rate(self) -> float:
        """Wrongful overstay flags per determined stay."""
        return self.false_overstays / self.matched if self.matched else 0.0

    @property
    def missed_overstay_rate(self) -> float:
        """True overstays not flagged, per true overstay."""
        return self.missed_overstays / self.true_overstays if self.true_overstays else 0.0


@dataclass
class Evaluation:
    identity: PairMetrics
    by_nationality: dict[str, PairMetrics]
    status: StatusMetrics | None
    as_of: date | None
    # The same rules on the true identities: what perfect linkage would give. Its errors are the
    # records' own (an exit nobody recorded); the rest of ``status``'s errors are linkage's.
    status_with_true_identities: StatusMetrics | None = None


def read_truth_identities(truth_dir: Path) -> dict[str, str]:
    path = truth_dir / "truth_identities.csv"
    if not path.exists():
        raise StayledgerError(f"no {path.name} in {truth_dir}: expected a file with header event_id,person")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"event_id", "person"} <= set(reader.fieldnames):
            raise StayledgerError(f"{path}: the header must contain event_id,person")
        return {row["event_id"]: row["person"] for row in reader}


def read_truth_stays(truth_dir: Path) -> dict[str, str] | None:
    path = truth_dir / "truth_stays.csv"
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["arrival_event_id"]: row["status"] for row in csv.DictReader(handle)}


def truth_as_of(truth_dir: Path) -> date | None:
    manifest = truth_dir / "manifest.json"
    if manifest.exists():
        value = json.loads(manifest.read_text(encoding="utf-8")).get("as_of")
        return date.fromisoformat(value) if value else None
    return None


def status_metrics(determinations: list[StayDetermination], truth: dict[str, str]) -> StatusMetrics:
    metrics = StatusMetrics(0, 0, 0, 0, 0, 0)
    for stay in determinations:
        metrics.stays += 1
        expected = truth.get(stay.arrival_event_id)
        if expected is None:
            continue
        got = stay.status.value
        metrics.matched += 1
        metrics.confusion[(expected, got)] += 1
        metrics.correct += expected == got
        if expected == "overstay":
            metrics.true_overstays += 1
            metrics.missed_overstays += got != "overstay"
        elif got == "overstay":
            metrics.false_overstays += 1
    return metrics


def evaluate_ledger(
    store: EventStore, ctx: AccessContext, truth_dir: Path, as_of: date | None
) -> tuple[Evaluation, list[StayDetermination] | None]:
    """Accuracy of the ledger against ground truth, and the stays it determined (for aggregate summaries).

    ``as_of`` None: identities only (no status comparison). Unresolved events are resolved first.
    """
    from stayledger.usecases.stays import determine_stays

    with operation(store, ctx, Action.EVALUATE, truth=truth_dir.name, as_of=as_of.isoformat() if as_of else None) as op:
        op.note(resolved_first=ensure_resolved(store))
        determinations = list(determine_stays(store, as_of)) if as_of else None
        evaluation = measure_accuracy(store, truth_dir, determinations, as_of)
        op.note(stays=len(determinations) if determinations is not None else None)
        return evaluation, determinations


def measure_accuracy(
    store: EventStore, truth_dir: Path, determinations: list[StayDetermination] | None, as_of: date | None
) -> Evaluation:
    """Identity pair metrics (overall and by nationality) and, when given, status accuracy."""
    truth = read_truth_identities(truth_dir)
    predicted = {a.event_id: a.person_id for a in store.identity_assignments().values()}
    nationality_of_person: dict[str, str] = {}
    events = store.events_table()
    for event_id, nationality in zip(events.column("event_id").to_pylist(), events.column("nationality").to_pylist()):
        person = truth.get(event_id)
        if person is not None:
            nationality_of_person.setdefault(person, nationality)
    status = baseline = None
    stays_truth = read_truth_stays(truth_dir)
    if determinations is not None and stays_truth is not None:
        status = status_metrics(determinations, stays_truth)
        if as_of is not None:
            baseline = status_metrics(determinations_with_true_identities(events, truth, as_of), stays_truth)
    return Evaluation(
        identity=pair_metrics(predicted, truth),
        by_nationality=metrics_by_group(predicted, truth, nationality_of_person),
        status=status,
        as_of=as_of,
        status_with_true_identities=baseline,
    )


def determinations_with_true_identities(
    events: pa.Table, truth: dict[str, str], as_of: date, *, pack: str = "us"
) -> list[StayDetermination]:
    """The rule pack on the ledger's events (``store.events_table()``) grouped by their true person
    (events without truth left out)."""
    rules = get_pack(pack)
    groups: dict[str, list[Event]] = defaultdict(list)
    for event in table_to_events(events):
        person = truth.get(event.event_id)
        if person is not None:
            groups[person].append(event)
    return [stay for person in sorted(groups) for stay in rules.determine_person_stays(person, effective_events(groups[person]), as_of)]
