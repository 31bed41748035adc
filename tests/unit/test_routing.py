"""Routing (owner, fallback, Alertmanager-style routes), silences and grouping."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerts.facts import AlertFacts
from monitor.alerts.grouping import (
    NO_ROUTE,
    QUIET,
    SENT,
    SILENCED,
    SUPERSEDED,
    SUPPRESSED,
    Pending,
    alertmanager_only,
    am_due,
    am_urls,
    due_owners,
    grouped,
    grouped_urls,
    plan_flush,
)
from monitor.alerts.lifecycle import AlertState, Kind, Policy, step
from monitor.alerts.routing import (
    Subject,
    all_urls,
    destinations,
    matches,
    notify_test_destinations,
    parse_matcher,
    silenced,
    url_id,
)
from monitor.config.alert_settings import Alerts, Owner, Route
from monitor.config.settings import Settings
from monitor.core.clock import FakeClock
from monitor.core.models import Status

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

SETTINGS = Settings(
    owners={
        "ops": Owner(notify=("json://ops.example/hook", "mailto://a:pw@mail.example?to=o@x.io")),
        "finance": Owner(notify=()),
    },
    alerts=Alerts(
        fallback=("json://fallback.example/hook",),
        routes=(
            Route(match={"severity": "critical"}, notify=("json://pager.example/p",),
                  continue_=True),
            Route(match={"tag": "revenue"}, notify=("json://revenue.example/r",)),
            Route(match={"contract": "raw_*"}, notify=("json://never.example/n",)),
        ),
    ),
)


def subj(contract: str = "orders", owner: str = "ops", severity: str = "warning",
         tags: tuple[str, ...] = (), **meta: object) -> Subject:
    return Subject(contract, owner, severity, tags, meta)


def test_an_alert_goes_to_its_owner_notify_urls() -> None:
    assert destinations(SETTINGS, subj()) == (
        "json://ops.example/hook",
        "mailto://a:pw@mail.example?to=o@x.io",
    )


def test_an_owner_without_urls_and_an_undeclared_owner_use_the_fallback() -> None:
    assert destinations(SETTINGS, subj(owner="finance")) == ("json://fallback.example/hook",)
    assert destinations(SETTINGS, subj(owner="nobody")) == ("json://fallback.example/hook",)


def test_routes_take_the_first_match_and_continue_only_while_it_says_so() -> None:
    # critical matches route 1 (continue) then route 2 (tag revenue, no continue): stop
    s = subj("raw_orders", severity="critical", tags=("revenue",))
    assert destinations(SETTINGS, s)[2:] == ("json://pager.example/p", "json://revenue.example/r")
    # not critical: route 2 is the first match, and it stops the walk before route 3
    assert destinations(SETTINGS, subj("raw_orders", tags=("revenue",)))[2:] == (
        "json://revenue.example/r",
    )
    # only route 3 matches
    assert destinations(SETTINGS, subj("raw_orders"))[2:] == ("json://never.example/n",)


def test_a_url_named_twice_gets_the_message_once() -> None:
    s = Settings(owners={"ops": Owner(notify=("json://a/h",))},
                 alerts=Alerts(routes=(Route(match={}, notify=("json://a/h",)),)))
    assert destinations(s, subj()) == ("json://a/h",)


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ({"contract": "raw_*"}, True),
        ({"contract": "stg_*"}, False),
        ({"owner": "ops"}, True),
        ({"tag": "shopify"}, True),
        ({"tag": "nope"}, False),
        ({"severity": "critical"}, True),
        ({"metadata.pii": "false"}, True),
        ({"metadata.domain": "sales"}, True),
        ({"metadata.missing": "x"}, False),
        ({"severity": "critical", "owner": "other"}, False),  # all given must match
        ({"unknown": "x"}, False),
        ({}, True),
    ],
)
def test_route_match_keys(match: dict[str, str], expected: bool) -> None:
    s = subj("raw_orders", severity="critical", tags=("shopify",), pii=False, domain="sales")
    assert matches(match, s) is expected


def test_silence_matchers_parse_and_all_must_match() -> None:
    assert parse_matcher("contract:raw_*") == ("contract", "raw_*")
    with pytest.raises(ValueError, match="invalid matcher"):
        parse_matcher("color:red")
    with pytest.raises(ValueError):
        parse_matcher("owner:")
    s = subj("raw_orders", tags=("a", "b"))
    assert silenced([[("tag", "a"), ("tag", "b")]], s)
    assert not silenced([[("tag", "a"), ("tag", "c")]], s)
    assert silenced([[("owner", "x")], [("contract", "raw_*")]], s)
    assert not silenced([[]], s)  # an empty silence mutes nothing


def test_notify_test_goes_to_the_owner_and_routes_naming_it() -> None:
    s = Settings(
        owners={"ops": Owner(notify=("json://a/h",))},
        alerts=Alerts(fallback=("json://fb/h",), routes=(
            Route(match={"owner": "ops"}, notify=("json://b/h",)),
            Route(match={"severity": "critical"}, notify=("json://c/h",)),
        )),
    )
    assert notify_test_destinations(s, "ops") == ("json://a/h", "json://b/h")
    assert notify_test_destinations(s, "ghost") == ("json://fb/h",)


def test_outbox_rows_name_urls_by_a_hash_that_resolves_back() -> None:
    ids = all_urls(SETTINGS)
    assert ids[url_id("json://pager.example/p")] == "json://pager.example/p"
    assert "pw" not in url_id("mailto://a:pw@mail.example?to=o@x.io")


# --- grouping ---------------------------------------------------------------------------


class Recorder:
    """Drives the lifecycle with a fake clock and keeps transitions as pending rows."""

    def __init__(self) -> None:
        self.clock = FakeClock(T0)
        self.states: dict[str, AlertState] = {}
        self.pending: list[Pending] = []
        self.next_id = 1

    def see(self, contract: str, status: Status, owner: str = "ops", **kw: object) -> None:
        state = self.states.get(contract, AlertState(contract, status=Status.FRESH))
        state, t = step(state, status, self.clock.now(), Policy())
        self.states[contract] = state
        if t is None:
            return
        facts = AlertFacts(contract=contract, kind=t.kind, status=t.status, previous=t.previous,
                           at=t.at, owner=owner, severity=str(kw.get("severity", "warning")),
                           warehouse="main")
        self.pending.append(Pending(self.next_id, contract, t.seq, t.episode, facts))
        self.next_id += 1


def test_contracts_of_one_owner_that_break_within_group_wait_go_in_one_message() -> None:
    r = Recorder()
    r.see("a", Status.STALE)
    r.clock.advance(timedelta(seconds=10))
    r.see("b", Status.ERROR)
    r.see("c", Status.STALE, owner="finance")
    wait = timedelta(seconds=30)
    assert due_owners(r.pending, T0 + timedelta(seconds=29), wait) == []
    assert due_owners(r.pending, T0 + timedelta(seconds=30), wait) == ["ops"]
    assert due_owners(r.pending, T0 + timedelta(seconds=40), wait) == ["finance", "ops"]
    ops = [p for p in r.pending if p.facts.owner == "ops"]
    plan = plan_flush("ops", ops, settings=SETTINGS, announced=set(), silences=[])
    assert set(plan.outcomes.values()) == {SENT}
    assert list(plan.messages) == ["json://ops.example/hook", "mailto://a:pw@mail.example?to=o@x.io"]
    facts, ids = plan.messages["json://ops.example/hook"]
    assert [f.contract for f in facts] == ["a", "b"] and ids == [1, 2]


def test_alertmanager_destinations_do_not_wait_for_group_wait() -> None:
    """SPEC 15: fresh's grouping does not apply to Alertmanager destinations, even those of a
    contract whose other destinations keep it."""
    am = Settings(
        owners={
            "sre": Owner(notify=("alertmanager://am.example:9093",)),
            "ops": Owner(notify=("json://ops.example/hook",)),
        },
        alerts=Alerts(routes=(
            Route(match={"contract": "mixed"}, notify=("json://mixed.example/m",),
                  continue_=True),
        )),
    )
    assert alertmanager_only(am, subj("x", "sre"))
    assert not alertmanager_only(am, subj("mixed", "sre"))
    assert not alertmanager_only(am, subj("x", "ops"))
    r = Recorder()
    r.see("x", Status.STALE, owner="sre")
    r.see("mixed", Status.STALE, owner="sre")
    r.see("y", Status.STALE, owner="ops")
    x, mixed, y = r.pending
    # the Alertmanager lane: due at once, Alertmanager URLs only
    assert [am_due(am, p) for p in r.pending] == [True, True, False]
    assert am_urls(am, mixed) == ["alertmanager://am.example:9093"]
    # the grouped lane: everything else, after group_wait
    assert [grouped(am, p) for p in r.pending] == [False, True, True]
    assert grouped_urls(am, mixed) == ["json://mixed.example/m"]
    wait = timedelta(hours=1)
    waits = [p for p in r.pending if grouped(am, p)]
    assert due_owners(waits, T0, wait) == []
    assert due_owners(waits, T0 + wait, wait) == ["ops", "sre"]
    decided = Pending(mixed.id, mixed.contract, mixed.seq, mixed.episode, mixed.facts, True)
    assert not am_due(am, decided)  # its Alertmanager part went already
    plan = plan_flush("sre", [mixed], settings=am, announced=set(), silences=[],
                      urls=lambda p: am_urls(am, p))
    assert list(plan.messages) == ["alertmanager://am.example:9093"]
    assert x.kind is y.kind is Kind.FIRED


def test_a_critical_contract_also_reaches_its_route_in_its_own_message() -> None:
    r = Recorder()
    r.see("a", Status.STALE)
    r.see("b", Status.STALE, severity="critical")
    plan = plan_flush("ops", r.pending, settings=SETTINGS, announced=set(), silences=[])
    assert [f.contract for f in plan.messages["json://pager.example/p"][0]] == ["b"]
    assert [f.contract for f in plan.messages["json://ops.example/hook"][0]] == ["a", "b"]


def test_flapping_within_group_wait_sends_nothing() -> None:
    """fresh → stale → fresh before the group is flushed: the owner never hears of it."""
    r = Recorder()
    r.see("a", Status.STALE)
    r.clock.advance(timedelta(seconds=5))
    r.see("a", Status.FRESH)
    plan = plan_flush("ops", r.pending, settings=SETTINGS, announced=set(), silences=[])
    assert plan.outcomes == {1: SUPERSEDED, 2: SUPPRESSED} and plan.messages == {}


def test_flapping_that_ends_broken_sends_one_alert() -> None:
    r = Recorder()
    for status in (Status.STALE, Status.FRESH, Status.STALE):
        r.see("a", status)
        r.clock.advance(timedelta(seconds=5))
    plan = plan_flush("ops", r.pending, settings=SETTINGS, announced=set(), silences=[])
    assert plan.outcomes == {1: SUPERSEDED, 2: SUPERSEDED, 3: SENT}
    facts, _ = plan.messages["json://ops.example/hook"]
    assert [(f.kind, f.status) for f in facts] == [(Kind.FIRED, Status.STALE)]


def test_a_resolved_alert_is_sent_only_when_it_was_announced() -> None:
    r = Recorder()
    r.see("a", Status.STALE)
    first = plan_flush("ops", r.pending, settings=SETTINGS, announced=set(), silences=[])
    assert first.outcomes == {1: SENT}
    r.pending.clear()
    r.see("a", Status.FRESH)
    plan = plan_flush("ops", r.pending, settings=SETTINGS, announced={("a", 1)}, silences=[])
    assert plan.outcomes == {2: SENT}
    assert plan.messages["json://ops.example/hook"][0][0].kind is Kind.RESOLVED


def test_send_resolved_off_keeps_resolutions_quiet() -> None:
    quiet = replace(SETTINGS, alerts=Alerts(send_resolved=False))
    r = Recorder()
    r.see("a", Status.STALE)
    r.pending.clear()
    r.see("a", Status.FRESH)
    plan = plan_flush("ops", r.pending, settings=quiet, announced={("a", 1)}, silences=[])
    assert plan.outcomes == {2: QUIET}


def test_send_resolved_off_still_edits_a_slack_app_message_and_sends_nothing_else() -> None:
    slack = Settings(
        owners={"ops": Owner(notify=("json://ops.example/hook", "slackbot://xoxb-1/C01"))},
        alerts=Alerts(send_resolved=False),
    )
    r = Recorder()
    r.see("a", Status.STALE)
    r.see("b", Status.STALE)
    r.pending.clear()
    r.see("a", Status.FRESH)  # announced: its Slack message shows it resolved
    r.see("b", Status.FRESH)  # never announced: nothing at all
    plan = plan_flush("ops", r.pending, settings=slack, announced={("a", 1)}, silences=[])
    assert plan.outcomes == {3: QUIET, 4: QUIET}
    assert list(plan.messages) == ["slackbot://xoxb-1/C01"]
    assert [f.contract for f in plan.messages["slackbot://xoxb-1/C01"][0]] == ["a"]


def test_a_silenced_transition_is_recorded_not_sent_and_mutes_its_alert() -> None:
    r = Recorder()
    r.see("a", Status.STALE)
    r.see("b", Status.STALE)
    plan = plan_flush("ops", r.pending, settings=SETTINGS, announced=set(),
                      silences=[[("contract", "a")]])
    assert plan.outcomes == {1: SILENCED, 2: SENT}
    assert plan.muted == [("a", 1)]
    assert [f.contract for f in plan.messages["json://ops.example/hook"][0]] == ["b"]


def test_the_resolve_of_an_announced_alert_goes_through_a_silence_begun_since() -> None:
    r = Recorder()
    r.see("a", Status.STALE)
    r.pending.clear()
    r.see("a", Status.FRESH)
    r.see("b", Status.STALE)
    r.see("b", Status.FRESH)
    plan = plan_flush("ops", r.pending, settings=SETTINGS, announced={("a", 1)},
                      silences=[[("owner", "ops")]])
    assert plan.outcomes == {2: SENT, 3: SUPERSEDED, 4: SUPPRESSED}
    assert plan.muted == []


def test_an_alert_with_nowhere_to_go_is_marked_so() -> None:
    r = Recorder()
    r.see("a", Status.STALE, owner="nobody")
    plan = plan_flush("nobody", r.pending, settings=Settings(), announced=set(), silences=[])
    assert plan.outcomes == {1: NO_ROUTE}
