"""What the state store hands out: frozen values, never rows or sessions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Literal

from monitor.core.models import Status, Verdict

PingKind = Literal["success", "start", "fail", "log"]
PING_KINDS: tuple[PingKind, ...] = ("success", "start", "fail", "log")

OUTPUT_LIMIT = 10 * 1024  # bytes of a job's output tail that are kept


@dataclass(frozen=True)
class StoredState:
    """A contract's last saved verdict, plus what the store knows about it."""

    name: str
    status: Status
    checked_at: datetime
    last_update: datetime | None
    warn_at: datetime | None
    error_at: datetime | None
    description: str
    error: str | None
    detail: str | None
    duration_seconds: float
    next_check_at: datetime | None
    status_since: datetime  # when the current status began
    seq: int  # number of status changes so far; the compare-and-set guard
    learned_warn_after: timedelta | None = None  # `learn` contracts: limits at checked_at
    learned_error_after: timedelta | None = None

    def to_verdict(self) -> Verdict:
        """The verdict this state was saved from."""
        # Every Verdict field but `contract` (here `name`) has a field of the same name here.
        copied = {name: getattr(self, name) for name in _COPIED}
        return Verdict(contract=self.name, **copied)


_COPIED = tuple(f.name for f in fields(Verdict) if f.name != "contract")  # once: fields() is slow


@dataclass(frozen=True)
class StatusChange:
    """One change of a contract's status (a "flip"), recorded exactly once.

    `previous` is None the first time a contract is ever saved. `seq` is the contract's
    change counter after this change: (contract, seq) identifies the change everywhere.
    """

    contract: str
    previous: Status | None
    status: Status
    at: datetime
    seq: int
    verdict: Verdict


@dataclass(frozen=True)
class HistoryEntry:
    """One kept reading: every status change, and at most one reading per check_every."""

    name: str
    checked_at: datetime
    status: Status
    last_update: datetime | None
    error: str | None
    detail: str | None


@dataclass(frozen=True)
class Ping:
    """One heartbeat a job reported."""

    id: int
    name: str
    kind: PingKind
    at: datetime
    exit_code: int | None = None
    duration_seconds: float | None = None
    output: str | None = None  # the tail of the job's output, at most 10 kB
    run_id: str | None = None


@dataclass(frozen=True)
class HeartbeatState:
    """What the pings of one contract say.

    `running_since` is a /start newer than every success and fail (a run in progress, or
    hung). `last_fail` is the newest /fail when it is newer than the newest success.
    """

    name: str
    last_success: datetime | None = None
    running_since: datetime | None = None
    last_fail: Ping | None = None
    fails_since_success: int = 0
    last_ping: Ping | None = None


SilenceMatchers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Silence:
    """One stored silence: matchers (`contract:GLOB`, `owner:X`, `tag:X`, `severity:X`; all
    must fit) muting alerts from `starts_at` until `ends_at`."""

    id: str
    matchers: SilenceMatchers
    reason: str
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""

    def describe(self) -> str:
        """`contract:raw_* owner:ops` — the matchers as the user typed them."""
        return " ".join(f"{k}:{v}" for k, v in self.matchers)

    def active(self, now: datetime) -> bool:
        """Whether it mutes alerts at `now`."""
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class SlackMessage:
    """One Slack message fresh posts and edits for a `slackbot://` URL (SPEC 15)."""

    id: int
    contracts: Mapping[str, Any]  # contract -> its newest facts and since when it alerts
    channel: str | None  # the channel ID Slack answered (None: not posted yet)
    ts: str | None  # the message's ts (None: not posted yet)
    post_failed: bool  # Slack refused the post for good
