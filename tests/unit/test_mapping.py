"""Mapped tabular ingest: an agency's own columns, dates and code lists read onto canonical events."""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stayledger.domain.events import parse_event
from stayledger.errors import ConfigurationError
from stayledger.formats.mapping import (
    TabularMapping,
    compile_date_format,
    convert_date,
    load_mapping,
    mapped_records,
    parse_mapping,
    unmapped_columns,
)
from stayledger.formats.mrz import build_mrz

TODAY = date(2026, 1, 15)

BASE = """
[source]
date_formats = ["%d/%m/%Y", "%Y%m%d"]

[constants]
kind = "departure"
source = "border"

[fields]
event_id = "ID"
occurred_on = "DATE"
surname = "NAME"
date_of_birth = "DOB"
nationality = "NAT"
"""
HEADER = "ID,DATE,NAME,DOB,NAT"
ROW = "1,05/03/2025,MUELLER,12/08/1974,DEU"

MRZ_TD3 = "".join(build_mrz(
    "TD3", document_code="P", issuing_state="D", surname="Müller", given_names="Anna Lena",
    document_number="C01X00T47", nationality="D", date_of_birth=date(1974, 8, 12), sex="F",
    expiry_date=date(2032, 3, 9),
))
MRZ_MAPPING = """
[source]
date_formats = ["%Y%m%d"]
[constants]
kind = "departure"
source = "carrier"
[fields]
event_id = "ID"
occurred_on = "DATE"
mrz = "MRZ"
"""


def mapping_of(text: str, name: str = "agency.toml") -> TabularMapping:
    return parse_mapping(tomllib.loads(text), name)


def with_fields(extra: str, base: str = BASE) -> TabularMapping:
    return mapping_of(base + extra)


def write_csv(tmp_path: Path, *lines: str, name: str = "export.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def records(tmp_path: Path, mapping: TabularMapping, *lines: str, **options):
    return list(mapped_records(write_csv(tmp_path, *lines, **options), mapping, today=TODAY))


def one(tmp_path: Path, mapping: TabularMapping, header: str, row: str) -> dict:
    [record] = records(tmp_path, mapping, header, row)
    assert record.problem is None, record.problem
    return record.fields


def problem_of(tmp_path: Path, mapping: TabularMapping, header: str, row: str) -> str:
    [record] = records(tmp_path, mapping, header, row)
    assert record.fields is None
    return record.problem


# ---------------------------------------------------------------------------------------------------------
# The mapping itself is checked before any file is read, and every error names the key.


@pytest.mark.parametrize(
    ("extra", "key", "reason"),
    [
        ('nationalty = "X"\n', "fields.nationalty", "unknown canonical field"),
        ('sex = { colum = "G" }\n', "fields.sex.colum", "unknown option (known: column, columns"),
        ('sex = { column = "G", codes = ["M", "F"] }\n', "fields.sex.codes", "expected a table, got a list"),
        ('sex = { column = "G", codes = { Male = 1 } }\n', "fields.sex.codes.Male", "expected a string, got a number"),
        ('sex = { column = "G", codes = { Male = "M", MALE = "F" } }\n', "fields.sex.codes.MALE", "listed twice"),
        ('sex = { column = "G", codes = "genders" }\n', "fields.sex.codes", "no code list named 'genders'"),
        ('sex = { column = "G", columns = ["H"] }\n', "fields.sex", "exactly one of column"),
        ('sex = { columns = [] }\n', "fields.sex.columns", "non-empty list"),
        ('sex = { column = "G", date_formats = ["%Y"] }\n', "fields.sex.date_formats", "only date fields"),
        ('admitted_until = { column = "U", date_formats = ["%d.%m"] }\n', "fields.admitted_until.date_formats[0]",
         "has no year directive"),
        ('admitted_until = { column = "U", date_formats = ["%d.%m.%Y", "%e.%m.%Y"] }\n',
         "fields.admitted_until.date_formats[1]", "%e is not supported"),
        ('source = "SRC"\n', "fields.source", "also given in constants"),
        ('mrz = { column = "MRZ", prefer = "both" }\n', "fields.mrz.prefer", 'must be "columns" or "mrz"'),
    ],
)
def test_a_mistake_in_the_fields_table_is_refused_naming_the_key(extra, key, reason):
    with pytest.raises(ConfigurationError) as caught:
        with_fields(extra)
    message = str(caught.value)
    assert message.startswith(f"agency.toml: {key}: ") and reason in message


@pytest.mark.parametrize(
    ("source", "key", "reason"),
    [
        ('encoding = "klingon"', "source.encoding", "unknown encoding 'klingon'"),
        ('delimiter = ";;"', "source.delimiter", "one character"),
        ('format = "xlsx"', "source.format", "must be one of csv, parquet"),
        ('date_formats = ["%d/%m/%Y", "%Q"]', "source.date_formats[1]", "%Q is not supported"),
        ('date_formats = "%d/%m/%Y %"', "source.date_formats[0]", "ends with a lone %"),
        ('date_formats = []', "source.date_formats", "non-empty list"),
        ('strict_codes = "yes"', "source.strict_codes", "expected true or false"),
        ('quote = "\'"', "source.quote", "unknown option"),
        ('null_values = "NULL"', "source.null_values", "expected a list"),
    ],
)
def test_a_mistake_in_the_source_table_is_refused_naming_the_key(source, key, reason):
    with pytest.raises(ConfigurationError) as caught:
        mapping_of(BASE.replace('date_formats = ["%d/%m/%Y", "%Y%m%d"]\n', f"{source}\n"))
    assert str(caught.value).startswith(f"agency.toml: {key}: ") and reason in str(caught.value)


def test_a_field_no_row_could_do_without_must_be_mapped():
    with pytest.raises(ConfigurationError, match=r"fields.occurred_on: required by every event but not mapped"):
        mapping_of(BASE.replace('occurred_on = "DATE"\n', ""))


def test_an_mrz_column_stands_in_for_the_identity_fields_a_mapping_must_provide():
    mapping = mapping_of(MRZ_MAPPING)
    assert mapping.mrz is not None and mapping.columns == ("ID", "DATE", "MRZ")


def test_an_unknown_section_and_a_bad_constant_are_refused():
    with pytest.raises(ConfigurationError, match=r"agency.toml: feilds: unknown section"):
        mapping_of(BASE + "[feilds]\n")
    with pytest.raises(ConfigurationError, match=r"constants.admitted_until: expected a date as YYYY-MM-DD"):
        mapping_of(BASE.replace("[constants]\n", '[constants]\nadmitted_until = "31/12/2025"\n'))
    with pytest.raises(ConfigurationError, match=r"constants.colour: unknown canonical field"):
        mapping_of(BASE.replace("[constants]\n", '[constants]\ncolour = "blue"\n'))


def test_a_mapping_file_that_is_not_toml_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[fields]\nsurname = "NAME\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"^broken.toml: not valid TOML \(.*line 2"):
        load_mapping(path)


def test_a_missing_column_is_reported_before_any_row_is_read_listing_the_columns(tmp_path):
    path = write_csv(tmp_path, "ID,DATE,SURNAME,DOB,NAT", "1,05/03/2025,X,12/08/1974,DEU")
    with pytest.raises(ConfigurationError) as caught:
        mapped_records(path, mapping_of(BASE), today=TODAY)  # raised on the call, not on the first row
    message = str(caught.value)
    assert "column 'NAME' (used by agency.toml) is not in the header" in message
    assert "Columns in the file: ID, DATE, SURNAME, DOB, NAT" in message


def test_a_column_that_differs_only_in_case_is_suggested(tmp_path):
    path = write_csv(tmp_path, "ID,DATE,Name,DOB,NAT", "1,05/03/2025,X,12/08/1974,DEU")
    with pytest.raises(ConfigurationError, match=r"did you mean 'Name'\?"):
        mapped_records(path, mapping_of(BASE), today=TODAY)


def test_a_header_read_with_the_wrong_delimiter_says_so(tmp_path):
    path = write_csv(tmp_path, HEADER.replace(",", ";"), ROW.replace(",", ";"))
    with pytest.raises(ConfigurationError, match=r"the header is a single column 'ID;DATE;NAME;DOB;NAT'; "
                                                 r"is source.delimiter in agency.toml right\?"):
        mapped_records(path, mapping_of(BASE), today=TODAY)


def test_an_empty_file_cannot_be_mapped(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ConfigurationError, match=r"empty.csv: the file is empty"):
        mapped_records(path, mapping_of(BASE), today=TODAY)


# ---------------------------------------------------------------------------------------------------------
# Columns, joins, constants, prefixes


def test_a_row_becomes_the_canonical_fields_that_parse_event_accepts(tmp_path):
    fields = one(tmp_path, mapping_of(BASE), HEADER, ROW)
    assert fields == {
        "event_id": "1", "kind": "departure", "source": "border", "occurred_on": "2025-03-05",
        "surname": "MUELLER", "date_of_birth": "1974-08-12", "nationality": "DEU",
    }
    assert parse_event(fields).occurred_on == date(2025, 3, 5)


def test_columns_are_joined_skipping_empty_parts(tmp_path):
    mapping = with_fields('given_names = { columns = ["FIRST", "MIDDLE", "THIRD"], join = " " }\n')
    fields = one(tmp_path, mapping, HEADER + ",FIRST,MIDDLE,THIRD", ROW + ",Anna,,Lena")
    assert fields["given_names"] == "Anna Lena"


def test_a_prefix_keeps_agency_ids_apart_and_a_default_fills_empty_cells(tmp_path):
    text = BASE.replace('event_id = "ID"', 'event_id = { column = "ID", prefix = "BA-" }')
    mapping = mapping_of(text + 'port = { column = "POST", default = "JFK" }\n')
    fields = one(tmp_path, mapping, HEADER + ",POST", ROW + ",")
    assert fields["event_id"] == "BA-1" and fields["port"] == "JFK"


def test_null_values_count_as_empty_cells_in_every_column(tmp_path):
    mapping = mapping_of(
        BASE.replace("[source]\n", '[source]\nnull_values = ["NULL", "n/a"]\n')
        + 'given_names = "GIVEN"\nport = { column = "POST", default = "JFK" }\n'
    )
    fields = one(tmp_path, mapping, HEADER + ",GIVEN,POST", ROW + ",N/A,null")
    assert "given_names" not in fields and fields["port"] == "JFK"


def test_unmapped_columns_are_named_and_never_kept(tmp_path):
    path = write_csv(tmp_path, HEADER + ",HOME_ADDRESS,PHONE", ROW + ",1 Main St,555-0100")
    mapping = mapping_of(BASE)
    assert unmapped_columns(path, mapping) == ["HOME_ADDRESS", "PHONE"]
    [record] = mapped_records(path, mapping, today=TODAY)
    assert "Main St" not in record.raw and "555" not in record.raw and "HOME_ADDRESS" not in record.raw
    assert '"NAME": "MUELLER"' in record.raw


def test_delimiter_encoding_and_byte_order_mark_follow_the_source_table(tmp_path):
    mapping = mapping_of(BASE.replace("[source]\n", '[source]\ndelimiter = ";"\nencoding = "cp1252"\n'))
    path = tmp_path / "export.csv"
    path.write_bytes("ID;DATE;NAME;DOB;NAT\n1;05/03/2025;MÜLLER;12/08/1974;DEU\n".encode("cp1252"))
    [record] = mapped_records(path, mapping, today=TODAY)
    assert record.fields["surname"] == "MÜLLER"
    utf8 = mapping_of(BASE.replace("[source]\n", '[source]\ndelimiter = ";"\n'))
    path.write_bytes("\ufeffID;DATE;NAME;DOB;NAT\n1;05/03/2025;MÜLLER;12/08/1974;DEU\n".encode("utf-8"))
    [record] = mapped_records(path, utf8, today=TODAY)
    assert record.fields["surname"] == "MÜLLER" and record.fields["event_id"] == "1"


def test_bytes_outside_the_declared_encoding_quarantine_only_their_row(tmp_path):
    mapping = mapping_of(BASE.replace("[source]\n", '[source]\nencoding = "cp1252"\n'))
    path = tmp_path / "export.csv"
    # 0x81 is undefined in Windows-1252.
    path.write_bytes(
        b"ID,DATE,NAME,DOB,NAT,NOTE\n"
        b"1,05/03/2025,M\x81LLER,12/08/1974,DEU,\n"
        b"2,05/03/2025,SMITH,12/08/1974,GBR,caf\x81\n"
    )
    bad, good = mapped_records(path, mapping, today=TODAY)
    assert bad.fields is None and bad.location == "line 2"
    assert bad.problem == "column 'NAME': not valid cp1252 text (byte 0x81); check source.encoding in the mapping"
    assert json.loads(bad.raw)["NAME"] == "M\\x81LLER"
    assert good.problem is None and good.fields["surname"] == "SMITH"  # the bad byte is in an unused column


def test_a_row_of_the_wrong_width_is_quarantined_and_blank_lines_are_skipped(tmp_path):
    short, good = records(tmp_path, mapping_of(BASE), HEADER, "1,05/03/2025,MUELLER", "", "2" + ROW[1:])
    assert short.fields is None and short.problem == "row has 3 fields but the header has 5"
    assert good.location == "line 4" and good.fields["event_id"] == "2"


# ---------------------------------------------------------------------------------------------------------
# Code lists


SEX = 'sex = { column = "GENDER", codes = { Male = "M", Female = "F", Unknown = "" } }\n'


@pytest.mark.parametrize(("cell", "expected"), [("Male", "M"), ("  female ", "F"), ("MALE", "M"), ("Unknown", None)])
def test_codes_match_ignoring_case_and_an_empty_meaning_is_absent(tmp_path, cell, expected):
    fields = one(tmp_path, with_fields(SEX), HEADER + ",GENDER", ROW + f",{cell}")
    assert fields.get("sex") == expected


def test_a_value_missing_from_a_lenient_code_list_passes_through_for_parse_event_to_judge(tmp_path):
    fields = one(tmp_path, with_fields(SEX), HEADER + ",GENDER", ROW + ",Fem")
    assert fields["sex"] == "Fem"


def test_a_value_missing_from_a_strict_code_list_quarantines_the_row_naming_column_and_value(tmp_path):
    mapping = mapping_of(BASE.replace("[source]\n", "[source]\nstrict_codes = true\n") + SEX)
    problem = problem_of(tmp_path, mapping, HEADER + ",GENDER", ROW + ",Fem")
    assert problem == "column 'GENDER' (sex): 'Fem' is not in the code list"


def test_a_field_can_override_the_strictness_of_the_source(tmp_path):
    mapping = mapping_of(
        BASE.replace("[source]\n", "[source]\nstrict_codes = true\n")
        + 'mode = { column = "MODE", codes = { Air = "air" }, strict_codes = false }\n'
    )
    assert one(tmp_path, mapping, HEADER + ",MODE", ROW + ",Rail")["mode"] == "Rail"


def test_a_named_code_list_serves_several_fields(tmp_path):
    mapping = mapping_of(
        BASE.replace('nationality = "NAT"', 'nationality = { column = "NAT", codes = "countries" }')
        + 'document_issuer = { column = "ISSUER", codes = "countries" }\n'
        + '[code_lists.countries]\nGermany = "DEU"\nDE = "DEU"\n"United Kingdom" = "GBR"\n'
    )
    fields = one(tmp_path, mapping, HEADER + ",ISSUER", "1,05/03/2025,MUELLER,12/08/1974,Germany,DE")
    assert fields["nationality"] == "DEU" and fields["document_issuer"] == "DEU"


def test_the_catch_all_code_answers_for_every_other_value(tmp_path):
    mapping = with_fields(
        'admitted_until = { column = "UNTIL", codes = { "D/S" = "" } }\n'
        'duration_of_status = { column = "UNTIL", codes = { "D/S" = "true", "*" = "false" } }\n'
    )
    ds = one(tmp_path, mapping, HEADER + ",UNTIL", ROW + ",D/S")
    dated = one(tmp_path, mapping, HEADER + ",UNTIL", ROW + ",30/06/2025")
    assert ds.get("admitted_until") is None and ds["duration_of_status"] == "true"
    assert dated["admitted_until"] == "2025-06-30" and dated["duration_of_status"] == "false"


# ---------------------------------------------------------------------------------------------------------
# Dates


def test_date_formats_are_tried_in_order_and_a_field_may_have_its_own(tmp_path):
    mapping = with_fields('admitted_until = { column = "UNTIL", date_formats = ["%d.%m.%Y"] }\n')
    fields = one(tmp_path, mapping, HEADER + ",UNTIL", "1,20250305,MUELLER,12/08/1974,DEU,01.09.2025")
    assert fields["occurred_on"] == "2025-03-05" and fields["admitted_until"] == "2025-09-01"


def test_an_impossible_date_quarantines_the_row_naming_column_value_and_format(tmp_path):
    problem = problem_of(tmp_path, mapping_of(BASE), HEADER, "1,31/02/2025,MUELLER,12/08/1974,DEU")
    assert problem == "column 'DATE' (occurred_on): '31/02/2025' is not a calendar date (%d/%m/%Y)"


def test_every_problem_in_a_row_is_named(tmp_path):
    problem = problem_of(tmp_path, mapping_of(BASE), HEADER, "1,2025-03-05,MUELLER,12/13/1974,DEU")
    assert problem == (
        "column 'DATE' (occurred_on): '2025-03-05' matches none of the date formats %d/%m/%Y, %Y%m%d; "
        "column 'DOB' (date_of_birth): '12/13/1974' has no month 13 (%d/%m/%Y)"
    )


@pytest.mark.parametrize(("cell", "expected"), [("00/05/1990", "1990-05"), ("XX/05/1990", "1990-05"),
                                                ("00/00/1960", "1960"), ("19600000", "1960"), ("19900500", "1990-05")])
def test_an_unknown_day_or_month_of_birth_gives_a_partial_date(tmp_path, cell, expected):
    fields = one(tmp_path, mapping_of(BASE), HEADER, f"1,05/03/2025,MUELLER,{cell},DEU")
    assert fields["date_of_birth"] == expected
    assert parse_event(fields).date_of_birth == expected


def test_an_unknown_day_is_refused_outside_the_birth_date(tmp_path):
    problem = problem_of(tmp_path, mapping_of(BASE), HEADER, "1,00/03/2025,MUELLER,12/08/1974,DEU")
    assert "'00/03/2025' has an unknown day or month (00/XX), allowed only in date_of_birth" in problem


def test_two_digit_birth_years_are_never_in_the_future():
    formats = (compile_date_format("%d%m%y"),)
    assert convert_date("150126", formats, birth=True, today=TODAY) == "2026-01-15"
    assert convert_date("160126", formats, birth=True, today=TODAY) == "1926-01-16"
    assert convert_date("010199", formats, birth=True, today=TODAY) == "1999-01-01"
    assert convert_date("01XX30", formats, birth=True, today=TODAY) == "1930"
    assert convert_date("010140", formats, birth=False, today=TODAY) == "2040-01-01"  # e.g. admitted until
    assert convert_date("010146", formats, birth=False, today=TODAY) == "1946-01-01"


def test_month_names_are_english_and_any_case():
    formats = (compile_date_format("%d-%b-%Y"), compile_date_format("%d %B %Y"))
    assert convert_date("05-MAR-2025", formats, birth=False, today=TODAY) == "2025-03-05"
    assert convert_date("5 september 2025", formats, birth=False, today=TODAY) == "2025-09-05"
    with pytest.raises(ValueError, match="'05-Mär-2025' matches none"):
        convert_date("05-Mär-2025", formats, birth=False, today=TODAY)
    with pytest.raises(ValueError, match="'Foo', not an English month name"):
        convert_date("05-Foo-2025", formats, birth=False, today=TODAY)


def test_adjacent_number_fields_need_two_digits_each():
    formats = (compile_date_format("%Y%m%d"),)
    with pytest.raises(ValueError, match="matches none"):
        convert_date("2025115", formats, birth=False, today=TODAY)


def test_a_timestamp_format_keeps_the_date():
    formats = (compile_date_format("%d/%m/%Y %H:%M:%S"),)
    assert convert_date("05/03/2025 23:59:01", formats, birth=False, today=TODAY) == "2025-03-05"


LAYOUTS = ["%d/%m/%Y", "%Y%m%d", "%d.%m.%Y", "%m/%d/%Y", "%d-%b-%Y", "%d %B %Y", "%Y-%m-%dT%H:%M:%S"]


@settings(max_examples=150, deadline=None)
@given(day=st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)), layout=st.sampled_from(LAYOUTS))
def test_any_date_written_in_a_layout_reads_back_as_itself(day, layout):
    text = datetime(day.year, day.month, day.day).strftime(layout)
    assert convert_date(text, (compile_date_format(layout),), birth=False, today=TODAY) == day.isoformat()


@settings(max_examples=150, deadline=None)
@given(day=st.dates(min_value=date(1927, 1, 16), max_value=TODAY))
def test_a_two_digit_birth_year_reads_back_within_the_last_hundred_years(day):
    text = day.strftime("%d%m%y")
    assert convert_date(text, (compile_date_format("%d%m%y"),), birth=True, today=TODAY) == day.isoformat()


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=14), birth=st.booleans())
def test_arbitrary_cells_either_convert_or_say_why(text, birth):
    formats = tuple(compile_date_format(f) for f in LAYOUTS)
    try:
        result = convert_date(text, formats, birth=birth, today=TODAY)
    except ValueError as exc:
        assert repr(text) in str(exc)
    else:
        assert len(result) in ((4, 7, 10) if birth else (10,))


# ---------------------------------------------------------------------------------------------------------
# The MRZ column


def test_an_mrz_column_fills_the_identity_fields(tmp_path):
    fields = one(tmp_path, mapping_of(MRZ_MAPPING), "ID,DATE,MRZ", f"7,20250328,{MRZ_TD3}")
    assert fields == {
        "event_id": "7", "kind": "departure", "source": "carrier", "occurred_on": "2025-03-28",
        "surname": "MUELLER", "given_names": "ANNA LENA", "date_of_birth": "1974-08-12", "sex": "F",
        "nationality": "DEU", "document_type": "P", "document_number": "C01X00T47", "document_issuer": "DEU",
    }
    assert parse_event(fields).document_number == "C01X00T47"


def test_explicit_columns_win_over_the_mrz_and_an_empty_one_falls_back_to_it(tmp_path):
    mapping = mapping_of(MRZ_MAPPING + 'surname = "FULL_SURNAME"\n')
    header = "ID,DATE,MRZ,FULL_SURNAME"
    assert one(tmp_path, mapping, header, f"7,20250328,{MRZ_TD3},MÜLLER")["surname"] == "MÜLLER"
    assert one(tmp_path, mapping, header, f"7,20250328,{MRZ_TD3},")["surname"] == "MUELLER"


def test_prefer_mrz_lets_the_verified_zone_win(tmp_path):
    mapping = mapping_of(MRZ_MAPPING.replace('mrz = "MRZ"', 'mrz = { column = "MRZ", prefer = "mrz" }')
                         + 'surname = "FULL_SURNAME"\n')
    assert one(tmp_path, mapping, "ID,DATE,MRZ,FULL_SURNAME", f"7,20250328,{MRZ_TD3},MÜLLER")["surname"] == "MUELLER"


def test_an_mrz_split_over_two_columns_is_joined_as_lines(tmp_path):
    mapping = mapping_of(MRZ_MAPPING.replace('mrz = "MRZ"', 'mrz = { columns = ["LINE1", "LINE2"] }'))
    fields = one(tmp_path, mapping, "ID,DATE,LINE1,LINE2", f"7,20250328,{MRZ_TD3[:44]},{MRZ_TD3[44:]}")
    assert fields["surname"] == "MUELLER"


def test_an_mrz_with_a_failing_check_digit_quarantines_the_row(tmp_path):
    misread = MRZ_TD3.replace("C01X00T478", "C01X00T418")
    problem = problem_of(tmp_path, mapping_of(MRZ_MAPPING), "ID,DATE,MRZ", f"7,20250328,{misread}")
    assert problem == f"column 'MRZ' (mrz): {misread!r}: MRZ check digit fails (document_number, composite)"


def test_an_unreadable_or_empty_mrz_quarantines_the_row(tmp_path):
    mapping = mapping_of(MRZ_MAPPING)
    problem = problem_of(tmp_path, mapping, "ID,DATE,MRZ", f"7,20250328,{MRZ_TD3[:-3]}")
    assert problem.startswith("column 'MRZ' (mrz): ") and "cannot be read as an MRZ" in problem
    assert "85 characters" in problem
    assert problem_of(tmp_path, mapping, "ID,DATE,MRZ", "7,20250328,") == (
        "column 'MRZ' (mrz): empty; this mapping reads the identity fields from the MRZ"
    )


# ---------------------------------------------------------------------------------------------------------
# Parquet


def test_parquet_native_types_map_like_text_and_only_mapped_columns_are_read(tmp_path):
    path = tmp_path / "export.parquet"
    table = pa.table({
        "ID": pa.array([1001, 1002], pa.int64()),
        "DATE": pa.array([date(2025, 3, 5), None], pa.date32()),
        "NAME": ["MUELLER", "SMITH"],
        "DOB": ["12/08/1974", "19600101"],
        "NAT": ["DEU", "GBR"],
        "DS": [True, False],
        "NOTES": ["lives at 1 Main St", ""],
    })
    pq.write_table(table, path)
    mapping = mapping_of(BASE + 'duration_of_status = "DS"\n')
    first, second = mapped_records(path, mapping, today=TODAY)
    assert first.location == "row 1" and first.fields["event_id"] == "1001"
    assert first.fields["occurred_on"] == "2025-03-05" and first.fields["duration_of_status"] is True
    assert second.fields.get("occurred_on") is None and second.fields["date_of_birth"] == "1960-01-01"
    assert "Main St" not in first.raw and unmapped_columns(path, mapping) == ["NOTES"]


def test_a_parquet_file_without_a_mapped_column_is_refused(tmp_path):
    path = tmp_path / "export.parquet"
    pq.write_table(pa.table({"ID": ["1"], "WHEN": ["05/03/2025"]}), path)
    with pytest.raises(ConfigurationError, match=r"column 'DATE' .* Columns in the file: ID, WHEN"):
        mapped_records(path, mapping_of(BASE), today=TODAY)
