"""The traveller portal: status, departure report and receipt, correction cases, who looked — as HTML forms."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from stayledger.api.pages import TravellerGuards
from stayledger.api.pages.i18n import LANGUAGES, choose, is_rtl, long_date, translations
from stayledger.errors import NotFound, StayledgerError

TEMPLATES = Path(__file__).parent / "templates"
# Nothing from another origin, no script, no inline style; forms post only here; never framed.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
FIELDS = ("surname", "given_names", "date_of_birth", "nationality", "document_number", "sex")

STATUS_NAMES = {"in_status": "Authorised to stay", "departed": "Left on time", "departed_late": "Left late",
                "overstay": "Stayed beyond the authorised date", "departure_reported": "Departure reported",
                "pending": "Application pending", "adjusted": "Permanent resident", "needs_review": "Being checked"}
ROLE_NAMES = {"ingest": "Carrier or border system", "officer": "Border officer", "reviewer": "Records reviewer", "analyst": "Statistician",
              "auditor": "Auditor", "admin": "Administrator"}

environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                          trim_blocks=True, lstrip_blocks=True)
environment.globals.update(STATUS_NAMES=STATUS_NAMES, ROLE_NAMES=ROLE_NAMES)


def switch_to(request: Request, code: str) -> str:
    """The same page in another language (a form's answer cannot be re-posted: its language goes back to the start)."""
    if request.method != "GET":
        return f"/?lang={code}"
    return f"{request.url.path}?{urlencode({**dict(request.query_params), 'lang': code})}"


def portal_router(app: FastAPI, guards: TravellerGuards) -> APIRouter:
    from stayledger.api.app import CorrectionIn, DepartureIn, Problem, TravellerIn

    router = APIRouter(include_in_schema=False)
    ledger = app.state.ledger

    def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        chosen = values.pop("lang", None)
        code = choose(request.query_params.get("lang") or chosen,
                      request.headers.get("accept-language"))
        gettext = translations(code).gettext

        def _(message: str, **kw: Any) -> str:
            text = gettext(message)
            return text % {k: v for k, v in kw.items()} if kw else text

        html = environment.get_template(template).render(
            _=_, lang=code, html_lang=LANGUAGES[code][1], dir="rtl" if is_rtl(code) else "ltr",
            languages=[(c, v[1], v[2], switch_to(request, c)) for c, v in LANGUAGES.items()],
            date=lambda d: long_date(d, code),
            path=request.url.path, query=lambda **q: urlencode({**q, "lang": code}), **values)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    async def form(request: Request) -> dict[str, str]:
        body = (await request.body())[:20_000].decode("utf-8", errors="replace")
        return {k: v[0].strip() for k, v in parse_qs(body).items() if k in ALLOWED}

    def attempt(request: Request, fields: dict[str, str], template: str,
                work: Callable[[Any], dict[str, Any]]) -> HTMLResponse:
        """Run ``work(ctx)`` behind the API's guards; refusals become the page's own error, in the reader's language."""
        try:
            ctx = guards.context(request)
            return page(request, template, lang=fields.get("lang"), **work(ctx))
        except Problem as exc:
            key = "too_many" if exc.status == 429 else "unavailable" if exc.status == 503 else "invalid"
            return page(request, "error.html", exc.status, lang=fields.get("lang"), problem=key, detail=exc.detail)
        except ValidationError as exc:
            names = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
            return page(request, "error.html", 422, lang=fields.get("lang"), problem="invalid", fields=names)
        except NotFound:
            return page(request, "error.html", 404, lang=fields.get("lang"), problem="not_found")
        except StayledgerError as exc:
            return page(request, "error.html", 422, lang=fields.get("lang"), problem="invalid", detail=str(exc))

    async def guarded(request: Request, fields: dict[str, str], template: str,
                      work: Callable[[Any], dict[str, Any]], *, floored: bool = False) -> HTMLResponse:
        """``attempt`` on a worker thread (the ledger and the limits block; the event loop must not). A ``floored``
        page, a lookup by the traveller's identity, answers no sooner than the API's floor after the lookup began
        (``identified_read``: what comes before it is the same whoever is asked about), waited out here."""
        shown: dict[str, Any] = {}
        began: list[float] = []

        def kept(ctx: Any) -> dict[str, Any]:
            lookup_began.at = None
            try:
                shown.update(work(ctx))
            finally:
                if lookup_began.at is not None:
                    began.append(lookup_began.at)
            return shown

        answer = await run_in_threadpool(attempt, request, fields, template, kept)
        if floored and answer.status_code == 200 and began:  # found: a status found, or an access log with entries
            await guards.answer_no_sooner(began[0], bool(shown.get("found") or shown.get("entries")))
        return answer

    lookup_began = threading.local()  # when a floored page's lookup began, on the thread that ran it

    def identified_read(fields: dict[str, str], read: Callable[[Any, Any], Any]) -> Any:
        """A lookup by the traveller's own identity, behind the per-document limit (its page is ``floored``)."""
        body = TravellerIn.model_validate({k: fields.get(k, "") for k in IDENTITY})
        guards.limit_document(body.document_number)
        lookup_began.at = time.monotonic()
        return ledger.read(lambda store: read(store, body.identity()))

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return page(request, "index.html", fields=FIELDS, today=guards.today().isoformat())

    @router.post("/status", response_class=HTMLResponse)
    async def status(request: Request) -> HTMLResponse:
        from stayledger.usecases.traveller import check_stay

        fields = await form(request)

        def work(ctx: Any) -> dict[str, Any]:
            found, stays, window = identified_read(fields, lambda store, identity: check_stay(
                store, ctx, identity, guards.today(), guards.pack))
            return {"found": found, "stays": [vars(s) for s in stays], "window": vars(window) if window else None}

        return await guarded(request, fields, "status.html", work, floored=True)

    @router.post("/departure", response_class=HTMLResponse)
    async def departure(request: Request) -> HTMLResponse:
        from stayledger.usecases.traveller import report_departure

        fields = await form(request)

        def work(ctx: Any) -> dict[str, Any]:
            body = DepartureIn.model_validate({k: fields.get(k) or None for k in (*IDENTITY, "departed_on", "port", "carrier")})
            if ledger.signer is None:
                raise Problem(503, "Unavailable", "the service was started without a signing key")
            if body.departed_on > guards.today():
                raise Problem(422, "Invalid input", "departed_on")
            guards.limit_document(body.document_number)
            signer = ledger.signer
            receipt = ledger.run(lambda store: report_departure(store, ctx, body.identity(), body.departed_on, signer,
                                                                port=body.port, carrier=body.carrier))
            return {"receipt": {**receipt, "status": "reported"}, "new": True}

        return await guarded(request, fields, "receipt.html", work)

    @router.get("/receipt/{receipt_id}", response_class=HTMLResponse)
    async def receipt(request: Request, receipt_id: str) -> HTMLResponse:
        from stayledger.usecases.traveller import receipt_status

        return await guarded(request, {}, "receipt.html", lambda ctx: {
            "receipt": ledger.read(lambda store: receipt_status(store, ctx, receipt_id[:64])), "new": False})

    @router.post("/correction", response_class=HTMLResponse)
    async def correction(request: Request) -> HTMLResponse:
        from stayledger.usecases.traveller import request_correction

        fields = await form(request)

        def work(ctx: Any) -> dict[str, Any]:
            body = CorrectionIn.model_validate({k: fields.get(k, "") for k in (*IDENTITY, "field", "claimed_value", "explanation")})
            guards.limit_document(body.document_number)
            case_id, code = ledger.run(lambda store: request_correction(
                store, ctx, body.identity(), body.field, body.claimed_value, body.explanation))
            return {"case": {"case_id": case_id, "state": "open", "field": body.field,
                             "claimed_value": body.claimed_value}, "access_code": code}

        return await guarded(request, fields, "case.html", work)

    @router.get("/case", response_class=HTMLResponse)
    async def case(request: Request, case_id: str = "", code: str = "") -> HTMLResponse:
        from stayledger.usecases.traveller import case_state

        if not case_id or not code:
            return page(request, "error.html", 422, problem="invalid", fields=["case_id", "code"])
        return await guarded(request, {}, "case.html", lambda ctx: {
            "case": ledger.read(lambda store: case_state(store, ctx, case_id[:40], code[:40]))})

    @router.post("/access-log", response_class=HTMLResponse)
    async def access_log(request: Request) -> HTMLResponse:
        from stayledger.usecases.traveller import who_looked

        fields = await form(request)

        def work(ctx: Any) -> dict[str, Any]:
            return {"entries": identified_read(fields, lambda store, identity: who_looked(store, ctx, identity))}

        return await guarded(request, fields, "access_log.html", work, floored=True)

    return router


IDENTITY = ("document_number", "document_issuer", "date_of_birth", "surname")
ALLOWED = {*IDENTITY, "departed_on", "port", "carrier", "field", "claimed_value", "explanation", "lang"}
