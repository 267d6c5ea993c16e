"""The independent population generator (benchmarks/foreign_population.py) holds namesakes at its derived
rate and placeholder or copied document numbers, with the truth keeping those people apart."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "foreign_population.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("foreign_population", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("foreign_population", module)
    spec.loader.exec_module(module)
    return module


fp = _module()
AS_OF = date(2025, 12, 31)


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """3,000 travellers drawn from a very large register, with frequent placeholder numbers."""
    out = tmp_path_factory.mktemp("foreign")
    gen = fp.Generator(3000, 5, AS_OF, register=30_000_000_000, placeholder_doc_rate=0.02, group_booking_rate=0.05)
    gen.run()
    gen.write(out)
    return gen, out


def _persons(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "persons.jsonl").read_text(encoding="utf-8").splitlines()]


def test_the_collision_of_a_zipf_law_follows_from_its_most_common_name() -> None:
    # f_k = f_1 / k: Σ f_k² = f_1² π²/6; given names are compared within one sex.
    top_surname, top_given = fp.TOP_NAME_SHARES["kr"]
    assert fp.name_collision("kr") == pytest.approx(0.5 * (fp.ZETA_2 * top_surname ** 2) * fp.ZETA_2 * top_given ** 2)
    # Two surnames make a full name far rarer.
    assert fp.name_collision("mx") < fp.name_collision("kr") / 1000


def test_placeholder_birth_dates_make_namesakes_far_more_likely() -> None:
    full = fp.namesake_probability(10_000, 1e-4, 60, 0.5, placeholder=False)
    jan1 = fp.namesake_probability(10_000, 1e-4, 60, 0.5, placeholder=True)
    assert jan1 == pytest.approx(365.25 * full, rel=0.01)
    assert fp.namesake_probability(10_000, 1e-4, 60, 0.0, placeholder=False) > full


def test_namesakes_share_name_sex_birth_date_and_nationality_but_are_different_people(crowded) -> None:
    gen, out = crowded
    namesakes = [p for p in _persons(out) if "namesake" in p["tags"]]
    pairs = gen.stats.get("namesake_pairs", 0)
    assert pairs >= 10 and len(namesakes) >= 2 * pairs - 1  # the last pair may be cut by the population size
    by_identity: dict[tuple, list[dict]] = defaultdict(list)
    for p in namesakes:
        by_identity[(p["surname"], p["given"], p["dob"], p["nationality"], p["sex"])].append(p)
    assert sum(1 for group in by_identity.values() if len(group) >= 2) >= pairs - 1
    truth = dict(line.split(",") for line in (out / "truth_identities.csv").read_text().splitlines()[1:])
    tags = {r["event_id"]: r["tags"] for r in map(json.loads, (out / "noise_log.jsonl").read_text().splitlines())}
    events_of = defaultdict(list)
    for line in (out / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        events_of[truth[event["event_id"]]].append(event)
    travelled = 0
    for group in by_identity.values():
        if len(group) < 2:
            continue
        first, second = group[0], group[1]
        assert first["person"] != second["person"]
        assert not {pp[1] for pp in first["passports"]} & {pp[1] for pp in second["passports"]}
        # Each uses his own passport, trip after trip (border records read it from the document).
        for person in (first, second):
            own = {pp[1] for pp in person["passports"]}
            arrivals = [e for e in events_of[person["person"]]
                        if e["kind"] == "arrival" and "doc_error" not in tags[e["event_id"]]]
            assert all(e["document_number"] in own for e in arrivals)
            travelled += bool(arrivals)
    assert travelled >= pairs


def test_namesakes_are_added_at_about_the_derived_rate() -> None:
    gen = fp.Generator(4000, 9, AS_OF, register=3_000_000_000)
    gen.build_population()
    expected = 0.0
    for p in gen.persons:
        if p.role == "single" and "namesake" not in p.tags:
            expected += fp.namesake_probability(
                gen.culture_travellers(p.nationality, p.culture), fp.name_collision(p.culture), gen.birth_years,
                fp.PLACEHOLDER_P.get(p.culture, 0.0), p.dob_form == "placeholder") / 2
    pairs = gen.stats.get("namesake_pairs", 0)
    assert abs(pairs - expected) <= 4 * expected ** 0.5 + 3, (pairs, expected)
    assert fp.Generator(4000, 9, AS_OF, register=0).stats.get("namesake_pairs", 0) == 0


def test_placeholder_and_copied_numbers_are_shared_by_different_people(crowded) -> None:
    gen, out = crowded
    truth = dict(line.split(",") for line in (out / "truth_identities.csv").read_text().splitlines()[1:])
    tags = {}
    for line in (out / "noise_log.jsonl").read_text().splitlines():
        record = json.loads(line)
        tags[record["event_id"]] = record["tags"]
    people_by_placeholder: dict[str, set[str]] = defaultdict(set)
    copied = 0
    for line in (out / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        labels = tags[event["event_id"]]
        if "placeholder_doc" in labels or "group_placeholder_doc" in labels:
            assert event["document_number"] in fp.PLACEHOLDER_NUMBERS and event["source"] == "carrier"
            people_by_placeholder[event["document_number"]].add(truth[event["event_id"]])
        if "booking_copied_number" in labels:
            copied += 1
            person = next(p for p in gen.persons if p.pid == truth[event["event_id"]])
            own = {pp.number for plist in person.passports.values() for pp in plist}
            assert event["document_number"] not in own
    assert copied > 0
    assert max(len(people) for people in people_by_placeholder.values()) >= 3


def test_the_same_seed_gives_the_same_population(tmp_path: Path) -> None:
    for name in ("a", "b"):
        gen = fp.Generator(400, 2, AS_OF, register=3_000_000_000)
        gen.run()
        gen.write(tmp_path / name)
    for file in ("events.jsonl", "truth_identities.csv", "persons.jsonl"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_effective_birth_years_reflect_the_generators_age_mix() -> None:
    years = fp.effective_birth_years(random.Random(1))
    assert 30 < years < 67  # ages 18-85, concentrated between 25 and 55
