"""Country codes: ISO 3166-1 alpha-3 plus the extra codes ICAO Doc 9303 uses.

Pure data (standard library only). The ISO list was generated from ISO 3166-1 as published
in pycountry 26.2.16 and is embedded so that the core imports nothing.
"""

from __future__ import annotations

ISO_ALPHA3: frozenset[str] = frozenset({
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF", "ATG", "AUS", "AUT",
    "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS", "BIH", "BLM", "BLR", "BLZ", "BMU", "BOL",
    "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF", "CAN", "CCK", "CHE", "CHL", "CHN", "CIV", "CMR", "COD", "COG",
    "COK", "COL", "COM", "CPV", "CRI", "CUB", "CUW", "CXR", "CYM", "CYP", "CZE", "DEU", "DJI", "DMA", "DNK", "DOM",
    "DZA", "ECU", "EGY", "ERI", "ESH", "ESP", "EST", "ETH", "FIN", "FJI", "FLK", "FRA", "FRO", "FSM", "GAB", "GBR",
    "GEO", "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC", "GRD", "GRL", "GTM", "GUF", "GUM", "GUY",
    "HKG", "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN", "IND", "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA",
    "JAM", "JEY", "JOR", "JPN", "KAZ", "KEN", "KGZ", "KHM", "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY",
    "LCA", "LIE", "LKA", "LSO", "LTU", "LUX", "LVA", "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX", "MHL",
    "MKD", "MLI", "MLT", "MMR", "MNE", "MNG", "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS", "MWI", "MYS", "MYT", "NAM",
    "NCL", "NER", "NFK", "NGA", "NIC", "NIU", "NLD", "NOR", "NPL", "NRU", "NZL", "OMN", "PAK", "PAN", "PCN", "PER",
    "PHL", "PLW", "PNG", "POL", "PRI", "PRK", "PRT", "PRY", "PSE", "PYF", "QAT", "REU", "ROU", "RUS", "RWA", "SAU",
    "SDN", "SEN", "SGP", "SGS", "SHN", "SJM", "SLB", "SLE", "SLV", "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR",
    "SVK", "SVN", "SWE", "SWZ", "SXM", "SYC", "SYR", "TCA", "TCD", "TGO", "THA", "TJK", "TKL", "TKM", "TLS", "TON",
    "TTO", "TUN", "TUR", "TUV", "TWN", "TZA", "UGA", "UKR", "UMI", "URY", "USA", "UZB", "VAT", "VCT", "VEN", "VGB",
    "VIR", "VNM", "VUT", "WLF", "WSM", "YEM", "ZAF", "ZMB", "ZWE",})

# ICAO Doc 9303 Part 3: codes that are not ISO alpha-3 countries, with what they mean.
ICAO_SPECIAL: dict[str, str] = {
    "GBD": "British Overseas Territories Citizen",
    "GBN": "British National (Overseas)",
    "GBO": "British Overseas Citizen",
    "GBP": "British Protected Person",
    "GBS": "British Subject",
    "RKS": "Kosovo",
    "UNO": "United Nations Organization official",
    "UNA": "United Nations specialized agency official",
    "UNK": "Kosovo resident (UNMIK travel document)",
    "XBA": "African Development Bank official",
    "XIM": "African Export-Import Bank official",
    "XCC": "Caribbean Community official",
    "XCE": "Council of Europe official",
    "XCO": "Common Market for Eastern and Southern Africa official",
    "XEC": "Economic Community of West African States official",
    "XPO": "Interpol official",
    "XES": "Organisation of Eastern Caribbean States official",
    "XMP": "Parliamentary Assembly of the Mediterranean official",
    "XOM": "Sovereign Military Order of Malta",
    "XDC": "Southern African Development Community official",
    "XXA": "Stateless person (1954 Convention)",
    "XXB": "Refugee (1951 Convention)",
    "XXC": "Refugee (other)",
    "XXX": "Person of unspecified nationality",
    "EUE": "European Union",
}

# Short ICAO codes that stand for an ISO country (Doc 9303 writes Germany as "D", padded with "<").
ICAO_ALIASES: dict[str, str] = {"D": "DEU"}

KNOWN_CODES: frozenset[str] = ISO_ALPHA3 | frozenset(ICAO_SPECIAL)


def normalise_country(code: str) -> str | None:
    """Return the canonical alpha-3 code for an ISO or ICAO code, or None if unknown.

    Accepts any case and ICAO padding (``D<<``); ``D`` becomes ``DEU``.
    """
    cleaned = code.strip().upper().rstrip("<")
    cleaned = ICAO_ALIASES.get(cleaned, cleaned)
    return cleaned if cleaned in KNOWN_CODES else None
