"""Clustering scored links into identities while honouring review decisions.

Links are accepted strongest first with a union-find. A union is refused when a reviewer's
cannot-link separates the two components, or when the two components hold records that contradict
each other (a relative's passport, document and birth date both different, two namesakes each with
their own corroborated birth date) or that only an odd record joins (the chaining guard, see
``cluster_links``).
Must-link pairs are joined before any scored link.

Order matters only where the guard may object. A connected component of links whose records all carry the same
document, issuer, birth date and surname (most travellers' are) is one cluster whatever the order, and is settled
at once with array operations; so is a merge of two such components inside the ordered pass.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from concurrent.futures import Executor
from dataclasses import dataclass, field
from itertools import count
from typing import Final, Iterable, Iterator, Mapping, NamedTuple, Sequence, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stayledger.errors import StayledgerError

# Consecutive passports of one family differ by fewer than this many in their last two digits.
FAMILY_NUMBER_MAX_GAP: Final = 10
# Above this many cross pairs the chaining guard is not evaluated (the merge is allowed).
CHAINING_GUARD_MAX_CROSS_PAIRS: Final = 10_000
# With an executor, an ordered pass of this many links or more is cut into two shares run at once. Measured: at 1.8M
# links (1M events) a worker's start and the share's transfer ate the gain (14.0 s against 13.0-13.7 s in one pass);
# at 18.9M links (10M events) 187 s against 223 s.
ORDERED_PASS_SHARE_LINKS = 4_000_000


class ReviewDecisionConflict(StayledgerError):
    """Must-link decisions join two events that a cannot-link decision keeps apart."""


class IdentityKeys(NamedTuple):
    """What the chaining guard compares: OCR-canonical document number, birth date and normalised
    surname (None when unknown).

    A NamedTuple, not a frozen dataclass: a batch builds one per event (ten million at national scale), and a
    tuple is several times cheaper to construct."""

    document: str | None
    date_of_birth: str | None
    surname: str | None = None
    # The document's issuer (else the nationality) and the event's date (ISO), for document histories.
    issuer: str | None = None
    occurred_on: str | None = None
    # The number's shape as written (letters A, digits 9: ``AA999999``), see ``document_format``.
    document_format: str | None = None


def document_format(number: str | None) -> str | None:
    """The shape of a normalised document number: letters as A, digits as 9 (``AB123456`` -> ``AA999999``).

    One issuer's passports keep their shape across renewals; its other documents used at land borders
    (passport cards, trusted-traveller and border-crossing cards, enhanced driving licences) have
    their own. Those coexist with the passport and are used in turn, so histories compare only
    numbers of one shape.
    """
    if not number:
        return None
    return "".join("A" if ch.isalpha() else "9" if ch.isdigit() else ch for ch in number)


@dataclass(slots=True)
class ClusterResult:
    """The identity of every event: a cluster key, and how strongly it was joined to it."""

    # Cluster key = the smallest event_id in the cluster (stable while the cluster is unchanged).
    cluster_of: dict[str, str]
    # Probability of the strongest accepted link touching the event; 1.0 for a must-link;
    # None for an event joined by no link (a singleton).
    joining_probability: dict[str, float | None]
    # Links refused by a cannot-link or by the chaining guard: (event_id_l, event_id_r, p, reason).
    refused: list[tuple[str, str, float, str]] = field(default_factory=list)
    # Links accepted on thin evidence against them, for a reviewer to confirm: (event_id_l, event_id_r, p, reason).
    questioned: list[tuple[str, str, float, str]] = field(default_factory=list)


# Years of birth more than this far apart are two people when each side's records corroborate a
# date known only by its year (1 January, a partial date). An estimated year (age assessed, day and
# month unknown) drifts by one between registrations; a single record's mistyped year is a typo,
# hence corroboration (two records), as for the namesakes check.
ESTIMATED_YEAR_TOLERANCE: Final = 1


def _dob_conflict(a: str | None, b: str | None) -> bool:
    """Two full birth dates that no typo explains (not equal, not day/month swapped, >1 edit).

    Partial dates and 1 January (a common placeholder for "only the year is known") never conflict
    pair by pair: see ``namesakes`` for their years.
    """
    if a is None or b is None or len(a) != 10 or len(b) != 10 or a == b:
        return False
    if a.endswith("-01-01") or b.endswith("-01-01"):
        return False
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return False  # day and month swapped
    differing = [i for i in range(10) if a[i] != b[i]]
    if len(differing) == 1:
        return False
    if len(differing) == 2 and differing[1] == differing[0] + 1 and a[differing[0]] == b[differing[1]] and a[differing[1]] == b[differing[0]]:
        return False  # two adjacent digits transposed
    return True


def consecutive_documents(a: str | None, b: str | None) -> bool:
    """Different numbers that differ only in their last two characters: a relative's passport.

    Issuers give family members numbers in sequence; a renewal gets an unrelated number. The last
    two characters swapped (``…36`` / ``…63``) is a keying error, not a sequence, and does not count;
    nor do two-digit endings ``FAMILY_NUMBER_MAX_GAP`` or more apart (``…96`` / ``…86``: the tens
    digit mistyped), which a family's few passports in sequence do not reach.
    """
    if not (a is not None and b is not None and a != b and len(a) == len(b) and len(a) >= 5 and a[:-2] == b[:-2]):
        return False
    if a[-2:] == b[:-3:-1]:
        return False
    if a[-2:].isdigit() and b[-2:].isdigit():
        return abs(int(a[-2:]) - int(b[-2:])) < FAMILY_NUMBER_MAX_GAP
    return True


# Thin document-history evidence (one of the alternating numbers seen once): the link is kept and
# queued for review, not refused. A single odd record is as likely a stale number (a booking profile
# keeping an old passport) or a mistyped one as a namesake's single trip; refusing it split real
# travellers (the project's test population: pair recall 0.98 -> 0.94).
THIN_HISTORY: Final = "document history (thin evidence, for review)"


def _one_edit(a: str, b: str) -> bool:
    """One character changed, added, dropped, or two adjacent ones swapped: a keying error."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _alternation(uses: list[tuple[str, str]]) -> tuple[int, int] | None:
    """Whether one issuer's documents, in date order, alternate: (X, Y, X). Returns how often the
    least used of the alternating numbers was seen and how many runs there were, or None.

    A number within one keying error of a more used one is that number mistyped. On a day with
    several numbers the order that alternates least is taken (the day's order is unknown).
    """
    counts: dict[str, int] = {}
    for _, number in uses:
        counts[number] = counts.get(number, 0) + 1
    canonical = {}
    by_use = sorted(counts, key=lambda n: (-counts[n], n))
    for number in counts:
        # A number within one keying error of a more used one is that number mistyped (a carrier can
        # repeat its error); relatives' consecutive numbers are the chaining guard's other check.
        ahead = by_use[: by_use.index(number)]
        canonical[number] = next((o for o in ahead if _one_edit(o, number)), number)
    first_seen: dict[str, str] = {}
    for on, number in sorted(uses):
        first_seen.setdefault(canonical[number], on)
    ordered = sorted((on, first_seen[canonical[n]], canonical[n]) for on, n in uses)
    runs: list[str] = []
    for _, _, number in ordered:
        if not runs or runs[-1] != number:
            runs.append(number)
    if len(runs) == len(set(runs)):
        return None  # each number used in one stretch: renewals succeed each other
    totals: dict[str, int] = {}
    for _, number in uses:
        totals[canonical[number]] = totals.get(canonical[number], 0) + 1
    return min(totals[n] for n in set(runs)), len(runs)


def document_history_conflict(left: Iterable[IdentityKeys], right: Iterable[IdentityKeys]) -> str | None:
    """Why two components' documents say they are two people, or None.

    A traveller's passports from one issuer succeed each other: a renewal replaces the old one, which
    stops being used. When the two components hold different numbers of one issuer and together they
    use them alternately in time (X, then Y, then X again; also two stays open at once on X and Y,
    one closed on X after Y was used), they are two people using their own documents. Dual nationals
    alternate between issuers, which is not compared. Evidence is thin when one of the alternating
    numbers was seen only once (a stale number from a booking profile, a mistyped record): then the
    link is kept and goes to review (``THIN_HISTORY``).
    """
    def by_issuer(keys: Iterable[IdentityKeys]) -> dict[tuple[str, str | None], list[tuple[str, str]]]:
        out: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
        for k in keys:
            if k.document and k.issuer and k.occurred_on:
                out.setdefault((k.issuer, k.document_format), []).append((k.occurred_on, k.document))
        return out

    mine, theirs = by_issuer(left), by_issuer(right)
    thin = False
    # Groups in a fixed order, and firm evidence in any group before thin evidence in another: the verdict must not
    # depend on a set's order (string hashes differ from process to process).
    for group in sorted(mine.keys() & theirs.keys(), key=lambda g: (g[0], g[1] or "")):
        if len({n for _, n in mine[group]} | {n for _, n in theirs[group]}) < 2:
            continue
        found = _alternation(mine[group] + theirs[group])  # first: most merges alternate nothing (cheaper)
        if found is None or _alternation(mine[group]) or _alternation(theirs[group]):
            continue  # no alternation, or already alternating on one side: not this merge's doing
        least_seen, runs = found
        if least_seen >= 2 and runs >= 3:
            return f"two numbers of {group[0]} used alternately (two people, each on their own passport)"
        thin = True
    return THIN_HISTORY if thin else None


def describe_document_history(keys: Iterable[IdentityKeys]) -> list[str]:
    """One line per issuer with two or more numbers: the numbers in order of first use with their
    first and last dates, and whether they succeed each other (renewals) or alternate."""
    uses: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for k in keys:
        if k.document and k.issuer and k.occurred_on:
            uses.setdefault((k.issuer, k.document_format or ""), []).append((k.occurred_on, k.document))
    lines = []
    for (issuer, _), seen in sorted(uses.items()):
        spans: dict[str, list[str]] = {}
        for on, number in sorted(seen):
            spans.setdefault(number, []).append(on)
        if len(spans) < 2:
            continue
        parts = ", then ".join(f"{n} ({d[0]}…{d[-1]}, {len(d)}×)" for n, d in spans.items())
        found = _alternation(seen)
        verdict = ("used alternately: evidence of two people" if found and found[0] >= 2 and found[1] >= 3
                   else "one used between uses of another (thin evidence of two people)" if found
                   else "succeed each other (renewals)")
        lines.append(f"documents of {issuer}: {parts} — {verdict}")
    return lines


def _same_day(a: str, b: str) -> bool:
    """Equal, or day and month swapped (a date-format mix-up, not another person)."""
    return a == b or (a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7])


def corroborated_birth_dates(keys: Iterable[IdentityKeys]) -> set[str]:
    """Full birth dates (not 1 January) that two or more of a component's records state.

    A typo is on one record; a birth date that two records (an arrival and its departure, say)
    agree on is the traveller's own.
    """
    counts: dict[str, int] = {}
    for k in keys:
        d = k.date_of_birth
        if d is not None and len(d) == 10 and not d.endswith("-01-01"):
            counts[d] = counts.get(d, 0) + 1
    return {d for d, n in counts.items() if n >= 2}


def namesakes(left: Iterable[IdentityKeys], right: Iterable[IdentityKeys]) -> bool:
    """Two components that each corroborate a birth date, and no two of those dates are one day.

    Alike names and a birth date one digit apart score as a typo pair by pair; but when each side's
    own records agree on their date, the difference is real: two namesakes, not one traveller.
    """
    left, right = list(left), list(right)
    mine, theirs = corroborated_birth_dates(left), corroborated_birth_dates(right)
    if mine and theirs and not any(_same_day(a, b) for a in mine for b in theirs):
        return True
    # Dates known only by their year keep it: 1973-01-01 and 1979-01-01, each stated twice, are two people.
    my_years, their_years = corroborated_years(left), corroborated_years(right)
    return bool(my_years) and bool(their_years) and not any(
        abs(a - b) <= ESTIMATED_YEAR_TOLERANCE for a in my_years for b in their_years
    )


def corroborated_years(keys: Iterable[IdentityKeys]) -> set[int]:
    """Years of birth of dates known only by their year (1 January or partial) that two or more
    of a component's records state."""
    counts: dict[int, int] = {}
    for k in keys:
        d = k.date_of_birth
        if d is not None and len(d) >= 4 and d[:4].isdigit() and (len(d) != 10 or d.endswith("-01-01")):
            counts[int(d[:4])] = counts.get(int(d[:4]), 0) + 1
    return {y for y, n in counts.items() if n >= 2}


def borrowed_document(left: Iterable[IdentityKeys], right: Iterable[IdentityKeys]) -> bool:
    """A record that carries the other side's document number with a birth date that is not the holder's.

    A passport has one holder, and his birth date is the one two or more of his records state. A record
    on that number with a full birth date no typo explains (not equal, not day/month swapped, more than
    one digit apart) is someone else's record keyed with his number: a booking that copied the lead
    passenger's passport to the whole party, a placeholder number. Stated once it could be a keying
    error too, but a wholly different date is not how a date is mistyped.
    """
    left, right = list(left), list(right)
    for mine, theirs in ((left, right), (right, left)):
        dates = corroborated_birth_dates(theirs)
        if not dates:
            continue
        numbers = {k.document for k in theirs if k.document}
        for k in mine:
            if k.document in numbers and k.date_of_birth is not None and all(
                    _dob_conflict(k.date_of_birth, d) for d in dates):
                return True
    return False


def contradicts(a: IdentityKeys, b: IdentityKeys) -> bool:
    """True when two records cannot be one person: different documents and incompatible birth dates."""
    different_document = a.document is not None and b.document is not None and a.document != b.document
    return different_document and _dob_conflict(a.date_of_birth, b.date_of_birth)


# A component's kind: the code of the identity keys all its records share, else one of these.
UNKEYED: Final = -1  # no record of the component has keys
MIXED: Final = -2  # its records' keys differ (or some have none)


class _Components:
    """Union-find over event positions (ints: ten million events as strings in dicts cost gigabytes) with member
    lists (for the guard), cannot-link sets and, with the guard, each component's kind (see ``_record_kinds``).

    A component of one event has no list of its own (``members_of`` gives it): ten million one-element lists
    would cost most of a gigabyte."""

    def __init__(self, size: int, kinds: list[int] | None = None) -> None:
        self.parent: list[int] = list(range(size))
        self.members: dict[int, list[int]] = {}  # root -> members, for components of two or more events
        self.forbidden: dict[int, set[int]] = {}
        self.kind = kinds  # by root

    def members_of(self, root: int) -> list[int]:
        return self.members.get(root) or [root]

    def find(self, e: int) -> int:
        parent = self.parent
        root = e
        while parent[root] != root:
            root = parent[root]
        while parent[e] != root:  # path compression
            parent[e], e = root, parent[e]
        return root

    def separated(self, ra: int, rb: int) -> bool:
        if not self.forbidden:  # no cannot-link decision here (most batches)
            return False
        small, large = (ra, rb) if len(self.forbidden.get(ra, ())) <= len(self.forbidden.get(rb, ())) else (rb, ra)
        return any(self.find(x) == large for x in self.forbidden.get(small, ()))

    def alike(self, ra: int, rb: int) -> bool:
        """Every record of both components carries the same identity keys (or none has keys): no check of the
        chaining guard can object to joining them by a direct link."""
        kind = self.kind
        return kind is not None and kind[ra] == kind[rb] and kind[ra] != MIXED

    def union(self, ra: int, rb: int) -> int:
        if len(self.members_of(ra)) < len(self.members_of(rb)):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members.setdefault(ra, [ra]).extend(self.members.pop(rb, None) or [rb])
        if rb in self.forbidden:
            self.forbidden.setdefault(ra, set()).update(self.forbidden.pop(rb))
        if self.kind is not None and self.kind[ra] != self.kind[rb]:
            self.kind[ra] = MIXED
        return ra


def cluster_links(
    event_ids: Sequence[str],
    links: pa.Table,
    *,
    match_threshold: float,
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    identity_keys: Mapping[str, IdentityKeys] | None = None,
    identity_kinds: np.ndarray | None = None,
    executor: Executor | None = None,
) -> ClusterResult:
    """Group events into identities from scored links (``event_id_l, event_id_r, match_probability``).

    Must-link pairs are joined first (joining probability 1.0). Then links with probability at or
    above ``match_threshold`` are taken strongest first (ties broken by event ids, so the result is
    deterministic); a link is refused when a cannot-link pair would end up inside one cluster.

    Chaining guard: when ``identity_keys`` is given, a link is refused if it would put into one
    cluster two records the model never scored against each other that
    (a) carry consecutive document numbers (differing only in the last two characters: a
        relative's passport), checked for every merge except of two single events; a pair the
        model itself scored at or above the threshold is exempt (it outweighed the relative's
        weight: a typo); or
    (b) carry different document numbers and birth dates that no typo explains (not equal, not
        day/month swapped, more than one digit apart; for a date known only by its year, years
        more than one apart), checked when both
        components hold two or more events; or
    (c) are namesakes: each component's own records corroborate a birth date (two records state
        it) and no corroborated date of one is that of the other (equal or day/month swapped),
        checked when both components hold two or more events; or
    (d) would be joined only through odd records: each component has core records (a surname and
        birth date that two of its records state alike) and the model linked no core record of
        one directly to a core record of the other (e.g. LOPEZ GARCIA and LOPEZ AGUILAR joined
        through a record that dropped the second surname); or
    (e) put a record on the other component's document number whose full birth date is not the one
        that component's records corroborate (no typo explains it): someone else's record keyed with
        the holder's number (a booking that copied the lead passenger's passport), checked for every
        merge, also of a record the model linked directly (the number's weight outweighed the date).
    A~B and B~C must not make A and C one person against the evidence. Components whose cross
    product exceeds ``CHAINING_GUARD_MAX_CROSS_PAIRS`` are not checked.
    Raises ``ReviewDecisionConflict`` when the must-links themselves join a cannot-link pair.

    ``identity_kinds`` (optional, with ``identity_keys``; one per ``event_ids``, all of which have keys): codes equal
    exactly when two events' keys but for the date are equal (``linking.identity_kinds_of`` takes them from the
    feature columns; else they are computed here from the keys).

    Events are handled as positions in one list of ids (the given events first, then any only a link or a
    review decision names); ids are strings again only in the result.

    ``executor`` (optional, e.g. a process pool): when the ordered pass has ``ORDERED_PASS_SHARE_LINKS`` links or
    more, its components are cut into two shares of about as many links, one run there and one here. Components
    cannot change each other, so the result is the same as in one pass.
    """
    must = [(a, b) for a, b in must_link]
    cannot = [(a, b) for a, b in cannot_link]
    accepted = links.filter(pc.greater_equal(links.column("match_probability"), match_threshold))
    decided = [e for pair in must + cannot for e in pair]
    names, given_index, left_index, right_index, decided_index = _indexed_links(event_ids, accepted, decided)
    probabilities = accepted.column("match_probability").to_numpy()
    del accepted
    kinds = None if identity_keys is None else _kinds_at(names, given_index, identity_keys, identity_kinds)
    rank = _id_ranks(names)
    strongest_first = np.lexsort((rank[right_index], rank[left_index], -probabilities))  # ties broken by the ids
    left_index, right_index, probabilities = left_index[strongest_first], right_index[strongest_first], probabilities[strongest_first]
    del strongest_first
    position = iter(decided_index)
    must_at = [(next(position), next(position)) for _ in must]
    cannot_at = [(next(position), next(position)) for _ in cannot]
    _check_review_decisions(must_at, cannot_at, must, cannot)
    # Every event the result names: the given ones, and those only a link or a review decision names.
    named = np.zeros(len(names), dtype=bool)
    named[given_index] = True
    named[left_index] = named[right_index] = True
    named[decided_index] = True

    # Components no order can change are settled at once; only the others go through the ordered pass, in shares
    # of whole components (no link or decision crosses two components, so shares cannot change each other).
    label, settled = _order_free_components(len(names), left_index, right_index, decided_index, kinds)
    in_order = np.flatnonzero(~settled[label[left_index]])
    split = executor is not None and len(in_order) >= max(ORDERED_PASS_SHARE_LINKS, 1)
    shares = _ordered_shares(names, label, settled, left_index, right_index, in_order, must_at, cannot_at,
                             identity_keys, kinds, split=split)
    outcomes = _run_shares(shares, executor)

    # Every event's group: its settled component, or its root in the ordered pass.
    group = label.astype(np.int64) + len(names)
    kept = np.ones(len(left_index), dtype=bool)  # links not refused: they give the joining probabilities
    refused: list[tuple[int, str, str, float, str]] = []
    questioned: list[tuple[int, str, str, float, str]] = []
    for share, outcome in zip(shares, outcomes):
        group[share.positions] = share.positions[outcome.roots]
        for numbers, reasons, out in ((outcome.refused, outcome.refused_reasons, refused),
                                      (outcome.questioned, outcome.questioned_reasons, questioned)):
            link = share.link_numbers[numbers]
            out.extend(zip(link.tolist(), (names[e] for e in left_index[link].tolist()), (names[e] for e in right_index[link].tolist()),
                           probabilities[link].tolist(), reasons))
        kept[share.link_numbers[outcome.refused]] = False
    refused.sort()
    questioned.sort()
    joining = _strongest_link_of(len(names), left_index[kept], right_index[kept], probabilities[kept])
    for a, b in must_at:
        joining[a] = joining[b] = 1.0

    # Cluster key = the smallest id of the group.
    first = np.full(2 * len(names), len(names), dtype=np.int64)
    np.minimum.at(first, group, rank)
    by_rank = np.empty(len(names), dtype=np.int64)
    by_rank[rank] = np.arange(len(names))
    members = np.flatnonzero(named)
    member_names = [names[e] for e in members.tolist()]
    cluster_of = dict(zip(member_names, (names[k] for k in by_rank[first[group[members]]].tolist())))
    joining_probability = dict(zip(member_names, (None if p != p else p for p in joining[members].tolist())))
    return ClusterResult(cluster_of=cluster_of, joining_probability=joining_probability,
                         refused=[link[1:] for link in refused], questioned=[link[1:] for link in questioned])


def _check_review_decisions(
    must_at: list[tuple[int, int]], cannot_at: list[tuple[int, int]], must: list[tuple[str, str]], cannot: list[tuple[str, str]]
) -> None:
    """Raise ``ReviewDecisionConflict`` when the must-links join a cannot-link pair (the first such, in order)."""
    parent: dict[int, int] = {}

    def find(e: int) -> int:
        while (up := parent.get(e, e)) != e:
            parent[e] = parent.get(up, up)  # path halving
            e = up
        return e

    for a, b in must_at:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    for (a, b), (x, y) in zip(cannot_at, cannot):
        if find(a) == find(b):
            raise ReviewDecisionConflict(f"must-link decisions join {x!r} and {y!r}, which a cannot-link decision separates")


class _Share(NamedTuple):
    """Whole components for the ordered pass, their events renumbered 0..n-1 (a worker is sent only them)."""

    positions: np.ndarray  # the share's events' positions in the batch, ascending
    link_numbers: np.ndarray  # its links' places in the batch's strongest-first order, ascending
    left: np.ndarray  # its links' two events, as the share's own positions
    right: np.ndarray
    keys: list[IdentityKeys | None] | None  # by the share's own position (None: no guard)
    kinds: list[int] | None
    must: list[tuple[int, int]]
    cannot: list[tuple[int, int]]


class _ShareOutcome(NamedTuple):
    roots: np.ndarray  # each of the share's events' root (the share's own positions)
    refused: np.ndarray  # places in the share's links
    refused_reasons: list[str]
    questioned: np.ndarray
    questioned_reasons: list[str]


def _ordered_shares(
    names: Sequence[str], label: np.ndarray, settled: np.ndarray, left: np.ndarray, right: np.ndarray, in_order: np.ndarray,
    must_at: list[tuple[int, int]], cannot_at: list[tuple[int, int]], identity_keys: Mapping[str, IdentityKeys] | None,
    kinds: np.ndarray | None, *, split: bool,
) -> list[_Share]:
    """The components that are not settled, as one share or (``split``) two of about as many links."""
    unsettled = np.flatnonzero(~settled[label])
    part = np.zeros(len(settled), dtype=np.int8)  # by component
    if split:
        cumulative = np.cumsum(np.bincount(label[left[in_order]], minlength=len(settled)))
        part[cumulative > cumulative[-1] // 2] = 1
    local = np.full(len(names), -1, dtype=np.int64)
    shares = []
    for number in range(2 if split else 1):
        positions = unsettled[part[label[unsettled]] == number]
        links = in_order[part[label[left[in_order]]] == number]
        local[positions] = np.arange(len(positions))
        shares.append(_Share(
            positions, links, local[left[links]], local[right[links]],
            None if identity_keys is None else [identity_keys.get(names[e]) for e in positions.tolist()],
            None if kinds is None else kinds[positions].tolist(),
            [(int(local[a]), int(local[b])) for a, b in must_at if part[label[a]] == number],
            [(int(local[a]), int(local[b])) for a, b in cannot_at if part[label[a]] == number],
        ))
    return shares


def _run_shares(shares: list[_Share], executor: Executor | None) -> list[_ShareOutcome]:
    """The first share here, the others through the executor at the same time."""
    if executor is None or len(shares) == 1:
        return [_ordered_pass(share) for share in shares]
    elsewhere = [executor.submit(_ordered_pass, share) for share in shares[1:]]
    here = _ordered_pass(shares[0])
    return [here, *(future.result() for future in elsewhere)]


def _ordered_pass(share: _Share) -> _ShareOutcome:
    """The share's links strongest first, each joined unless a cannot-link or the chaining guard objects."""
    size = len(share.positions)
    keys = share.keys
    components = _Components(size, share.kinds)
    for a, b in share.cannot:
        components.forbidden.setdefault(a, set()).add(b)
        components.forbidden.setdefault(b, set()).add(a)
    for a, b in share.must:
        ra, rb = components.find(a), components.find(b)
        if ra != rb:
            components.union(ra, rb)
    direct = _DirectLinks(size, share.left, share.right) if keys is not None else None
    refused: list[int] = []
    refused_reasons: list[str] = []
    questioned: list[int] = []
    questioned_reasons: list[str] = []
    find, separated, alike, union, members_of = (
        components.find, components.separated, components.alike, components.union, components.members_of)
    for number, (a, b) in zip(count(), _pairs_in_order(share.left, share.right)):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if separated(ra, rb):
            refused.append(number)
            refused_reasons.append("cannot-link")
            continue
        if keys is not None and not alike(ra, rb):
            assert direct is not None
            conflict = _chaining_conflict(members_of(ra), members_of(rb), keys, direct)
            if conflict == THIN_HISTORY:
                questioned.append(number)
                questioned_reasons.append(conflict)
            elif conflict is not None:
                refused.append(number)
                refused_reasons.append(f"chaining guard: {conflict}")
                continue
        union(ra, rb)
    roots = np.fromiter((find(e) for e in range(size)), dtype=np.int64, count=size)
    return _ShareOutcome(roots, np.array(refused, dtype=np.int64), refused_reasons,
                         np.array(questioned, dtype=np.int64), questioned_reasons)


def _record_kinds(names: Sequence[str], keys: Mapping[str, IdentityKeys]) -> np.ndarray:
    """Each event's kind: a code for its document, issuer, birth date and surname (equal codes, equal keys), or
    ``UNKEYED``."""
    codes: dict[tuple[str | None, ...], int] = {}
    return np.fromiter(
        (UNKEYED if k is None else codes.setdefault((k.document, k.issuer, k.date_of_birth, k.surname, k.document_format), len(codes))
         for k in map(keys.get, names)),
        dtype=np.int64, count=len(names))


def _kinds_at(
    names: Sequence[str], given_index: np.ndarray, keys: Mapping[str, IdentityKeys], given_kinds: np.ndarray | None
) -> np.ndarray:
    """Each event's kind: the given events' own (when given), others' computed; events only a link or a review
    decision names get a kind each (never wrongly alike) or ``UNKEYED``."""
    if given_kinds is None:
        return _record_kinds(names, keys)
    kinds = np.arange(len(names), dtype=np.int64) + int(np.max(given_kinds, initial=-1)) + 1
    others = np.ones(len(names), dtype=bool)
    others[given_index] = False
    for e in np.flatnonzero(others).tolist():
        if names[e] not in keys:
            kinds[e] = UNKEYED
    kinds[given_index] = given_kinds
    return kinds


def _order_free_components(
    size: int, left: np.ndarray, right: np.ndarray, decided: Sequence[int], kinds: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each event's connected component of links and review decisions, and per component whether no order of
    its links can change its clustering.

    That holds for a component no review decision touches whose records are all of one kind (with the guard,
    ``kinds``): none of the chaining guard's checks can object to a direct link between records that carry the
    same document, issuer, birth date and surname (they need two numbers, two dates or two surnames), so every
    link joins and the component is one cluster. Most travellers' records are alike (a passport read at each
    crossing), so many links skip the ordered pass.
    """
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    if size == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=bool)
    pairs = np.asarray(decided, dtype=np.int64).reshape(-1, 2)
    rows = np.concatenate([left, pairs[:, 0]]).astype(np.int32)
    cols = np.concatenate([right, pairs[:, 1]]).astype(np.int32)
    graph = coo_array((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(size, size)).tocsr()
    del rows, cols
    count, label = connected_components(graph, directed=False)
    del graph
    order_free = np.ones(count, dtype=bool)
    order_free[label[pairs.ravel()]] = False
    if kinds is not None:
        lowest = np.full(count, np.iinfo(np.int64).max)
        highest = np.full(count, np.iinfo(np.int64).min)
        np.minimum.at(lowest, label, kinds)
        np.maximum.at(highest, label, kinds)
        order_free &= lowest == highest
    return label, order_free


def _id_ranks(names: Sequence[str]) -> np.ndarray:
    """Each position's place in the ids' sort order."""
    rank = np.empty(len(names), dtype=np.int64)
    rank[pc.sort_indices(pa.array(names, pa.string())).to_numpy()] = np.arange(len(names))
    return rank


def _strongest_link_of(size: int, left: np.ndarray, right: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Each event's strongest link probability (NaN for an event with none)."""
    strongest = np.full(size, -np.inf)
    np.maximum.at(strongest, left, probabilities)
    np.maximum.at(strongest, right, probabilities)
    strongest[np.isneginf(strongest)] = np.nan
    return strongest


_LINKS_AT_ONCE: Final = 1_000_000


def _indexed_links(
    event_ids: Sequence[str], accepted: pa.Table, decided: Sequence[str] = ()
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Every id (the given events first, then any only a link or a review decision names); the given events', each
    link's two sides' and each decided id's positions in it.

    The links' ids are read as positions, not as strings of their own: ten million events have tens of
    millions of links, whose ids as Python strings would take gigabytes."""
    sides = [pc.cast(accepted.column(c), pa.string()).combine_chunks() for c in ("event_id_l", "event_id_r")]
    chosen = pa.array(list(decided), pa.string())
    given = pa.array(event_ids, pa.string())
    distinct_given = given.unique()
    if len(distinct_given) == len(given):  # the usual case: the given strings themselves come first
        names = list(event_ids)
        given_index = np.arange(len(given), dtype=np.int64)
    else:
        given, names = distinct_given, distinct_given.to_pylist()
        given_index = pc.index_in(pa.array(event_ids, pa.string()), value_set=given).to_numpy(zero_copy_only=False).astype(np.int64)
    # Ids only a link or a review decision names (few) come after the given ones; hashing only the given ids and
    # those few costs less than hashing every link's two ids.
    found = [pc.index_in(side, value_set=given) for side in (*sides, chosen)]
    others = pa.concat_arrays([side.filter(pc.is_null(at)) for side, at in zip((*sides, chosen), found)]).unique()
    if len(others):
        value_set = pa.concat_arrays([given, others])
        names += others.to_pylist()
        found = [pc.index_in(side, value_set=value_set) for side in (*sides, chosen)]
    left, right = (at.to_numpy(zero_copy_only=False).astype(np.int64) for at in found[:2])
    decided_index = found[2].to_pylist()
    return names, given_index, left, right, decided_index


def _pairs_in_order(left: np.ndarray, right: np.ndarray) -> Iterator[tuple[int, int]]:
    """(position_l, position_r) of each link, a million at a time as Python objects."""
    for start in range(0, len(left), _LINKS_AT_ONCE):
        stop = start + _LINKS_AT_ONCE
        yield from zip(left[start:stop].tolist(), right[start:stop].tolist())


class _DirectLinks:
    """Which pairs of events (positions) the model linked directly (at or above the threshold).

    Kept as a sorted array of 64-bit pair codes (an event's position times the number of events, plus
    the other's): a million events' links take tens of megabytes, not a set of tuples' hundreds."""

    def __init__(self, size: int, left: np.ndarray, right: np.ndarray) -> None:
        self._n = size
        self._codes = array("q")
        self._codes.frombytes(np.sort(np.minimum(left, right) * size + np.maximum(left, right)).astype(np.int64).tobytes())

    def linked(self, a: int, b: int) -> bool:
        code = min(a, b) * self._n + max(a, b)
        at = bisect_left(self._codes, code)
        return at < len(self._codes) and self._codes[at] == code


_Event = TypeVar("_Event", str, int)


def core_records(members: Iterable[_Event], keys: Mapping[_Event, IdentityKeys]) -> list[_Event]:
    """The records of a component that state its corroborated identity: a surname and full birth
    date that two or more of its records give alike (given names vary more: a middle name dropped).
    An odd record (a typo, a dropped second surname) is not one."""
    identity = {e: (keys[e].surname, keys[e].date_of_birth) for e in members if e in keys}  # event ids or positions
    counts: dict[tuple[str | None, str | None], int] = {}
    for value in identity.values():
        counts[value] = counts.get(value, 0) + 1
    return [e for e, (surname, dob) in identity.items() if surname and dob and len(dob) == 10 and counts[(surname, dob)] >= 2]


def _chaining_conflict(
    left: list[int],
    right: list[int],
    keys: Sequence[IdentityKeys | None],
    direct: _DirectLinks,
) -> str | None:
    """Why joining the two components (event positions; ``keys`` by position) would contradict the evidence, or None."""
    if len(left) * len(right) > CHAINING_GUARD_MAX_CROSS_PAIRS:
        return None
    if len(left) == 1 and len(right) == 1:
        # Two single records: the model scored them itself, a history needs three uses (X, Y, X) and a borrowed
        # number a birth date two records state; nothing below can object (and it is most merges).
        return None
    left_keyed = [(e, k) for e in left if (k := keys[e]) is not None]
    right_keyed = [(e, k) for e in right if (k := keys[e]) is not None]
    if len(left) > 1 or len(right) > 1:  # a pair of singletons was scored by the model itself
        left_docs = {k.document for _, k in left_keyed if k.document}
        right_docs = {k.document for _, k in right_keyed if k.document}
        if any(consecutive_documents(x, y) for x in left_docs for y in right_docs):
            # A pair on consecutive numbers the model linked directly outweighed the relative's
            # weight against it: a typo. Any other such pair is a relative's passport.
            for a, ka in left_keyed:
                for b, kb in right_keyed:
                    if consecutive_documents(ka.document, kb.document) and not direct.linked(a, b):
                        return "a relative's passport (consecutive numbers) the model did not link directly"
    history = document_history_conflict((k for _, k in left_keyed), (k for _, k in right_keyed))
    if history is not None:
        return history
    if borrowed_document((k for _, k in left_keyed), (k for _, k in right_keyed)):
        return "a record on the holder's document number states another birth date (someone else's record)"
    if len(left) < 2 or len(right) < 2:
        return None
    if any(contradicts(ka, kb) for _, ka in left_keyed for _, kb in right_keyed):
        return "records contradict on document and date of birth"

    if namesakes((k for _, k in left_keyed), (k for _, k in right_keyed)):
        return "each side's records agree on their own, different birth date (namesakes)"
    core_left, core_right = core_records(*_keyed_by_position(left_keyed)), core_records(*_keyed_by_position(right_keyed))
    if core_left and core_right and not any(direct.linked(a, b) for a in core_left for b in core_right):
        return "no direct link between the records each side agrees on (a chain through an odd record)"
    return None


def _keyed_by_position(keyed: list[tuple[int, IdentityKeys]]) -> tuple[list[int], dict[int, IdentityKeys]]:
    return [e for e, _ in keyed], dict(keyed)
