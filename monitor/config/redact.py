"""Keep secrets out of logs, output, metrics, the API and alerts: the one module that masks.

`mask_url` shows a URL with its secrets as `***`: the password of any URL, secret-looking
query parameters, and the tokens apprise URLs carry in their host and path
(`slack://TokenA/TokenB/TokenC/#ops` → `slack://***/***/***/#ops`). `secrets_of(settings)`
lists every secret string in the configuration, and `redact(text, secrets)` removes them
from free text such as a driver's error message; `scrub` adds the passwords of URLs the
configuration does not know, `scrubber(settings)` is that for alerts, and `mask` is the
process-wide filter every log line of `fresh serve` goes through (`SECRETS`, set by the
service on each load).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from monitor.config.settings import Settings

MASK = "***"

# Apprise services whose host is a server name, not a token: only the password (and
# secret query parameters) are masked for these, plus long token-like path segments.
_HOST_SCHEMES = {
    "mailto",
    "mailtos",
    "json",
    "jsons",
    "xml",
    "xmls",
    "form",
    "forms",
    "http",
    "https",
    "ntfy",
    "ntfys",
    "gotify",
    "gotifys",
    "matrix",
    "matrixs",
    "mmost",
    "mmosts",
    "rocket",
    "rockets",
    "apprise",
    "apprises",
    "mqtt",
    "mqtts",
    "ws",
    "wss",
    "alertmanager",
    "alertmanagers",
}
# Query parameters whose value is a secret.
_SECRET_PARAM = re.compile(
    r"(?i)^(pass(word)?|pwd|secret|token|access_token|auth|apikey|api_key|key|webhook|"
    r"sig|signature|client_secret|private_key)$"
)
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>.*)$", re.S)
_TOKENISH = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-]{8,}$|^[A-Za-z0-9_\-]{16,}$")
# Values of `mailto://…?to=x@example.com`, `#channel`, `@user`: addresses, not secrets.
_KEEP_SEGMENT = re.compile(r"^[#@+]|@")


def _is_database_scheme(scheme: str) -> bool:
    base = scheme.partition("+")[0].lower()
    return "+" in scheme or base in {
        "postgresql",
        "postgres",
        "duckdb",
        "sqlite",
        "mysql",
        "mariadb",
        "snowflake",
        "bigquery",
        "redshift",
        "mssql",
        "oracle",
        "trino",
        "presto",
        "databricks",
        "clickhouse",
    }


def _split(url: str) -> tuple[str, str, str, str, str] | None:
    """(scheme, userinfo, hostport, path, query-and-fragment) or None if not a URL."""
    m = _URL.match(url.strip())
    if not m:
        return None
    scheme, rest = m.group("scheme"), m.group("rest")
    # Apprise uses `#channel` inside paths, so only `?` starts the query here.
    q = rest.find("?")
    q = len(rest) if q < 0 else q
    netpath, query = rest[:q], rest[q:]
    slash = netpath.find("/")
    netloc, path = (netpath, "") if slash < 0 else (netpath[:slash], netpath[slash:])
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        userinfo, hostport = "", netloc
    return scheme, userinfo, hostport, path, query


def _plan(url: str) -> tuple[str, list[str]] | None:
    """The masked URL and the secret strings it held, or None when `url` is not a URL."""
    parts = _split(url)
    if parts is None:
        return None
    scheme, userinfo, hostport, path, query = parts
    secrets: list[str] = []
    low = scheme.lower()
    token_service = not _is_database_scheme(scheme) and low not in _HOST_SCHEMES

    user, colon, password = userinfo.partition(":")
    if colon and password:
        secrets.append(password)
        password = MASK
    if token_service and user and not _KEEP_SEGMENT.search(user):
        secrets.append(user)
        user = MASK
    userinfo = f"{user}:{password}" if colon else user

    if token_service and hostport and not _KEEP_SEGMENT.search(hostport):
        secrets.append(hostport)
        hostport = MASK

    segments = path.split("/")
    for i, seg in enumerate(segments):
        if not seg or _KEEP_SEGMENT.search(seg):
            continue
        if _is_database_scheme(scheme):
            continue  # a database name or file path is not a secret
        if token_service or _TOKENISH.match(seg):
            secrets.append(seg)
            segments[i] = MASK
    path = "/".join(segments)

    if query:
        pairs = query[1:].split("&")
        for i, pair in enumerate(pairs):
            k, eq, v = pair.partition("=")
            if eq and v and _SECRET_PARAM.match(k):
                secrets.append(v)
                pairs[i] = f"{k}={MASK}"
        query = "?" + "&".join(pairs)

    netloc = f"{userinfo}@{hostport}" if userinfo else hostport
    return f"{scheme}://{netloc}{path}{query}", secrets


def mask_url(url: str) -> str:
    """`url` with its password and tokens shown as `***` (text that is no URL unchanged)."""
    plan = _plan(url)
    return url if plan is None else plan[0]


def url_secrets(url: str) -> set[str]:
    """The secret strings inside one URL (raw and percent-decoded)."""
    plan = _plan(url)
    out: set[str] = set()
    for s in plan[1] if plan else ():
        out.add(s)
        out.add(unquote(s))
    return {s for s in out if s}


# Iceberg catalog properties whose value is a secret (`credential`, `token`,
# `s3.secret-access-key`, `s3.session-token`, `hive.kerberos…` passwords).
_SECRET_PROPERTY = re.compile(r"(?i)(secret|password|token|credential)")


def secrets_of(settings: Settings) -> set[str]:
    """Every secret in the configuration: URL passwords, notify tokens, ping token, auth."""
    urls: list[str] = [w.url for w in settings.warehouses.values()]
    urls.append(settings.state.url)
    for owner in settings.owners.values():
        urls.extend(owner.notify)
    urls.extend(settings.alerts.fallback)
    for route in settings.alerts.routes:
        urls.extend(route.notify)
    out: set[str] = set()
    for u in urls:
        out |= url_secrets(u)
    for catalog in settings.catalogs.values():
        for key, value in catalog.properties().items():
            if _SECRET_PROPERTY.search(key):
                out.add(value)
            elif "://" in value:
                out |= url_secrets(value)
    if settings.server.ping_token:
        out.add(settings.server.ping_token)
    if settings.server.auth is not None and settings.server.auth.password:
        out.add(settings.server.auth.password)
    return out


# Shorter secrets are skipped: masking every "ab" would make logs unreadable, and URLs
# (where such passwords live) are masked by `mask_url` as a whole anyway.
MIN_SECRET_LENGTH = 4


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (of at least 4 characters) replaced by `***`."""
    for s in sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(s, MASK)
    return text


# Any URL's password inside free text, for URLs fresh.yml does not know (a driver may echo
# its own DSN in an error message).
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s/]+)@")


def mask_passwords(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***`."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", text)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with URL passwords and every one of `secrets` replaced by `***` (a reading's
    error, `fresh explain`'s text)."""
    return redact(mask_passwords(text), secrets)


def mask_password(url: str) -> str:
    """One URL with only its password masked (a `fresh serve` address in a message)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def scrubber(settings: Settings) -> Callable[[str], str]:
    """Masks URL passwords and every secret of the configuration (notify tokens, the ping
    token, warehouse passwords) in text that goes into an alert or its log line."""
    known = secrets_of(settings)
    return lambda text: redact(mask(text), known)


# The process-wide secrets of the running configuration: every log line of `fresh serve`
# goes through `mask()`, and the service replaces them on each (re)load.


class Secrets:
    """The secret values known right now (replaced whenever the configuration reloads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()

    def set(self, values: Iterable[str | None]) -> None:
        """Replace the known secrets; short values are ignored (they would mask noise)."""
        clean = sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)
        with self._lock:
            self._values = tuple(clean)

    def mask(self, text: str) -> str:
        """`text` with URL passwords and every known secret replaced by `***`."""
        text = mask_passwords(text)
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text


SECRETS = Secrets()


def mask(text: str) -> str:
    """Mask secrets in `text` with the process-wide `SECRETS`."""
    return SECRETS.mask(text)
