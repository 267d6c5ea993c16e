"""Identical records are scored once: a traveller's passport read at every crossing gives the same record each time.

The model compares records on their features alone (``features.PAIR_COLUMNS`` and the name frequencies), so two
events with equal features score the same against any third, and whether a rule blocks a pair depends on the
features alone. Prediction can therefore run on one representative of each group of identical records and give
every member its representative's pairs, with the same scores: the blocked pairs and the comparisons are those of
the distinct records, not of every crossing (a frequent traveller's twenty identical records make 190 pairs
within and twenty times the pairs across, all scored once here).

Pairs within a group are the one thing the representatives cannot give: how two identical records score (a
record with only a surname and a birth year may stay below the threshold against its own copy) and whether any
rule blocks them at all (not when every blocking key is empty). A second prediction scores each such group's
representative against one other member, blocked by the group itself *and* the model's rules, so a group's
pairs exist exactly when the model's own blocking makes them.

The expanded table is the one prediction on every event would give, pair for pair and score for score; the
blocking rules are a symmetric set and the comparisons symmetric. ``tests/integration/test_linkage.py`` checks it
against Splink's prediction over every event, ``tests/unit/test_identical_records.py`` over random populations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stayledger.identity.engine import LINK_SCHEMA
from stayledger.identity.model import LinkageModel

# What an event has besides the features it is compared on.
NOT_COMPARED: Final = ("unique_id", "kind", "occurred_on")
GROUP_COLUMN: Final = "identical_record_group"
_SEPARATOR: Final = "\x1f"


@dataclass(frozen=True, slots=True)
class RecordGroups:
    """Rows of a feature table grouped by equal features: one representative row per group and every group's rows."""

    representatives: np.ndarray  # row of each group's representative, one per group
    members: pa.ListArray  # rows of each group (the representative first), in group order
    sizes: np.ndarray

    @property
    def collapses(self) -> bool:
        return len(self.representatives) < int(self.sizes.sum())


def _key_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column usable as a grouping key: lists become text led by their length (``[]`` and ``[""]`` stay apart)."""
    if not pa.types.is_list(column.type):
        return column
    length = pc.cast(pc.list_value_length(column), pa.string())
    return pc.binary_join_element_wise(length, pc.binary_join(column, _SEPARATOR), ":")


def group_identical(features: pa.Table) -> RecordGroups:
    """Group the rows whose compared features are all equal (nulls equal to nulls)."""
    keys = [c for c in features.column_names if c not in NOT_COMPARED]
    table = pa.table({f"k{i}": _key_column(features.column(name)) for i, name in enumerate(keys)})
    table = table.append_column("row", pa.array(np.arange(features.num_rows, dtype=np.int64)))
    grouped = table.group_by([f"k{i}" for i in range(len(keys))], use_threads=False).aggregate([("row", "list")])
    members = grouped.column("row_list").combine_chunks()
    sizes = pc.list_value_length(members).to_numpy()
    offsets = members.offsets.to_numpy()[:-1]
    representatives = members.values.to_numpy()[offsets]
    return RecordGroups(representatives, members, sizes)


def within_group_model(model: LinkageModel) -> LinkageModel:
    """The model with one blocking rule: the same group, and any of the model's rules (see the module's docstring)."""
    rules = [r["blocking_rule"] if isinstance(r, dict) else r for r in model.settings["blocking_rules_to_generate_predictions"]]
    rule = f"l.{GROUP_COLUMN} = r.{GROUP_COLUMN} AND ({' OR '.join(f'({r})' for r in rules)})"
    settings = dict(model.settings, blocking_rules_to_generate_predictions=[rule])
    return LinkageModel(settings=settings, term_frequencies=model.term_frequencies,
                        rare_value_frequency=model.rare_value_frequency, metadata=model.metadata)


def representatives_table(features: pa.Table, groups: RecordGroups) -> pa.Table:
    return features.take(pa.array(groups.representatives))


def pairs_table(features: pa.Table, groups: RecordGroups) -> pa.Table:
    """Each group of two or more rows as its representative and one other member, tagged with the group."""
    several = np.flatnonzero(groups.sizes > 1)
    offsets = groups.members.offsets.to_numpy()
    rows = groups.members.values.to_numpy()
    firsts, seconds = rows[offsets[several]], rows[offsets[several] + 1]
    taken = np.empty(2 * len(several), dtype=np.int64)
    taken[0::2], taken[1::2] = firsts, seconds
    tags = np.repeat(several.astype(np.int64), 2)
    return features.take(pa.array(taken)).append_column(GROUP_COLUMN, pa.array(tags))


def expand_links(features: pa.Table, groups: RecordGroups, across: pa.Table, within: pa.Table) -> pa.Table:
    """Every event's pairs from its representative's (``across``, scored on representatives) and its group's
    (``within``, scored on ``pairs_table``): ``event_id_l < event_id_r``, sorted by the two ids.

    Worked out on row positions and the ids' sort ranks (integers), the ids taken as strings once at the end:
    at ten million events the pairs are tens of millions, and joins and sorts on their ids as strings took
    gigabytes."""
    ids = features.column("unique_id").combine_chunks()
    rank = np.empty(len(ids), dtype=np.int64)
    rank[pc.sort_indices(ids).to_numpy()] = np.arange(len(ids), dtype=np.int64)
    rows = groups.members.values.to_numpy()
    starts = groups.members.offsets.to_numpy()[:-1].astype(np.int64)
    sizes = groups.sizes.astype(np.int64)
    rep_ids = ids.take(pa.array(groups.representatives))

    def group_of(column: pa.ChunkedArray) -> np.ndarray:
        return pc.index_in(column, value_set=rep_ids).to_numpy(zero_copy_only=False).astype(np.int64)

    def member_pairs(left: np.ndarray, right: np.ndarray, same_group: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each scored pair of groups as the pairs of their members (row positions), with the scored pair's index;
        within a group each two members once."""
        counts = sizes[left] * sizes[right]
        pair = np.repeat(np.arange(len(left), dtype=np.int64), counts)
        local = np.arange(len(pair), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        width = sizes[right][pair]
        i, j = local // width, local % width
        if same_group:
            keep = i < j
            pair, i, j = pair[keep], i[keep], j[keep]
        return rows[starts[left][pair] + i], rows[starts[right][pair] + j], pair

    parts = []
    if across.num_rows:
        parts.append((*member_pairs(group_of(across.column("event_id_l")), group_of(across.column("event_id_r")), False), across))
    if within.num_rows:
        # The scored pair names the group's representative on one side (either: ids decide the sides).
        rep_side = pc.if_else(pc.is_in(within.column("event_id_l"), value_set=rep_ids), within.column("event_id_l"),
                              within.column("event_id_r"))
        group = group_of(rep_side)
        parts.append((*member_pairs(group, group, True), within))
    if not parts:
        return LINK_SCHEMA.empty_table()
    first = np.concatenate([p[0] for p in parts])
    second = np.concatenate([p[1] for p in parts])
    scores = {name: np.concatenate([table.column(name).to_numpy()[pair] for _, _, pair, table in parts])
              for name in ("match_probability", "match_weight")}
    swap = rank[first] > rank[second]
    first[swap], second[swap] = second[swap], first[swap]
    order = np.lexsort((rank[second], rank[first]))
    return pa.table({"event_id_l": ids.take(pa.array(first[order])), "event_id_r": ids.take(pa.array(second[order])),
                     **{name: pa.array(values[order]) for name, values in scores.items()}}, schema=LINK_SCHEMA)
