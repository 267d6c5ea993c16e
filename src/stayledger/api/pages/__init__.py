"""Web pages over the service: the traveller portal at ``/`` (server-rendered, no JavaScript, translated).

The pages call the same use cases as the JSON routes, through the same guards (rate limits per address and per
document, the answer-time floor), handed over by ``create_app``: a page cannot reach the ledger another way.
Everything a page needs is served from here (no other origin; the Content-Security-Policy says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Awaitable, Callable

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).parent


@dataclass(frozen=True)
class TravellerGuards:
    """The JSON routes' own traveller guards, so the portal is no easier to enumerate than the API."""

    context: Callable[[Any], Any]  # request -> AccessContext (rate limit per address)
    limit_document: Callable[[str], None]
    answer_no_sooner: Callable[[float, bool], Awaitable[None]]  # (started, found); awaited: it holds no thread
    today: Callable[[], date]
    pack: str


def install_pages(app: FastAPI, guards: TravellerGuards) -> None:
    from stayledger.api.pages.console import console_router
    from stayledger.api.pages.portal import portal_router

    app.include_router(portal_router(app, guards))
    app.include_router(console_router(app, guards.today, guards.pack))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
