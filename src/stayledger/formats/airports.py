"""Airport → country table: which country (or territory) an IATA airport code lies in.

Pure core: standard library only. PAXLST manifests name airports, not countries; whether a flight leaves
or enters the receiving country follows from where its airports are. The bundled ``airports.csv``
(``iata,country_alpha3,name``; see its header for source and scope) is read lazily on first use, never at
import time. A deployment with airports we do not list can pass its own table (``from_csv_text``, or
``merged`` with the bundled one; ``stayledger ingest --airports FILE.csv`` with columns ``iata,country``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Final, Iterable, Iterator, Mapping

from stayledger.domain.countries import ISO_ALPHA3
from stayledger.errors import ParseError

BUNDLED_RESOURCE: Final = "airports.csv"
HEADER: Final = ("iata", "country_alpha3", "name")
_HEADERS: Final = frozenset({HEADER, HEADER[:2], ("iata", "country"), ("iata", "country", "name")})

# ISO 3166 lists some territories apart from the country whose border control covers them. US
# immigration applies in Puerto Rico, the US Virgin Islands, Guam and the Northern Mariana Islands
# (American Samoa runs its own), so a departure from San Juan to abroad is a departure from the USA.
BORDER_TERRITORIES: Final[Mapping[str, frozenset[str]]] = {
    "USA": frozenset({"PRI", "VIR", "GUM", "MNP"}),
}


def border_area(country: str) -> frozenset[str]:
    """The ISO codes whose airports lie inside ``country``'s border control (the country itself included)."""
    return frozenset({country}) | BORDER_TERRITORIES.get(country, frozenset())


@dataclass(frozen=True, slots=True)
class Airport:
    """One airport: IATA code, ISO 3166-1 alpha-3 country or territory, and a readable name."""

    iata: str
    country: str
    name: str


class AirportTable:
    """Look up airports by IATA code (case-insensitive)."""

    __slots__ = ("_airports",)

    def __init__(self, airports: Iterable[Airport]) -> None:
        self._airports: dict[str, Airport] = {airport.iata.upper(): airport for airport in airports}

    @classmethod
    def from_csv_text(cls, text: str, source: str = "airports") -> "AirportTable":
        """Read ``iata,country_alpha3,name`` rows (or ``iata,country``, the name being optional); ``#`` lines are
        comments. Bad rows raise ``ParseError`` naming the line."""
        airports: list[Airport] = []
        header: tuple[str, ...] | None = None
        for line_number, row in _rows(text):
            if header is None:
                header = tuple(cell.strip().lower() for cell in row)
                if header not in _HEADERS:
                    raise ParseError(f"{source}: expected the header iata,country (or {','.join(HEADER)})", line_number, 1)
                continue
            if len(row) != len(header):
                raise ParseError(f"{source}: expected {len(header)} columns ({','.join(header)}), got {len(row)}", line_number, 1)
            iata, country, name = (*(cell.strip() for cell in row), "")[:3]
            iata, country = iata.upper(), country.upper()
            if len(iata) != 3 or not iata.isascii() or not iata.isalnum():
                raise ParseError(f"{source}: {iata!r} is not a three-character IATA airport code", line_number, 1)
            if country not in ISO_ALPHA3:
                raise ParseError(f"{source}: {country!r} is not an ISO 3166-1 alpha-3 country code", line_number, 5)
            airports.append(Airport(iata, country, name))
        return cls(airports)

    def get(self, iata: str) -> Airport | None:
        """The airport with this code, or None when the table does not know it."""
        return self._airports.get(iata.strip().upper())

    def country_of(self, iata: str) -> str | None:
        """The alpha-3 code of the country or territory the airport lies in, or None when unknown."""
        airport = self._airports.get(iata) or self._airports.get(iata.strip().upper())
        return airport.country if airport else None

    def merged(self, other: "AirportTable") -> "AirportTable":
        """A table with both sets of airports; ``other`` wins where both list a code."""
        return AirportTable([*self, *other])

    def __contains__(self, iata: object) -> bool:
        return isinstance(iata, str) and iata.strip().upper() in self._airports

    def __iter__(self) -> Iterator[Airport]:
        return iter(self._airports.values())

    def __len__(self) -> int:
        return len(self._airports)


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with their 1-based line numbers, skipping blank and ``#`` comment lines."""
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        yield line_number, next(csv.reader(io.StringIO(line)))


@lru_cache(maxsize=1)
def bundled_airports() -> AirportTable:
    """The airport table shipped with stayledger (loaded once, on first use)."""
    text = resources.files("stayledger.formats").joinpath(BUNDLED_RESOURCE).read_text(encoding="utf-8")
    return AirportTable.from_csv_text(text, source=BUNDLED_RESOURCE)
