"""What fresh posts to Alertmanager's API v2, from transitions (SPEC 15): pure values."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerts.alertmanager import (
    AlertmanagerSender,
    alerts_for,
    fresh_test_alerts,
    is_alertmanager,
    message,
    parse_url,
)
from monitor.alerts.facts import AlertFacts
from monitor.alerts.lifecycle import Kind
from monitor.alerts.render import Links
from monitor.core.models import Status

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
LINKS = Links("https://fresh.example.com", None)


def facts(kind: Kind, status: Status, previous: Status | None = None, **kw: object) -> AlertFacts:
    base: dict[str, object] = {
        "contract": "shop.orders",
        "kind": kind,
        "status": status,
        "previous": previous,
        "at": T0,
        "owner": "ops",
        "severity": "critical",
        "warehouse": "main",
        "metadata": {"runbook": "https://wiki.example.com/o", "tier": 1},
        "last_update": T0 - timedelta(hours=2),
        "checked_at": T0,
        "error_after": timedelta(hours=1),
    }
    base.update(kw)
    return AlertFacts(**base)  # type: ignore[arg-type]


def posted(*items: AlertFacts) -> list[dict[str, object]]:
    return alerts_for(items, metric_labels=["tier"], links=LINKS, now=T0)


def test_a_fired_alert_is_named_as_the_shipped_rules_name_theirs() -> None:
    [a] = posted(facts(Kind.FIRED, Status.STALE, Status.FRESH))
    assert a["labels"] == {
        "alertname": "FreshContractStale",
        "fresh_status": "stale",
        "contract": "shop.orders",
        "owner": "ops",
        "severity": "critical",
        "warehouse": "main",
        "tier": "1",
    }
    notes = a["annotations"]
    assert isinstance(notes, dict)
    assert notes["summary"] == "STALE: shop.orders — data 2h old, limit 1h"
    assert notes["runbook_url"] == "https://wiki.example.com/o"
    assert a["generatorURL"] == "https://fresh.example.com/contracts/shop.orders"
    assert a["startsAt"] == "2026-12-04T10:00:00.000Z"
    assert "endsAt" not in a  # firing: the sender sets it when it posts


def test_a_status_change_ends_the_old_alert_and_starts_the_new() -> None:
    old, new = posted(facts(Kind.CHANGED, Status.ERROR, Status.STALE))
    assert old["labels"]["alertname"] == "FreshContractStale"  # type: ignore[index]
    assert old["endsAt"] == "2026-12-04T10:00:00.000Z"
    assert new["labels"]["alertname"] == "FreshContractError"  # type: ignore[index]
    assert "endsAt" not in new


def test_a_resolve_ends_the_alert_and_a_plain_repeat_posts_nothing() -> None:
    [ended] = posted(facts(Kind.RESOLVED, Status.FRESH, Status.ERROR))
    assert ended["labels"]["alertname"] == "FreshContractError"  # type: ignore[index]
    assert ended["endsAt"] == "2026-12-04T10:00:00.000Z"
    assert posted(facts(Kind.REPEATED, Status.STALE, Status.STALE)) == []
    # announced only when the silence holding it ended: that one is its first firing
    [late] = posted(facts(Kind.REPEATED, Status.STALE, Status.STALE, reason="silence ended"))
    assert "endsAt" not in late


def test_a_runbook_that_is_not_http_is_left_out() -> None:
    [a] = posted(facts(Kind.FIRED, Status.STALE, metadata={"runbook": "javascript:alert(1)"}))
    assert "runbook_url" not in a["annotations"]  # type: ignore[operator]


def test_urls_map_to_the_api_with_basic_auth_and_https() -> None:
    assert is_alertmanager("alertmanagers://am:9093") and not is_alertmanager("json://x")
    t = parse_url("alertmanager://am.example:9093")
    assert (t.endpoint, t.username) == ("http://am.example:9093/api/v2/alerts", None)
    t = parse_url("alertmanagers://bot:p%40ss@am.example/prefix/")
    assert t.endpoint == "https://am.example/prefix/api/v2/alerts"
    assert (t.username, t.password) == ("bot", "p@ss")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("alertmanager://", "needs a host"),
        ("alertmanager://am:port", "port is not a number"),
        ("alertmanager://am:9093?x=1", "no ?query"),
        ("json://am:9093", "not an alertmanager"),
    ],
)
def test_a_malformed_url_is_refused_without_echoing_it(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)) as info:
        parse_url(url)
    assert url not in str(info.value)


def test_the_sender_stamps_firing_alerts_with_ends_at_ahead_and_fails_on_a_bad_url() -> None:
    sender = AlertmanagerSender(now=lambda: T0, ahead=timedelta(minutes=4))
    result = sender.send("alertmanager://", message(posted(facts(Kind.FIRED, Status.STALE))))
    assert not result.ok and result.permanent


def test_the_notify_test_alert_ends_after_a_minute() -> None:
    [a] = fresh_test_alerts("ops", LINKS, T0)
    assert a["labels"] == {"alertname": "FreshTest", "owner": "ops", "severity": "info"}
    assert (a["startsAt"], a["endsAt"]) == ("2026-12-04T10:00:00.000Z", "2026-12-04T10:01:00.000Z")


def test_an_outbox_message_carries_the_alerts_as_json() -> None:
    alerts = posted(facts(Kind.RESOLVED, Status.FRESH, Status.STALE))
    m = message(alerts)
    assert json.loads(m.body) == alerts and m.notify_type == "success"


def test_the_notify_url_check_accepts_alertmanager_urls_and_refuses_malformed_ones() -> None:
    from monitor.alerts.sender import notify_url_problem

    assert notify_url_problem("alertmanager://am:9093") is None
    assert notify_url_problem("alertmanagers://u:pw@am.example/prefix") is None
    problem = notify_url_problem("alertmanager://u:secretpw@am:x")
    assert problem is not None and "port is not a number" in problem and "secretpw" not in problem


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("slackbot://xoxb-1-2", "slackbot://TOKEN/CHANNEL"),
        ("slackbot://xoxb-1-2/#ops", "without '#'"),
        ("slackbot://abc/C0123ABC", "starts with xoxb-"),
        ("slackbot://xoxb-1-2/C01/extra", "one channel"),
    ],
)
def test_the_notify_url_check_refuses_a_malformed_slackbot_url(url: str, says: str) -> None:
    from monitor.alerts.sender import notify_url_problem

    assert notify_url_problem("slackbot://xoxb-1-2/C0123ABC") is None
    problem = notify_url_problem(url)
    assert problem is not None and says in problem
