"""The history learned expectations learn from (SPEC 13), in the state store.

`learned_history` keeps one row per contract: its update times as packed little-endian
float64 epoch seconds, sorted, at most one per 5-minute bucket (the first one seen in a
bucket stays). A check of 1,000 contracts then reads 1,000 rows, not millions.
`learn_coverage` says up to when a backfill from the source covers a contract, so a later
check reads only what came after it.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store.schema import learn_coverage, learned_history

if TYPE_CHECKING:
    from monitor.store.core import Database

BUCKET_SECONDS = 300  # at most one update per 5 minutes
_IN_CHUNK = 500  # names per IN (...) list


def bucket_of(at: float) -> int:
    """The 5-minute bucket of an update at epoch second `at`."""
    return int(at) // BUCKET_SECONDS


def _chunks(names: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(names), _IN_CHUNK):
        yield list(names[i : i + _IN_CHUNK])


def unpack(blob: bytes) -> array[float]:
    """Packed little-endian float64 → an array of epoch seconds."""
    times = array("d")
    times.frombytes(blob)
    if sys.byteorder == "big":
        times.byteswap()
    return times


def pack(times: Iterable[float]) -> bytes:
    """Epoch seconds → packed little-endian float64."""
    out = array("d", times)
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def _read(conn: Connection, names: Sequence[str]) -> dict[str, array[float]]:
    t = learned_history
    out: dict[str, array[float]] = {}
    for chunk in _chunks(list(names)):
        for name, blob in conn.execute(sa.select(t.c.name, t.c.times).where(t.c.name.in_(chunk))):
            out[name] = unpack(blob)
    return out


def updates(
    store: Database, names: Sequence[str], since: datetime, until: datetime
) -> dict[str, list[float]]:
    """Kept update times (epoch seconds) of each named contract in [since, until], oldest
    first."""
    lo, hi = since.timestamp(), until.timestamp()
    with store.read() as conn:
        found = _read(conn, names)
    out: dict[str, list[float]] = {}
    for name in names:
        times = found.get(name)
        if times is None:
            out[name] = []
        else:
            out[name] = times[bisect_left(times, lo) : bisect_right(times, hi)].tolist()
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


def _has_bucket(times: Sequence[float], at: float) -> bool:
    """Whether sorted `times` already keeps an update in the 5-minute bucket of `at`."""
    b = bucket_of(at)
    i = bisect_left(times, at)
    return (i > 0 and bucket_of(times[i - 1]) == b) or (
        i < len(times) and bucket_of(times[i]) == b
    )


def _merge(old: Sequence[float], new: Iterable[float]) -> tuple[Sequence[float], int]:
    """`old` (sorted) plus the updates of `new` whose 5-minute bucket it lacks (the first
    one in a bucket stays); (the merged, sorted times, how many were added). Updates of one
    bucket sit side by side in sorted order, so each new one is checked against its two
    neighbours only: an observed update costs O(log n), not a pass over the history. The
    usual case (each check re-observes an update already kept) copies nothing."""
    fresh = sorted(new)
    if all(_has_bucket(old, at) for at in fresh):
        return old, 0
    merged = list(old)
    added = 0
    for at in fresh:
        if _has_bucket(merged, at):
            continue
        merged.insert(bisect_left(merged, at), at)
        added += 1
    return merged, added


def add(
    store: Database,
    found: Mapping[str, Iterable[float]],
    covered: Mapping[str, datetime] | None = None,
) -> int:
    """Keep update times (epoch seconds; one per bucket) and move coverage markers forward;
    returns how many updates were new. One transaction; a contract's row is written only
    when something was added."""
    with store.write() as conn:
        have = _read(conn, [n for n, times in found.items() if times])
        return _add(conn, have, found, covered or {})


def add_and_read(
    store: Database,
    found: Mapping[str, Iterable[float]],
    covered: Mapping[str, datetime],
    since: Mapping[str, datetime],
    until: datetime,
) -> dict[str, array[float]]:
    """`add`, then the kept update times of each contract named in `since`, in
    [since[name], until], oldest first, from the same read of the rows: what a check needs
    before judging its `learn` contracts, with each history read once (not once to merge
    and again to judge)."""
    hi = until.timestamp()
    with store.write() as conn:
        have = _read(conn, list(set(since) | {n for n, times in found.items() if times}))
        _add(conn, have, found, covered)
    out: dict[str, array[float]] = {}
    for name, low in since.items():
        times = have.get(name)
        if times is None:
            out[name] = array("d")
        else:
            out[name] = times[bisect_left(times, low.timestamp()) : bisect_right(times, hi)]
    return out


def _add(
    conn: Connection,
    have: dict[str, array[float]],
    found: Mapping[str, Iterable[float]],
    covered: Mapping[str, datetime],
) -> int:
    """Merge `found` into the rows read in `have` (updated in place to the merged times),
    write the rows that changed and the coverage markers; how many updates were new."""
    t, c = learned_history, learn_coverage
    total = 0
    for name, times in found.items():
        old = have.get(name)
        merged, added = _merge(old if old is not None else (), times)
        if not added:
            continue
        total += added
        have[name] = array("d", merged)
        if old is None:
            conn.execute(t.insert().values(name=name, times=pack(merged)))
        else:
            conn.execute(t.update().where(t.c.name == name).values(times=pack(merged)))
    for name, until in covered.items():
        done = conn.execute(
            c.update()
            .where(c.c.name == name, c.c.covered_until < until)
            .values(covered_until=until)
        )
        if done.rowcount == 0:
            exists = conn.execute(sa.select(c.c.name).where(c.c.name == name)).first()
            if exists is None:
                conn.execute(c.insert().values(name=name, covered_until=until))
    return total


def prune(store: Database, keep_after: Mapping[str, datetime]) -> int:
    """Drop each named contract's updates before its cutoff (max(window, retention) back);
    returns how many went."""
    t = learned_history
    gone = 0
    with store.write() as conn:
        have = _read(conn, list(keep_after))
        for name, cutoff in keep_after.items():
            times = have.get(name)
            if times is None:
                continue
            cut = bisect_left(times, cutoff.timestamp())
            if cut:
                gone += cut
                conn.execute(t.update().where(t.c.name == name).values(times=pack(times[cut:])))
    return gone
