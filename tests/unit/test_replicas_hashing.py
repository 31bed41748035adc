"""Rendezvous hashing of contracts over replicas (monitor/serve/leases.py), pure."""

from __future__ import annotations

from collections import Counter

from monitor.serve.rendezvous import rightful_holder, share_of

NAMES = [f"schema_{i % 7}.table_{i}" for i in range(3000)]


def test_every_replica_computes_the_same_holder_whatever_the_order() -> None:
    a = ["r1:9184", "r2:9184", "r3:9184"]
    b = list(reversed(a))
    assert all(rightful_holder(n, a) == rightful_holder(n, b) for n in NAMES)


def test_load_spreads_evenly_over_three_replicas() -> None:
    live = ["host-a:9184", "host-b:9184", "host-c:9184"]
    counts = Counter(rightful_holder(n, live) for n in NAMES)
    assert set(counts) == set(live)
    assert max(counts.values()) < 0.37 * len(NAMES)  # a third, give or take


def test_a_joining_replica_takes_only_its_share_and_nothing_else_moves() -> None:
    before = ["a", "b", "c"]
    after = [*before, "d"]
    moved = [n for n in NAMES if rightful_holder(n, before) != rightful_holder(n, after)]
    assert all(rightful_holder(n, after) == "d" for n in moved)
    assert 0.18 * len(NAMES) < len(moved) < 0.32 * len(NAMES)


def test_a_leaving_replica_hands_only_its_own_contracts_to_the_others() -> None:
    before = ["a", "b", "c"]
    after = ["a", "b"]
    moved = {n for n in NAMES if rightful_holder(n, before) != rightful_holder(n, after)}
    assert moved == share_of("c", NAMES, before)


def test_the_shares_of_live_replicas_cover_every_contract_once() -> None:
    live = ["a", "b", "c"]
    shares = [share_of(r, NAMES, live) for r in live]
    assert sum(len(s) for s in shares) == len(NAMES)
    assert set().union(*shares) == set(NAMES)


def test_with_no_replica_listed_a_replica_counts_itself_live() -> None:
    assert share_of("solo", NAMES[:10], []) == set(NAMES[:10])
    assert rightful_holder("x", []) is None


def test_a_lease_round_computes_its_share_once_for_the_same_contracts_and_replicas() -> None:
    from monitor.serve.rendezvous import cached_share

    cached_share.cache_clear()
    names = tuple(NAMES)
    first = cached_share("a", names, ("a", "b", "c"))
    assert first == share_of("a", NAMES, ["a", "b", "c"])
    assert cached_share("a", tuple(NAMES), ("a", "b", "c")) is first  # an equal key: cached
    assert cached_share.cache_info().hits == 1
    # a replica leaving changes the answer
    assert cached_share("a", names, ("a", "b")) == share_of("a", NAMES, ["a", "b"]) != first
