"""The shape of fresh.yml (SPEC section 2) as pydantic models: the reference validator.

Every rule and every message of fresh.yml comes from these models (the checks themselves
are shared with `settings_lean.py`: settings.py, alert_settings.py, values.py).
`validate_settings` validates and returns the frozen dataclasses every other module reads.
pydantic is imported here (and in validation.py, which turns its errors into problems),
only when `settings_lean` cannot vouch for a fresh.yml on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

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

from monitor.config import alert_settings, settings
from monitor.config.alert_settings import (
    check_cron,
    check_match,
    check_statuses,
    check_window,
    parse_timestamp,
)
from monitor.config.settings import (
    check_import,
    check_labels,
    check_listen,
    check_owner_names,
    check_state_url,
)
from monitor.config.values import (
    check_http,
    check_notify,
    check_timezone,
    check_url,
    duration_value,
    match_text,
)

Duration = Annotated[timedelta, BeforeValidator(duration_value)]
MatchValue = Annotated[str, BeforeValidator(match_text)]
# Messages never repeat a URL: one that failed to parse may hold a password in a place
# `mask_url` does not recognise.
NotifyUrl = Annotated[str, AfterValidator(check_notify)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Warehouse(_Model):
    """One warehouse: any SQLAlchemy URL."""

    url: str
    timezone: str = "UTC"
    timeout: Duration = timedelta(seconds=30)
    max_connections: int = Field(default=4, ge=1, le=64)
    query_tag: str = Field(default="fresh", max_length=64, pattern=r"^[A-Za-z0-9_.:@ -]*$")

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_url(url)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, name: str) -> str:
        return check_timezone(name)


class Catalog(BaseModel):
    """One Iceberg catalog: pyiceberg's properties as written, plus `timeout`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str | None = None
    timeout: Duration = timedelta(seconds=30)


class State(_Model):
    """The state store."""

    url: str = "sqlite:///.fresh/state.db"
    retention: Duration = timedelta(days=30)
    lease_ttl: Duration = timedelta(seconds=15)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_state_url(url)


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


class MaintenanceWindow(_Model):
    """A silence declared in fresh.yml: cron schedule + duration, or start / end."""

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
        return check_cron(expr)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        parse_timestamp(value, str(info.data.get("timezone") or "UTC"))
        return str(value)

    @model_validator(mode="after")
    def _one_kind(self) -> MaintenanceWindow:
        check_window(self)
        return self


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
        return check_statuses(statuses)


class Auth(_Model):
    """Basic auth for `/` and `/api/v1/*`."""

    username: str
    password: str


class Server(_Model):
    """`fresh serve` settings."""

    listen: str = "127.0.0.1:9184"
    public_url: str | None = None
    dashboard_url: str | None = None
    ping_token: str | None = None
    auth: Auth | None = None
    replica: str | None = None

    @field_validator("listen")
    @classmethod
    def _listen(cls, listen: str) -> str:
        return check_listen(listen)

    @field_validator("public_url", "dashboard_url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        return check_http(url)


class Import(_Model):
    """One entry of `imports:`."""

    dbt: str | None = None
    datacontract: str | None = None
    warehouse: str = "main"
    owner: str | None = None
    servers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> Import:
        check_import(self)
        return self


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
    config_path: Path | None = None

    @field_validator("owners")
    @classmethod
    def _owner_names(cls, owners: dict[str, Owner]) -> dict[str, Owner]:
        return check_owner_names(owners)

    @field_validator("metric_labels")
    @classmethod
    def _labels(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        return check_labels(labels)


def validate_settings(data: Mapping[str, Any]) -> settings.Settings:
    """fresh.yml's mapping (plus `base_dir` / `config_path`) as `settings.Settings`;
    pydantic's ValidationError when it is not valid."""
    validated: settings.Settings = to_plain(Settings.model_validate(data))
    return validated


def to_plain(value: Any) -> Any:
    """A validated model (and what it holds) as the dataclasses of `settings.py`."""
    if isinstance(value, BaseModel):
        name = type(value).__name__
        cls = getattr(settings, name, None) or getattr(alert_settings, name)
        kwargs = {
            f.name: to_plain(getattr(value, f.name))
            for f in dataclasses.fields(cls)
            if f.name != "extra"
        }
        if isinstance(value, Catalog):
            kwargs["extra"] = dict(value.model_extra or {})
        return cls(**kwargs)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(to_plain(v) for v in value)
    return value
