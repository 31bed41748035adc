"""The one rule for which user-written URLs may become clickable links.

A contract's `metadata.runbook`, `server.dashboard_url` and `server.public_url` are written
by whoever edits the YAML. Rendered as an `href` (status page) or a Markdown link (Slack),
a `javascript:` or `data:` URL would run in the reader's browser, so everything that renders
a link asks `safe_link` first and shows anything else as plain text.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["is_safe_link", "safe_link"]

# RFC 3986's characters (unreserved, reserved and `%`), nothing else: no space, quote,
# angle bracket, backslash or control character that could end an attribute, a Markdown
# link or a Slack `<url|label>`, or that browsers silently strip ("java\tscript:").
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def safe_link(value: object) -> str | None:
    """`value` when it is an absolute http(s) URL with a host, else None (show it as text)."""
    if not isinstance(value, str) or len(value) > 2048 or not _URL_CHARS.fullmatch(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def is_safe_link(value: object) -> bool:
    """True when `safe_link` accepts `value`."""
    return safe_link(value) is not None
