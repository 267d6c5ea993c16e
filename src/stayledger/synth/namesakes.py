"""How often two different travellers share a full name, a birth date and a nationality.

Pure (standard library only). The name pools of ``name_pools.txt`` hold only the most common names of
each group, and a sample of 20,000 travellers is a thousand times smaller than a national register, so
neither can produce exact namesakes at the rate a real register holds them. This module derives that rate
from name-frequency distributions, so the generator can add namesake pairs at it.

**Derivation (a birthday-paradox argument).** Take a name group ``g`` of a nationality with ``M``
travellers in the register. Two of them, drawn at random, carry the same full name with probability

    c = P(same sex) × S_surname × S_given ≈ ½ × S_surname × S_given

where ``S = Σ f_i²`` is the collision probability (Simpson index) of the frequencies ``f_i`` of the
group's surnames, and of its given names within one sex. Surnames and given names are drawn roughly
independently, and name frequencies are heavy-tailed: a few names hold a large share (KIM 21%, NGUYEN 38%,
SILVA 10%, SMITH 1%), so ``S`` is dominated by the head of the distribution and is known well enough from
published surname and given-name shares even where the long tail is not. Two travellers then share a birth
date with probability ``1 / D``, ``D = 365.25 × Y`` the effective number of birth dates, ``Y = 1 / Σ p_y²``
the effective number of birth years of the traveller age mix (``AGE_BANDS``: Y ≈ 67). The expected number of
exact namesakes (name, sex, birth date, nationality) of one traveller is

    λ = (M − 1) × c / D        and he has at least one with probability  q = 1 − exp(−λ).

Over the whole register that gives about ``M² c / 2D`` namesake pairs per group: the count grows with the
square of the register, which is why namesakes that a sample of thousands never shows are routine among tens
of millions (the birthday paradox).

**Placeholder birth dates.** Where an issuer prints 1 January for an unknown day and month (a share ``r``
of its passports, ``JAN1_PASSPORT_RATES``), two such travellers share a date when they share the *year*:
for them ``λ = M × r × c / Y``, 365 times the rate of full dates. These namesakes (MD HOSSAIN 1980-01-01)
are the ones that differ only in a birth year that says nothing else.

A sample keeps the register's *share* of travellers with a namesake, not the register's size: each
generated traveller gets a namesake with probability ``q / 2`` (each pair holds two people), whatever the
sample's size. ``M = register × nationality share × group share``; the register size is a parameter
(``REGISTER_TRAVELLERS``: distinct travellers a national entry/exit register holds over the years it
keeps them; an order of magnitude, tens of millions, not a measured figure).
"""

from __future__ import annotations

import math
from typing import Final, Mapping

REGISTER_TRAVELLERS: Final = 50_000_000
DAYS_PER_YEAR: Final = 365.25

# (S_surname, S_given within one sex) per name group: collision probabilities Σ f² of name frequencies,
# estimated from the published share of the most common names (national name statistics; order of
# magnitude, rounded). Spanish and Portuguese carry two surnames: S is that of the pair of surnames.
NAME_COLLISION: Final[dict[str, tuple[float, float]]] = {
    "english": (0.0004, 0.010),  # SMITH ~1%, JONES 0.7%; JOHN/DAVID/MARY ~3% of a cohort
    "irish": (0.0007, 0.015),  # MURPHY 1.3%, KELLY 1%
    "french": (0.0002, 0.010),  # MARTIN 0.4%
    "german": (0.0003, 0.010),  # MÜLLER 0.3%
    "italian": (0.0003, 0.015),  # ROSSI 0.5%; GIUSEPPE, MARIA
    "spanish": (0.00001, 0.010),  # two surnames, each ~0.3% (GARCÍA 3%, HERNÁNDEZ 3.5%)
    "portuguese": (0.008, 0.015),  # SILVA 10%, SANTOS 5%; 40% carry one surname in use
    "dutch": (0.0002, 0.010),  # DE JONG 0.5%
    "nordic": (0.006, 0.010),  # JENSEN 4.5%, NIELSEN 4.4%, HANSEN 3.9% (DNK); -SSON names (SWE)
    "finnish": (0.0002, 0.010),  # KORHONEN 0.4%
    "polish": (0.0003, 0.015),  # NOWAK 0.5%
    "czech": (0.0004, 0.020),  # NOVÁK 0.7%; JAN, PETR, JANA
    "hungarian": (0.0025, 0.020),  # NAGY 2.5%, KOVÁCS 2%, TÓTH 1.8%; LÁSZLÓ, ISTVÁN
    "russian": (0.0004, 0.030),  # IVANOV 1%; ALEKSANDR, SERGEY, ELENA concentrate given names
    "ukrainian": (0.0004, 0.030),  # SHEVCHENKO, KOVALENKO
    "greek": (0.0005, 0.040),  # GEORGIOS, DIMITRIOS, MARIA: very concentrated given names
    "turkish": (0.005, 0.020),  # YILMAZ 4%, KAYA 3%, DEMİR 2.5%; MEHMET, FATMA
    "arabic": (0.002, 0.006),  # MOHAMMED ~10% of men, but passports add the father's name
    "persian": (0.002, 0.020),  # MOHAMMADI, HOSSEINI ~1-2%; MOHAMMAD, ALI, FATEMEH, ZAHRA
    "indian": (0.005, 0.005),  # SINGH, KUMAR, PATEL, SHARMA
    "pakistani": (0.010, 0.020),  # KHAN, AHMED, ALI, HUSSAIN; MUHAMMAD as a first given name
    "chinese": (0.020, 0.0015),  # WANG 7%, LI 7.9%, ZHANG 6.8%; given names are diverse
    "japanese": (0.003, 0.004),  # SATO 1.5%, SUZUKI 1.4%
    "korean": (0.080, 0.004),  # KIM 21.5%, LEE 14.7%, PARK 8.4%
    "vietnamese": (0.170, 0.007),  # NGUYỄN 38%, TRẦN 11%; middle name VĂN/THỊ and a common given name
    "filipino": (0.001, 0.010),  # SANTOS, REYES, CRUZ ~1%
    "west_african": (0.003, 0.010),  # MENSAH, OKAFOR; common Christian and Muslim given names
    "hebrew": (0.002, 0.015),  # COHEN 2-3%, LEVI 2%
}


def effective_birth_years(age_bands: tuple[tuple[int, int, float], ...]) -> float:
    """``1 / Σ p_y²`` over birth years, for age bands ``(lowest age, highest age, share)`` uniform within."""
    total = sum(share for _, _, share in age_bands)
    collision = 0.0
    for lowest, highest, share in age_bands:
        years = highest - lowest + 1
        collision += years * (share / total / years) ** 2
    return 1.0 / collision


def namesake_probabilities(
    travellers: float, collision: tuple[float, float], birth_years: float, jan1_rate: float = 0.0,
) -> tuple[float, float]:
    """(q for a full birth date, q for a 1 January placeholder): the probability that one of ``travellers``
    of a name group has at least one exact namesake among the others (see the module docstring)."""
    surname, given = collision
    same_name = 0.5 * surname * given
    full = travellers * (1.0 - jan1_rate) * same_name / (DAYS_PER_YEAR * birth_years)
    placeholder = travellers * jan1_rate * same_name / birth_years
    return 1.0 - math.exp(-full), 1.0 - math.exp(-placeholder)


def namesake_table(
    register: float,
    nationalities: Mapping[str, tuple[float, tuple[tuple[str, float], ...]]],
    age_bands: tuple[tuple[int, int, float], ...],
    jan1_rates: Mapping[str, float],
) -> dict[tuple[str, str], tuple[float, float]]:
    """{(nationality, name group): (q full date, q placeholder date)} for a register of ``register``
    distinct travellers; groups without an estimate get none (0)."""
    total = sum(share for share, _ in nationalities.values())
    years = effective_birth_years(age_bands)
    table: dict[tuple[str, str], tuple[float, float]] = {}
    for nationality, (share, groups) in nationalities.items():
        for group, group_share in groups:
            collision = NAME_COLLISION.get(group)
            if collision is None or register <= 0:
                table[(nationality, group)] = (0.0, 0.0)
                continue
            travellers = register * share / total * group_share
            table[(nationality, group)] = namesake_probabilities(
                travellers, collision, years, jan1_rates.get(nationality, 0.0))
    return table


def expected_namesake_share(
    table: Mapping[tuple[str, str], tuple[float, float]],
    nationalities: Mapping[str, tuple[float, tuple[tuple[str, float], ...]]],
    jan1_rates: Mapping[str, float],
) -> float:
    """The share of all travellers who have an exact namesake, weighted by the nationality mix."""
    total = sum(share for share, _ in nationalities.values())
    out = 0.0
    for nationality, (share, groups) in nationalities.items():
        r = jan1_rates.get(nationality, 0.0)
        for group, group_share in groups:
            full, placeholder = table.get((nationality, group), (0.0, 0.0))
            out += share / total * group_share * ((1 - r) * full + r * placeholder)
    return out
