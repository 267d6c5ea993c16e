"""The overstay report as a terminal table, a CSV file and a self-contained HTML briefing with charts.

Rendering only: every number comes from an ``OverstayReport``, whose withheld cells are already ``None``,
so nothing here can reveal a suppressed value. Withheld cells show as ``*`` (terminal, HTML) or empty with
the column named in ``suppressed`` (CSV); one mark for every withheld cell, so that a reader cannot tell a
small cell from one withheld to protect it. The HTML page makes no network request: CSS is inline and the
charts are Vega-Lite specifications rendered to inline SVG by ``vl-convert-python`` (bundled engine, no
browser, no CDN).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from html import escape
from typing import Any, Callable, Final, Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text

from stayledger.domain.countries import ICAO_SPECIAL
from stayledger.errors import ConfigurationError
from stayledger.reports.overstays import (
    COUNT_COLUMNS,
    EXPECTED,
    IN_COUNTRY,
    IN_COUNTRY_RATE,
    NEEDS_REVIEW,
    OUT_OF_COUNTRY,
    TOTAL,
    TOTAL_RATE,
    OverstayReport,
    ReportRow,
)

SUPPRESSED_MARK: Final = "*"
NO_RATE_MARK: Final = "–"  # no expected departures, so no rate
TOTAL_TEXT: Final = "Total"
TOP_NATIONALITIES: Final = 15

DISPLAY_COLUMNS: Final = (EXPECTED, OUT_OF_COUNTRY, IN_COUNTRY, TOTAL, TOTAL_RATE, IN_COUNTRY_RATE, NEEDS_REVIEW)
RATE_COLUMNS: Final = frozenset({TOTAL_RATE, IN_COUNTRY_RATE})
COLUMN_TITLES: Final = {
    EXPECTED: "Expected departures",
    OUT_OF_COUNTRY: "Out-of-country overstays",
    IN_COUNTRY: "Suspected in-country overstays",
    TOTAL: "Total overstays",
    TOTAL_RATE: "Total overstay rate",
    IN_COUNTRY_RATE: "Suspected in-country rate",
    NEEDS_REVIEW: "Needs review",
}
CSV_HEADER: Final = (
    "fiscal_year",
    "as_of",
    "table",
    "label",
    EXPECTED,
    OUT_OF_COUNTRY,
    IN_COUNTRY,
    TOTAL,
    f"{TOTAL_RATE}_percent",
    f"{IN_COUNTRY_RATE}_percent",
    NEEDS_REVIEW,
    "suppressed",
)

IN_COUNTRY_COLOUR: Final = "#b2182b"
OUT_OF_COUNTRY_COLOUR: Final = "#ef8a62"
TOTAL_COLOUR: Final = "#2c5282"


# --- shared wording ----------------------------------------------------------------------------------


def format_cell(row: ReportRow, column: str) -> str:
    """A cell as text: counts with thousands separators, rates as percentages, withheld cells as ``*``."""
    if column in row.suppressed:
        return SUPPRESSED_MARK
    value = row.value(column)
    if value is None:
        return NO_RATE_MARK
    if column in RATE_COLUMNS:
        return f"{value * 100:.2f}%"
    return f"{value:,}"


def nationality_label(code: str) -> str:
    """The alpha-3 code, with the meaning of the ICAO codes that are not countries (e.g. XXA)."""
    meaning = ICAO_SPECIAL.get(code)
    return f"{code} ({meaning})" if meaning else code


def _count_text(count: int | None, threshold: int) -> str:
    return f"fewer than {threshold}" if count is None else f"{count:,}"


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def definitions(report: OverstayReport) -> list[tuple[str, str]]:
    """The terms a reader needs, in the words the page and the terminal both use."""
    t = report.threshold
    return [
        (
            "Expected departures (cohort)",
            f"Stays admitted by air or sea whose authorised stay ends between {_long_date(report.period_start)} and "
            f"{_long_date(report.period_end)}. The end is the last authorised date after any extension or change "
            "of status; the class group is the class at that end; the nationality is that of the document "
            "presented at arrival.",
        ),
        ("Out-of-country overstay", "A departure recorded after the authorised stay ended, or the traveller's own "
         "report of a departure after that date."),
        ("Suspected in-country overstay", "No departure recorded and the authorised stay had ended by the as-of date, "
         "with no timely extension or change application pending."),
        ("Not an overstay", "A timely extension, change or adjustment of status (pending, adjusted), a stay not yet "
         "ended (in status), or a departure on or before the last authorised day."),
        ("Needs review", "The records cannot decide the stay (for example an identity link nobody has reviewed yet, "
         "or a re-entry after the stay ended with no departure recorded). Counted among expected departures, "
         "never as overstays, and shown so that the uncertainty stays visible."),
        ("Rates", "Overstays divided by expected departures."),
        (
            "Suppression",
            f"Counts from 1 to {t - 1} are withheld ({SUPPRESSED_MARK}); a row with fewer than {t} expected "
            f"departures is withheld entirely; a rate is withheld when its count or its denominator is. Further "
            "cells are withheld where a withheld cell could otherwise be worked out from a total "
            "(total = out-of-country + in-country; the total row = the sum of the rows). "
            f"{SUPPRESSED_MARK} therefore does not always mean a small number.",
        ),
    ]


def notes(report: OverstayReport) -> list[str]:
    """Footnotes: what was left out of the cohort and how to read the figures."""
    t = report.threshold
    out = [
        f"Not in the cohort: {_count_text(report.excluded_land, t)} land arrivals and "
        f"{_count_text(report.excluded_unknown_mode, t)} arrivals with no recorded mode whose authorised stay "
        "ends in the year (the report covers air and sea only; an unknown mode is not guessed).",
        f"Not in any cohort: {_count_text(report.excluded_open_ended, t)} stays that began by "
        f"{report.period_end} with no end date (duration of status with no programme end recorded, or an "
        "arrival without an admit-until date).",
        "Secondary suppression reasons about each total on its own; it is not a full audit of every "
        "combination of published figures.",
        "Aggregates only: the report contains no names, documents, dates of birth or person identifiers.",
    ]
    if report.provisional:
        out.insert(
            0,
            f"Provisional: statuses were determined as of {report.as_of}, before the fiscal year ended; "
            f"{_count_text(report.still_in_status, t)} stays in the cohort had not yet reached their last "
            "authorised day and count as expected departures only.",
        )
    return out


def _as_of_text(report: OverstayReport) -> str:
    return str(report.as_of) if report.as_of else "not recorded"


def _nationality_rows(report: OverstayReport) -> tuple[list[ReportRow], int]:
    """Rows worth listing in a briefing (expected departures or some non-zero count published) and how many
    are left to the CSV because nothing but zeros is published for them."""
    rows = [r for r in report.by_nationality if not r.is_total]
    shown = [r for r in rows if r.expected_departures is not None or any(r.value(c) for c in COUNT_COLUMNS)]
    return shown, len(rows) - len(shown)


# --- terminal ----------------------------------------------------------------------------------------


def _rich_table(title: str, first_column: str, rows: Iterable[ReportRow], label: Callable[[str], str]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(first_column)
    for column in DISPLAY_COLUMNS:
        table.add_column(COLUMN_TITLES[column], justify="right")
    for row in rows:
        if row.is_total:
            table.add_section()
        cells = [TOTAL_TEXT if row.is_total else label(row.label)]
        cells += [format_cell(row, c) for c in DISPLAY_COLUMNS]
        table.add_row(*cells, style="bold" if row.is_total else None)
    return table


def terminal_report(report: OverstayReport) -> Group:
    """The report as rich renderables: heading, the two tables, definitions of the marks, footnotes."""
    heading = Text(
        f"Overstay report, fiscal year {report.fiscal_year} ({report.period_start} .. {report.period_end}); "
        f"statuses as of {_as_of_text(report)}",
        style="bold",
    )
    by_class = _rich_table("By admission-class group", "Class group", report.by_class_group, str)
    shown, withheld = _nationality_rows(report)
    total = report.by_nationality[-1]
    by_nat = _rich_table("By nationality", "Nationality", [*shown, total], nationality_label)
    parts: list[Any] = [heading, by_class, by_nat]
    if withheld:
        parts.append(Text(f"{withheld} nationalities with their expected departures withheld and no other count "
                          "above zero published are not listed; their stays are in the total and the CSV lists them."))
    parts.append(Text(f"{SUPPRESSED_MARK} withheld for privacy; {NO_RATE_MARK} no expected departures.", style="dim"))
    parts.extend(Text(f"• {n}", style="dim") for n in notes(report))
    return Group(*parts)


# --- CSV ---------------------------------------------------------------------------------------------


def _csv_value(row: ReportRow, column: str) -> str:
    value = row.value(column)
    if value is None:
        return ""
    if column in RATE_COLUMNS:
        return f"{value * 100:.4f}"
    return str(value)


def overstay_csv(report: OverstayReport) -> str:
    """Both tables in one CSV: a ``table`` column (class_group / nationality), withheld cells empty and named
    in the ``suppressed`` column (``;``-separated), rates in percent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    columns = (EXPECTED, OUT_OF_COUNTRY, IN_COUNTRY, TOTAL, TOTAL_RATE, IN_COUNTRY_RATE, NEEDS_REVIEW)
    as_of = report.as_of.isoformat() if report.as_of else ""
    for row in (*report.by_class_group, *report.by_nationality):
        withheld = ";".join(c for c in columns if c in row.suppressed)
        writer.writerow([report.fiscal_year, as_of, row.table, row.label, *(_csv_value(row, c) for c in columns), withheld])
    return buffer.getvalue()


# --- charts ------------------------------------------------------------------------------------------


def _out_of_country_rate(row: ReportRow) -> float | None:
    if row.out_of_country_overstays is None or not row.expected_departures:
        return None
    return row.out_of_country_overstays / row.expected_departures


def class_group_chart_spec(report: OverstayReport) -> tuple[dict[str, Any] | None, list[str]]:
    """Vega-Lite spec of overstay rates by class group (in-country and out-of-country stacked), and the
    groups left out because a part of their bar is withheld or they have no expected departures."""
    values: list[dict[str, Any]] = []
    left_out: list[str] = []
    for row in report.by_class_group:
        outside, inside = _out_of_country_rate(row), row.suspected_in_country_rate
        if outside is None or inside is None:
            left_out.append(row.label)
            continue
        label = "All classes" if row.is_total else row.label
        values.append({"group": label, "kind": "Suspected in-country", "rate": round(inside * 100, 4)})
        values.append({"group": label, "kind": "Out-of-country", "rate": round(outside * 100, 4)})
    if not values:
        return None, left_out
    order = [v["group"] for v in values[::2]]
    spec = {
        "width": 520,
        "height": {"step": 34},
        "title": {"text": "Overstay rate by class group (%)", "anchor": "start", "fontSize": 14},
        "data": {"values": values},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "group", "type": "nominal", "sort": order, "title": None, "axis": {"labelLimit": 260}},
            "x": {"field": "rate", "type": "quantitative", "stack": "zero", "title": "% of expected departures"},
            "color": {
                "field": "kind",
                "type": "nominal",
                "scale": {"domain": ["Suspected in-country", "Out-of-country"], "range": [IN_COUNTRY_COLOUR, OUT_OF_COUNTRY_COLOUR]},
                "legend": {"orient": "bottom", "title": None},
            },
            "order": {"field": "kind", "sort": "descending"},
        },
        "config": {"font": "sans-serif", "view": {"stroke": None}},
    }
    return spec, left_out


def nationality_chart_spec(report: OverstayReport, top: int = TOP_NATIONALITIES) -> dict[str, Any] | None:
    """Vega-Lite spec of the nationalities with the highest total overstay rate, among published rates only."""
    rated = [r for r in report.by_nationality if not r.is_total and r.total_overstay_rate is not None]
    rated.sort(key=lambda r: (-(r.total_overstay_rate or 0.0), r.label))
    chosen = rated[:top]
    if not chosen:
        return None
    values = [
        {"nationality": r.label, "rate": round((r.total_overstay_rate or 0.0) * 100, 4), "text": format_cell(r, TOTAL_RATE)}
        for r in chosen
    ]
    order = [v["nationality"] for v in values]
    return {
        "width": 520,
        "height": {"step": 22},
        "title": {"text": f"Top {len(chosen)} nationalities by total overstay rate (%)", "anchor": "start", "fontSize": 14},
        "data": {"values": values},
        "encoding": {
            "y": {"field": "nationality", "type": "nominal", "sort": order, "title": None},
            "x": {"field": "rate", "type": "quantitative", "title": "% of expected departures"},
        },
        "layer": [
            {"mark": {"type": "bar", "color": TOTAL_COLOUR}},
            {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 11}, "encoding": {"text": {"field": "text"}}},
        ],
        "config": {"font": "sans-serif", "view": {"stroke": None}},
    }


def svg_chart(spec: dict[str, Any]) -> str:
    """Render a Vega-Lite spec to an SVG string, offline (vl-convert bundles the Vega engine)."""
    try:
        import vl_convert
    except ImportError:
        raise ConfigurationError(
            "HTML charts need the vl-convert-python package: pip install 'vl-convert-python==1.9.0.post1'"
        ) from None
    svg: str = vl_convert.vegalite_to_svg(json.dumps(spec))
    return svg


# --- HTML --------------------------------------------------------------------------------------------

_CSS: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2430; margin: 2rem auto;
       max-width: 72rem; padding: 0 1.5rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 1px solid #d5dae1; padding-bottom: 0.25rem; }
.meta { color: #4a5568; margin-top: 0; }
.banner { background: #fff4e5; border-left: 4px solid #dd6b20; padding: 0.6rem 0.9rem; }
.key { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1.2rem 0; }
.key div { border: 1px solid #d5dae1; border-radius: 6px; padding: 0.6rem 0.9rem; min-width: 10rem; }
.key b { display: block; font-size: 1.35rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; margin: 0.6rem 0; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { padding: 0.3rem 0.55rem; border-bottom: 1px solid #e2e8f0; }
th { background: #f1f4f8; text-align: right; vertical-align: bottom; }
th:first-child, td:first-child { text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 700; border-top: 2px solid #1d2430; }
figure { margin: 1.2rem 0; }
figcaption, .small { font-size: 0.85rem; color: #4a5568; }
dl { display: grid; grid-template-columns: 14rem 1fr; gap: 0.35rem 1rem; font-size: 0.9rem; }
dt { font-weight: 600; }
dd { margin: 0; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } table, figure { break-inside: avoid; } }
"""


def _html_table(caption: str, first_column: str, rows: Iterable[ReportRow], label: Callable[[str], str]) -> str:
    head = "".join(f"<th scope=\"col\">{escape(COLUMN_TITLES[c])}</th>" for c in DISPLAY_COLUMNS)
    body = []
    for row in rows:
        name = TOTAL_TEXT if row.is_total else label(row.label)
        cells = "".join(f"<td>{escape(format_cell(row, c))}</td>" for c in DISPLAY_COLUMNS)
        css = ' class="total"' if row.is_total else ""
        body.append(f"<tr{css}><th scope=\"row\">{escape(name)}</th>{cells}</tr>")
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr><th scope=\"col\">{escape(first_column)}</th>{head}"
        f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _key_figures(report: OverstayReport) -> str:
    total = report.total
    figures = [
        ("Expected departures", format_cell(total, EXPECTED)),
        ("Total overstay rate", format_cell(total, TOTAL_RATE)),
        ("Suspected in-country rate", format_cell(total, IN_COUNTRY_RATE)),
        ("Needs review", format_cell(total, NEEDS_REVIEW)),
    ]
    return '<div class="key">' + "".join(f"<div>{escape(k)}<b>{escape(v)}</b></div>" for k, v in figures) + "</div>"


def _figure(spec: dict[str, Any] | None, caption: str, empty: str) -> str:
    if spec is None:
        return f'<p class="small">{escape(empty)}</p>'
    return f"<figure>{svg_chart(spec)}<figcaption>{escape(caption)}</figcaption></figure>"


def overstay_html(report: OverstayReport, *, charts: bool = True) -> str:
    """A self-contained HTML briefing (inline CSS and SVG, no scripts, no external references)."""
    fy = report.fiscal_year
    title = f"Overstay report, fiscal year {fy}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>",
        f'<p class="meta">Authorised stays ending {escape(_long_date(report.period_start))} – '
        f"{escape(_long_date(report.period_end))} · arrivals by air and sea · statuses as of "
        f"{escape(_as_of_text(report))} · cells under {report.threshold} withheld</p></header>",
    ]
    if report.provisional:
        parts.append(f'<p class="banner">{escape(notes(report)[0])}</p>')
    parts.append(_key_figures(report))

    parts.append("<h2>By admission-class group</h2>")
    parts.append(_html_table(f"Table 1. Expected departures and overstays by class group, FY{fy}", "Class group",
                             report.by_class_group, str))
    if charts:
        spec, left_out = class_group_chart_spec(report)
        caption = "Figure 1. Suspected in-country and out-of-country overstays as a share of expected departures."
        if left_out:
            caption += " Not shown (a part withheld or no expected departures): " + "; ".join(left_out) + "."
        parts.append(_figure(spec, caption, "Figure 1 omitted: no class group has both overstay rates published."))

    shown, withheld = _nationality_rows(report)
    parts.append("<h2>By nationality</h2>")
    parts.append(_html_table(f"Table 2. Expected departures and overstays by nationality, FY{fy} (largest first)",
                             "Nationality", [*shown, report.by_nationality[-1]], nationality_label))
    if withheld:
        parts.append(f'<p class="small">{withheld} nationalities with their expected departures withheld and no '
                     "other count above zero published are not listed; their stays are in the total.</p>")
    if charts:
        caption = (f"Figure 2. Nationalities with the highest total overstay rate; only rates whose counts are "
                   f"published (at least {report.threshold}, or zero) are ranked.")
        parts.append(_figure(nationality_chart_spec(report), caption, "Figure 2 omitted: no nationality rate is published."))

    parts.append("<h2>Definitions</h2><dl>")
    parts.extend(f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>" for term, text in definitions(report))
    parts.append("</dl>")
    parts.append("<h2>Notes</h2><ol class=\"small\">")
    parts.extend(f"<li>{escape(n)}</li>" for n in notes(report))
    parts.append(f"<li>{escape(SUPPRESSED_MARK)} withheld for privacy; {escape(NO_RATE_MARK)} no expected departures, "
                 "so no rate.</li></ol>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
