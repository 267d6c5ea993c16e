"""``stayledger stays determine``: every person's stays as of a day, kept in the ledger as its stays snapshot."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Optional

import typer

from stayledger.cli.common import ActorOption, DbOption, access_context, console, err_console, fail, ledger, parse_day
from stayledger.errors import StayledgerError

stays_app = typer.Typer(help="Stay determinations kept in the ledger (admin, audited).", no_args_is_help=True)


class StaysEngineName(str, Enum):
    inprocess = "inprocess"
    spark = "spark"


@stays_app.command("determine")
def determine(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Determine statuses as of this day (YYYY-MM-DD). Default: today.")] = None,
    engine: Annotated[StaysEngineName, typer.Option("--engine", help="inprocess (this process) or spark (every person in parallel on Spark; needs the spark extra and Java).")] = StaysEngineName.inprocess,
    spark_master: Annotated[Optional[str], typer.Option("--spark-master", help="Spark master URL (default: $STAYLEDGER_SPARK_MASTER or local[2]).")] = None,
    work_dir: Annotated[Optional[str], typer.Option("--work-dir", help="Where Spark's Parquet working files go (every executor must reach it; removed afterwards). Default: a private temporary directory.")] = None,
    partitions: Annotated[int, typer.Option("--partitions", min=1, help="Groups of persons Spark determines in parallel.")] = 8,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Determine every person's stays and keep them in the ledger (the snapshot replaces the last one).

    Prints counts only. On Spark the records go to Parquet in a private working directory that is removed when
    the stays are back in the ledger. Example: `stayledger stays determine --engine spark --as-of 2025-12-31`.
    """
    from stayledger.usecases.stays_snapshot import InProcessStays, StaysEngine, record_stays

    day = parse_day(as_of, "--as-of") if as_of else date.today()
    chosen: StaysEngine = InProcessStays()
    if engine is StaysEngineName.spark:
        from stayledger.spark.session import SparkSettings, require_pyspark
        from stayledger.spark.stays_job import SparkStays

        try:
            require_pyspark()  # before the ledger is opened: a missing extra is one line, not an audit entry
        except StayledgerError as exc:
            raise fail(str(exc)) from None
        settings = SparkSettings.load(spark_master)
        chosen = SparkStays(SparkSettings(master=settings.master, checkpoint_dir=settings.checkpoint_dir,
                                          shuffle_partitions=partitions,
                                          extra_conf={"spark.ui.showConsoleProgress": "false"}), work_dir)
    ctx = access_context(actor)
    with ledger(db) as store, err_console.status(f"determining stays ({engine.value})…"):
        recorded = record_stays(store, ctx, day, engine=chosen)
    statuses = ", ".join(f"{status} {count:,}" for status, count in recorded.by_status.items()) or "none"
    console.print(f"{recorded.stays:,} stays of {recorded.persons:,} persons as of {recorded.as_of} "
                  f"({recorded.engine}), kept as stays run {recorded.run_id}: {statuses}")
