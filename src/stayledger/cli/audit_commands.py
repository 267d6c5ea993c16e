"""``stayledger audit …``: read, verify, checkpoint and prove the tamper-evident audit log."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from stayledger.cli.common import (
    ACTOR_ENV,
    EXIT_FAILURE,
    EXIT_USAGE,
    ActorOption,
    DbOption,
    KeyOption,
    access_context,
    check_output,
    console,
    err_console,
    fail,
    ledger,
    reported_errors,
)

audit_app = typer.Typer(
    help=(
        "The audit log: one entry per operation (who, role, what, why, which records by id, outcome), "
        "hash-chained and kept in an RFC 6962 Merkle tree. `verify` checks it; `checkpoint` signs its head "
        "with a key kept outside the ledger; `prove` gives an inclusion proof an auditor checks offline."
    ),
    no_args_is_help=True,
)


# As the other commands' dates: YYYY-MM-DD, here with an optional time (fromisoformat alone takes 20251231 too).
_SINCE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?")


def _parse_since(text: str) -> datetime:
    try:
        if not _SINCE.fullmatch(text):
            raise ValueError(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--since: {text!r} is not a date or time (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", EXIT_USAGE) from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


@audit_app.command("list")
def audit_list(
    since: Annotated[Optional[str], typer.Option("--since", help="Only entries at or after this UTC time (YYYY-MM-DD or ISO 8601).")] = None,
    actor: Annotated[Optional[str], typer.Option("--actor", help="Only entries of this actor.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most the newest N (0: all).")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One entry per line (the sealed entry's fields).")] = False,
    acting: Annotated[Optional[str], typer.Option("--as", envvar=ACTOR_ENV, show_default=False, help=f"Who is reading the log (recorded). Default ${ACTOR_ENV}, else your login name.")] = None,
    db: DbOption = None,
) -> None:
    """Entries oldest first: seq, time, actor, role, action, purpose, objects, outcome (this listing is audited too).

    Here `--actor` filters the entries; who reads is `--as` (or $STAYLEDGER_ACTOR, or the login name).
    """
    from stayledger.usecases.audit import list_audit

    by = actor
    ctx = access_context(acting)
    with ledger(db) as store:
        entries = list_audit(store, ctx, since=_parse_since(since) if since else None, actor=by,
                             limit=None if limit == 0 else limit)
    if as_json:
        for entry in entries:
            typer.echo(json.dumps(entry, ensure_ascii=False, sort_keys=True))
        return
    if not entries:
        console.print("no audit entries match")
        return
    table = Table("seq", "at (UTC)", "actor", "role", "action", "purpose", "objects", "outcome")
    for entry in entries:
        objects = ", ".join(f"{k}={v}" for k, v in sorted(entry.get("objects", {}).items()) if v not in (None, [], ""))
        purpose = str(entry.get("purpose") or "") + (f" [{entry['case_ref']}]" if entry.get("case_ref") else "")
        table.add_row(str(entry["seq"]), str(entry["at"]), escape(str(entry["actor"])), str(entry["role"]),
                      str(entry["action"]), escape(purpose), escape(objects[:120]), escape(str(entry["outcome"])))
    console.print(table)


@audit_app.command("verify")
def audit_verify(
    against: Annotated[Optional[Path], typer.Option("--against", help="A checkpoint from `audit checkpoint`: also detects entries removed from the end.")] = None,
    key: KeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {ok, entries, root_hash, failed_seq, problem}.")] = False,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Recompute the hash chain and the Merkle tree: exit 0 when intact, 1 naming the first entry that fails.

    Detects entries edited, removed, inserted or reordered in the store. Removing the newest entries leaves a
    shorter chain that is still consistent; only a checkpoint signed before can show it: pass `--against`.
    """
    from stayledger.bootstrap import Settings, load_signer
    from stayledger.usecases.audit import verify_audit

    note = None
    trusted = None
    if against is not None:
        try:
            note = against.read_text(encoding="utf-8")
        except OSError as exc:
            raise fail(f"--against {against}: {exc.strerror}", EXIT_USAGE) from None
        with reported_errors():
            trusted = load_signer(Settings.load(db, key)).public_key
    ctx = access_context(actor)
    with ledger(db) as store:
        result = verify_audit(store, ctx, checkpoint_note=note, trusted_key=trusted)
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
    elif result.ok:
        console.print(f"audit log intact: {result.entries:,} entries, root {result.root_hash}"
                      + (f"; consistent with the checkpoint {against}" if against else ""))
    else:
        err_console.print(f"[bold red]audit log NOT intact[/] at entry {result.failed_seq}: {escape(result.problem or '')}")
    if not result.ok:
        raise typer.Exit(EXIT_FAILURE)


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the checkpoint to this file (keep it outside the ledger).")] = None,
    key: KeyOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Print a signed tree head (C2SP checkpoint: origin, size, root; Ed25519 signed note) and the public key.

    Keep checkpoints where the ledger's operators cannot change them; `audit verify --against FILE` later shows
    whether any entry it covers was changed or removed.
    """
    from stayledger.audit.checkpoint import verifier_key_string
    from stayledger.bootstrap import Settings, load_signer
    from stayledger.usecases.audit import checkpoint_audit

    with reported_errors():
        signer = load_signer(Settings.load(db, key))
    ctx = access_context(actor)
    check_output(out)
    with ledger(db) as store:
        note = checkpoint_audit(store, ctx, signer)
    typer.echo(note, nl=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(note, encoding="utf-8")
        err_console.print(f"wrote the checkpoint to {out}")
    err_console.print(f"public key (to verify offline): {verifier_key_string(signer.name, signer.public_key)}")


@audit_app.command("prove")
def audit_prove(
    seq: Annotated[int, typer.Argument(min=1, help="The entry's sequence number.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the proof (JSON) here instead of standard output.")] = None,
    key: KeyOption = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """An inclusion proof (RFC 6962 audit path) that entry SEQ is in the log, with a signed checkpoint of the tree.

    Check it anywhere, without the ledger: `stayledger audit check-proof PROOF.json --verifier-key KEY`.
    """
    from stayledger.bootstrap import Settings, load_signer
    from stayledger.usecases.audit import prove_entry

    with reported_errors():
        signer = load_signer(Settings.load(db, key))
    ctx = access_context(actor)
    check_output(out)
    with ledger(db) as store:
        proof = prove_entry(store, ctx, seq, signer)
    text = json.dumps(proof, indent=1, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote the proof of entry {seq} (tree of {proof['tree_size']}) to {out}")


@audit_app.command("check-proof")
def audit_check_proof(
    proof_file: Annotated[Path, typer.Argument(help="A proof from `audit prove`.")],
    verifier_key: Annotated[Optional[str], typer.Option("--verifier-key", help="The log's public key as `audit checkpoint` prints it (NAME+KEYID+BASE64).")] = None,
) -> None:
    """Check an inclusion proof offline (no ledger needed): exit 0 when the entry is in the signed tree."""
    from stayledger.audit.checkpoint import CheckpointError, public_key_from_verifier_string
    from stayledger.audit.proof import check_inclusion_proof

    try:
        proof = json.loads(proof_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(f"{proof_file}: not a readable proof ({exc})", EXIT_USAGE) from None
    name = public = None
    if verifier_key:
        try:
            name, public = public_key_from_verifier_string(verifier_key)
        except (CheckpointError, ValueError) as exc:
            raise fail(f"--verifier-key: {exc}", EXIT_USAGE) from None
    problems = check_inclusion_proof(proof if isinstance(proof, dict) else {}, name, public)
    if problems:
        for problem in problems:
            err_console.print(f"[bold red]not proven:[/] {escape(problem)}")
        raise typer.Exit(EXIT_FAILURE)
    console.print(f"entry {proof['leaf_index'] + 1} is in the log of {proof['tree_size']} entries signed by {name}")
