"""The Spark session stayledger makes: Splink's similarity functions and a checkpoint directory are set."""

from __future__ import annotations

from typing import Any


def test_the_session_has_splinks_similarity_functions_once_splink_registers_them(spark: Any) -> None:
    from splink import SparkAPI

    SparkAPI(spark_session=spark)
    assert spark.sql("SELECT jaro_winkler('MARTHA', 'MARHTA') AS j").collect()[0]["j"] > 0.96
    assert spark.sparkContext.getCheckpointDir()
