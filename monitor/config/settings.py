"""The settings of fresh.yml (SPEC section 2) as frozen dataclasses, and their checks.

`config/loader.py` reads the YAML (positions, `${VAR}` expansion) and validates it into
`Settings`; every other module only reads these values. The `owners:` and `alerts:`
sections are in alert_settings.py, the checks values share in values.py. A plain, valid
fresh.yml is validated by settings_lean.py without pydantic (about 100 ms of `fresh check`
to import); anything else by the pydantic models of settings_schema.py, the reference for
every rule and every message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.config.alert_settings import Alerts, Owner
from monitor.config.values import ItemError, check_url
from monitor.core.textsafe import control_problem

INTERNAL_KEYS = ("base_dir", "config_path")  # Settings fields that are not fresh.yml keys
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


@dataclass(frozen=True)
class Warehouse:
    """One warehouse: any SQLAlchemy URL."""

    url: str
    timezone: str = "UTC"  # how naive timestamps are read
    timeout: timedelta = timedelta(seconds=30)
    max_connections: int = 4  # 1..64
    # Tags every session (SPEC 14): PostgreSQL application_name, Snowflake QUERY_TAG, a
    # leading `/* tag */` comment elsewhere, so the warehouse's own history shows fresh.
    query_tag: str = "fresh"


def catalog_property(value: Any) -> str:
    """A catalog property as text: pyiceberg takes every one as text; YAML reads `true`
    and `8` as others."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Catalog:
    """One Iceberg catalog (SPEC 14): pyiceberg's properties (`type`, `uri`, `warehouse`…)
    passed through as written (`extra`), plus `timeout` for each round's reads of it."""

    type: str | None = None
    timeout: timedelta = timedelta(seconds=30)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def properties(self) -> dict[str, str]:
        """The properties handed to pyiceberg's `load_catalog` (all but `timeout`)."""
        props = {k: catalog_property(v) for k, v in self.extra.items()}
        if self.type is not None:
            props["type"] = self.type
        return props


@dataclass(frozen=True)
class State:
    """The state store: history, alert state, outbox, silences, pings, leases."""

    url: str = "sqlite:///.fresh/state.db"
    retention: timedelta = timedelta(days=30)
    lease_ttl: timedelta = timedelta(seconds=15)


def check_state_url(url: str) -> str:
    """`state.url`: SQLite or PostgreSQL."""
    scheme = check_url(url).partition("://")[0].partition("+")[0].lower()
    if scheme not in ("sqlite", "postgresql"):
        raise ValueError("the state store is sqlite:///PATH or postgresql+psycopg://…")
    return url


@dataclass(frozen=True)
class Auth:
    """Basic auth for `/` and `/api/v1/*` (ping endpoints excepted)."""

    username: str
    password: str


@dataclass(frozen=True)
class Server:
    """`fresh serve` settings."""

    listen: str = "127.0.0.1:9184"
    public_url: str | None = None
    dashboard_url: str | None = None
    ping_token: str | None = None
    auth: Auth | None = None
    replica: str | None = None  # default: host name:port


def check_listen(listen: str) -> str:
    """`server.listen`: HOST:PORT."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{listen!r} is not HOST:PORT (e.g. 127.0.0.1:9184)")
    return listen


@dataclass(frozen=True)
class Import:
    """One entry of `imports:` (SPEC 11): a dbt manifest or project folder, or data contracts."""

    dbt: str | None = None
    datacontract: str | None = None
    warehouse: str = "main"
    owner: str | None = None
    servers: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """dbt or datacontract."""
        return "dbt" if self.dbt is not None else "datacontract"

    @property
    def path(self) -> str:
        """The manifest, folder or glob it reads."""
        return self.dbt if self.dbt is not None else str(self.datacontract)


def check_import(entry: Any) -> None:
    """An import is exactly one of dbt / datacontract; servers only for data contracts."""
    if (entry.dbt is None) == (entry.datacontract is None):
        raise ValueError(
            "give exactly one of dbt: (a manifest or project folder) or "
            "datacontract: (a glob of contract files)"
        )
    if entry.servers and entry.dbt is not None:
        raise ValueError("servers: maps a data contract's servers; a dbt import has none")


def _main_warehouse() -> dict[str, Warehouse]:
    return {"main": Warehouse(url="duckdb:///warehouse.duckdb")}


@dataclass(frozen=True)
class Settings:
    """All of fresh.yml. `base_dir` is the folder relative paths are read from."""

    warehouses: dict[str, Warehouse] = field(default_factory=_main_warehouse)
    catalogs: dict[str, Catalog] = field(default_factory=dict)
    state: State = field(default_factory=State)
    owners: dict[str, Owner] = field(default_factory=dict)
    alerts: Alerts = field(default_factory=Alerts)
    server: Server = field(default_factory=Server)
    metric_labels: tuple[str, ...] = ()
    imports: tuple[Import, ...] = ()
    base_dir: Path = Path(".")
    config_path: Path | None = None  # None when there is no fresh.yml


def check_owner_names(owners: dict[str, Any]) -> dict[str, Any]:
    """Owner names are printed in alerts and pages: no control characters."""
    for name in owners:
        if why := control_problem(name):
            raise ItemError(f"owner name {why}", name, at_key=True)
    return owners


def check_labels(labels: tuple[str, ...]) -> tuple[str, ...]:
    """`metric_labels`: Prometheus label names fresh does not set itself, each once."""
    for i, label in enumerate(labels):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", label) or label.startswith("__"):
            raise ItemError(f"{label!r} cannot be a Prometheus label name (letters, digits, _)", i)
        if label in RESERVED_LABELS:
            raise ItemError(f"{label!r} is a label fresh sets itself; pick another key", i)
        if label in labels[:i]:
            raise ItemError(f"{label!r} is listed twice", i)
    return labels
