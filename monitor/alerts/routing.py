"""Where an alert goes, and whether a silence mutes it: pure functions of the settings.

An alert goes to its owner's `notify` URLs, else to `alerts.fallback` (also for an owner
not declared under `owners:`), and to the `routes` as Alertmanager walks them: every route
whose `match` fits is taken, in order, until a taken route does not say `continue: true`.
A `match` (and a silence) may name `contract` (a glob), `owner`, `tag`, `severity` and
`metadata.KEY`; every key given must fit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from monitor.config.settings import Settings

MATCH_KEYS = ("contract", "owner", "tag", "severity")


@dataclass(frozen=True)
class Subject:
    """The parts of a contract that routes and silences match on."""

    contract: str
    owner: str
    severity: str
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] | None = None


def _as_text(value: Any) -> str:
    # YAML gives booleans; users write `pii: false` in both places.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def matches(match: Mapping[str, str] | Sequence[tuple[str, str]], subject: Subject) -> bool:
    """Whether every key of `match` fits `subject` (an empty match fits everything).

    `match` is a route's dict, or a silence's (key, value) pairs (a key may repeat there:
    `tag:a tag:b` needs both tags).
    """
    pairs = match.items() if isinstance(match, Mapping) else match
    for key, raw in pairs:
        want = str(raw)
        if key == "contract":
            ok = fnmatchcase(subject.contract, want)
        elif key == "owner":
            ok = subject.owner == want
        elif key == "tag":
            ok = want in subject.tags
        elif key == "severity":
            ok = subject.severity == want
        elif key.startswith("metadata."):
            meta = subject.metadata or {}
            name = key.removeprefix("metadata.")
            ok = name in meta and _as_text(meta[name]) == _as_text(want)
        else:
            ok = False  # an unknown key never fits (validate reports it)
        if not ok:
            return False
    return True


def owner_urls(settings: Settings, owner: str) -> tuple[str, ...]:
    """The owner's notify URLs, or the fallback when it has none or is not declared."""
    declared = settings.owners.get(owner)
    if declared is not None and declared.notify:
        return tuple(declared.notify)
    return tuple(settings.alerts.fallback)


def route_urls(settings: Settings, subject: Subject) -> tuple[str, ...]:
    """URLs of the routes an alert takes, Alertmanager-style (first match, then continue)."""
    out: list[str] = []
    for route in settings.alerts.routes:
        if not matches(route.match, subject):
            continue
        out.extend(route.notify)
        if not route.continue_:
            break
    return tuple(out)


def destinations(settings: Settings, subject: Subject) -> tuple[str, ...]:
    """Every URL an alert about `subject` goes to, in order, each once."""
    return _unique((*owner_urls(settings, subject.owner), *route_urls(settings, subject)))


def _unique(urls: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(urls))


def url_id(url: str) -> str:
    """A stable name for a URL that reveals nothing of it (what the outbox stores)."""
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def all_urls(settings: Settings) -> dict[str, str]:
    """Every configured notify URL by its `url_id` (to resolve outbox rows at send time)."""
    urls: list[str] = list(settings.alerts.fallback)
    for owner in settings.owners.values():
        urls.extend(owner.notify)
    for route in settings.alerts.routes:
        urls.extend(route.notify)
    return {url_id(u): u for u in urls}


def notify_test_destinations(settings: Settings, owner: str) -> tuple[str, ...]:
    """Where `fresh notify-test OWNER` sends: the owner's URLs (or the fallback) and every
    route whose match names that owner."""
    routes = [u for r in settings.alerts.routes if r.match.get("owner") == owner for u in r.notify]
    return _unique((*owner_urls(settings, owner), *routes))


# --- Silences ------------------------------------------------------------------------------


def parse_matcher(text: str) -> tuple[str, str]:
    """`contract:GLOB`, `owner:X`, `tag:X` or `severity:X` → (key, value); ValueError else."""
    key, sep, value = text.partition(":")
    key, value = key.strip(), value.strip()
    if not sep or key not in MATCH_KEYS or not value:
        raise ValueError(
            f"invalid matcher {text!r}: use contract:GLOB, owner:X, tag:X or severity:X"
        )
    return key, value


def silenced(silences: Sequence[Sequence[tuple[str, str]]], subject: Subject) -> bool:
    """Whether any of the active silences (each a list of matchers) mutes `subject`."""
    return any(len(m) > 0 and matches(m, subject) for m in silences)
