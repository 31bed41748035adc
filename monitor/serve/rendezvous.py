"""Who should hold which contract (SPEC section 9): rendezvous (highest-random-weight)
hashing of (contract, replica) over the live replicas. Pure: every replica computes the same
answer from the same membership, load spreads evenly, and when a replica joins or leaves
only the contracts it gains or loses move. The leases that act on it: serve/leases.py.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence


def weight(contract: str, replica: str) -> int:
    """The rendezvous weight of (contract, replica): a stable 64-bit hash."""
    digest = hashlib.blake2b(
        f"{contract}\x00{replica}".encode(), digest_size=8, person=b"fresh-hrw"
    ).digest()
    return int.from_bytes(digest, "big")


def rightful_holder(contract: str, replicas: Sequence[str]) -> str | None:
    """The live replica that should check `contract` (None when there is none)."""
    if not replicas:
        return None
    return max(replicas, key=lambda r: (weight(contract, r), r))


def share_of(replica: str, contracts: Iterable[str], replicas: Sequence[str]) -> set[str]:
    """The contracts `replica` should hold when `replicas` are the live ones."""
    live = sorted(set(replicas) | {replica})
    return {c for c in contracts if rightful_holder(c, live) == replica}


@functools.lru_cache(maxsize=4)
def cached_share(
    replica: str, contracts: tuple[str, ...], replicas: tuple[str, ...]
) -> frozenset[str]:
    """`share_of`, remembered for the last few (replica, contracts, replicas) asked."""
    # Every lease round asks again with the same contracts and, nearly always, the same
    # live replicas: 100,000 contracts x 3 replicas are 300,000 hashes (0.25 s of CPU) per
    # round, every lease_ttl / 3. The key hashes and compares the names, ~1 ms. Room for
    # the three keepers the tests and bench/lease_rounds.py run in one process (with two,
    # they evicted each other and every round hashed again).
    return frozenset(share_of(replica, contracts, replicas))
