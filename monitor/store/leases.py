"""The lease tables of replicas on PostgreSQL (SPEC section 9): the SQL, behind functions.

`monitor.serve.leases` decides which contracts this replica should hold (rendezvous hashing)
and runs the rounds; every statement on `replicas` and `leases` is here. Each function runs
in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_HEARTBEAT = sa.text(
    "INSERT INTO replicas (id, heartbeat_at) VALUES (:me, now()) "
    "ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()"
)
_LIVE = sa.text(
    "SELECT id FROM replicas WHERE heartbeat_at > now() - make_interval(secs => :ttl) ORDER BY id"
)
# Row locks: a save holds its leases FOR KEY SHARE (`_FENCE`) for the whole saving
# transaction. Only a takeover (`_TAKE`, FOR UPDATE) conflicts with that; renewing and
# handing back (FOR NO KEY UPDATE, like any UPDATE that leaves the key alone) do not, so a
# replica's own slow save never holds up its renewal (a long save under load used to make
# a healthy replica miss its local deadline and drop every lease).
# Renew what we hold and should keep; rows are locked in one order, so two replicas
# renewing and taking over at once never deadlock.
_RENEW = sa.text(
    "UPDATE leases SET expires_at = now() + make_interval(secs => :ttl) "
    "WHERE contract IN (SELECT contract FROM leases WHERE holder = :me "
    "AND contract = ANY(:names) ORDER BY contract FOR NO KEY UPDATE) "
    "RETURNING contract, epoch"
)
# Hand back what belongs elsewhere now: expired at once, row kept, so epochs only grow.
# A save still running under it keeps the row from being taken until it commits.
_RELEASE = sa.text(
    "UPDATE leases SET expires_at = now() - make_interval(secs => :ttl) "
    "WHERE contract IN (SELECT contract FROM leases WHERE holder = :me "
    "AND expires_at > now() AND NOT (contract = ANY(:keep)) ORDER BY contract "
    "FOR NO KEY UPDATE) RETURNING contract"
)
_INSERT = sa.text(
    "INSERT INTO leases (contract, holder, epoch, expires_at) "
    "SELECT name, :me, 1, now() + make_interval(secs => :ttl) FROM unnest(CAST(:names AS text[])) "
    "AS name ON CONFLICT (contract) DO NOTHING RETURNING contract, epoch"
)
# Take over expired leases (or our own from a previous life: the epoch still moves, which
# fences a predecessor that had the same replica name). Rows another replica is renewing
# right now are skipped, never waited for.
_TAKE = sa.text(
    "UPDATE leases SET holder = :me, epoch = epoch + 1, "
    "expires_at = now() + make_interval(secs => :ttl) "
    "WHERE contract IN (SELECT contract FROM leases WHERE contract = ANY(:names) "
    "AND (expires_at < now() OR holder = :me) ORDER BY contract FOR UPDATE SKIP LOCKED) "
    "RETURNING contract, epoch"
)
# FOR KEY SHARE: enough to keep `_TAKE` (FOR UPDATE … SKIP LOCKED) off the rows until the
# save commits, without blocking this replica's own renewal (see above).
_FENCE = sa.text(
    "SELECT contract, epoch FROM leases WHERE holder = :me AND contract = ANY(:names) "
    "AND expires_at > now() ORDER BY contract FOR KEY SHARE"
)
_LEAVE_REPLICA = sa.text("DELETE FROM replicas WHERE id = :me")
_LEAVE_LEASES = sa.text(
    "UPDATE leases SET expires_at = now() - make_interval(secs => :ttl) WHERE holder = :me"
)
_FORGET_DEAD = sa.text(
    "DELETE FROM replicas WHERE heartbeat_at < now() - make_interval(secs => :ttl * 20)"
)


def heartbeat(conn: Connection, me: str, ttl: float) -> tuple[str, ...]:
    """Record that `me` is alive; return the live replicas (seen within `ttl`), sorted."""
    conn.execute(_HEARTBEAT, {"me": me})
    return tuple(conn.execute(_LIVE, {"ttl": ttl}).scalars())


def renew(conn: Connection, me: str, names: Sequence[str], ttl: float) -> dict[str, int]:
    """Extend the leases `me` holds on `names`; their epochs by contract."""
    rows = conn.execute(_RENEW, {"me": me, "names": list(names), "ttl": ttl})
    return {r.contract: int(r.epoch) for r in rows}


def release(conn: Connection, me: str, keep: Sequence[str], ttl: float) -> set[str]:
    """Expire at once the leases `me` holds outside `keep`; their names."""
    return set(conn.execute(_RELEASE, {"me": me, "keep": list(keep), "ttl": ttl}).scalars())


def insert(conn: Connection, me: str, names: Sequence[str], ttl: float) -> dict[str, int]:
    """Create leases for `names` nobody has leased yet; epochs of those created."""
    rows = conn.execute(_INSERT, {"me": me, "names": list(names), "ttl": ttl})
    return {r.contract: int(r.epoch) for r in rows}


def take(conn: Connection, me: str, names: Sequence[str], ttl: float) -> dict[str, int]:
    """Take over the expired leases among `names` (the epoch moves on); epochs taken."""
    rows = conn.execute(_TAKE, {"me": me, "names": list(names), "ttl": ttl})
    return {r.contract: int(r.epoch) for r in rows}


def fenced(conn: Connection, me: str, names: Sequence[str]) -> dict[str, int]:
    """Of `names`, the live leases held by `me`, read FOR KEY SHARE; epochs by contract."""
    rows = conn.execute(_FENCE, {"me": me, "names": list(names)})
    return {r.contract: int(r.epoch) for r in rows}


def leave(conn: Connection, me: str, ttl: float) -> None:
    """`me` stops: its leases expire now, its replica row goes, long-dead replicas too."""
    conn.execute(_LEAVE_LEASES, {"me": me, "ttl": ttl})
    conn.execute(_LEAVE_REPLICA, {"me": me})
    conn.execute(_FORGET_DEAD, {"ttl": ttl})
