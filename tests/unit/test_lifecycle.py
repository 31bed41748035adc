"""The alert lifecycle of one contract, driven by a fake clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.alerts.lifecycle import AlertState, Kind, Policy, close, step
from monitor.core.clock import FakeClock
from monitor.core.models import Status

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
POLICY = Policy(repeat_every=timedelta(hours=4))


def run(states: list[tuple[timedelta, Status]], policy: Policy = POLICY) -> list[tuple[str, str]]:
    """Feed (offset, status) observations; return (kind, status) of each transition."""
    clock, state, out = FakeClock(T0), AlertState("orders"), []
    for offset, status in states:
        clock.set(T0 + offset)
        state, t = step(state, status, clock.now(), policy)
        if t is not None:
            out.append((t.kind.value, t.status.value))
    return out


def test_it_fires_when_a_contract_goes_stale() -> None:
    assert run([(timedelta(0), Status.FRESH), (timedelta(minutes=5), Status.STALE)]) == [
        ("fired", "stale")
    ]


def test_a_contract_first_seen_stale_fires_at_once() -> None:
    assert run([(timedelta(0), Status.STALE)]) == [("fired", "stale")]


def test_a_contract_first_seen_fresh_says_nothing() -> None:
    assert run([(timedelta(0), Status.FRESH), (timedelta(minutes=5), Status.FRESH)]) == []


def test_warn_does_not_page_unless_it_is_in_notify_on() -> None:
    quiet = [(timedelta(0), Status.FRESH), (timedelta(minutes=1), Status.WARN)]
    assert run(quiet) == []
    loud = Policy(notify_on=frozenset({Status.WARN, Status.STALE, Status.ERROR}))
    assert run(quiet, loud) == [("fired", "warn")]


def test_moving_from_stale_to_error_says_so() -> None:
    clock, state = FakeClock(T0), AlertState("orders", status=Status.FRESH)
    state, fired = step(state, Status.STALE, clock.now(), POLICY)
    clock.advance(timedelta(minutes=3))
    state, changed = step(state, Status.ERROR, clock.now(), POLICY)
    assert fired is not None and changed is not None
    assert (changed.kind, changed.previous, changed.status) == (
        Kind.CHANGED,
        Status.STALE,
        Status.ERROR,
    )
    assert changed.episode == fired.episode  # the same alert, not a new one


def test_it_repeats_every_repeat_every_while_it_stays_stale() -> None:
    obs = [(timedelta(0), Status.STALE)] + [
        (timedelta(minutes=m), Status.STALE) for m in range(5, 13 * 60, 5)
    ]
    assert run(obs) == [("fired", "stale"), ("repeated", "stale"), ("repeated", "stale"),
                        ("repeated", "stale")]  # at 4h, 8h, 12h


def test_the_owner_repeat_every_overrides_the_default() -> None:
    policy = Policy.of(["stale", "error"], timedelta(hours=4), True, timedelta(hours=1))
    assert policy.repeat_every == timedelta(hours=1)
    obs = [(timedelta(minutes=m), Status.STALE) for m in range(0, 181, 10)]
    assert [k for k, _ in run(obs, policy)] == ["fired", "repeated", "repeated", "repeated"]


def test_it_resolves_once_when_the_contract_is_fresh_again() -> None:
    obs = [(timedelta(0), Status.STALE), (timedelta(hours=1), Status.FRESH),
           (timedelta(hours=2), Status.FRESH)]
    assert run(obs) == [("fired", "stale"), ("resolved", "fresh")]


def test_going_from_stale_to_warn_resolves_when_warn_does_not_page() -> None:
    obs = [(timedelta(0), Status.STALE), (timedelta(hours=1), Status.WARN)]
    assert run(obs) == [("fired", "stale"), ("resolved", "warn")]


def test_a_repeat_is_not_due_right_after_a_change() -> None:
    obs = [(timedelta(0), Status.STALE), (timedelta(hours=3), Status.ERROR),
           (timedelta(hours=5), Status.ERROR), (timedelta(hours=7), Status.ERROR)]
    assert run(obs) == [("fired", "stale"), ("changed", "error"), ("repeated", "error")]


def test_stepping_twice_with_the_same_input_records_nothing_more() -> None:
    state = AlertState("orders", status=Status.FRESH)
    state, t = step(state, Status.STALE, T0, POLICY)
    assert t is not None
    again, t2 = step(state, Status.STALE, T0, POLICY)
    assert t2 is None and again == state


def test_transitions_are_numbered_per_contract_and_episodes_per_alert() -> None:
    state, seen = AlertState("orders"), []
    for i, status in enumerate([Status.STALE, Status.FRESH, Status.ERROR, Status.FRESH]):
        state, t = step(state, status, T0 + timedelta(minutes=i), POLICY)
        assert t is not None
        seen.append((t.seq, t.episode, t.kind.value))
    assert seen == [(1, 1, "fired"), (2, 1, "resolved"), (3, 2, "fired"), (4, 2, "resolved")]


def test_the_state_survives_a_restart_and_repeats_continue_on_schedule() -> None:
    """The state is a plain value the store keeps: a new process continues from it."""
    state, _ = step(AlertState("orders", status=Status.FRESH), Status.STALE, T0, POLICY)
    stored = AlertState(**state.__dict__)  # what a restarted process reads back
    _, nothing = step(stored, Status.STALE, T0 + timedelta(hours=3, minutes=59), POLICY)
    assert nothing is None
    _, repeat = step(stored, Status.STALE, T0 + timedelta(hours=4), POLICY)
    assert repeat is not None and repeat.kind is Kind.REPEATED and repeat.seq == 2


def test_a_muted_alert_sends_one_repeat_when_its_silence_ends() -> None:
    state, t = step(AlertState("orders", status=Status.FRESH), Status.STALE, T0, POLICY)
    assert t is not None
    state = replace(state, muted=True)  # what the outbox records for a silenced send
    state, none = step(state, Status.STALE, T0 + timedelta(minutes=30), POLICY, silenced=True)
    assert none is None
    state, after = step(state, Status.STALE, T0 + timedelta(hours=1), POLICY, silenced=False)
    assert after is not None and after.kind is Kind.REPEATED and after.reason == "silence ended"
    state, once = step(state, Status.STALE, T0 + timedelta(hours=1, minutes=1), POLICY)
    assert once is None
    assert state.next_repeat_at == T0 + timedelta(hours=5)


def test_a_removed_contract_closes_its_open_alert_silently() -> None:
    state, _ = step(AlertState("orders"), Status.STALE, T0, POLICY)
    closed, t = close(state, T0 + timedelta(hours=1))
    assert t is not None and t.kind is Kind.CLOSED and not closed.open
    assert close(closed, T0 + timedelta(hours=2)) == (closed, None)


def test_a_removed_contract_without_an_open_alert_records_nothing() -> None:
    state, _ = step(AlertState("orders"), Status.FRESH, T0, POLICY)
    assert close(state, T0) == (state, None)


def test_every_write_bumps_the_version_used_for_compare_and_set() -> None:
    state = AlertState("orders")
    s1, _ = step(state, Status.FRESH, T0, POLICY)
    s2, _ = step(s1, Status.STALE, T0, POLICY)
    assert (state.version, s1.version, s2.version) == (0, 1, 2)
