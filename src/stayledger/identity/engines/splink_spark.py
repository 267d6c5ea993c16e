"""``SplinkSparkEngine``: the ``LinkageEngine`` that trains and predicts with Splink on Apache Spark.

The batch work (training, scoring every blocked pair of the ledger) runs on Spark, locally (``local[N]``) or on a
cluster; the single-event work (``compare``, ``candidate_index``) stays on the in-process DuckDB engine: it serves
one event at a time on the service machine, where a Spark job per event would cost seconds, not milliseconds.

The same model specification and the same model file drive both engines: the conditions are DuckDB SQL, rendered
for Spark by ``identity.sql_dialects`` when a job runs, and a model trained here is saved with the DuckDB text.

Features reach Spark as Parquet, written from the ledger's Arrow table and partitioned by the month of the event
(``event_month=YYYY-MM``), in a working directory under the checkpoint directory (which every executor reaches);
Splink's intermediate tables go there too, and the directory is removed when the job ends. Predictions come back
the same way (Parquet read by Arrow), never row by row through the driver.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from stayledger.errors import StayledgerError
from stayledger.identity.engine import LINK_SCHEMA, CandidateIndex, LinkageEngine
from stayledger.identity.engines.duckdb_splink import DuckDBSplinkEngine
from stayledger.identity.engines.splink_steps import estimate_parameters
from stayledger.identity.model import LinkageError, LinkageModel, ModelTrainingError
from stayledger.identity.model_spec import TF_COLUMNS
from stayledger.identity.scoring import ComparedPair
from stayledger.identity.sql_dialects import in_model_dialect, spark_settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from stayledger.spark.session import SparkSettings

PARTITION_COLUMN: Final = "event_month"
FEATURES_VIEW: Final = "stayledger_linkage_features"


def _short(exc: BaseException) -> str:
    """The first line of a Splink or JVM error and, for Splink's, the database's reason (not the SQL it ran, nor a
    Java stack trace)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    reason = next((line for line in lines if line.startswith("Error was:")), "")
    text = " ".join(part for part in (lines[0] if lines else "", reason) if part)
    return f"{type(exc).__name__}: {text}"[:600]


class SplinkSparkEngine:
    """Splink on Spark for training and batch prediction; the DuckDB engine for single events.

    ``session``: an existing Spark session (tests, notebooks); otherwise one is started from ``settings``
    (``SparkSettings.load()``: --spark-master, STAYLEDGER_SPARK_MASTER, local[2]) on first use."""

    name = "spark"

    def __init__(self, settings: SparkSettings | None = None, *, session: SparkSession | None = None,
                 local: DuckDBSplinkEngine | None = None) -> None:
        from stayledger.spark.session import SparkSettings

        self.settings = settings or SparkSettings.load()
        self._session = session
        self._local = local or DuckDBSplinkEngine()
        self._lock = threading.Lock()  # one Spark job of this engine at a time (the checkpoint dir is per job)

    @property
    def master(self) -> str:
        """The Spark master URL the jobs run on (reports and audit entries name it)."""
        return str(self._session.sparkContext.master) if self._session is not None else self.settings.master

    def spark(self) -> SparkSession:
        if self._session is None:
            from stayledger.spark.session import spark_session

            self._session = spark_session(self.settings)
        return self._session

    # -- batch work on Spark ------------------------------------------------------------------------------

    def train(self, features: pa.Table, settings: dict[str, Any], *, seed: int, max_pairs: int) -> dict[str, Any]:
        with self._job("training", ModelTrainingError) as (spark, work):
            linker = self._linker(spark, features, work, spark_settings(settings))
            trained = estimate_parameters(linker, seed=seed, max_pairs=max_pairs)
            return in_model_dialect(trained, settings)

    def predict(self, features: pa.Table, model: LinkageModel, *, threshold: float) -> pa.Table:
        with self._job("prediction", LinkageError) as (spark, work):
            settings = dict(model.settings, retain_matching_columns=False, retain_intermediate_calculation_columns=False)
            linker = self._linker(spark, features, work, spark_settings(settings))
            predictions = linker.inference.predict(threshold_match_probability=threshold)
            out = f"{work}/links"
            predictions.as_spark_dataframe().selectExpr(
                "unique_id_l AS event_id_l", "unique_id_r AS event_id_r",
                "CAST(match_probability AS DOUBLE) AS match_probability", "CAST(match_weight AS DOUBLE) AS match_weight",
            ).write.mode("overwrite").parquet(out)
            table = _read_parquet(out)
        return table.select(list(LINK_SCHEMA.names)).cast(LINK_SCHEMA).sort_by([("event_id_l", "ascending"), ("event_id_r", "ascending")])

    # -- single events: in process ------------------------------------------------------------------------

    def compare(self, left: pa.Table, right: pa.Table, model: LinkageModel) -> list[ComparedPair]:
        """In-process DuckDB: one event against its candidates, on the service machine."""
        return self._local.compare(left, right, model)

    def candidate_index(self, features: pa.Table, model: LinkageModel) -> CandidateIndex:
        """In-process DuckDB: the index near-real-time linking looks new events up in."""
        return self._local.candidate_index(features, model)

    # -- plumbing -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _job(self, what: str, error: type[LinkageError]) -> Iterator[tuple[SparkSession, str]]:
        """A Spark session and a fresh working directory (also the job's checkpoint directory), removed afterwards;
        Splink's and Spark's errors become ``error`` with the first line of the cause."""
        with self._lock:
            spark = self.spark()  # SparkUnavailable (a StayledgerError) passes through as it is
            work = self._work_dir()
            context = spark.sparkContext
            previous = context._jsc.sc().getCheckpointDir()
            context.setCheckpointDir(f"{work}/checkpoints")
            try:
                yield spark, work
            except StayledgerError:
                raise
            except Exception as exc:  # Splink, Spark and Py4J errors must not leak to users as stack traces
                raise error(f"{what} on Spark ({self.master}) failed: {_short(exc)}") from exc
            finally:
                if previous.isDefined():
                    context._jsc.sc().setCheckpointDir(previous.get())
                _remove(work)

    def _work_dir(self) -> str:
        base = self.settings.checkpoint_dir
        if base is None:
            return tempfile.mkdtemp(prefix="stayledger-spark-")
        return f"{base.rstrip('/')}/stayledger-{uuid.uuid4().hex}"

    def _linker(self, spark: SparkSession, features: pa.Table, work: str, settings: dict[str, Any]) -> Any:
        """A Splink linker on Spark over ``features`` exported as Parquet under ``work``, with the model's name
        frequencies registered as Splink's lookups (see ``_export``)."""
        from splink import Linker, SparkAPI

        frame, lookups = self._export(spark, features, work)
        job = work.rstrip("/").rsplit("/", 1)[-1].replace("-", "_")  # views are per job: the session outlives it
        api = SparkAPI(spark_session=spark)  # registers Splink's similarity functions (damerau_levenshtein, …)
        linker = Linker(api.register(frame, table_name=f"{FEATURES_VIEW}_{job}"), settings, log_level=None)
        for column, lookup in lookups.items():
            lookup_frame = api.register(lookup, table_name=f"stayledger_tf_{column}_{job}")
            linker.table_management.register_term_frequency_lookup(lookup_frame, column)
        return linker

    def _export(self, spark: SparkSession, features: pa.Table, work: str) -> tuple[DataFrame, dict[str, DataFrame]]:
        """The features as Parquet partitions by event month, and one name-frequency lookup per name column.

        The frequencies travel as lookups, not as feature columns: Splink joins its own frequency table to the
        features during training and prediction, and where DuckDB keeps the first of two equal column names
        (ours), Spark refuses the ambiguity. Registered as Splink's lookups they are the ones it joins: the
        same values (a name's frequency depends on the name alone)."""
        import pyarrow.parquet as pq

        tf_columns = [f"tf_{c}" for c in TF_COLUMNS]
        lookups: dict[str, DataFrame] = {}
        for column in TF_COLUMNS:
            if f"tf_{column}" not in features.column_names:
                continue
            pairs = features.select([column, f"tf_{column}"]).filter(pc.is_valid(features.column(column)))
            lookup = pairs.group_by([column]).aggregate([(f"tf_{column}", "max")]).rename_columns([column, f"tf_{column}"])
            path = f"{work}/tf_{column}"
            filesystem, root = _filesystem(path)
            filesystem.create_dir(root)
            pq.write_table(lookup, f"{root}/part-0.parquet", filesystem=filesystem)
            lookups[column] = spark.read.parquet(path)
        path = f"{work}/features"
        months = pc.utf8_slice_codeunits(pc.cast(features.column("occurred_on"), pa.string()), 0, 7)
        table = features.drop_columns([c for c in tf_columns if c in features.column_names])
        table = table.append_column(PARTITION_COLUMN, pc.fill_null(months, "unknown"))
        filesystem, root = _filesystem(path)
        pq.write_to_dataset(table, root, partition_cols=[PARTITION_COLUMN], filesystem=filesystem,
                            existing_data_behavior="overwrite_or_ignore")
        # The partition column served its purpose (one directory per month); Splink compares the features only.
        return spark.read.option("basePath", path).parquet(path).drop(PARTITION_COLUMN), lookups


def _filesystem(path: str) -> tuple[Any, str]:
    """Arrow's file system for a local path or a URL (hdfs://, s3://, gs://) and the path on it."""
    from pyarrow import fs

    if "://" in path:
        return fs.FileSystem.from_uri(path)
    return fs.LocalFileSystem(), path


def _read_parquet(path: str) -> pa.Table:
    import pyarrow.parquet as pq

    filesystem, root = _filesystem(path)
    return pq.read_table(root, filesystem=filesystem)


def _remove(path: str) -> None:
    if "://" in path:
        filesystem, root = _filesystem(path)
        with contextlib.suppress(Exception):
            filesystem.delete_dir(root)
    else:
        shutil.rmtree(path, ignore_errors=True)


if TYPE_CHECKING:  # mypy checks the signatures against the interface

    def _implements(engine: SplinkSparkEngine) -> LinkageEngine:
        return engine
