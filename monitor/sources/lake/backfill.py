"""Backfilled histories of `delta` and `iceberg` learn contracts (SPEC 13): their data
commits in (since, now], by the same rule as the readers.

- Delta: the commits of the transaction log with an `add` or `remove` action that has
  `dataChange: true`, walked newest first down to the first commit at or before the marker
  (only the log's small JSON files are read, never a data file).
- Iceberg: the snapshots of the current snapshot's ancestry whose operation is `append`,
  `overwrite` or `delete`, from the table's metadata through its catalog (asked on a worker
  thread and waited for at most the catalog's `timeout`, as the reader does).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import datetime

from monitor.core.durations import compact_duration
from monitor.core.errors import SourceError
from monitor.core.models import Contract, DeltaSource, IcebergSource
from monitor.sources.base import Backfilled, Due, ReadContext, describe


def backfill(due: Sequence[Due], ctx: ReadContext) -> list[Backfilled]:
    """The data commits of each due delta / iceberg contract, up to `ctx.now`."""
    out: list[Backfilled] = []
    by_catalog: dict[str, list[tuple[Contract, datetime]]] = {}
    for c, since in due:
        src = c.source
        if isinstance(src, IcebergSource):
            by_catalog.setdefault(src.catalog, []).append((c, since))
            continue
        try:
            out.append((c, _delta(c, since, ctx)))
        except SourceError as exc:
            out.append((c, str(exc)))
        except Exception as exc:
            out.append((c, describe(exc)))
    for name, group in by_catalog.items():
        out.extend(_iceberg(name, group, ctx))
    return out


def _delta(contract: Contract, since: datetime, ctx: ReadContext) -> list[float]:
    from monitor.sources.lake.delta import _handler, _list_commits, read_commit, table_uri

    src = contract.source
    assert isinstance(src, DeltaSource)
    uri = table_uri(src.path, ctx.settings.base_dir)
    handler = _handler(uri, ctx.timeout)
    found = []
    for version, path, mtime in _list_commits(handler, uri):
        commit = read_commit(handler, uri, version, path, mtime)
        if commit.timestamp <= since:
            break  # versions are written in time order: the rest is covered already
        if commit.timestamp <= ctx.now and commit.changes_data:
            found.append(commit.timestamp.timestamp())
    return sorted(found)


def _iceberg(name: str, due: list[tuple[Contract, datetime]], ctx: ReadContext) -> list[Backfilled]:
    catalog = ctx.settings.catalogs.get(name)
    if catalog is None:
        why = f"catalog {name!r} is not defined in fresh.yml (catalogs:)"
        return [(c, why) for c, _ in due]
    future: Future[list[Backfilled]] = Future()

    def work() -> None:
        try:
            future.set_result(_snapshots(name, catalog.properties(), due, ctx.now))
        except BaseException as exc:  # a library bug becomes a reason, not a crash
            future.set_result([(c, describe(exc)) for c, _ in due])

    # A hung catalog call must not keep the process alive nor stall the check.
    threading.Thread(target=work, name=f"fresh-iceberg-backfill-{name}", daemon=True).start()
    try:
        return future.result(timeout=catalog.timeout.total_seconds())
    except TimeoutError:
        why = f"catalog {name!r} did not answer within {compact_duration(catalog.timeout)}"
        return [(c, why) for c, _ in due]


def _snapshots(
    name: str, properties: dict[str, str], due: list[tuple[Contract, datetime]], now: datetime
) -> list[Backfilled]:
    from monitor.sources.lake.iceberg import DATA_OPERATIONS, _ancestry, _catalog

    try:
        cat = _catalog(name, properties)
    except SourceError as exc:
        return [(c, str(exc)) for c, _ in due]
    out: list[Backfilled] = []
    lo_ms = {c.name: since.timestamp() * 1000 for c, since in due}
    hi_ms = now.timestamp() * 1000
    for c, _ in due:
        try:
            ancestry = _ancestry(cat, name, c)
        except SourceError as exc:
            out.append((c, str(exc)))
            continue
        out.append(
            (
                c,
                sorted(
                    s.timestamp_ms / 1000
                    for s in ancestry
                    if s.operation in DATA_OPERATIONS and lo_ms[c.name] < s.timestamp_ms <= hi_ms
                ),
            )
        )
    return out
