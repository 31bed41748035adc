"""fresh.yml validated without pydantic, when the answer is certain to be pydantic's.

Importing pydantic and building the models of `settings_schema.py` costs `fresh check`
about 100 ms, more than reading a thousand DuckDB tables. Most fresh.yml files hold only
values written the plain way (text as text, numbers as numbers, durations as `30s`), and
for those the answer is easy: `lean_settings` builds the `Settings` the reference models
would build, with the same shared checks (settings.py, alert_settings.py, values.py).
Whenever it is not sure (any problem, an unknown key, a value pydantic would coerce such
as `max_connections: "8"`) it says None, and the loader asks the reference models, which
give the exact messages.
tests/unit/test_settings_lean.py compares both on generated files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from monitor.config.alert_settings import (
    Alerts,
    MaintenanceWindow,
    Owner,
    Route,
    check_cron,
    check_match,
    check_statuses,
    check_window,
)
from monitor.config.settings import (
    Auth,
    Catalog,
    Import,
    Server,
    Settings,
    State,
    Warehouse,
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

T = TypeVar("T")
_QUERY_TAG = re.compile(r"[A-Za-z0-9_.:@ -]*")  # the reference's ^…$, without `$`'s newline


class _Unsure(Exception):
    """Not certainly what pydantic would say: the reference models decide."""


def lean_settings(values: Mapping[str, Any], base_dir: Path, config_path: Path) -> Settings | None:
    """fresh.yml's top-level mapping as `Settings`, or None when pydantic must decide."""
    try:
        return _settings(values, base_dir, config_path)
    except Exception:
        return None  # the reference models always give the right answer, only slower


def _settings(values: Mapping[str, Any], base_dir: Path, config_path: Path) -> Settings:
    kw = _fields(
        values,
        {
            "warehouses": lambda v: _dict(v, lambda w: _model(w, Warehouse, _WAREHOUSE)),
            "catalogs": lambda v: _dict(v, _catalog),
            "state": lambda v: _model(v, State, _STATE),
            "owners": lambda v: check_owner_names(_dict(v, lambda o: _model(o, Owner, _OWNER))),
            "alerts": lambda v: _model(v, Alerts, _ALERTS),
            "server": lambda v: _model(v, Server, _SERVER),
            "metric_labels": lambda v: check_labels(_tuple(v, _str)),
            "imports": lambda v: _tuple(v, _import),
        },
    )
    return Settings(**kw, base_dir=base_dir, config_path=config_path)


def _fields(values: Any, parsers: Mapping[str, Callable[[Any], Any]]) -> dict[str, Any]:
    """Each key of a mapping parsed by its parser; an unknown key is pydantic's to report."""
    if not isinstance(values, dict):
        raise _Unsure
    out = {}
    for key, value in values.items():
        parse = parsers.get(key)
        if parse is None:
            raise _Unsure
        out[key] = parse(value)
    return out


def _model(values: Any, cls: Callable[..., T], parsers: Mapping[str, Callable[[Any], Any]]) -> T:
    return cls(**_fields(values, parsers))


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Unsure
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Unsure
    return value


def _duration(value: Any) -> Any:
    return duration_value(_str(value))


def _opt_duration(value: Any) -> Any:
    return None if value is None else _duration(value)


def _tuple(value: Any, item: Callable[[Any], T]) -> tuple[T, ...]:
    if not isinstance(value, list):
        raise _Unsure
    return tuple(item(v) for v in value)


def _dict(value: Any, item: Callable[[Any], T]) -> dict[str, T]:
    if not isinstance(value, dict):
        raise _Unsure
    return {_str(k): item(v) for k, v in value.items()}


def _notify(value: Any) -> tuple[str, ...]:
    return _tuple(value, lambda u: check_notify(_str(u)))


def _match(value: Any) -> dict[str, str]:
    def text(v: Any) -> str:
        if v is None or not isinstance(v, str | bool | int | float):
            raise _Unsure
        return _str(match_text(v))

    return check_match(_dict(value, text))


def _max_connections(value: Any) -> int:
    if type(value) is not int or not 1 <= value <= 64:
        raise _Unsure
    return value


def _query_tag(value: Any) -> str:
    tag = _str(value)
    if len(tag) > 64 or not _QUERY_TAG.fullmatch(tag):
        raise _Unsure
    return tag


def _catalog(value: Any) -> Catalog:
    if not isinstance(value, dict):
        raise _Unsure
    extra = {_str(k): v for k, v in value.items() if k not in ("type", "timeout")}
    kw: dict[str, Any] = {}
    if "type" in value:
        kw["type"] = _opt_str(value["type"])
    if "timeout" in value:
        kw["timeout"] = _duration(value["timeout"])
    return Catalog(**kw, extra=extra)


def _window(value: Any) -> MaintenanceWindow:
    window = _model(value, MaintenanceWindow, _WINDOW)
    check_window(window)
    return window


def _import(value: Any) -> Import:
    entry = _model(value, Import, _IMPORT)
    check_import(entry)
    return entry


_WAREHOUSE: dict[str, Callable[[Any], Any]] = {
    "url": lambda v: check_url(_str(v)),
    "timezone": lambda v: check_timezone(_str(v)),
    "timeout": _duration,
    "max_connections": _max_connections,
    "query_tag": _query_tag,
}
_STATE: dict[str, Callable[[Any], Any]] = {
    "url": lambda v: check_state_url(_str(v)),
    "retention": _duration,
    "lease_ttl": _duration,
}
_OWNER: dict[str, Callable[[Any], Any]] = {"notify": _notify, "repeat_every": _opt_duration}
_ROUTE: dict[str, Callable[[Any], Any]] = {"match": _match, "notify": _notify}
_WINDOW: dict[str, Callable[[Any], Any]] = {
    "match": _match,
    "schedule": lambda v: check_cron(_opt_str(v)),
    "duration": _opt_duration,
    "timezone": lambda v: check_timezone(_str(v)),
    # parsed by check_window, in the window's own timezone
    "start": _opt_str,
    "end": _opt_str,
    "reason": _str,
}
_ALERTS: dict[str, Callable[[Any], Any]] = {
    "notify_on": lambda v: check_statuses(_tuple(v, _str)),
    "repeat_every": _duration,
    "send_resolved": _bool,
    "group_wait": _duration,
    "fallback": _notify,
    "routes": lambda v: _tuple(v, _route),
    "maintenance": lambda v: _tuple(v, _window),
}
_AUTH: dict[str, Callable[[Any], Any]] = {"username": _str, "password": _str}
_SERVER: dict[str, Callable[[Any], Any]] = {
    "listen": lambda v: check_listen(_str(v)),
    "public_url": lambda v: check_http(_opt_str(v)),
    "dashboard_url": lambda v: check_http(_opt_str(v)),
    "ping_token": _opt_str,
    "auth": lambda v: None if v is None else _auth(v),
    "replica": _opt_str,
}
_IMPORT: dict[str, Callable[[Any], Any]] = {
    "dbt": _opt_str,
    "datacontract": _opt_str,
    "warehouse": _str,
    "owner": _opt_str,
    "servers": lambda v: _dict(v, _str),
}


def _route(value: Any) -> Route:
    kw = _fields(value, {**_ROUTE, "continue": _bool})
    if "continue" in kw:
        kw["continue_"] = kw.pop("continue")
    return Route(**kw)


def _auth(value: Any) -> Auth:
    kw = _fields(value, _AUTH)
    if set(kw) != {"username", "password"}:
        raise _Unsure  # a missing key: pydantic's message
    return Auth(**kw)
