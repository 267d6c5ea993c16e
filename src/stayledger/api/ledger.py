"""The service's one ledger, shared by every request: reads beside each other, writes in turn, posts together.

- A read runs on a reader connection of its own (when the backend has them), beside other reads and the writes.
  The answer is released only once its audit entries are committed (an answer never leaves without its entry).
  They are handed to an audit thread with a store of its own that appends audit entries beside the writer's work
  (``store.audit_appender()``: PostgreSQL, whose locks order the audit chain; DuckDB, a second connection that
  shares the chain's end and takes turns at it), so a lookup waits at most for a group's commit (a group takes the
  audit chain last), not for its linking. That thread commits the entries of the reads waiting at the same moment
  together: one turn of the chain and one commit for all of them (each reader committing its own held the chain
  through every round trip, and the lookups queued on it). A backend without one hands them to the writer.
- Every write runs on one writer thread, one after the other, as the embedded database has one writer.
- Posted events and audit entries waiting at the same moment are committed together, as one unit of work (group
  commit): sixteen carriers posting one event each cost one append, one linking pass and one commit, not sixteen.
  If such a group fails, each of its parts is run again on its own, so one caller's failure is nobody else's.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from stayledger.audit.log import AuditRecord
from stayledger.domain.access import AccessContext
from stayledger.storage.base import EventStore
from stayledger.usecases.audit import Signer

if TYPE_CHECKING:
    from stayledger.api.oidc import OidcVerifier
    from stayledger.usecases.ingest import RecordedEvents

T = TypeVar("T")
TOKEN_CACHE_SECONDS = 60.0
GROUP_LIMIT = 64  # jobs committed together at most: bounds the wait of the first of them
# Writes after which what they added to the live linker is frozen too: at a million events each full pass over it
# grew by about 0.8 ms a second under 130 posts/s, so it is frozen again long before the passes stall requests.
REFREEZE_AFTER_WRITES = 5_000
_STOP = object()
_log = logging.getLogger("stayledger.service")


class DeferredAudit:
    """A reader store whose audit appends are kept for the writer (the rest is the reader's own)."""

    def __init__(self, reader: EventStore) -> None:
        self._reader = reader
        self.pending: list[AuditRecord] = []

    def append_audit(self, records: list[AuditRecord]) -> list[Any]:
        self.pending.extend(records)
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


@dataclass
class _Job:
    future: Future = field(default_factory=Future)
    groupable: bool = False


@dataclass
class _Call(_Job):
    work: Callable[[EventStore], Any] | None = None


@dataclass
class _Audit(_Job):
    records: list[AuditRecord] = field(default_factory=list)
    groupable: bool = True


@dataclass
class _Post(_Job):
    ctx: AccessContext | None = None
    origin: str = "api"
    records: list[object] = field(default_factory=list)
    groupable: bool = True


class Ledger:
    """The one store of this process and the threads around it (see the module's docstring)."""

    def __init__(self, store: EventStore, signer: Signer | None, oidc: "OidcVerifier | None" = None, *,
                 pack: str = "us", today: Callable[[], date] = date.today) -> None:
        from stayledger.usecases.resolve import LiveLinker

        self.store = store
        self.signer = signer
        self.oidc = oidc
        self.pack = pack
        self.today = today
        self.live = LiveLinker()  # posted events link against it; rebuilt when the ledger changed under it
        self._tokens: dict[str, tuple[float, str, str]] = {}  # sha256(token) -> (checked at, name, role)
        self._readers: queue.SimpleQueue[EventStore] = queue.SimpleQueue()
        first = store.reader()
        self.concurrent_reads = first is not None
        if first is not None:
            self._readers.put(first)
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None  # started by the first write, again after close()
        self._writer_lock = threading.Lock()
        self._audits: queue.SimpleQueue[Any] = queue.SimpleQueue()  # reads' entries, for the audit thread
        self._auditor: threading.Thread | None = None
        self._audit_store = store.audit_appender()  # None: reads' entries go to the writer
        self._frozen_build = 0  # the live linker's build last kept out of the garbage collector's passes
        self._writes_since_freeze = 0
        self.groups = 0  # the writer's groups committed, and the jobs in them (figures for tests and benchmarks)
        self.grouped_jobs = 0

    # --- what the routes call --------------------------------------------------------------
    def run(self, work: Callable[[EventStore], T]) -> T:
        """A write (or a read that may write, e.g. resolve first): alone, in turn, on the writer."""
        job = _Call(work=work)
        self._submit(job)
        return job.future.result()

    def read(self, work: Callable[[EventStore], T]) -> T:
        """A read beside other requests; it returns only once its audit entries are committed."""
        if not self.concurrent_reads:
            return self.run(work)
        try:
            reader = self._readers.get_nowait()
        except queue.Empty:
            made = self.store.reader()
            assert made is not None
            reader = made
        deferred = DeferredAudit(reader)
        try:
            result = work(deferred)  # type: ignore[arg-type]  # an EventStore in all but its audit appends
        except BaseException:
            self._readers.put(reader)
            self._commit_audit(deferred.pending)  # refusals and failures are logged too
            raise
        self._readers.put(reader)
        self._commit_audit(deferred.pending)
        return result

    def post(self, ctx: AccessContext, origin: str, records: list[object]) -> "RecordedEvents":
        """Record a caller's events, possibly together with other callers' waiting at the same moment."""
        job = _Post(ctx=ctx, origin=origin, records=records)
        self._submit(job)
        return job.future.result()  # type: ignore[no-any-return]

    def _commit_audit(self, records: list[AuditRecord]) -> None:
        if not records:
            return
        job = _Audit(records=records)
        if self._audit_store is not None:
            self._submit_audit(job)  # committed beside the writer's groups, together with other reads' entries
        else:
            self._submit(job)
        job.future.result()

    def warm_up(self) -> None:
        """Build the live linker before the first carrier posts (at 1M events this takes seconds)."""
        from stayledger.usecases.resolve import unresolved_count

        def build(store: EventStore) -> None:
            if store.latest_model() is not None and unresolved_count(store) == 0:
                self.live.rebuild(store)

        self.run(build)

    def _keep_linker_out_of_collections(self, jobs: int = 1) -> None:
        """Keep the live linker out of the garbage collector's full passes (``gc.freeze``), after each build and
        again every ``REFREEZE_AFTER_WRITES`` writes (each post adds to it). Its millions of long-lived objects
        (index, persons, histories) were walked by every full pass, which collected nothing and stalled every
        request of the process for 300–400 ms at a million events. Reference counting still frees frozen objects;
        after a new build the former one's, cycles included, are unfrozen and collected here. Runs on the writer
        (which alone rebuilds), after each job and before its answer (a warm-up returns with the linker frozen)."""
        if threading.current_thread() is not self._writer:
            return  # the audit thread's groups add nothing to the linker
        self._writes_since_freeze += jobs
        if self.live.builds != self._frozen_build:
            self._frozen_build = self.live.builds
            gc.unfreeze()
        elif self._writes_since_freeze < REFREEZE_AFTER_WRITES:
            return
        self._writes_since_freeze = 0
        gc.collect()
        gc.freeze()

    def close(self) -> None:
        """Stop the writer and the audit thread once the jobs before this call are done (a later one starts them)."""
        with self._writer_lock:
            if self._writer is not None:
                self._jobs.put(_STOP)
                self._writer.join()
                self._writer = None
            if self._auditor is not None:
                self._audits.put(_STOP)
                self._auditor.join()
                self._auditor = None

    def _submit(self, job: _Job) -> None:
        with self._writer_lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="stayledger-writer", daemon=True)
                self._writer.start()
            self._jobs.put(job)

    def _submit_audit(self, job: _Audit) -> None:
        with self._writer_lock:
            if self._auditor is None:
                self._auditor = threading.Thread(target=self._audit_loop, name="stayledger-auditor", daemon=True)
                self._auditor.start()
            self._audits.put(job)

    # --- callers ---------------------------------------------------------------------------
    def caller(self, token: str) -> tuple[str, str] | None:
        """(name, role) of the account a token belongs to; a verified token is remembered for a minute."""
        from stayledger.usecases.users import authenticate

        if not token.startswith("slt_") and self.oidc is not None:
            return self.oidc.caller(token)  # a JWT: verified on every request (cheap: a signature check)
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._tokens.get(key)
        if cached and time.monotonic() - cached[0] < TOKEN_CACHE_SECONDS:
            return cached[1], cached[2]
        user = self.read(lambda store: authenticate(store, token))
        if user is None:
            return None
        self._tokens[key] = (time.monotonic(), user.name, user.role)
        return user.name, user.role

    def forget_tokens(self) -> None:
        self._tokens.clear()

    # --- the writer ------------------------------------------------------------------------
    def _write_loop(self) -> None:
        carried: Any = None
        while True:
            job = carried if carried is not None else self._jobs.get()
            carried = None
            if job is _STOP:
                return
            if not job.groupable:
                self._alone(job)
                continue
            group = [job]
            while len(group) < GROUP_LIMIT:
                try:
                    waiting = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if waiting is _STOP or not waiting.groupable:
                    carried = waiting
                    break
                group.append(waiting)
            if self.store.concurrent_writers and any(isinstance(waiting, _Post) for waiting in group):
                self._catch_up()  # (an embedded store's only writer is this thread: nothing to catch up with)
            try:
                if len(group) == 1:
                    self._alone(job)
                else:
                    self._together(group)
            except Exception as exc:  # a bug here must not leave callers waiting for ever
                _log.exception("the writer failed")
                for waiting in group:
                    if not waiting.future.done():
                        waiting.future.set_exception(exc)

    def _audit_loop(self) -> None:
        """Reads' entries, those waiting at the same moment in one unit of work (beside the writer's groups)."""
        while True:
            group = [self._audits.get()]
            while group[-1] is not _STOP and len(group) < GROUP_LIMIT:
                try:
                    group.append(self._audits.get_nowait())
                except queue.Empty:
                    break
            stop = group[-1] is _STOP
            jobs = group[:-1] if stop else group
            if len(jobs) > 1:
                self._together(jobs, self._audit_store)  # a failed group is written again entry by entry
            elif jobs:
                self._alone(jobs[0], self._audit_store)
            if stop:
                return

    def _catch_up(self) -> None:
        """Take in what other workers linked before waiting for the identity lock, so that little is left to take in
        while holding it (the lock serialises every worker's linking: time spent under it is everyone's wait)."""
        try:
            self.live.valid_for(self.store)  # committed links only: safe outside the lock; checked again under it
        except Exception:  # noqa: BLE001 - a failed read here is done again, under the lock, by the post itself
            _log.debug("catching up outside the lock failed", exc_info=True)

    def _together(self, group: list[Any], store: EventStore | None = None) -> None:
        """Commit a group in one unit of work on ``store`` (the writer's, unless the audit thread gives its own)."""
        from stayledger.usecases.ingest import PostedEvents, record_posted_together

        store = store or self.store
        posts = [job for job in group if isinstance(job, _Post)]
        audits = [job for job in group if isinstance(job, _Audit)]
        if posts and audits:  # reads waiting for their entries are answered first, not after the posts' linking
            self._together(audits)
            group, audits = posts, []
        records = [record for job in audits for record in job.records]
        try:
            with store.unit_of_work():
                results = record_posted_together(
                    store, [PostedEvents(job.ctx, job.origin, job.records) for job in posts],
                    as_of=self.today(), live=self.live, pack=self.pack) if posts else []
                if records:  # after the posts: locks in one order (identities, audit) in every worker
                    store.append_audit(records)
        except BaseException as exc:  # nothing of the group was kept: each part again, on its own
            _log.warning("a group of %d writes failed (%s); writing each on its own", len(group), exc)
            for job in group:
                self._alone(job, store)
            return
        self._keep_linker_out_of_collections(len(group))  # a post may have rebuilt it (the ledger changed under it)
        if threading.current_thread() is self._writer:  # the audit thread's groups are not counted (nor raced)
            self.groups += 1
            self.grouped_jobs += len(group)
        for job in group:
            if isinstance(job, _Audit):
                job.future.set_result(None)
        for job, result in zip(posts, results):
            if isinstance(result, BaseException):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)

    def _alone(self, job: Any, store: EventStore | None = None) -> None:
        from stayledger.usecases.ingest import record_events

        try:
            if isinstance(job, _Call):
                assert job.work is not None
                result = job.work(self.store)
            elif isinstance(job, _Audit):
                result = (store or self.store).append_audit(job.records)
            else:
                assert job.ctx is not None
                result = record_events(self.store, job.ctx, job.origin, job.records, as_of=self.today(),
                                       live=self.live, pack=self.pack)
        except BaseException as exc:  # the caller's thread raises it
            self._keep_linker_out_of_collections()
            job.future.set_exception(exc)
        else:
            self._keep_linker_out_of_collections()  # before the answer: a warm-up returns with the linker frozen
            job.future.set_result(result)
