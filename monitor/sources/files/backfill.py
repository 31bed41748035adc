"""Backfilled histories of `files` learn contracts (SPEC 13).

Without `column`: the times of the matching files (local mtimes, S3 LastModified) in
(since, now]. With `column`: the distinct minutes of the column's values inside the files
written in (since, now] (a file written before the marker holds rows loaded before it), read
by DuckDB in one query per file format, cut as the SQL backfill cuts (monitor.sources.sql
.backfill), with the connection locked to those files as the reader's is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.core.errors import SourceError
from monitor.core.models import Contract, FilesSource
from monitor.sources._ctx import warehouse_timezone
from monitor.sources.asof import cut_condition
from monitor.sources.base import Backfilled, Due, ReadContext, describe
from monitor.sources.duck_guard import connect_files
from monitor.sources.files import s3
from monitor.sources.files.reader import _file_error, file_format, is_s3, list_files
from monitor.sources.sql.backfill import minute_of, times_of


def backfill(due: Sequence[Due], ctx: ReadContext) -> list[Backfilled]:
    """The update times of each due `files` contract, up to `ctx.now`."""
    s3_fs: Any = None
    out: list[Backfilled] = []
    for c, since in due:
        try:
            src = c.source
            assert isinstance(src, FilesSource)
            if is_s3(src.glob) and s3_fs is None:
                s3_fs = s3.filesystem()
            out.append((c, _one(c, src, since, ctx, s3_fs if is_s3(src.glob) else None)))
        except SourceError as exc:
            out.append((c, str(exc)))
        except Exception as exc:
            out.append((c, describe(exc)))
    return out


def _one(
    contract: Contract, src: FilesSource, since: datetime, ctx: ReadContext, fs: Any
) -> list[float]:
    lo, hi = int(since.timestamp() * 1e9), int(ctx.now.timestamp() * 1e9)
    written = [(p, m) for p, m in list_files(src.glob, ctx, fs) if lo < m <= hi]
    if src.column is None:
        return sorted(m / 1e9 for _, m in written)
    if not written:
        return []
    tz = warehouse_timezone(ctx, contract.warehouse)
    column = '"' + src.column.replace('"', '""') + '"'
    cut = (
        f"NOT ({cut_condition(column, 'duckdb', since, tz, src.column_format)}) "
        f"AND ({cut_condition(column, 'duckdb', ctx.now, tz, src.column_format)})"
    )
    minute = minute_of(column, "duckdb", src.column_format)
    by_format: dict[str, list[str]] = {}
    for path, _ in written:
        by_format.setdefault(file_format(path), []).append(path)
    paths = [p for p, _ in written]
    con = connect_files(paths, fs, timezone=tz)
    rows: list[tuple[Any, ...]] = []
    try:
        import duckdb

        for fmt, group in by_format.items():
            sql = f"SELECT DISTINCT {minute} FROM read_{fmt}(?, union_by_name = true) WHERE {cut}"
            try:
                rows += con.execute(sql, [group]).fetchall()
            except duckdb.BinderException:
                raise SourceError(
                    f"column {src.column!r} not found in the files matching {src.glob}"
                ) from None
            except duckdb.Error as exc:
                raise SourceError(_file_error(str(exc), group, src.glob)) from None
    finally:
        con.close()
    return times_of(rows, src.column_format, "duckdb", tz, since, ctx.now)
