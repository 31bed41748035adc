"""`fresh check --at T`: read every source as it stood at T (SPEC 4).

Sources that record when things happened ignore everything after T: a table's column is
cut with `column <= T` in SQL (so the newest value *by* T is found, not just refused), files
modified after T are not seen, run logs, dbt artifacts and heartbeats drop runs and pings
after T. What cannot be cut (a `query`, a database's last-modified metadata) is read as is,
and a value after T is an `error`: "cannot evaluate as of T". `too_new` applies that last
rule to every reading, so a source that forgot to cut never reports the future.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.config.sqlguard import Quote, split_identifier
from monitor.core.models import ColumnFormat, Contract, Reading, TableSource


def stamp(at: datetime) -> str:
    """T as the CLI and messages show it: ISO-8601 UTC with `Z`."""
    return at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def too_new(reading: Reading, as_of: datetime | None) -> Reading:
    """`reading`, or an error when what it saw lies after `as_of` (the future, as of T)."""
    if as_of is None or reading.error is not None or reading.last_update is None:
        return reading
    if reading.last_update <= as_of:
        return reading
    return replace(
        reading,
        last_update=None,
        started_at=None,
        error=(
            f"cannot evaluate as of {stamp(as_of)}: the value read, "
            f"{stamp(reading.last_update)}, is after it"
        ),
    )


def cut_condition(
    column: str, backend: str, as_of: datetime, tz: str, column_format: ColumnFormat | None
) -> str:
    """A boolean SQL expression true for rows whose `column` is at or before `as_of`.

    `backend` is the URL's scheme without the driver (duckdb, postgresql, sqlite, mysql…).
    Naive values are read in the warehouse's zone `tz`, as the readers set the session.
    """
    if column_format == "epoch_s":
        return f"{column} <= {as_of.timestamp():.6f}"
    if column_format == "epoch_ms":
        return f"{column} <= {as_of.timestamp() * 1000:.3f}"
    local = as_of.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    if backend in ("duckdb", "postgresql"):
        # The session zone is the warehouse's: naive columns and dates cast in it.
        utc = as_of.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        return f"CAST({column} AS TIMESTAMPTZ) <= CAST('{utc}' AS TIMESTAMPTZ)"
    if backend == "sqlite":
        # Text in any ISO shape ('T' or ' ', fractions): SQLite's own parse compares it.
        text = local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"
        return f"strftime('%Y-%m-%d %H:%M:%f', {column}) <= '{text}'"
    text = local.strftime("%Y-%m-%d %H:%M:%S.%f")
    if backend in ("mysql", "mariadb"):
        return f"{column} <= '{text}'"  # converted to the column's type, in the session zone
    return f"{column} <= CAST('{text}' AS TIMESTAMP)"


def cut_table(contract: Contract, backend: str, as_of: datetime, tz: str, quote: Quote) -> Contract:
    """`contract` with its table's `where` narrowed to rows at or before `as_of`.

    `quote` is the one the read itself uses for the column (the dialect's rule), so the cut
    names the very column the read does: a plain mixed-case name that the read quotes on
    PostgreSQL is not folded to lower case here.
    """
    src = contract.source
    if not isinstance(src, TableSource) or src.column is None:
        return contract
    ((part, was_quoted),) = split_identifier(src.column, parts=1)
    column = quote(part, was_quoted)
    cut = cut_condition(column, backend, as_of, tz, src.column_format)
    where = f"({src.where}) AND ({cut})" if src.where else cut
    return replace(contract, source=replace(src, where=where))
