"""One local Spark session for the whole test run (a JVM start costs seconds; tests share it).

Tests that need Spark take the ``spark`` fixture; without pyspark installed they are skipped with the reason
(CI installs the ``spark`` extra, so there they run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("pyspark", reason='needs the spark extra: pip install -e ".[test,spark]"')
    from stayledger.spark.session import SparkSettings, SparkUnavailable, require_pyspark, spark_session

    try:
        require_pyspark()
    except SparkUnavailable as exc:  # no Java here
        pytest.skip(str(exc))

    settings = SparkSettings(
        master="local[2]",
        checkpoint_dir=str(tmp_path_factory.mktemp("spark-checkpoints")),
        shuffle_partitions=2,  # small test data: few partitions keep each job quick
        driver_memory="1g",
    )
    session = spark_session(settings)
    yield session
    session.stop()
