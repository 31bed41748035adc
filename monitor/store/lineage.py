"""OpenLineage RunEvents in the state store (SPEC 12): written by `POST /api/v1/lineage`,
read by `openlineage:` contracts in `fresh serve` and `fresh check` alike.

Only events of watched jobs (or of runs writing a watched dataset) are stored. What a
contract needs is `LineageState`: the newest COMPLETE, the FAIL/ABORT runs after it, and the
oldest run STARTed after it that has not ended (a hung run). Pruning keeps, per job, the
newest COMPLETE and everything after it, whatever `state.retention` says, so a weekly
job's last good run is never forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.core.lineage import ENDS, RunEvent
from monitor.store.schema import lineage_events, lineage_outputs

if TYPE_CHECKING:
    from monitor.store.core import Database


@dataclass(frozen=True)
class LineageState:
    """What the stored events of one job (or dataset) say, as of some time."""

    last_complete: datetime | None = None
    failed_since: int = 0  # FAIL / ABORT runs after the newest COMPLETE
    running_since: datetime | None = None  # the oldest run started since, never ended
    events: int = 0  # events seen at all


def record(store: Database, events: Sequence[RunEvent], received_at: datetime) -> int:
    """Store `events` (all or nothing: one transaction); returns how many."""
    with store.write() as conn:
        for ev in events:
            result = conn.execute(
                lineage_events.insert().values(
                    job_namespace=ev.job_namespace,
                    job_name=ev.job_name,
                    run_id=ev.run_id,
                    event_type=ev.event_type,
                    event_time=ev.event_time,
                    received_at=received_at,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            if ev.outputs:
                conn.execute(
                    lineage_outputs.insert(),
                    [{"event_id": key[0], "namespace": ns, "name": n} for ns, n in ev.outputs],
                )
    return len(events)


def job_state(
    store: Database, namespace: str, job: str, as_of: datetime | None = None
) -> LineageState:
    """The state of job `namespace`/`job` from its stored events (none after `as_of`)."""
    where = [lineage_events.c.job_namespace == namespace, lineage_events.c.job_name == job]
    with store.read() as conn:
        return _state(conn, where, as_of)


def dataset_state(
    store: Database, namespace: str, dataset: str, as_of: datetime | None = None
) -> LineageState:
    """The state of the runs whose outputs include dataset `namespace`/`dataset`."""
    runs = (
        sa.select(lineage_events.c.run_id)
        .join(lineage_outputs, lineage_outputs.c.event_id == lineage_events.c.id)
        .where(lineage_outputs.c.namespace == namespace, lineage_outputs.c.name == dataset)
    )
    with store.read() as conn:
        return _state(conn, [lineage_events.c.run_id.in_(runs)], as_of)


def complete_times(
    store: Database,
    namespace: str,
    job: str | None,
    dataset: str | None,
    since: datetime,
    until: datetime,
) -> list[datetime]:
    """The times of the COMPLETE events of a job (or of the runs writing a dataset) in
    (since, until], oldest first: the backfill of a learned history (SPEC 13)."""
    e = lineage_events
    if job is not None:
        where = [e.c.job_namespace == namespace, e.c.job_name == job]
    else:
        runs = (
            sa.select(e.c.run_id)
            .join(lineage_outputs, lineage_outputs.c.event_id == e.c.id)
            .where(lineage_outputs.c.namespace == namespace, lineage_outputs.c.name == dataset)
        )
        where = [e.c.run_id.in_(runs)]
    query = (
        sa.select(e.c.event_time)
        .where(*where, e.c.event_type == "COMPLETE", e.c.event_time > since)
        .where(e.c.event_time <= until)
        .distinct()
        .order_by(e.c.event_time)
    )
    with store.read() as conn:
        return [row[0] for row in conn.execute(query)]


def _state(
    conn: Connection, where: list[sa.ColumnElement[bool]], as_of: datetime | None
) -> LineageState:
    if as_of is not None:
        where = [*where, lineage_events.c.event_time <= as_of]
    newest = conn.execute(
        sa.select(sa.func.max(lineage_events.c.event_time)).where(
            *where, lineage_events.c.event_type == "COMPLETE"
        )
    ).scalar()
    total = conn.execute(sa.select(sa.func.count()).where(*where)).scalar() or 0
    after = [*where] if newest is None else [*where, lineage_events.c.event_time > newest]
    rows = conn.execute(
        sa.select(lineage_events.c.run_id, lineage_events.c.event_type, lineage_events.c.event_time)
        .where(*after)
        .order_by(lineage_events.c.event_time)
    ).all()
    return _fold(newest, [(str(r[0]), str(r[1]), r[2]) for r in rows], int(total))


def _fold(
    newest: datetime | None, rows: Iterable[tuple[str, str, datetime]], total: int
) -> LineageState:
    """Failed runs and the oldest unfinished start among the events after `newest`."""
    started: dict[str, datetime] = {}
    ended: set[str] = set()
    failed: set[str] = set()
    for run_id, event_type, at in rows:
        if event_type == "START":
            started.setdefault(run_id, at)
        elif event_type in ENDS:
            ended.add(run_id)
            if event_type in ("FAIL", "ABORT"):
                failed.add(run_id)
    hung = [at for run, at in started.items() if run not in ended]
    return LineageState(newest, len(failed), min(hung, default=None), total)


def prune(conn: Connection, older_than: datetime) -> int:
    """Delete events older than `older_than`, except each job's newest COMPLETE and all
    after it; their outputs go with them. Returns the rows deleted."""
    e = lineage_events.alias("e")
    keep_from = (
        sa.select(sa.func.max(e.c.event_time))
        .where(
            e.c.job_namespace == lineage_events.c.job_namespace,
            e.c.job_name == lineage_events.c.job_name,
            e.c.event_type == "COMPLETE",
        )
        .scalar_subquery()
    )
    doomed = sa.select(lineage_events.c.id).where(
        lineage_events.c.event_time < older_than,
        sa.or_(keep_from.is_(None), lineage_events.c.event_time < keep_from),
    )
    ids = [row[0] for row in conn.execute(doomed)]
    gone = 0
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        conn.execute(lineage_outputs.delete().where(lineage_outputs.c.event_id.in_(part)))
        gone += conn.execute(lineage_events.delete().where(lineage_events.c.id.in_(part))).rowcount
    return gone
