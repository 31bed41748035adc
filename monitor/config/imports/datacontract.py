"""Data contract files → contract drafts (SPEC 11): the Data Contract Specification and
ODCS v3, told apart by their keys (`dataContractSpecification:` / `apiVersion` + `kind`).

DCS: `servicelevels.freshness` (`threshold` `25h` or ISO-8601 `PT25H`, `timestampField:
model.field`) gives `CONTRACT_ID.MODEL` reading `max(field)` of the model's table on the
mapped server, or, for an `s3`/local server whose `location` holds `{model}`, a `files:`
contract with `column:`; `servicelevels.frequency.cron` becomes `schedule`.
ODCS v3: each `slaProperties` entry whose `property` is `latency` (`ly`) or `freshness`
gives `ID.TABLE` with `error_after` = `value` + `unit`, on its `element` (or the contract's
`slaDefaultElement`). Entries that are not freshness rules are ignored; a freshness rule
that cannot be read is an error at its position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.config import yamlpos
from monitor.config.imports.draft import Draft, duration_text
from monitor.config.yamlpos import Pos, YList, YMap
from monitor.core.errors import Problem

_UNITS = {
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("h", "hr", "hour", "hours"), 3600),
    **dict.fromkeys(("m", "min", "minute", "minutes"), 60),
}
_ISO = re.compile(
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?",
    re.IGNORECASE,
)
_SHORT = re.compile(r"(?:\d+[dhms])+", re.IGNORECASE)
# Server types whose tables hold a database (catalog) part in their name.
_CATALOG_TYPES = ("snowflake", "bigquery", "databricks")
_FILE_TYPES = ("s3", "local", "gcs", "azure")


class _Out:
    """Problems of one file, each at its position."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.problems: list[Problem] = []

    def error(self, pos: Pos, message: str) -> None:
        self.problems.append(Problem(self.shown, pos.line, pos.col, message))


def file_drafts(
    path: Path, shown: str, env: Mapping[str, str], servers: Mapping[str, str]
) -> tuple[list[Draft], list[Problem]]:
    """The drafts of one data contract file; `servers` maps its server names to warehouses."""
    out = _Out(shown)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        out.error(Pos(1, 1), f"cannot read: {exc}")
        return [], out.problems
    data, yproblems = yamlpos.load(text, env)
    for p in yproblems:
        out.error(p.pos, p.message)
    if yproblems:
        return [], out.problems
    if not isinstance(data, YMap):
        out.error(Pos(1, 1), "not a data contract (expected a mapping)")
        return [], out.problems
    if "dataContractSpecification" in data:
        drafts = _dcs(data, shown, servers, out)
    elif str(data.get("kind", "")) == "DataContract" and str(data.get("apiVersion", "")).startswith(
        "v3"
    ):
        drafts = _odcs(data, shown, servers, out)
    else:
        out.error(
            data.pos,
            "not a data contract fresh reads: expected `dataContractSpecification:` (Data "
            "Contract Specification) or `apiVersion: v3.x` with `kind: DataContract` (ODCS v3)",
        )
        drafts = []
    return drafts, out.problems


def parse_threshold(text: Any) -> int | None:
    """Seconds of `25h`, `1d12h`, `PT25H` or `P1DT12H`; None when it is neither."""
    s = str(text).strip()
    m = _ISO.fullmatch(s)
    if m and s.upper() != "P" and s.upper() != "PT":
        parts = {k: int(v) for k, v in m.groupdict().items() if v}
        total = (
            parts.get("w", 0) * 604800
            + parts.get("d", 0) * 86400
            + parts.get("h", 0) * 3600
            + parts.get("m", 0) * 60
            + parts.get("s", 0)
        )
        return total or None
    if _SHORT.fullmatch(s):
        sizes = {"d": 86400, "h": 3600, "m": 60, "s": 1}
        total = sum(int(n) * sizes[u.lower()] for n, u in re.findall(r"(\d+)([dhms])", s, re.I))
        return total or None
    return None


def _server(doc_servers: Any, mapping: Mapping[str, str]) -> tuple[str | None, Mapping[str, Any]]:
    """(the fresh warehouse, the server's settings): the first server named in `mapping`,
    else the contract's first server with the import's own warehouse."""
    if isinstance(doc_servers, YMap):
        items = [(str(k), v) for k, v in doc_servers.items() if isinstance(v, Mapping)]
    elif isinstance(doc_servers, YList):
        items = [(str(v.get("server", "")), v) for v in doc_servers if isinstance(v, Mapping)]
    else:
        items = []
    for name, server in items:
        if name in mapping:
            return mapping[name], server
    return None, (items[0][1] if items else {})


def _relation(server: Mapping[str, Any], table: str) -> str:
    kind = str(server.get("type", "")).lower()
    parts = []
    if kind in _CATALOG_TYPES:
        parts.append(server.get("database") or server.get("project") or server.get("catalog"))
    parts.append(server.get("schema") or server.get("dataset"))
    parts.append(table)
    return ".".join(str(p) for p in parts if p not in (None, ""))


def _source(server: Mapping[str, Any], table: str, column: str) -> dict[str, Any]:
    kind = str(server.get("type", "")).lower()
    location = server.get("location") or server.get("path")
    if kind in _FILE_TYPES and isinstance(location, str) and "{model}" in location:
        return {"files": location.replace("{model}", table), "column": column}
    return {"table": _relation(server, table), "column": column}


# --- Data Contract Specification ---------------------------------------------------------


def _dcs(data: YMap, shown: str, mapping: Mapping[str, str], out: _Out) -> list[Draft]:
    levels = data.get("servicelevels")
    fresh = levels.get("freshness") if isinstance(levels, YMap) else None
    if not isinstance(fresh, YMap):
        return []  # no freshness rule in this contract: nothing to watch
    cid = str(data.get("id") or Path(shown).stem)
    before = len(out.problems)
    threshold = fresh.get("threshold")
    seconds = parse_threshold(threshold) if threshold is not None else None
    if threshold is None:
        out.error(fresh.pos, "servicelevels.freshness: missing threshold (e.g. 25h or PT25H)")
    elif seconds is None:
        out.error(
            fresh.val_pos("threshold"),
            f"servicelevels.freshness.threshold: cannot read {threshold!r} "
            "(use e.g. 25h, 1d12h, PT25H or P1DT12H)",
        )
    field = fresh.get("timestampField")
    if not isinstance(field, str) or field.count(".") != 1:
        at = fresh.val_pos("timestampField") if "timestampField" in fresh else fresh.pos
        out.error(at, "servicelevels.freshness.timestampField: expected model.field")
        return []
    model, column = field.split(".")
    models = data.get("models")
    if not isinstance(models, YMap) or model not in models:
        known = ", ".join(models) if isinstance(models, YMap) else "none"
        out.error(
            fresh.val_pos("timestampField"),
            f"servicelevels.freshness.timestampField: no model {model!r} (models: {known})",
        )
        return []
    if len(out.problems) > before or seconds is None:
        return []
    warehouse, server = _server(data.get("servers"), mapping)
    fields: dict[str, Any] = _source(server, model, column)
    fields["error_after"] = duration_text(seconds)
    if warehouse is not None:
        fields["warehouse"] = warehouse
    info_value = data.get("info")
    info: YMap = info_value if isinstance(info_value, YMap) else YMap(data.pos)
    if info.get("owner"):
        fields["owner"] = str(info["owner"])
    meta: dict[str, Any] = {"datacontract_id": cid}
    if info.get("version") is not None:
        meta["version"] = str(info["version"])
    if isinstance(info.get("contact"), Mapping):
        meta["contact"] = ", ".join(f"{k}: {v}" for k, v in info["contact"].items())
    fields["metadata"] = meta
    m = models[model]
    if isinstance(m, Mapping) and m.get("description"):
        fields["description"] = str(m["description"])
    freq = levels.get("frequency") if isinstance(levels, YMap) else None
    if isinstance(freq, YMap) and isinstance(freq.get("cron"), str):
        fields["schedule"] = freq["cron"]
    return [
        Draft(
            name=f"{cid}.{model}",
            fields=fields,
            path=shown,
            pos=fresh.pos,
            node=f"{cid}.servicelevels.freshness",
            key_pos={"schedule": freq.val_pos("cron")} if isinstance(freq, YMap) else {},
        )
    ]


# --- ODCS v3 --------------------------------------------------------------------------------


def _odcs(data: YMap, shown: str, mapping: Mapping[str, str], out: _Out) -> list[Draft]:
    entries = data.get("slaProperties")
    if not isinstance(entries, YList):
        return []
    cid = str(data.get("id") or Path(shown).stem)
    tables = _schema_tables(data.get("schema"))
    warehouse, server = _server(data.get("servers"), mapping)
    team = data.get("team")
    owner = team.get("name") if isinstance(team, Mapping) else None
    default = data.get("slaDefaultElement")
    found: list[tuple[str, str, Pos, Any, int]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, YMap):
            continue
        prop = str(entry.get("property", "")).lower()
        if prop not in ("latency", "ly", "freshness"):
            continue
        pos = entries.item_pos(i)
        seconds = _odcs_limit(entry, out)
        if seconds is None:
            continue
        element = entry.get("element", default)
        if not isinstance(element, str) or not element.strip():
            out.error(
                pos,
                f"slaProperties[{i}]: {prop} has no element (table.column) and the "
                "contract no slaDefaultElement",
            )
            continue
        at = entry.val_pos("element") if "element" in entry else pos
        for part in element.split(","):
            ref = _element(part.strip(), tables, at, i, out)
            if ref is not None:
                found.append((*ref, at, seconds, i))
    per_table = {t: sum(1 for f in found if f[0] == t) for t, *_ in found}
    drafts = []
    for table, column, _, seconds, i in found:
        fields: dict[str, Any] = _source(server, tables.get(table, table), column)
        fields["error_after"] = duration_text(seconds)
        if warehouse is not None:
            fields["warehouse"] = warehouse
        if owner:
            fields["owner"] = str(owner)
        meta = {"datacontract_id": cid}
        if data.get("version") is not None:
            meta["version"] = str(data["version"])
        fields["metadata"] = meta
        # Two columns of one table (`element: t.a, t.b`) need two names.
        name = f"{cid}.{table}" if per_table[table] == 1 else f"{cid}.{table}.{column}"
        node = f"{cid}.slaProperties[{i}].{table}.{column}"
        drafts.append(Draft(name, fields, shown, entries.item_pos(i), node))
    return drafts


def _odcs_limit(entry: YMap, out: _Out) -> int | None:
    value, unit = entry.get("value"), entry.get("unit")
    if unit is None:
        out.error(entry.pos, "slaProperties: a latency needs a unit (d, h or m)")
        return None
    word = str(unit).strip().lower()
    if word in ("%", "percent"):
        return None  # a percentage is no freshness limit: not fresh's to read
    if word not in _UNITS:
        out.error(
            entry.val_pos("unit"),
            f"slaProperties: unknown unit {unit!r} (d/day/days, h/hr/hour/hours, "
            "m/min/minute/minutes)",
        )
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        at = entry.val_pos("value") if "value" in entry else entry.pos
        out.error(at, f"slaProperties: value must be a number above 0, got {value!r}")
        return None
    return int(value * _UNITS[word])


def _schema_tables(schema: Any) -> dict[str, str]:
    """Schema object name → its physical name (the name itself when none)."""
    out: dict[str, str] = {}
    if isinstance(schema, YList):
        for obj in schema:
            if isinstance(obj, Mapping) and obj.get("name"):
                out[str(obj["name"])] = str(obj.get("physicalName") or obj["name"])
    return out


def _element(
    element: str, tables: dict[str, str], pos: Pos, i: int, out: _Out
) -> tuple[str, str] | None:
    if "." in element:
        table, column = element.rsplit(".", 1)
        if tables and table not in tables:
            by_physical = {v: k for k, v in tables.items()}
            if table not in by_physical:
                out.error(
                    pos,
                    f"slaProperties[{i}]: element {element!r}: no schema object "
                    f"{table!r} (schema: {', '.join(tables)})",
                )
                return None
            table = by_physical[table]
        return table, column
    if len(tables) == 1:
        return next(iter(tables)), element
    out.error(
        pos,
        f"slaProperties[{i}]: element {element!r}: write table.column (the "
        "contract has several schema objects)"
        if tables
        else f"slaProperties[{i}]: element {element!r}: the contract has no schema object",
    )
    return None
