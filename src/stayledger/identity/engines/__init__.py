"""Implementations of ``identity.engine.LinkageEngine``; ``default_engine()`` is the one linking uses unless told.

``engine_named`` is the one place an engine is chosen by name (``resolve --engine duckdb|spark``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from stayledger.errors import StayledgerError

if TYPE_CHECKING:
    from stayledger.identity.engine import LinkageEngine

ENGINES: Final = ("duckdb", "spark")

_default: "LinkageEngine | None" = None


class UnknownEngine(StayledgerError):
    """An engine name that is not one of ``ENGINES``."""


def default_engine() -> "LinkageEngine":
    """Splink on DuckDB in this process (imported on first use)."""
    global _default
    if _default is None:
        from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine

        _default = DuckDBSplinkEngine()
    return _default


def engine_named(name: str, *, spark_master: str | None = None, spark_checkpoint_dir: str | None = None) -> "LinkageEngine":
    """The engine called ``name``. For ``spark``, pyspark and Java are checked now (``SparkUnavailable``, one line
    saying what to install), so that nothing is read or written before a missing one is reported; the Spark session
    itself starts when the first job runs."""
    if name == "duckdb":
        return default_engine()
    if name == "spark":
        from stayledger.spark.session import SparkSettings, require_pyspark

        require_pyspark()
        from stayledger.identity.engines.splink_spark import SplinkSparkEngine

        return SplinkSparkEngine(SparkSettings.load(spark_master, spark_checkpoint_dir), local=_duckdb())
    raise UnknownEngine(f"unknown linkage engine {name!r}: choose one of {', '.join(ENGINES)}")


def _duckdb() -> "DuckDBSplinkEngine":
    from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine

    engine = default_engine()
    return engine if isinstance(engine, DuckDBSplinkEngine) else DuckDBSplinkEngine()


if TYPE_CHECKING:
    from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine
