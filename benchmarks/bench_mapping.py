"""Throughput of mapped tabular ingest: agency CSV rows through the example mappings into a DuckDB ledger.

Two layouts: the border agency export (column renames, code lists, two date formats, cp1252) and the
carrier exit export (identity from an MRZ column, every check digit verified). Figures: conversion alone
(mapped_records) and the whole ingest (conversion + parse_event + append).
Usage: python benchmarks/bench_mapping.py [--rows N]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from stayledger.formats.mapping import load_mapping, mapped_records
from stayledger.formats.mrz import build_mrz
from stayledger.storage.duckdb_store import DuckDBStore
from stayledger.usecases.ingest import ingest_records
from stayledger.domain.access import AccessContext, Role

ADMIN = AccessContext("benchmark", Role.ADMIN, "benchmark run")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "mappings"
TODAY = date(2026, 1, 15)
SURNAMES = ["MÜLLER", "GARCÍA", "SMITH", "NGUYEN", "IVANOV", "KOWALSKI", "TANAKA", "SILVA", "KIM", "OKAFOR"]
GIVEN = ["Anna", "José", "John", "Minh", "Olga", "Piotr", "Yuki", "Maria", "Jiho", "Chidi"]
COUNTRIES = [("Germany", "DE", "DEU"), ("Mexico", "MX", "MEX"), ("United Kingdom", "GB", "GBR"),
             ("Viet Nam", "VN", "VNM"), ("France", "FR", "FRA"), ("Ireland", "IE", "IRL"), ("Japan", "JP", "JPN"),
             ("Nigeria", "NG", "NGA")]


def write_border(path: Path, rows: int, rng: random.Random) -> None:
    header = ("RECORD_NO;DIRECTION;CROSSING_DATE;FAMILY_NAME;FIRST_NAME;MIDDLE_NAME;BIRTH_DATE;GENDER;CITIZENSHIP;"
              "PASSPORT_NO;ISSUING_COUNTRY;BORDER_POST;TRANSPORT;VISA_CLASS;ADMIT_UNTIL;OFFICER_ID;REMARKS")
    lines = [header]
    for i in range(rows):
        name, alpha2, _ = rng.choice(COUNTRIES)
        on = date(2025, 1, 1) + timedelta(days=rng.randrange(365))
        arrival = i % 2 == 0
        crossing = on.strftime("%d/%m/%Y") if i % 3 else on.strftime("%Y%m%d")
        until = (on + timedelta(days=180)).strftime("%d/%m/%Y") if arrival else ""
        lines.append(";".join((
            str(100000 + i), "IN" if arrival else "OUT", crossing, rng.choice(SURNAMES), rng.choice(GIVEN), "",
            f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1940, 2005)}", rng.choice(("Male", "Female")),
            name, f"X{rng.randrange(10**8):08d}", alpha2, "JFK", "Air", "B-2" if arrival else "", until,
            f"OF-{rng.randrange(999)}", "",
        )))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def write_carrier(path: Path, rows: int, rng: random.Random) -> None:
    lines = ["SEQ,AIRLINE,FLIGHT,DEP_DATE,DEP_AIRPORT,MRZ,SEAT,BOOKING_REF"]
    for i in range(rows):
        _, _, alpha3 = rng.choice(COUNTRIES)
        mrz = "".join(build_mrz(
            "TD3", document_code="P", issuing_state=alpha3, surname=rng.choice(SURNAMES),
            given_names=rng.choice(GIVEN), document_number=f"X{rng.randrange(10**8):08d}", nationality=alpha3,
            date_of_birth=date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)),
            sex=rng.choice("MF"), expiry_date=date(2030, 1, 1),
        ))
        on = date(2025, 1, 1) + timedelta(days=rng.randrange(365))
        lines.append(f"{i:06d},LH,LH{rng.randrange(1000)},{on:%Y%m%d},JFK,{mrz},12A,ABC123")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def measure(name: str, path: Path, tmp: Path) -> None:
    mapping = load_mapping(EXAMPLES / f"{name}.toml")
    started = time.perf_counter()
    converted = sum(1 for _ in mapped_records(path, mapping, today=TODAY))
    convert_s = time.perf_counter() - started
    store = DuckDBStore(tmp / f"{name}.duckdb")
    started = time.perf_counter()
    report = ingest_records(store, ADMIN, path.name, mapped_records(path, mapping, today=TODAY))
    ingest_s = time.perf_counter() - started
    store.close()
    print(f"{name}: {converted:,} rows, {path.stat().st_size / 1e6:.1f} MB")
    print(f"  conversion only: {convert_s:.2f} s = {converted / convert_s:,.0f} rows/s")
    print(f"  full ingest:     {ingest_s:.2f} s = {report.records / ingest_s:,.0f} rows/s "
          f"({report.added:,} added, {report.quarantined:,} quarantined)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        write_border(tmp / "border.csv", args.rows, rng)
        write_carrier(tmp / "carrier.csv", args.rows, rng)
        measure("border_agency", tmp / "border.csv", tmp)
        measure("carrier_exits", tmp / "carrier.csv", tmp)


if __name__ == "__main__":
    main()
