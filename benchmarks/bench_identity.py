"""Identity-resolution benchmark: train, predict and cluster N synthetic events; accuracy if labelled.

Usage:
    python benchmarks/bench_identity.py --events 1000000
    python benchmarks/bench_identity.py --population DIR   # events.jsonl + truth_identities.csv
    python benchmarks/bench_identity.py --events 200000 --realtime 500

Prints seconds per stage, peak RSS, blocking comparisons and pair completeness, pair
precision/recall/F1 overall and per nationality (worst shown), and near-real-time latency.
The built-in generator is deliberately independent of stayledger.synth: it models the noise
named in the domain guide (transliteration variants, typos, swapped name order, day/month swaps,
1 January placeholders, OCR confusions, renewed passports, dual nationals, families with
consecutive passport numbers, twins).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sys
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from stayledger.identity.features import build_features
from stayledger.identity.clustering import cluster_links
from stayledger.identity.engines.duckdb_splink import DuckDBCandidateIndex, blocking_rule_counts
from stayledger.identity.linking import identity_keys_of, predict_links
from stayledger.identity.pair_scores import score_candidates
from stayledger.identity.training import train_model
from stayledger.storage.arrow_events import EVENT_SCHEMA

# Name pools by nationality: each name is a list of spellings sources use for it.
POOLS: dict[str, dict[str, list[list[str]]]] = {
    "DEU": {
        "surname": [["Müller", "MUELLER", "MULLER"], ["Schmidt"], ["Schneider"], ["Fischer"], ["Weiß", "WEISS"], ["Meyer", "Meier"],
                    ["Wagner"], ["Becker"], ["Schäfer", "SCHAEFER", "SCHAFER"], ["Koch"], ["Richter"], ["Klein"], ["Wolf"], ["Schröder", "SCHROEDER"],
                    ["Neumann"], ["Schwarz"], ["Zimmermann"], ["Braun"], ["Krüger", "KRUEGER"], ["Hofmann"], ["von Bülow", "VON BUELOW", "BULOW"]],
        "given": [["Jürgen", "JUERGEN", "JURGEN"], ["Anna"], ["Thomas"], ["Stefan", "Stephan"], ["Katharina"], ["Michael"], ["Sabine"],
                  ["Andreas"], ["Julia"], ["Lukas"], ["Björn", "BJOERN"], ["Jörg", "JOERG"], ["Maria"], ["Felix"], ["Lena"], ["Uwe"]],
    },
    "RUS": {
        "surname": [["Иванов", "IVANOV", "IWANOW"], ["Смирнов", "SMIRNOV"], ["Кузнецов", "KUZNETSOV", "KUZNECOV"], ["Попов", "POPOV"],
                    ["Щербаков", "SHCHERBAKOV", "SCHERBAKOV"], ["Соколов", "SOKOLOV"], ["Лебедев", "LEBEDEV"], ["Козлов", "KOZLOV"],
                    ["Новиков", "NOVIKOV"], ["Морозов", "MOROZOV"], ["Волков", "VOLKOV"], ["Фёдоров", "FEDOROV", "FYODOROV"]],
        "given": [["Александр", "ALEKSANDR", "ALEXANDER"], ["Евгений", "YEVGENIY", "EVGENY", "EVGENII"], ["Юлия", "YULIYA", "IULIIA", "JULIA"],
                  ["Дмитрий", "DMITRIY", "DMITRY", "DMITRII"], ["Наталья", "NATALYA", "NATALIA"], ["Сергей", "SERGEY", "SERGEI"],
                  ["Ольга", "OLGA"], ["Андрей", "ANDREY", "ANDREI"], ["Татьяна", "TATYANA", "TATIANA"], ["Михаил", "MIKHAIL", "MIHAIL"]],
    },
    "UKR": {
        "surname": [["Шевченко", "SHEVCHENKO"], ["Коваленко", "KOVALENKO"], ["Бондаренко", "BONDARENKO"], ["Ткаченко", "TKACHENKO"],
                    ["Кравченко", "KRAVCHENKO"], ["Олійник", "OLIINYK", "OLEYNIK"], ["Мельник", "MELNYK", "MELNIK"], ["Коваль", "KOVAL"]],
        "given": [["Олександр", "OLEKSANDR", "ALEKSANDR"], ["Євгенія", "YEVHENIIA", "IEVGENIIA", "EVGENIYA"], ["Іван", "IVAN"],
                  ["Андрій", "ANDRII", "ANDRIY"], ["Олена", "OLENA", "ELENA"], ["Юрій", "YURII", "IURII", "YURIY"], ["Наталія", "NATALIIA"]],
    },
    "EGY": {
        "surname": [["El-Sayed", "ELSAYED", "EL SAYED"], ["Abdel-Rahman", "ABDELRAHMAN", "ABD EL RAHMAN"], ["Hassan", "HASAN"],
                    ["Mahmoud", "MAHMUD", "MAHMOUD"], ["Ibrahim"], ["Mostafa", "MUSTAFA"], ["Al-Masri", "ALMASRI", "MASRI"], ["Khalil", "HALIL"]],
        "given": [["Mohammed", "MOHAMED", "MUHAMMAD", "MOHAMMAD"], ["Ahmed", "AHMAD"], ["Fatma", "FATIMA"], ["Mahmoud", "MAHMUD"],
                  ["Youssef", "YOUSSEF", "YUSUF"], ["Khaled", "KHALID"], ["Nour", "NUR"], ["Omar", "OMAR"], ["Aya"], ["Mona"]],
    },
    "CHN": {
        "surname": [["Wang"], ["Li"], ["Zhang"], ["Liu"], ["Chen"], ["Yang"], ["Huang"], ["Zhao"], ["Wu"], ["Zhou"]],
        "given": [["Wei"], ["Fang"], ["Min"], ["Jing"], ["Lei"], ["Yan"], ["Jun"], ["Hui"], ["Xiaoming", "XIAO MING"], ["Yifan", "YI FAN"],
                  ["Hao"], ["Ling"], ["Qiang"], ["Xin"], ["Yu"], ["Jie"]],
    },
    "KOR": {
        "surname": [["Kim"], ["Lee", "Yi"], ["Park", "Pak"], ["Choi", "Choe"], ["Jung", "Jeong"], ["Kang"], ["Cho", "Jo"]],
        "given": [["Minjun", "MIN JUN", "MIN-JUN"], ["Seoyeon", "SEO YEON"], ["Jiwoo", "JI WOO"], ["Hyun", "HYEON"], ["Sooah", "SU A"],
                  ["Dongha", "DONG HA"], ["Yuna"], ["Jisoo", "JI SU"], ["Taeyang"], ["Eunji", "EUN JI"]],
    },
    "VNM": {
        "surname": [["Nguyễn", "NGUYEN"], ["Trần", "TRAN"], ["Lê", "LE"], ["Phạm", "PHAM"], ["Hoàng", "HOANG"], ["Phan"], ["Vũ", "VU"]],
        "given": [["Thị Lan", "THI LAN"], ["Văn Nam", "VAN NAM"], ["Minh", "MINH"], ["Thu Hà", "THU HA"], ["Đức", "DUC"], ["Hương", "HUONG"],
                  ["Quang"], ["Anh"], ["Tuấn", "TUAN"], ["Linh"]],
    },
    "MEX": {
        "surname": [["García López", "GARCIA LOPEZ", "GARCIA"], ["Hernández Martínez", "HERNANDEZ MARTINEZ", "HERNANDEZ"],
                    ["de la Cruz", "DE LA CRUZ", "DELACRUZ", "CRUZ"], ["Rodríguez", "RODRIGUEZ"], ["González Pérez", "GONZALEZ PEREZ", "GONZALEZ"],
                    ["Sánchez", "SANCHEZ"], ["Ramírez Torres", "RAMIREZ TORRES", "RAMIREZ"], ["Flores"]],
        "given": [["José", "JOSE"], ["María Guadalupe", "MARIA GUADALUPE", "MARIA"], ["Juan Carlos", "JUAN CARLOS", "JUAN"],
                  ["Ana"], ["Luis"], ["Sofía", "SOFIA"], ["Jesús", "JESUS"], ["Alejandro"]],
    },
    "IRL": {
        "surname": [["O'Connor", "OCONNOR", "O CONNOR"], ["Murphy"], ["O'Brien", "OBRIEN"], ["Kelly"], ["McCarthy", "MC CARTHY", "MCCARTHY"],
                    ["Walsh"], ["Byrne"], ["Ryan"]],
        "given": [["Seán", "SEAN"], ["Siobhán", "SIOBHAN"], ["Patrick"], ["Aoife"], ["Ciarán", "CIARAN"], ["Niamh"], ["Liam"], ["Sinéad", "SINEAD"]],
    },
    "NLD": {
        "surname": [["van der Berg", "VAN DER BERG", "VANDERBERG"], ["de Jong", "DE JONG", "DEJONG"], ["Jansen"], ["de Vries", "DEVRIES"],
                    ["van Dijk", "VAN DIJK", "VANDIJK"], ["Bakker"], ["Visser"], ["Smit"]],
        "given": [["Daan"], ["Sanne"], ["Pieter"], ["Femke"], ["Joost"], ["Anouk"], ["Bram"], ["Eline"]],
    },
    "USA": {
        "surname": [["Smith"], ["Johnson"], ["Williams"], ["Brown"], ["Jones"], ["Miller"], ["Davis"], ["Wilson"], ["Anderson"], ["Taylor"],
                    ["Thomas"], ["Moore"], ["Jackson"], ["Martin"], ["Thompson"], ["White"]],
        "given": [["James"], ["Mary"], ["John"], ["Patricia"], ["Robert"], ["Jennifer"], ["Michael"], ["Linda"], ["William"], ["Elizabeth"],
                  ["David"], ["Barbara"], ["Richard"], ["Susan"], ["Joseph"], ["Jessica"]],
    },
}
NATIONALITIES = list(POOLS)
WEIGHTS = [12, 8, 6, 8, 12, 7, 7, 9, 4, 4, 23]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _typo(rng: random.Random, text: str) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:])
    op = rng.random()
    if op < 0.4:
        return text[:i] + rng.choice(ALPHABET) + text[i + 1 :]
    if op < 0.7:
        return text[:i] + text[i + 1 :]
    if i + 1 < len(text):
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text


def _doc_number(rng: random.Random) -> str:
    return rng.choice(ALPHABET) + rng.choice(ALPHABET) + f"{rng.randrange(10**7):07d}"


def _ocr_confuse(rng: random.Random, number: str) -> str:
    swaps = {"0": "O", "1": "I", "5": "S", "8": "B", "O": "0", "I": "1", "S": "5", "B": "8"}
    spots = [i for i, c in enumerate(number) if c in swaps]
    if not spots:
        return number
    i = rng.choice(spots)
    return number[:i] + swaps[number[i]] + number[i + 1 :]


def _person(rng: random.Random, nationality: str, surname: list[str] | None = None, dob: date | None = None) -> dict[str, Any]:
    pool = POOLS[nationality]
    surname = surname or rng.choice(pool["surname"])
    given = rng.choice(pool["given"])
    if rng.random() < 0.5:  # a second given name for some
        second = rng.choice(pool["given"])
        if second != given:
            given = [f"{g} {second[0]}" for g in given]
    dob = dob or date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
    return {
        "nationality": nationality, "surname": surname, "given": given, "dob": dob,
        "sex": rng.choice("MF"), "docs": [_doc_number(rng)],
    }


def _events_for(rng: random.Random, person: dict[str, Any], pid: str, start: date) -> list[dict[str, Any]]:
    trips = rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 5])
    events = []
    day = start + timedelta(days=rng.randrange(300))
    doc_index = 0
    dual = person.get("dual")
    east_asian = person["nationality"] in ("CHN", "KOR", "VNM")
    for trip in range(trips):
        if trip > 0 and rng.random() < 0.12:  # renewed passport
            person["docs"].append(_doc_number(rng))
            doc_index = len(person["docs"]) - 1
        stay = rng.randrange(3, 120)
        kinds = ["arrival", "departure"] if rng.random() < 0.93 else ["arrival"]
        if rng.random() < 0.05:
            kinds.insert(1, "status_change")
        for kind in kinds:
            on = day if kind == "arrival" else day + timedelta(days=stay)
            nationality, doc = person["nationality"], person["docs"][doc_index]
            if dual and kind == "departure" and rng.random() < 0.5:
                nationality, doc = dual
            surname = rng.choice(person["surname"])
            given = rng.choice(person["given"])
            if rng.random() < 0.03:
                surname = _typo(rng, surname)
            if rng.random() < 0.03:
                given = _typo(rng, given)
            if east_asian and rng.random() < 0.05:
                surname, given = given, surname
            if rng.random() < 0.01:
                given = None
            dob_text = person["dob"].isoformat()
            r = rng.random()
            if r < 0.01 and person["dob"].day <= 12 and person["dob"].day != person["dob"].month:
                dob_text = f"{person['dob'].year}-{person['dob'].day:02d}-{person['dob'].month:02d}"
            elif r < 0.02:
                i = rng.choice([2, 3, 6, 9])
                dob_text = dob_text[:i] + str((int(dob_text[i]) + 1) % 10) + dob_text[i + 1 :]
            elif r < 0.025:
                dob_text = f"{person['dob'].year}-01-01"
            elif r < 0.03:
                dob_text = str(person["dob"].year)
            if rng.random() < 0.02:
                doc = _ocr_confuse(rng, doc)
            event = {
                "event_id": f"e{len(events):02d}-{pid}", "kind": kind, "occurred_on": on, "source": rng.choice(["api", "i94", "land"]),
                "surname": surname, "given_names": given, "date_of_birth": dob_text, "sex": person["sex"], "nationality": nationality,
                "document_type": "P", "document_number": doc, "document_issuer": nationality, "port": "JFK", "mode": "air",
                "admission_class": "B2" if kind == "arrival" else None, "admitted_until": on + timedelta(days=180) if kind == "arrival" else None,
                "change": "extension_filed" if kind == "status_change" else None,
            }
            events.append(event)
        day += timedelta(days=stay + rng.randrange(10, 200))
    return events


def generate(events_wanted: int, seed: int) -> tuple[pa.Table, dict[str, str]]:
    """Synthetic labelled events (EVENT_SCHEMA) and event_id -> person truth."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    truth: dict[str, str] = {}
    n = 0
    start = date(2023, 1, 1)
    while len(rows) < events_wanted:
        nationality = rng.choices(NATIONALITIES, WEIGHTS)[0]
        head = _person(rng, nationality)
        household = [head]
        if rng.random() < 0.15:  # a family travelling on consecutive passport numbers
            base = head["docs"][0]
            for k in range(1, rng.randrange(2, 5)):
                twin = rng.random() < 0.15
                member = _person(rng, nationality, surname=head["surname"], dob=head["dob"] if twin else None)
                while any(member["given"][0].split()[0] == other["given"][0].split()[0] for other in household):
                    member = _person(rng, nationality, surname=head["surname"], dob=head["dob"] if twin else None)
                member["docs"] = [base[:2] + f"{int(base[2:]) + k:07d}"]
                household.append(member)
        for person in household:
            if rng.random() < 0.02:
                other = rng.choice([x for x in NATIONALITIES if x != person["nationality"]])
                person["dual"] = (other, _doc_number(rng))
            pid = f"p{n:07d}"
            n += 1
            for event in _events_for(rng, person, pid, start):
                event["event_id"] = f"{pid}-{event['event_id']}"
                truth[event["event_id"]] = pid
                rows.append(event)
    rows = rows[:events_wanted]
    truth = {r["event_id"]: truth[r["event_id"]] for r in rows}
    columns = {name: [r.get(name) for r in rows] for name in EVENT_SCHEMA.names}
    columns["duration_of_status"] = [False] * len(rows)
    return pa.Table.from_pydict(columns, schema=EVENT_SCHEMA), truth


def load_population(directory: Path) -> tuple[pa.Table, dict[str, str]]:
    """events.jsonl and truth_identities.csv written by stayledger.synth."""
    from stayledger.domain.events import parse_event
    from stayledger.storage.arrow_events import events_to_table

    with open(directory / "events.jsonl", encoding="utf-8") as f:
        events = [parse_event(json.loads(line)) for line in f if line.strip()]
    with open(directory / "truth_identities.csv", encoding="utf-8") as f:
        truth = {row["event_id"]: row["person"] for row in csv.DictReader(f)}
    return events_to_table(events), truth


def pair_scores(cluster_of: dict[str, str], truth: dict[str, str], nationality: dict[str, str]) -> dict[str, tuple[float, float, float]]:
    """Pair precision, recall and F1 overall and per nationality (of the true person's first event)."""
    def pairs_by_group(groups: dict[str, list[str]]) -> Counter:
        return Counter({k: len(v) * (len(v) - 1) // 2 for k, v in groups.items()})

    predicted = defaultdict(list)
    true = defaultdict(list)
    for e, c in cluster_of.items():
        predicted[c].append(e)
        true[truth[e]].append(e)
    person_nat = {}
    for e, p in truth.items():
        person_nat.setdefault(p, nationality[e])
    tp: Counter = Counter()
    fp_total: Counter = Counter()
    for members in predicted.values():
        by_person = Counter(truth[e] for e in members)
        nat = Counter(person_nat[truth[e]] for e in members).most_common(1)[0][0]
        pairs = len(members) * (len(members) - 1) // 2
        same = 0
        for person, k in by_person.items():
            tp[person_nat[person]] += k * (k - 1) // 2
            same += k * (k - 1) // 2
        fp_total[nat] += pairs - same
    true_pairs: Counter = Counter()
    for person, members in true.items():
        true_pairs[person_nat[person]] += len(members) * (len(members) - 1) // 2
    out = {}
    for group in sorted(set(true_pairs) | {"ALL"}):
        if group == "ALL":
            t, f, a = sum(tp.values()), sum(fp_total.values()), sum(true_pairs.values())
        else:
            t, f, a = tp[group], fp_total[group], true_pairs[group]
        precision = t / (t + f) if t + f else 1.0
        recall = t / a if a else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[group] = (precision, recall, f1)
    return out


def blocking_pair_completeness(features: pa.Table, truth: dict[str, str]) -> float:
    """Share of true pairs that at least one prediction blocking rule generates."""
    from stayledger.identity.engines.duckdb_splink import connect
    from stayledger.identity.model_spec import BLOCKING_RULES

    con = connect()
    con.register("f", features.drop_columns(["surname_words"]))
    con.register("t", pa.table({"unique_id": list(truth), "person": list(truth.values())}))
    con.execute("CREATE TABLE ft AS SELECT f.*, t.person FROM f JOIN t USING (unique_id)")
    total = con.execute("SELECT sum(c * (c - 1) / 2) FROM (SELECT count(*) c FROM ft GROUP BY person)").fetchone()[0]
    rules = " OR ".join(f"({r})" for r in BLOCKING_RULES)
    found = con.execute(
        f"SELECT count(*) FROM ft l JOIN ft r ON l.person = r.person AND l.unique_id < r.unique_id WHERE {rules}"
    ).fetchone()[0]
    con.close()
    return found / total if total else 1.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--population", type=Path, help="directory with events.jsonl and truth_identities.csv")
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--max-pairs", type=int, default=2_000_000)
    parser.add_argument("--realtime", type=int, default=200, help="new events to score near real time (0: skip)")
    parser.add_argument("--skip-blocking-counts", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    if args.population:
        events, truth = load_population(args.population)
        print(f"loaded {events.num_rows:,} events from {args.population} in {time.perf_counter() - t0:.1f} s")
    else:
        events, truth = generate(args.events, args.seed)
        print(f"generated {events.num_rows:,} events of {len(set(truth.values())):,} people in {time.perf_counter() - t0:.1f} s")
    print(f"peak RSS after input: {peak_rss_mb():,.0f} MB")

    t = time.perf_counter()
    features = build_features(events)
    t_features = time.perf_counter() - t
    print(f"features: {t_features:.1f} s")

    if not args.skip_blocking_counts:
        t = time.perf_counter()
        for row in blocking_rule_counts(features):
            print(f"  blocking {row['marginal']:>12,} new, {row['cumulative']:>12,} total  {row['rule']}")
        print(f"  blocking analysis {time.perf_counter() - t:.1f} s (not part of the batch time)")
        print(f"  pair completeness of blocking: {blocking_pair_completeness(features, truth):.5f}")

    t = time.perf_counter()
    model = train_model(features, seed=42, max_pairs=args.max_pairs, trained_at="benchmark")
    t_train = time.perf_counter() - t
    print(f"train: {t_train:.1f} s (prior {model.prior:.3g})")

    t = time.perf_counter()
    links = predict_links(features, model, threshold=0.01)
    t_predict = time.perf_counter() - t
    print(f"predict: {t_predict:.1f} s, {links.num_rows:,} links >= 0.01")

    t = time.perf_counter()
    clusters = cluster_links(
        features.column("unique_id").to_pylist(), links, match_threshold=args.threshold, identity_keys=identity_keys_of(features)
    )
    t_cluster = time.perf_counter() - t
    print(f"cluster: {t_cluster:.1f} s, {len(set(clusters.cluster_of.values())):,} identities, {len(clusters.refused)} links refused")
    print(f"batch train+predict+cluster: {t_train + t_predict + t_cluster:.1f} s (+ features {t_features:.1f} s)")
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")

    nationality = dict(zip(events.column("event_id").to_pylist(), events.column("nationality").to_pylist()))
    scores = pair_scores(clusters.cluster_of, truth, nationality)
    p, r, f = scores.pop("ALL")
    print(f"pair precision {p:.5f} recall {r:.5f} F1 {f:.5f} at threshold {args.threshold}")
    worst = min(scores.items(), key=lambda kv: kv[1][2])
    for nat, (p, r, f) in sorted(scores.items(), key=lambda kv: kv[1][2]):
        print(f"  {nat}: P {p:.5f} R {r:.5f} F1 {f:.5f}")
    print(f"worst nationality: {worst[0]} F1 {worst[1][2]:.5f}")

    if args.realtime:
        t = time.perf_counter()
        index = DuckDBCandidateIndex(features, model)
        print(f"candidate index over {features.num_rows:,} events built in {time.perf_counter() - t:.1f} s")
        rng = random.Random(args.seed + 1)
        probes, _ = generate(args.realtime * 3, args.seed + 99)
        probe_ids = rng.sample(range(probes.num_rows), args.realtime)
        latencies = []
        for i in probe_ids:
            start = time.perf_counter()
            new = build_features(probes.slice(i, 1))
            candidates = index.candidates_for(new)
            score_candidates(new, candidates, model)
            latencies.append((time.perf_counter() - start) * 1000)
        latencies.sort()
        q = lambda x: latencies[min(len(latencies) - 1, int(x * len(latencies)))]  # noqa: E731
        print(f"near real time ({len(latencies)} new events): p50 {q(0.5):.1f} ms, p95 {q(0.95):.1f} ms, p99 {q(0.99):.1f} ms")
    print(f"peak RSS at end: {peak_rss_mb():,.0f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
