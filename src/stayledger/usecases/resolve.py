"""Use case: resolve identities — which events are the same person — and keep person ids stable.

The linkage model (Splink) is trained on the store's own data the first time there is enough of it, and
versioned in the store. With too little data, deterministic keys stand in and the report says so.
By default a run is incremental: new events are linked to existing persons (document-key fast path, then
probabilistic scoring of candidates). ``full`` re-links everything; person ids survive either way.
Review decisions are constraints every run respects: accepted pairs must link, rejected pairs never do.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from stayledger.bulk_objects import cycle_collector_paused
from stayledger.domain.access import AccessContext, Action
from stayledger.failpoints import failpoint
from stayledger.domain.events import Event
from stayledger.identity.deterministic import document_key, key_pairs
from stayledger.identity.person_ids import assign_person_ids
from stayledger.storage.arrow_events import table_to_events
from stayledger.storage.base import EventStore, IdentityAssignment, ResolutionRun, ReviewItem
from stayledger.usecases.accountability import operation
from stayledger.worker_processes import worker_pool

if TYPE_CHECKING:  # the linkage engine (Splink) is imported only when linking runs
    from stayledger.identity.engine import LinkageEngine
    from stayledger.identity.clustering import IdentityKeys
    from stayledger.identity.model import LinkageModel

MATCH_THRESHOLD = 0.9  # a link at or above this joins two events
GREY_ZONE = (0.5, 0.9)  # links in [low, high) that confident evidence does not settle go to clerical review
INCREMENTAL_SHARE = 0.2  # more new events than this share of the ledger: re-link everything instead


@dataclass
class ResolveReport:
    method: str
    events: int
    persons: int
    merges: int
    splits: int
    run_id: int
    model_version: int | None = None
    queued_for_review: int = 0
    notes: list[str] = field(default_factory=list)
    # Where the Splink work ran: "duckdb" (in process), or "spark (MASTER)" for the steps listed in ``engine_steps``.
    engine: str = "duckdb"
    engine_steps: tuple[str, ...] = ()


def unresolved_count(store: EventStore) -> int:
    """Events in the ledger that no resolution run has assigned to a person yet."""
    return store.event_count() - store.identity_count()


def review_constraints(store: EventStore, events: pa.Table) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(must_link, cannot_link) pairs: review decisions, corrections and admission references."""
    must: list[tuple[str, str]] = []
    cannot: list[tuple[str, str]] = []
    for item in store.review_items():
        if item.status == "accepted":
            must.append((item.event_id_l, item.event_id_r))
        elif item.status == "rejected":
            cannot.append((item.event_id_l, item.event_id_r))
    for column in ("corrects", "admission_ref"):
        # A correction is the same person as what it corrects; a status change as the arrival it concerns.
        mask = pc.is_valid(events.column(column))
        subset = events.filter(mask).select(["event_id", column])
        # Targets known to the ledger (looked up in Arrow: a set of ten million ids would cost a gigabyte).
        subset = subset.filter(pc.is_in(subset.column(1), value_set=events.column("event_id").combine_chunks()))
        must.extend(zip(subset.column(0).to_pylist(), subset.column(1).to_pylist()))
    cannot_set = {frozenset(p) for p in cannot}
    must = [p for p in must if frozenset(p) not in cannot_set]
    return must, cannot


def _load_or_train_model(
    store: EventStore, events: pa.Table, train: bool, notes: list[str], engine: LinkageEngine | None = None,
    features: list[pa.Table] | None = None,
) -> tuple[int | None, LinkageModel | None]:
    """The latest model, or one trained now; ``features`` receives the feature table when training built it
    (linking reuses it instead of building it again)."""
    from stayledger.identity.model import LinkageModel, ModelTrainingError
    from stayledger.identity.model_spec import TOO_SMALL_TO_TRAIN
    from stayledger.identity.training import train_model
    from stayledger.identity.features import build_features

    latest = store.latest_model()
    if latest is not None and not train:
        return latest[0], LinkageModel.from_json(latest[1])
    if events.num_rows < TOO_SMALL_TO_TRAIN:
        notes.append(
            f"{events.num_rows} events are too few to train a linkage model (needs {TOO_SMALL_TO_TRAIN}): "
            "linked by exact document-number + nationality keys instead"
        )
        return None, None
    logging.getLogger("splink").setLevel(logging.ERROR)
    try:
        built = build_features(events)
        if features is not None:
            features.append(built)
        model = train_model(built, trained_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), engine=engine)
    except ModelTrainingError as exc:
        notes.append(f"could not train a linkage model ({exc}): linked by deterministic keys instead")
        return None, None
    version = store.save_model(model.to_json(), f"trained on {events.num_rows} events")
    notes.append(f"{'re' if latest else ''}trained linkage model version {version} on {events.num_rows:,} events")
    unseen = model.metadata.get("levels_without_evidence") or []
    if unseen:
        notes.append(f"{len(unseen)} comparison levels never occurred in training and weigh nothing either way: " + "; ".join(unseen))
    return version, model


def resolve_identities(
    store: EventStore, ctx: AccessContext, *, full: bool = False, train: bool = False, engine: LinkageEngine | None = None
) -> ResolveReport:
    """Cluster events into persons and store the assignment with stable person ids.

    ``engine`` runs training and batch (full or first-time) linking: the in-process DuckDB engine unless told
    (``identity.engines.engine_named``); incremental linking always runs in process. The audit entry names the
    engine and the steps it ran.
    The model, the identities, the identity changes and the review items of a run commit together (with the
    run's audit entry): an interrupted run leaves the previous resolution as it was.
    """
    engine_name = engine.name if engine is not None else "duckdb"
    with operation(store, ctx, Action.RESOLVE_IDENTITIES, full=full, train=train, engine=engine_name) as op:
        report = relink(store, full=full, train=train, engine=engine)
        op.note(method=report.method, events=report.events, persons=report.persons, merges=report.merges,
                splits=report.splits, queued_for_review=report.queued_for_review,
                engine=report.engine, engine_steps=list(report.engine_steps))
        return report


def ensure_resolved(store: EventStore) -> int:
    """Resolve events no run has assigned yet (a step of other operations, in their unit of work); how many."""
    pending = unresolved_count(store)
    if pending:
        relink(store)
    return pending


def relink(store: EventStore, *, full: bool = False, train: bool = False, engine: LinkageEngine | None = None) -> ResolveReport:
    """The resolution itself, without its own policy check or audit entry: a step inside another operation.

    ``engine`` (default: DuckDB in process) trains the model and scores a batch; incremental linking, one event
    at a time, runs in process whatever the engine (see ``RealtimeLinker``)."""
    notes: list[str] = []
    steps: list[str] = []  # the steps the given engine ran
    store.lock_identities()  # concurrent writers (PostgreSQL): one linker at a time sees and writes identities
    events = store.events_table()
    store.release_read_memory()
    previous_assignments = store.identity_assignments()
    previous = {a.event_id: a.person_id for a in previous_assignments.values()}
    ids = events.column("event_id")
    event_count = events.num_rows
    new_count = event_count - (pc.sum(pc.is_in(ids, value_set=pa.array(list(previous), pa.string()))).as_py() or 0 if previous else 0)
    if not new_count and not full and not train:
        persons = len(set(previous.values()))
        return ResolveReport("unchanged", events.num_rows, persons, 0, 0, 0, notes=["nothing new to resolve"])

    before = store.latest_model()
    built: list[pa.Table] = []
    model_version, model = _load_or_train_model(store, events, train, notes, engine, built)
    freshly_trained = model_version is not None and (before is None or before[0] != model_version)
    if freshly_trained:
        steps.append("training")
    must, cannot = review_constraints(store, events)
    probabilities: dict[str, float | None] = {}
    grey: list[ReviewItem] = []
    if model is None:
        method = "deterministic-keys"
        cluster_of = _cluster_deterministically(events, must, cannot)
    elif previous and not full and not freshly_trained and new_count <= INCREMENTAL_SHARE * events.num_rows:
        method = "splink-incremental"
        new_ids = [e for e in ids.to_pylist() if e not in previous]
        cluster_of, probabilities, grey = _link_incrementally(events, new_ids, previous_assignments, model, must, cannot)
        notes.append(f"linked {len(new_ids):,} new events to existing persons (use --full to re-link everything)")
        if engine is not None and engine.name != "duckdb":
            notes.append("incremental linking runs in process (DuckDB) whatever the engine; --full links the batch on "
                         f"{engine.name}")
    else:
        from stayledger.identity.features import build_features
        from stayledger.identity.linking import cluster_batch, score_batch

        method = "splink"
        features = built.pop() if built else build_features(events)
        # From here the batch needs only its features, and clustering not even those: at ten million events
        # each table is gigabytes.
        del events
        _return_freed_arrow_memory()
        scored = score_batch(features, model, threshold=min(GREY_ZONE[0], MATCH_THRESHOLD), engine=engine)
        del features
        _return_freed_arrow_memory()
        # A large batch's clustering runs half its ordered pass in a worker process (started only if needed).
        with worker_pool(1) as pool:
            result = cluster_batch(scored, match_threshold=MATCH_THRESHOLD, grey_zone=GREY_ZONE, must_link=must,
                                   cannot_link=cannot, executor=pool)
        del scored
        steps.append("batch prediction")
        cluster_of = result.cluster_of
        probabilities = result.joining_probability
        grey = _review_items(result.grey_pairs)
        if result.questioned_pairs is not None:
            grey += _review_items(result.questioned_pairs)
        del result  # its links

    # Positions settle ties between parts of a previous person: without previous persons there are none to settle.
    order = {event_id: i for i, event_id in enumerate(ids.to_pylist())} if previous else None
    reason = f"{method} run" + (f" (model v{model_version})" if model_version else "")
    with cycle_collector_paused():  # a person's events and an assignment per event: millions of objects
        assignment = assign_person_ids(cluster_of, previous, reason=reason, order=order)
        assignments = [IdentityAssignment(e, p, probabilities.get(e)) for e, p in assignment.person_of.items()]
    merges = sum(1 for c in assignment.changes if c.change == "merge")
    splits = len(assignment.changes) - merges
    persons = len(set(assignment.person_of.values()))
    run = ResolutionRun(method, str(model_version) if model_version else None, event_count, persons, merges, splits)
    with store.unit_of_work():
        run_id = store.replace_identities(assignments, assignment.changes, run)
        failpoint("resolve.identities_written")
        queued = store.add_review_items(one_question_per_person_pair(grey, assignment.person_of, store.review_items()))
    if queued:
        notes.append(f"{queued} uncertain links queued for clerical review (`stayledger review list`)")
    where = engine_description(engine)
    if steps and engine is not None and engine.name != "duckdb":
        notes.append(f"{' and '.join(steps)} ran on {where}; clustering, person ids and review routing in this process")
    return ResolveReport(method, event_count, persons, merges, splits, run_id, model_version, queued, notes,
                         engine=where if steps else "duckdb", engine_steps=tuple(steps))


def _return_freed_arrow_memory() -> None:
    """Arrow's allocator keeps what a step freed for reuse: about 3 GB after ten million events' features. A batch
    job gives it back between its steps; the service's paths do not (it would cost every request)."""
    pa.default_memory_pool().release_unused()


def engine_description(engine: LinkageEngine | None) -> str:
    """"duckdb", or the engine's name with where it runs ("spark (local[2])")."""
    if engine is None or engine.name == "duckdb":
        return "duckdb"
    master = getattr(engine, "master", None)
    return f"{engine.name} ({master})" if master else engine.name


def one_question_per_person_pair(
    grey: list[ReviewItem], person_of: dict[str, str], existing: list[ReviewItem]
) -> list[ReviewItem]:
    """The strongest grey link per pair of persons, unless that pair of persons is already in the queue.

    A reviewer decides whether two persons are one; two persons with four events each would
    otherwise ask the same question sixteen times. A decision on any of their event pairs answers it
    (a rejection is a cannot-link that keeps the two persons apart), so a pair of persons that has
    an open or decided item gets no other.
    """

    def persons(item: ReviewItem) -> frozenset[str] | None:
        left, right = person_of.get(item.event_id_l), person_of.get(item.event_id_r)
        return None if left is None or right is None else frozenset((left, right))

    asked = {key for item in existing if (key := persons(item)) is not None}
    chosen: list[ReviewItem] = []
    for item in sorted(grey, key=lambda i: (-i.match_probability, i.event_id_l, i.event_id_r)):
        key = persons(item)
        if key is None or key not in asked:
            chosen.append(item)
            if key is not None:
                asked.add(key)
    return chosen


def _cluster_deterministically(
    events: pa.Table, must: list[tuple[str, str]], cannot: list[tuple[str, str]]
) -> dict[str, str]:
    """Exact keys as links, clustered under the same review constraints as probabilistic links."""
    from stayledger.identity.clustering import cluster_links

    ids, pairs = key_pairs(table_to_events(events))
    links = pa.table(
        {
            "event_id_l": pa.array([a for a, _ in pairs], pa.string()),
            "event_id_r": pa.array([b for _, b in pairs], pa.string()),
            "match_probability": pa.array([1.0] * len(pairs), pa.float64()),
        }
    )
    return cluster_links(ids, links, match_threshold=1.0, must_link=must, cannot_link=cannot).cluster_of


def _review_items(grey_pairs: pa.Table) -> list[ReviewItem]:
    rows = zip(*(grey_pairs.column(c).to_pylist() for c in ("event_id_l", "event_id_r", "match_probability")))
    return [ReviewItem(left, right, probability) for left, right, probability in rows]


def _link_incrementally(
    events: pa.Table,
    new_ids: list[str],
    previous: dict[str, IdentityAssignment],
    model: LinkageModel,
    must: Iterable[tuple[str, str]],
    cannot: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, float | None], list[ReviewItem]]:
    """Link each new event to an existing (or earlier new) person, one event at a time."""
    new_set = set(new_ids)
    linker = RealtimeLinker(events.filter(pc.invert(pc.is_in(events.column("event_id"), pa.array(new_ids, pa.string())))),
                            previous, model, must, cannot)
    for event in table_to_events(events.filter(pc.is_in(events.column("event_id"), pa.array(new_ids, pa.string())))):
        if event.event_id in new_set:
            linker.link(event)
    return linker.cluster_of, linker.probabilities, linker.grey


@dataclass
class _Prepared:
    """One event's part of ``RealtimeLinker.prepare``."""

    event: Event
    probe: pa.Table  # its features (one row)
    keys: tuple  # its blocking keys on the side of a new event
    resolved_keys: tuple  # and on the side of a resolved one (for the events linked after it)
    scores: list[tuple[str, float]] | None  # against the index's candidates, strongest first; None: not scored ahead
    uses: IdentityKeys  # its identity keys, for the document-history check of each join


@dataclass
class PreparedLinks:
    """Work done ahead for ``RealtimeLinker.link_all``; valid only with the linker that made it."""

    linker: RealtimeLinker
    events: list[Event] = field(default_factory=list)  # the events prepared, in order
    of: dict[str, _Prepared] = field(default_factory=dict)


class RealtimeLinker:
    """Links new events one at a time against resolved ones: held in memory, so each link is fast.

    Deterministic fast path first (a must-link decision, or the same OCR-normalised document and
    nationality); otherwise the model scores the candidates that the batch blocking rules would pair with
    the event. A score at or above MATCH_THRESHOLD joins the best candidate's person; grey-zone scores are
    queued for review. A new event that joins nobody starts a new person.
    Document histories weigh as in the batch guard: a join (fast path or scored) that would make one issuer's
    numbers alternate in the person's history is refused (the next candidate's person may take the event);
    on thin evidence (one of the numbers seen once) it is kept and queued for review.
    """

    def __init__(
        self,
        resolved: pa.Table,
        assignments: dict[str, IdentityAssignment],
        model: LinkageModel,
        must: Iterable[tuple[str, str]] = (),
        cannot: Iterable[tuple[str, str]] = (),
        new_person: Callable[[str], str] | None = None,
        engine: LinkageEngine | None = None,
    ) -> None:
        from stayledger.identity.features import build_features

        self._new_person = new_person or (lambda event_id: f"new:{event_id}")
        from stayledger.identity.engine import RecentEvents
        from stayledger.identity.engines import default_engine
        from stayledger.identity.linking import DocumentHistories

        self.model = model
        self._engine = engine or default_engine()
        self.cluster_of: dict[str, str] = {e: a.person_id for e, a in assignments.items()}
        self.probabilities: dict[str, float | None] = {e: a.link_probability for e, a in assignments.items()}
        self.grey: list[ReviewItem] = []
        from stayledger.identity.features import discount_documents, shared_documents_of

        features = build_features(resolved)
        # Numbers given with several unrelated identities (or known placeholders) join nobody.
        self._shared = shared_documents_of(features) | model.shared_documents
        features = discount_documents(features, self._shared)
        self._index = self._engine.candidate_index(features, model)
        # The batch guard's document-history evidence, for each join one event at a time.
        self._histories = DocumentHistories(features, self.cluster_of)
        self._recent = RecentEvents(self._index)  # events linked since the index was built
        self._forced: dict[str, list[str]] = defaultdict(list)
        for a, b in must:
            self._forced[a].append(b)
            self._forced[b].append(a)
        self._forbidden = {frozenset(p) for p in cannot}
        self._by_doc: dict[str, str] = {}
        # The fast path's keys: numbers that count (the features keep them: not shared, placeholder or copied).
        with_docs = resolved.filter(pc.is_valid(features.column("doc_ocr"))).select(["event_id", "document_number", "nationality"])
        for event_id, number, nationality in zip(*(c.to_pylist() for c in with_docs.columns)):
            if event_id in self.cluster_of:
                self._by_doc.setdefault(f"{document_key(number)}:{nationality}", self.cluster_of[event_id])

    def link(self, event: Event) -> tuple[str, float | None]:
        """The person (or new cluster key) the event joins, and the probability of the joining link."""
        return self.link_all([event])[0]

    def prepare(self, events: list[Event]) -> PreparedLinks:
        """What linking these events needs that nothing linked meanwhile can change, computed ahead (before the
        identity lock): features, blocking keys, and the scores against the index's resolved events (fixed until a
        rebuild) of each event the fast paths would not take as things stand. ``link_all`` re-checks under the lock
        and scores there only what is new since (events linked meanwhile, by this group or another worker)."""
        return self._prepare(events, score_ahead=True)

    def _prepare(self, events: list[Event], *, score_ahead: bool) -> PreparedLinks:
        from stayledger.identity.features import build_features, discount_documents
        from stayledger.identity.linking import identity_keys_of
        from stayledger.identity.pair_scores import score_candidates_of_each
        from stayledger.storage.arrow_events import events_to_table

        prepared = PreparedLinks(self, list(events))
        if not events:
            return prepared
        probes = discount_documents(build_features(events_to_table(events)), self._shared)
        probe_keys = self._index.probe_keys_of_each(probes)
        resolved_keys = self._index.resolved_keys_of_each(probes)
        uses_of = identity_keys_of(probes)
        ahead = [i for i, event in enumerate(events)
                 if score_ahead and self._fast_person(event, probes.slice(i, 1), uses_of[event.event_id]) is None]
        scores = dict(zip(ahead, score_candidates_of_each(
            probes.take(pa.array(ahead, pa.int64())),
            [self._index.candidates_for(probes.slice(i, 1), probe_keys[i]) for i in ahead],
            self.model, engine=self._engine))) if ahead else {}
        for i, event in enumerate(events):
            prepared.of[event.event_id] = _Prepared(event, probes.slice(i, 1), probe_keys[i], resolved_keys[i],
                                                    scores.get(i), uses_of[event.event_id])
        return prepared

    def link_all(self, events: list[Event], prepared: PreparedLinks | None = None) -> list[tuple[str, float | None]]:
        """``link`` for each event in turn (a later one may join an earlier one), with what does not depend on
        the others (features, blocking keys) computed for all of them at once: one query, not two per event.
        ``prepared``: from ``prepare`` (by this linker, for these very events), so that little is left to do here;
        otherwise it is not used."""
        if not events:
            return []
        # Only for exactly these events: features depend on the rows built together (a number several travellers'
        # records of one day carry is discounted on all of them), so another set may give other features.
        usable = prepared is not None and prepared.linker is self and prepared.events == events
        ready = prepared.of if usable and prepared is not None else self._prepare(events, score_ahead=False).of
        return [self._link_one(ready[event.event_id]) for event in events]

    def _fast_person(self, event: Event, probe: pa.Table, uses: object) -> str | None:
        """The person a must-link decision or the document fast path gives the event, if any (no scoring)."""
        person = next((self.cluster_of[o] for o in self._forced.get(event.event_id, ()) if o in self.cluster_of), None)
        if person is None:
            doc = self._doc_key(event, probe)
            fast = self._by_doc.get(doc) if doc is not None else None
            if fast is not None and self._histories.conflict(fast, uses) is None:  # type: ignore[arg-type]
                return fast
        return person

    @staticmethod
    def _doc_key(event: Event, probe: pa.Table) -> str | None:
        """The fast path's key of the event, when its number counts (its features keep it: not shared, a
        placeholder or copied)."""
        counts = event.document_number is not None and probe.column("doc_ocr")[0].as_py() is not None
        return f"{document_key(event.document_number)}:{event.nationality}" if counts else None

    def _link_one(self, ready: _Prepared) -> tuple[str, float | None]:
        from stayledger.identity.clustering import THIN_HISTORY
        from stayledger.identity.pair_scores import score_candidates

        low, high = GREY_ZONE
        event, probe, keys, resolved_keys, uses = ready.event, ready.probe, ready.keys, ready.resolved_keys, ready.uses
        event_id = event.event_id
        person = next((self.cluster_of[o] for o in self._forced.get(event_id, ()) if o in self.cluster_of), None)
        probability: float | None = 1.0 if person else None
        doc = self._doc_key(event, probe)
        if person is None and doc is not None:
            fast = self._by_doc.get(doc)  # deterministic fast path, unless the person's document history objects
            if fast is not None and self._histories.conflict(fast, uses) is None:
                person = fast
        if person is None:
            refused: set[str] = set()  # persons the document history keeps this event out of
            recent = self._recent.candidates_for(keys)
            if ready.scores is None:  # not scored ahead: the index's candidates too, now
                candidates = self._index.candidates_for(probe, keys)
                if recent:
                    candidates = pa.concat_tables([candidates, *(r.select(candidates.column_names) for r in recent)])
                scored = score_candidates(probe, candidates, self.model, engine=self._engine)
            else:  # the index's scored ahead; those linked since are scored here (a pair's score is its own)
                scored = list(ready.scores)
                if recent:
                    scored += score_candidates(probe, pa.concat_tables(recent), self.model, engine=self._engine)
                    scored.sort(key=lambda item: (-item[1], item[0]))
            for other, p in scored:
                if frozenset((event_id, other)) in self._forbidden or p < low:
                    continue
                if p >= MATCH_THRESHOLD and person is None:
                    candidate = self.cluster_of[other]
                    conflict = None if candidate in refused else self._histories.conflict(candidate, uses)
                    if candidate in refused or (conflict is not None and conflict != THIN_HISTORY):
                        refused.add(candidate)  # two people, each on their own passport: as the batch guard refuses
                        continue
                    person, probability = candidate, p
                    if conflict == THIN_HISTORY:  # kept, and a reviewer confirms or splits (as in batch)
                        self.grey.append(ReviewItem(*sorted((event_id, other)), p))
                elif p < high:
                    left, right = sorted((event_id, other))
                    self.grey.append(ReviewItem(left, right, p))
        chosen = person or self._new_person(event_id)
        self.cluster_of[event_id] = chosen
        self.probabilities[event_id] = probability
        self._recent.add(probe, resolved_keys)
        self._histories.add(chosen, uses)
        if doc is not None:
            self._by_doc.setdefault(doc, chosen)
        return chosen, probability

    def add_linked(self, events: pa.Table, persons: dict[str, IdentityAssignment]) -> None:
        """Take in events another process linked (their persons given): later events can join them."""
        from stayledger.identity.features import build_features, discount_documents
        from stayledger.identity.linking import identity_keys_of

        events = events.filter(pc.is_in(events.column("event_id"), pa.array(list(persons), pa.string())))
        if not events.num_rows:
            return
        features = discount_documents(build_features(events), self._shared)
        keys = self._index.resolved_keys_of_each(features)  # one query for all of them
        uses = identity_keys_of(features)
        for row, event in enumerate(table_to_events(events)):
            person = persons[event.event_id].person_id
            self.cluster_of[event.event_id] = person
            self.probabilities[event.event_id] = persons[event.event_id].link_probability
            self._recent.add(features.slice(row, 1), keys[row])
            self._histories.add(person, uses[event.event_id])  # their documents weigh in later joins too
            if event.document_number is not None and features.column("doc_ocr")[row].as_py() is not None:
                self._by_doc.setdefault(f"{document_key(event.document_number)}:{event.nationality}", person)


class LiveLinker:
    """The service's linker, kept between requests: a posted event is linked in milliseconds instead of re-reading
    and re-writing every identity of the ledger.

    Several service processes may serve one ledger (PostgreSQL), each with a linker of its own. Before linking,
    under the identity lock, a linker catches up: events appended since the position it last saw (``events_after``)
    that another process linked are added to it, so it sees their persons and never starts a second person for a
    traveller another worker has just linked. It must be rebuilt (the caller resolves first) when a resolution run
    happened since (a full run, a review decision and an erasure each make one) or an event arrived that nobody
    linked (a correction, a traveller's report, a bulk ingest). New persons get their ids as a run would give them
    (``mint_person_id``).
    """

    def __init__(self) -> None:
        self._linker: RealtimeLinker | None = None
        self._run = -1
        self._position = -1  # append position of the newest event this linker knows
        self._taken: set[str] = set()
        self.builds = 0  # how many times it was built (a long-running caller may act on each new build)

    def valid_for(self, store: EventStore) -> bool:
        """Whether it can link for ``store`` now: the same run, and every event since its position linked (and taken in)."""
        if self._linker is None:
            return False
        run, position = store.run_and_position()
        if run != self._run:
            return False
        if position == self._position:
            return True  # the usual case: nothing appended by anyone else (one statement, two cheap index reads)
        newer, position = store.events_after(self._position)
        ids = newer.column("event_id").to_pylist()
        linked = store.assignments_for(ids)
        if any(e not in linked and e not in self._linker.cluster_of for e in ids):
            return False  # appended without a link: resolve, then rebuild
        self._linker.add_linked(newer, {e: a for e, a in linked.items() if e not in self._linker.cluster_of})
        self._taken.update(a.person_id for a in linked.values())
        self._position = position
        return True

    def invalidate(self) -> None:
        self._run = -1

    def rebuild(self, store: EventStore) -> bool:
        """Build from the (resolved) ledger; False when there is no trained model to link with."""
        from stayledger.identity.person_ids import mint_person_id
        from stayledger.identity.model import LinkageModel

        latest = store.latest_model()
        if latest is None:
            self._linker = None
            return False
        position = store.event_position()  # before the read: an event appended meanwhile is caught up later
        events = store.events_table()
        assignments = store.identity_assignments()
        must, cannot = review_constraints(store, events)
        resolved = events.filter(pc.is_in(events.column("event_id"), pa.array(list(assignments), pa.string())))
        self._taken = {a.person_id for a in assignments.values()}

        def new_person(event_id: str) -> str:
            person = mint_person_id(event_id, self._taken)
            self._taken.add(person)
            return person

        self._linker = RealtimeLinker(resolved, assignments, LinkageModel.from_json(latest[1]), must, cannot, new_person)
        self._linker.model.compiled()  # the model's weights, read through Splink once (~0.3 s) now, not by a post
        self._run, self._position = store.latest_run(), position
        self.builds += 1
        return True

    def prepare(self, events: list[Event]) -> PreparedLinks | None:
        """Link-time work done ahead, outside the identity lock (see ``RealtimeLinker.prepare``): the lock serialises
        every worker's linking, so time spent under it is everyone's wait. None when there is no linker yet."""
        return self._linker.prepare(events) if self._linker is not None else None

    def link(self, store: EventStore, events: list[Event], appended: int, *, all_new: bool = False,
             prepared: PreparedLinks | None = None) -> dict[str, IdentityAssignment]:
        """Link events just appended (``appended`` of them new to the ledger; ``all_new``: every one of them, none a
        duplicate); store their identities and questions. Returns every given event's assignment (the new ones and
        those linked before). ``prepared``: from ``prepare`` (ignored when the linker was rebuilt since)."""
        assert self._linker is not None
        grey_before = len(self._linker.grey)
        # An event new to the ledger has no identity yet: only a duplicate of an earlier one may have one.
        known = {} if all_new else store.assignments_for(e.event_id for e in events)
        assignments = []
        fresh = [event for event in events if event.event_id not in known]  # the rest were linked before
        for event, (person, probability) in zip(fresh, self._linker.link_all(fresh, prepared)):
            assignments.append(IdentityAssignment(event.event_id, person, probability))
        store.add_identities(assignments)
        grey = self._linker.grey[grey_before:]
        if grey:
            involved = {e for item in grey for e in (item.event_id_l, item.event_id_r)}
            person_of = {e: self._linker.cluster_of[e] for e in involved if e in self._linker.cluster_of}
            store.add_review_items(one_question_per_person_pair(grey, person_of, store.review_items()))
        if appended:
            self._position = store.event_position()  # ours: appends take turns until our commit
        linked = {a.event_id: a for a in reversed(assignments)}  # an id given twice: its first, as stored
        return {**known, **linked}
