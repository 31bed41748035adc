"""fresh.yml + checks/ → `Project`, with every problem found at once.

`load_project` reads without connecting anywhere. Problems are `path:line:col: message`
(1-based, from PyYAML's C composer). Errors raise one `ConfigError` carrying all of them,
warnings included; warnings alone (an owner not declared under `owners:`) are returned in
`Project.warnings`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from monitor.config import contracts as contracts_mod
from monitor.config import yamlpos
from monitor.config.fields import Warehouses
from monitor.config.notify import notify_problems
from monitor.config.project import Project
from monitor.config.reading import bad_link, link_problem, read_text
from monitor.config.settings import INTERNAL_KEYS, Settings
from monitor.config.settings_lean import lean_settings
from monitor.config.values import did_you_mean
from monitor.config.yamlpos import Pos, YList, YMap, walk
from monitor.core.errors import ConfigError, Problem
from monitor.core.models import Contract, IcebergSource, Location

CONFIG_NAME = "fresh.yml"
CHECKS_DIR = "checks"


def load_project(
    config: Path | None = None,
    checks: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    *,
    notify_check: Callable[[str], str | None] | None = None,
    on_settings: Callable[[Settings], None] | None = None,
) -> Project:
    """Read fresh.yml (or defaults) and every checks/**/*.yml; raise ConfigError on errors.

    `config` / `checks` are the `--config` / `--checks` options (relative to `cwd`). Paths
    inside contracts (globs, run-log files) are kept as written: readers resolve them
    against `settings.base_dir`, the folder holding fresh.yml (else `cwd`).
    `notify_check(url)` says why alerts cannot be sent to a notify URL (None: they can);
    the alerts layer passes it in for `validate` and `serve`, so `check` never imports a
    sender. `on_settings(settings)` is called once fresh.yml is read, before the contracts
    are: `check` starts opening its DuckDB warehouses then (monitor.sources.sql.duckdb_handles).
    """
    # Loading allocates tens of thousands of small objects and frees none of them: the
    # cyclic GC would scan them again and again (a third of the time for 1,000 contracts).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(
            config,
            checks,
            os.environ if env is None else env,
            (cwd or Path.cwd()).absolute(),
            notify_check,
            on_settings,
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def _load(
    config: Path | None,
    checks: Path | None,
    env: Mapping[str, str],
    cwd: Path,
    notify_check: Callable[[str], str | None] | None,
    on_settings: Callable[[Settings], None] | None,
) -> Project:
    problems: list[Problem] = []

    path = _config_path(config, cwd, problems)
    if path is None:
        base_dir = cwd
        default = Settings(base_dir=cwd)
        settings: Settings | None = default
        urls: dict[str, str | None] | None = {n: w.url for n, w in default.warehouses.items()}
        owners_declared = False
    else:
        base_dir = path.parent
        settings, urls, owners_declared = _load_settings(
            path, _display(path, cwd), env, problems, notify_check
        )
    if settings is not None and on_settings is not None:
        on_settings(settings)

    names: dict[str, Location] = {}
    contracts = _load_checks(checks, base_dir, cwd, env, urls, problems, names)
    imported: tuple[Path, ...] = ()
    if settings is not None and settings.imports and path is not None:
        # Imported here: the dbt, datacontract and lineage readers cost `fresh check` more
        # start-up than the contracts they would read, for the many projects without imports.
        from monitor.config.imports import loader as imports

        more, files = imports.load(
            settings.imports,
            _import_positions(path, _display(path, cwd), env),
            base_dir,
            env,
            lambda p: _display(p, cwd),
            Warehouses(urls or {}, known=urls is not None),
            names,
            problems,
        )
        contracts.extend(more)
        imported = tuple(files)
    if settings and owners_declared:
        problems.extend(_owner_warnings(settings, contracts))
    if settings:
        problems.extend(_catalog_problems(settings, contracts))
    if settings is None or any(not p.warning for p in problems):
        raise ConfigError(problems)
    warnings = tuple(sorted(p for p in problems if p.warning))
    return Project(
        settings=settings, contracts=tuple(contracts), warnings=warnings, imported_files=imported
    )


def _import_positions(path: Path, display: str, env: Mapping[str, str]) -> list[tuple[str, Pos]]:
    """(fresh.yml as shown, where each `imports:` entry starts): problems of an import
    that has no file of its own to point at are reported there."""
    text = path.read_text(encoding="utf-8")
    data, _ = yamlpos.load(text, env)
    entries = data.get("imports") if isinstance(data, YMap) else None
    if not isinstance(entries, YList):
        return []
    return [(display, entries.item_pos(i)) for i in range(len(entries))]


def _display(path: Path, cwd: Path) -> str:
    """How a file is named in messages: relative to the current folder when inside it."""
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def _config_path(config: Path | None, cwd: Path, problems: list[Problem]) -> Path | None:
    if config is None:
        found = cwd / CONFIG_NAME
        if found.is_file():
            return found
        # A fresh.yml that is a broken or looping symlink is not "no fresh.yml": running on
        # the defaults would silently drop every owner, route and warehouse it declares.
        problem = link_problem(found, CONFIG_NAME)
        if problem is not None:
            raise ConfigError([*problems, problem])
        return None
    path = config if config.is_absolute() else cwd / config
    if not path.is_file():
        problems.append(Problem(str(config), 1, 1, "configuration file not found"))
        raise ConfigError(problems)
    return path


def _load_settings(
    path: Path,
    display: str,
    env: Mapping[str, str],
    problems: list[Problem],
    notify_check: Callable[[str], str | None] | None = None,
) -> tuple[Settings | None, dict[str, str | None] | None, bool]:
    """(settings or None when invalid, warehouse name → URL as far as known, owners declared)."""
    text = read_text(path, display, problems)
    data, yproblems = yamlpos.load(text, env) if text is not None else (None, [])
    problems.extend(Problem(display, p.pos.line, p.pos.col, p.message) for p in yproblems)
    if text is None or (data is None and yproblems):
        return None, None, False
    if data is None:
        data = YMap(Pos(1, 1))
    if not isinstance(data, YMap):
        problems.append(
            Problem(
                display,
                1,
                1,
                "fresh.yml must be a mapping of sections "
                "(warehouses, state, owners, alerts, server…)",
            )
        )
        return None, None, False
    urls = known_urls(data)
    before = len(problems)
    user = {k: v for k, v in data.items() if k not in INTERNAL_KEYS}
    for key in INTERNAL_KEYS:
        if key in data:
            p = data.key_pos(key)
            problems.append(Problem(display, p.line, p.col, f"unknown key {key!r}"))
    settings: Settings | None = None
    if not yproblems and len(problems) == before:
        # The common, valid fresh.yml without pydantic; anything else (an error, a value
        # pydantic would coerce) through the reference models, for their exact messages.
        settings = lean_settings(user, path.parent, path)
    if settings is None:
        from monitor.config.validation import validate_problems

        settings, found = validate_problems(
            display, data, {**user, "base_dir": path.parent, "config_path": path}
        )
        problems.extend(found)
    if yproblems or len(problems) > before:
        return None, urls, "owners" in data
    if settings is not None and "owners" in data:
        problems.extend(_route_owner_warnings(display, data, settings))
    if settings is not None and notify_check is not None:
        found = notify_problems(display, data, notify_check)
        if found:
            problems.extend(found)
            return None, urls, "owners" in data
    return settings, urls, "owners" in data


def _route_owner_warnings(display: str, data: YMap, settings: Settings) -> list[Problem]:
    """A route matching an owner that is not declared would never fire: warn, like contracts."""
    out = []
    alerts = data.get("alerts")
    routes = alerts.get("routes") if isinstance(alerts, YMap) else None
    for i, route in enumerate(settings.alerts.routes):
        owner = route.match.get("owner")
        if owner is None or owner in settings.owners or any(c in owner for c in "*?["):
            continue
        _, pos, _ = (
            walk(routes, (i, "match", "owner"))
            if isinstance(routes, YList)
            else (None, data.pos, None)
        )
        out.append(
            Problem(
                display,
                pos.line,
                pos.col,
                f"alerts.routes[{i}].match.owner: owner {owner!r} is not declared under owners:"
                f"{did_you_mean(owner, settings.owners)}",
                warning=True,
            )
        )
    return out


def known_urls(data: YMap) -> dict[str, str | None] | None:
    """Warehouses as far as readable, so contracts are checked even when fresh.yml is not
    (None: not readable at all)."""
    whs = data.get("warehouses")
    if whs is None:
        return {"main": "duckdb:///warehouse.duckdb"}
    if not isinstance(whs, YMap):
        return None
    out: dict[str, str | None] = {}
    for name, w in whs.items():
        url = w.get("url") if isinstance(w, YMap) else None
        out[name] = url if isinstance(url, str) else None
    return out


def _load_checks(
    checks: Path | None,
    base_dir: Path,
    cwd: Path,
    env: Mapping[str, str],
    urls: dict[str, str | None] | None,
    problems: list[Problem],
    names: dict[str, Location],
) -> list[Contract]:
    if checks is not None:
        folder = checks if checks.is_absolute() else cwd / checks
        if not folder.is_dir():
            problems.append(Problem(str(checks), 1, 1, "checks folder not found"))
            return []
    else:
        folder = base_dir / CHECKS_DIR
        if not folder.is_dir():
            return []
    files = sorted(
        p
        for p in (*folder.rglob("*.yml"), *folder.rglob("*.yaml"))
        if not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and (p.is_file() or bad_link(p, _display(p, cwd), problems))
    )
    wh = Warehouses(urls or {}, known=urls is not None)
    found: list[Contract] = []
    for f in files:
        display = _display(f, cwd)
        text = read_text(f, display, problems)
        if text is None:
            continue
        data, yproblems = yamlpos.load(text, env)
        problems.extend(Problem(display, p.pos.line, p.pos.col, p.message) for p in yproblems)
        found.extend(contracts_mod.parse_file(display, data, wh, problems, names))
    return found


def _catalog_problems(settings: Settings, contracts: list[Contract]) -> list[Problem]:
    """An `iceberg` contract naming a catalog fresh.yml does not declare cannot be read."""
    out = []
    for c in contracts:
        if isinstance(c.source, IcebergSource) and c.source.catalog not in settings.catalogs:
            loc = c.location
            out.append(
                Problem(
                    loc.path if loc else "?",
                    loc.line if loc else 1,
                    loc.col if loc else 1,
                    f"catalog: unknown catalog {c.source.catalog!r}"
                    f"{did_you_mean(c.source.catalog, settings.catalogs)} (declare it under "
                    "catalogs: in fresh.yml)",
                )
            )
    return out


def _owner_warnings(settings: Settings, contracts: list[Contract]) -> list[Problem]:
    out = []
    for c in contracts:
        if c.owner not in settings.owners:
            loc = c.location
            hint = did_you_mean(c.owner, settings.owners)
            fallback = "alerts.fallback" if settings.alerts.fallback else "no one (no fallback)"
            out.append(
                Problem(
                    loc.path if loc else "?",
                    loc.line if loc else 1,
                    loc.col if loc else 1,
                    f"owner {c.owner!r} of {c.name!r} is not declared under owners: in fresh.yml"
                    f"{hint}; its alerts go to {fallback}",
                    warning=True,
                )
            )
    return out
