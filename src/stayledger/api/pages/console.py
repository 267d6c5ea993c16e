"""The staff console at ``/console``: sign in with a staff token, then pages by role, each through the use cases.

The session cookie is HttpOnly, SameSite=Strict and scoped to /console; every form that changes something carries
the session's CSRF token. A page builds the same AccessContext as the API (name, role, purpose, case reference),
so the policy and the audit log are the use cases' own: a page cannot skip either.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from stayledger.api.pages.portal import CSP, SECURITY_HEADERS, environment
from stayledger.domain.access import AccessContext, Role
from stayledger.errors import StayledgerError

SESSION_SECONDS = 8 * 3600
COOKIE = "stayledger_console"
# Console routes and the use cases behind them (the matrix test walks this list).
CONSOLE_ROUTES: list[tuple[str, str]] = []
FIGURES_REFRESH_SECONDS = 30
# Fields an officer may correct from the person page (the record's identity and its admission; ids never).
CORRECTABLE = ("surname", "given_names", "date_of_birth", "sex", "nationality", "document_number", "document_issuer",
               "occurred_on", "admission_class", "admitted_until")


def report_policy() -> str:
    """The briefing's own inline stylesheet is allowed by its hash; nothing else is."""
    import base64
    import hashlib

    from stayledger.reports.render import _CSS

    digest = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
    return CSP.replace("style-src 'self'", f"style-src 'self' 'sha256-{digest}'")


@dataclass(frozen=True)
class Session:
    name: str
    role: str
    csrf: str
    expires: float


def console_router(app: FastAPI, today: Callable[[], Any], pack: str) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    ledger = app.state.ledger
    sessions = app.state.shared  # storage.shared_state: every worker of the service knows a sign-in

    def render(template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = environment.get_template(template).render(_=lambda m, **kw: m % kw if kw else m, **values)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def session_of(request: Request) -> Session | None:
        key = request.cookies.get(COOKIE, "")
        found = sessions.session(key) if key else None
        return Session(**found) if found else None

    def context(request: Request, session: Session, purpose: str | None = None, case_ref: str | None = None) -> AccessContext:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        return AccessContext(session.name, Role(session.role), purpose or None, case_ref or None,
                             request_id=request_id[:100])

    async def posted(request: Request) -> dict[str, str]:
        body = (await request.body())[:20_000].decode("utf-8", errors="replace")
        return {k: v[0].strip() for k, v in parse_qs(body).items()}

    def staff_page(request: Request, work: Callable[[Session], HTMLResponse], form: dict[str, str] | None = None) -> Response:
        session = session_of(request)
        if session is None:
            return RedirectResponse("/console/login", status_code=303)
        if form is not None and not secrets.compare_digest(form.get("csrf", ""), session.csrf):
            return render("console_error.html", 403, session=session, message="The form is stale or forged (CSRF token).")
        try:
            return work(session)
        except StayledgerError as exc:
            from stayledger.api.app import _status_of

            status, title = _status_of(exc)
            return render("console_error.html", status, session=session, message=f"{title}: {exc}")

    def route(method: str, path: str) -> Callable[[Any], Any]:
        if (method, "/console" + path) not in CONSOLE_ROUTES:
            CONSOLE_ROUTES.append((method, "/console" + path))
        return router.get(path) if method == "GET" else router.post(path)

    @router.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        return render("console_login.html", session=None, error=None)

    @router.post("/login")
    async def login(request: Request) -> Response:
        token = (await posted(request)).get("token", "")
        found = await run_in_threadpool(ledger.caller, token) if token else None  # the ledger blocks: not on the loop
        if found is None or found[1] == Role.TRAVELLER.value:
            return render("console_login.html", 401, session=None, error="That token is not valid (wrong, or revoked).")
        key = secrets.token_urlsafe(32)
        await run_in_threadpool(sessions.save_session, key, vars(Session(found[0], found[1], secrets.token_urlsafe(24),
                                                                         time.time() + SESSION_SECONDS)), SESSION_SECONDS)
        answer = RedirectResponse("/console", status_code=303)
        answer.set_cookie(COOKIE, key, httponly=True, samesite="strict", path="/console", max_age=SESSION_SECONDS,
                          secure=request.url.scheme == "https")
        return answer

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        form = await posted(request)
        session = await run_in_threadpool(session_of, request)
        if session is not None and secrets.compare_digest(form.get("csrf", ""), session.csrf):
            await run_in_threadpool(sessions.drop_session, request.cookies.get(COOKIE, ""))
        answer = RedirectResponse("/console/login", status_code=303)
        answer.delete_cookie(COOKIE, path="/console")
        return answer

    @route("GET", "")
    def home(request: Request) -> Response:
        return staff_page(request, lambda s: render("console_home.html", session=s))

    @route("GET", "/person")
    def person(request: Request, document_number: str = "", person_id: str = "", purpose: str = "",
               case_ref: str = "") -> Response:
        from stayledger.usecases.lookup import find_persons_by_document, look_up_person

        def work(session: Session) -> HTMLResponse:
            if not document_number and not person_id:
                return render("console_person.html", session=session, query=None, by=None, views=[])
            ctx = context(request, session, purpose, case_ref)
            if person_id:  # the id another page or a colleague gave; an unknown id is a 404 page
                by, query, ids = "person", person_id[:100], [person_id[:100]]
            else:
                by, query = "document", document_number[:64]
                ids = ledger.read(lambda store: find_persons_by_document(store, ctx, query, None))
            views = [ledger.read(lambda store, p=p: look_up_person(store, ctx, p, today(), pack=pack)) for p in ids]
            return render("console_person.html", session=session, query=query, by=by, purpose=purpose, views=views,
                          case_ref=case_ref, correctable=CORRECTABLE)

        return staff_page(request, work)

    @route("POST", "/corrections")
    async def correct(request: Request) -> Response:
        from stayledger.usecases.correct import record_correction

        form = await posted(request)

        def work(session: Session) -> HTMLResponse:
            field, original = form.get("field", ""), form.get("event_id", "")[:128]
            if field not in CORRECTABLE:
                return render("console_error.html", 422, session=session,
                              message=f"field: {field[:40]!r} cannot be corrected here (one of: {', '.join(CORRECTABLE)}).")
            ctx = context(request, session, form.get("purpose"), form.get("case_ref"))
            fixed = ledger.run(lambda store: record_correction(store, ctx, original, {field: form.get("value", "")[:200]},
                                                               source="officer"))
            return render("console_corrected.html", session=session, original=original, fixed=fixed, field=field,
                          person_id=form.get("person_id", "")[:100], purpose=form.get("purpose", ""))

        return await run_in_threadpool(staff_page, request, work, form)

    @route("GET", "/cases")
    def cases(request: Request, purpose: str = "", case_ref: str = "") -> Response:
        from stayledger.usecases.traveller import list_cases

        def work(session: Session) -> HTMLResponse:
            ctx = context(request, session, purpose, case_ref)
            found = ledger.read(lambda store: list_cases(store, ctx, "open")) if purpose else None
            return render("console_cases.html", session=session, cases=found, purpose=purpose)

        return staff_page(request, work)

    @route("POST", "/cases/{case_id}/decision")
    async def decide(request: Request, case_id: str) -> Response:
        from stayledger.usecases.traveller import decide_case

        form = await posted(request)

        def work(session: Session) -> HTMLResponse:
            ctx = context(request, session, form.get("purpose"), case_id)
            case = ledger.run(lambda store: decide_case(store, ctx, case_id[:40], accept=form.get("decision") == "accept",
                                                        reasons=form.get("reasons", "")))
            return render("console_decided.html", session=session, case=case)

        return await run_in_threadpool(staff_page, request, work, form)

    @route("GET", "/review")
    def review(request: Request) -> Response:
        from stayledger.api.app import item_id
        from stayledger.usecases.review import review_queue

        def work(session: Session) -> HTMLResponse:
            queue = ledger.read(lambda store: review_queue(store, context(request, session), today(), pack=pack))
            return render("console_review.html", session=session,
                          items=[(item_id(q.item.event_id_l, q.item.event_id_r), q.item, q.held_stays) for q in queue])

        return staff_page(request, work)

    @route("GET", "/review/{item}")
    def review_pair(request: Request, item: str, purpose: str = "") -> Response:
        from stayledger.api.app import Problem, pair_of
        from stayledger.usecases.review import show_review

        def work(session: Session) -> HTMLResponse:
            try:
                left, right = pair_of(item)
            except Problem:
                return render("console_error.html", 404, session=session, message=f"No review item {item!r}.")
            ctx = context(request, session, purpose)
            view = ledger.read(lambda store: show_review(store, ctx, left, right)) if purpose else None
            return render("console_pair.html", session=session, item=item, view=view, purpose=purpose,
                          fields=("surname", "given_names", "date_of_birth", "sex", "nationality", "document_number",
                                  "document_issuer", "kind", "occurred_on", "source"))

        return staff_page(request, work)

    @route("POST", "/review/{item}/decision")
    async def review_decision(request: Request, item: str) -> Response:
        from stayledger.api.app import Problem, pair_of
        from stayledger.usecases.review import decide as decide_pair

        form = await posted(request)

        def work(session: Session) -> HTMLResponse:
            try:
                left, right = pair_of(item)
            except Problem:
                return render("console_error.html", 404, session=session, message=f"No review item {item!r}.")
            ctx = context(request, session)
            decided = ledger.run(lambda store: decide_pair(store, ctx, left, right, accept=form.get("decision") == "accept",
                                                           note=form.get("note") or None))
            return render("console_error.html", session=session, title="Decided",
                          message=f"{decided.event_id_l} / {decided.event_id_r}: {decided.status}")

        return await run_in_threadpool(staff_page, request, work, form)

    @route("GET", "/report")
    def report(request: Request, fiscal_year: int = 0) -> Response:
        from stayledger.reports.render import overstay_html
        from stayledger.usecases.report import report_overstays

        def work(session: Session) -> HTMLResponse:
            as_of = today()
            year = fiscal_year if 2 <= fiscal_year <= 9999 else as_of.year - (as_of.month < 10)  # the last one ended
            ctx = context(request, session)
            found = ledger.run(lambda store: report_overstays(store, ctx, year, as_of, pack=pack))
            # A fiscal year's report changes only as late records arrive: reloaded on demand, not on a timer.
            html = overstay_html(found).replace(
                "<body>", f'<body><p><a href="/console">Back to the console</a> · as of {as_of.isoformat()}: '
                          f'<a href="/console/report?fiscal_year={year}">reload for the latest records</a></p>', 1)
            return HTMLResponse(html, headers={**SECURITY_HEADERS, "Content-Security-Policy": report_policy()})

        return staff_page(request, work)

    @route("GET", "/figures")
    def figures(request: Request) -> Response:
        from datetime import datetime, timezone

        from stayledger.usecases.figures import live_figures

        def work(session: Session) -> HTMLResponse:
            ctx = context(request, session)
            found = ledger.read(lambda store: live_figures(store, ctx, today()))
            page = render("console_figures.html", session=session, figures=found, refresh=FIGURES_REFRESH_SECONDS,
                          computed_at=datetime.now(timezone.utc).strftime("%H:%M:%S"))
            # The one page with a script (ours, same origin): it re-reads this page; the reader can pause it.
            page.headers["Content-Security-Policy"] = CSP + "; script-src 'self'; connect-src 'self'"
            return page

        return staff_page(request, work)

    @route("GET", "/audit")
    def audit(request: Request, actor: str = "", since: str = "") -> Response:
        from datetime import date, datetime, time as day_start, timezone

        from stayledger.usecases.audit import checkpoint_audit, list_audit, verify_audit

        def work(session: Session) -> HTMLResponse:
            try:
                moment = datetime.combine(date.fromisoformat(since), day_start(), timezone.utc) if since else None
            except ValueError:
                return render("console_error.html", 422, session=session,
                              message=f"since: {since[:40]!r} is not a date (YYYY-MM-DD).")
            who = actor[:100] or None
            ctx = context(request, session)
            verified = ledger.read(lambda store: verify_audit(store, ctx)).as_dict()
            entries = ledger.read(lambda store: list_audit(store, ctx, since=moment, actor=who, limit=50))
            signer = ledger.signer  # no key, no checkpoint: the page says so
            checkpoint = ledger.read(lambda store: checkpoint_audit(store, ctx, signer)) if signer is not None else None
            return render("console_audit.html", session=session, verified=verified, entries=entries, actor=who or "",
                          since=since if moment else "", checkpoint=checkpoint)

        return staff_page(request, work)

    return router
