"""The shape of fresh.yml (SPEC section 2) as frozen pydantic models.

`config.py` reads the YAML (positions, `${VAR}` expansion) and validates it into `Settings`;
every other module only reads these values.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.core.durations import parse_duration
from monitor.core.links import safe_link
from monitor.core.textsafe import control_problem


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

NOTIFY_STATUSES = ("warn", "stale", "error")
ROUTE_KEYS = ("contract", "owner", "tag", "severity")
SEVERITIES = ("info", "warning", "critical")
# Labels fresh puts on per-contract series itself; metric_labels may not reuse them.
RESERVED_LABELS = (
    "contract",
    "owner",
    "warehouse",
    "severity",
    "status",
    "level",
    "replica",
    "instance",
    "job",
    "le",
    "quantile",
    "version",
    "result",
)


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
def _check_url(url: str) -> str:
    if "://" not in url:
        raise ValueError("not a URL (expected scheme://…, e.g. duckdb:///warehouse.duckdb)")
    return url


def _check_notify(url: str) -> str:
    if "://" not in url:
        raise ValueError("not an apprise URL (expected scheme://…, e.g. mailto://… or slack://…)")
    return url


def _check_http(url: str | None) -> str | None:
    if url is not None and safe_link(url) is None:
        raise ValueError("expected an http:// or https:// URL")
    return url


NotifyUrl = Annotated[str, AfterValidator(_check_notify)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Warehouse(_Model):
    """One warehouse: any SQLAlchemy URL."""

    url: str
    timezone: str = "UTC"  # how naive timestamps are read
    timeout: Duration = timedelta(seconds=30)
    max_connections: int = Field(default=4, ge=1, le=64)
    # Tags every session (SPEC 14): PostgreSQL application_name, Snowflake QUERY_TAG, a
    # leading `/* tag */` comment elsewhere, so the warehouse's own history shows fresh.
    query_tag: str = Field(default="fresh", max_length=64, pattern=r"^[A-Za-z0-9_.:@ -]*$")

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _check_url(url)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, name: str) -> str:
        return check_timezone(name)


def _property(value: Any) -> str:
    # pyiceberg takes every catalog property as text; YAML reads `true` and `8` as others.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Catalog(BaseModel):
    """One Iceberg catalog (SPEC 14): pyiceberg's properties (`type`, `uri`, `warehouse`…)
    passed through as written, plus `timeout` for each round's reads of it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str | None = None
    timeout: Duration = timedelta(seconds=30)

    def properties(self) -> dict[str, str]:
        """The properties handed to pyiceberg's `load_catalog` (all but `timeout`)."""
        props = {k: _property(v) for k, v in (self.model_extra or {}).items()}
        if self.type is not None:
            props["type"] = self.type
        return props


class State(_Model):
    """The state store: history, alert state, outbox, silences, pings, leases."""

    url: str = "sqlite:///.fresh/state.db"
    retention: Duration = timedelta(days=30)
    lease_ttl: Duration = timedelta(seconds=15)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        scheme = _check_url(url).partition("://")[0].partition("+")[0].lower()
        if scheme not in ("sqlite", "postgresql"):
            raise ValueError("the state store is sqlite:///PATH or postgresql+psycopg://…")
        return url


class Owner(_Model):
    """An owner: the routing key of every alert."""

    notify: tuple[NotifyUrl, ...] = ()
    repeat_every: Duration | None = None


class Route(_Model):
    """An Alertmanager-style extra route."""

    match: dict[str, MatchValue] = Field(default_factory=dict)
    notify: tuple[NotifyUrl, ...] = ()
    continue_: bool = Field(default=False, alias="continue")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("match")
    @classmethod
    def _match_keys(cls, match: dict[str, str]) -> dict[str, str]:
        return check_match(match)


def check_match(match: dict[str, str]) -> dict[str, str]:
    """A route's (or maintenance window's) `match`: known keys, known severities."""
    for key, value in match.items():
        if key.startswith("metadata.") and len(key) > len("metadata."):
            continue
        if key not in ROUTE_KEYS:
            hint = did_you_mean(key, ROUTE_KEYS) or " (use contract, owner, tag, severity"
            hint += "" if "did you mean" in hint else " or metadata.KEY)"
            raise ItemError(f"unknown match key {key!r}{hint}", key, at_key=True)
        if key == "severity" and value not in SEVERITIES:
            raise ItemError(
                f"unknown severity {value!r}{did_you_mean(value, SEVERITIES)}"
                " (info, warning or critical)",
                key,
            )
    return match


def parse_timestamp(text: Any, timezone: str = "UTC") -> datetime:
    """An ISO-8601 time (`2026-12-24T18:00:00Z`, or with an offset) as aware UTC; a time
    without an offset is read in `timezone`. ValueError with the accepted forms."""
    if isinstance(text, datetime):
        moment = text
    else:
        try:
            moment = datetime.fromisoformat(str(text).strip())
        except ValueError:
            raise ValueError(
                f"{str(text)!r} is not a time (use ISO-8601, e.g. 2026-12-24T18:00:00Z)"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


class MaintenanceWindow(_Model):
    """A silence declared in fresh.yml: a cron `schedule` + `duration` (read in `timezone`),
    or one-off `start` / `end` times."""

    match: dict[str, MatchValue] = Field(default_factory=dict)
    schedule: str | None = None
    duration: Duration | None = None
    timezone: str = "UTC"
    start: str | None = None
    end: str | None = None
    reason: str = ""

    @field_validator("match")
    @classmethod
    def _match_keys(cls, match: dict[str, str]) -> dict[str, str]:
        return check_match(match)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, name: str) -> str:
        return check_timezone(name)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, expr: str | None) -> str | None:
        # imported here: cronsim costs every command's start-up, and few configs have windows
        from monitor.core.schedule import validate_cron

        problem = None if expr is None else validate_cron(expr)
        if problem:
            raise ValueError(problem)
        return expr

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        parse_timestamp(value, str(info.data.get("timezone") or "UTC"))
        return str(value)

    @model_validator(mode="after")
    def _one_kind(self) -> MaintenanceWindow:
        cron = self.schedule is not None or self.duration is not None
        once = self.start is not None or self.end is not None
        if cron and once:
            raise ValueError("give either schedule + duration or start + end, not both")
        if cron and (self.schedule is None or self.duration is None):
            raise ValueError("a scheduled window needs both schedule and duration")
        if once and (self.start is None or self.end is None):
            raise ValueError("a one-off window needs both start and end")
        if not cron and not once:
            raise ValueError("give schedule + duration (cron) or start + end (one-off)")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValueError("duration must be positive")
        if once and self.starts_at >= self.ends_at:
            raise ValueError("end must be after start")
        return self

    @property
    def starts_at(self) -> datetime:
        """A one-off window's start, aware UTC."""
        return parse_timestamp(self.start, self.timezone)

    @property
    def ends_at(self) -> datetime:
        """A one-off window's end, aware UTC."""
        return parse_timestamp(self.end, self.timezone)


class Alerts(_Model):
    """Alert lifecycle and routing settings."""

    notify_on: tuple[str, ...] = ("stale", "error")
    repeat_every: Duration = timedelta(hours=4)
    send_resolved: bool = True
    group_wait: Duration = timedelta(seconds=30)
    fallback: tuple[NotifyUrl, ...] = ()
    routes: tuple[Route, ...] = ()
    maintenance: tuple[MaintenanceWindow, ...] = ()

    @field_validator("notify_on")
    @classmethod
    def _statuses(cls, statuses: tuple[str, ...]) -> tuple[str, ...]:
        for i, s in enumerate(statuses):
            if s not in NOTIFY_STATUSES:
                raise ItemError(
                    f"unknown status {s!r}{did_you_mean(s, NOTIFY_STATUSES)}"
                    " (notify_on takes warn, stale and error)",
                    i,
                )
        return statuses


class Auth(_Model):
    """Basic auth for `/` and `/api/v1/*` (ping endpoints excepted)."""

    username: str
    password: str


class Server(_Model):
    """`fresh serve` settings."""

    listen: str = "127.0.0.1:9184"
    public_url: str | None = None
    dashboard_url: str | None = None
    ping_token: str | None = None
    auth: Auth | None = None
    replica: str | None = None  # default: host name:port

    @field_validator("listen")
    @classmethod
    def _listen(cls, listen: str) -> str:
        host, sep, port = listen.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{listen!r} is not HOST:PORT (e.g. 127.0.0.1:9184)")
        return listen

    @field_validator("public_url", "dashboard_url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        return _check_http(url)


class Import(_Model):
    """One entry of `imports:` (SPEC 11): a dbt manifest or project folder, or data contracts."""

    dbt: str | None = None
    datacontract: str | None = None
    warehouse: str = "main"
    owner: str | None = None
    servers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> Import:
        if (self.dbt is None) == (self.datacontract is None):
            raise ValueError(
                "give exactly one of dbt: (a manifest or project folder) or "
                "datacontract: (a glob of contract files)"
            )
        if self.servers and self.dbt is not None:
            raise ValueError("servers: maps a data contract's servers; a dbt import has none")
        return self

    @property
    def kind(self) -> str:
        """dbt or datacontract."""
        return "dbt" if self.dbt is not None else "datacontract"

    @property
    def path(self) -> str:
        """The manifest, folder or glob it reads."""
        return self.dbt if self.dbt is not None else str(self.datacontract)


class Settings(_Model):
    """All of fresh.yml. `base_dir` is the folder relative paths are read from."""

    warehouses: dict[str, Warehouse] = Field(
        default_factory=lambda: {"main": Warehouse(url="duckdb:///warehouse.duckdb")}
    )
    catalogs: dict[str, Catalog] = Field(default_factory=dict)
    state: State = State()
    owners: dict[str, Owner] = Field(default_factory=dict)
    alerts: Alerts = Alerts()
    server: Server = Server()
    metric_labels: tuple[str, ...] = ()
    imports: tuple[Import, ...] = ()
    base_dir: Path = Path(".")
    config_path: Path | None = None  # None when there is no fresh.yml

    @field_validator("owners")
    @classmethod
    def _owner_names(cls, owners: dict[str, Owner]) -> dict[str, Owner]:
        for name in owners:
            if why := control_problem(name):
                raise ItemError(f"owner name {why}", name, at_key=True)
        return owners

    @field_validator("metric_labels")
    @classmethod
    def _labels(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        import re

        for i, label in enumerate(labels):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", label) or label.startswith("__"):
                raise ItemError(
                    f"{label!r} cannot be a Prometheus label name (letters, digits, _)", i
                )
            if label in RESERVED_LABELS:
                raise ItemError(f"{label!r} is a label fresh sets itself; pick another key", i)
            if label in labels[:i]:
                raise ItemError(f"{label!r} is listed twice", i)
        return labels
