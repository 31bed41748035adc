"""Run logs kept in files: JSON lines (`*.jsonl`) and dbt's `run_results.json`.

JSON lines: one object per line with the job, status and time columns (`job`, `status`,
`finished_at` unless renamed). Times are ISO-8601 text (naive ones read in the warehouse's
timezone) or numbers of epoch seconds. A line that is not JSON is an error naming the file
and line, except a last line without its newline: a writer is still appending it.

dbt: every file matching the glob is one invocation (archived runs included). A result
matches `job` by `unique_id` (`model.shop.orders`) or by name (`orders`, the third part of
the unique_id); it is a run at its `execute` timing's `completed_at`, or the file's
`metadata.generated_at` when it has none (skipped nodes). Parsed files are cached by path
and mtime, so a service polling a folder of archived runs reads each file once.

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
from datetime import UTC, datetime
from typing import IO, Any

from monitor.errors import SourceError
from monitor.models import Contract, Reading, RunLogSource
from monitor.sources._ctx import warehouse_timezone
from monitor.sources.base import ReadContext
from monitor.sources.files import is_s3, list_files
from monitor.sources.run_log import is_dbt, reading_for, source_of, summarize
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
        from monitor.sources import s3

        fs = s3.filesystem()
    matched = sorted(list_files(src.file, ctx, fs))
    if not matched:
        return Reading(contract.name, detail=f"no file matches {src.file}")
    tz = warehouse_timezone(ctx, contract.warehouse)
    runs: list[Run] = []
    for path, mtime_ns in matched:
        if is_dbt(src):
            runs.extend(_dbt_runs(path, mtime_ns, fs, src.job))
        else:
            runs.extend(_jsonl_runs(path, fs, src, tz))
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


def _jsonl_runs(path: str, fs: Any, src: RunLogSource, tz: str) -> list[Run]:
    needle = _needle(src.job)
    runs: list[Run] = []
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
                runs.append((str(status), at))
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    return runs


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


# --- dbt run_results.json -------------------------------------------------------------

# (unique_id, status, completed_at or None); generated_at per file.
_DbtFile = tuple[datetime | None, list[tuple[str, str, datetime | None]]]
_CACHE: OrderedDict[tuple[str, int], _DbtFile] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 2048  # files
_CACHE_RESULTS = 1_000_000  # results over all cached files (~150 MB)
_cached_results = 0


def _dbt_runs(path: str, mtime_ns: int, fs: Any, job: str) -> list[Run]:
    generated_at, results = _dbt_file(path, mtime_ns, fs)
    exact = [r for r in results if r[0] == job]
    matches = exact or [r for r in results if _node_name(r[0]) == job]
    return [(status, at or generated_at) for _, status, at in matches]


def _node_name(unique_id: str) -> str | None:
    parts = unique_id.split(".")
    return parts[2] if len(parts) >= 3 else None


def _dbt_file(path: str, mtime_ns: int, fs: Any) -> _DbtFile:
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
            _cached_results += len(parsed[1])
        while len(_CACHE) > _CACHE_SIZE or (len(_CACHE) > 1 and _cached_results > _CACHE_RESULTS):
            _cached_results -= len(_CACHE.popitem(last=False)[1][1])
    return parsed


def _parse_dbt(path: str, fs: Any) -> _DbtFile:
    try:
        with _open(path, fs, binary=True) as fh:
            data = fh.read(MAX_DBT_BYTES + 1)
        if len(data) > MAX_DBT_BYTES:
            raise SourceError(f"{path}: larger than {MAX_DBT_BYTES >> 20} MB, not read")
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise SourceError(f"{path}: JSON nested too deeply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise SourceError(f"{path}: not a dbt run_results.json (no 'results' list)")
    meta = doc.get("metadata")
    generated_at = _dbt_time(meta.get("generated_at") if isinstance(meta, dict) else None, path)
    results = []
    for item in doc["results"]:
        if not isinstance(item, dict) or not isinstance(item.get("unique_id"), str):
            raise SourceError(f"{path}: a result without a unique_id")
        results.append(
            (item["unique_id"], str(item.get("status")), _completed_at(item.get("timing"), path))
        )
    return generated_at, results


def _completed_at(timing: Any, path: str) -> datetime | None:
    if not isinstance(timing, list):
        return None
    for step in timing:
        if isinstance(step, dict) and step.get("name") == "execute":
            return _dbt_time(step.get("completed_at"), path)
    return None


def _dbt_time(value: object, path: str) -> datetime | None:
    if value is None:
        return None
    try:
        at = to_utc(value, tz="UTC")  # dbt writes UTC, with or without the Z
    except TimestampError as exc:
        raise SourceError(f"{path}: {exc}") from None
    return at.astimezone(UTC) if at is not None else None
