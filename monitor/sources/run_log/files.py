"""Run logs kept in files: JSON lines (`*.jsonl`) and dbt's `run_results.json`.

JSON lines: one object per line with the job, status and time columns (`job`, `status`,
`finished_at` unless renamed). Times are ISO-8601 text (naive ones read in the warehouse's
timezone) or numbers of epoch seconds. A line that is not JSON is an error naming the file
and line, except a last line without its newline: a writer is still appending it.

dbt: every file matching the glob is one invocation (archived runs included), read by
monitor.sources.run_log.dbt (which commands count as runs, bare names, pre-0.19 files,
sources.json). A result is a run at its `execute` timing's `completed_at`, or the file's
`generated_at` when it has none (skipped nodes). Parsed files are cached by path and mtime,
so a service polling a folder of archived runs reads each file once.

Hostile or broken files cost an error, never the process: a JSON line is read at most
MAX_LINE bytes at a time, a dbt file at most MAX_DBT_BYTES, nesting too deep for the
parser is reported, and the dbt cache holds at most _CACHE_RESULTS results in all.

Both read local files or, for an `s3://` glob, S3 objects through s3fs (as `files` does).
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from itertools import chain
from typing import IO, Any

from monitor.core.errors import SourceError
from monitor.core.models import Contract, Reading, RunLogSource
from monitor.sources._ctx import warehouse_timezone
from monitor.sources.base import ReadContext
from monitor.sources.files import s3
from monitor.sources.files.reader import is_s3, list_files
from monitor.sources.run_log.dbt import (
    Artifact,
    ArtifactError,
    SourceLoad,
    loads_of,
    newest_load,
    runs_of,
)
from monitor.sources.run_log.dbt import parse as parse_artifact
from monitor.sources.run_log.rule import is_dbt, reading_for, source_of, summarize
from monitor.sources.timestamps import TimestampError, to_utc

Run = tuple[str, datetime | None]

MAX_LINE = 1 << 20  # bytes of one JSON line (a run record is a few hundred)
MAX_DBT_BYTES = 256 << 20  # a run_results.json of 10,000 nodes is ~20 MB


def read_one(contract: Contract, ctx: ReadContext) -> Reading:
    """The Reading of one file-based run_log contract (SourceError when unreadable)."""
    src = source_of(contract)
    assert src.file is not None
    fs: Any = None
    if is_s3(src.file):
        fs = s3.filesystem()
    matched = sorted(list_files(src.file, ctx, fs))
    if not matched:
        return Reading(contract.name, detail=f"no file matches {src.file}")
    if is_dbt(src):
        return _dbt_reading(contract, matched, fs, ctx.as_of)
    tz = warehouse_timezone(ctx, contract.warehouse)
    # Streamed into the fold: a long log is never held as a list of runs.
    runs = chain.from_iterable(_jsonl_runs(p, fs, src, tz, ctx.as_of) for p, _ in matched)
    return reading_for(contract, summarize(runs, src.success), src.file)


def describe_files(contract: Contract, ctx: ReadContext) -> str:
    """The files a check reads, for `fresh explain`."""
    src = source_of(contract)
    assert src.file is not None
    absolute = is_s3(src.file) or os.path.isabs(src.file)
    where = src.file if absolute else str(ctx.settings.base_dir / src.file)
    if is_dbt(src):
        return (
            f"dbt run_results.json files matching {where} (node unique_id or name "
            f"{src.job!r}, time = timing 'execute' completed_at)"
        )
    return (
        f"JSON-lines files matching {where} (fields {src.job_column!r}, "
        f"{src.status_column!r}, {src.time_column!r})"
    )


# --- JSON lines -----------------------------------------------------------------------


def _open(path: str, fs: Any, binary: bool = False) -> IO[Any]:
    """A local file, or an S3 object through s3fs."""
    if fs is None:
        return open(path, "rb") if binary else open(path, encoding="utf-8")
    try:
        if binary:
            handle: IO[Any] = fs.open(path, "rb")
        else:
            handle = fs.open(path, "rt", encoding="utf-8")
    except FileNotFoundError:
        raise
    except Exception as exc:  # botocore / aiohttp: report, never crash the check
        raise SourceError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    return handle


def _jsonl_runs(
    path: str, fs: Any, src: RunLogSource, tz: str, as_of: datetime | None
) -> Iterator[Run]:
    needle = _needle(src.job)
    try:
        with _open(path, fs) as fh:
            # readline(limit), not iteration: a line without an end must not fill memory.
            for lineno, line in enumerate(iter(lambda: fh.readline(MAX_LINE + 1), ""), 1):
                if len(line) > MAX_LINE:
                    raise SourceError(f"{path}:{lineno}: line longer than {MAX_LINE} characters")
                if needle is not None and needle not in line:
                    continue  # cheap pre-filter: the job's name must appear on the line
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    if not line.endswith("\n"):
                        break  # the last line is still being written
                    raise SourceError(f"{path}:{lineno}: not a JSON object ({exc.msg})") from None
                except RecursionError:
                    raise SourceError(f"{path}:{lineno}: JSON nested too deeply") from None
                if not isinstance(row, dict):
                    raise SourceError(f"{path}:{lineno}: not a JSON object")
                if row.get(src.job_column) != src.job:
                    continue
                status = row.get(src.status_column)
                try:
                    at = _time(row.get(src.time_column), tz)
                except SourceError as exc:
                    raise SourceError(f"{path}:{lineno}: {src.time_column}: {exc}") from None
                if as_of is not None and at is not None and at > as_of:
                    continue  # `--at`: a run after T had not happened yet
                yield str(status), at
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None


def _needle(job: str) -> str | None:
    """The job as it appears inside a JSON line, when that is certain (plain ASCII)."""
    encoded = json.dumps(job)
    if encoded[1:-1] != job or not job.isascii() or "/" in job:
        return None
    return encoded


def _time(value: object, tz: str) -> datetime | None:
    epoch = isinstance(value, int | float) and not isinstance(value, bool)
    try:
        return to_utc(value, tz=tz, column_format="epoch_s" if epoch else None)
    except TimestampError as exc:
        raise SourceError(str(exc)) from None


# --- dbt run_results.json and sources.json -----------------------------------------------

_CACHE: OrderedDict[tuple[str, int], Artifact] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 2048  # files
_CACHE_RESULTS = 1_000_000  # results over all cached files (~150 MB)
_cached_results = 0


def _dbt_reading(
    contract: Contract, matched: list[tuple[str, int]], fs: Any, as_of: datetime | None
) -> Reading:
    """One dbt job's reading over every matched file (archives included).

    A file that cannot be read is skipped and named in `detail` when other files matched,
    so one old or broken file never hides newer runs; alone, it is the error.
    """
    src = source_of(contract)
    assert src.file is not None
    runs: list[Run] = []
    loads: list[SourceLoad] = []
    skipped: list[str] = []
    for path, mtime_ns in matched:
        try:
            artifact = _dbt_file(path, mtime_ns, fs)
        except SourceError as exc:
            if len(matched) == 1:
                raise
            skipped.append(str(exc))
            continue
        for run in runs_of(artifact, src.job):
            at = run.at or artifact.generated_at
            if as_of is None or (at is not None and at <= as_of):
                runs.append((run.status, at))
        loads.extend(loads_of(artifact, src.job))
    if skipped and len(skipped) == len(matched):
        raise SourceError("; ".join(skipped))
    if loads:
        reading = _sources_reading(contract, loads, as_of)
    else:
        reading = reading_for(contract, summarize(runs, src.success), src.file)
    if skipped:
        note = "skipped unreadable " + ("file " if len(skipped) == 1 else "files ")
        parts = [reading.detail, note + "; ".join(skipped)]
        reading = replace(reading, detail="; ".join(p for p in parts if p))
    return reading


def _sources_reading(
    contract: Contract, loads: list[SourceLoad], as_of: datetime | None
) -> Reading:
    """sources.json: the last update is the data's max_loaded_at; dbt's verdict in detail."""
    newest, latest = newest_load(loads, as_of)
    if latest is None:
        return Reading(contract.name, detail=f"no dbt source freshness check before {as_of}")
    checked = latest.snapshotted_at.strftime("%Y-%m-%dT%H:%M:%SZ") if latest.snapshotted_at else "?"
    detail = f"dbt source freshness said {latest.status!r} at {checked}"
    if newest is None:
        return Reading(contract.name, detail=f"{detail}; no max_loaded_at recorded")
    return Reading(contract.name, last_update=newest.max_loaded_at, detail=detail)


def _dbt_file(path: str, mtime_ns: int, fs: Any) -> Artifact:
    key = (path, mtime_ns)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    parsed = _parse_dbt(path, fs)
    global _cached_results
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = parsed
            _cached_results += _size(parsed)
        while len(_CACHE) > _CACHE_SIZE or (len(_CACHE) > 1 and _cached_results > _CACHE_RESULTS):
            _cached_results -= _size(_CACHE.popitem(last=False)[1])
    return parsed


def _size(artifact: Artifact) -> int:
    """What one cached file weighs: its results."""
    return len(artifact.runs) + len(artifact.loads)


def _parse_dbt(path: str, fs: Any) -> Artifact:
    try:
        with _open(path, fs, binary=True) as fh:
            data = fh.read(MAX_DBT_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from None
    if len(data) > MAX_DBT_BYTES:
        raise SourceError(f"{path}: larger than {MAX_DBT_BYTES >> 20} MB, not read")
    try:
        return parse_artifact(data)
    except ArtifactError as exc:
        raise SourceError(exc.at(path)) from None
