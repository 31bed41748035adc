"""`files` contracts: the newest file matching a glob, or the newest value inside the files.

A local glob is walked from its static prefix (monitor.sources.files.localglob); `s3://` globs are
listed with s3fs (monitor.sources.files.s3). With `column:` the matched files are read by DuckDB
(`read_parquet` / `read_csv` / `read_json`), through the same fsspec filesystem for S3.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.core.errors import SourceError
from monitor.core.models import ColumnFormat, Contract, FilesSource, Reading
from monitor.sources._ctx import warehouse_timezone
from monitor.sources.asof import cut_condition, stamp
from monitor.sources.base import ReadContext, read_each
from monitor.sources.duck_guard import connect_files
from monitor.sources.files import s3
from monitor.sources.files.localglob import glob_mtimes
from monitor.sources.timestamps import TimestampError, to_utc

if TYPE_CHECKING:
    import duckdb

_FORMATS = {
    ".parquet": "parquet",
    ".parq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
_COMPRESSED = (".gz", ".zst")


def is_s3(glob: str) -> bool:
    """True for `s3://…` globs."""
    return glob.startswith(("s3://", "s3a://"))


def read_batch(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """One Reading per `files` contract; never raises for a bad source."""
    s3_fs: Any = None  # one S3 client for the batch, made when the first s3:// glob needs it

    def one(contract: Contract) -> Reading:
        nonlocal s3_fs
        if is_s3(_source(contract).glob) and s3_fs is None:
            s3_fs = s3.filesystem()
        return _read(contract, ctx, s3_fs)

    return read_each(contracts, ctx, one)


def explain(contract: Contract, ctx: ReadContext) -> str:
    """What a check of this contract reads, in words and SQL."""
    src = _source(contract)
    where = src.glob if is_s3(src.glob) else str(_resolve(src.glob, ctx))
    if src.column is None:
        return f"the newest modification time of the files matching {where}"
    try:
        fmt = file_format(src.glob)
    except SourceError:
        fmt = "<format>"  # told by each matched file's extension
    sql = _value_sql(src.column, fmt)
    return (
        f"the newest value of column {src.column!r} inside the files matching {where}, "
        f"read by DuckDB: {sql.replace('?', '[<matched files>]')}"
    )


def _source(contract: Contract) -> FilesSource:
    if not isinstance(contract.source, FilesSource):
        raise TypeError(f"{contract.name} is not a files contract")
    return contract.source


def _resolve(glob: str, ctx: ReadContext) -> str:
    path = Path(glob).expanduser()
    return str(path if path.is_absolute() else ctx.settings.base_dir / path)


def list_files(glob: str, ctx: ReadContext, s3_fs: Any = None) -> list[tuple[str, int]]:
    """(path or s3:// URL, mtime in ns) of every file matching `glob`."""
    if is_s3(glob):
        return s3.glob_mtimes(s3_fs if s3_fs is not None else s3.filesystem(), glob)
    return glob_mtimes(glob, ctx.settings.base_dir)


def _read(contract: Contract, ctx: ReadContext, s3_fs: Any) -> Reading:
    src = _source(contract)
    matched = list_files(src.glob, ctx, s3_fs)
    if not matched:
        return Reading(contract.name, detail=f"no file matches {src.glob}")
    if ctx.as_of is not None:
        # `--at T`: a file written after T did not exist yet, whatever rows it holds.
        limit_ns = int(ctx.as_of.timestamp() * 1e9)
        matched = [(p, m) for p, m in matched if m <= limit_ns]
        if not matched:
            return Reading(
                contract.name,
                detail=f"no file matching {src.glob} was written by {stamp(ctx.as_of)}",
            )
    if src.column is None:
        newest_ns = max(m for _, m in matched)
        return Reading(contract.name, last_update=datetime.fromtimestamp(newest_ns / 1e9, UTC))
    last = newest_time(
        [p for p, _ in matched],
        src.column,
        s3_fs if is_s3(src.glob) else None,
        src.glob,
        warehouse_timezone(ctx, contract.warehouse),
        src.column_format,
        ctx.as_of,
    )
    if last is None:
        return Reading(
            contract.name,
            detail=f"column {src.column!r} is empty in the {len(matched)} files matching "
            f"{src.glob}",
        )
    return Reading(contract.name, last_update=last)


def file_format(path: str) -> str:
    """parquet, csv or json from the file name; SourceError for anything else."""
    name = path.lower()
    for suffix in _COMPRESSED:
        name = name.removesuffix(suffix)
    for ext, fmt in _FORMATS.items():
        if name.endswith(ext):
            return fmt
    raise SourceError(
        f"cannot tell the format of {path}: name files .parquet, .csv or .json (.jsonl)"
    )


def _value_sql(column: str, fmt: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    return f"SELECT max({quoted}) FROM read_{fmt}(?, union_by_name = true)"


def newest_time(
    paths: list[str],
    column: str,
    fs: Any,
    glob: str,
    tz: str = "UTC",
    column_format: ColumnFormat | None = None,
    as_of: datetime | None = None,
) -> datetime | None:
    """The newest value of `column` across `paths` (one query per file format), in UTC;
    with `as_of`, the newest at or before it."""

    cut = None
    if as_of is not None:
        quoted = '"' + column.replace('"', '""') + '"'
        cut = cut_condition(quoted, "duckdb", as_of, tz, column_format)

    by_format: dict[str, list[str]] = {}
    for path in paths:
        by_format.setdefault(file_format(path), []).append(path)
    # The connection reads the matched files and nothing else (duck_guard); a UTC session,
    # except under `--at`: the cut casts naive values in the warehouse's zone.
    con = connect_files(paths, fs, timezone=tz if cut is not None else "UTC")
    try:
        values = [_max_of(con, fmt, group, column, glob, cut) for fmt, group in by_format.items()]
    finally:
        con.close()
    # Formats may disagree on the type (text in CSV, timestamps in Parquet): compare in UTC.
    try:
        times = [
            t for v in values if (t := to_utc(v, tz=tz, column_format=column_format)) is not None
        ]
    except TimestampError as exc:
        raise SourceError(f"column {column!r} in the files matching {glob}: {exc}") from None
    return max(times, default=None)


def _max_of(
    con: duckdb.DuckDBPyConnection,
    fmt: str,
    paths: list[str],
    column: str,
    glob: str,
    cut: str | None = None,
) -> object:
    import duckdb

    sql = _value_sql(column, fmt) + (f" WHERE {cut}" if cut else "")
    try:
        row = con.execute(sql, [paths]).fetchone()
    except duckdb.BinderException:
        raise SourceError(f"column {column!r} not found in the files matching {glob}") from None
    except duckdb.Error as exc:
        raise SourceError(_file_error(str(exc), paths, glob)) from None
    return row[0] if row else None


def _file_error(message: str, paths: list[str], glob: str) -> str:
    """DuckDB's message, led by the path of the file it could not read when it names one."""
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    for path in paths:
        bare = path.removeprefix("s3://")
        if bare in message:
            return f"cannot read {path}: {first}"
    return f"cannot read the files matching {glob}: {first}"
