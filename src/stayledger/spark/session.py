"""Spark settings and the Spark session: one place, imported only when a Spark engine or job runs.

pyspark is an optional extra and needs a Java runtime (17 or newer for Spark 4); both are checked before a
session starts, so that a missing one is one clear line rather than a JVM stack trace.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from stayledger.errors import StayledgerError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MASTER_ENV: Final = "STAYLEDGER_SPARK_MASTER"
CHECKPOINT_ENV: Final = "STAYLEDGER_SPARK_CHECKPOINT_DIR"
DEFAULT_MASTER: Final = "local[2]"


class SparkUnavailable(StayledgerError):
    """pyspark or Java is missing, or the session could not start."""


@dataclass(frozen=True)
class SparkSettings:
    """Where Spark runs and where it keeps intermediate results.

    ``checkpoint_dir`` must be reachable by every executor (a shared file system or object store on a real
    cluster; a local directory is enough for ``local[N]``). ``driver_memory`` applies only when this process
    starts the JVM (local mode, or client mode before any session exists)."""

    master: str = DEFAULT_MASTER
    checkpoint_dir: str | None = None
    shuffle_partitions: int = 8
    driver_memory: str = "4g"
    extra_conf: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, master: str | None = None, checkpoint_dir: str | None = None) -> "SparkSettings":
        """--spark-master wins over STAYLEDGER_SPARK_MASTER, which wins over local[2]; likewise the checkpoint dir."""
        return cls(
            master=master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER,
            checkpoint_dir=checkpoint_dir or os.environ.get(CHECKPOINT_ENV),
        )


def require_pyspark() -> Any:
    """The pyspark module, or SparkUnavailable saying how to install it and Java."""
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailable(
            'the Spark engine needs pyspark: pip install "stayledger[spark]" (or ".[spark]" in a checkout)'
        ) from None
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise SparkUnavailable("the Spark engine needs a Java runtime (17 or newer): install one or set JAVA_HOME")
    return pyspark


def similarity_jar() -> str:
    """Splink's Scala similarity functions (damerau_levenshtein and friends) for this Spark version, shipped in Splink."""
    from splink.backends.spark import similarity_jar_location

    return str(similarity_jar_location())


def spark_session(settings: SparkSettings | None = None) -> "SparkSession":
    """The Spark session for ``settings`` (the running one if this process already has one).

    Sets the Splink similarity jar (Splink's ``SparkAPI`` registers its functions), a checkpoint directory (a temporary one under local mode when none is
    configured) and quiet logging."""
    settings = settings or SparkSettings.load()
    require_pyspark()
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(settings.master)
        .appName("stayledger")
        .config("spark.jars", similarity_jar())
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Splink lists tables in the session's catalog; without this Spark makes ./spark-warehouse wherever it runs.
        .config("spark.sql.warehouse.dir", os.path.join(tempfile.gettempdir(), "stayledger-spark-warehouse"))
        .config("spark.sql.session.timeZone", "UTC")
    )
    for key, value in settings.extra_conf.items():
        builder = builder.config(key, value)
    if settings.master.startswith("local"):
        # Python workers (Arrow UDFs: the stays job) run this interpreter, which has stayledger and pyarrow;
        # pyspark would otherwise start whichever `python3` is first on PATH. A cluster sets its own.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM's failure, e.g. no Java or a bad master URL
        raise SparkUnavailable(f"could not start Spark (master {settings.master}): {type(exc).__name__}: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    _quiet_query_errors()
    checkpoint = settings.checkpoint_dir
    if checkpoint is None:
        if not settings.master.startswith("local"):
            raise SparkUnavailable(
                f"a checkpoint directory every executor can reach is needed with master {settings.master}: "
                f"set {CHECKPOINT_ENV} or --spark-checkpoint-dir"
            )
        checkpoint = tempfile.mkdtemp(prefix="stayledger-spark-checkpoints-")
    if "://" not in checkpoint:  # a local path; a URL (hdfs://, s3a://) is the cluster's to create
        Path(checkpoint).mkdir(parents=True, exist_ok=True)
    session.sparkContext.setCheckpointDir(checkpoint)
    return session


def _quiet_query_errors() -> None:
    """pyspark logs every failed query with its Java stack trace to stderr before raising it; the engines turn the
    error into one line of their own (the exception still carries everything)."""
    import logging

    from pyspark.logger import PySparkLogger  # its loggers take pyspark's keyword arguments: made by pyspark

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
