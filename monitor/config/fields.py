"""Reading one contract's YAML map: typed getters that collect problems with positions.

Shared by `contracts` (the contract's own keys) and `source_specs` (its source block).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

from monitor.config.values import did_you_mean
from monitor.config.yamlpos import Pos, YList, YMap
from monitor.core.durations import parse_duration
from monitor.core.errors import Problem

SOURCES = ("table", "query", "files", "run_log", "heartbeat", "openlineage", "delta", "iceberg")
# Table formats read from their own logs, not through a warehouse (SPEC 14).
LAKE_SOURCES = ("delta", "iceberg")
LAKE_WAREHOUSE = "lake"


@dataclass
class Warehouses:
    """What contracts need to know of fresh.yml: warehouse names and URLs (None = unknown).

    `known` is False when fresh.yml could not be read far enough to list its warehouses;
    contracts are then checked without them, so one broken file does not drown the report
    in "unknown warehouse" errors.
    """

    urls: Mapping[str, str | None]
    known: bool = True
    default: str | None = field(init=False)

    def __post_init__(self) -> None:
        names = list(self.urls)
        self.default = "main" if "main" in self.urls else (names[0] if len(names) == 1 else None)
        if not self.known:
            self.default = "main"


class Reader:
    """Reads one contract (its map merged over the file's `defaults`) and collects problems."""

    def __init__(self, path: str, item: YMap, defaults: YMap, out: list[Problem]) -> None:
        self.path, self.c, self.d, self.out = path, item, defaults, out
        self.ok = True

    def has(self, key: str) -> bool:
        return key in self.c or key in self.d

    def get(self, key: str) -> Any:
        return self.c[key] if key in self.c else self.d.get(key)

    def pos(self, key: str) -> Pos:
        if key in self.c:
            return self.c.val_pos(key)
        if key in self.d:
            return self.d.val_pos(key)
        return self.c.pos

    def error(self, pos: Pos, message: str) -> None:
        self.ok = False
        self.out.append(Problem(self.path, pos.line, pos.col, message))

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.get(key)
        if value is None:
            if required:
                self.error(self.c.pos, f"missing required key {key!r}")
            return None
        if isinstance(value, bool | YMap | YList):
            self.error(self.pos(key), f"{key}: expected text, got {kind_of(value)}")
            return None
        return str(value)

    def duration(self, key: str) -> timedelta | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.error(self.pos(key), f"{key}: duration {value!r} needs a unit (e.g. {value}m)")
            return None
        try:
            return _parse_duration(str(value))
        except ValueError as exc:
            self.error(self.pos(key), f"{key}: {exc}")
            return None

    def words(self, value: Any, key: str, pos: Pos) -> tuple[str, ...]:
        """A list of text (a single text is a list of one)."""
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, YList) and all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
        ):
            return tuple(str(v) for v in value)
        self.error(pos, f"{key}: expected a list of text")
        return ()


def kind_of(value: Any) -> str:
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YList):
        return "a list"
    return type(value).__name__


_ALLOWED: dict[tuple[str, ...], frozenset[str]] = {}


@lru_cache(maxsize=4096)
def _parse_duration(text: str) -> timedelta:
    # The same few durations ("20m", "1h") repeat across thousands of contracts.
    return parse_duration(text)


def unknown_keys(
    path: str, m: YMap, allowed: tuple[str, ...], out: list[Problem], where: str = ""
) -> bool:
    """Report keys of `m` not in `allowed`; True when there was one."""
    if m.keys() <= _ALLOWED.setdefault(allowed, frozenset(allowed)):
        return False
    for key in m:
        if key not in allowed:
            p = m.key_pos(key)
            out.append(
                Problem(
                    path, p.line, p.col, f"unknown key {key!r}{where}{did_you_mean(key, allowed)}"
                )
            )
    return True


def guard(r: Reader, key: str, check: Callable[[str], str | None], value: str | None) -> None:
    if value is not None:
        why = check(value)
        if why:
            r.error(r.pos(key), f"{key}: {why}")
