"""Rendering for the terminal, shared by the commands and the demo."""

from __future__ import annotations

from pathlib import Path

from typing import Any, Iterable

import typer
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from stayledger.cli.common import console


def uncut_table(*headers: str, whole: Iterable[str] = ()) -> Table:
    """A table that never cuts a value: the ``whole`` columns (ids, codes, dates: copied into the next command)
    never wrap; the others wrap at spaces and fold a word too long for them. Print it with ``print_uncut``."""
    keep = set(whole)
    table = Table()
    for header in headers:
        table.add_column(header, no_wrap=header in keep, overflow="fold")
    return table


def print_uncut(table: Table) -> None:
    """Print a table, wider than the console when its whole values need it (the terminal wraps the lines, but
    every id stays whole and copyable; Rich would otherwise cut it to "paxlst:05edd…")."""
    measured = Measurement.get(console, console.options.update_width(100_000), table)
    if measured.minimum <= console.width:
        console.print(table)
        return
    width = console.width
    console.width = measured.maximum  # at its natural width: nothing wrapped or folded
    try:
        console.print(table)
    finally:
        console.width = width


def print_ingest_report(path: Path, report: object) -> None:
    from stayledger.usecases.ingest import IngestReport

    assert isinstance(report, IngestReport)
    status = "[green]ok[/]" if report.clean else "[yellow]some records quarantined[/]"
    console.print(
        f"{path}: {report.records} records, {report.added} added, {report.duplicates} already present, "
        f"{report.quarantined} quarantined — {status}"
    )
    for note in report.notes:
        console.print(f"  note: {escape(note)}")
    for problem in report.first_problems:
        console.print(f"  [yellow]quarantined[/] {escape(problem)}")
    if report.quarantined > len(report.first_problems):
        console.print(f"  … and {report.quarantined - len(report.first_problems)} more: `stayledger quarantine list`")


# Why a stay is held as needs_review, in words, and the work that settles it.
HELD_EXPLAINED: dict[str, tuple[str, str]] = {
    "identity_link": ("an identity link awaits a decision",
                      "answer the questions in `stayledger review list` (review accept / reject)"),
    "departure_unknown": ("departure date unknown: a later arrival shows the traveller left, but not when",
                          "an exit record for the stay (a carrier's or border exit, or the traveller's departure "
                          "report): ingest it, then `stayledger resolve`"),
    "no_authorised_stay": ("the arrival gives neither an admitted-until date nor duration of status",
                           "`stayledger correct ARRIVAL_ID --set admitted_until=YYYY-MM-DD`"),
    "disputed": ("the traveller disputes one of its records (correction case open)",
                 "an officer decides the case (console, or POST /v1/cases/{id}/decision)"),
    "national_rules": ("a long stay past its end: national rules decide",
                       "a person decides it under national rules"),
}


def print_held(by_reason: dict[str, int], open_questions: int, indent: str = "") -> None:
    """needs_review stays by why they are held and what settles each (``by_reason``: reason value → stays)."""
    total = sum(by_reason.values())
    if not total:
        console.print(f"{indent}no stay is held as needs_review")
        return
    console.print(f"{indent}{total:,} stays are needs_review. Why, and what settles each:")
    for reason in sorted(by_reason, key=lambda r: (r != "identity_link", -by_reason[r])):
        why, settles = HELD_EXPLAINED.get(reason, (reason, "a person looks at it"))
        console.print(f"{indent}  {by_reason[reason]:>7,}  {escape(why)}")
        console.print(f"{indent}           → {escape(settles)}")
    console.print(f"{indent}Only identity questions are in `stayledger review list` ({open_questions:,} open). Which stays: "
                  "`stayledger export stays --purpose WHY --out stays.csv` (column held_because).")


def print_evaluation(evaluation: object) -> None:
    from stayledger.usecases.evaluate import Evaluation

    assert isinstance(evaluation, Evaluation)
    m = evaluation.identity
    console.print(
        f"identity: pair precision {m.precision:.4f}, recall {m.recall:.4f}, F1 {m.f1:.4f} "
        f"({m.true_persons} true persons, {m.predicted_persons} resolved; "
        f"{m.exact_cluster_rate:.2%} of persons resolved exactly)"
    )
    worst = sorted(evaluation.by_nationality.items(), key=lambda kv: kv[1].f1)[:5]
    if worst:
        console.print("  lowest pair F1 by nationality: " + ", ".join(f"{k} {v.f1:.4f} ({v.true_persons})" for k, v in worst))
    s = evaluation.status
    if s is not None:
        console.print(
            f"stays (as of {evaluation.as_of}): status accuracy {s.accuracy:.4f} over {s.matched} stays; "
            f"false-overstay rate {s.false_overstay_rate:.3%} ({s.false_overstays} stays); "
            f"missed-overstay rate {s.missed_overstay_rate:.2%} ({s.missed_overstays} of {s.true_overstays})"
        )
    b = evaluation.status_with_true_identities
    if s is not None and b is not None:
        console.print(
            f"  with the true identities (perfect linkage): status accuracy {b.accuracy:.4f}; "
            f"false-overstay rate {b.false_overstay_rate:.3%} ({b.false_overstays}); missed {b.missed_overstays} — "
            "errors no linkage can remove (such as an exit nobody recorded)"
        )
        console.print(
            f"  so linkage accounts for {s.false_overstays - b.false_overstays:+d} false overstays "
            f"({(s.false_overstays - b.false_overstays) / s.matched if s.matched else 0:+.3%} of stays) and "
            f"{s.missed_overstays - b.missed_overstays:+d} missed overstays"
        )


def print_pair(view: object) -> None:
    from stayledger.identity.scoring import PairExplanation
    from stayledger.usecases.review import PairView

    assert isinstance(view, PairView)
    table = uncut_table("field", view.left.event_id, view.right.event_id,
                        whole=("field", view.left.event_id, view.right.event_id))
    for name in ("kind", "occurred_on", "source", "surname", "given_names", "date_of_birth", "sex", "nationality",
                 "document_type", "document_number", "document_issuer"):
        a, b = getattr(view.left, name), getattr(view.right, name)
        mark = "" if a == b else "[yellow]"
        table.add_row(name, f"{mark}{escape(str(a or ''))}", f"{mark}{escape(str(b or ''))}")
    print_uncut(table)
    console.print(f"currently {'the same person' if view.same_person else 'different persons'}"
                  + (f"; review: {view.item.status}" + (f" by {view.item.decided_by}" if view.item.decided_by else "") if view.item else ""))
    for decision in view.history:
        console.print(f"  {decision.decided_at:%Y-%m-%d %H:%M} {decision.status} by {escape(decision.decided_by)}"
                      + (f": {escape(decision.note)}" if decision.note else ""))
    if len(view.history) > 1:
        console.print(f"  the latest of {len(view.history)} decisions applies")
    for line in view.evidence:
        console.print(escape(line))
    if isinstance(view.explanation, PairExplanation):
        typer.echo(waterfall_text(view.explanation))
    else:
        console.print("no linkage model yet (run `stayledger resolve`): no probabilistic explanation")


def waterfall_text(explanation: Any) -> str:
    """A text waterfall of a pair explanation: the prior, each comparison's level and weight with the running
    total, the result. Columns are as wide as their longest entry: no level name or value is cut."""
    rows: list[tuple[str, str, str, str, str | None]] = [("prior", f"two random events match: {explanation.prior_probability:.3g}",
             f"{explanation.prior_weight:+.2f}", f"{explanation.prior_weight:+.2f}", None)]
    running = explanation.prior_weight
    for part in explanation.comparisons:
        running += part.match_weight
        level = part.level if not part.tf_adjustment else f"{part.level} (name frequency {part.tf_adjustment:+.2f})"
        values = f"{part.value_a or '∅'} / {part.value_b or '∅'}"
        rows.append((part.name, level, f"{part.match_weight:+.2f}", f"{running:+.2f}", values))
    rows.append(("result", f"match probability {explanation.final_probability:.6f}", "",
                 f"{explanation.final_weight:+.2f}", None))
    step = max(16, *(len(r[0]) for r in rows))
    level_width = max(len(r[1]) for r in rows)
    lines = [f"{'step':<{step}} {'level':<{level_width}} {'weight':>8} {'total':>8}"]
    for name, level, weight, total, compared in rows:
        lines.append(f"{name:<{step}} {level:<{level_width}} {weight:>8} {total:>8}")
        if compared is not None:
            lines.append(f"{'':<{step}}   {compared}")
    return "\n".join(lines)


def write_chart(spec: dict, out: Path) -> None:
    import vl_convert as vlc

    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".png":
        out.write_bytes(vlc.vegalite_to_png(spec, scale=2))
    elif suffix == ".html":
        svg = vlc.vegalite_to_svg(spec)
        out.write_text(f"<!doctype html><meta charset='utf-8'><title>link explanation</title>{svg}", encoding="utf-8")
    else:
        out.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")


def print_person(view: object, day: object) -> None:
    from stayledger.usecases.lookup import PersonView

    assert isinstance(view, PersonView)
    console.print(f"[bold]person {view.person_id}[/] — {len(view.events)} events, as of {day} (lookup logged)")
    table = uncut_table("date", "kind", "event", "source", "name", "born", "nat.", "document", "class / until", "link p",
                        whole=("date", "kind", "event", "source", "born", "nat.", "document", "link p"))
    for event, probability in view.events:
        detail = event.admission_class or event.change or ""
        if event.event_id in view.superseded:
            detail = f"[strike]{detail}[/strike] superseded"
        if event.corrects:
            detail += f" (corrects {event.corrects})"
        until = event.admitted_until or event.new_until
        if until:
            detail += f" → {until}"
        if event.duration_of_status:
            detail += " D/S"
        table.add_row(
            str(event.occurred_on), event.kind, event.event_id, event.source,
            f"{event.surname}, {event.given_names or ''}".strip(", "), event.date_of_birth, event.nationality,
            event.document_number or "", detail, "key" if probability is None else f"{probability:.3f}",
        )
    print_uncut(table)
    for line in view.document_history:
        console.print(escape(line))
    for stay in view.stays:
        console.print(
            f"\n[bold]stay {stay.arrival_event_id}[/]: [bold]{stay.status.value}[/]"
            + (f", {stay.overstay_days} days over" if stay.overstay_days else "")
            + f"; authorised until {stay.authorized_until or 'open-ended (D/S)'} ({stay.rule_pack} {stay.rule_version})"
        )
        for step in stay.steps:
            console.print(f"  • {step}")
        if stay.uncertain_links:
            console.print(f"  [yellow]relies on unreviewed links:[/] {', '.join(stay.uncertain_links)}")
        misses = view.near_misses.get(stay.arrival_event_id)
        if misses:
            console.print("  nearest departure records not linked to this person (check before acting):")
            for miss in misses:
                console.print(f"    {miss.event_id} {miss.kind} on {miss.occurred_on}, link probability {miss.probability:.3g}")
                for reason in miss.against:
                    console.print(f"      against: {escape(reason)}")
            console.print("    if one is this traveller: `stayledger review accept ARRIVAL DEPARTURE --note WHY`")
        elif stay.status.value == "overstay":
            console.print("  no departure record of anyone else comes close")


