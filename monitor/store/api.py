"""The state store's API: what fresh reads and writes, in domain words.

`Store` adds to the connection (`monitor.store.core.Database`) one method per question the
rest of fresh asks; the SQL lives in `states` (verdicts, history), `recent` (sparks,
transitions), `pings` (heartbeats), `learned`, `outbox` (alert transitions waiting for a
flush, the outbox, open alerts), `silences` and `slack` (Slack app messages). Work that
must share the caller's transaction (alert states and transitions, leases, the outbox's
Slack rows) calls the functions of `alert_state`, `leases` and `slack` with the
connection of `store.write()` (or a flush's `FlushTx.conn`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from monitor.core.models import Contract, Verdict
from monitor.store import learned, outbox, pings, recent, silences, slack, states
from monitor.store.core import Database
from monitor.store.outbox import FlushTx, OpenEpisode, OutboxRow, PendingTransition
from monitor.store.records import (
    HeartbeatState,
    HistoryEntry,
    Ping,
    PingKind,
    Silence,
    SlackMessage,
    StatusChange,
    StoredState,
)
from monitor.store.states import Fence


class Store(Database):
    """The state store. Open with `Store.open(...)`; close with `close()` or `with`."""

    # --- contract state and history (monitor/store/states.py) -------------------------------

    def save_verdicts(
        self,
        verdicts: Sequence[Verdict],
        contracts: Mapping[str, Contract],
        now: datetime,
        *,
        fence: Fence | None = None,
    ) -> list[StatusChange]:
        """Save verdicts in one transaction; return each status change, recorded once.

        `fence` (replicas, monitor/serve/leases.py) picks, inside the transaction, the contracts
        this process may still write; the others' verdicts are dropped."""
        return states.save_verdicts(self, verdicts, contracts, now, fence)

    def states(self) -> dict[str, StoredState]:
        """Every contract's saved state, by name."""
        return states.all_states(self)

    def states_of(self, names: Sequence[str]) -> dict[str, StoredState]:
        """The saved states of `names` only, by name (a replica's share, for /metrics)."""
        return states.some_states(self, names)

    def verdicts(self) -> dict[str, Verdict]:
        """Every contract's last saved verdict, by name (`states()` less the rest)."""
        return states.all_verdicts(self)

    def verdicts_of(self, names: Sequence[str]) -> dict[str, Verdict]:
        """The last saved verdicts of `names` only, by name."""
        return states.some_verdicts(self, names)

    def state(self, name: str) -> StoredState | None:
        """One contract's saved state, or None."""
        return states.one_state(self, name)

    def history(self, name: str, limit: int = 50) -> list[HistoryEntry]:
        """Kept readings of one contract, newest first."""
        return states.read_history(self, name, limit)

    def prune(self, older_than: datetime) -> int:
        """Delete history and pings older than `older_than` (the newest ping of each kind
        per contract is kept); returns how many rows went."""
        return states.prune(self, older_than)

    def forget(self, names_not_in: Sequence[str] | set[str]) -> list[str]:
        """Drop the state of contracts not in `names_not_in`; returns their names."""
        return states.forget(self, set(names_not_in))

    def recent_statuses(self, since: datetime, per_contract: int = 24) -> dict[str, list[str]]:
        """Recent kept statuses of every contract since `since`, oldest first (sparks)."""
        return recent.recent_statuses(self, since, per_contract)

    def recent_transitions(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        """Alert transitions of one contract, newest first."""
        return recent.recent_transitions(self, name, limit)

    # --- heartbeats (monitor/store/pings.py) ---------------------------------------------

    def record_ping(
        self,
        name: str,
        kind: PingKind,
        at: datetime,
        *,
        exit_code: int | None = None,
        duration: float | None = None,
        output: str | None = None,
        run_id: str | None = None,
    ) -> Ping:
        """Store one ping (no validation: see monitor/sources/heartbeat/pings.py)."""
        return pings.record_ping(self, name, kind, at, exit_code, duration, output, run_id)

    def heartbeat_states(
        self, names: Sequence[str], as_of: datetime | None = None
    ) -> dict[str, HeartbeatState]:
        """What the pings of each named contract say (every name gets an entry); with
        `as_of`, as they stood then."""
        return pings.heartbeat_states(self, names, as_of)

    def success_times(
        self, names: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, list[datetime]]:
        """Times of each named contract's success pings in (since, until], oldest first."""
        return pings.success_times(self, names, since, until)

    def pings(self, name: str, limit: int = 50) -> list[Ping]:
        """Recent pings of one contract, newest first."""
        return pings.recent_pings(self, name, limit)

    # --- learned expectations (monitor/store/learned.py) ---------------------------------

    def learned_updates(
        self, names: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, list[float]]:
        """Kept update times (epoch seconds) of each named contract in [since, until],
        oldest first."""
        return learned.updates(self, names, since, until)

    def learn_coverage(self, names: Sequence[str]) -> dict[str, datetime]:
        """Up to when a backfill from the source covers each named contract."""
        return learned.coverage(self, names)

    def add_learned(
        self,
        found: Mapping[str, Sequence[float]],
        covered: Mapping[str, datetime] | None = None,
    ) -> int:
        """Keep update times (epoch seconds, at most one per 5 minutes) and move coverage
        markers forward."""
        return learned.add(self, found, covered)

    def add_and_read_learned(
        self,
        found: Mapping[str, Sequence[float]],
        covered: Mapping[str, datetime],
        since: Mapping[str, datetime],
        until: datetime,
    ) -> dict[str, Sequence[float]]:
        """`add_learned`, then each contract's kept update times in [since[name], until],
        oldest first, read once for both."""
        return dict(learned.add_and_read(self, found, covered, since, until))

    def prune_learned(self, keep_after: Mapping[str, datetime]) -> int:
        """Drop each named contract's updates before its cutoff."""
        return learned.prune(self, keep_after)

    # --- alert transitions and the outbox (monitor/store/outbox.py) -------------------------

    def pending_transitions(self) -> list[PendingTransition]:
        """Every alert transition waiting for a flush (a snapshot, no locks)."""
        return outbox.pending(self)

    def oldest_pending_at(self) -> datetime | None:
        """When the oldest transition waiting for a flush happened (None: none waits)."""
        return outbox.oldest_pending_at(self)

    @contextmanager
    def flushing(self) -> Iterator[FlushTx]:
        """One flush's write transaction: read, decide (compare-and-set) and queue in it;
        committed at the end of the block, rolled back if the block raises."""
        with outbox.flushing(self) as tx:
            yield tx

    def claim_deliveries(
        self, worker: str, now: datetime, limit: int, ttl: timedelta
    ) -> list[OutboxRow]:
        """Claim up to `limit` due outbox rows for `worker` until `now + ttl`."""
        return outbox.claim(self, worker, now, limit, ttl)

    def still_claimed(self, row_id: int, worker: str, now: datetime) -> bool:
        """True while `worker`'s claim on outbox row `row_id` stands (unsent, unexpired)."""
        return outbox.still_claimed(self, row_id, worker, now)

    def release_claims(self, worker: str) -> int:
        """Drop the unfinished claims `worker` held (a restart); returns how many."""
        return outbox.release(self, worker)

    def mark_sent(self, row_id: int, now: datetime) -> None:
        """Outbox row `row_id` was accepted by its channel."""
        outbox.mark_sent(self, row_id, now)

    def mark_failed(self, row_id: int, error: str | None, *, retry_at: datetime | None) -> None:
        """Outbox row `row_id` failed: retried at `retry_at`, or never (None)."""
        outbox.mark_failed(self, row_id, error, retry_at=retry_at)

    def outbox_waiting(self) -> int:
        """Outbox rows waiting for delivery."""
        return outbox.waiting(self)

    def outbox_next_attempt_at(self) -> datetime | None:
        """When the earliest waiting outbox row may be tried (None: nothing waits)."""
        return outbox.next_attempt_at(self)

    def open_episodes(self, names: Sequence[str], url_ids: set[str]) -> list[OpenEpisode]:
        """Open alerts among `names` (muted or not) with their current episode's transitions,
        each marked delivered when it reached one of `url_ids`."""
        return outbox.open_episodes(self, names, url_ids)

    # --- silences (monitor/store/silences.py) ---------------------------------------------

    def add_silence(self, silence: Silence) -> None:
        """Store a new silence."""
        silences.add(self, silence)

    def active_silences(self, now: datetime) -> list[Silence]:
        """Silences in force at `now`, soonest end first."""
        return silences.active(self, now)

    def end_silence(self, silence_id: str, now: datetime) -> bool:
        """End a silence at `now` (the row stays); False when no active one has that ID."""
        return silences.end(self, silence_id, now)

    # --- Slack app messages (monitor/store/slack.py) --------------------------------------

    def slack_message(self, message_id: int) -> SlackMessage | None:
        """One Slack message as stored now (its facts, and where it was posted)."""
        return slack.message(self, message_id)

    def slack_posted(self, message_id: int, channel: str, ts: str) -> None:
        """Keep where Slack put a message, so later edits go to it."""
        slack.mark_posted(self, message_id, channel, ts)

    def slack_post_failed(self, message_id: int) -> None:
        """Slack refused a message for good: its next edit posts it anew."""
        slack.mark_post_failed(self, message_id)
