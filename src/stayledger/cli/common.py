"""What every command shares: the consoles, the common options, who is acting, one way to open the ledger, and
the mapping of the project's errors to exit codes.

Exit codes: 0 success, 1 failure (the message says what and where), 2 usage error (a missing purpose too),
3 some records quarantined, 4 refused by the access policy.
"""

from __future__ import annotations

import getpass
import os
import re
import sys
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape

from stayledger.bootstrap import AUDIT_KEY_ENV, DB_ENV, DEFAULT_DB, Settings, open_store
from stayledger.domain.access import AccessContext, AccessDenied, PurposeRequired, Role
from stayledger.errors import StayledgerError
from stayledger.storage.base import EventStore

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_QUARANTINED = 3
EXIT_REFUSED = 4
ACTOR_ENV = "STAYLEDGER_ACTOR"

# Piped output is not wrapped at 80 columns: tables stay readable in logs and files.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 140)

DbOption = Annotated[
    Optional[str],
    typer.Option(
        "--db",
        envvar=DB_ENV,
        help=f"DuckDB file of the ledger, or a postgresql:// URL (created on first use). Default ./{DEFAULT_DB}, or ${DB_ENV}.",
        show_default=False,
    ),
]
ActorOption = Annotated[
    Optional[str],
    typer.Option("--actor", envvar=ACTOR_ENV, show_default=False,
                 help=f"Who is acting (recorded in the audit log). Default ${ACTOR_ENV}, else your login name."),
]
PurposeOption = Annotated[
    Optional[str],
    typer.Option("--purpose", show_default=False,
                 help="Why (at least 3 characters; recorded in the audit log). Required to read personal data."),
]
CaseRefOption = Annotated[
    Optional[str],
    typer.Option("--case-ref", show_default=False, help="A case or file reference the work is for (recorded)."),
]
KeyOption = Annotated[
    Optional[str],
    typer.Option("--key", envvar=AUDIT_KEY_ENV, show_default=False,
                 help=f"The audit signing key (PEM), kept outside the ledger; created on first use. "
                      f"Default ~/.config/stayledger/audit-signing-key.pem, or ${AUDIT_KEY_ENV}."),
]


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)  # one line, also in logs
    return typer.Exit(code)


def exit_code(exc: StayledgerError) -> int:
    if isinstance(exc, PurposeRequired):
        return EXIT_USAGE
    if isinstance(exc, AccessDenied):
        return EXIT_REFUSED
    return EXIT_FAILURE


@contextmanager
def reported_errors() -> Iterator[None]:
    """The project's own errors become one line on stderr and an exit code; never a traceback."""
    try:
        yield
    except StayledgerError as exc:
        raise fail(str(exc), exit_code(exc)) from None
    except OSError as exc:  # a file the command reads or writes: one line naming it, not a traceback
        where = f" {exc.filename}" if exc.filename else ""
        raise fail(f"cannot use{where}: {exc.strerror or exc}") from None


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_output(path: Path | None, option: str = "--out") -> None:
    """Refuse an output path that cannot be written, before any work is done (and never create directories
    the user did not ask for: a typo in a directory name must not scatter files)."""
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise fail(f"{option} {path} is a directory; name a file in it", EXIT_USAGE)
    if not parent.is_dir():
        raise fail(f"{option} {path}: the directory {parent} does not exist", EXIT_USAGE)
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise fail(f"{option} {path}: not writable (permission denied)", EXIT_FAILURE)


def parse_day(text: str, option: str) -> date:
    # Strictly YYYY-MM-DD, as events require: fromisoformat alone also takes 20251231 and week dates.
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not a date (use YYYY-MM-DD)", EXIT_USAGE) from None


def login_name() -> str | None:
    try:
        return getpass.getuser() or None
    except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry for this uid
        return None


def access_context(actor: str | None, purpose: str | None = None, case_ref: str | None = None) -> AccessContext:
    """The command line acts as role admin, for the named actor (else the OS login name), in one request."""
    who = actor if actor is not None else login_name()
    if who is None or not who.strip():
        raise fail(f"who is acting? pass --actor NAME or set {ACTOR_ENV} (no login name was found)", EXIT_USAGE)
    return AccessContext(who, Role.ADMIN, purpose, case_ref, request_id=f"cli-{uuid.uuid4().hex}")


@contextmanager
def ledger(db: str | None) -> Iterator[EventStore]:
    """Open the configured ledger for one command and close it after; errors become exit codes."""
    with reported_errors():
        store = open_store(Settings.load(db))
        try:
            yield store
        finally:
            store.close()
