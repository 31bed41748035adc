"""Delivery decisions that need no network: HTTP status parsing, permanence, back-off."""

from __future__ import annotations

from datetime import timedelta

from monitor.alerts.outbox import backoff
from monitor.alerts.render import Message
from monitor.alerts.sender import FakeSender, SendResult, http_status


def test_the_http_status_is_read_from_apprise_log_lines() -> None:
    assert (
        http_status(["Failed to send JSON POST notification: Page not found., error=404."]) == 404
    )
    assert http_status(["Failed to send to Slack: Internal Server Error, error=500."]) == 500
    assert http_status(["A Connection error occurred posting to Slack."]) is None


def test_only_a_4xx_other_than_timeouts_and_rate_limits_is_permanent() -> None:
    assert SendResult(False, "x", status=404).permanent
    assert SendResult(False, "x", status=401).permanent
    assert not SendResult(False, "x", status=429).permanent
    assert not SendResult(False, "x", status=408).permanent
    assert not SendResult(False, "x", status=500).permanent
    assert not SendResult(False, "connection refused").permanent
    assert not SendResult(True, status=404).permanent


def test_back_off_doubles_from_five_seconds_up_to_five_minutes() -> None:
    waits = [backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert backoff(10_000) == timedelta(minutes=5)


def test_the_fake_sender_records_what_it_was_given_and_can_fail() -> None:
    calls = {"n": 0}

    def fail_once(url: str, msg: Message) -> SendResult | None:
        calls["n"] += 1
        return SendResult(False, "down", status=503) if calls["n"] == 1 else None

    sender = FakeSender(fail=fail_once)
    msg = Message("t", "b", "text", "info")
    assert not sender.send("json://x/h", msg).ok
    assert sender.send("json://x/h", msg).ok
    assert len(sender.attempts) == 2 and sender.sent == [("json://x/h", msg)]
