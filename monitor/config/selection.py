"""`--select` forms: a name glob, `owner:X`, `tag:X`, `warehouse:X`. Any may match."""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase

from monitor.core.errors import UsageError
from monitor.core.models import Contract

_KEYS = ("owner", "tag", "warehouse")
# A `key:` prefix spelled like a key (ASCII letters, digits, `_`) must be one of ours: a typo
# (`ownr:ops`) would select nothing. Both are also the API document's rule for `select=`
# (same syntax in Python and ECMAScript regular expressions).
KEY_PREFIX = r"^[A-Za-z_][A-Za-z0-9_]*:"
KNOWN_PREFIX = r"^(owner|tag|warehouse|name|contract):"
_KEY_PREFIX, _KNOWN_PREFIX = re.compile(KEY_PREFIX), re.compile(KNOWN_PREFIX)


def matches(contract: Contract, selector: str) -> bool:
    """True when `contract` matches one selector."""
    key, sep, value = selector.partition(":")
    if sep and key in _KEYS:
        if key == "owner":
            return fnmatchcase(contract.owner, value)
        if key == "tag":
            return any(fnmatchcase(t, value) for t in contract.tags)
        return fnmatchcase(contract.warehouse, value)
    if sep and key in ("name", "contract"):
        return fnmatchcase(contract.name, value)
    return fnmatchcase(contract.name, selector)


def validate_selector(selector: str) -> None:
    """Raise UsageError for a `key:` prefix we do not know (a typo would select nothing)."""
    if _KEY_PREFIX.match(selector) and not _KNOWN_PREFIX.match(selector):
        key = selector.partition(":")[0]
        raise UsageError(f"unknown selector {key!r} in {selector!r} (use owner:, tag:, warehouse:)")


def select(contracts: Iterable[Contract], selectors: Iterable[str]) -> tuple[Contract, ...]:
    """Contracts matching any of `selectors`; all of them when there are none."""
    sels = list(selectors)
    for s in sels:
        validate_selector(s)
    if not sels:
        return tuple(contracts)
    return tuple(c for c in contracts if any(matches(c, s) for s in sels))
