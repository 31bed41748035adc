"""Recording heartbeats: the one place that validates a ping before it is stored, shared by
`fresh ping`, `fresh run` and the ping endpoints of `fresh serve`; and the client that POSTs
a ping to a running serve (`--url` / FRESH_URL) for job hosts that cannot reach the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from monitor.config.redact import mask_password
from monitor.config.values import did_you_mean
from monitor.core.errors import ExitCode, FreshError, UsageError
from monitor.core.models import Contract
from monitor.store import OUTPUT_LIMIT, Ping, PingKind, Store
from monitor.store.pings import tail

__all__ = [
    "OUTPUT_LIMIT",
    "NotAHeartbeatError",
    "PingDeliveryError",
    "UnknownContractError",
    "check_contract",
    "check_numbers",
    "post_ping",
    "record",
    "tail",
]

POST_TIMEOUT = 10.0  # seconds for one POST to a running serve
# A process's exit status is 0-255 (`fresh run` reports a signal N as 128+N); a job's
# duration is at most a year. Anything outside is a typo or an attack, never stored.
EXIT_CODE_RANGE = (0, 255)
MAX_DURATION = 366 * 24 * 3600.0


def check_numbers(exit_code: int | None, duration: float | None) -> None:
    """UsageError unless `exit_code` is 0-255 and `duration` a finite 0 ≤ s ≤ MAX_DURATION."""
    low, high = EXIT_CODE_RANGE
    if exit_code is not None and not low <= exit_code <= high:
        raise UsageError(f"exit_code must be between {low} and {high}, not {exit_code}")
    if duration is not None and not 0 <= duration <= MAX_DURATION:  # NaN fails both
        raise UsageError(f"duration must be a number of seconds between 0 and {MAX_DURATION:.0f}")


class UnknownContractError(UsageError):
    """No contract has that name (HTTP 404; exit 2)."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown contract {name!r}{did_you_mean(name, known)}")


class NotAHeartbeatError(UsageError):
    """The contract exists but reads another source (HTTP 409; exit 2)."""

    def __init__(self, contract: Contract) -> None:
        self.name = contract.name
        super().__init__(
            f"contract {contract.name!r} reads a {contract.kind} source, not `heartbeat: {{}}`: "
            "pings are only kept for heartbeat contracts"
        )


class PingDeliveryError(FreshError):
    """A running `fresh serve` could not be reached, or refused the ping (exit 1)."""

    exit_code = ExitCode.FAILED


def check_contract(contracts: Mapping[str, Contract], name: str) -> Contract:
    """The heartbeat contract called `name`, or a clear error with a did-you-mean."""
    contract = contracts.get(name)
    if contract is None:
        raise UnknownContractError(name, sorted(contracts))
    if contract.kind != "heartbeat":
        raise NotAHeartbeatError(contract)
    return contract


def record(
    store: Store,
    contracts: Mapping[str, Contract],
    name: str,
    kind: PingKind,
    at: datetime,
    exit_code: int | None = None,
    duration: float | None = None,
    output: str | bytes | None = None,
    run_id: str | None = None,
) -> Ping:
    """Validate and store one ping; output is cut to its last 10 kB."""
    check_contract(contracts, name)
    check_numbers(exit_code, duration)
    return store.record_ping(
        name,
        kind,
        at,
        exit_code=exit_code,
        duration=duration,
        output=tail(output),
        run_id=run_id,
    )


@dataclass(frozen=True)
class PingRequest:
    """One ping to POST to `fresh serve`."""

    name: str
    kind: PingKind
    exit_code: int | None = None
    duration: float | None = None
    output: bytes | None = None


def ping_url(base: str, req: PingRequest) -> str:
    """`{base}/api/v1/ping/{name}[/start|/fail]?exit_code=…&duration=…`."""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url must be the http(s) address of `fresh serve`, not {base!r}")
    suffix = {"success": "", "start": "/start", "fail": "/fail", "log": "/log"}[req.kind]
    path = parts.path.rstrip("/") + "/api/v1/ping/" + quote(req.name, safe="") + suffix
    query: dict[str, str] = {}
    if req.exit_code is not None:
        query["exit_code"] = str(req.exit_code)
    if req.duration is not None:
        query["duration"] = f"{req.duration:.3f}"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def post_ping(
    base: str, req: PingRequest, token: str | None, timeout: float = POST_TIMEOUT
) -> None:
    """POST one ping to a running serve; PingDeliveryError / UnknownContractError on failure.

    urllib, not an HTTP library: job hosts only need fresh itself.
    """
    import urllib.error
    import urllib.request

    url = ping_url(base, req)
    shown = mask_password(base)
    body = req.output[-OUTPUT_LIMIT:] if req.output else b""
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "text/plain; charset=utf-8")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        message = _server_message(exc)
        exc.close()
        if exc.code == 404:
            raise UsageError(message or f"unknown contract {req.name!r} at {shown}") from None
        if exc.code in (401, 403):
            raise PingDeliveryError(
                f"{shown} refused the ping ({exc.code}): set FRESH_PING_TOKEN to the "
                "server's ping_token"
            ) from None
        detail = f": {message}" if message else ""
        raise PingDeliveryError(f"{shown} answered {exc.code}{detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PingDeliveryError(f"cannot reach fresh serve at {shown}: {reason}") from None


def _server_message(exc: object) -> str:
    """The `error` of a JSON error body, or its first line of text."""
    try:
        raw = exc.read()[:2000].decode("utf-8", "replace")  # type: ignore[attr-defined]
    except Exception:
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.strip().splitlines()[0] if raw.strip() else ""
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return ""
