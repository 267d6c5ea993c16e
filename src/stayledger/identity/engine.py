"""The seam between the linkage and the engine that runs Splink: ``LinkageEngine`` and its engine-independent types.

What an engine does is what needs a database at scale: estimate the model's parameters (train), score the
blocked candidate pairs of a batch (predict), find a new event's candidates near real time (candidate index),
and say which level of each comparison given pairs reach (compare). Everything else is the engine's caller
and stays the same whatever runs Splink: the model specification (``model_spec``), the corrections after
training (``post_training``), name frequencies, the scoring and explanation arithmetic (``scoring``), the
batch policy with its clustering guard and review routing (``linking``), and stable person ids.

Inputs are feature tables (``features.build_features``) with the model's name frequencies added
(``term_frequencies.with_term_frequencies``: ``tf_surname``, ``tf_given``) and placeholder document numbers
emptied. Implementations: ``engines/duckdb_splink.py`` (Splink on an in-process DuckDB) and
``engines/splink_spark.py`` (Splink on Spark for train and predict; it answers ``compare`` and
``candidate_index`` with the in-process DuckDB engine: those serve one event at a time on the service machine).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import pyarrow as pa

if TYPE_CHECKING:
    from stayledger.identity.model import LinkageModel
    from stayledger.identity.scoring import ComparedPair

# What ``predict`` returns: one row per scored pair, event_id_l < event_id_r, sorted by the two ids.
LINK_SCHEMA: Final = pa.schema(
    [("event_id_l", pa.string()), ("event_id_r", pa.string()), ("match_probability", pa.float64()), ("match_weight", pa.float64())]
)
LINK_COLUMNS: Final = tuple(LINK_SCHEMA.names)


@runtime_checkable
class CandidateIndex(Protocol):
    """Resolved events' features looked up by the model's blocking rules, one new event at a time.

    ``candidates_for`` returns exactly the resolved events that batch prediction's blocking rules would pair
    with the new event (an implementation may return more, never fewer: scoring rejects the rest)."""

    def probe_keys(self, new_features: pa.Table) -> tuple[Any, ...]:
        """The (one-row) new event's blocking keys, one per rule, on the side of a new event."""
        ...

    def resolved_keys(self, features: pa.Table) -> tuple[Any, ...]:
        """A (one-row) event's blocking keys on the side of the resolved events (see ``RecentEvents``)."""
        ...

    def probe_keys_of_each(self, new_features: pa.Table) -> list[tuple[Any, ...]]:
        """``probe_keys`` of every row at once (a group of new events: one lookup, not one per event)."""
        ...

    def resolved_keys_of_each(self, features: pa.Table) -> list[tuple[Any, ...]]:
        """``resolved_keys`` of every row at once."""
        ...

    def candidates_for(self, new_features: pa.Table, keys: tuple[Any, ...] | None = None) -> pa.Table:
        """Resolved events' features sharing a blocking key with the (one-row) new event."""
        ...


@runtime_checkable
class LinkageEngine(Protocol):
    """Runs the linkage model's Splink work on some database: train, predict, compare, candidate index."""

    name: str

    def train(self, features: pa.Table, settings: dict[str, Any], *, seed: int, max_pairs: int) -> dict[str, Any]:
        """Splink's estimation on ``features`` under untrained ``settings`` (``model_spec.base_settings``):
        the prior from ``PRIOR_RULE``, u from ``max_pairs`` random pairs (seeded), m by EM over ``EM_RULES``.
        Returns Splink's saved settings, before the corrections of ``post_training``."""
        ...

    def predict(self, features: pa.Table, model: LinkageModel, *, threshold: float) -> pa.Table:
        """The blocked candidate pairs scored under the model, those at or above ``threshold``
        (``LINK_SCHEMA``, sorted by the two ids so that equal inputs give equal tables)."""
        ...

    def compare(self, left: pa.Table, right: pa.Table, model: LinkageModel) -> list[ComparedPair]:
        """For each row of ``right`` against each row of the (usually one-row) ``left``: the level each of the
        model's comparisons reaches and the pair's name frequencies. The same conditions as ``predict``. An engine
        that fills ``ComparedPair.new_id`` (the left row's id) lets callers compare several new events at once."""
        ...

    def candidate_index(self, features: pa.Table, model: LinkageModel) -> CandidateIndex:
        """An index of resolved events' features for near-real-time candidate lookup."""
        ...


class RecentEvents:
    """Events linked since a ``CandidateIndex`` was built, looked up by the same blocking keys.

    A stream of new events must not make each lookup slower than the last: scoring every recent
    event against each new one grows with the stream, a key lookup does not."""

    def __init__(self, index: CandidateIndex) -> None:
        self._index = index
        self._by_key: dict[tuple[int, Any], list[tuple[str, pa.Table]]] = defaultdict(list)

    def add(self, features: pa.Table, keys: tuple[Any, ...] | None = None) -> None:
        """Remember a (one-row) linked event; ``keys``: its ``resolved_keys`` when the caller has them already."""
        event_id = features.column("unique_id")[0].as_py()
        for i, key in enumerate(keys if keys is not None else self._index.resolved_keys(features)):
            if key is not None:
                self._by_key[(i, key)].append((event_id, features))

    def candidates_for(self, probe_keys: tuple[Any, ...]) -> list[pa.Table]:
        found: dict[str, pa.Table] = {}
        for i, key in enumerate(probe_keys):
            if key is not None:
                for event_id, features in self._by_key.get((i, key), ()):
                    found.setdefault(event_id, features)
        return list(found.values())
