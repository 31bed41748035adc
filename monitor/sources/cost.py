"""What fresh costs a warehouse (SPEC 14): statements sent, and the tag sessions carry.

`count` is called for every statement a reader sends, session set-up included (time zone,
read-only, timeouts, a driver's ping): `fresh_warehouse_statements_total{warehouse}` exports
the totals of this process. Counts live for the process; a thread-safe dict is enough.
"""

from __future__ import annotations

import threading

_COUNTS: dict[str, int] = {}
_LOCK = threading.Lock()


def count(warehouse: str | None, n: int = 1) -> None:
    """Record `n` statements sent to `warehouse`."""
    with _LOCK:
        key = warehouse or ""
        _COUNTS[key] = _COUNTS.get(key, 0) + n


def statements() -> dict[str, int]:
    """Statements sent per warehouse since the process started."""
    with _LOCK:
        return dict(_COUNTS)


def tag_comment(tag: str) -> str:
    """The leading comment that tags a statement where the session cannot carry a tag."""
    return f"/* {tag} */ " if tag else ""
