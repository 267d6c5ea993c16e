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
blocking rules are a symmetric set and the comparisons symmetric, which ``tests/integration/test_identical_records``
checks against a prediction over every event.
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
    (``within``, scored on ``pairs_table``): ``event_id_l < event_id_r``, sorted by the two ids."""
    ids = features.column("unique_id").combine_chunks()
    member_ids = ids.take(groups.members.values)
    rep_ids = ids.take(pa.array(groups.representatives))
    group_of_member = np.repeat(np.arange(len(groups.sizes), dtype=np.int64), groups.sizes)
    members = pa.table({"rep": rep_ids.take(pa.array(group_of_member)), "member": member_ids})

    scores = ["match_probability", "match_weight"]
    expanded_across = (
        across.join(members.rename_columns(["event_id_l", "member_l"]), keys="event_id_l", join_type="inner")
        .join(members.rename_columns(["event_id_r", "member_r"]), keys="event_id_r", join_type="inner")
    )
    left, right = expanded_across.column("member_l"), expanded_across.column("member_r")
    first = pc.less(left, right)
    parts = [pa.table({"event_id_l": pc.if_else(first, left, right), "event_id_r": pc.if_else(first, right, left),
                       **{s: expanded_across.column(s) for s in scores}})]

    if within.num_rows:
        # The scored pair names the group's representative on one side (it is the group's smaller-numbered row
        # of the two only by chance): find the group by either side.
        rep_side = pc.if_else(pc.is_in(within.column("event_id_l"), value_set=rep_ids), within.column("event_id_l"),
                              within.column("event_id_r"))
        scored_groups = pa.table({"rep": rep_side, **{s: within.column(s) for s in scores}})
        pairs = members.join(scored_groups, keys="rep", join_type="inner")
        pairs = pairs.join(members.rename_columns(["rep", "other"]), keys="rep", join_type="inner")
        pairs = pairs.filter(pc.less(pairs.column("member"), pairs.column("other")))
        parts.append(pa.table({"event_id_l": pairs.column("member"), "event_id_r": pairs.column("other"),
                               **{s: pairs.column(s) for s in scores}}))
    out = pa.concat_tables([p.cast(LINK_SCHEMA) for p in parts])
    return out.sort_by([("event_id_l", "ascending"), ("event_id_r", "ascending")])
