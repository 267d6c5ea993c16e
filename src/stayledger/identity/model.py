"""The trained linkage model: Splink settings with their parameters, name frequencies and metadata.

A plain value, the same whichever engine trained it or runs it: it is saved in the ledger as a versioned
JSON document (``to_json``) and read back (``from_json``). It holds no connection.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Final

from stayledger.errors import StayledgerError
from stayledger.identity.scoring import CompiledLevel

MODEL_FORMAT: Final = "stayledger-linkage-model"
MODEL_FORMAT_VERSION: Final = 1


class LinkageError(StayledgerError):
    """Identity linkage could not be done; the message says why."""


class ModelTrainingError(LinkageError):
    """Training was refused or failed (e.g. too few records); fall back to deterministic keys."""


class ModelFormatError(LinkageError):
    """A saved model file is not one this version can read."""


@dataclass(eq=False)
class LinkageModel:
    """A trained linkage model: Splink settings with parameters, name frequencies and metadata."""

    settings: dict[str, Any]
    term_frequencies: dict[str, dict[str, float]]
    rare_value_frequency: dict[str, float]
    metadata: dict[str, Any]
    _compiled: list[tuple[str, list[CompiledLevel]]] | None = field(default=None, init=False, repr=False)

    @property
    def shared_documents(self) -> frozenset[str]:
        """Document numbers (OCR-canonical) that training found given with several unrelated
        identities: they weigh nothing (see ``placeholders``)."""
        return frozenset(self.metadata.get("shared_document_numbers") or ())

    @property
    def prior(self) -> float:
        """Probability that two random events are the same person (Splink's lambda)."""
        return float(self.settings["probability_two_random_records_match"])

    def to_json(self) -> str:
        """The model as a versioned JSON document (stable key order)."""
        document = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "metadata": self.metadata,
            "splink_settings": self.settings,
            "term_frequencies": self.term_frequencies,
            "rare_value_frequency": self.rare_value_frequency,
        }
        return json.dumps(document, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "LinkageModel":
        """Read a model written by ``to_json``; raises ``ModelFormatError`` on anything else."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelFormatError(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
        if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
            raise ModelFormatError(f"not a {MODEL_FORMAT} document")
        if document.get("format_version") != MODEL_FORMAT_VERSION:
            raise ModelFormatError(
                f"model format version {document.get('format_version')!r}; this version reads {MODEL_FORMAT_VERSION}"
            )
        for key in ("splink_settings", "term_frequencies", "rare_value_frequency", "metadata"):
            if key not in document:
                raise ModelFormatError(f"missing key {key!r}")
        return cls(
            settings=document["splink_settings"],
            term_frequencies=document["term_frequencies"],
            rare_value_frequency=document["rare_value_frequency"],
            metadata=document["metadata"],
        )

    def compiled(self) -> list[tuple[str, list[CompiledLevel]]]:
        """Per comparison, its levels with Splink's own match weights and TF parameters."""
        if self._compiled is None:
            self._compiled = compile_levels(self.settings)
        return self._compiled


def compile_levels(settings: dict[str, Any]) -> list[tuple[str, list[CompiledLevel]]]:
    """Read the weights through Splink's objects so our scoring uses exactly Splink's numbers.

    The conditions are rendered in DuckDB's dialect: the pairs a model scores one by one (near real time,
    ``explain``) are compared in an in-process DuckDB whatever engine linked the batch."""
    from splink.internals.settings_creator import SettingsCreator

    splink_settings = SettingsCreator.from_path_or_dict(settings).get_settings("duckdb")
    compiled = []
    for comparison in splink_settings.comparisons:
        levels = comparison.comparison_levels
        out = []
        for level in levels:
            tf_column = level._tf_adjustment_input_column_name if level._has_tf_adjustments else None
            log2_u = 0.0
            if tf_column is not None and not level.is_null_level:
                log2_u = math.log2(level._u_probability_corresponding_to_exact_match(levels))
            out.append(
                CompiledLevel(
                    label=level.label_for_charts,
                    sql=level.sql_condition,
                    is_null=level.is_null_level,
                    match_weight=0.0 if level.is_null_level else float(level._match_weight),
                    tf_column=tf_column,
                    tf_weight=float(level._tf_adjustment_weight),
                    tf_min_u=float(level._tf_minimum_u_value),
                    log2_u_exact=log2_u,
                )
            )
        compiled.append((comparison.output_column_name, out))
    return compiled


# --------------------------------------------------------------------------------------------
