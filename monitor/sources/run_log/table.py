"""Run logs kept in a warehouse table: plain columns, or Airflow's `dag_run` (preset).

Contracts that read the same table with the same columns and statuses share two queries,
whatever the number of jobs: the newest success per job, then the runs after it counted
per job and status. DuckDB files go through `duckdb` directly (opened read-only, only for
the read); every other database through the SQL source's cached read-only engines.
Job names and statuses are bound parameters; identifiers are validated and quoted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from monitor.core.errors import SourceError
from monitor.core.models import Contract, Reading, RunLogSource
from monitor.sources._ctx import warehouse_timezone
from monitor.sources.asof import cut_condition
from monitor.sources.base import ReadContext, describe, error_reading
from monitor.sources.run_log.rule import JobRuns, reading_for, source_of
from monitor.sources.sql.alchemy import engine_for
from monitor.sources.sql.duckdb_reader import _open  # the read-only open with lock retries
from monitor.sources.sql.shared import duck_quote, duckdb_path, quoted, split_identifier
from monitor.sources.timestamps import TimestampError, to_utc

CHUNK = 500  # jobs per query: keeps the IN lists well under every driver's limits

Quote = Callable[[str, bool], str]
Param = Callable[[str], str]  # parameter name → placeholder text


@dataclass(frozen=True)
class _Sql:
    newest: str  # job, newest success time
    since: str  # job, status, count of runs after the newest success (all, without one)
    params: dict[str, Any]


def read_batch(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """One Reading per run_log contract kept in a table of the contracts' warehouse."""
    by_warehouse: dict[str, list[Contract]] = {}
    for contract in contracts:
        by_warehouse.setdefault(contract.warehouse, []).append(contract)
    readings: list[Reading] = []
    for warehouse, group in by_warehouse.items():
        readings.extend(_read_warehouse(warehouse, group, ctx))
    return readings


def explain_sql(contract: Contract, ctx: ReadContext) -> str:
    """The two statements one check runs, with the placeholders shown."""
    src = source_of(contract)
    url = _url(contract, ctx)
    quote = _duck_or_dialect_quote(url, ctx)
    sql = build_sql(src, [src.job], quote, lambda name: f":{name}")
    return f"-- warehouse {contract.warehouse}, read-only\n{sql.newest};\n{sql.since};"


def build_sql(
    src: RunLogSource,
    jobs: Sequence[str],
    quote: Quote,
    param: Param,
    cut: Callable[[str], str] | None = None,
) -> _Sql:
    """The newest-success and runs-since statements for `jobs` of one log table.

    `cut(column_sql)` is `fresh check --at`'s condition: runs after T are not seen.
    """
    if src.table is None:
        raise SourceError("run_log: no table")
    table = quoted(src.table, quote, parts=3)
    job, status, at = (quoted(c, quote, parts=1) for c in _columns(src))
    params: dict[str, Any] = {}

    def names(prefix: str, values: Sequence[str]) -> str:
        out = []
        for i, value in enumerate(values):
            params[f"{prefix}{i}"] = value
            out.append(param(f"{prefix}{i}"))
        return ", ".join(out)

    jobs_in, ok_in = names("j", jobs), names("s", src.success)
    by_t = f" AND ({cut(at)})" if cut else ""
    by_t_r = f" AND ({cut(f'r.{at}')})" if cut else ""
    newest = (
        f"SELECT {job} AS job, max({at}) AS newest FROM {table} "
        f"WHERE {job} IN ({jobs_in}) AND {status} IN ({ok_in}){by_t} GROUP BY {job}"
    )
    since = (
        f"SELECT r.{job} AS job, r.{status} AS status, count(*) AS runs "
        f"FROM {table} r LEFT JOIN ({newest}) s ON r.{job} = s.job "
        f"WHERE r.{job} IN ({jobs_in}) AND r.{at} IS NOT NULL{by_t_r} "
        f"AND (s.newest IS NULL OR (r.{at} > s.newest AND r.{status} NOT IN ({ok_in}))) "
        f"GROUP BY r.{job}, r.{status}"
    )
    return _Sql(newest, since, params)


def _columns(src: RunLogSource) -> tuple[str, str, str]:
    return src.job_column, src.status_column, src.time_column


def _url(contract: Contract, ctx: ReadContext) -> str:
    wh = ctx.settings.warehouses.get(contract.warehouse)
    if wh is None:
        raise SourceError(f"warehouse {contract.warehouse!r} is not defined in fresh.yml")
    return wh.url


def _duck_or_dialect_quote(url: str, ctx: ReadContext) -> Quote:
    if duckdb_path(url, ctx) is not None:
        return duck_quote
    from sqlalchemy.engine import make_url

    preparer = make_url(url).get_dialect()().identifier_preparer

    def quote(part: str, was_quoted: bool) -> str:
        return str(preparer.quote_identifier(part) if was_quoted else preparer.quote(part))

    return quote


def _read_warehouse(warehouse: str, contracts: list[Contract], ctx: ReadContext) -> list[Reading]:
    started = time.perf_counter()
    try:
        url = _url(contracts[0], ctx)
        for c in contracts:  # identifiers are checked before anything connects
            src = source_of(c)
            split_identifier(src.table or "", parts=3)
            for column in _columns(src):
                split_identifier(column, parts=1)
        runner = _runner(url, warehouse, ctx)
    except SourceError as exc:
        return [error_reading(c, str(exc)) for c in contracts]
    except Exception as exc:
        why = f"cannot connect: {describe(exc)}"
        return [error_reading(c, why, time.perf_counter() - started) for c in contracts]
    groups: dict[tuple[Any, ...], list[Contract]] = {}
    for c in contracts:
        src = source_of(c)
        groups.setdefault((src.table, *_columns(src), src.success), []).append(c)
    readings: list[Reading] = []
    tz = warehouse_timezone(ctx, warehouse)
    try:
        for group in groups.values():
            for i in range(0, len(group), CHUNK):
                readings.extend(_read_group(group[i : i + CHUNK], runner, tz, ctx))
    finally:
        runner.close()
    return readings


def _read_group(
    contracts: list[Contract], runner: _Runner, tz: str, ctx: ReadContext
) -> list[Reading]:
    started = time.perf_counter()
    src = source_of(contracts[0])
    jobs = sorted({source_of(c).job for c in contracts})
    try:
        sql = build_sql(src, jobs, runner.quote, runner.param, _cut(runner, tz, ctx))
        newest_rows = runner.rows(sql.newest, sql.params)
        since_rows = runner.rows(sql.since, sql.params)
        newest = {str(j): to_utc(t, tz=tz) for j, t in newest_rows}
    except TimestampError as exc:
        why = f"{src.table}.{src.time_column}: {exc}"
        return [error_reading(c, why, time.perf_counter() - started) for c in contracts]
    except Exception as exc:
        why = f"cannot read {src.table}: {describe(exc)}"
        return [error_reading(c, why, time.perf_counter() - started) for c in contracts]
    since: dict[str, Counter[str]] = {}
    for j, status, n in since_rows:
        since.setdefault(str(j), Counter())[str(status)] += int(n)
    each = (time.perf_counter() - started) / len(contracts)
    readings = []
    for c in contracts:
        job = source_of(c).job
        counts = since.get(job, Counter())
        last = newest.get(job)
        runs = JobRuns(last, counts, sum(counts.values()) + (1 if last else 0))
        reading = reading_for(c, runs, str(src.table))
        readings.append(replace(reading, duration_seconds=each))
        ctx.deliver(readings[-1])
    return readings


def _cut(runner: _Runner, tz: str, ctx: ReadContext) -> Callable[[str], str] | None:
    """`--at T`: the condition keeping runs at or before T, in this warehouse's SQL."""
    as_of = ctx.as_of
    if as_of is None:
        return None
    backend = runner.backend
    return lambda column: cut_condition(column, backend, as_of, tz, None)


# --- Connections --------------------------------------------------------------------------


class _Runner:
    """Runs statements on one warehouse: DuckDB directly, or a SQLAlchemy engine."""

    quote: Quote
    param: Param
    backend: str  # the URL's scheme without the driver: duckdb, postgresql, sqlite…

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection (a DuckDB file is never held between reads)."""


class _DuckRunner(_Runner):
    def __init__(self, path: str, ctx: ReadContext) -> None:
        self.con = _open(path, time.monotonic() + ctx.timeout, ctx.timeout)
        self.quote = duck_quote
        self.param = lambda name: f"${name}"
        self.backend = "duckdb"
        if ctx.as_of is not None:  # the `--at` cut casts naive times in the session zone
            tz = warehouse_timezone(ctx, ctx.warehouse or "")
            self.con.execute(f"SET TimeZone = '{tz.replace(chr(39), '')}'")

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.con.execute(sql, params).fetchall()]

    def close(self) -> None:
        self.con.close()


class _AlchemyRunner(_Runner):
    def __init__(self, url: str, warehouse: str, ctx: ReadContext) -> None:
        wh = ctx.settings.warehouses[warehouse]
        self.engine = engine_for(url, wh, ctx.settings.base_dir, warehouse)
        self.quote = _duck_or_dialect_quote(url, ctx)
        self.param = lambda name: f":{name}"
        self.backend = url.split(":", 1)[0].split("+", 1)[0]

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params).fetchall()]


def _runner(url: str, warehouse: str, ctx: ReadContext) -> _Runner:
    path = duckdb_path(url, ctx)
    if path is not None:
        return _DuckRunner(path, ctx)
    return _AlchemyRunner(url, warehouse, ctx)
