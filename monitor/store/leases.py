"""The lease tables of replicas on PostgreSQL (SPEC section 9): the SQL, behind functions.

`monitor.serve.rendezvous` decides which contracts this replica should hold (rendezvous
hashing) and `monitor.serve.leases` runs the rounds; every statement on `replicas` and
`leases` is here. Each function runs in the caller's transaction.

Session leases (ZooKeeper's ephemeral nodes, Chubby's sessions): a lease row lives as long as
its holder's ONE heartbeat row. A lease is live iff it is not released (`expires_at`, which a
take sets far ahead and a release sets to the past) and its holder's `heartbeat_at` is within
`lease_ttl` of the database's `now()`. Keeping 33,000 leases alive is then one UPDATE of one
row per round, where renewing each lease row took ~30 s per round at 100,000 contracts over
three replicas (every lease expired while it was being renewed).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# A taken lease is not released until its holder says so (or dies): "far ahead" rather than
# 'infinity', which the driver cannot load into a datetime.
_HELD_UNTIL = "now() + interval '100 years'"
_FRESH = "heartbeat_at > now() - make_interval(secs => :ttl)"

_HEARTBEAT = sa.text(
    "INSERT INTO replicas (id, heartbeat_at) VALUES (:me, now()) "
    "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()"
)
_LIVE = sa.text(f"SELECT id FROM replicas WHERE {_FRESH} ORDER BY id")
# Row locks: a save holds its leases FOR KEY SHARE (`_FENCE`) for the whole saving
# transaction. Only a takeover (`_TAKE`, FOR UPDATE) conflicts with that; reading what we
# hold and handing back (FOR NO KEY UPDATE, like any UPDATE that leaves the key alone) do
# not, so a replica's own slow save never holds up its round.
# How many unreleased leases name `me`: an index-only count, no row written. While it equals
# what the replica believes it holds, nobody took one (see `lease_round`).
_COUNT = sa.text("SELECT count(*) FROM leases WHERE holder = :me AND expires_at > now()")
# The unreleased leases naming `me`, locked in one order (two replicas reconciling and taking
# over at once never deadlock) and waited for: a takeover in flight either commits first (and
# the row no longer names us) or skips the row.
_HELD = sa.text(
    "SELECT contract, epoch FROM leases WHERE holder = :me AND expires_at > now() "
    "ORDER BY contract FOR NO KEY UPDATE"
)
# Hand back what belongs elsewhere now: released at once, row kept, so epochs only grow.
# A save still running under it keeps the row from being taken until it commits.
_RELEASE = sa.text(
    "UPDATE leases SET expires_at = now() - make_interval(secs => :ttl) "
    "WHERE holder = :me AND contract = ANY(:names) RETURNING contract"
)
_INSERT = sa.text(
    f"INSERT INTO leases (contract, holder, epoch, expires_at) SELECT name, :me, 1, {_HELD_UNTIL} "
    "FROM unnest(CAST(:names AS text[])) AS name ON CONFLICT (contract) DO NOTHING "
    "RETURNING contract, epoch"
)
# Take over leases that are released, whose holder's heartbeat is stale (or gone), or that
# are our own from a previous life (the epoch still moves, which fences a predecessor that had
# the same replica name). A stale holder's heartbeat row is locked FOR SHARE, skipped when its
# holder is writing a heartbeat right now: that holder is alive after all, and otherwise its
# heartbeat waits for this takeover to commit, so its round then sees the leases it lost.
# Lease rows another replica is using right now are skipped, never waited for.
_TAKE = sa.text(
    "WITH stale AS (SELECT id FROM replicas WHERE id <> :me "
    "AND heartbeat_at <= now() - make_interval(secs => :ttl) FOR SHARE SKIP LOCKED) "
    f"UPDATE leases SET holder = :me, epoch = epoch + 1, expires_at = {_HELD_UNTIL} "
    "WHERE contract IN (SELECT l.contract FROM leases l WHERE l.contract = ANY(:names) "
    "AND (l.expires_at <= now() OR l.holder = :me OR l.holder IN (SELECT id FROM stale) "
    "OR NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = l.holder)) "
    "ORDER BY l.contract FOR UPDATE SKIP LOCKED) "
    "RETURNING contract, epoch"
)
# FOR KEY SHARE OF the lease rows: enough to keep `_TAKE` (FOR UPDATE … SKIP LOCKED) off them
# until the save commits, without blocking this replica's own round (see above). The join
# is the liveness rule: a replica whose heartbeat lapsed saves nothing.
_FENCE = sa.text(
    "SELECT l.contract, l.epoch FROM leases l JOIN replicas r ON r.id = l.holder "
    "WHERE l.holder = :me AND l.contract = ANY(:names) AND l.expires_at > now() "
    f"AND r.{_FRESH} ORDER BY l.contract FOR KEY SHARE OF l"
)
_LEAVE_REPLICA = sa.text("DELETE FROM replicas WHERE id = :me")
_LEAVE_LEASES = sa.text(
    "UPDATE leases SET expires_at = now() - make_interval(secs => :ttl) "
    "WHERE holder = :me AND expires_at > now()"
)
_FORGET_DEAD = sa.text(
    "DELETE FROM replicas WHERE heartbeat_at < now() - make_interval(secs => :ttl * 20)"
)


def heartbeat(conn: Connection, me: str, ttl: float) -> tuple[str, ...]:
    """Record that `me` is alive (which keeps every lease it holds alive); return the live
    replicas (seen within `ttl`), sorted."""
    conn.execute(_HEARTBEAT, {"me": me})
    return tuple(conn.execute(_LIVE, {"ttl": ttl}).scalars())


def count_held(conn: Connection, me: str) -> int:
    """How many unreleased leases name `me` (one index-only count, nothing locked)."""
    return int(conn.execute(_COUNT, {"me": me}).scalar_one())


def held(conn: Connection, me: str) -> dict[str, int]:
    """The unreleased leases naming `me`, locked until the transaction ends; their epochs."""
    return {r.contract: int(r.epoch) for r in conn.execute(_HELD, {"me": me})}


def release(conn: Connection, me: str, names: Sequence[str], ttl: float) -> set[str]:
    """Release at once the leases of `names` that `me` holds; their names."""
    if not names:
        return set()
    return set(conn.execute(_RELEASE, {"me": me, "names": list(names), "ttl": ttl}).scalars())


def insert(conn: Connection, me: str, names: Sequence[str]) -> dict[str, int]:
    """Create leases for `names` nobody has leased yet; epochs of those created."""
    rows = conn.execute(_INSERT, {"me": me, "names": list(names)})
    return {r.contract: int(r.epoch) for r in rows}


def take(conn: Connection, me: str, names: Sequence[str], ttl: float) -> dict[str, int]:
    """Take over the dead leases among `names` (the epoch moves on); epochs taken."""
    rows = conn.execute(_TAKE, {"me": me, "names": list(names), "ttl": ttl})
    return {r.contract: int(r.epoch) for r in rows}


def fenced(conn: Connection, me: str, names: Sequence[str], ttl: float) -> dict[str, int]:
    """Of `names`, the live leases held by `me`, read FOR KEY SHARE; epochs by contract."""
    rows = conn.execute(_FENCE, {"me": me, "names": list(names), "ttl": ttl})
    return {r.contract: int(r.epoch) for r in rows}


def leave(conn: Connection, me: str, ttl: float) -> None:
    """`me` stops: its leases are released now, its replica row goes, long-dead replicas too
    (their leases, left without a heartbeat row, are dead and may be taken over)."""
    conn.execute(_LEAVE_LEASES, {"me": me, "ttl": ttl})
    conn.execute(_LEAVE_REPLICA, {"me": me})
    conn.execute(_FORGET_DEAD, {"ttl": ttl})
