"""Backfilled histories of `run_log` learn contracts (SPEC 13): the job's successful runs in
(since, now].

- A log table: one read-only query per contract, the distinct times of the job's runs whose
  status is in `success`, cut as `fresh check --at` cuts (naive times in the warehouse's
  zone), through the same connections as the reader (monitor.sources.run_log.table).
- JSON lines: the success lines of the files written after the marker.
- dbt: the job's successful results in the run_results.json files written after the marker
  (commands that build nothing do not count, as for the check), and for sources.json the
  data's `max_loaded_at` of each freshness check dbt made by then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.core.errors import SourceError
from monitor.core.models import Contract, RunLogSource
from monitor.sources._ctx import warehouse_timezone
from monitor.sources.asof import cut_condition
from monitor.sources.base import Backfilled, Due, ReadContext, describe
from monitor.sources.files import s3
from monitor.sources.files.reader import is_s3, list_files
from monitor.sources.run_log.dbt import loads_of, runs_of
from monitor.sources.run_log.files import _dbt_file, _jsonl_runs
from monitor.sources.run_log.rule import is_dbt, source_of
from monitor.sources.run_log.table import _runner
from monitor.sources.sql.shared import quoted
from monitor.sources.timestamps import TimestampError, to_utc


def backfill(due: Sequence[Due], ctx: ReadContext) -> list[Backfilled]:
    """The successful runs of each due run_log contract, up to `ctx.now`."""
    out: list[Backfilled] = []
    tables: dict[str, list[tuple[Contract, datetime]]] = {}
    for c, since in due:
        src = source_of(c)
        if src.table is not None:
            tables.setdefault(c.warehouse, []).append((c, since))
            continue
        try:
            out.append((c, _from_files(c, src, since, ctx)))
        except SourceError as exc:
            out.append((c, str(exc)))
        except Exception as exc:
            out.append((c, describe(exc)))
    for warehouse, group in tables.items():
        out.extend(_from_table(warehouse, group, ctx))
    return out


def _from_table(
    warehouse: str, due: list[tuple[Contract, datetime]], ctx: ReadContext
) -> list[Backfilled]:
    wh = ctx.settings.warehouses.get(warehouse)
    if wh is None:
        return [(c, f"warehouse {warehouse!r} is not defined in fresh.yml") for c, _ in due]
    try:
        runner = _runner(wh.url, warehouse, ctx)
    except SourceError as exc:
        return [(c, str(exc)) for c, _ in due]
    except Exception as exc:
        return [(c, f"cannot connect: {describe(exc)}") for c, _ in due]
    tz = warehouse_timezone(ctx, warehouse)
    out: list[Backfilled] = []
    try:
        for c, since in due:
            try:
                sql, params = success_sql(source_of(c), runner, since, ctx.now, tz)
                rows = runner.rows(sql, params)
                out.append((c, _within((to_utc(r[0], tz=tz) for r in rows), since, ctx.now)))
            except TimestampError as exc:
                out.append((c, f"{source_of(c).table}.{source_of(c).time_column}: {exc}"))
            except Exception as exc:
                out.append((c, describe(exc)))
    finally:
        runner.close()
    return out


def success_sql(
    src: RunLogSource, runner: Any, since: datetime, until: datetime, tz: str
) -> tuple[str, dict[str, Any]]:
    """The statement (and its parameters) reading one job's successful run times."""
    assert src.table is not None
    quote = runner.quote
    table = quoted(src.table, quote, parts=3)
    job, status, at = (
        quoted(col, quote, parts=1) for col in (src.job_column, src.status_column, src.time_column)
    )
    params: dict[str, Any] = {"j": src.job}
    oks = []
    for i, value in enumerate(src.success):
        params[f"s{i}"] = value
        oks.append(runner.param(f"s{i}"))
    lo = cut_condition(at, runner.backend, since, tz, None)
    hi = cut_condition(at, runner.backend, until, tz, None)
    sql = (
        f"SELECT DISTINCT {at} FROM {table} WHERE {job} = {runner.param('j')} "
        f"AND {status} IN ({', '.join(oks)}) AND NOT ({lo}) AND ({hi})"
    )
    return sql, params


def _from_files(
    contract: Contract, src: RunLogSource, since: datetime, ctx: ReadContext
) -> list[float]:
    assert src.file is not None
    fs: Any = s3.filesystem() if is_s3(src.file) else None
    lo = int(since.timestamp() * 1e9)
    # A file last written before the marker holds no run after it.
    written = sorted((p, m) for p, m in list_files(src.file, ctx, fs) if m > lo)
    found: list[datetime | None] = []
    if is_dbt(src):
        for path, mtime in written:
            artifact = _dbt_file(path, mtime, fs)
            for run in runs_of(artifact, src.job):
                if run.status in src.success:
                    found.append(run.at or artifact.generated_at)
            for load in loads_of(artifact, src.job):
                # What dbt knew by then: a check it made after `now` is not seen.
                if load.snapshotted_at is None or load.snapshotted_at <= ctx.now:
                    found.append(load.max_loaded_at)
    else:
        tz = warehouse_timezone(ctx, contract.warehouse)
        ok = set(src.success)
        for path, _ in written:
            found += [at for status, at in _jsonl_runs(path, fs, src, tz, ctx.now) if status in ok]
    return _within(found, since, ctx.now)


def _within(times: Any, since: datetime, until: datetime) -> list[float]:
    """Distinct epoch seconds of the times in (since, until], sorted."""
    return sorted({t.timestamp() for t in times if t is not None and since < t <= until})
