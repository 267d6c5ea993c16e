"""The people of the synthetic population: names, birth dates, passports, households.

Pure (standard library only); all randomness comes from the ``random.Random`` passed in. A person is
the ground truth that noisy records are later written from: the native spelling of every name part,
the spelling each passport carries, the true birth date and the documents in the order they were used.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Sequence

from stayledger.synth.names import VIETNAMESE_MIDDLE, NameEntry, NameGroup, feminine_surname, name_groups
from stayledger.synth.nationalities import (
    CHINESE_SPELLING_INDEX,
    DEFAULT_PASSPORT_PATTERN,
    DUAL_PARTNERS,
    ID_CARD_PATTERNS,
    JAN1_PASSPORT_RATES,
    NATIONALITIES,
    PASSPORT_PATTERNS,
    SEX_X_ISSUERS,
    VISA_WAIVER,
)

# Household make-up (shares of households, not of people).
FAMILY_HOUSEHOLD_RATE: Final = 0.035  # parents and children travelling together (2-5 people)
ADULT_TWIN_HOUSEHOLD_RATE: Final = 0.002  # adult twins travelling together
TWINS_AMONG_FAMILY_CHILDREN_RATE: Final = 0.08  # a family with 2+ children has a pair of twins
SECOND_PARENT_RATE: Final = 0.8
# People.
DUAL_NATIONAL_RATE: Final = 0.02  # holds a second passport of another country
SEX_X_RATE: Final = 0.0005  # sex X, where the issuer allows it
PRIMARY_SPELLING_RATE: Final = 0.7  # a passport carries the group's usual spelling of a name with variants
ID_CARD_HOLDER_RATE: Final = 0.4  # Canadians and Mexicans who also hold a card accepted at land ports
NAME_FREQUENCY_EXPONENT: Final = 0.5  # Zipf exponent over a pool ranked by frequency (1/rank^x)
# Age of travellers at the start of the window: (lowest age, highest age, share).
AGE_BANDS: Final = ((0, 17, 0.10), (18, 29, 0.20), (30, 44, 0.30), (45, 59, 0.25), (60, 79, 0.13), (80, 90, 0.02))


@dataclass(slots=True)
class Document:
    """A travel document: its number, issuer, type and the spelling of each name part it carries."""

    number: str
    issuer: str
    doc_type: str
    surname_spelling: tuple[int, ...]
    given_spelling: tuple[int, ...]


@dataclass(slots=True)
class Person:
    """One true traveller."""

    pid: str
    group: NameGroup
    nationality: str
    sex: str
    dob: str  # as the passport shows it: YYYY-01-01 when the issuer used the placeholder
    dob_is_placeholder: bool
    surname_parts: tuple[NameEntry, ...]
    given_parts: tuple[NameEntry, ...]
    passport: Document
    renewed_passport: Document | None = None
    renewed_on: date | None = None
    other_passport: Document | None = None  # dual nationals
    id_card: Document | None = None
    tags: list[str] = field(default_factory=list)

    def passport_on(self, day: date) -> Document:
        """The national passport in use on a day (a renewed one after its issue)."""
        if self.renewed_passport is not None and self.renewed_on is not None and day >= self.renewed_on:
            return self.renewed_passport
        return self.passport


@dataclass(slots=True)
class Household:
    """People who travel together (one person, a family, or twins)."""

    members: list[Person]
    kind: str  # single, family, twins
    nationality: str


class _Weighted:
    """Draw from weighted choices in O(log n) with one random number."""

    __slots__ = ("items", "cumulative")

    def __init__(self, items: Sequence[object], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> object:
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


def zipf_weights(n: int, exponent: float = NAME_FREQUENCY_EXPONENT) -> list[float]:
    """Weights that make the first names of a pool the most common, as in real name frequencies."""
    return [1.0 / (rank + 1) ** exponent for rank in range(n)]


class PopulationFactory:
    """Creates people and households; holds the precomputed tables and the used document numbers."""

    def __init__(self, rng: random.Random, window_start: date) -> None:
        self.rng = rng
        self.window_start = window_start
        self.groups = name_groups()
        self.nationalities = _Weighted(list(NATIONALITIES), [w for w, _ in NATIONALITIES.values()])
        self.group_choice = {
            nat: _Weighted([self.groups[g] for g, _ in mix], [s for _, s in mix]) for nat, (_, mix) in NATIONALITIES.items()
        }
        self.pools: dict[tuple[str, str], _Weighted] = {}
        for group in self.groups.values():
            for kind, entries in (("surname", group.surnames), ("M", group.male), ("F", group.female)):
                self.pools[(group.key, kind)] = _Weighted(entries, zipf_weights(len(entries)))
        self.age_bands = _Weighted([(lo, hi) for lo, hi, _ in AGE_BANDS], [s for _, _, s in AGE_BANDS])
        self.used_numbers: set[tuple[str, str]] = set()
        self.serial = 0

    # --- names -------------------------------------------------------------------------------

    def _surname_parts(self, group: NameGroup) -> tuple[NameEntry, ...]:
        first = self.pools[(group.key, "surname")].draw(self.rng)
        if group.compound_surname_rate and self.rng.random() < group.compound_surname_rate:
            second = self.pools[(group.key, "surname")].draw(self.rng)
            if second != first:
                return (first, second)  # type: ignore[return-value]
        return (first,)  # type: ignore[return-value]

    def _given_parts(self, group: NameGroup, sex: str) -> tuple[NameEntry, ...]:
        pool_sex = sex if sex in ("M", "F") else self.rng.choice("MF")
        first: NameEntry = self.pools[(group.key, pool_sex)].draw(self.rng)  # type: ignore[assignment]
        if group.key == "vietnamese":
            return ((self.rng.choice(VIETNAMESE_MIDDLE[pool_sex]),), first)
        parts = [first]
        if self.rng.random() < group.second_given_rate:
            # Arabic and Pakistani second names are the father's name: a male name.
            second_sex = "M" if group.key in ("arabic", "pakistani") else pool_sex
            second: NameEntry = self.pools[(group.key, second_sex)].draw(self.rng)  # type: ignore[assignment]
            if not set(" ".join(second).split()) & set(" ".join(first).split()):  # no MARÍA MARÍA DEL CARMEN
                parts.append(second)
        return tuple(parts)

    @staticmethod
    def _gendered(parts: tuple[NameEntry, ...], sex: str, group: NameGroup) -> tuple[NameEntry, ...]:
        if sex != "F":
            return parts
        return tuple(tuple(feminine_surname(s, group.key) for s in entry) for entry in parts)

    def _spelling(self, entries: tuple[NameEntry, ...], issuer: str, group: NameGroup) -> tuple[int, ...]:
        """Which spelling of each name part a passport of this issuer carries."""
        choice = []
        for entry in entries:
            if len(entry) == 1:
                choice.append(0)
            elif group.key == "chinese":
                choice.append(min(CHINESE_SPELLING_INDEX.get(issuer, 0), len(entry) - 1))
            elif self.rng.random() < PRIMARY_SPELLING_RATE:
                choice.append(0)
            else:
                choice.append(self.rng.randrange(1, len(entry)))
        return tuple(choice)

    # --- documents ---------------------------------------------------------------------------

    def _number(self, pattern: str, issuer: str) -> str:
        rng = self.rng
        while True:
            out = []
            for ch in pattern:
                if ch == "9":
                    out.append(chr(48 + rng.randrange(10)))
                elif ch == "A":
                    out.append(chr(65 + rng.randrange(26)))
                elif ch == "X":
                    out.append(rng.choice("0123456789CFGHJKLMNPRTVWXYZ"))
                else:
                    out.append(ch)
            number = "".join(out)
            if (issuer, number) not in self.used_numbers:
                self.used_numbers.add((issuer, number))
                return number

    def passport_number(self, issuer: str) -> str:
        return self._number(PASSPORT_PATTERNS.get(issuer, DEFAULT_PASSPORT_PATTERN), issuer)

    def consecutive_number(self, number: str, issuer: str, step: int) -> str:
        """The number issued ``step`` after this one (passports of a family applied for together)."""
        end = len(number)
        start = end
        while start > 0 and number[start - 1].isdigit():
            start -= 1
        if start == end:
            return self.passport_number(issuer)
        width = end - start
        value = (int(number[start:end]) + step) % (10**width)
        candidate = number[:start] + f"{value:0{width}d}"
        if (issuer, candidate) in self.used_numbers:
            return self.passport_number(issuer)
        self.used_numbers.add((issuer, candidate))
        return candidate

    def _document(self, person: Person, issuer: str, doc_type: str, number: str) -> Document:
        return Document(
            number=number,
            issuer=issuer,
            doc_type=doc_type,
            surname_spelling=self._spelling(person.surname_parts, issuer, person.group),
            given_spelling=self._spelling(person.given_parts, issuer, person.group),
        )

    # --- people ------------------------------------------------------------------------------

    def _dob(self, lowest: int, highest: int) -> date:
        age_days = self.rng.randint(int(lowest * 365.25), int((highest + 1) * 365.25) - 1)
        return self.window_start - timedelta(days=age_days)

    def person(
        self,
        nationality: str,
        group: NameGroup,
        *,
        sex: str | None = None,
        dob: date | None = None,
        surname_parts: tuple[NameEntry, ...] | None = None,
        passport_number: str | None = None,
        ages: tuple[int, int] | None = None,
    ) -> Person:
        """A new person; the keyword arguments let households share surname, birth date or numbers."""
        rng = self.rng
        self.serial += 1
        if sex is None:
            sex = "M" if rng.random() < 0.52 else "F"
            if nationality in SEX_X_ISSUERS and rng.random() < SEX_X_RATE:
                sex = "X"
        if dob is None:
            lowest, highest = ages if ages is not None else self.age_bands.draw(rng)  # type: ignore[misc]
            dob = self._dob(lowest, highest)
        placeholder = rng.random() < JAN1_PASSPORT_RATES.get(nationality, 0.0)
        shown_dob = f"{dob.year:04d}-01-01" if placeholder else dob.isoformat()
        surname = surname_parts if surname_parts is not None else self._surname_parts(group)
        person = Person(
            pid=f"P{self.serial:07d}",
            group=group,
            nationality=nationality,
            sex=sex,
            dob=shown_dob,
            dob_is_placeholder=placeholder,
            surname_parts=self._gendered(surname, sex, group),
            given_parts=self._given_parts(group, sex),
            passport=Document("", nationality, "P", (), ()),
        )
        number = passport_number or self.passport_number(nationality)
        person.passport = self._document(person, nationality, "P", number)
        if rng.random() < DUAL_NATIONAL_RATE:
            partners = DUAL_PARTNERS.get(nationality) or tuple(sorted(VISA_WAIVER - {nationality}))
            other = rng.choice(partners)
            person.other_passport = self._document(person, other, "P", self.passport_number(other))
            person.tags.append("dual_national")
        if nationality in ID_CARD_PATTERNS and rng.random() < ID_CARD_HOLDER_RATE:
            number = self._number(ID_CARD_PATTERNS[nationality], nationality + "-I")
            person.id_card = self._document(person, nationality, "I", number)
        if placeholder:
            person.tags.append("jan1_passport_dob")
        return person

    def namesake(self, person: Person) -> Person:
        """Another traveller with the person's full name, sex, birth date and nationality: his own passport
        (an unrelated number; the issuer spells the same name the same way), his own second passport or card."""
        other = self.person(person.nationality, person.group, sex=person.sex)
        other.surname_parts, other.given_parts = person.surname_parts, person.given_parts
        other.dob, other.dob_is_placeholder = person.dob, person.dob_is_placeholder
        other.tags = [t for t in other.tags if t != "jan1_passport_dob"]
        if person.dob_is_placeholder:
            other.tags.append("jan1_passport_dob")
        for document in (other.passport, other.other_passport, other.id_card):
            if document is None:
                continue
            if document.issuer == person.nationality:
                document.surname_spelling = person.passport.surname_spelling
                document.given_spelling = person.passport.given_spelling
            else:
                document.surname_spelling = self._spelling(other.surname_parts, document.issuer, other.group)
                document.given_spelling = self._spelling(other.given_parts, document.issuer, other.group)
        for member in (person, other):
            member.tags.append("namesake")
        return other

    def renew_passport(self, person: Person, on: date, change_spelling_rate: float) -> None:
        """Give the person a new passport (new number) used from ``on``; the spelling may change."""
        renewed = self._document(person, person.nationality, "P", self.passport_number(person.nationality))
        if self.rng.random() >= change_spelling_rate:
            renewed.surname_spelling = person.passport.surname_spelling
            renewed.given_spelling = person.passport.given_spelling
        person.renewed_passport = renewed
        person.renewed_on = on
        person.tags.append("renewed_passport")

    def start_household(self) -> tuple[str, NameGroup, str]:
        """Nationality, name group and kind (single, family, twins) of the next household."""
        rng = self.rng
        nationality: str = self.nationalities.draw(rng)  # type: ignore[assignment]
        group: NameGroup = self.group_choice[nationality].draw(rng)  # type: ignore[assignment]
        roll = rng.random()
        if roll < FAMILY_HOUSEHOLD_RATE:
            return nationality, group, "family"
        if roll < FAMILY_HOUSEHOLD_RATE + ADULT_TWIN_HOUSEHOLD_RATE:
            return nationality, group, "twins"
        return nationality, group, "single"

    def household(self, nationality: str, group: NameGroup, kind: str, *, ages: tuple[int, int] | None = None,
                  room: int | None = None) -> Household:
        """The members of a household; ``ages`` bounds a single traveller's age (students, workers)."""
        if kind == "family":
            household = self._family(nationality, group)
        elif kind == "twins":
            household = self._twins(nationality, group)
        else:
            household = Household([self.person(nationality, group, ages=ages)], "single", nationality)
        if room is not None and len(household.members) > room:
            household.members = household.members[:room]
            if len(household.members) == 1:
                household.kind = "single"
                tags = household.members[0].tags
                tags[:] = [t for t in tags if t not in ("family", "twin")]
        return household

    def _family(self, nationality: str, group: NameGroup) -> Household:
        rng = self.rng
        surname = self._surname_parts(group)
        first = self.person(nationality, group, sex="M" if rng.random() < 0.6 else "F", surname_parts=surname, ages=(28, 55))
        members = [first]
        base = first.passport.number
        step = 1
        if rng.random() < SECOND_PARENT_RATE:
            spouse_dob = self._dob(28, 55)
            members.append(self.person(
                nationality, group, sex="F" if first.sex == "M" else "M", dob=spouse_dob, surname_parts=surname,
                passport_number=self.consecutive_number(base, nationality, step),
            ))
            step += 1
        children = rng.choice((1, 1, 2, 2, 2, 3))
        twin_dob = self._dob(0, 17) if children >= 2 and rng.random() < TWINS_AMONG_FAMILY_CHILDREN_RATE else None
        for index in range(children):
            dob = twin_dob if twin_dob is not None and index < 2 else None
            child = self.person(
                nationality, group, dob=dob, surname_parts=surname, ages=(0, 17),
                passport_number=self.consecutive_number(base, nationality, step),
            )
            step += 1
            if dob is not None:
                child.tags.append("twin")
            members.append(child)
        self._distinct_given_names(members)
        for member in members:
            member.tags.append("family")
        return Household(members, "family", nationality)

    def _twins(self, nationality: str, group: NameGroup) -> Household:
        dob = self._dob(18, 70)
        surname = self._surname_parts(group)
        first = self.person(nationality, group, dob=dob, surname_parts=surname)
        second = self.person(nationality, group, dob=dob, surname_parts=surname)
        self._distinct_given_names([first, second])
        # Twins' placeholder status follows the shared passport practice.
        second.dob, second.dob_is_placeholder = first.dob, first.dob_is_placeholder
        for member in (first, second):
            member.tags.append("twin")
        return Household([first, second], "twins", nationality)

    def _distinct_given_names(self, members: list[Person]) -> None:
        """Nobody names two children alike: redraw given names that repeat within a household."""
        seen: set[tuple[NameEntry, ...]] = set()
        for member in members:
            for _ in range(20):
                if member.given_parts not in seen:
                    break
                member.given_parts = self._given_parts(member.group, member.sex)
                member.passport.given_spelling = self._spelling(member.given_parts, member.nationality, member.group)
                if member.other_passport is not None:
                    member.other_passport.given_spelling = self._spelling(
                        member.given_parts, member.other_passport.issuer, member.group)
                if member.id_card is not None:
                    member.id_card.given_spelling = member.passport.given_spelling
            seen.add(member.given_parts)
