"""The scrape cache (metrics_text.SeriesCache): the same bytes as the rendering it replaced,
through verdict changes, error counts, maintenance windows, reloads and lease moves, and
no contract rendered again while nothing it shows changed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.models import Contract, Expectation, Learn, Severity, Status, TableSource, Verdict
from monitor.serve import metrics_text
from monitor.serve.metrics import ServiceMetrics
from monitor.serve.metrics_text import SeriesCache
from tests.unit import metrics_reference

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
REPLICA = 'host:9184 "a"\\b'  # escaped in the error counter's label


def contracts(n: int, owner: str = "ops") -> tuple[Contract, ...]:
    out = []
    for i in range(n):
        warn = timedelta(minutes=20) if i % 3 else None
        error = timedelta(hours=1) if i % 4 else timedelta(0) if i % 8 == 0 else None
        out.append(
            Contract(
                name=f"c{i}",
                owner=owner if i % 5 else 'team "q"\n\\',
                warehouse="main",
                source=TableSource(table=f"t{i}", column="t"),
                expectation=Expectation(
                    warn_after=warn,
                    error_after=error if (warn or error) is not None else timedelta(hours=2),
                    learn=Learn() if i % 7 == 0 else None,
                ),
                severity=Severity.CRITICAL if i % 2 else Severity.WARNING,
                metadata={"domain": f"d{i % 3}", "pii": i % 2 == 0} if i % 6 else {},
            )
        )
    return tuple(out)


def verdict(c: Contract, rng: random.Random, k: int) -> Verdict:
    at = T0 + timedelta(minutes=5 * k, microseconds=rng.randrange(10**6))
    data = rng.random() < 0.8
    return Verdict(
        c.name,
        rng.choice(list(Status)),
        at,
        at - timedelta(minutes=rng.randrange(500)) if data else None,
        at + timedelta(minutes=rng.randrange(-50, 50)) if data else None,
        at + timedelta(minutes=rng.randrange(-50, 90)) if data else None,
        "d",
        learned_warn_after=timedelta(seconds=rng.randrange(1, 9999)) if k % 2 else None,
        learned_error_after=timedelta(seconds=rng.randrange(1, 9999)) if k % 3 else None,
    )


def reference(
    chosen: Sequence[Contract],
    keys: Sequence[str],
    states: dict[str, Verdict],
    errors: dict[str, int],
    maintenance: set[str],
) -> bytes:
    return metrics_reference.render_contract_series(
        chosen, keys, states, errors, REPLICA, None, maintenance
    ).encode()


def test_cached_rendering_is_byte_identical_through_changes_reloads_and_lease_moves() -> None:
    rng = random.Random(17)
    cache = SeriesCache(REPLICA)
    config = contracts(300)
    keys: list[str] = ["domain", "pii"]
    states = {c.name: verdict(c, rng, 0) for c in config if rng.random() < 0.9}
    errors: dict[str, int] = {}
    maintenance: set[str] = set()

    def check(chosen: Sequence[Contract]) -> None:
        got = b"".join(cache.stream(config, keys, chosen, states, errors, maintenance))
        assert got == reference(chosen, keys, states, errors, maintenance)

    check(config)
    # the store gives new, equal verdicts each scrape: nothing changes
    states = {n: replace(v) for n, v in states.items()}
    check(config)
    for k in range(1, 6):  # rounds: some verdicts change, some contracts get checked at last
        for c in rng.sample(config, 60):
            states[c.name] = verdict(c, rng, k)
        for c in rng.sample(config, 10):
            errors[c.name] = errors.get(c.name, 0) + 1
        maintenance ^= {c.name for c in rng.sample(config, 15)}
        check(config)
        # a lease move: this replica's share changes
        held = {c.name for c in rng.sample(config, 100)}
        check([c for c in config if c.name in held])
    # a reload: new contract objects (one owner changed), then other promoted labels
    config = contracts(300, owner="platform")
    check(config)
    keys = ["pii"]
    check(config)
    config = contracts(250, owner="platform")  # contracts removed
    states = {n: v for n, v in states.items() if int(n[1:]) < 250}
    check(config)


def test_a_scrape_between_rounds_renders_no_contract_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(3)
    config = contracts(50)
    states = {c.name: verdict(c, rng, 0) for c in config}
    rendered: list[str] = []
    real = metrics_text.contract_lines

    def counted(c: Contract, head: str, v: Verdict | None) -> tuple[str, str, str, str, str]:
        rendered.append(c.name)
        return real(c, head, v)

    monkeypatch.setattr(metrics_text, "contract_lines", counted)
    m = ServiceMetrics(
        REPLICA,
        "0.1.0",
        contracts=lambda: config,
        metric_labels=lambda: ["domain"],
        states=lambda: {n: replace(v) for n, v in states.items()},  # fresh from the store
    )
    first = m.render()
    assert len(rendered) == 50
    rendered.clear()
    second = m.render()
    assert rendered == []
    own = b"# HELP fresh_check_duration_seconds "  # this process's series come after
    body = first.split(own)[0]
    assert body == second.split(own)[0]
    assert body == reference(config, ["domain"], states, {}, set())
    states["c7"] = verdict(config[7], rng, 1)
    m.count_error("c9")
    m.render()
    assert sorted(rendered) == ["c7", "c9"]
