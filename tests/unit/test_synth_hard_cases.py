"""The synthetic population holds different people whose records look alike, at derived rates, with the
truth keeping them apart: namesakes, 1 January birth dates, placeholder and copied document numbers."""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from stayledger.synth import namesakes
from stayledger.synth.generator import NO_HARD_CASES, HardCases, generate_population
from stayledger.synth.names import name_groups
from stayledger.synth.nationalities import JAN1_PASSPORT_RATES, NATIONALITIES
from stayledger.synth.noise import PLACEHOLDER_DOCUMENTS
from stayledger.synth.population import AGE_BANDS, PopulationFactory

LARGE_REGISTER = 5_000_000_000  # a hundred times the default: enough namesakes in a small population


def _load(out: Path) -> tuple[list[dict], dict[str, str], dict[str, list[str]], dict]:
    records = [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    with (out / "truth_identities.csv").open(encoding="utf-8") as handle:
        person_of = {row["event_id"]: row["person"] for row in csv.DictReader(handle)}
    with (out / "truth_noise.csv").open(encoding="utf-8") as handle:
        labels = {row["event_id"]: row["noise"].split(";") for row in csv.DictReader(handle)}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return records, person_of, labels, manifest


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict[str, str], dict[str, list[str]], dict]:
    """3,000 travellers drawn from a very large register: many namesakes."""
    out = tmp_path_factory.mktemp("crowded")
    generate_population(3000, 17, out, cases=HardCases(register_travellers=LARGE_REGISTER))
    return _load(out)


# --- the derivation -----------------------------------------------------------------------------------

def test_sixty_equally_common_birth_years_are_sixty_effective_years() -> None:
    assert namesakes.effective_birth_years(((20, 79, 1.0),)) == pytest.approx(60.0)
    # A population concentrated in fewer years shares birth dates more often.
    assert namesakes.effective_birth_years(((30, 39, 0.9), (40, 79, 0.1))) < 15


def test_namesake_pairs_grow_with_the_square_of_the_register() -> None:
    collision = namesakes.NAME_COLLISION["korean"]
    small, _ = namesakes.namesake_probabilities(100_000, collision, 60)
    large, _ = namesakes.namesake_probabilities(1_000_000, collision, 60)
    # Each traveller's chance grows linearly with the register, so the pairs (travellers × chance) grow
    # with its square: what a sample of thousands never shows is routine among millions.
    assert large == pytest.approx(10 * small, rel=0.05)
    assert 0.001 < large < 0.05


def test_a_1_january_birth_date_makes_a_namesake_365_times_more_likely() -> None:
    full, placeholder = namesakes.namesake_probabilities(10_000, (0.01, 0.01), 60, jan1_rate=0.5)
    assert placeholder == pytest.approx(365.25 * full, rel=0.01)


def test_common_names_give_more_namesakes_than_diverse_ones() -> None:
    table = namesakes.namesake_table(namesakes.REGISTER_TRAVELLERS, NATIONALITIES, AGE_BANDS, JAN1_PASSPORT_RATES)
    assert table[("KOR", "korean")][0] > 10 * table[("MEX", "spanish")][0]
    assert table[("VNM", "vietnamese")][1] > table[("VNM", "vietnamese")][0]
    assert set(namesakes.NAME_COLLISION) == set(name_groups())
    assert namesakes.namesake_table(0, NATIONALITIES, AGE_BANDS, JAN1_PASSPORT_RATES)[("KOR", "korean")] == (0.0, 0.0)


# --- namesakes in the population ----------------------------------------------------------------------

def test_a_namesake_shares_name_sex_birth_date_and_nationality_but_not_the_passport() -> None:
    factory = PopulationFactory(random.Random(3), date(2022, 1, 1))
    group = name_groups()["korean"]
    for _ in range(50):
        person = factory.person("KOR", group)
        other = factory.namesake(person)
        assert other.pid != person.pid
        assert (other.surname_parts, other.given_parts, other.sex, other.dob, other.nationality) == (
            person.surname_parts, person.given_parts, person.sex, person.dob, person.nationality)
        assert (other.passport.surname_spelling, other.passport.given_spelling) == (
            person.passport.surname_spelling, person.passport.given_spelling)
        assert other.passport.number != person.passport.number
        assert "namesake" in person.tags and "namesake" in other.tags


def test_namesakes_are_added_at_the_derived_rate_and_are_different_people(crowded) -> None:
    records, person_of, _, manifest = crowded
    hard = manifest["hard_cases"]
    pairs, share = hard["namesake_pairs"], hard["expected_namesake_share"]
    expected = 3000 * share / 2
    assert abs(pairs - expected) <= 4 * expected ** 0.5 + 2, (pairs, expected)
    # In the records: different true persons whose border arrivals carry one name, birth date and
    # nationality, each with his own document number.
    by_identity: dict[tuple, set[str]] = defaultdict(set)
    numbers: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r["kind"] == "arrival" and r["document_type"] == "P":
            key = (r["surname"].strip().upper(), (r.get("given_names") or "").strip().upper(),
                   r["date_of_birth"], r["nationality"], r["sex"])
            by_identity[key].add(person_of[r["event_id"]])
            numbers[person_of[r["event_id"]]].add(r["document_number"])
    shared = [people for people in by_identity.values() if len(people) > 1]
    assert len(shared) >= 0.7 * pairs
    for people in shared:
        first, second = sorted(people)[:2]
        assert not numbers[first] & numbers[second]


def test_no_namesakes_are_added_for_an_empty_register(tmp_path: Path) -> None:
    generate_population(600, 17, tmp_path, cases=NO_HARD_CASES)
    _, _, labels, manifest = _load(tmp_path)
    assert manifest["hard_cases"]["namesake_pairs"] == 0
    assert manifest["hard_cases"]["booking_records_with_lead_number"] == 0
    assert not any("doc_placeholder" in kinds for kinds in labels.values())


def test_hard_cases_refuse_impossible_rates() -> None:
    with pytest.raises(ValueError, match="register_travellers"):
        HardCases(register_travellers=-1)
    with pytest.raises(ValueError, match="booking_copies_lead_number"):
        HardCases(booking_copies_lead_number=1.5)


# --- placeholder and copied document numbers --------------------------------------------------------

def test_placeholder_numbers_are_shared_by_unrelated_travellers(crowded) -> None:
    records, person_of, labels, manifest = crowded
    placeholders = {value for value, _ in PLACEHOLDER_DOCUMENTS}
    people_by_number: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if "doc_placeholder" in labels.get(r["event_id"], []):
            assert r["document_number"] in placeholders
            assert r["source"] != "border"  # the border reads the passport itself
            people_by_number[r["document_number"]].add(person_of[r["event_id"]])
    assert manifest["noise_observed"]["carrier"]["doc_placeholder"]["applied"] > 0
    assert max(len(people) for people in people_by_number.values()) >= 3


def test_a_booking_keyed_with_the_lead_passengers_number_gives_it_to_the_others(crowded) -> None:
    records, person_of, labels, manifest = crowded
    own_numbers: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r["kind"] == "arrival":
            own_numbers[person_of[r["event_id"]]].add(r["document_number"])
    owner_of = {n: p for p, numbers in own_numbers.items() for n in numbers}
    copied = [r for r in records if "doc_copied_from_booking" in labels.get(r["event_id"], [])]
    assert len(copied) == manifest["hard_cases"]["booking_records_with_lead_number"] > 0
    for r in copied:
        assert r["kind"] == "departure" and r["source"] == "carrier"
        person = person_of[r["event_id"]]
        assert r["document_number"] not in own_numbers[person]
        lead = owner_of.get(r["document_number"])
        assert lead is not None and lead != person


def test_the_synth_command_sets_the_register_and_can_leave_placeholders_out(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from stayledger.cli.main import app

    result = CliRunner().invoke(app, ["synth", "--people", "300", "--seed", "4", "--out", str(tmp_path / "plain"),
                                      "--register", "0", "--no-placeholder-documents"])
    assert result.exit_code == 0, result.output
    hard = _load(tmp_path / "plain")[3]["hard_cases"]
    assert (hard["register_travellers"], hard["placeholder_documents"], hard["namesake_pairs"]) == (0, False, 0)
    result = CliRunner().invoke(app, ["synth", "--people", "300", "--seed", "4", "--out", str(tmp_path / "crowded"),
                                      "--register", str(LARGE_REGISTER)])
    assert result.exit_code == 0, result.output
    hard = _load(tmp_path / "crowded")[3]["hard_cases"]
    assert hard["register_travellers"] == LARGE_REGISTER and hard["placeholder_documents"] is True
