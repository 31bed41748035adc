"""`learn:` on a contract (SPEC 13): the config keys, evaluate() with history, the JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.evaluate import evaluate, next_check_at
from monitor.core.models import (
    Contract,
    Expectation,
    HeartbeatSource,
    Learn,
    Reading,
    Status,
    TableSource,
)
from monitor.report.results import verdict_to_json
from tests.unit.configkit import load, one_contract, problems

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday


def loaded(tmp_path: Path, body: str) -> Contract:
    (c,) = load(tmp_path, checks={"a.yml": one_contract(body)}).contracts
    return c


def test_learn_true_alone_is_an_expectation(tmp_path: Path) -> None:
    c = loaded(tmp_path, "name: t\nowner: o\nheartbeat: {}\nlearn: true")
    assert c.expectation.learn == Learn(window=35 * D, backfill=True)
    assert c.expectation.warn_after is None and c.expectation.error_after is None


def test_learn_takes_a_window_and_backfill_beside_fixed_limits(tmp_path: Path) -> None:
    c = loaded(
        tmp_path,
        "name: t\nowner: o\nheartbeat: {}\nerror_after: 2d\nlearn: {window: 21d, backfill: false}",
    )
    assert c.expectation.learn == Learn(window=21 * D, backfill=False)
    assert c.expectation.error_after == 2 * D


def test_learn_false_is_no_expectation(tmp_path: Path) -> None:
    found = problems(
        tmp_path, checks={"a.yml": one_contract("name: t\nowner: o\nheartbeat: {}\nlearn: false")}
    )
    assert found == [
        "checks/a.yml:2:5: an expectation is required: give warn_after and/or error_after, "
        "or learn"
    ]


@pytest.mark.parametrize(
    ("learn", "expected"),
    [
        (
            'learn: true\nschedule: "0 6 * * *"',
            "checks/a.yml:5:12: learn: cannot be combined with schedule "
            "(learn finds the rhythm itself)",
        ),
        ("learn: {window: 2d}", "checks/a.yml:5:21: learn.window: must be at least 3d"),
        ("learn: {window: 35}", "checks/a.yml:5:21: learn.window: invalid duration '35' "
         "(use e.g. 90s, 20m, 1h30m, 2d)"),
        ("learn: {backfill: maybe}", "checks/a.yml:5:23: learn.backfill: expected true or false"),
        ("learn: {windw: 35d}", "checks/a.yml:5:13: unknown key 'windw' in learn "
         "(did you mean 'window'?)"),
        (
            "learn: weekly",
            "checks/a.yml:5:12: learn: expected true or a mapping (window, backfill)",
        ),
    ],
)
def test_learn_problems_are_reported_at_their_position(
    tmp_path: Path, learn: str, expected: str
) -> None:
    body = f"name: t\nowner: o\nheartbeat: {{}}\n{learn}"
    found = problems(tmp_path, checks={"a.yml": one_contract(body)})
    assert expected in found, found


# --- evaluate() with history -----------------------------------------------------------------


def learner(warn: timedelta | None = None, error: timedelta | None = None) -> Contract:
    return Contract(
        name="shop.orders",
        owner="ops",
        warehouse="main",
        source=TableSource("shop.orders", "_loaded_at"),
        expectation=Expectation(warn_after=warn, error_after=error, learn=Learn()),
    )


def hourly(until: datetime, days: int = 35) -> list[datetime]:
    return [until - i * H for i in range(days * 24)]


def test_a_learner_with_too_little_history_is_fresh_and_says_it_is_learning() -> None:
    v = evaluate(learner(), Reading("shop.orders", NOW - 5 * H), NOW, hourly(NOW - 5 * H, 1))
    assert v.status is Status.FRESH and v.warn_at is None and v.error_at is None
    assert v.detail == "learning: 24 updates seen since 2026-11-23 06:00 UTC"
    assert v.description == "fresh: updated 5h ago, still learning when it usually updates"
    assert v.learned_warn_after is None


def test_while_learning_the_fixed_limits_decide() -> None:
    v = evaluate(learner(error=2 * H), Reading("shop.orders", NOW - 3 * H), NOW, [])
    assert v.status is Status.STALE
    assert v.description == "stale: last update 3h ago, limit 2h"


def test_an_hourly_table_missing_its_hours_is_stale_with_the_reason_in_words() -> None:
    last = NOW - 2 * H
    v = evaluate(learner(), Reading("shop.orders", last), NOW, hourly(last))
    assert v.status is Status.STALE
    assert v.detail == (
        "at Tue 10:00 UTC the data was at most 1h old in the last 4 weeks, "
        "the worst one left out; now 2h old"
    )
    assert v.description == "stale: 2h old, usually at most 1h at this time"
    # U = 1h, slack 15m: warn at 1h 7m 30s, stale at 1h 15m of age.
    assert v.warn_at == last + H + 7 * M + 30 * timedelta(seconds=1)
    assert v.error_at == last + H + 15 * M
    assert v.learned_warn_after == H + 7.5 * M and v.learned_error_after == H + 15 * M


def test_a_fresh_learner_knows_its_deadline_ahead() -> None:
    last = NOW - 20 * M
    v = evaluate(learner(), Reading("shop.orders", last), NOW, hourly(last))
    assert v.status is Status.FRESH and v.error_at == last + H + 15 * M
    assert v.description == (
        "fresh: updated 20m ago, usually at most 1h at this time (stale at 10:55 UTC)"
    )


def test_a_tighter_fixed_limit_comes_first() -> None:
    last = NOW - 50 * M
    v = evaluate(learner(error=45 * M), Reading("shop.orders", last), NOW, hourly(last))
    assert v.status is Status.STALE and v.error_at == last + 45 * M
    assert v.description == "stale: last update 50m ago, limit 45m"
    assert v.learned_error_after == 45 * M


def test_a_learned_heartbeat_run_unfinished_past_u_plus_slack_is_hung() -> None:
    c = Contract(
        name="job", owner="o", warehouse="", source=HeartbeatSource(),
        expectation=Expectation(learn=Learn()),
    )  # fmt: skip
    # A run started 4 minutes after the last success: fresh while young, hung once older
    # than the learned U + slack (1h 15m for an hourly job).
    later = NOW + 10 * M
    v = evaluate(c, Reading("job", NOW - 5 * M, started_at=NOW - 4 * M), later, hourly(NOW - 5 * M))
    assert v.status is Status.FRESH
    v = evaluate(c, Reading("job", NOW - 5 * M, started_at=NOW - 4 * M), NOW + 80 * M,
                 hourly(NOW - 5 * M))  # fmt: skip
    assert v.status is Status.STALE and v.description.startswith("stale: started 1h 24m ago")


def test_the_json_says_learned_and_carries_the_learned_limits() -> None:
    last = NOW - 20 * M
    c = learner()
    out = verdict_to_json(c, evaluate(c, Reading("shop.orders", last), NOW, hourly(last)))
    assert out["learned"] is True
    assert out["warn_after_seconds"] == 4050 and out["error_after_seconds"] == 4500
    plain = Contract("p", "o", "main", TableSource("p", "c"), Expectation(warn_after=H))
    assert "learned" not in verdict_to_json(
        plain, evaluate(plain, Reading("p", NOW), NOW)
    )


def test_serve_looks_again_at_the_learned_deadline_not_on_a_faster_poll() -> None:
    last = NOW - 20 * M
    v = evaluate(learner(), Reading("shop.orders", last), NOW, hourly(last))
    assert v.warn_at is not None and v.warn_at < NOW + H
    # check_every 1h: the next check is the learned warn deadline (then the stale one).
    assert next_check_at(v, H, NOW) == v.warn_at
    later = evaluate(learner(), Reading("shop.orders", last), v.warn_at, hourly(last))
    assert later.status is Status.WARN
    assert next_check_at(later, H, v.warn_at) == later.error_at
