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
Alertmanager does its own grouping and repeats (one alert per contract reaches it), so
fresh's do not apply to Alertmanager destinations (SPEC 15). A transition is decided in two
lanes: its Alertmanager destinations at once (`am_due`; recorded as `am_outcome`), alone,
without the rest of its owner's group; its other destinations when its owner's group is due
(`outcome`), as above. A contract whose every destination is an Alertmanager is decided
once, at once, for both. Each lane decides with what it announced itself (an alert whose
"fired" reached Alertmanager gets its "resolved" there, even if the grouped destinations
never heard of it).
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
    am_decided: bool = False  # its Alertmanager destinations were decided already

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


def am_due(settings: Settings, p: Pending) -> bool:
    """True when `p` has Alertmanager destinations not decided yet (due at once)."""
    return not p.am_decided and any(is_alertmanager(u) for u in destinations(settings, p.subject))


def grouped(settings: Settings, p: Pending) -> bool:
    """True when `p` has destinations that wait for its owner's group (or none at all:
    the group's flush records that it had nowhere to go)."""
    return not alertmanager_only(settings, p.subject)


def am_urls(settings: Settings, p: Pending) -> list[str]:
    """The Alertmanager lane's destinations of `p`."""
    return [u for u in destinations(settings, p.subject) if is_alertmanager(u)]


def grouped_urls(settings: Settings, p: Pending) -> list[str]:
    """The grouped lane's destinations of `p` (all but the Alertmanagers)."""
    return [u for u in destinations(settings, p.subject) if not is_alertmanager(u)]


def plan_flush(
    owner: str,
    pending: Sequence[Pending],
    *,
    settings: Settings,
    announced: set[tuple[str, int]],
    silences: Sequence[Sequence[tuple[str, str]]],
    urls: Callable[[Pending], Sequence[str]] | None = None,
) -> FlushPlan:
    """Decide every pending transition of `owner`: sent (to which URLs), or why not.

    `announced` holds the (contract, episode) pairs that an earlier flush (of this lane)
    already sent; `urls` gives the destinations this lane sends a transition to (default:
    all of them).
    """
    plan = FlushPlan(owner)

    def lane_urls(p: Pending) -> Sequence[str]:
        return destinations(settings, p.subject) if urls is None else urls(p)

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
            for url in (u for u in lane_urls(last) if is_slackbot(u)):
                facts, ids = plan.messages.setdefault(url, ([], []))
                facts.append(last.facts)
                ids.append(last.id)
            continue
        if outcome != SENT:
            continue
        targets = lane_urls(last)
        if not targets:
            plan.outcomes[last.id] = NO_ROUTE
            continue
        for url in targets:
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
