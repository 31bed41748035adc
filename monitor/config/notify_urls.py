"""Notify URLs that fresh speaks itself (not through apprise): their shape, checked by
`fresh validate` (through `monitor.alerts.sender.OWN_SCHEMES`) and read by the senders.
Messages never repeat the URL (it may hold a password or a token).

- `alertmanager://[user:pass@]HOST:PORT[/PATH]`, `alertmanagers://` (https): Alertmanager's
  API v2 (monitor/alerts/alertmanager.py).
- `slackbot://TOKEN/CHANNEL`: a Slack app's bot token and a channel ID or name without `#`
  (monitor/alerts/slackbot.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

ALERTMANAGER_SCHEMES = ("alertmanager", "alertmanagers")
SLACKBOT_SCHEME = "slackbot"


def scheme_of(url: str) -> str:
    """The URL's scheme, lower case."""
    return url.partition("://")[0].lower()


def is_alertmanager(url: str) -> bool:
    """Whether a notify URL is an Alertmanager destination."""
    return scheme_of(url) in ALERTMANAGER_SCHEMES


@dataclass(frozen=True)
class Target:
    """Where and how to POST: the API URL and the basic-auth pair, if any."""

    endpoint: str
    username: str | None = None
    password: str | None = None


def parse_alertmanager(url: str) -> Target:
    """`alertmanager[s]://[user:pass@]HOST:PORT[/PATH]` → its API v2 alerts endpoint.
    ValueError (never quoting the URL, which may hold a password) when malformed."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALERTMANAGER_SCHEMES:
        raise ValueError("not an alertmanager:// or alertmanagers:// URL")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the Alertmanager port is not a number (HOST:PORT)") from None
    if not parts.hostname:
        raise ValueError("the Alertmanager URL needs a host (HOST:PORT)")
    if parts.query or parts.fragment:
        raise ValueError("an Alertmanager URL takes no ?query or #fragment")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    base = "https" if scheme == "alertmanagers" else "http"
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return Target(
        f"{base}://{netloc}{quote(path)}/api/v2/alerts",
        unquote(parts.username) if parts.username is not None else None,
        unquote(parts.password) if parts.password is not None else None,
    )


def is_slackbot(url: str) -> bool:
    """Whether a notify URL is a Slack app destination (`slackbot://`)."""
    return scheme_of(url) == SLACKBOT_SCHEME


def parse_slackbot(url: str) -> tuple[str, str]:
    """`slackbot://TOKEN/CHANNEL` → (token, channel), both verbatim; ValueError else."""
    if not is_slackbot(url):
        raise ValueError("not a slackbot:// URL")
    rest = url.partition("://")[2]
    token, sep, channel = rest.partition("/")
    channel = channel.rstrip("/")
    if not token or not sep or not channel:
        raise ValueError("a Slack app URL is slackbot://TOKEN/CHANNEL (a bot token xoxb-…)")
    if "/" in channel or "?" in channel:
        raise ValueError("slackbot:// takes one channel after the token, and no ?query")
    if channel.startswith("#"):
        raise ValueError("give the Slack channel's ID (C0123ABC) or its name without '#'")
    if not token.startswith("xox"):
        raise ValueError("a Slack app token starts with xoxb- (the app's bot token)")
    return unquote(token), unquote(channel)
