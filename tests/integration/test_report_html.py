"""The overstay report end to end: DuckDB ledger → identities → stays → report → self-contained HTML with charts."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from stayledger.domain.events import Event
from stayledger.reports.groups import OTHER_B, STUDENTS, VISA_WAIVER
from stayledger.reports.overstays import OverstayReport, aggregate_overstays
from stayledger.reports.render import overstay_csv, overstay_html
from stayledger.storage.base import make_batch
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.report import report_overstays, stay_facts
from stayledger.usecases.resolve import resolve_identities
from tests.access import ADMIN

AS_OF = date(2025, 12, 31)


class _Ledger:
    """A few hundred synthetic events whose report figures are known by construction."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.people = 0

    def add(self, n: int, *, cls: str, nat: str, mode: str | None, outcome: str, ds: bool = False) -> None:
        for _ in range(n):
            self.people += 1
            i = self.people
            arrived = date(2024, 11, 1) + timedelta(days=i % 120)
            until = arrived + timedelta(days=90)
            person = {"source": "cbp", "surname": f"TRAVELLER{i}", "date_of_birth": "1985-05-05",
                      "nationality": nat, "document_number": f"D{i:08d}"}
            self.events.append(Event(
                event_id=f"ARR-{i}", kind="arrival", occurred_on=arrived, mode=mode, admission_class=cls,
                admitted_until=None if ds else until, duration_of_status=ds, **person,
            ))
            if outcome == "on_time":
                self.events.append(Event(event_id=f"DEP-{i}", kind="departure", occurred_on=until - timedelta(days=3), **person))
            elif outcome == "late":
                self.events.append(Event(event_id=f"DEP-{i}", kind="departure", occurred_on=until + timedelta(days=20), **person))
            elif outcome == "pending":
                self.events.append(Event(event_id=f"EXT-{i}", kind="status_change", occurred_on=until - timedelta(days=10),
                                         change="extension_filed", **person))
            elif outcome == "adjusted":
                self.events.append(Event(event_id=f"ADJ-{i}", kind="status_change", occurred_on=until - timedelta(days=10),
                                         change="adjusted_to_permanent", **person))
            # "none": no departure recorded


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[OverstayReport, OverstayReport]:
    ledger = _Ledger()
    ledger.add(100, cls="WT", nat="FRA", mode="air", outcome="on_time")
    ledger.add(12, cls="WT", nat="FRA", mode="air", outcome="late")
    ledger.add(15, cls="WT", nat="FRA", mode="air", outcome="none")
    ledger.add(40, cls="F1", nat="IND", mode="sea", outcome="on_time")
    ledger.add(20, cls="F1", nat="IND", mode="sea", outcome="none")
    ledger.add(30, cls="B2", nat="MEX", mode="land", outcome="none")
    ledger.add(15, cls="B2", nat="CAN", mode=None, outcome="none")
    ledger.add(20, cls="F1", nat="CHN", mode="air", outcome="none", ds=True)
    ledger.add(25, cls="B2", nat="BRA", mode="air", outcome="pending")
    ledger.add(10, cls="B2", nat="BRA", mode="air", outcome="adjusted")
    ledger.add(3, cls="B2", nat="TUV", mode="air", outcome="none")
    store = DuckDBStore(tmp_path_factory.mktemp("report") / "ledger.duckdb")
    try:
        n = len(ledger.events)
        store.append_events(make_batch(ledger.events, ["synthetic"] * n, [f"line {i}" for i in range(n)], ["{}"] * n), [])
        resolve_identities(store, ADMIN)
        exact = aggregate_overstays(stay_facts(store, AS_OF), 2025, threshold=1)
        return report_overstays(store, ADMIN, 2025, AS_OF), exact
    finally:
        store.close()


@pytest.fixture(scope="module")
def report(reports: tuple[OverstayReport, OverstayReport]) -> OverstayReport:
    return reports[0]


@pytest.fixture(scope="module")
def exact(reports: tuple[OverstayReport, OverstayReport]) -> OverstayReport:
    """The same figures with nothing withheld (threshold 1), to check every published cell against."""
    return reports[1]


def test_the_exact_figures_are_the_constructed_ones(exact):
    assert (exact.total.expected_departures, exact.total.out_of_country_overstays,
            exact.total.suspected_in_country_overstays) == (225, 12, 38)
    assert _row(exact, VISA_WAIVER).suspected_in_country_overstays == 15


def _row(report: OverstayReport, label: str):
    return next(r for r in (*report.by_class_group, *report.by_nationality) if r.label == label)


def test_the_cohort_is_air_and_sea_stays_ending_in_the_year(report):
    assert report.total.expected_departures == 225
    assert report.excluded_land == 30
    assert report.excluded_unknown_mode == 15
    assert report.excluded_open_ended == 20


def test_published_cells_match_the_constructed_outcomes(report):
    total = report.total
    assert (total.expected_departures, total.out_of_country_overstays, total.suspected_in_country_overstays,
            total.total_overstays) == (225, 12, 38, 50)
    assert _row(report, VISA_WAIVER).expected_departures == 127
    assert _row(report, VISA_WAIVER).total_overstays == 27
    assert _row(report, STUDENTS).expected_departures == 60
    # pending extensions and adjustments are expected departures, never overstays
    assert _row(report, OTHER_B).expected_departures == 38
    assert _row(report, "BRA").total_overstays == 0


def test_three_in_country_overstays_are_withheld_and_cannot_be_derived_from_the_total(report):
    other_b = _row(report, OTHER_B)
    assert other_b.suspected_in_country_overstays is None and other_b.total_overstays is None
    column = [r.suspected_in_country_overstays for r in report.by_class_group]
    assert column.count(None) >= 2


def test_every_published_cell_is_the_exact_count(report, exact):
    exact_rows = {(r.table, r.label): r for r in (*exact.by_class_group, *exact.by_nationality)}
    for row in (*report.by_class_group, *report.by_nationality):
        truth = exact_rows[(row.table, row.label)]
        for column in ("expected_departures", "out_of_country_overstays", "suspected_in_country_overstays",
                       "total_overstays", "needs_review", "total_overstay_rate", "suspected_in_country_rate"):
            if row.value(column) is not None:
                assert row.value(column) == truth.value(column), (row.label, column)


def test_a_nationality_with_three_stays_is_withheld(report):
    tuv = _row(report, "TUV")
    assert tuv.expected_departures is None and tuv.total_overstays is None


def test_the_csv_lists_both_tables(report):
    text = overstay_csv(report)
    assert text.count("\n2025,2025-12-31,class_group,") == 5
    assert ",nationality,TUV," in text


@pytest.fixture(scope="module")
def page(report: OverstayReport, tmp_path_factory: pytest.TempPathFactory) -> str:
    html = overstay_html(report)
    (tmp_path_factory.mktemp("html") / "overstays.html").write_text(html, encoding="utf-8")
    return html


def test_the_html_page_makes_no_external_request(page):
    without_namespaces = re.sub(r'xmlns(:\w+)?="http://www\.w3\.org/[^"]*"', "", page)
    assert "http://" not in without_namespaces and "https://" not in without_namespaces
    lowered = page.lower()
    assert "<script" not in lowered and "<link" not in lowered and "<iframe" not in lowered
    assert "@import" not in lowered and "url(" not in lowered and " src=" not in lowered


def test_the_html_page_has_the_tables_and_two_inline_charts(page):
    assert page.count("<table>") == 2
    assert page.count("<svg") == 2
    assert "Overstay rate by class group" in page
    assert "nationalities by total overstay rate" in page
    assert "Fiscal year 2025".lower() in page.lower() and "as of 2025-12-31" in page


def test_the_html_page_holds_no_personal_data(page):
    assert "TRAVELLER" not in page and "D000000" not in page and "1985-05-05" not in page
    assert "ARR-" not in page
