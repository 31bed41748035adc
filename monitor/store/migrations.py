"""Versioned migrations of the state store: ONE ordered list, applied in order, once.

To change the schema, append a function at the END of this file:

    @migration(2, "alerts: add outbox.channel")
    def _add_outbox_channel(conn: Connection) -> None:
        conn.execute(sa.text("ALTER TABLE outbox ADD COLUMN channel VARCHAR(64)"))

and make the same change to `schema.py` (what queries use). Never edit a migration that has
been released: stores in the field have already run it. A migration must not import the
tables of `schema.py` either (they describe the newest shape, not the shape at its version),
so each one carries its own table definitions. All pending migrations run in one
transaction, under an advisory lock on PostgreSQL, so replicas starting together migrate
once and a failed migration leaves the store as it was.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.core.errors import StoreError
from monitor.store.schema import UTCDateTime, schema_version


@dataclass(frozen=True)
class Migration:
    """One step of the schema: version N brings a store from N-1 to N."""

    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS: list[Migration] = []

# pg_advisory_xact_lock key for "migrating the fresh state store" (any fixed bigint).
_PG_MIGRATION_LOCK = 0x6672657368  # "fresh"


def migration(version: int, description: str) -> Callable[[Callable[[Connection], None]], None]:
    """Register the decorated function as migration `version` (must be the next number)."""

    def register(fn: Callable[[Connection], None]) -> None:
        expected = len(MIGRATIONS) + 1
        if version != expected:
            raise RuntimeError(f"migration {version} registered where {expected} was expected")
        MIGRATIONS.append(Migration(version, description, fn))

    return register


def latest_version() -> int:
    """The schema version this code writes."""
    return len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    """The version a store is at (0 when it is empty)."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)


def upgrade(conn: Connection, where: str) -> list[int]:
    """Apply every pending migration inside the caller's (write) transaction.

    Returns the versions applied. `where` names the store in errors (password masked).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    schema_version.create(conn, checkfirst=True)
    current = current_version(conn)
    if current > latest_version():
        raise StoreError(
            f"state store {where} is at schema version {current}, newer than this fresh "
            f"understands ({latest_version()}): upgrade fresh"
        )
    applied = []
    for step in MIGRATIONS[current:]:
        step.apply(conn)
        conn.execute(
            schema_version.insert().values(
                version=step.version, description=step.description, applied_at=datetime.now(UTC)
            )
        )
        applied.append(step.version)
    return applied


# --- The migrations, oldest first. Append new ones at the end. ---------------------------


@migration(1, "initial schema: state, history, pings, transitions, outbox, silences, leases")
def _initial_schema(conn: Connection) -> None:
    md = sa.MetaData()
    ts = UTCDateTime
    sa.Table(
        "contract_state",
        md,
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_update", ts),
        sa.Column("warn_at", ts),
        sa.Column("error_at", ts),
        sa.Column("checked_at", ts, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("duration", sa.Float, nullable=False, server_default="0"),
        sa.Column("next_check_at", ts),
        sa.Column("status_since", ts, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("history_at", ts),
    )
    sa.Table(
        "history",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("checked_at", ts, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_update", ts),
        sa.Column("error", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Index("ix_history_name_checked_at", "name", "checked_at"),
        sa.Index("ix_history_checked_at", "checked_at"),
    )
    sa.Table(
        "pings",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", ts, nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.Column("duration", sa.Float),
        sa.Column("output", sa.Text),
        sa.Column("run_id", sa.String(64)),
        sa.Index("ix_pings_name_kind_at", "name", "kind", "at"),
        sa.Index("ix_pings_at", "at"),
    )
    sa.Table(
        "transitions",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("contract", sa.String(255), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("at", ts, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("silenced", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("contract", "seq", name="uq_transitions_contract_seq"),
    )
    sa.Table(
        "outbox",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("transition_ids", sa.JSON, nullable=False),
        sa.Column("group_key", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("url_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("next_attempt_at", ts, nullable=False),
        sa.Column("claimed_until", ts),
        sa.Column("claimed_by", sa.String(255)),
        sa.Column("sent_at", ts),
        sa.Column("failed_permanently", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_error", sa.Text),
        sa.Index("ix_outbox_due", "sent_at", "next_attempt_at"),
    )
    sa.Table(
        "silences",
        md,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("matchers", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("starts_at", ts, nullable=False),
        sa.Column("ends_at", ts, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False, server_default=""),
    )
    sa.Table(
        "leases",
        md,
        sa.Column("contract", sa.String(255), primary_key=True),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False, server_default="0"),
        sa.Column("expires_at", ts, nullable=False),
    )
    sa.Table(
        "replicas",
        md,
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("heartbeat_at", ts, nullable=False),
    )
    md.create_all(conn)


@migration(2, "alerts: alert_state table; transitions episode, owner, facts, outcome")
def _alerts_lifecycle(conn: Connection) -> None:
    md = sa.MetaData()
    ts = UTCDateTime
    sa.Table(
        "alert_state",
        md,
        sa.Column("contract", sa.String(255), primary_key=True),
        sa.Column("status", sa.String(16)),
        sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("episode", sa.Integer, nullable=False, server_default="0"),
        sa.Column("open", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("next_repeat_at", ts),
        sa.Column("muted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    )
    md.create_all(conn)
    # what sa.DateTime(timezone=True) and sa.JSON create on each dialect
    ts_type = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    json_type = "JSON"
    for column in (
        "episode INTEGER NOT NULL DEFAULT 0",
        "owner VARCHAR(255) NOT NULL DEFAULT ''",
        f"facts {json_type}",
        "outcome VARCHAR(16)",
        f"decided_at {ts_type}",
    ):
        conn.execute(sa.text(f"ALTER TABLE transitions ADD COLUMN {column}"))
    conn.execute(
        sa.text("CREATE INDEX ix_transitions_outcome_owner ON transitions (outcome, owner)")
    )


@migration(3, "replicas: index leases by holder (each lease round renews its own)")
def _leases_by_holder(conn: Connection) -> None:
    conn.execute(sa.text("CREATE INDEX ix_leases_holder ON leases (holder, expires_at)"))


@migration(4, "openlineage: lineage_events and lineage_outputs (watched RunEvents)")
def _lineage(conn: Connection) -> None:
    md = sa.MetaData()
    ts = UTCDateTime
    sa.Table(
        "lineage_events",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_namespace", sa.String(1024), nullable=False),
        sa.Column("job_name", sa.String(1024), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(16), nullable=False),
        sa.Column("event_time", ts, nullable=False),
        sa.Column("received_at", ts, nullable=False),
        sa.Index("ix_lineage_events_job", "job_namespace", "job_name", "event_time"),
        sa.Index("ix_lineage_events_time", "event_time"),
    )
    sa.Table(
        "lineage_outputs",
        md,
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("namespace", sa.String(1024), nullable=False),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Index("ix_lineage_outputs_dataset", "namespace", "name", "event_id"),
        sa.Index("ix_lineage_outputs_event", "event_id"),
    )
    md.create_all(conn)


@migration(5, "slack app: slack_messages (channel, ts, contracts) and slack_alerts")
def _slack_messages(conn: Connection) -> None:
    md = sa.MetaData()
    ts = UTCDateTime
    sa.Table(
        "slack_messages",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(64)),
        sa.Column("ts", sa.String(32)),
        sa.Column("contracts", sa.JSON, nullable=False),
        sa.Column("post_failed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", ts, nullable=False),
    )
    sa.Table(
        "slack_alerts",
        md,
        sa.Column("url_id", sa.String(64), primary_key=True),
        sa.Column("contract", sa.String(255), primary_key=True),
        sa.Column("episode", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, nullable=False),
    )
    md.create_all(conn)


@migration(6, "learn: learned_updates, learn_coverage; contract_state learned limits")
def _learned(conn: Connection) -> None:
    md = sa.MetaData()
    ts = UTCDateTime
    sa.Table(
        "learned_updates",
        md,
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("bucket", sa.BigInteger, primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
    )
    sa.Table(
        "learn_coverage",
        md,
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("covered_until", ts, nullable=False),
    )
    md.create_all(conn)
    for column in ("learned_warn FLOAT", "learned_error FLOAT"):
        conn.execute(sa.text(f"ALTER TABLE contract_state ADD COLUMN {column}"))


@migration(7, "learn: learned_history, one packed row per contract, from learned_updates")
def _learned_packed(conn: Connection) -> None:
    from array import array

    md = sa.MetaData()
    packed = sa.Table(
        "learned_history",
        md,
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("times", sa.LargeBinary, nullable=False),
    )
    md.create_all(conn)
    by_name: dict[str, array[float]] = {}
    for name, at in conn.execute(sa.text("SELECT name, at FROM learned_updates ORDER BY name, at")):
        by_name.setdefault(name, array("d")).append(float(at))
    for name, times in by_name.items():
        if sys.byteorder == "big":
            times.byteswap()
        conn.execute(packed.insert().values(name=name, times=times.tobytes()))
    conn.execute(sa.text("DROP TABLE learned_updates"))


@migration(8, "alerts: transitions.am_outcome (Alertmanager destinations decided at once)")
def _am_outcome(conn: Connection) -> None:
    # what a flush decided for the transition's Alertmanager destinations, which do not wait
    # for group_wait (SPEC 15); until now one decision covered every destination, so a
    # decided transition's Alertmanager part was decided alike
    conn.execute(sa.text("ALTER TABLE transitions ADD COLUMN am_outcome VARCHAR(16)"))
    conn.execute(sa.text("UPDATE transitions SET am_outcome = outcome WHERE outcome IS NOT NULL"))
