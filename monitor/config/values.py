"""Value types and checks shared by fresh.yml's models (settings.py, alert_settings.py)
and the contract readers: durations with units, match values as written, URL and time
zone checks, the did-you-mean rule, and the error that points at one item of a list.
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from monitor.core.durations import parse_duration
from monitor.core.links import safe_link

SEVERITIES = ("info", "warning", "critical")


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"duration {value!r} needs a unit (e.g. {value}s, {value}m)")
    return parse_duration(str(value))


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _text(value: Any) -> Any:
    # YAML reads `pii: false` as a bool; a route matches it as the text users wrote.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


MatchValue = Annotated[str, BeforeValidator(_text)]

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
    if "://" not in url:
        raise ValueError("not a URL (expected scheme://…, e.g. duckdb:///warehouse.duckdb)")
    return url


def _check_notify(url: str) -> str:
    if "://" not in url:
        raise ValueError("not an apprise URL (expected scheme://…, e.g. mailto://… or slack://…)")
    return url


def check_http(url: str | None) -> str | None:
    if url is not None and safe_link(url) is None:
        raise ValueError("expected an http:// or https:// URL")
    return url


NotifyUrl = Annotated[str, AfterValidator(_check_notify)]


class Model(BaseModel):
    """A fresh.yml section: unknown keys are errors, values are frozen."""


    model_config = ConfigDict(extra="forbid", frozen=True)


