"""Alert messages: exact text for e-mail, Slack and webhooks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.alerts.facts import AlertFacts
from monitor.alerts.lifecycle import Kind
from monitor.alerts.render import Links, notify_test_message, problem, render, style_of
from monitor.core.models import Status

T = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
NOW = T + timedelta(seconds=30)
LINKS = Links("https://fresh.example.com", "https://grafana.example.com/d/fresh-contract")

ORDERS = AlertFacts(
    contract="raw_shopify.orders", kind=Kind.FIRED, status=Status.STALE, previous=Status.FRESH,
    at=T, owner="ops-data-team", severity="critical", warehouse="main",
    tags=("shopify", "revenue"),
    metadata={"pii": False, "runbook": "https://wiki.example.com/orders"},
    last_update=T - timedelta(hours=2, minutes=5), checked_at=T,
    warn_after=timedelta(minutes=20), error_after=timedelta(hours=1),
    deadline=T - timedelta(hours=1, minutes=5),
)
EXPORT = AlertFacts(
    contract="ops.export", kind=Kind.CHANGED, status=Status.ERROR, previous=Status.STALE, at=T,
    owner="ops-data-team", severity="warning", warehouse="main",
    error="connection to postgresql://u:hunter2@db failed",
    detail="last ping was /fail, exit code 3", output_tail="line1\nTraceback\nKeyError: x",
    checked_at=T,
)


def scrub(text: str) -> str:
    return text.replace("hunter2", "***")


def test_an_email_reads_well_in_plain_text() -> None:
    m = render([ORDERS], "email", owner="ops-data-team", links=LINKS, now=NOW)
    assert (m.title, m.body_format, m.notify_type) == (
        "STALE: raw_shopify.orders — data 2h 5m old, limit 1h", "text", "failure")
    assert m.body == (
        "STALE: raw_shopify.orders — data 2h 5m old, limit 1h\n"
        "  Last update: 2026-11-24 07:55:00 UTC (2h 5m ago)\n"
        "  Deadline:    2026-11-24 08:55:00 UTC (1h 5m ago)\n"
        "  Limits:      warn after 20m, stale after 1h\n"
        "  Owner:       ops-data-team\n"
        "  Severity:    critical\n"
        "  Warehouse:   main\n"
        "  Tags:        shopify, revenue\n"
        "  Runbook:     https://wiki.example.com/orders\n"
        "  pii:         false\n"
        "  Status page: https://fresh.example.com/contracts/raw_shopify.orders\n"
        "  Dashboard:   https://grafana.example.com/d/fresh-contract?var-contract=raw_shopify.orders\n"
    )


def test_slack_gets_a_compact_message_with_links() -> None:
    m = render([ORDERS], "slack", owner="ops-data-team", links=LINKS, now=NOW)
    assert m.body_format == "markdown"
    assert m.body == (
        "STALE: **raw_shopify.orders** — data 2h 5m old, limit 1h\n"
        "Last update 2026-11-24 07:55:00 UTC (2h 5m ago) · critical · owner ops-data-team"
        " · warehouse main\n"
        "Tags: shopify, revenue · [Runbook](https://wiki.example.com/orders) · pii: false\n"
        "[Status page](https://fresh.example.com/contracts/raw_shopify.orders) · "
        "[Dashboard](https://grafana.example.com/d/fresh-contract?var-contract=raw_shopify.orders)"
    )


def test_the_runbook_comes_first_among_metadata() -> None:
    f = replace(ORDERS, metadata={"a": 1, "runbook": "https://rb", "z": "y"})
    body = render([f], "text", owner="o", links=Links(), now=NOW).body
    assert body.index("Runbook:") < body.index("a:") < body.index("z:")


def test_a_grouped_message_lists_each_contract_worst_first() -> None:
    m = render([ORDERS, EXPORT], "email", owner="ops-data-team", links=LINKS, now=NOW,
               scrub=scrub)
    assert m.title == "2 contracts of ops-data-team: 1 error, 1 stale"
    assert m.body.index("ERROR (was stale): ops.export") < m.body.index("STALE: raw_shopify")
    assert "Status page: https://fresh.example.com/?owner=ops-data-team" in m.body
    assert "Dashboard: https://grafana.example.com/d/fresh-contract?var-owner=ops-data-team" in (
        m.body)


def test_an_error_shows_the_reason_and_a_failed_job_its_exit_code_and_output() -> None:
    for style in ("email", "slack"):
        m = render([EXPORT], style, owner="o", links=LINKS, now=NOW, scrub=scrub)  # type: ignore[arg-type]
        assert "connection to postgresql://u:***@db failed" in m.body
        assert "exit code 3" in m.body
        assert "KeyError: x" in m.body
        assert "hunter2" not in m.title + m.body


def test_a_resolved_message_says_it_is_fresh_again() -> None:
    f = replace(ORDERS, kind=Kind.RESOLVED, status=Status.FRESH, previous=Status.STALE,
                last_update=T - timedelta(minutes=3))
    m = render([f], "email", owner="o", links=Links(), now=NOW)
    assert m.title == "RESOLVED: raw_shopify.orders is fresh again — data 3m old"
    assert m.notify_type == "success"
    assert "Deadline" not in m.body


def test_a_repeat_says_still() -> None:
    f = replace(ORDERS, kind=Kind.REPEATED, reason="silence ended")
    m = render([f], "text", owner="o", links=Links(), now=NOW)
    assert m.title.startswith("still STALE: raw_shopify.orders")
    assert "(silence ended)" in m.body


def test_problem_names_the_missed_deadline_no_data_or_warn_limit() -> None:
    scheduled = replace(ORDERS, schedule="0 6 * * 1-5")
    assert problem(scheduled) == "deadline 2026-11-24 08:55:00 UTC missed by 1h 5m"
    assert problem(replace(ORDERS, last_update=None)) == "no data at all"
    assert problem(replace(ORDERS, status=Status.WARN)) == "data 2h 5m old, limit 20m"


def test_links_are_left_out_when_no_urls_are_configured() -> None:
    body = render([ORDERS], "slack", owner="o", links=Links(), now=NOW).body
    assert "Status page" not in body and "Dashboard" not in body


def test_each_url_gets_its_style() -> None:
    assert style_of("slack://A/B/C/#ops") == "slack"
    assert style_of("https://hooks.slack.com/services/A/B/C") == "slack"
    assert style_of("mailto://u:p@host?to=x@y") == "email"
    assert style_of("json://127.0.0.1/hook") == "text"


def test_the_notify_test_message_names_the_owner() -> None:
    m = notify_test_message("ops", LINKS, NOW)
    assert m.title == "fresh test alert for ops"
    assert "https://fresh.example.com/?owner=ops" in m.body


def test_slack_links_only_http_urls_and_quotes_markdown_in_other_values() -> None:
    f = replace(
        ORDERS,
        metadata={"runbook": "javascript:alert(1)", "docs": "[x](javascript:alert(2))",
                  "wiki": "https://wiki.example.com/a_(b)"},
    )
    body = render([f], "slack", owner="o", links=Links(), now=NOW).body
    assert "Runbook: `javascript:alert(1)`" in body
    assert "docs: `[x](javascript:alert(2))`" in body
    assert "[wiki](https://wiki.example.com/a_%28b%29)" in body
    import re

    assert "](javascript" not in re.sub(r"`[^`]*`", "", body)  # outside code spans
