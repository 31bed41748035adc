"""Value checks shared by fresh.yml's validators (settings_lean.py, settings_schema.py)
and the contract readers: durations with units, match values as written, URL and time
zone checks, the did-you-mean rule, and the error that points at one item of a list.
No pydantic here: `fresh check` imports this module on every run.
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Any

from monitor.core.durations import parse_duration
from monitor.core.links import safe_link

SEVERITIES = ("info", "warning", "critical")


def duration_value(value: Any) -> timedelta:
    """A duration as fresh.yml writes it (`30s`, `4h`); a bare number is refused."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"duration {value!r} needs a unit (e.g. {value}s, {value}m)")
    return parse_duration(str(value))


def match_text(value: Any) -> Any:
    """A route or window `match` value as text."""
    # YAML reads `pii: false` as a bool; a route matches it as the text users wrote.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


class ItemError(ValueError):
    """A ValueError about one item of a list or mapping; config.py points at that item."""

    def __init__(self, message: str, item: int | str, at_key: bool = False) -> None:
        super().__init__(message)
        self.item = item
        self.at_key = at_key


def did_you_mean(word: str, choices: Any, n: int = 1) -> str:
    """` (did you mean 'x'?)` (up to `n` close choices, joined by "or"), or "" when nothing
    is close. The one spelling-suggestion rule of config errors, the CLI and the ping API."""
    close = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def check_timezone(name: str) -> str:
    """Return `name` if it is an IANA time zone, else raise ValueError with a suggestion."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(name, available_timezones())
        raise ValueError(f"unknown time zone {name!r}{hint} (use an IANA name)") from None
    return name


# Messages below never repeat a URL: one that failed to parse may hold a password in
# a place `mask_url` does not recognise.
def check_url(url: str) -> str:
    """A warehouse or state URL: scheme://…"""
    if "://" not in url:
        raise ValueError("not a URL (expected scheme://…, e.g. duckdb:///warehouse.duckdb)")
    return url


def check_notify(url: str) -> str:
    """A notify URL: scheme://…"""
    if "://" not in url:
        raise ValueError("not an apprise URL (expected scheme://…, e.g. mailto://… or slack://…)")
    return url


def check_http(url: str | None) -> str | None:
    """A link fresh renders: http(s) only."""
    if url is not None and safe_link(url) is None:
        raise ValueError("expected an http:// or https:// URL")
    return url
