"""`run_log` contracts: a table in the warehouse (run_log/table.py) or files (JSON lines, dbt
run_results.json: run_log/files.py), judged by the rule in run_log/rule.py."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.core.models import Contract, Reading
from monitor.sources.base import ReadContext, read_each
from monitor.sources.run_log import files, table
from monitor.sources.run_log.rule import source_of


def read_batch(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """One Reading per run_log contract; never raises for a bad log."""
    tables = [c for c in contracts if source_of(c).table is not None]
    others = [c for c in contracts if source_of(c).table is None]
    readings: list[Reading] = []
    if tables:
        readings.extend(table.read_batch(tables, ctx))
    readings.extend(read_each(others, ctx, lambda contract: files.read_one(contract, ctx)))
    return readings


def explain(contract: Contract, ctx: ReadContext) -> str:
    """What a check of this contract reads, in words (and SQL for a table)."""
    src = source_of(contract)
    rule = (
        f"the newest run of job {src.job!r} with status in {list(src.success)}; "
        f"runs after it with status in {list(src.failure)} are counted as failed runs"
    )
    if src.table is not None:
        return f"{rule}\n{table.explain_sql(contract, ctx)}"
    return f"{rule}, read from {files.describe_files(contract, ctx)}"
