"""checks/*.yml → `Contract` values, with every problem found at once and its position.

Hand-written rather than pydantic: a `fresh check` of 1,000 contracts has ~0.5 s for the
whole process, and the messages here speak the user's keys. Nothing here connects
anywhere; sqlglot is imported only for contracts with `where` or `query`, cronsim only for
contracts with `schedule`.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from monitor.config.fields import (
    LAKE_SOURCES,
    LAKE_WAREHOUSE,
    SOURCES,
    Reader,
    Warehouses,
    unknown_keys,
)
from monitor.config.source_specs import read_source
from monitor.config.values import SEVERITIES, check_timezone, did_you_mean
from monitor.config.yamlpos import YList, YMap
from monitor.core.durations import parse_duration
from monitor.core.errors import Problem
from monitor.core.models import (
    DEFAULT_CHECK_EVERY,
    NO_METADATA,
    Contract,
    Expectation,
    Learn,
    Location,
    Severity,
)
from monitor.core.textsafe import control_problem

CONTRACT_KEYS = (
    "name",
    "description",
    "owner",
    "severity",
    "tags",
    "metadata",
    "warehouse",
    *SOURCES,
    "catalog",
    "column",
    "where",
    "column_format",
    "warn_after",
    "error_after",
    "check_every",
    "schedule",
    "timezone",
    "learn",
)
LEARN_KEYS = ("window", "backfill")
DEFAULT_KEYS = tuple(k for k in CONTRACT_KEYS if k != "name" and k not in SOURCES)
FILE_KEYS = ("defaults", "contracts")


@lru_cache(maxsize=256)
def _timezone_problem(name: str) -> str | None:
    try:
        check_timezone(name)
    except ValueError as exc:
        return str(exc)
    return None


@lru_cache(maxsize=1024)
def _cron_problem(expr: str) -> str | None:
    # The same rule the evaluator runs on (5 fields, DST as cron), imported only when a
    # contract has a schedule: cronsim is not needed otherwise.
    from monitor.core.schedule import validate_cron

    return validate_cron(expr)


# Equal values are one object: contracts written alike (the same limits, zone and tags,
# often from `defaults:`) share them instead of holding a copy each. All are frozen.
@lru_cache(maxsize=4096)
def _expectation(
    warn_after: timedelta | None,
    error_after: timedelta | None,
    schedule: str | None,
    timezone: str,
    learn: Learn | None,
) -> Expectation:
    return Expectation(
        warn_after=warn_after,
        error_after=error_after,
        schedule=schedule,
        timezone=timezone,
        learn=learn,
    )


@lru_cache(maxsize=4096)
def _shared(tags: tuple[str, ...]) -> tuple[str, ...]:
    return tags


def _learn(r: Reader) -> Learn | None:
    """`learn: true` / `learn: false` / `learn: {window: 35d, backfill: false}` (SPEC 13)."""
    value = r.get("learn")
    if value is None or value is False:
        return None
    if value is True:
        return Learn()
    if not isinstance(value, YMap):
        r.error(r.pos("learn"), "learn: expected true or a mapping (window, backfill)")
        return None
    if unknown_keys(r.path, value, LEARN_KEYS, r.out, " in learn"):
        r.ok = False
    learn = Learn()
    window = value.get("window")
    if window is not None:
        try:
            learn = Learn(window=parse_duration(str(window)))
        except ValueError as exc:
            r.error(value.val_pos("window"), f"learn.window: {exc}")
        else:
            if learn.window < timedelta(days=3):
                r.error(value.val_pos("window"), "learn.window: must be at least 3d")
    backfill = value.get("backfill", True)
    if not isinstance(backfill, bool):
        r.error(value.val_pos("backfill"), "learn.backfill: expected true or false")
        backfill = True
    return Learn(window=learn.window, backfill=backfill)


def _plain(value: Any) -> Any:
    """YMap/YList → dict/list, so metadata is plain data for JSON, labels and pickling."""
    if isinstance(value, YMap):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, YList):
        return [_plain(v) for v in value]
    return value


def _control_in_tags(r: Reader, m: YMap) -> None:
    """Refuse control characters in the tags of `m`, at the tag that holds one."""
    value = m.get("tags")
    for i, tag in enumerate(value if isinstance(value, YList) else (value,)):
        if isinstance(tag, str) and (why := control_problem(tag)):
            pos = value.item_pos(i) if isinstance(value, YList) else m.val_pos("tags")
            r.error(pos, f"tags: {why}")


def _contract(
    path: str, item: YMap, defaults: YMap, wh: Warehouses, out: list[Problem]
) -> Contract | None:
    r = Reader(path, item, defaults, out)
    if unknown_keys(path, item, CONTRACT_KEYS, out):
        r.ok = False
    name = r.text("name", required=True)
    if name is not None and (not name.strip() or "/" in name or name != name.strip()):
        r.error(
            r.pos("name"),
            f"name: {name!r} must be non-empty text without '/' or "
            "surrounding spaces (it is part of ping URLs)",
        )
    owner = r.text("owner")
    if owner is None:
        r.error(item.pos, "missing required key 'owner' (here or in defaults)")
    elif not owner.strip():
        r.error(r.pos("owner"), "owner: must not be empty")
    # Names, owners and tags reach terminals, logs, labels and alerts as they are written.
    for key, value in (("name", name), ("owner", owner)):
        if value is not None and (why := control_problem(value)):
            r.error(r.pos(key), f"{key}: {why}")
    severity = r.text("severity") or "warning"
    if severity not in SEVERITIES:
        r.error(
            r.pos("severity"),
            f"severity: unknown severity {severity!r}"
            f"{did_you_mean(severity, SEVERITIES)} (info, warning or critical)",
        )
        severity = "warning"
    description = r.text("description") or ""
    tags = r.words(defaults.get("tags"), "tags", defaults.val_pos("tags"))
    if "tags" in item:
        tags = tuple(dict.fromkeys(tags + r.words(item["tags"], "tags", item.val_pos("tags"))))
    for m in (defaults, item):
        _control_in_tags(r, m)
    metadata: dict[str, Any] = {}
    for m, label in ((defaults, "defaults"), (item, "contract")):
        meta = m.get("metadata")
        if meta is None:
            continue
        if isinstance(meta, YMap):
            metadata.update(_plain(meta))
        else:
            r.error(m.val_pos("metadata"), f"metadata: expected a mapping in {label}")

    warehouse = r.text("warehouse")
    lake = any(k in item for k in LAKE_SOURCES)
    if lake:
        # Table formats are read from their own logs, not through a warehouse: `warehouse`
        # is only the label their series carry (`lake` unless set, SPEC 14).
        warehouse = warehouse or LAKE_WAREHOUSE
    elif warehouse is not None and wh.known and warehouse not in wh.urls:
        r.error(
            r.pos("warehouse"),
            f"warehouse: unknown warehouse {warehouse!r}"
            f"{did_you_mean(warehouse, wh.urls)} (declare it under "
            "warehouses: in fresh.yml)",
        )
        warehouse = None
    elif warehouse is None:
        warehouse = wh.default
        needs = [k for k in ("table", "query") if k in item]
        run_log = item.get("run_log")
        if isinstance(run_log, YMap) and ("table" in run_log or run_log.get("preset") == "airflow"):
            needs.append("run_log")
        if warehouse is None and needs:
            r.error(
                item.pos,
                f"missing key 'warehouse': fresh.yml declares several "
                f"({', '.join(wh.urls)}) and none is named main",
            )

    source = read_source(r, wh, warehouse)

    warn_after, error_after = r.duration("warn_after"), r.duration("error_after")
    learn = _learn(r)
    if not r.has("warn_after") and not r.has("error_after") and learn is None:
        r.error(
            item.pos, "an expectation is required: give warn_after and/or error_after, or learn"
        )
    if warn_after is not None and error_after is not None and warn_after >= error_after:
        r.error(r.pos("warn_after"), "warn_after must be shorter than error_after")
    check_every = r.duration("check_every") if r.has("check_every") else DEFAULT_CHECK_EVERY
    if check_every is not None and check_every < timedelta(seconds=1):
        r.error(r.pos("check_every"), "check_every: must be at least 1s")
        check_every = None
    schedule = r.text("schedule")
    if schedule is not None:
        why = _cron_problem(" ".join(schedule.split()))
        if why:
            r.error(r.pos("schedule"), f"schedule: {why}")
        if learn is not None:
            r.error(
                r.pos("learn"),
                "learn: cannot be combined with schedule (learn finds the rhythm itself)",
            )
    tz = r.text("timezone") or "UTC"
    why = _timezone_problem(tz)
    if why:
        r.error(r.pos("timezone"), f"timezone: {why}")

    if not r.ok or source is None or name is None or owner is None or check_every is None:
        return None
    return Contract(
        name=name,
        owner=owner,
        warehouse=warehouse or "",
        source=source,
        expectation=_expectation(warn_after, error_after, schedule, tz, learn),
        severity=Severity(severity),
        description=description,
        tags=_shared(tags),
        # a fresh dict per contract (Contract keeps it as given); none shares one empty map
        metadata=metadata or NO_METADATA,
        check_every=check_every,
        location=Location(path, item.pos.line, item.pos.col),
    )


def parse_contract(path: str, item: YMap, wh: Warehouses, out: list[Problem]) -> Contract | None:
    """One contract written in checks/ keys (an imported draft, monitor.imports), validated
    like a hand-written one; problems go to `out`."""
    return _contract(path, item, YMap(item.pos), wh, out)


def parse_file(
    path: str,
    data: Any,
    wh: Warehouses,
    out: list[Problem],
    names: dict[str, Location] | None = None,
) -> list[Contract]:
    """Contracts of one checks file already read by `yamlpos.load`; problems go to `out`.

    `names` (name → where first declared) is shared across files so a name used twice is
    reported with both locations, even when one of the two contracts has other problems.
    """
    names = {} if names is None else names
    if data is None:
        return []
    if not isinstance(data, YMap):
        out.append(
            Problem(
                path,
                1,
                1,
                "a checks file is a mapping with `contracts:` (and optional `defaults:`)",
            )
        )
        return []
    unknown_keys(path, data, FILE_KEYS, out)
    defaults = data.get("defaults")
    if defaults is None:
        defaults = YMap(data.pos)
    elif not isinstance(defaults, YMap):
        p = data.val_pos("defaults")
        out.append(Problem(path, p.line, p.col, "defaults: expected a mapping"))
        defaults = YMap(data.pos)
    else:
        for key in defaults:
            if key not in DEFAULT_KEYS:
                p = defaults.key_pos(key)
                why = (
                    "each contract names its own"
                    if key in SOURCES or key == "name"
                    else f"unknown key{did_you_mean(key, DEFAULT_KEYS)}"
                )
                out.append(
                    Problem(path, p.line, p.col, f"defaults: {key!r} cannot be a default ({why})")
                )
    items = data.get("contracts")
    if items is None:
        return []
    if not isinstance(items, YList):
        p = data.val_pos("contracts")
        out.append(Problem(path, p.line, p.col, "contracts: expected a list of contracts"))
        return []
    contracts = []
    for i, item in enumerate(items):
        if not isinstance(item, YMap):
            p = items.item_pos(i)
            out.append(
                Problem(
                    path,
                    p.line,
                    p.col,
                    "a contract is a mapping (name, owner, a source, warn_after/error_after…)",
                )
            )
            continue
        c = _contract(path, item, defaults, wh, out)
        # Dropped once read: the tree shrinks while the contracts grow, and each contract
        # reuses the memory of the items before it instead of scattering over the whole
        # tree (which the allocator then could not give back: ~30 MB at 100,000).
        items[i] = None
        name = item.get("name")
        if isinstance(name, str):
            first = names.get(name)
            if first is not None:
                p = item.val_pos("name")
                out.append(
                    Problem(
                        path,
                        p.line,
                        p.col,
                        f"duplicate contract name {name!r}: first declared at {first}",
                    )
                )
                continue
            names[name] = Location(path, item.pos.line, item.pos.col)
        if c is not None:
            contracts.append(c)
    return contracts
