"""The fiscal-year overstay report: cohort, overstay types, rates, groups, small-cell suppression, rendering."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stayledger.domain.events import Event
from stayledger.domain.stays import Status
from stayledger.reports.groups import ALL_OTHER, OTHER_B, STUDENTS, VISA_WAIVER
from stayledger.reports.overstays import (
    COUNT_COLUMNS,
    EXPECTED,
    IN_COUNTRY,
    IN_COUNTRY_RATE,
    NEEDS_REVIEW,
    OUT_OF_COUNTRY,
    SUPPRESSION_THRESHOLD,
    TOTAL_RATE,
    OverstayReport,
    ReportRow,
    StayFacts,
    aggregate_overstays,
    fiscal_year_bounds,
)
from stayledger.reports.render import (
    CSV_HEADER,
    SUPPRESSED_MARK,
    class_group_chart_spec,
    nationality_chart_spec,
    format_cell,
    overstay_csv,
    overstay_html,
    terminal_report,
)
from stayledger.storage.base import make_batch
from stayledger.storage.memory import MemoryStore
from stayledger.usecases.report import report_overstays
from stayledger.usecases.resolve import resolve_identities
from tests.access import ADMIN

NO_SUPPRESSION = 1  # threshold 1 withholds nothing: for tests of the counting itself
IN_FY2025 = date(2025, 3, 1)


def stay(
    status: Status = Status.DEPARTED,
    *,
    cls: str = "WT",
    nat: str = "DEU",
    mode: str | None = "air",
    until: date | None = IN_FY2025,
    arrived: date = date(2024, 12, 1),
    days: int = 0,
) -> StayFacts:
    if days == 0 and status in (Status.DEPARTED_LATE, Status.OVERSTAY):
        days = 5
    return StayFacts(cls, nat, mode, arrived, until, status, days)


def many(n: int, status: Status = Status.DEPARTED, **kw: object) -> list[StayFacts]:
    return [stay(status, **kw) for _ in range(n)]  # type: ignore[arg-type]


def total_row(report: OverstayReport) -> ReportRow:
    return report.by_class_group[-1]


def group_row(report: OverstayReport, label: str) -> ReportRow:
    return next(r for r in report.by_class_group if r.label == label)


def nationality_row(report: OverstayReport, code: str) -> ReportRow:
    return next(r for r in report.by_nationality if r.label == code)


# --- fiscal year and cohort ----------------------------------------------------------------------


def test_fiscal_year_2025_runs_from_october_2024_to_september_2025():
    assert fiscal_year_bounds(2025) == (date(2024, 10, 1), date(2025, 9, 30))


@pytest.mark.parametrize(
    ("until", "in_cohort"),
    [
        (date(2024, 9, 30), False),
        (date(2024, 10, 1), True),
        (date(2025, 9, 30), True),
        (date(2025, 10, 1), False),
    ],
)
def test_cohort_is_the_stays_whose_authorised_stay_ends_in_the_fiscal_year(until, in_cohort):
    report = aggregate_overstays([stay(until=until)], 2025, threshold=NO_SUPPRESSION)
    assert total_row(report).expected_departures == (1 if in_cohort else 0)


def test_land_arrivals_are_left_out_and_counted_in_a_footnote():
    facts = many(12, mode="land") + many(20, mode="air") + many(15, mode="sea")
    report = aggregate_overstays(facts, 2025)
    assert total_row(report).expected_departures == 35
    assert report.excluded_land == 12


def test_arrivals_with_unknown_mode_are_left_out_and_counted():
    report = aggregate_overstays(many(11, mode=None) + many(20), 2025)
    assert total_row(report).expected_departures == 20
    assert report.excluded_unknown_mode == 11


def test_land_arrivals_ending_in_another_year_are_not_counted_as_excluded_from_this_one():
    report = aggregate_overstays(many(12, mode="land", until=date(2026, 1, 1)), 2025)
    assert report.excluded_land == 0


def test_open_ended_stays_are_not_in_the_cohort_but_are_counted_when_they_began_by_year_end():
    facts = many(10, Status.IN_STATUS, until=None, arrived=date(2025, 9, 30))
    facts += many(30, Status.IN_STATUS, until=None, arrived=date(2025, 10, 1))
    report = aggregate_overstays(facts, 2025)
    assert total_row(report).expected_departures == 0
    assert report.excluded_open_ended == 10


def test_footnote_counts_below_the_threshold_are_withheld():
    report = aggregate_overstays(many(3, mode="land") + many(20), 2025)
    assert report.excluded_land is None


# --- overstay types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "days", "column"),
    [
        (Status.DEPARTED_LATE, 4, OUT_OF_COUNTRY),
        (Status.DEPARTURE_REPORTED, 3, OUT_OF_COUNTRY),
        (Status.OVERSTAY, 40, IN_COUNTRY),
        (Status.NEEDS_REVIEW, 0, NEEDS_REVIEW),
    ],
)
def test_each_status_counts_in_its_column(status, days, column):
    report = aggregate_overstays([stay(status, days=days)], 2025, threshold=NO_SUPPRESSION)
    row = total_row(report)
    assert row.value(column) == 1
    assert row.expected_departures == 1


@pytest.mark.parametrize(
    "status",
    [Status.DEPARTED, Status.PENDING, Status.ADJUSTED, Status.IN_STATUS, Status.NEEDS_REVIEW],
)
def test_timely_departures_pending_adjusted_in_status_and_needs_review_are_not_overstays(status):
    report = aggregate_overstays([stay(status)], 2025, threshold=NO_SUPPRESSION)
    row = total_row(report)
    assert row.expected_departures == 1
    assert row.total_overstays == 0


def test_a_departure_report_on_time_is_not_an_overstay():
    report = aggregate_overstays([stay(Status.DEPARTURE_REPORTED, days=0)], 2025, threshold=NO_SUPPRESSION)
    assert total_row(report).total_overstays == 0


def test_total_overstays_are_out_of_country_plus_suspected_in_country():
    facts = many(2, Status.DEPARTED_LATE) + many(3, Status.OVERSTAY) + many(1, Status.DEPARTURE_REPORTED, days=2)
    row = total_row(aggregate_overstays(facts, 2025, threshold=NO_SUPPRESSION))
    assert (row.out_of_country_overstays, row.suspected_in_country_overstays, row.total_overstays) == (3, 3, 6)


# --- rates ---------------------------------------------------------------------------------------


def test_rates_are_overstays_over_expected_departures():
    facts = many(170) + many(20, Status.DEPARTED_LATE) + many(10, Status.OVERSTAY)
    row = total_row(aggregate_overstays(facts, 2025))
    assert row.expected_departures == 200
    assert row.total_overstay_rate == pytest.approx(0.15)
    assert row.suspected_in_country_rate == pytest.approx(0.05)


def test_a_group_with_no_expected_departures_has_no_rate_and_nothing_withheld():
    row = group_row(aggregate_overstays(many(20), 2025), STUDENTS)
    assert row.expected_departures == 0
    assert row.total_overstay_rate is None and not row.suppressed
    assert format_cell(row, TOTAL_RATE) == "–"


# --- groups and nationality ----------------------------------------------------------------------


def test_class_groups_follow_the_published_overstay_report():
    facts = (
        many(10, cls="WT") + many(10, cls="WB") + many(10, cls="B2") + many(10, cls="B1")
        + many(10, cls="F1") + many(10, cls="J-1") + many(10, cls="M1") + many(10, cls="H1B")
    )
    report = aggregate_overstays(facts, 2025)
    assert [r.label for r in report.by_class_group] == [VISA_WAIVER, OTHER_B, STUDENTS, ALL_OTHER, "Total"]
    assert [r.expected_departures for r in report.by_class_group] == [20, 20, 30, 10, 80]


def test_nationality_rows_are_ordered_by_published_size_with_withheld_rows_last_in_code_order():
    facts = many(30, nat="FRA") + many(50, nat="IND") + many(3, nat="TUV") + many(4, nat="ISL") + many(10, nat="AUT")
    report = aggregate_overstays(facts, 2025)
    assert [r.label for r in report.by_nationality] == ["IND", "FRA", "AUT", "ISL", "TUV", "Total"]
    assert report.by_nationality[-1].expected_departures == 97


# --- suppression ---------------------------------------------------------------------------------


def test_threshold_is_ten():
    assert SUPPRESSION_THRESHOLD == 10


def test_a_count_under_ten_is_withheld_and_so_is_the_rate_built_on_it():
    facts = many(100) + many(5, Status.OVERSTAY) + many(30, Status.DEPARTED_LATE)
    row = total_row(aggregate_overstays(facts, 2025))
    assert row.suspected_in_country_overstays is None and IN_COUNTRY in row.suppressed
    assert row.suspected_in_country_rate is None and IN_COUNTRY_RATE in row.suppressed
    assert format_cell(row, IN_COUNTRY) == SUPPRESSED_MARK


def test_a_withheld_part_cannot_be_worked_out_from_the_total_of_its_row():
    facts = many(100) + many(5, Status.OVERSTAY) + many(30, Status.DEPARTED_LATE)
    row = total_row(aggregate_overstays(facts, 2025))
    # total = out-of-country + in-country: with in-country withheld, one of the other two must be too.
    assert row.out_of_country_overstays is None or row.total_overstays is None


def test_two_withheld_parts_that_must_both_be_nine_withhold_the_total_too():
    facts = many(100) + many(9, Status.OVERSTAY) + many(9, Status.DEPARTED_LATE)
    row = total_row(aggregate_overstays(facts, 2025))
    assert row.out_of_country_overstays is None and row.suspected_in_country_overstays is None
    assert row.total_overstays is None and row.total_overstay_rate is None


def test_a_withheld_group_cannot_be_worked_out_from_the_total_row():
    facts = many(50, cls="WT") + many(50, cls="B2") + many(50, cls="F1") + many(50, cls="H1B")
    facts += many(20, Status.OVERSTAY, cls="B2") + many(20, Status.OVERSTAY, cls="F1")
    facts += many(20, Status.OVERSTAY, cls="H1B") + many(4, Status.OVERSTAY, cls="WT")
    report = aggregate_overstays(facts, 2025)
    column = [r.suspected_in_country_overstays for r in report.by_class_group]
    assert column[0] is None
    assert column.count(None) >= 2


def test_a_row_with_fewer_than_ten_expected_departures_is_withheld_entirely_zeros_included():
    facts = many(40, nat="FRA") + many(20, Status.OVERSTAY, nat="FRA") + many(20, Status.DEPARTED_LATE, nat="FRA")
    facts += many(20, Status.NEEDS_REVIEW, nat="FRA") + many(3, nat="TUV")
    row = nationality_row(aggregate_overstays(facts, 2025), "TUV")
    assert all(row.value(c) is None for c in COUNT_COLUMNS)
    assert row.total_overstay_rate is None and row.suspected_in_country_rate is None


def test_a_zero_the_total_already_implies_stays_published_in_a_small_row():
    facts = many(40, nat="FRA") + many(20, Status.OVERSTAY, nat="FRA") + many(3, nat="TUV")
    report = aggregate_overstays(facts, 2025)
    tuv = nationality_row(report, "TUV")
    assert total_row(report).needs_review == 0 and tuv.needs_review == 0
    assert tuv.expected_departures is None and tuv.suspected_in_country_overstays is None


def test_a_zero_is_published_when_the_row_is_large_enough():
    row = total_row(aggregate_overstays(many(25), 2025))
    assert row.total_overstays == 0 and row.total_overstay_rate == 0.0


class _Spec:
    """Random small cohorts: enough cells near the threshold to exercise suppression."""

    statuses = st.sampled_from([Status.DEPARTED, Status.DEPARTED_LATE, Status.OVERSTAY, Status.NEEDS_REVIEW])
    one = st.builds(
        lambda status, cls, nat: stay(status, cls=cls, nat=nat),
        statuses,
        st.sampled_from(["WT", "B2", "F1", "H1B"]),
        st.sampled_from(["FRA", "IND", "MEX", "TUV"]),
    )
    cohorts = st.lists(st.tuples(one, st.integers(1, 25)), max_size=12).map(
        lambda pairs: [facts for facts, n in pairs for _ in range(n)]
    )


def _relations_hold(rows: list[ReportRow], total: ReportRow) -> None:
    for row in [*rows, total]:
        parts = (row.total_overstays, row.out_of_country_overstays, row.suspected_in_country_overstays)
        assert sum(p is None for p in parts) != 1, row
    for column in COUNT_COLUMNS:
        cells = [r.value(column) for r in rows] + [total.value(column)]
        assert sum(c is None for c in cells) != 1, column


@settings(max_examples=150, deadline=None)
@given(_Spec.cohorts)
def test_published_figures_are_true_never_small_and_no_withheld_cell_is_derivable(facts):
    published = aggregate_overstays(facts, 2025)
    exact = aggregate_overstays(facts, 2025, threshold=NO_SUPPRESSION)
    exact_rows = {(r.table, r.label): r for r in exact.by_class_group + exact.by_nationality}
    for row in published.by_class_group + published.by_nationality:
        truth = exact_rows[(row.table, row.label)]
        for column in (*COUNT_COLUMNS, TOTAL_RATE, IN_COUNTRY_RATE):
            value = row.value(column)
            if value is None:
                continue
            assert value == truth.value(column)
            if column in COUNT_COLUMNS:
                assert not 0 < value < SUPPRESSION_THRESHOLD
        if row.total_overstay_rate is not None:
            assert row.total_overstays is not None and row.expected_departures is not None
        if row.suspected_in_country_rate is not None:
            assert row.suspected_in_country_overstays is not None and row.expected_departures is not None
    _relations_hold(list(published.by_class_group[:-1]), published.by_class_group[-1])
    _relations_hold(list(published.by_nationality[:-1]), published.by_nationality[-1])


@settings(max_examples=60, deadline=None)
@given(_Spec.cohorts)
def test_without_suppression_each_table_adds_up_to_the_total(facts):
    report = aggregate_overstays(facts, 2025, threshold=NO_SUPPRESSION)
    for table in (report.by_class_group, report.by_nationality):
        for column in COUNT_COLUMNS:
            assert sum(r.value(column) for r in table[:-1]) == table[-1].value(column)  # type: ignore[misc]


def test_aggregation_does_not_depend_on_input_order():
    facts = many(30, nat="FRA") + many(7, Status.OVERSTAY, nat="IND") + many(40, Status.DEPARTED_LATE, cls="F1")
    assert aggregate_overstays(facts, 2025) == aggregate_overstays(list(reversed(facts)), 2025)


# --- rendering -----------------------------------------------------------------------------------


def _sample_report() -> OverstayReport:
    facts = many(400) + many(25, Status.DEPARTED_LATE) + many(12, Status.OVERSTAY) + many(11, Status.NEEDS_REVIEW)
    facts += many(200, cls="F1", nat="IND") + many(30, Status.OVERSTAY, cls="F1", nat="IND")
    facts += many(3, Status.OVERSTAY, cls="B2", nat="TUV") + many(15, mode="land")
    return aggregate_overstays(facts, 2025, as_of=date(2026, 1, 15))


def test_csv_has_a_table_column_and_leaves_withheld_cells_empty_naming_them():
    text = overstay_csv(_sample_report())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_HEADER
    assert {r["table"] for r in rows} == {"class_group", "nationality"}
    tuv = next(r for r in rows if r["label"] == "TUV")
    assert tuv[EXPECTED] == "" and EXPECTED in tuv["suppressed"].split(";")
    total = next(r for r in rows if r["table"] == "class_group" and r["label"] == "Total")
    assert total[EXPECTED] == "681" and total["as_of"] == "2026-01-15" and total["fiscal_year"] == "2025"


def test_html_holds_both_tables_definitions_and_exclusion_notes():
    page = overstay_html(_sample_report(), charts=False)
    assert "By admission-class group" in page and "By nationality" in page
    assert "<td>681</td>" in page
    assert "Visa Waiver (WT/WB)" in page and "<th scope=\"row\">DEU</th><td>448</td>" in page
    assert "15 land arrivals" in page
    assert "Suppression" in page and "as of 2026-01-15" in page
    assert "TUV" not in page  # a withheld nationality is not listed in the briefing


def test_html_says_when_figures_are_provisional():
    facts = many(20, Status.IN_STATUS)
    page = overstay_html(aggregate_overstays(facts, 2025, as_of=date(2025, 9, 1)), charts=False)
    assert "Provisional" in page


def test_terminal_report_renders_both_tables():
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(terminal_report(_sample_report()))
    text = console.export_text()
    assert "By admission-class group" in text and "By nationality" in text and "681" in text


def test_the_class_group_chart_leaves_out_groups_whose_bar_would_rest_on_a_withheld_part():
    spec, left_out = class_group_chart_spec(_sample_report())
    assert spec is not None
    charted = {v["group"] for v in spec["data"]["values"]}
    assert charted == {"All classes"}
    assert VISA_WAIVER in left_out and OTHER_B in left_out


def test_the_nationality_chart_ranks_only_published_rates_highest_first():
    facts: list[StayFacts] = []
    for rank, code in enumerate(["FRA", "IND", "DEU", "BRA", "JPN", "MEX"]):
        facts += many(100, nat=code) + many(10 + 5 * rank, Status.OVERSTAY, nat=code)
        facts += many(10 + 3 * rank, Status.DEPARTED_LATE, nat=code)
    facts += many(5, Status.OVERSTAY, nat="TUV") + many(12, nat="ISL") + many(4, Status.DEPARTED_LATE, nat="ISL")
    report = aggregate_overstays(facts, 2025)
    published = [r for r in report.by_nationality if not r.is_total and r.total_overstay_rate is not None]
    assert 0 < len(published) < len(report.by_nationality) - 1
    spec = nationality_chart_spec(report)
    assert spec is not None
    expected = sorted(published, key=lambda r: -(r.total_overstay_rate or 0))
    assert [v["nationality"] for v in spec["data"]["values"]] == [r.label for r in expected]


# --- use case ------------------------------------------------------------------------------------

_P = {"source": "cbp", "surname": "DOE", "date_of_birth": "1990-01-01"}


def _events() -> list[Event]:
    events: list[Event] = []
    for i in range(12):
        arrived = date(2024, 11, 1) + timedelta(days=i)
        base = {**_P, "nationality": "FRA", "document_number": f"FR{i:07d}"}
        events.append(Event(event_id=f"A{i}", kind="arrival", occurred_on=arrived, mode="sea",
                            admission_class="WT", admitted_until=arrived + timedelta(days=90), **base))
        events.append(Event(event_id=f"L{i}", kind="arrival", occurred_on=arrived, mode="land",
                            admission_class="B2", admitted_until=arrived + timedelta(days=90),
                            **{**base, "nationality": "MEX", "document_number": f"MX{i:07d}"}))
    return events


def test_report_overstays_takes_mode_and_nationality_from_the_arrival():
    store = MemoryStore()
    events = _events()
    store.append_events(make_batch(events, ["t"] * len(events), ["x"] * len(events), ["{}"] * len(events)), [])
    resolve_identities(store, ADMIN)
    report = report_overstays(store, ADMIN, 2025, date(2025, 12, 31))
    row = total_row(report)
    assert row.expected_departures == 12 and row.suspected_in_country_overstays == 12
    assert report.excluded_land == 12
    assert [r.label for r in report.by_nationality] == ["FRA", "Total"]
    assert report.as_of == date(2025, 12, 31)
