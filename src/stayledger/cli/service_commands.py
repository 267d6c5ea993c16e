"""``stayledger serve`` and ``stayledger users …``: the HTTP service and its accounts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from stayledger.cli.common import (
    ActorOption,
    DbOption,
    KeyOption,
    access_context,
    console,
    err_console,
    ledger,
    reported_errors,
)

users_app = typer.Typer(
    help="Accounts of the HTTP service. Roles: ingest, officer, reviewer, analyst, auditor, admin.",
    no_args_is_help=True,
)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Account name (recorded as the actor of everything it does).")],
    role: Annotated[str, typer.Option("--role", help="ingest, officer, reviewer, analyst, auditor or admin.")],
    as_json: Annotated[bool, typer.Option("--json", help='Print {"name", "role", "token"}.')] = False,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Create an account and print its bearer token once (only a hash is kept: a lost token is revoked and replaced)."""
    from stayledger.usecases.users import add_user

    ctx = access_context(actor)
    with ledger(db) as store:
        token = add_user(store, ctx, name, role)
    if as_json:
        typer.echo(json.dumps({"name": name, "role": role, "token": token}))
    else:
        console.print(f"user {name} ({role}) created. Token (shown once):")
        typer.echo(token)


@users_app.command("list")
def users_list(actor: ActorOption = None, db: DbOption = None) -> None:
    """Accounts, their roles and whether they are revoked."""
    from stayledger.usecases.users import list_users

    ctx = access_context(actor)
    with ledger(db) as store:
        accounts = list_users(store, ctx)
    table = Table("name", "role", "created (UTC)", "state")
    for account in accounts:
        table.add_row(account.name, account.role, account.created_at, "revoked" if account.revoked else "active")
    console.print(table)


@users_app.command("revoke")
def users_revoke(name: Annotated[str, typer.Argument()], actor: ActorOption = None, db: DbOption = None) -> None:
    """Revoke an account's token at once (a running service stops accepting it within a minute)."""
    from stayledger.usecases.users import revoke_user

    ctx = access_context(actor)
    with ledger(db) as store:
        revoke_user(store, ctx, name)
    console.print(f"user {name} revoked")


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    pack: Annotated[str, typer.Option("--pack", help="Rule pack for stays: us (admit-until, D/S) or schengen (90/180).")] = "us",
    traveller_limit: Annotated[int, typer.Option("--traveller-limit", min=1, help="Traveller requests per client address per 5 minutes (per document: a third of it, at least 10).")] = 30,
    oidc_issuer: Annotated[Optional[str], typer.Option("--oidc-issuer", help="Also accept JWTs from this OpenID Connect issuer (with --oidc-audience and --oidc-jwks).")] = None,
    oidc_audience: Annotated[Optional[str], typer.Option("--oidc-audience", help="The audience the JWTs must name.")] = None,
    oidc_jwks: Annotated[Optional[Path], typer.Option("--oidc-jwks", help="The issuer's public keys (JWKS JSON file; nothing is fetched at run time).")] = None,
    oidc_role_claim: Annotated[str, typer.Option("--oidc-role-claim", help="The claim that names the stayledger role.")] = "stayledger_role",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes (more than one needs a PostgreSQL --db).")] = 1,
    traveller_floor_ms: Annotated[int, typer.Option("--traveller-floor-ms", min=10, max=5000, help="The least time a traveller's answer about their own record takes, found or not, so that its time does not tell a guesser the details were right. Above it the floor follows the found lookups themselves: 1.25 times the 99th percentile of the last minute's, or of the last 20 in a quieter minute (100 ms until 20 have been seen), so it covers them under any load without making travellers wait that long when the service is quiet (benchmarks/bench_api.py --with-misses times both kinds).")] = 25,
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs). The process owns the DuckDB ledger while it runs.

    Create accounts first: `stayledger users add feed-1 --role ingest`. Every request is attributed to its
    account and recorded in the audit log. On PostgreSQL, `--workers N` runs N processes on one port; they share
    the ledger, the rate limits and the console sessions through the database.
    """
    import uvicorn

    from stayledger.api.app import create_app
    from stayledger.bootstrap import Settings, is_postgres_url, load_signer, open_store, shown_location
    from stayledger.errors import ConfigurationError

    oidc = None
    with reported_errors():
        if oidc_issuer or oidc_audience or oidc_jwks:
            from stayledger.api.oidc import OidcVerifier

            if not (oidc_issuer and oidc_audience and oidc_jwks):
                raise ConfigurationError("OIDC needs --oidc-issuer, --oidc-audience and --oidc-jwks together")
            oidc = OidcVerifier.from_jwks_file(oidc_issuer, oidc_audience, oidc_jwks, oidc_role_claim)
        from stayledger.rules import get_pack

        get_pack(pack)  # an unknown pack: one line naming the known ones
        settings = Settings.load(db, key)
        if workers > 1 and not is_postgres_url(settings.db):
            raise ConfigurationError(f"--workers {workers} needs a PostgreSQL --db: the DuckDB file {settings.db} is "
                                     "owned by one process (serve it with one worker)")
        signer = load_signer(settings)  # made here once, not by several workers at the same moment
        store = open_store(settings)  # also migrates the schema before any worker starts
    if workers > 1:
        from stayledger.api.workers import WorkerConfig

        store.close()
        WorkerConfig(settings.db, str(settings.audit_key), pack, traveller_limit, max(10, traveller_limit // 3),
                     oidc_issuer, oidc_audience, str(oidc_jwks) if oidc_jwks else None, oidc_role_claim,
                     traveller_floor_ms / 1000).to_environment()
        err_console.print(f"serving {shown_location(settings.db)} with {workers} workers on http://{host}:{port} (OpenAPI: /openapi.json)")
        uvicorn.run("stayledger.api.workers:create_worker_app", factory=True, workers=workers, host=host, port=port,
                    log_level="warning")
        return
    try:
        err_console.print(f"serving {shown_location(settings.db)} on http://{host}:{port} (OpenAPI: /openapi.json)")
        app = create_app(store, signer, per_client=traveller_limit, per_document=max(10, traveller_limit // 3), oidc=oidc,
                         pack=pack, traveller_floor=traveller_floor_ms / 1000)
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        store.close()
