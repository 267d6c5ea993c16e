"""``stayledger serve --workers N``: each of uvicorn's worker processes builds its own app over its own store.

uvicorn starts workers by importing ``create_worker_app`` (an app factory) in fresh processes, so the settings
travel in one environment variable, written by ``serve``. Each worker opens its own connection pool and builds its
own live linker; what they must agree on lives in PostgreSQL: the ledger, the identity lock under which every
worker catches up before it links (``LiveLinker.valid_for``), the rate-limit counters and the console sessions
(``storage.postgres_state``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from fastapi import FastAPI

CONFIG_ENV = "STAYLEDGER_SERVE_WORKER"


@dataclass(frozen=True)
class WorkerConfig:
    db: str
    audit_key: str
    pack: str = "us"
    per_client: int = 30
    per_document: int = 10
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks: str | None = None
    oidc_role_claim: str = "stayledger_role"
    traveller_floor: float = 0.025  # seconds: the least floor (`serve --traveller-floor-ms`)

    def to_environment(self) -> None:
        os.environ[CONFIG_ENV] = json.dumps(asdict(self))


def create_worker_app() -> FastAPI:
    """The app of one worker process (its store is closed when the worker stops)."""
    from stayledger.api.app import create_app
    from stayledger.bootstrap import Settings, load_signer, open_store

    config = WorkerConfig(**json.loads(os.environ[CONFIG_ENV]))
    oidc = None
    if config.oidc_issuer and config.oidc_audience and config.oidc_jwks:
        from stayledger.api.oidc import OidcVerifier

        oidc = OidcVerifier.from_jwks_file(config.oidc_issuer, config.oidc_audience, Path(config.oidc_jwks),
                                           config.oidc_role_claim)
    settings = Settings.load(config.db, config.audit_key)
    return create_app(open_store(settings), load_signer(settings), per_client=config.per_client,
                      per_document=config.per_document, oidc=oidc, pack=config.pack, close_store=True,
                      traveller_floor=config.traveller_floor)
