"""The HTTP service: a thin layer that authenticates the caller, builds the access context and calls a use case.

Every route but the health check needs a bearer token (`stayledger users add`). The policy and the audit log are
the use cases' own, so a route can neither skip the policy nor an audit entry. Errors are RFC 9457 problem
details. Reads run beside each other; writes run in turn; posted events are committed in groups (`api/ledger.py`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
import tempfile
import time
import uuid
from contextlib import asynccontextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from stayledger.domain.access import AccessContext, AccessDenied, PurposeRequired, Role
from stayledger.errors import InvalidRecord, NotFound, ParseError, StayledgerError
from stayledger.storage.base import EventStore
from stayledger.api.answer_floor import AnswerFloor
from stayledger.api.ledger import Ledger
from stayledger.usecases.audit import Signer

if TYPE_CHECKING:
    from stayledger.api.oidc import OidcVerifier

PROBLEM = "application/problem+json"


T = TypeVar("T")


class Problem(Exception):
    """An RFC 9457 problem: status, a short title, a detail naming what to fix."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def _problem_response(status: int, title: str, detail: str, request: Request) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    body = {"type": f"urn:stayledger:problem:{slug}", "title": title, "status": status, "detail": detail,
            "instance": request.url.path}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _status_of(exc: StayledgerError) -> tuple[int, str]:
    if isinstance(exc, PurposeRequired):
        return 422, "Purpose required"
    if isinstance(exc, AccessDenied):
        return 403, "Forbidden"
    if isinstance(exc, NotFound):
        return 404, "Not found"
    if isinstance(exc, (InvalidRecord, ParseError)):
        return 422, "Invalid input"
    return 400, "Refused"


def item_id(left: str, right: str) -> str:
    """A review item's id in URLs: the pair of event ids, base64url without padding."""
    return base64.urlsafe_b64encode(f"{left}\n{right}".encode()).decode().rstrip("=")


def pair_of(item: str) -> tuple[str, str]:
    try:
        left, right = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4)).decode().split("\n")
    except ValueError:
        raise Problem(404, "Not found", f"no review item {item!r}") from None
    return left, right


class Decision(BaseModel):
    decision: str = Field(pattern="^(accept|reject)$")
    note: str | None = Field(default=None, max_length=2000)


class CorrectionRequest(BaseModel):
    event_id: str = Field(min_length=1, max_length=128)
    set: dict[str, str] = Field(min_length=1)
    source: str = Field(default="officer", min_length=1, max_length=64)


class TravellerIn(BaseModel):
    """Who the traveller is, as their passport says (compared exactly, but for O/0, I/1, case and accents)."""

    model_config = {"extra": "forbid"}
    document_number: str = Field(min_length=1, max_length=32)
    document_issuer: str = Field(min_length=3, max_length=3)
    date_of_birth: str = Field(pattern=r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")
    surname: str = Field(min_length=1, max_length=100)

    def identity(self) -> Any:
        from stayledger.usecases.traveller import TravellerIdentity

        return TravellerIdentity(self.document_number, self.document_issuer, self.date_of_birth, self.surname)


class DepartureIn(TravellerIn):
    departed_on: date
    port: str | None = Field(default=None, max_length=5)
    carrier: str | None = Field(default=None, max_length=3)


class CorrectionIn(TravellerIn):
    field: str = Field(min_length=1, max_length=40)
    claimed_value: str = Field(min_length=1, max_length=200)
    explanation: str = Field(min_length=3, max_length=2000)


class CaseDecision(BaseModel):
    decision: str = Field(pattern="^(accept|reject)$")
    reasons: str = Field(min_length=3, max_length=2000)


class NewUser(BaseModel):
    name: str = Field(min_length=2, max_length=64)
    role: str


def create_app(
    store: EventStore, signer: Signer | None = None, *, per_client: int = 30, per_document: int = 10, window: float = 300.0,
    traveller_floor: float = 0.025, oidc: "OidcVerifier | None" = None, pack: str = "us", close_store: bool = False,
) -> FastAPI:
    """The service over ``store`` (opened by the caller, closed by the caller after the app stops, or by the app
    itself with ``close_store``).

    Traveller self-service is limited to ``per_client`` requests per address and ``per_document`` per document
    number in ``window`` seconds (429 beyond), so that guessing someone's details is slow. A traveller lookup
    answers no sooner than a floor, found or not: a record found takes longer to show, and the time must not tell a
    guesser that the number and surname were right. The floor follows how long found lookups take (answer_floor.py),
    never under ``traveller_floor`` seconds.
    """
    from stayledger.rules import get_pack

    get_pack(pack)  # an unknown pack is refused at start, naming the known ones
    def today() -> date:
        return datetime.now(timezone.utc).date()

    ledger = Ledger(store, signer, oidc, pack=pack, today=today)
    floor = AnswerFloor(traveller_floor)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(ledger.warm_up)
        yield
        ledger.close()
        if close_store:
            store.close()

    app = FastAPI(title="stayledger", version="1", description=__doc__, lifespan=lifespan)
    shared = store.shared_state()  # rate limits and console sessions: in the database when workers share it
    app.state.ledger, app.state.shared = ledger, shared

    @app.exception_handler(Problem)
    def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return _problem_response(exc.status, exc.title, exc.detail, request)

    @app.exception_handler(StayledgerError)
    def on_error(request: Request, exc: StayledgerError) -> JSONResponse:
        status, title = _status_of(exc)
        return _problem_response(status, title, str(exc), request)

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _problem_response(422, "Invalid input", detail, request)

    def context(request: Request, purpose: str | None = Query(None, max_length=500),
                case_ref: str | None = Query(None, max_length=200)) -> AccessContext:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(401, "Unauthorized", "send Authorization: Bearer <token> (`stayledger users add`)")
        found = ledger.caller(token.strip())
        if found is None:
            raise Problem(401, "Unauthorized", "the token is not valid (wrong, or revoked)")
        name, role = found
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        return AccessContext(name, Role(role), purpose, case_ref, request_id=request_id[:100])

    @app.get("/v1/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/events", tags=["ingest"])
    async def post_events(request: Request, ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        """A JSON array of canonical events, or `application/x-ndjson`. Valid events are kept when others are refused."""
        records = _records_of(await request.body(), request.headers.get("content-type", ""))
        result = await run_in_threadpool(ledger.post, ctx, "api", records)
        return {
            "accepted": result.accepted, "duplicates": result.duplicates,
            "quarantined": [{"index": int(where.split()[1]), "event_id": e, "reasons": r} for where, e, r in result.quarantined],
            "persons": result.persons,
            "stays": {p: [_stay(s) for s in stays] for p, stays in result.stays.items()},
        }

    @app.post("/v1/manifests", tags=["ingest"])
    async def post_manifest(request: Request, format: str = Query(pattern="^paxlst$"),
                            country: str = Query(min_length=3, max_length=3),
                            ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        """A UN/EDIFACT PAXLST interchange as the body: travellers leaving ``country`` become departures, linked at once."""
        from stayledger.usecases.ingest import record_manifest

        from stayledger.usecases.ingest import decode_interchange

        text, _ = decode_interchange(await request.body())
        result = await run_in_threadpool(ledger.run, lambda store: record_manifest(store, ctx, "api-manifest", text, country, as_of=today(),
                                                          live=ledger.live, pack=pack))
        return {
            "accepted": result.accepted, "duplicates": result.duplicates,
            "quarantined": [{"location": where, "event_id": e, "reasons": r} for where, e, r in result.quarantined],
            "persons": result.persons, "notes": result.notes,
        }

    @app.get("/v1/persons/{person_id}", tags=["officers"])
    def get_person(person_id: str, as_of: date | None = None, ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.lookup import look_up_person

        view = ledger.read(lambda store: look_up_person(store, ctx, person_id, as_of or today(), pack=pack))
        return {
            "person_id": view.person_id,
            "events": [{**event.to_record(), "link_probability": p, "superseded": event.event_id in view.superseded}
                       for event, p in view.events],
            "stays": [_stay(s) for s in view.stays],
            "near_misses": {arrival: [{"event_id": m.event_id, "kind": m.kind, "occurred_on": m.occurred_on.isoformat(),
                                       "probability": m.probability, "against": list(m.against)} for m in misses]
                            for arrival, misses in view.near_misses.items()},
        }

    @app.get("/v1/persons", tags=["officers"])
    def find_persons(document_number: str = Query(min_length=1, max_length=64),
                     document_issuer: str | None = Query(None, max_length=3),
                     ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.lookup import find_persons_by_document

        return {"person_ids": ledger.read(lambda store: find_persons_by_document(store, ctx, document_number, document_issuer))}

    @app.get("/v1/review", tags=["review"])
    def review_items(status: str = Query("open", pattern="^(open|accepted|rejected|all)$"),
                     ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.review import list_review

        items = ledger.read(lambda store: list_review(store, ctx, None if status == "all" else status))
        return {"items": [_item(i) for i in items]}

    @app.get("/v1/review/{item}", tags=["review"])
    def review_item(item: str, ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.review import show_review

        left, right = pair_of(item)
        view = ledger.read(lambda store: show_review(store, ctx, left, right))
        return {
            "item_id": item, "left": view.left.to_record(), "right": view.right.to_record(),
            "same_person": view.same_person, "status": view.item.status if view.item else None,
            "history": [{"status": d.status, "decided_by": d.decided_by, "note": d.note,
                         "decided_at": d.decided_at.isoformat()} for d in view.history],
            "comparisons": [{"name": c.name, "level": c.level, "match_weight": c.match_weight}
                            for c in view.explanation.comparisons] if view.explanation else [],
        }

    @app.post("/v1/review/{item}/decision", tags=["review"])
    def decide_item(item: str, body: Decision, ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.review import decide

        left, right = pair_of(item)
        decided = ledger.run(lambda store: decide(store, ctx, left, right, accept=body.decision == "accept", note=body.note))
        return _item(decided)

    @app.post("/v1/corrections", tags=["officers"], status_code=201)
    def post_correction(body: CorrectionRequest, ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.correct import record_correction

        event = ledger.run(lambda store: record_correction(store, ctx, body.event_id, body.set, source=body.source))
        return {"event_id": event.event_id, "corrects": body.event_id}

    @app.get("/v1/reports/overstays", tags=["analysts"])
    def overstays(fiscal_year: int = Query(ge=2, le=9999), as_of: date | None = None,
                  format: str = Query("json", pattern="^(json|csv)$"), ctx: AccessContext = Depends(context)) -> Response:
        from stayledger.reports.render import overstay_csv
        from stayledger.usecases.report import report_overstays

        report = ledger.run(lambda store: report_overstays(store, ctx, fiscal_year, as_of or today(), pack=pack))
        if format == "csv":
            return Response(overstay_csv(report), media_type="text/csv")
        return JSONResponse(jsonable_encoder(report))

    @app.get("/v1/audit", tags=["auditors"])
    def audit_entries(since: datetime | None = None, actor: str | None = None,
                      limit: int = Query(1000, ge=1, le=100_000), ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.audit import list_audit

        moment = since.replace(tzinfo=timezone.utc) if since and since.tzinfo is None else since
        return {"entries": ledger.read(lambda store: list_audit(store, ctx, since=moment, actor=actor, limit=limit))}

    @app.get("/v1/audit/verify", tags=["auditors"])
    def audit_verify(ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.audit import verify_audit

        return ledger.read(lambda store: verify_audit(store, ctx)).as_dict()

    @app.get("/v1/audit/checkpoint", tags=["auditors"])
    def audit_checkpoint(ctx: AccessContext = Depends(context)) -> Response:
        from stayledger.usecases.audit import checkpoint_audit

        if ledger.signer is None:
            raise Problem(503, "Unavailable", "the service was started without an audit signing key")
        signer = ledger.signer
        return Response(ledger.read(lambda store: checkpoint_audit(store, ctx, signer)), media_type="text/plain")

    @app.get("/v1/exports/{kind}", tags=["admin"])
    def export(kind: str, as_of: date | None = None, ctx: AccessContext = Depends(context)) -> FileResponse:
        """An admin's audited backup: `events` (JSON Lines), `identities` or `stays` (CSV). Purpose required."""
        from stayledger.usecases import export as exports

        out = Path(tempfile.mkdtemp(prefix="stayledger-export-")) / f"{kind}.{'jsonl' if kind == 'events' else 'csv'}"
        calls: dict[str, Callable[[EventStore], int]] = {
            "events": lambda store: exports.export_events(store, ctx, out),
            "identities": lambda store: exports.export_identities(store, ctx, out),
            "stays": lambda store: exports.export_stays(store, ctx, as_of or today(), out, pack=pack),
        }
        if kind not in calls:
            raise Problem(404, "Not found", f"no export {kind!r} (events, identities, stays)")
        try:
            ledger.run(calls[kind])
        except BaseException:
            shutil.rmtree(out.parent, ignore_errors=True)
            raise
        # The file holds personal data: it is removed as soon as it has been sent.
        return FileResponse(out, filename=out.name, background=BackgroundTask(shutil.rmtree, out.parent, True))

    def traveller(request: Request) -> AccessContext:
        limit_traveller(request)
        return traveller_context(request)

    def traveller_context(request: Request) -> AccessContext:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        return AccessContext("traveller-self-service", Role.TRAVELLER, "own record", request_id=request_id[:100])

    def limit_traveller(request: Request, document_number: str | None = None) -> None:
        """The limit per address, then (given a number) the one per document: a document's count is not spent
        by a request its address's limit refused."""
        client = f"client:{request.client.host if request.client else 'unknown'}"
        limits = [(client, per_client)]
        if document_number is not None:
            limits.append((document_key(document_number), per_document))
        refused = shared.allow_each(limits, window)
        if refused == client:
            raise Problem(429, "Too many requests", "too many requests from this address; try again in a few minutes")
        if refused is not None:
            raise Problem(429, "Too many requests", "too many requests about this document; try again later")

    def limit_document(number: str) -> None:
        if not shared.allow(document_key(number), per_document, window):
            raise Problem(429, "Too many requests", "too many requests about this document; try again later")

    def document_key(number: str) -> str:
        from stayledger.identity.normalise import ocr_canonical

        return f"document:{hashlib.sha256(ocr_canonical(number).encode()).hexdigest()}"

    async def answer_no_sooner(started: float, found: bool) -> None:
        """Wait out the traveller floor: found or not, the answer takes as long (a found lookup's time moves the floor,
        see answer_floor.py). The wait holds no thread (travellers waiting it out would otherwise fill the thread
        pool that every other request needs)."""
        took = time.monotonic() - started
        if found:
            floor.found_took(took)
        await asyncio.sleep(max(0.0, floor.seconds() - took))

    def identified_read(request: Request, number: str, work: Callable[[AccessContext, EventStore], T]) -> tuple[float, T]:
        """A lookup by the traveller's own identity on one worker thread: the limits per address and per document,
        then the read; (when the read began, its result). The floor runs from when the read began: what comes
        before it is the same whoever is asked about. (The address's limit as a dependency cost a second hand-off
        to a thread, and under load each hand-off waits to be scheduled: 3 ms at the median, 15 ms at p99.)"""
        limit_traveller(request, number)  # both limits, one statement where they are kept in the database
        ctx = traveller_context(request)
        began = time.monotonic()
        return began, ledger.read(lambda store: work(ctx, store))

    @app.post("/v1/traveller/status", tags=["travellers"])
    async def traveller_status(body: TravellerIn, request: Request) -> dict[str, Any]:
        """Your stays and how many days remain. A miss and a mismatch give the same answer: check what you typed."""
        from stayledger.usecases.traveller import check_stay

        began, (found, stays, window) = await run_in_threadpool(
            identified_read, request, body.document_number,
            lambda ctx, store: check_stay(store, ctx, body.identity(), today(), pack))
        await answer_no_sooner(began, found)
        answer: dict[str, Any] = {"found": found, "stays": [vars(s) for s in stays]}
        if pack == "schengen":
            answer["schengen"] = vars(window) if window else None  # the same keys whether found or not
        return answer

    @app.post("/v1/traveller/departures", tags=["travellers"], status_code=201)
    def traveller_departure(body: DepartureIn, ctx: AccessContext = Depends(traveller)) -> dict[str, Any]:
        """Report your own departure: you get a signed receipt; a carrier's record of the flight confirms it."""
        from stayledger.usecases.traveller import report_departure

        if ledger.signer is None:
            raise Problem(503, "Unavailable", "the service was started without a signing key")
        if body.departed_on > today():
            raise Problem(422, "Invalid input", "departed_on: a departure can be reported once it has happened")
        limit_document(body.document_number)
        signer = ledger.signer
        receipt = ledger.run(lambda store: report_departure(store, ctx, body.identity(), body.departed_on, signer,
                                                            port=body.port, carrier=body.carrier))
        return {**receipt, "status": "reported"}

    @app.get("/v1/traveller/receipts/{receipt_id}", tags=["travellers"])
    def traveller_receipt(receipt_id: str, ctx: AccessContext = Depends(traveller)) -> dict[str, str]:
        from stayledger.usecases.traveller import receipt_status

        return ledger.read(lambda store: receipt_status(store, ctx, receipt_id[:64]))

    @app.post("/v1/traveller/access-log", tags=["travellers"])
    async def traveller_access_log(body: TravellerIn, request: Request) -> dict[str, Any]:
        """Who looked at your record, when, in which role and why."""
        from stayledger.usecases.traveller import who_looked

        began, entries = await run_in_threadpool(identified_read, request, body.document_number,
                                                 lambda ctx, store: who_looked(store, ctx, body.identity()))
        await answer_no_sooner(began, bool(entries))  # found with no entries: about as quick as a miss
        return {"entries": entries}

    @app.post("/v1/traveller/corrections", tags=["travellers"], status_code=201)
    def traveller_correction(body: CorrectionIn, ctx: AccessContext = Depends(traveller)) -> dict[str, str]:
        """Ask for a field of your record to be corrected; keep the case id and access code to follow it."""
        from stayledger.usecases.traveller import request_correction

        limit_document(body.document_number)
        case_id, code = ledger.run(lambda store: request_correction(
            store, ctx, body.identity(), body.field, body.claimed_value, body.explanation))
        return {"case_id": case_id, "access_code": code}

    @app.get("/v1/traveller/cases/{case_id}", tags=["travellers"])
    def traveller_case(case_id: str, code: str = Query(min_length=1, max_length=40),
                       ctx: AccessContext = Depends(traveller)) -> dict[str, Any]:
        from stayledger.usecases.traveller import case_state

        return ledger.read(lambda store: case_state(store, ctx, case_id[:40], code))

    @app.get("/v1/cases", tags=["officers"])
    def cases(state: str = Query("open", pattern="^(open|accepted|rejected|all)$"),
              ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.traveller import list_cases

        found = ledger.read(lambda store: list_cases(store, ctx, None if state == "all" else state))
        return {"cases": [_case(c) for c in found]}

    @app.post("/v1/cases/{case_id}/decision", tags=["officers"])
    def decide(case_id: str, body: CaseDecision, ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.traveller import decide_case

        return _case(ledger.run(lambda store: decide_case(store, ctx, case_id[:40], accept=body.decision == "accept",
                                                          reasons=body.reasons)))

    @app.post("/v1/users", tags=["admin"], status_code=201)
    def add_user(body: NewUser, ctx: AccessContext = Depends(context)) -> dict[str, str]:
        from stayledger.usecases.users import add_user as add

        token = ledger.run(lambda store: add(store, ctx, body.name, body.role))
        return {"name": body.name, "role": body.role, "token": token}

    @app.get("/v1/users", tags=["admin"])
    def users(ctx: AccessContext = Depends(context)) -> dict[str, Any]:
        from stayledger.usecases.users import list_users

        return {"users": [vars(a) for a in ledger.read(lambda store: list_users(store, ctx))]}

    @app.delete("/v1/users/{name}", tags=["admin"], status_code=204)
    def revoke(name: str, ctx: AccessContext = Depends(context)) -> Response:
        from stayledger.usecases.users import revoke_user

        ledger.run(lambda store: revoke_user(store, ctx, name))
        ledger.forget_tokens()
        return Response(status_code=204)

    from stayledger.api.pages import TravellerGuards, install_pages

    install_pages(app, TravellerGuards(traveller, limit_document, answer_no_sooner, today, pack))  # the web pages
    return app


def _records_of(body: bytes, content_type: str) -> list[Any]:
    try:
        if "ndjson" in content_type or "jsonl" in content_type:
            return [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]
        parsed = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, "Bad request", f"the body is not JSON: {exc}") from None
    if isinstance(parsed, dict):
        parsed = [parsed]
    if not isinstance(parsed, list):
        raise Problem(400, "Bad request", "send a JSON array of events (or one event, or application/x-ndjson)")
    if len(parsed) > 10_000:
        raise Problem(413, "Too large", "at most 10,000 events per request")
    return parsed


def _stay(stay: Any) -> dict[str, Any]:
    return {
        "arrival_event_id": stay.arrival_event_id, "status": stay.status.value,
        "authorized_until": stay.authorized_until.isoformat() if stay.authorized_until else None,
        "overstay_days": stay.overstay_days, "admission_class": stay.admission_class,
        "departure_event_id": stay.departure_event_id, "pending": stay.pending,
        "closed_by": stay.closed_by.value, "closing_event_id": stay.closing_event_id,
        "held_because": stay.held_because.value if stay.held_because else None,
        "rule_pack": stay.rule_pack, "rule_version": stay.rule_version, "steps": list(stay.steps),
        "evidence": [{"event_id": e.event_id, "kind": e.kind, "source": e.source, "occurred_on": e.occurred_on.isoformat(),
                      "link_probability": e.link_probability} for e in stay.evidence],
        "uncertain_links": list(stay.uncertain_links),
    }


def _case(case: Any) -> dict[str, Any]:
    return {"case_id": case.case_id, "event_id": case.event_id, "field": case.field, "claimed_value": case.claimed_value,
            "explanation": case.explanation, "state": case.state, "decided_by": case.decided_by,
            "decision": case.decision_note, "created_at": case.created_at.isoformat() if case.created_at else None}


def _item(item: Any) -> dict[str, Any]:
    probability = item.match_probability if item.match_probability == item.match_probability else None
    return {"item_id": item_id(item.event_id_l, item.event_id_r), "event_ids": [item.event_id_l, item.event_id_r],
            "match_probability": probability, "status": item.status, "decided_by": item.decided_by}


def iter_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the service answers (for the authorisation matrix)."""
    for route in app.routes:
        methods = getattr(route, "methods", None) or set()
        path = getattr(route, "path", "")
        if not path.startswith("/v1/"):
            continue
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            yield method, path
