"""Backfilled histories of heartbeat and OpenLineage learn contracts (SPEC 13): their
successful runs as the state store kept them, the success pings (`fresh ping`, `fresh run`,
POST /api/v1/ping/NAME) and the COMPLETE events (POST /api/v1/lineage) in (since, now].

The store is the one the check already opened (`ctx.store`); pings and events are kept for
`state.retention`, so a history longer than that is learned from what fresh observes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.core.models import HeartbeatSource, OpenLineageSource
from monitor.sources.base import Backfilled, Due, ReadContext, describe
from monitor.store import Store
from monitor.store.lineage import complete_times


def backfill(due: Sequence[Due], ctx: ReadContext) -> list[Backfilled]:
    """The successful runs of each due heartbeat / openlineage contract, up to `ctx.now`."""
    store = ctx.store
    if not isinstance(store, Store):
        return [(c, "the state store is not open") for c, _ in due]
    out: list[Backfilled] = []
    beats = [(c, since) for c, since in due if isinstance(c.source, HeartbeatSource)]
    # Contracts first seen together share a marker: one query for all of them.
    by_since: dict[datetime, list[str]] = {}
    for c, since in beats:
        by_since.setdefault(since, []).append(c.name)
    found: dict[str, list[float]] = {}
    failed: str | None = None
    for since, names in by_since.items():
        try:
            got = store.success_times(names, since, ctx.now)
        except Exception as exc:
            failed = describe(exc)
            continue
        for name in names:
            found[name] = [at.timestamp() for at in got.get(name, [])]
    for c, _ in beats:
        out.append((c, found.get(c.name, failed or "not read")))
    for c, since in due:
        src = c.source
        if not isinstance(src, OpenLineageSource):
            continue
        try:
            times = complete_times(store, src.namespace, src.job, src.dataset, since, ctx.now)
        except Exception as exc:
            out.append((c, describe(exc)))
            continue
        out.append((c, [at.timestamp() for at in times]))
    return out
