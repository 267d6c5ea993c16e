"""Generate a synthetic population of travellers with ground truth (``stayledger synth``).

``generate_population`` writes canonical events as sources would record them (noisy, incomplete)
plus the truth: which person each event belongs to, and the stay status the US rules give on the
true identities. Deterministic: the same (people, seed, as_of) gives byte-identical files, because
every random draw comes from one ``random.Random(seed)`` and nothing iterates an unordered set.
"""

from __future__ import annotations

import importlib.util
import json
import random
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Final, Mapping, Sequence

from stayledger.domain.events import Event
from stayledger.synth import namesakes, names, nationalities, noise, population, travel
from stayledger.synth.noise import Identity, IdentityWriter, NoiseCounter
from stayledger.synth.population import Document, Household, Person, PopulationFactory
from stayledger.synth.travel import Plan, Step, TravelPlanner

GENERATOR_VERSION: Final = "1"
PASSPORT_RENEWAL_RATE: Final = 0.12  # people whose history spans 60+ days who renew their passport in it
RENEWAL_CHANGES_SPELLING_RATE: Final = 0.3  # a renewed passport spells a name with variants differently
OTHER_PASSPORT_DEPARTURE_RATE: Final = 0.25  # dual nationals leaving on their other passport
# A family's booking where the agent keyed the lead passenger's passport number for everyone: the
# carrier's departure records of the others carry a number that is not theirs.
BOOKING_COPIES_LEAD_NUMBER_RATE: Final = 0.02
PROGRESS_EVERY: Final = 1000  # people between progress reports

EVENTS_FILE: Final = "events.jsonl"
TRUTH_IDENTITIES_FILE: Final = "truth_identities.csv"
TRUTH_STAYS_FILE: Final = "truth_stays.csv"
TRUTH_NOISE_FILE: Final = "truth_noise.csv"
MANIFEST_FILE: Final = "manifest.json"

_BASE32: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's alphabet: no I, L, O, U
_SERVICE_CENTRES: Final = ("EAC", "WAC", "LIN", "SRC", "IOE", "MSC", "NBC")

StayRules = Callable[[str, Sequence[Event], date], Sequence[Any]]


@dataclass(frozen=True, slots=True)
class HardCases:
    """Different people whose records look alike, at rates derived from the domain (docs/synthetic-data.md).

    ``register_travellers``: namesakes (same full name, sex, birth date and nationality, unrelated passports)
    are added at the rate a register of this many distinct travellers holds (``synth/namesakes.py``); 0 adds
    none. ``placeholder_documents``: sources write placeholder numbers (123456789, UNKNOWN, …) at the rates
    of ``SourceNoise.doc_placeholder``. ``booking_copies_lead_number``: share of family departure bookings
    whose records all carry the lead passenger's number.
    """

    register_travellers: int = namesakes.REGISTER_TRAVELLERS
    placeholder_documents: bool = True
    booking_copies_lead_number: float = BOOKING_COPIES_LEAD_NUMBER_RATE

    def __post_init__(self) -> None:
        if self.register_travellers < 0:
            raise ValueError(f"register_travellers must be 0 or more, got {self.register_travellers}")
        if not 0.0 <= self.booking_copies_lead_number <= 1.0:
            raise ValueError(f"booking_copies_lead_number must be within 0..1, got {self.booking_copies_lead_number}")


NO_HARD_CASES: Final = HardCases(register_travellers=0, placeholder_documents=False, booking_copies_lead_number=0.0)


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What was generated and where it was written."""

    people: int
    events: int
    arrivals: int
    counts_by_kind: Mapping[str, int]
    stays_by_status: Mapping[str, int]  # empty when the stay rules were not available
    events_path: Path
    truth_identities_path: Path
    truth_stays_path: Path
    truth_noise_path: Path
    manifest_path: Path


class _EventIds:
    """Opaque, unique event ids in the style of each source's own identifiers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _code(self, length: int) -> str:
        bits = self.rng.getrandbits(5 * length)
        return "".join(_BASE32[(bits >> (5 * i)) & 31] for i in range(length))

    def new(self, step: Step) -> str:
        random_ = self.rng.random
        while True:
            if step.kind == "arrival":  # I-94 admission number style
                candidate = f"BRD-{int(random_() * 1e9):09d}{self._code(1)}{int(random_() * 10)}"
            elif step.kind == "departure":  # carrier, flight date, manifest reference
                candidate = f"APIS-{step.carrier}{step.on:%y%m%d}-{self._code(6)}"
            elif step.kind == "departure_report":
                candidate = f"TRV-{self._code(10)}"
            else:  # USCIS receipt number style
                candidate = f"ADJ-{_SERVICE_CENTRES[int(random_() * len(_SERVICE_CENTRES))]}{int(random_() * 1e10):010d}"
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate


def _load_stay_rules() -> StayRules | None:
    """The US stay rules if that module exists (imported lazily: the generator must not need it)."""
    if importlib.util.find_spec("stayledger.rules.us") is None:
        return None
    from stayledger.rules.us import determine_person_stays

    return determine_person_stays  # type: ignore[return-value]


def _document_for(rng: random.Random, person: Person, step: Step) -> tuple[Document, list[str]]:
    """Which document the person shows for this step, and the labels that choice earns."""
    if step.kind == "arrival" and step.with_id_card and person.id_card is not None:
        return person.id_card, ["id_card"]
    if step.kind == "departure" and person.other_passport is not None and rng.random() < OTHER_PASSPORT_DEPARTURE_RATE:
        return person.other_passport, ["other_passport"]
    document = person.passport_on(step.on)
    return document, (["renewed_passport"] if document is person.renewed_passport else [])


def _maybe_renew(rng: random.Random, factory: PopulationFactory, person: Person, steps: list[Step]) -> None:
    if len(steps) < 2 or (steps[-1].on - steps[0].on).days <= 60:
        return
    if rng.random() < PASSPORT_RENEWAL_RATE:
        span = (steps[-1].on - steps[0].on).days
        on = steps[0].on + timedelta(days=rng.randint(1, span))
        factory.renew_passport(person, on, RENEWAL_CHANGES_SPELLING_RATE)


def _passport_name(person: Person) -> tuple[str, str]:
    """The person's name as their first passport's MRZ holds it (to count namesakes)."""
    document = person.passport
    surname = " ".join(e[i] for e, i in zip(person.surname_parts, document.surname_spelling))
    given = " ".join(e[i] for e, i in zip(person.given_parts, document.given_spelling))
    return names.mrz_form(surname), names.mrz_form(given)


def _overstay_group(cls: str, nationality: str) -> str:
    """The DHS report group of an admission class."""
    if cls in ("WT", "WB"):
        return "vwp"
    if cls in ("B1", "B2"):
        return "b_canada_mexico" if nationality in ("CAN", "MEX") else "b_other"
    if cls[:1] in ("F", "J", "M"):
        return "students_exchange"
    return "all_other"


class _Writer:
    """Collects the lines of every output file and the statistics of the manifest."""

    def __init__(self, as_of: date, rules: StayRules | None) -> None:
        self.as_of = as_of
        self.rules = rules
        self.event_lines: list[str] = []
        self.stay_lines: list[str] = []
        self.noise_lines: list[str] = []
        self.kinds: Counter[str] = Counter()
        self.sources: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.expected: Counter[str] = Counter()
        self.overstays: Counter[str] = Counter()

    def person_events(self, person: Person, events: list[Event], records: list[dict[str, Any]],
                      labels: list[list[str]]) -> None:
        for event, record, noise_labels in zip(events, records, labels):
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            self.event_lines.append(f"{event.occurred_on.isoformat()}\t{event.event_id}\t{person.pid}\t{line}")
            if noise_labels:
                self.noise_lines.append(f"{event.event_id},{';'.join(noise_labels)}")
            self.kinds[event.kind] += 1
            self.sources[event.source] += 1
        if self.rules is None or not events:
            return
        arrivals = {e.event_id: e for e in events if e.kind == "arrival"}
        for stay in self.rules(person.pid, events, self.as_of):
            arrival = arrivals[stay.arrival_event_id]
            status = str(stay.status)
            until = stay.authorized_until.isoformat() if stay.authorized_until is not None else ""
            self.stay_lines.append(
                f"{arrival.occurred_on.isoformat()}\t{stay.arrival_event_id},{status},{until},{stay.overstay_days}"
            )
            self.statuses[status] += 1
            # DHS "expected departures": admitted by air or sea, stay ended by as_of.
            if arrival.mode in ("air", "sea") and stay.authorized_until is not None and stay.authorized_until <= self.as_of:
                group = _overstay_group(arrival.admission_class or "", arrival.nationality)
                self.expected[group] += 1
                if status in ("overstay", "departed_late") or (status == "departure_reported" and stay.overstay_days > 0):
                    self.overstays[group] += 1


def _record(event: Event, identity: Identity) -> dict[str, Any]:
    """The canonical JSON record: fields in schema order, absent ones left out, names as the source sent
    them (outer whitespace included; the Event holds the stripped value, as parse_event would)."""
    record: dict[str, Any] = {
        "event_id": event.event_id, "kind": event.kind, "occurred_on": event.occurred_on.isoformat(),
        "source": event.source, "surname": identity.surname_raw,
    }
    if event.given_names is not None:
        record["given_names"] = identity.given_raw
    record["date_of_birth"] = event.date_of_birth
    record["sex"] = event.sex
    record["nationality"] = event.nationality
    record["document_type"] = event.document_type
    record["document_number"] = event.document_number
    record["document_issuer"] = event.document_issuer
    for name in ("port", "mode", "carrier", "admission_class"):
        value = getattr(event, name)
        if value is not None:
            record[name] = value
    if event.admitted_until is not None:
        record["admitted_until"] = event.admitted_until.isoformat()
    if event.duration_of_status:
        record["duration_of_status"] = True
    for name in ("change", "new_class"):
        value = getattr(event, name)
        if value is not None:
            record[name] = value
    if event.new_until is not None:
        record["new_until"] = event.new_until.isoformat()
    if event.admission_ref is not None:
        record["admission_ref"] = event.admission_ref
    return record


def _record_person(rng: random.Random, ids: _EventIds, identities: IdentityWriter, person: Person,
                   plan: Plan, copied_numbers: Mapping[int, str] | None = None,
                   ) -> tuple[list[Event], list[dict[str, Any]], list[list[str]]]:
    """The events sources recorded about one person, as Events, JSON records and noise labels.

    ``copied_numbers``: step index → the number a booking keyed for this person instead of his own."""
    events: list[Event] = []
    records: list[dict[str, Any]] = []
    labels: list[list[str]] = []
    arrival_ids: dict[int, str] = {}
    for index, step in enumerate(plan.steps):
        document, document_labels = _document_for(rng, person, step)
        identity = identities.write(person, document, step.source)
        if copied_numbers and index in copied_numbers and "doc_placeholder" not in identity.noise:
            identity.document_number = copied_numbers[index]
            document_labels = document_labels + ["doc_copied_from_booking"]
        event_id = ids.new(step)
        if step.kind == "arrival":
            arrival_ids[index] = event_id
        event = Event(
            event_id=event_id,
            kind=step.kind,
            occurred_on=step.on,
            source=step.source,
            surname=identity.surname,
            given_names=identity.given_names,
            date_of_birth=_born_by(identity.date_of_birth, person.dob, step.on),
            sex=identity.sex,
            nationality=identity.nationality,
            document_type=identity.document_type,
            document_number=identity.document_number,
            document_issuer=identity.document_issuer,
            port=step.port,
            mode=step.mode,
            carrier=step.carrier,
            admission_class=step.admission_class,
            admitted_until=step.admitted_until,
            duration_of_status=step.duration_of_status,
            change=step.change,
            new_class=step.new_class,
            new_until=step.new_until,
            admission_ref=arrival_ids.get(step.stay) if step.kind == "status_change" else None,
        )
        events.append(event)
        records.append(_record(event, identity))
        labels.append(identity.noise + document_labels)
    return events, records, labels


def _copied_booking_numbers(rng: random.Random, household: Household, plan: Plan,
                            rate: float) -> dict[str, dict[int, str]]:
    """{person id: {step index: the lead's number}} for the family's departure bookings keyed with the lead
    passenger's passport number for everyone."""
    if household.kind != "family" or not rate:
        return {}
    lead, others = household.members[0], household.members[1:]
    copied: dict[str, dict[int, str]] = {}
    for index, step in enumerate(plan.steps):
        if step.kind == "departure" and rng.random() < rate:
            number = lead.passport_on(step.on).number
            for member in others:
                copied.setdefault(member.pid, {})[index] = number
    return copied


def _rates_used() -> dict[str, Any]:
    """Every rate the generator used, by module, for the manifest."""
    shared = set(vars(nationalities)) | set(vars(names))

    def constants(module: Any) -> dict[str, Any]:
        """The module's own upper-case numbers, tables and weighted choices (not imported data)."""
        return {
            name.lower(): value for name, value in vars(module).items()
            if name.isupper() and name not in shared
            and (isinstance(value, (int, float, dict)) or (isinstance(value, tuple) and value and isinstance(value[0], tuple)))
        }

    return {
        "population": constants(population),
        "travel": constants(travel),
        "recording": {
            "passport_renewal_rate": PASSPORT_RENEWAL_RATE,
            "renewal_changes_spelling_rate": RENEWAL_CHANGES_SPELLING_RATE,
            "other_passport_departure_rate": OTHER_PASSPORT_DEPARTURE_RATE,
            "booking_copies_lead_number_rate": BOOKING_COPIES_LEAD_NUMBER_RATE,
        },
        "namesakes": {"name_collision": namesakes.NAME_COLLISION,
                      "effective_birth_years": round(namesakes.effective_birth_years(population.AGE_BANDS), 2)},
        "placeholder_documents": dict(noise.PLACEHOLDER_DOCUMENTS),
        "noise": {source: asdict(profile) for source, profile in noise.SOURCE_NOISE.items()},
        "nationality_shares": {nat: share for nat, (share, _) in nationalities.NATIONALITIES.items()},
        "jan1_passport_rates": nationalities.JAN1_PASSPORT_RATES,
    }


def _born_by(written: str, true_dob: str, on: date) -> str:
    """A day-month swap can put an infant's birth after the journey; no source could send that (it is refused)."""
    return true_dob if len(written) == 10 and written > on.isoformat() else written


def generate_population(
    people: int,
    seed: int,
    out_dir: Path,
    *,
    as_of: date = date(2025, 12, 31),
    progress: Callable[[int, int], None] | None = None,
    cases: HardCases = HardCases(),
) -> SynthSummary:
    """Write a synthetic population of ``people`` travellers with ground truth into ``out_dir``.

    Files: events.jsonl (canonical records sorted by occurred_on then event_id), truth_identities.csv
    (event_id,person), truth_stays.csv (the US rules applied to the true identities as of ``as_of``),
    truth_noise.csv (event_id,noise kinds applied) and manifest.json (seed, counts, every rate used).
    ``cases`` sets the namesakes and placeholder numbers added on purpose (``NO_HARD_CASES``: none).
    """
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rules = _load_stay_rules()
    if rules is None:
        warnings.warn("stayledger.rules.us is not available: truth_stays.csv holds only its header", RuntimeWarning,
                      stacklevel=2)

    rng = random.Random(seed)
    planner = TravelPlanner(rng, as_of)
    factory = PopulationFactory(rng, planner.window_start)
    ids = _EventIds(rng)
    counter = NoiseCounter()
    identities = IdentityWriter(rng, counter, placeholder_documents=cases.placeholder_documents)
    namesake_rates = namesakes.namesake_table(cases.register_travellers, nationalities.NATIONALITIES,
                                              population.AGE_BANDS, nationalities.JAN1_PASSPORT_RATES)
    hard: Counter[str] = Counter()
    writer = _Writer(as_of, rules)
    households: Counter[str] = Counter()
    behaviour: Counter[str] = Counter()
    person_tags: Counter[str] = Counter()
    archetypes: Counter[str] = Counter()
    full_names: Counter[tuple[str, str]] = Counter()
    done = 0
    while done < people:
        nationality, group, kind = factory.start_household()
        archetype = planner.archetype(nationality) if kind == "single" else "visitor"
        household = factory.household(nationality, group, kind, ages=travel.ARCHETYPE_AGES.get(archetype),
                                      room=people - done)
        households[household.kind] += 1
        plan = planner.plan(nationality, archetype, has_id_card=nationality in ("CAN", "MEX"))
        behaviour.update(tag for tag in plan.tags for _ in household.members)
        copied = _copied_booking_numbers(rng, household, plan, cases.booking_copies_lead_number)
        hard["booking_records_with_lead_number"] += sum(len(c) for c in copied.values())
        members = [(person, plan) for person in household.members]
        if household.kind == "single" and people - done > 1 and cases.register_travellers:
            full, placeholder = namesake_rates.get((nationality, group.key), (0.0, 0.0))
            person = household.members[0]
            # Each pair holds two travellers: q/2 per traveller gives a share q of travellers with a namesake.
            if rng.random() < (placeholder if person.dob_is_placeholder else full) / 2:
                other = factory.namesake(person)
                other_plan = planner.plan(nationality, planner.archetype(nationality),
                                          has_id_card=nationality in ("CAN", "MEX"))
                behaviour.update(other_plan.tags)
                households["single"] += 1
                members.append((other, other_plan))
                hard["namesake_pairs"] += 1
                hard["namesake_pairs_jan1_birth_date"] += person.dob_is_placeholder
        for person, person_plan in members:
            _maybe_renew(rng, factory, person, person_plan.steps)
            writer.person_events(person, *_record_person(rng, ids, identities, person, person_plan,
                                                         copied.get(person.pid)))
            person_tags.update(person.tags)
            full_names[_passport_name(person)] += 1
            archetypes[person_plan.archetype] += 1
        before, done = done, done + len(members)
        if progress is not None and (done // PROGRESS_EVERY != before // PROGRESS_EVERY or done == people):
            progress(done, people)

    writer.event_lines.sort()
    writer.stay_lines.sort()
    writer.noise_lines.sort()
    paths = {name: out_dir / name for name in (EVENTS_FILE, TRUTH_IDENTITIES_FILE, TRUTH_STAYS_FILE,
                                                TRUTH_NOISE_FILE, MANIFEST_FILE)}
    with paths[EVENTS_FILE].open("w", encoding="utf-8", newline="\n") as events_out, \
            paths[TRUTH_IDENTITIES_FILE].open("w", encoding="utf-8", newline="\n") as identities_out:
        identities_out.write("event_id,person\n")
        for line in writer.event_lines:
            _, event_id, pid, record = line.split("\t", 3)
            events_out.write(record + "\n")
            identities_out.write(f"{event_id},{pid}\n")
    with paths[TRUTH_STAYS_FILE].open("w", encoding="utf-8", newline="\n") as stays_out:
        stays_out.write("arrival_event_id,status,authorized_until,overstay_days\n")
        stays_out.writelines(line.split("\t", 1)[1] + "\n" for line in writer.stay_lines)
    with paths[TRUTH_NOISE_FILE].open("w", encoding="utf-8", newline="\n") as noise_out:
        noise_out.write("event_id,noise\n")
        noise_out.writelines(line + "\n" for line in writer.noise_lines)

    arrivals = writer.kinds.get("arrival", 0)
    manifest = {
        "generator": "stayledger.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "people": people,
        "as_of": as_of.isoformat(),
        "window_start": planner.window_start.isoformat(),
        "events": len(writer.event_lines),
        "arrivals": arrivals,
        "counts_by_kind": {kind: writer.kinds.get(kind, 0) for kind in travel.RECORDED_KINDS},
        "counts_by_source": dict(sorted(writer.sources.items())),
        "households": dict(sorted(households.items())),
        "archetypes": dict(sorted(archetypes.items())),
        "people_tags": dict(sorted(person_tags.items())),
        "behaviour": dict(sorted(behaviour.items())),
        "people_sharing_their_name": sum(n for n in full_names.values() if n > 1),
        "hard_cases": {
            "register_travellers": cases.register_travellers,
            "expected_namesake_share": round(namesakes.expected_namesake_share(
                namesake_rates, nationalities.NATIONALITIES, nationalities.JAN1_PASSPORT_RATES), 6),
            "placeholder_documents": cases.placeholder_documents,
            "booking_copies_lead_number": cases.booking_copies_lead_number,
            **{name: hard.get(name, 0) for name in ("namesake_pairs", "namesake_pairs_jan1_birth_date",
                                                     "booking_records_with_lead_number")},
        },
        "truth_stays": "computed with stayledger.rules.us on the true identities" if rules is not None
        else "not computed: stayledger.rules.us is not available",
        "stays_by_status": dict(sorted(writer.statuses.items())),
        "overstay_rates_air_sea": {
            group: {"expected_departures": writer.expected[group], "overstays": writer.overstays[group],
                    "rate": round(writer.overstays[group] / writer.expected[group], 5)}
            for group in sorted(writer.expected)
        },
        "noise_observed": counter.as_dict(),
        "rates": _rates_used(),
    }
    paths[MANIFEST_FILE].write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return SynthSummary(
        people=people,
        events=len(writer.event_lines),
        arrivals=arrivals,
        counts_by_kind=dict(manifest["counts_by_kind"]),  # type: ignore[arg-type]
        stays_by_status=dict(sorted(writer.statuses.items())),
        events_path=paths[EVENTS_FILE],
        truth_identities_path=paths[TRUTH_IDENTITIES_FILE],
        truth_stays_path=paths[TRUTH_STAYS_FILE],
        truth_noise_path=paths[TRUTH_NOISE_FILE],
        manifest_path=paths[MANIFEST_FILE],
    )
