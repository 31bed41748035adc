"""The state store: contract state, history, pings, alert transitions and outbox, silences,
and the leases of replicas (SPEC sections 5, 7, 9). SQLite by default, PostgreSQL for
several replicas; both through SQLAlchemy Core.

    from monitor.store import Store
    with Store.open(settings.state.url, settings.base_dir) as store:
        changes = store.save_verdicts(verdicts, contracts, now)

Layout: `api` (the `Store` class: one method per question), `core` (opening, transactions,
dialect helpers), `schema` (tables as they are now), `migrations` (THE ordered list of schema
changes: a feature that needs a table or column appends one there), `records` (the frozen
values handed out), `states` (verdicts, history), `recent` (sparks, transitions), `outbox`
(alert transitions waiting for a flush, the outbox, open alerts), `pings` (heartbeats),
`leases` (replicas' leases on PostgreSQL), `alert_state` (alert states and transitions),
`silences`, `slack` (Slack app messages), `learned`, `lineage`.
"""

from monitor.store.api import Store
from monitor.store.records import (
    OUTPUT_LIMIT,
    PING_KINDS,
    HeartbeatState,
    HistoryEntry,
    Ping,
    PingKind,
    Silence,
    SlackMessage,
    StatusChange,
    StoredState,
)

__all__ = [
    "OUTPUT_LIMIT",
    "PING_KINDS",
    "HeartbeatState",
    "HistoryEntry",
    "Ping",
    "PingKind",
    "Silence",
    "SlackMessage",
    "StatusChange",
    "Store",
    "StoredState",
]
