"""The shape of fresh.yml (SPEC section 2) as frozen pydantic models.

`config.py` reads the YAML (positions, `${VAR}` expansion) and validates it into `Settings`;
every other module only reads these values.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from monitor.durations import parse_duration


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"duration {value!r} needs a unit (e.g. {value}s, {value}m)")
    return parse_duration(str(value))


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Warehouse(_Model):
    """One warehouse: any SQLAlchemy URL."""

    url: str
    timezone: str = "UTC"  # how naive timestamps are read
    timeout: Duration = timedelta(seconds=30)
    max_connections: int = Field(default=4, ge=1, le=64)


class State(_Model):
    """The state store: history, alert state, outbox, silences, pings, leases."""

    url: str = "sqlite:///.fresh/state.db"
    retention: Duration = timedelta(days=30)
    lease_ttl: Duration = timedelta(seconds=15)


class Owner(_Model):
    """An owner: the routing key of every alert."""

    notify: tuple[str, ...] = ()
    repeat_every: Duration | None = None


class Route(_Model):
    """An Alertmanager-style extra route."""

    match: dict[str, str] = Field(default_factory=dict)
    notify: tuple[str, ...] = ()
    continue_: bool = Field(default=False, alias="continue")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Alerts(_Model):
    """Alert lifecycle and routing settings."""

    notify_on: tuple[str, ...] = ("stale", "error")
    repeat_every: Duration = timedelta(hours=4)
    send_resolved: bool = True
    group_wait: Duration = timedelta(seconds=30)
    fallback: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()


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


class Settings(_Model):
    """All of fresh.yml. `base_dir` is the folder relative paths are read from."""

    warehouses: dict[str, Warehouse] = Field(
        default_factory=lambda: {"main": Warehouse(url="duckdb:///warehouse.duckdb")}
    )
    state: State = State()
    owners: dict[str, Owner] = Field(default_factory=dict)
    alerts: Alerts = Alerts()
    server: Server = Server()
    metric_labels: tuple[str, ...] = ()
    base_dir: Path = Path(".")
    config_path: Path | None = None  # None when there is no fresh.yml
