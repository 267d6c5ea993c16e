"""Who travels: nationalities with their share of traffic, name groups, passports and airlines.

Pure data (standard library only). Shares approximate the mix of nonimmigrant I-94 admissions to the
United States (DHS Yearbook of Immigration Statistics, nonimmigrant admissions by country of
citizenship, and the Entry/Exit Overstay Reports): Mexico and Canada lead, then the United Kingdom,
India, Japan, Germany, France, Brazil, China, Korea … They are relative weights, not percentages.
"""

from __future__ import annotations

from typing import Final

# Nationality: (relative share of travellers, ((name group, share within nationality), …)).
NATIONALITIES: Final[dict[str, tuple[float, tuple[tuple[str, float], ...]]]] = {
    "MEX": (17.0, (("spanish", 1.0),)),
    "CAN": (13.0, (("english", 0.72), ("french", 0.22), ("chinese", 0.03), ("indian", 0.03))),
    "GBR": (8.5, (("english", 0.88), ("indian", 0.05), ("pakistani", 0.04), ("irish", 0.03))),
    "IND": (5.0, (("indian", 1.0),)),
    "JPN": (4.5, (("japanese", 1.0),)),
    "DEU": (4.5, (("german", 0.93), ("turkish", 0.05), ("polish", 0.02))),
    "FRA": (4.0, (("french", 0.9), ("arabic", 0.08), ("west_african", 0.02))),
    "BRA": (3.5, (("portuguese", 0.93), ("italian", 0.04), ("japanese", 0.03))),
    "CHN": (3.5, (("chinese", 1.0),)),
    "KOR": (3.0, (("korean", 1.0),)),
    "AUS": (2.5, (("english", 0.85), ("chinese", 0.06), ("greek", 0.04), ("italian", 0.05))),
    "ITA": (2.5, (("italian", 1.0),)),
    "ESP": (2.2, (("spanish", 1.0),)),
    "COL": (2.0, (("spanish", 1.0),)),
    "NLD": (1.8, (("dutch", 0.94), ("turkish", 0.03), ("arabic", 0.03))),
    "ARG": (1.5, (("spanish", 0.8), ("italian", 0.2))),
    "ISR": (1.2, (("hebrew", 0.82), ("russian", 0.1), ("arabic", 0.08))),
    "IRL": (1.2, (("irish", 0.7), ("english", 0.3))),
    "PHL": (1.2, (("filipino", 1.0),)),
    "CHE": (1.0, (("german", 0.65), ("french", 0.25), ("italian", 0.1))),
    "SWE": (1.0, (("nordic", 0.9), ("arabic", 0.05), ("finnish", 0.05))),
    "DOM": (1.0, (("spanish", 1.0),)),
    "TWN": (0.8, (("chinese", 1.0),)),
    "ECU": (0.8, (("spanish", 1.0),)),
    "PER": (0.8, (("spanish", 0.95), ("japanese", 0.05))),
    "CHL": (0.6, (("spanish", 1.0),)),
    "GTM": (0.6, (("spanish", 1.0),)),
    "POL": (0.6, (("polish", 1.0),)),
    "BEL": (0.6, (("dutch", 0.55), ("french", 0.45))),
    "VEN": (0.5, (("spanish", 0.9), ("italian", 0.05), ("portuguese", 0.05))),
    "TUR": (0.5, (("turkish", 1.0),)),
    "NGA": (0.5, (("west_african", 1.0),)),
    "AUT": (0.5, (("german", 0.95), ("turkish", 0.05))),
    "SLV": (0.4, (("spanish", 1.0),)),
    "DNK": (0.4, (("nordic", 1.0),)),
    "NOR": (0.4, (("nordic", 1.0),)),
    "NZL": (0.4, (("english", 1.0),)),
    "PRT": (0.4, (("portuguese", 1.0),)),
    "RUS": (0.4, (("russian", 1.0),)),
    "UKR": (0.4, (("ukrainian", 0.85), ("russian", 0.15))),
    "VNM": (0.4, (("vietnamese", 1.0),)),
    "SAU": (0.4, (("arabic", 1.0),)),
    "JAM": (0.4, (("english", 1.0),)),
    "HND": (0.4, (("spanish", 1.0),)),
    "EGY": (0.3, (("arabic", 1.0),)),
    "PAK": (0.3, (("pakistani", 1.0),)),
    "GRC": (0.3, (("greek", 1.0),)),
    "ZAF": (0.3, (("english", 0.65), ("dutch", 0.2), ("indian", 0.15))),
    "FIN": (0.3, (("finnish", 0.94), ("nordic", 0.06))),
    "CZE": (0.25, (("czech", 1.0),)),
    "HUN": (0.2, (("hungarian", 1.0),)),
    "GHA": (0.2, (("west_african", 1.0),)),
    "HKG": (0.2, (("chinese", 1.0),)),
    "SGP": (0.2, (("chinese", 0.8), ("indian", 0.2))),
    "ARE": (0.2, (("arabic", 1.0),)),
    "HTI": (0.2, (("french", 1.0),)),
    "JOR": (0.15, (("arabic", 1.0),)),
    "LBN": (0.12, (("arabic", 1.0),)),
    "BGD": (0.1, (("pakistani", 1.0),)),
    "IRN": (0.1, (("persian", 1.0),)),
    "MAR": (0.1, (("arabic", 1.0),)),
    "KAZ": (0.08, (("russian", 1.0),)),
}

# Visa Waiver Program members among the nationalities above (admitted WT/WB without a visa).
VISA_WAIVER: Final = frozenset({
    "AUS", "AUT", "BEL", "CHE", "CHL", "CZE", "DEU", "DNK", "ESP", "FIN", "FRA", "GBR", "GRC", "HUN",
    "IRL", "ISR", "ITA", "JPN", "KOR", "NLD", "NOR", "NZL", "POL", "PRT", "SGP", "SWE", "TWN",
})

# Chinese romanisation used by each issuer: index into a chinese name entry's spellings.
CHINESE_SPELLING_INDEX: Final[dict[str, int]] = {"CHN": 0, "TWN": 1, "HKG": 2, "SGP": 2}

# Passport number patterns in the style of the issuer: A letter, 9 digit, X letter or digit.
PASSPORT_PATTERNS: Final[dict[str, str]] = {
    "GBR": "999999999", "IRL": "AA9999999", "USA": "999999999", "CAN": "AA999999", "MEX": "A99999999",
    "DEU": "AXXXXXXX9", "AUT": "A9999999", "CHE": "A9999999", "FRA": "99AA99999", "BEL": "AA999999",
    "NLD": "AAXXXXXX9", "ITA": "AA9999999", "ESP": "AAA999999", "PRT": "A999999", "BRA": "AA999999",
    "JPN": "AA9999999", "KOR": "M99999999", "CHN": "E99999999", "TWN": "999999999", "HKG": "K99999999",
    "IND": "A9999999", "PAK": "AA9999999", "BGD": "AA9999999", "AUS": "PA9999999", "NZL": "LA999999",
    "RUS": "999999999", "UKR": "AA999999", "KAZ": "N99999999", "POL": "AA9999999", "CZE": "99999999",
    "HUN": "AA9999999", "GRC": "AA9999999", "TUR": "U99999999", "ISR": "99999999", "SWE": "99999999",
    "NOR": "99999999", "DNK": "999999999", "FIN": "AA9999999", "SGP": "K9999999A", "PHL": "P9999999A",
    "VNM": "A99999999", "NGA": "A99999999", "GHA": "G9999999", "EGY": "A99999999", "SAU": "A999999",
    "ARE": "9999999", "JOR": "A999999", "LBN": "LR9999999", "MAR": "AA9999999", "IRN": "A99999999",
}
DEFAULT_PASSPORT_PATTERN: Final = "A99999999"
# Identity and border-crossing cards some Canadians and Mexicans show at land ports (document type I).
ID_CARD_PATTERNS: Final[dict[str, str]] = {"CAN": "99999999", "MEX": "99999999999"}

# Passports of some issuers carry 1 January when the true birth date is unknown.
JAN1_PASSPORT_RATES: Final[dict[str, float]] = {
    "PAK": 0.03, "BGD": 0.04, "NGA": 0.04, "GHA": 0.03, "EGY": 0.01, "VNM": 0.01, "IND": 0.01,
}
# Issuers that print sex X on request.
SEX_X_ISSUERS: Final = frozenset({"AUS", "CAN", "NZL", "DEU", "NLD", "DNK", "IRL", "ISL", "MLT", "ARG", "COL"})

# Second citizenships that are common for a nationality (dual nationals).
DUAL_PARTNERS: Final[dict[str, tuple[str, ...]]] = {
    "MEX": ("ESP",), "ARG": ("ITA", "ESP"), "BRA": ("ITA", "PRT"), "VEN": ("ESP", "ITA", "COL"),
    "COL": ("ESP",), "CAN": ("GBR", "FRA", "IRL"), "GBR": ("IRL", "AUS", "CAN"), "AUS": ("GBR", "NZL"),
    "NZL": ("GBR", "AUS"), "TUR": ("DEU",), "DEU": ("TUR", "POL"), "ISR": ("DEU", "POL", "FRA"),
    "RUS": ("ISR",), "UKR": ("POL", "ISR"), "IRN": ("CAN", "GBR"), "LBN": ("FRA", "CAN"),
    "EGY": ("CAN", "GBR"), "PHL": ("CAN", "AUS"), "IRL": ("GBR",), "FRA": ("MAR", "CAN"),
    "MAR": ("FRA",), "HKG": ("GBR", "CAN"), "KOR": ("CAN", "AUS"), "NGA": ("GBR",), "JAM": ("GBR", "CAN"),
}

# Airline designators: national carriers by nationality; US carriers serve everyone.
US_AIRLINES: Final = ("AA", "DL", "UA", "B6", "AS", "WN")
NATIONAL_AIRLINES: Final[dict[str, tuple[str, ...]]] = {
    "GBR": ("BA", "VS"), "DEU": ("LH",), "FRA": ("AF",), "NLD": ("KL",), "ITA": ("AZ",), "ESP": ("IB", "UX"),
    "IRL": ("EI",), "CHE": ("LX",), "AUT": ("OS",), "BEL": ("SN",), "SWE": ("SK",), "NOR": ("SK", "DY"),
    "DNK": ("SK",), "FIN": ("AY",), "POL": ("LO",), "PRT": ("TP",), "TUR": ("TK",), "ISR": ("LY",),
    "EGY": ("MS",), "SAU": ("SV",), "ARE": ("EK", "EY"), "JOR": ("RJ",), "MAR": ("AT",), "IND": ("AI",),
    "CHN": ("CA", "MU", "CZ"), "HKG": ("CX",), "TWN": ("CI", "BR"), "JPN": ("JL", "NH"),
    "KOR": ("KE", "OZ"), "VNM": ("VN",), "PHL": ("PR",), "SGP": ("SQ",), "AUS": ("QF",), "NZL": ("NZ",),
    "BRA": ("LA", "G3"), "ARG": ("AR",), "COL": ("AV",), "MEX": ("AM", "Y4", "VB"), "CAN": ("AC", "WS"),
    "PER": ("LA",), "CHL": ("LA",), "ZAF": ("SA",), "SLV": ("AV",), "GTM": ("AV",), "PAN": ("CM",),
}
HUB_AIRLINES: Final = ("EK", "QR", "TK", "LH", "BA", "AF", "KL", "CM", "AV")
CRUISE_LINES: Final = ("CCL", "RCL", "NCL", "MSC", "PCL")

# Ports of entry in the style of CBP port codes.
AIR_PORTS: Final = (
    "JFK", "LAX", "MIA", "EWR", "ORD", "SFO", "IAH", "ATL", "IAD", "DFW", "BOS", "SEA", "HNL", "MCO",
    "LAS", "FLL", "DTW", "PHL", "CLT", "DEN", "SAN", "MSP",
)
SEA_PORTS: Final = ("MIA", "PEV", "CPV", "GAL", "NYC", "SEA", "SJU")
NORTHERN_LAND_PORTS: Final = ("BUF", "DET", "BLA", "CHM", "PHU", "SWB", "ALX")
SOUTHERN_LAND_PORTS: Final = ("SYS", "OTM", "ELP", "LRD", "HID", "NOG", "BRO", "CLX")
