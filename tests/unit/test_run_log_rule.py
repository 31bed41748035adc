"""The run-log rule on plain values: newest success, failures after it, other statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.core.models import Contract, Expectation, RunLogSource
from monitor.sources.run_log.rule import reading_for, summarize

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SRC = RunLogSource(job="j", file="runs.jsonl", success=("success", "pass"))
CONTRACT = Contract(
    name="c",
    owner="o",
    warehouse="main",
    source=SRC,
    expectation=Expectation(error_after=timedelta(hours=1)),
)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_the_newest_of_several_success_statuses_wins() -> None:
    runs = summarize([("success", at(0)), ("pass", at(2)), ("success", at(1))], SRC.success)
    assert runs.newest_success == at(2)
    assert not runs.since


def test_failures_before_or_at_the_newest_success_are_not_counted() -> None:
    runs = summarize(
        [("failed", at(-1)), ("success", at(0)), ("failed", at(0)), ("error", at(1))],
        SRC.success,
    )
    reading = reading_for(CONTRACT, runs, "runs.jsonl")
    assert reading.last_update == at(0)
    assert reading.detail == "1 failed run since the last success"


def test_runs_without_a_time_are_ignored_entirely() -> None:
    runs = summarize([("running", None), ("success", None)], SRC.success)
    assert runs.total == 0
    reading = reading_for(CONTRACT, runs, "runs.jsonl")
    assert reading.last_update is None
    assert reading.detail == "no run of job 'j' in runs.jsonl"


def test_failures_and_other_statuses_since_are_both_reported() -> None:
    runs = summarize(
        [("success", at(0)), ("failed", at(1)), ("failed", at(2)), ("skipped", at(3))],
        SRC.success,
    )
    reading = reading_for(CONTRACT, runs, "runs.jsonl")
    assert reading.detail == (
        "2 failed runs since the last success; other runs since: 'skipped' (1)"
    )


def test_only_unknown_statuses_is_no_data_naming_them_most_frequent_first() -> None:
    runs = summarize(
        [("ok", at(0)), ("ok", at(1)), ("done", at(2))],
        SRC.success,
    )
    reading = reading_for(CONTRACT, runs, "runs.jsonl")
    assert reading.last_update is None
    assert reading.error is None
    assert reading.detail == (
        "no successful run of job 'j' in runs.jsonl; "
        "other statuses seen: 'ok' (2), 'done' (1) (success is [success, pass])"
    )


def _summarize_by_definition(
    runs: list[tuple[str, datetime | None]], success: tuple[str, ...]
) -> tuple[datetime | None, dict[str, int], int]:
    timed = [(s, t) for s, t in runs if t is not None]
    newest = max((t for s, t in timed if s in success), default=None)
    since: dict[str, int] = {}
    for s, t in timed:
        if newest is None or (t > newest and s not in success):
            since[s] = since.get(s, 0) + 1
    return newest, since, len(timed)


def test_the_one_pass_fold_agrees_with_the_rule_on_shuffled_logs() -> None:
    import random

    rng = random.Random(11)
    for _ in range(30):
        n = rng.choice([0, 5, 3000, 9000])
        statuses = ["success", "pass", "error", "running", "skipped"]
        weights = [rng.random() for _ in statuses]
        runs: list[tuple[str, datetime | None]] = []
        for _ in range(n):
            when = None if rng.random() < 0.05 else at(rng.random() * 1000)
            runs.append((rng.choices(statuses, weights)[0], when))
        got = summarize(iter(runs), SRC.success)
        assert (got.newest_success, dict(got.since), got.total) == _summarize_by_definition(
            runs, SRC.success
        )


def test_a_long_log_is_folded_without_holding_its_runs() -> None:
    import tracemalloc

    def runs():  # type: ignore[no-untyped-def]
        for i in range(100_000):
            yield ("error" if i % 10 == 0 else "success"), at(i / 60)

    tracemalloc.start()
    try:
        got = summarize(runs(), SRC.success)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.total == 100_000 and got.newest_success == at(99_999 / 60)
    assert peak < 2 << 20, f"peak {peak >> 10} kB"
