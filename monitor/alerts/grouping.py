"""Which pending transitions become messages, and to whom: pure, given `now`.

Grouping works as Alertmanager's `group_wait`: the transitions of one owner wait until
the oldest of them is `group_wait` old, then everything that owner has pending goes out
together, one message per destination URL listing each contract.

Within one flush each contract counts once, by its newest transition (the older ones are
`superseded`). That is what makes flapping quiet:
- fresh → stale → fresh within `group_wait`: the newest is `resolved` for an alert that
  was never announced, so nothing is sent (`suppressed`): the owner never hears of it.
- fresh → stale → fresh → stale: the newest is `fired`: one message, as for one break.
- an announced alert that resolves and breaks again within `group_wait`: one `fired`.
Alertmanager does its own grouping (one alert per contract reaches it), so a contract whose
every destination is an Alertmanager does not wait: its transitions are due at once
(`due_groups`), decided as above, alone, without the rest of its owner's group. A contract
that also goes elsewhere waits `group_wait` for all its destinations, so they all agree.
A `resolved` is sent only when its alert was announced (Alertmanager does the same) and
`send_resolved` is on, even under a silence. Any other transition that an active silence (or
maintenance window) matches is `silenced`: recorded, not sent, and its alert is muted until
the silence ends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.alerts.facts import AlertFacts
from monitor.alerts.lifecycle import Kind
from monitor.alerts.routing import Subject, destinations, silenced
from monitor.config.notify_urls import is_alertmanager, is_slackbot
from monitor.config.settings import Settings

SENT = "sent"  # put in the outbox
SILENCED = "silenced"
SUPERSEDED = "superseded"  # a newer transition of the same contract went instead
SUPPRESSED = "suppressed"  # a resolved alert that was never announced (flapping)
QUIET = "quiet"  # resolved with send_resolved off, or closed (contract removed)
NO_ROUTE = "no_route"  # no URL at all: no notify, no fallback, no route


@dataclass(frozen=True)
class Pending:
    """A recorded transition that no flush has decided on yet."""

    id: int
    contract: str
    seq: int
    episode: int
    facts: AlertFacts

    @property
    def kind(self) -> Kind:
        return self.facts.kind

    @property
    def subject(self) -> Subject:
        f = self.facts
        return Subject(f.contract, f.owner, f.severity, f.tags, f.metadata)


@dataclass
class FlushPlan:
    """What one flush of one owner does."""

    owner: str
    outcomes: dict[int, str] = field(default_factory=dict)  # transition id → outcome
    # URL → (the facts it gets, the transition ids behind them), in first-seen order
    messages: dict[str, tuple[list[AlertFacts], list[int]]] = field(default_factory=dict)
    muted: list[tuple[str, int]] = field(default_factory=list)  # (contract, episode)


def due_owners(pending: Iterable[Pending], now: datetime, group_wait: timedelta) -> list[str]:
    """Owners whose oldest pending transition is at least `group_wait` old."""
    oldest: dict[str, datetime] = {}
    for p in pending:
        o = p.facts.owner
        if o not in oldest or p.facts.at < oldest[o]:
            oldest[o] = p.facts.at
    return sorted(o for o, at in oldest.items() if now >= at + group_wait)


def alertmanager_only(settings: Settings, subject: Subject) -> bool:
    """True when every destination of `subject` is an Alertmanager (none wait)."""
    urls = destinations(settings, subject)
    return bool(urls) and all(is_alertmanager(u) for u in urls)


def due_groups(
    pending: Iterable[Pending],
    now: datetime,
    group_wait: timedelta,
    immediate: Callable[[Pending], bool],
) -> dict[str, bool]:
    """Owner → True when its whole group is due (`group_wait` over), False when only its
    `immediate` transitions are (those bound for Alertmanagers alone)."""
    items = list(pending)
    full = set(due_owners([p for p in items if not immediate(p)], now, group_wait))
    out = {o: True for o in full}
    for p in items:
        if p.facts.owner not in out and immediate(p):
            out[p.facts.owner] = False
    return dict(sorted(out.items()))


def plan_flush(
    owner: str,
    pending: Sequence[Pending],
    *,
    settings: Settings,
    announced: set[tuple[str, int]],
    silences: Sequence[Sequence[tuple[str, str]]],
) -> FlushPlan:
    """Decide every pending transition of `owner`: sent (to which URLs), or why not.

    `announced` holds the (contract, episode) pairs that an earlier flush already sent.
    """
    plan = FlushPlan(owner)
    by_contract: dict[str, list[Pending]] = defaultdict(list)
    for p in sorted(pending, key=lambda p: (p.contract, p.seq)):
        by_contract[p.contract].append(p)
    for contract, items in by_contract.items():
        *older, last = items
        for p in older:
            plan.outcomes[p.id] = SUPERSEDED
        outcome = _decide(last, settings, announced, silences)
        plan.outcomes[last.id] = outcome
        if outcome == SILENCED and last.kind is not Kind.RESOLVED:
            plan.muted.append((contract, last.episode))
        if outcome == QUIET and _edits_quietly(last, announced):
            # send_resolved off: no "resolved" message, but a Slack app message that said
            # it broke is still edited to show it resolved (no thread reply: see slackbot)
            for url in (u for u in destinations(settings, last.subject) if is_slackbot(u)):
                facts, ids = plan.messages.setdefault(url, ([], []))
                facts.append(last.facts)
                ids.append(last.id)
            continue
        if outcome != SENT:
            continue
        urls = destinations(settings, last.subject)
        if not urls:
            plan.outcomes[last.id] = NO_ROUTE
            continue
        for url in urls:
            facts, ids = plan.messages.setdefault(url, ([], []))
            facts.append(last.facts)
            ids.append(last.id)
    return plan


def _edits_quietly(p: Pending, announced: set[tuple[str, int]]) -> bool:
    return p.kind is Kind.RESOLVED and (p.contract, p.episode) in announced


def _decide(
    p: Pending,
    settings: Settings,
    announced: set[tuple[str, int]],
    silences: Sequence[Sequence[tuple[str, str]]],
) -> str:
    if p.kind is Kind.CLOSED:
        return QUIET
    if p.kind is Kind.RESOLVED:
        if not settings.alerts.send_resolved:
            return QUIET
        if (p.contract, p.episode) not in announced:
            return SUPPRESSED
        # the owner heard it break, so they hear it mend: a silence or maintenance window
        # that began since holds new alerts only (as in Alertmanager)
        return SENT
    if silenced(silences, p.subject):
        return SILENCED
    return SENT
