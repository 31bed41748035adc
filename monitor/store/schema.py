"""The state store's tables as they are NOW (what queries use).

Changing a table here is half of a change: append a migration to
`monitor/store/migrations.py` that brings existing stores to this shape. Migrations never
use these objects (they must keep working when these change); they carry their own copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every dialect.

    PostgreSQL stores `timestamptz`; SQLite stores naive UTC text, which sorts and compares
    correctly as long as every value goes through here.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the state store (use UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

# One row per contract: its last verdict. `seq` counts status changes (CAS guard).
contract_state = sa.Table(
    "contract_state",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_update", UTCDateTime),
    sa.Column("warn_at", UTCDateTime),
    sa.Column("error_at", UTCDateTime),
    sa.Column("checked_at", UTCDateTime, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("detail", sa.Text),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("duration", sa.Float, nullable=False, server_default="0"),
    sa.Column("next_check_at", UTCDateTime),
    sa.Column("status_since", UTCDateTime, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("history_at", UTCDateTime),  # checked_at of the newest history row
    # `learn` contracts (SPEC 13, migration 5): the limits in force at checked_at, seconds
    sa.Column("learned_warn", sa.Float),
    sa.Column("learned_error", sa.Float),
)

history = sa.Table(
    "history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("checked_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_update", UTCDateTime),
    sa.Column("error", sa.Text),
    sa.Column("detail", sa.Text),
    sa.Index("ix_history_name_checked_at", "name", "checked_at"),
    sa.Index("ix_history_checked_at", "checked_at"),
)

pings = sa.Table(
    "pings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # success | start | fail | log
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("exit_code", sa.Integer),
    sa.Column("duration", sa.Float),
    sa.Column("output", sa.Text),  # tail, at most 10 kB
    sa.Column("run_id", sa.String(64)),
    sa.Index("ix_pings_name_kind_at", "name", "kind", "at"),
    sa.Index("ix_pings_at", "at"),
)

# Alert transitions (the alerts feature fills these): one row per fired/repeated/resolved.
transitions = sa.Table(
    "transitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("contract", sa.String(255), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("from_status", sa.String(16)),
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # fired|changed|repeated|resolved|closed
    sa.Column("silenced", sa.Boolean, nullable=False, server_default=sa.false()),
    # migration 2 (alerts): the alert this belongs to, what the message says, and what a
    # flush decided (NULL while it waits for its group: sent, silenced, superseded, …)
    sa.Column("episode", sa.Integer, nullable=False, server_default="0"),
    sa.Column("owner", sa.String(255), nullable=False, server_default=""),
    sa.Column("facts", sa.JSON),
    sa.Column("outcome", sa.String(16)),
    sa.Column("decided_at", UTCDateTime),
    # migration 8: the decision for its Alertmanager destinations, taken at once (they do
    # not wait for group_wait; `outcome` is then the other destinations', after it)
    sa.Column("am_outcome", sa.String(16)),
    sa.UniqueConstraint("contract", "seq", name="uq_transitions_contract_seq"),
    sa.Index("ix_transitions_outcome_owner", "outcome", "owner"),
)

# Alert lifecycle state per contract (migration 2); every write is a compare-and-set on
# `version`, so a restart or a second worker never records a transition twice.
alert_state = sa.Table(
    "alert_state",
    metadata,
    sa.Column("contract", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(16)),  # the status the alerts last saw
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("episode", sa.Integer, nullable=False, server_default="0"),
    sa.Column("open", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("next_repeat_at", UTCDateTime),
    sa.Column("muted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
)

# The persistent alert outbox: claimed with an expiry, marked sent only after sending.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("transition_ids", sa.JSON, nullable=False),  # transitions.id grouped here
    sa.Column("group_key", sa.String(255), nullable=False),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("url_id", sa.String(64), nullable=False),  # hash of the URL, never the URL
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_until", UTCDateTime),
    sa.Column("claimed_by", sa.String(255)),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("failed_permanently", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_outbox_due", "sent_at", "next_attempt_at"),
)

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("matchers", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False, server_default=""),
)

# Scale-out (SPEC 9): which replica checks a contract; `epoch` is a fencing token.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("contract", sa.String(255), primary_key=True),
    sa.Column("holder", sa.String(255), nullable=False),
    sa.Column("epoch", sa.Integer, nullable=False, server_default="0"),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index("ix_leases_holder", "holder", "expires_at"),  # migration 3
)

replicas = sa.Table(
    "replicas",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
)

# OpenLineage RunEvents of watched jobs and datasets (SPEC 12; migration 4).
lineage_events = sa.Table(
    "lineage_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_namespace", sa.String(1024), nullable=False),
    sa.Column("job_name", sa.String(1024), nullable=False),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("event_type", sa.String(16), nullable=False),
    sa.Column("event_time", UTCDateTime, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Index("ix_lineage_events_job", "job_namespace", "job_name", "event_time"),
    sa.Index("ix_lineage_events_time", "event_time"),
)

lineage_outputs = sa.Table(
    "lineage_outputs",
    metadata,
    sa.Column("event_id", sa.Integer, nullable=False),
    sa.Column("namespace", sa.String(1024), nullable=False),
    sa.Column("name", sa.String(1024), nullable=False),
    sa.Index("ix_lineage_outputs_dataset", "namespace", "name", "event_id"),
    sa.Index("ix_lineage_outputs_event", "event_id"),
)

# Slack app messages (migration 5): one row per message fresh posted with `slackbot://`,
# so a restart or another replica edits and threads under the same message.
slack_messages = sa.Table(
    "slack_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("url_id", sa.String(64), nullable=False),  # hash of the URL, never the URL
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64)),  # the channel ID Slack answered (None: not posted)
    sa.Column("ts", sa.String(32)),  # the message's ts (None: not posted yet)
    sa.Column("contracts", sa.JSON, nullable=False),  # contract → its newest facts and since
    sa.Column("post_failed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Which Slack message holds each alert (contract, episode) per URL (migration 5).
slack_alerts = sa.Table(
    "slack_alerts",
    metadata,
    sa.Column("url_id", sa.String(64), primary_key=True),
    sa.Column("contract", sa.String(255), primary_key=True),
    sa.Column("episode", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.Integer, nullable=False),
)

# Learned expectations (SPEC 13; migrations 6, 7): update times per contract, and up to
# when a backfill from the source covers each contract.
# One row per contract (migration 7): its update times as packed little-endian float64
# epoch seconds, sorted, at most one per 5-minute bucket. A check of 1,000 contracts reads
# 1,000 rows instead of ~2 million (migration 6 kept one row per update).
learned_history = sa.Table(
    "learned_history",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("times", sa.LargeBinary, nullable=False),
)

learn_coverage = sa.Table(
    "learn_coverage",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("covered_until", UTCDateTime, nullable=False),
)
