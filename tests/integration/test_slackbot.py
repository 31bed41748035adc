"""`slackbot://TOKEN/CHANNEL` from a real `fresh serve`, the real slack-sdk client pointed
at a local Slack Web API (SPEC 15): one message per incident, repeats in its thread,
changes and resolves edit it in place, across a restart; Slack's 429 obeyed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.cli_project import clean_env
from tests.integration.serving import (
    SQLITE_SERVE_YML,
    put_table,
    start,
    wait_for,
    write_project,
)
from tests.integration.slack_api import Call, SlackApi

TOKEN = "xoxb-1234-test-token"

FRESH_YML = SQLITE_SERVE_YML + """\
owners:
  ops:
    notify: ["slackbot://{token}/C0123ABC"]
    repeat_every: 8s
alerts:
  group_wait: 1s
"""

CHECKS = """\
defaults:
  warehouse: main
  owner: ops
  check_every: 1s
contracts:
  - name: shop.orders
    table: orders
    column: t
    error_after: 1h
    metadata: {runbook: "https://wiki.example.com/orders"}
  - name: shop.refunds
    table: refunds
    column: t
    error_after: 1h
"""


@pytest.fixture
def slack() -> Iterator[SlackApi]:
    api = SlackApi()
    yield api
    api.stop()


def text_of(call: Call) -> str:
    blocks = call.args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return json.dumps(blocks or []) + str(call.args.get("text"))


def posts(slack: SlackApi) -> list[Call]:
    return [c for c in slack.answered("chat.postMessage") if not c.args.get("thread_ts")]


def replies(slack: SlackApi) -> list[Call]:
    return [c for c in slack.answered("chat.postMessage") if c.args.get("thread_ts")]


def test_one_message_per_incident_edited_in_place_with_repeats_in_its_thread(
    tmp_path: Path, slack: SlackApi
) -> None:
    now = datetime.now(UTC)
    put_table(tmp_path / "wh.sqlite", "orders", now - timedelta(hours=2))
    put_table(tmp_path / "wh.sqlite", "refunds", now - timedelta(hours=3))
    write_project(tmp_path, FRESH_YML.format(token=TOKEN), {"c.yml": CHECKS})
    env = clean_env(FRESH_SLACK_API_URL=slack.url)

    served = start(tmp_path, env=env)
    try:
        # fired: one message (after Slack's 429 and its Retry-After) for both contracts
        [first] = wait_for(lambda: posts(slack), timeout=40)
        assert slack.calls[0].answered == 429 and first.at - slack.calls[0].at >= 0.9
        assert first.token == TOKEN and first.args["channel"] == "C0123ABC"
        body = text_of(first)
        assert "shop.orders" in body and "shop.refunds" in body
        assert "https://wiki.example.com/orders" in body  # the runbook button
        assert "https://fresh.example.com/contracts/shop.orders" in body
        ts_value = first.reply["ts"]

        # a repeat: a reply in the thread of the original
        wait_for(lambda: replies(slack), timeout=40)
        assert all(r.args["thread_ts"] == ts_value for r in replies(slack))
        assert "still STALE" in str(replies(slack)[0].args.get("text"))
    finally:
        assert served.stop() == 0, served.log()

    # a restart between fired and resolved still edits the original message
    served = start(tmp_path, env=env, port=served.port)
    try:
        before = len(slack.answered("chat.update"))
        put_table(tmp_path / "wh.sqlite", "refunds", datetime.now(UTC))
        update = wait_for(
            lambda: [
                u for u in slack.answered("chat.update")[before:] if "RESOLVED" in text_of(u)
            ],
            timeout=40,
        )[0]
        assert (update.args["channel"], update.args["ts"]) == ("C0123ABC", ts_value)
        edited = text_of(update)
        assert "RESOLVED: shop.refunds" in edited and "STALE: shop.orders" in edited
        assert "late for" in edited
        wait_for(
            lambda: any("RESOLVED: shop.refunds" in str(r.args["text"]) for r in replies(slack)),
            timeout=20,
        )

        # the other contract of the grouped message resolves: edited again
        put_table(tmp_path / "wh.sqlite", "orders", datetime.now(UTC))
        wait_for(
            lambda: any(
                "RESOLVED: shop.orders" in text_of(u) for u in slack.answered("chat.update")
            ),
            timeout=40,
        )
    finally:
        assert served.stop() == 0, served.log()
    assert len(posts(slack)) == 1  # one message for the whole incident
    assert {u.args["ts"] for u in slack.answered("chat.update")} == {ts_value}
    assert {r.args["thread_ts"] for r in replies(slack)} == {ts_value}
    assert TOKEN not in served.log()
    print(
        f"\nslack: {len(posts(slack))} post, {len(replies(slack))} replies, "
        f"{len(slack.answered('chat.update'))} updates, 429 honoured"
    )


def test_an_edit_waits_behind_its_original_and_posts_anew_if_the_original_failed_for_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.alerts.facts import AlertFacts
    from monitor.alerts.lifecycle import Kind
    from monitor.alerts.render import Links
    from monitor.alerts.slackbot import SlackBotSender, plan_rows
    from monitor.core.models import Status
    from monitor.store import Store

    api = SlackApi(rate_limit_first=False, refuse_posts=1)
    monkeypatch.setenv("FRESH_SLACK_API_URL", api.url)
    url = f"slackbot://{TOKEN}/ops-alerts"
    t0 = datetime(2026, 12, 4, 10, tzinfo=UTC)

    def facts(kind: Kind, status: Status, at: datetime) -> AlertFacts:
        return AlertFacts("shop.orders", kind, status, Status.STALE if kind is not Kind.FIRED
                          else Status.FRESH, at, "ops", "warning", "main",
                          last_update=t0 - timedelta(hours=2), checked_at=at)  # fmt: skip

    try:
        with Store.open("sqlite:///state.db", tmp_path) as store:
            store.migrate()
            sender = SlackBotSender(store, lambda: Links(None, None), now=lambda: t0)
            with store.write() as conn:
                [post] = plan_rows(conn, "u", "ops", [facts(Kind.FIRED, Status.STALE, t0)],
                                   {"shop.orders": 1}, t0)  # fmt: skip
                [early] = plan_rows(conn, "u", "ops", [facts(Kind.REPEATED, Status.STALE, t0)],
                                    {"shop.orders": 1}, t0)  # fmt: skip
            # the edit queued behind an original not posted yet waits (a retryable failure)
            waiting = sender.send(url, early)
            assert not waiting.ok and not waiting.permanent and "waiting" in str(waiting.error)
            # the original is refused for good (channel_not_found)
            refused = sender.send(url, post)
            assert not refused.ok and refused.permanent
            # so the edit posts the message anew, and later edits edit that one
            assert sender.send(url, early).ok
            later = t0 + timedelta(minutes=5)
            with store.write() as conn:
                [resolve] = plan_rows(conn, "u", "ops", [facts(Kind.RESOLVED, Status.FRESH, later)],
                                      {"shop.orders": 1}, later)  # fmt: skip
            assert sender.send(url, resolve).ok
    finally:
        api.stop()
    [posted] = api.answered("chat.postMessage")[:1]
    [update] = api.answered("chat.update")
    assert update.args["ts"] == posted.reply["ts"] and update.args["channel"] == "C0123ABC"
    assert "RESOLVED: shop.orders" in text_of(update) and "late for 5m" in text_of(update)
    assert [c.args["channel"] for c in api.calls][:2] == ["ops-alerts", "ops-alerts"]


def test_notify_test_posts_a_plain_message_through_the_slack_app(
    tmp_path: Path, slack: SlackApi
) -> None:
    from tests.integration.cli_project import fresh

    write_project(tmp_path, FRESH_YML.format(token=TOKEN), {"c.yml": CHECKS})
    res = fresh("notify-test", "ops", cwd=tmp_path, env=clean_env(FRESH_SLACK_API_URL=slack.url))
    assert res.returncode == 0, res.stdout + res.stderr
    assert TOKEN not in res.stdout and "ok      slackbot://" in res.stdout
    [post] = slack.answered("chat.postMessage")
    assert post.args["channel"] == "C0123ABC" and "fresh test alert for ops" in post.args["text"]


def test_with_send_resolved_off_a_resolve_edits_the_message_without_a_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.alerts.facts import AlertFacts
    from monitor.alerts.lifecycle import Kind
    from monitor.alerts.render import Links
    from monitor.alerts.slackbot import SlackBotSender, plan_rows
    from monitor.core.models import Status
    from monitor.store import Store

    api = SlackApi(rate_limit_first=False)
    monkeypatch.setenv("FRESH_SLACK_API_URL", api.url)
    url = f"slackbot://{TOKEN}/C0123ABC"
    t0 = datetime(2026, 12, 4, 10, tzinfo=UTC)

    def facts(kind: Kind, status: Status, previous: Status, at: datetime) -> AlertFacts:
        return AlertFacts("shop.orders", kind, status, previous, at, "ops", "warning", "main",
                          last_update=t0 - timedelta(hours=2), checked_at=at)  # fmt: skip

    try:
        with Store.open("sqlite:///state.db", tmp_path) as store:
            store.migrate()
            sender = SlackBotSender(store, lambda: Links(None, None), now=lambda: t0)
            with store.write() as conn:
                [post] = plan_rows(conn, "u", "ops",
                                   [facts(Kind.FIRED, Status.STALE, Status.FRESH, t0)],
                                   {"shop.orders": 1}, t0, send_resolved=False)  # fmt: skip
            assert sender.send(url, post).ok
            later = t0 + timedelta(minutes=3)
            with store.write() as conn:
                [edit] = plan_rows(conn, "u", "ops",
                                   [facts(Kind.RESOLVED, Status.FRESH, Status.STALE, later)],
                                   {"shop.orders": 1}, later, send_resolved=False)  # fmt: skip
            assert sender.send(url, edit).ok
    finally:
        api.stop()
    [update] = api.answered("chat.update")
    assert "RESOLVED: shop.orders" in text_of(update) and "late for 3m" in text_of(update)
    assert replies(api) == []  # no thread reply without send_resolved
