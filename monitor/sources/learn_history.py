"""The history a `learn` contract learns from (SPEC 13): the state store's cache, filled by
a backfill from the source on first use and by every reading fresh takes.

`histories()` is what `fresh check` and `fresh serve` call before judging: per `learn`
contract, the backfill reads only what lies after the cache's coverage marker (nothing when
`--at` is at or before it), the reading's update joins the cache, and the update times in
[now - window, now] come back. `--at` cuts everything there.

Backfill today: `table` + `column` on a DuckDB file (the distinct minutes of the column,
with the contract's `where`, one read-only query). Other kinds learn from what fresh
observes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config.settings import Settings
from monitor.core.models import Contract, Reading, TableSource
from monitor.sources.base import ReadContext, describe
from monitor.sources.sql.shared import duck_quote, duckdb_path, from_clause, quoted
from monitor.sources.timestamps import TimestampError, to_utc


def learners(contracts: Sequence[Contract]) -> list[Contract]:
    """The contracts with `learn`."""
    return [c for c in contracts if c.expectation.learn is not None]


def histories(
    store: Any,
    contracts: Sequence[Contract],
    readings: Mapping[str, Reading],
    settings: Settings,
    now: datetime,
) -> tuple[dict[str, Sequence[float]], dict[str, str]]:
    """(update times in epoch seconds per `learn` contract as of `now`, oldest first,
    backfill problems per contract).

    A backfill that fails leaves the coverage marker where it was (the next check tries
    again) and is reported, not fatal: the contract still learns from what is cached.
    """
    learning = learners(contracts)
    if not learning:
        return {}, {}
    names = [c.name for c in learning]
    covered = store.learn_coverage(names)
    found: dict[str, list[float]] = {}
    marks: dict[str, datetime] = {}
    problems: dict[str, str] = {}
    due: dict[str, list[tuple[Contract, datetime]]] = {}  # DuckDB file → backfills
    for c in learning:
        learn = c.expectation.learn
        assert learn is not None
        since = covered.get(c.name)
        # The file is looked up only for a backfill that is due: a check whose `now` the
        # cache already covers (a repeat, an earlier `--at`) does no per-contract work here.
        if learn.backfill and (since is None or since < now):
            path = _duckdb_file(c, settings)
            if path is not None:
                due.setdefault(path, []).append((c, since or now - learn.window))
        last = readings.get(c.name, Reading(c.name)).last_update
        if last is not None and last <= now:
            found.setdefault(c.name, []).append(last.timestamp())
    for path, todo in due.items():
        for c, got in _backfill_file(path, todo, settings, now):
            if isinstance(got, str):
                problems[c.name] = f"backfill failed: {got}"
            else:
                found.setdefault(c.name, []).extend(got)
                marks[c.name] = now
    since = {c.name: now - c.expectation.learn.window for c in learning if c.expectation.learn}
    out = store.add_and_read_learned(found, marks, since, now)
    return out, problems


def keep_after(contracts: Sequence[Contract], retention: timedelta, now: datetime) -> dict[
    str, datetime
]:
    """Per `learn` contract, the oldest update worth keeping: max(window, retention) back."""
    return {
        c.name: now - max(c.expectation.learn.window, retention)
        for c in contracts
        if c.expectation.learn is not None
    }


def _duckdb_file(contract: Contract, settings: Settings) -> str | None:
    """The DuckDB file a `table` + `column` (timestamp) contract reads, else None: the only
    backfill there is today."""
    src = contract.source
    if not isinstance(src, TableSource) or src.column is None or src.column_format is not None:
        return None
    wh = settings.warehouses.get(contract.warehouse)
    if wh is None:
        return None
    ctx = ReadContext(settings=settings, now=datetime.now(UTC), warehouse=contract.warehouse)
    return duckdb_path(wh.url, ctx)


def _backfill_file(
    path: str, todo: list[tuple[Contract, datetime]], settings: Settings, until: datetime
) -> list[tuple[Contract, list[float] | str]]:
    """Backfill every contract of one DuckDB file over one read-only connection: per
    contract its update times, or why it failed."""
    from monitor.sources.duck_guard import connect_warehouse  # duckdb only when backfilling

    try:
        con = connect_warehouse(path)
    except Exception as exc:
        return [(c, describe(exc)) for c, _ in todo]
    out: list[tuple[Contract, list[float] | str]] = []
    try:
        for c, since in todo:
            try:
                out.append((c, backfill(con, c, settings, since, until)))
            except Exception as exc:
                out.append((c, describe(exc)))
    finally:
        con.close()
    return out


def backfill(
    con: Any, contract: Contract, settings: Settings, since: datetime, until: datetime
) -> list[float]:
    """The distinct minutes of a DuckDB table's column in (since, until], with `where`,
    as epoch seconds (one query on `con`)."""
    src = contract.source
    assert isinstance(src, TableSource) and src.column is not None
    wh = settings.warehouses[contract.warehouse]
    column = quoted(src.column, duck_quote, parts=1)
    as_ts = f"CAST({column} AS TIMESTAMP)"
    rows_sql = f"SELECT {column}{from_clause(src, duck_quote, 'duckdb')}"
    # Only what came after `since`: a day's margin covers any reading of a naive column in
    # the warehouse's timezone; the exact cut is made below on aware times.
    sql = (
        f"SELECT DISTINCT date_trunc('minute', {as_ts}) FROM ({rows_sql}) AS fresh_rows "
        f"WHERE {as_ts} > ? AND {as_ts} <= ?"
    )
    low = (since - timedelta(days=1)).replace(tzinfo=None)
    high = (until + timedelta(days=1)).replace(tzinfo=None)
    rows = con.execute(sql, [low, high]).fetchall()
    lo, hi = since.timestamp(), until.timestamp()
    out = []
    for (value,) in rows:
        try:
            at = to_utc(value, tz=wh.timezone)
        except TimestampError:
            continue
        if at is not None and lo < at.timestamp() <= hi:
            out.append(at.timestamp())
    return sorted(out)
