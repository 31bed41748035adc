"""The shape of fresh.yml (SPEC section 2) as frozen pydantic models.

`config/loader.py` reads the YAML (positions, `${VAR}` expansion) and validates it into
`Settings`; every other module only reads these values. The `owners:` and `alerts:`
sections are in alert_settings.py, the value types and checks they share in values.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.config.alert_settings import Alerts, Owner
from monitor.config.values import (
    Duration,
    ItemError,
    Model,
    check_http,
    check_timezone,
    check_url,
)
from monitor.core.textsafe import control_problem

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


class Warehouse(Model):
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
        return check_url(url)

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


class State(Model):
    """The state store: history, alert state, outbox, silences, pings, leases."""

    url: str = "sqlite:///.fresh/state.db"
    retention: Duration = timedelta(days=30)
    lease_ttl: Duration = timedelta(seconds=15)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        scheme = check_url(url).partition("://")[0].partition("+")[0].lower()
        if scheme not in ("sqlite", "postgresql"):
            raise ValueError("the state store is sqlite:///PATH or postgresql+psycopg://…")
        return url


class Auth(Model):
    """Basic auth for `/` and `/api/v1/*` (ping endpoints excepted)."""

    username: str
    password: str


class Server(Model):
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
        return check_http(url)


class Import(Model):
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


class Settings(Model):
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
