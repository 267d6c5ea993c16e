"""Benchmark: parse PAXLST manifests and convert them to canonical departure records.

Generates one large interchange (many messages of realistic passenger groups: NAD with address, ATT,
DTM+329, LOC+178/179, NAT, RFF, DOC, DTM+36, LOC+91), then times ``paxlst_to_records`` end to end
(tokenize, structure, travellers, conversion) on it, once with default separators and no released
characters (fast path) and once where some names carry released characters (careful path).
Target: at least 50,000 travellers per second.

    python benchmarks/bench_paxlst.py                      # 200,000 travellers
    python benchmarks/bench_paxlst.py --travellers 1000000
"""

from __future__ import annotations

import argparse
import random
import time

from stayledger.domain.events import parse_event
from stayledger.formats.paxlst import paxlst_to_records

TARGET_PER_SECOND = 50_000
SURNAMES = ("SMITH", "GARCIA", "NGUYEN", "MULLER", "ROSSI", "KOWALSKI", "TANAKA", "SILVA", "DUBOIS", "OKAFOR")
GIVEN = ("ANNA", "JOHN", "MARIA", "WEI", "FATIMA", "OLEKSANDR", "SEAN", "AMARA", "LUCA", "HANA")
NATIONALITIES = ("GBR", "DEU", "FRA", "IND", "BRA", "JPN", "NGA", "CAN", "MEX", "AUS")
PER_MESSAGE = 300


def build_interchange(travellers: int, seed: int = 7, released_share: float = 0.0) -> str:
    """A PAXLST interchange with ``travellers`` passengers on JFK→LHR flights, 300 per message."""
    rng = random.Random(seed)
    lines = ["UNA:+.? '", "UNB+UNOA:4+ZZAIR:ZZ+USCSAPIS:ZZ+250601:1200+BENCH1'"]
    messages = 0
    for start in range(0, travellers, PER_MESSAGE):
        messages += 1
        count = min(PER_MESSAGE, travellers - start)
        body = [
            f"UNH+M{messages}+PAXLST:D:02B:UN:IATA+ZZ{messages:05d}",
            "BGM+745",
            "NAD+MS+++OPS DESK",
            "COM+15550000000:TE",
            f"TDT+20+ZZ{messages % 9000 + 100}+++ZZ",
            "LOC+125+JFK",
            "DTM+189:2506011830:201",
            "LOC+87+LHR",
            "DTM+232:2506020630:201",
        ]
        for index in range(count):
            surname = rng.choice(SURNAMES)
            if released_share and rng.random() < released_share:
                surname = "O?'" + surname
            body += [
                f"NAD+FL+++{surname}:{rng.choice(GIVEN)}:{rng.choice(GIVEN)}+{index} MAIN STREET+SPRINGFIELD+++12345+USA",
                f"ATT+2++{rng.choice('MF')}",
                f"DTM+329:{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
                "LOC+178+JFK",
                "LOC+179+LHR",
                f"NAT+2+{rng.choice(NATIONALITIES)}",
                f"RFF+AVF:{rng.randrange(36**6):06X}",
                f"RFF+SEA:{rng.randint(1, 60)}{rng.choice('ABCDEF')}",
                f"DOC+P:110:111+X{start + index:08d}",
                f"DTM+36:{rng.randint(26, 34)}0101",
                f"LOC+91+{rng.choice(NATIONALITIES)}",
            ]
        body.append(f"CNT+42:{count}")
        body.append(f"UNT+{len(body) + 1}+M{messages}")
        lines.extend(segment + "'" for segment in body)
    lines.append(f"UNZ+{messages}+BENCH1'")
    return "\n".join(lines) + "\n"


def measure(label: str, text: str, travellers: int) -> float:
    started, cpu_started = time.perf_counter(), time.process_time()
    result = paxlst_to_records(text, "USA")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert len(result.records) == travellers, (len(result.records), travellers, result.rejected[:3])
    rate = travellers / elapsed
    verdict = "meets" if rate >= TARGET_PER_SECOND else "MISSES"
    print(f"{label:<34} {travellers:>9,} travellers  {len(text) / 1e6:7.1f} MB  {elapsed:7.2f} s  "
          f"{rate:>10,.0f} travellers/s  ({verdict} the {TARGET_PER_SECOND:,}/s target; "
          f"CPU {cpu:.2f} s = {travellers / cpu:,.0f}/s)")
    for record in result.records[:: max(1, travellers // 1000)]:
        parse_event(record)  # a sample of the records is valid canonical input (not timed)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--travellers", type=int, default=200_000)
    args = parser.parse_args()
    plain = build_interchange(args.travellers)
    released = build_interchange(args.travellers, released_share=0.05)
    measure("default separators, no release", plain, args.travellers)
    measure("5% names with released ' (O?'X)", released, args.travellers)


if __name__ == "__main__":
    main()
