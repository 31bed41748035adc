"""`delta:` contracts: the newest commit of a Delta Lake table that changed data (SPEC 14).

Only the transaction log is read (`_delta_log/NNNNNNNNNNNNNNNNNNNN.json`), never a data file
nor a checkpoint's file list. A commit counts when one of its `add` or `remove` actions has
`dataChange: true`: appends, merges, overwrites, deletes, updates and restores do; OPTIMIZE,
ZORDER, VACUUM and table-property changes only move bytes or metadata and do not. The log is
walked from the newest version down, so the usual case costs one listing and one small file.

Storage goes through delta-rs (the `deltalake` package) with its own object store, so S3
credentials, region and endpoint come from the standard AWS configuration (environment,
profiles), `AWS_ALLOW_HTTP=true` allowing an `http://` endpoint such as MinIO.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.core.errors import SourceError
from monitor.core.models import Contract, DeltaSource, Reading
from monitor.sources.asof import stamp
from monitor.sources.base import ReadContext, read_each

_COMMIT = re.compile(r"^(\d{20})\.json$")
_LOG = "_delta_log"


@dataclass(frozen=True)
class Commit:
    """What one commit file says about freshness."""

    version: int
    operation: str
    timestamp: datetime
    changes_data: bool


def read_batch(contracts: Sequence[Contract], ctx: ReadContext) -> list[Reading]:
    """One Reading per `delta` contract; never raises for a bad table."""
    return read_each(contracts, ctx, lambda contract: _read(contract, ctx))


def explain(contract: Contract, ctx: ReadContext) -> str:
    """What a check of this contract reads."""
    uri = table_uri(_source(contract).path, ctx.settings.base_dir)
    return (
        f"the Delta log of {uri} ({uri.rstrip('/')}/{_LOG}/*.json, no data file read): the "
        "time of the newest commit with an add or remove action that has dataChange: true "
        "(OPTIMIZE, ZORDER, VACUUM and property changes are skipped)"
    )


def table_uri(path: str, base_dir: Path) -> str:
    """An object-store URL as given (s3://…), a local folder made absolute from `base_dir`."""
    if "://" in path:
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else base_dir / p)


def parse_commit(version: int, text: str, where: str, mtime: datetime | None) -> Commit:
    """One commit file's freshness facts; SourceError naming `where` and the line if corrupt."""
    operation, millis, changes = "", None, False
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            action = json.loads(line)
        except ValueError as exc:
            raise SourceError(f"corrupt Delta log {where}: line {n}: {exc}") from None
        if not isinstance(action, dict):
            raise SourceError(f"corrupt Delta log {where}: line {n}: not an action object")
        info = action.get("commitInfo")
        if isinstance(info, dict):
            operation = str(info.get("operation") or "")
            # In-commit timestamps (a table feature) are the commit time when present.
            millis = info.get("inCommitTimestamp", info.get("timestamp"))
        for key in ("add", "remove"):
            body = action.get(key)
            if isinstance(body, dict) and body.get("dataChange") is True:
                changes = True
    if isinstance(millis, int | float) and not isinstance(millis, bool):
        when = datetime.fromtimestamp(millis / 1000, UTC)
    elif mtime is not None:
        when = mtime  # the protocol's commit time when commitInfo has none
    else:
        raise SourceError(f"corrupt Delta log {where}: no commit timestamp")
    return Commit(version, operation or "unknown operation", when, changes)


def _source(contract: Contract) -> DeltaSource:
    if not isinstance(contract.source, DeltaSource):
        raise TypeError(f"{contract.name} is not a delta contract")
    return contract.source


def _handler(uri: str, timeout: float) -> Any:
    try:
        from deltalake.fs import DeltaStorageHandler
    except ImportError:
        raise SourceError(
            "delta: tables need the deltalake library: pip install 'fresh-monitor[lake]'"
        ) from None
    try:
        # delta-rs holds the GIL while it waits on the store, so a hung endpoint would stall
        # every other thread: each request, retries included, ends within the timeout.
        limit = f"{max(timeout, 1.0):g}s"
        return DeltaStorageHandler(uri, {"timeout": limit, "retry_timeout": limit})
    except Exception as exc:  # delta-rs: TableNotFoundError, bad URL, unknown scheme
        raise SourceError(f"cannot open Delta table {uri}: {_short(exc)}") from None


_DECOR = re.compile(r"\x1b\[[0-9;]*m|↳")


def _short(exc: BaseException) -> str:
    """delta-rs errors span lines of nested causes: one line, colour codes and arrows gone."""
    parts = [ln.strip() for ln in _DECOR.sub("", str(exc)).splitlines() if ln.strip()]
    return ": ".join(parts)[:400] or type(exc).__name__


def _list_commits(handler: Any, uri: str) -> list[tuple[int, str, datetime | None]]:
    """(version, path, mtime) of every JSON commit file kept in the log, newest first."""
    from pyarrow.fs import FileSelector

    try:
        infos = handler.get_file_info_selector(FileSelector(_LOG, allow_not_found=True))
    except Exception as exc:  # access denied, no such bucket, unreachable endpoint
        raise SourceError(f"cannot list {uri.rstrip('/')}/{_LOG}: {_short(exc)}") from None
    out = []
    for info in infos:
        m = _COMMIT.match(info.path.rsplit("/", 1)[-1])
        if m:
            mtime = info.mtime
            if mtime is not None and mtime.tzinfo is None:
                mtime = mtime.replace(tzinfo=UTC)
            out.append((int(m.group(1)), info.path, mtime))
    return sorted(out, reverse=True)


def read_commit(handler: Any, uri: str, version: int, path: str, mtime: datetime | None) -> Commit:
    """One commit file of the log, parsed; SourceError naming the file when unreadable."""
    where = f"{uri.rstrip('/')}/{path}"
    try:
        with handler.open_input_stream(path) as stream:
            text = stream.read().decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError(f"corrupt Delta log {where}: not UTF-8 text") from None
    except Exception as exc:
        raise SourceError(f"cannot read {where}: {_short(exc)}") from None
    return parse_commit(version, text, where, mtime)


def _read(contract: Contract, ctx: ReadContext) -> Reading:
    uri = table_uri(_source(contract).path, ctx.settings.base_dir)
    handler = _handler(uri, ctx.timeout)
    commits = _list_commits(handler, uri)
    if not commits:
        raise SourceError(f"no Delta table at {uri}: {_LOG}/ holds no commit")
    for version, path, mtime in commits:
        commit = read_commit(handler, uri, version, path, mtime)
        if ctx.as_of is not None and commit.timestamp > ctx.as_of:
            continue  # committed after `--at T`: it did not exist yet
        if commit.changes_data:
            return Reading(
                contract.name,
                last_update=commit.timestamp,
                detail=f"Delta version {commit.version}: {commit.operation}",
            )
    newest, oldest = commits[0][0], commits[-1][0]
    span = f"versions {oldest}-{newest}" if oldest != newest else f"version {newest}"
    if ctx.as_of is not None:
        span += f" up to {stamp(ctx.as_of)}"
    cleaned = " (older commits were cleaned from the log)" if oldest > 0 else ""
    return Reading(contract.name, detail=f"no commit changed data in {span}{cleaned}")
