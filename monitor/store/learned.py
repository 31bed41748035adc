"""The history learned expectations learn from (SPEC 13), in the state store.

`learned_updates` keeps update times per contract as epoch seconds, at most one per
5-minute bucket (the first one seen in a bucket stays); `learn_coverage` says up to when a
backfill from the source covers a contract, so a later check reads only what came after it.
A check reads ~100,000s of these rows: plain SQL text and floats, no per-row type work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from monitor.store.schema import learn_coverage

if TYPE_CHECKING:
    from monitor.store.core import Database

BUCKET_SECONDS = 300  # at most one update per 5 minutes
_IN_CHUNK = 500  # names per IN (...) list

_SELECT = sa.text(
    "SELECT name, at FROM learned_updates WHERE name IN :names "
    "AND bucket >= :lo AND at <= :hi ORDER BY name, at"
).bindparams(sa.bindparam("names", expanding=True))
_BUCKETS = sa.text(
    "SELECT bucket FROM learned_updates WHERE name = :name AND bucket >= :lo AND bucket <= :hi"
)
_INSERT = sa.text("INSERT INTO learned_updates (name, bucket, at) VALUES (:name, :bucket, :at)")


def bucket_of(at: float) -> int:
    """The 5-minute bucket of an update at epoch second `at`."""
    return int(at) // BUCKET_SECONDS


def _chunks(names: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(names), _IN_CHUNK):
        yield list(names[i : i + _IN_CHUNK])


def updates(
    store: Database, names: Sequence[str], since: datetime, until: datetime
) -> dict[str, list[float]]:
    """Kept update times (epoch seconds) of each named contract in [since, until], oldest
    first."""
    out: dict[str, list[float]] = {n: [] for n in names}
    lo, hi = since.timestamp(), until.timestamp()
    with store.read() as conn:
        for chunk in _chunks(names):
            rows = conn.execute(_SELECT, {"names": chunk, "lo": bucket_of(lo), "hi": hi})
            for name, at in rows:
                if at >= lo:
                    out[name].append(at)
    return out


def coverage(store: Database, names: Sequence[str]) -> dict[str, datetime]:
    """Up to when a backfill covers each named contract (absent: never backfilled)."""
    out: dict[str, datetime] = {}
    t = learn_coverage
    with store.read() as conn:
        for chunk in _chunks(names):
            for name, until in conn.execute(
                sa.select(t.c.name, t.c.covered_until).where(t.c.name.in_(chunk))
            ):
                out[name] = until
    return out


def add(
    store: Database,
    found: Mapping[str, Iterable[float]],
    covered: Mapping[str, datetime] | None = None,
) -> int:
    """Keep update times (epoch seconds; one per bucket, the first kept) and move coverage
    markers forward; returns how many updates were new. One transaction."""
    c = learn_coverage
    rows: list[dict[str, Any]] = []
    with store.write() as conn:
        for name, times in found.items():
            by_bucket: dict[int, float] = {}
            for at in sorted(times):
                by_bucket.setdefault(bucket_of(at), at)
            if not by_bucket:
                continue
            have = set(
                conn.execute(
                    _BUCKETS, {"name": name, "lo": min(by_bucket), "hi": max(by_bucket)}
                ).scalars()
            )
            rows += [
                {"name": name, "bucket": b, "at": at}
                for b, at in by_bucket.items()
                if b not in have
            ]
        if rows:
            conn.execute(_INSERT, rows)
        for name, until in (covered or {}).items():
            done = conn.execute(
                c.update()
                .where(c.c.name == name, c.c.covered_until < until)
                .values(covered_until=until)
            )
            if done.rowcount == 0:
                exists = conn.execute(sa.select(c.c.name).where(c.c.name == name)).first()
                if exists is None:
                    conn.execute(c.insert().values(name=name, covered_until=until))
    return len(rows)


def prune(store: Database, keep_after: Mapping[str, datetime]) -> int:
    """Drop each named contract's updates before its cutoff (max(window, retention) back);
    returns how many went."""
    gone = 0
    with store.write() as conn:
        for name, cutoff in keep_after.items():
            result = conn.execute(
                sa.text("DELETE FROM learned_updates WHERE name = :name AND bucket < :b"),
                {"name": name, "b": bucket_of(cutoff.timestamp())},
            )
            gone += result.rowcount or 0
    return gone
