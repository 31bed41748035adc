"""dbt sources → contract drafts (SPEC 11): the freshness merge and the manifest (the project
folder, read without dbt, is dbt_folder.py).

Freshness is merged as dbt merges it (dbt-core's `merge_freshness`): the table's block over
its source's, one level deep, so a table that sets only `warn_after` keeps the source's
`error_after`; `freshness: null` on a table turns it off, on a source clears the source's
default only; `warn_after: null` clears an inherited limit; `filter`, `loaded_at_field` and
`loaded_at_query` are the table's, else the source's. Each key may sit at the top level or
under `config:` (dbt 1.9+). A manifest holds dbt's merge already; the folder is merged here.

The relation is `database.schema.identifier` (schema defaults to the source's name,
identifier to the table's). `loaded_at_field` that is a plain column becomes `column`;
anything else (an expression) is read as `SELECT max(<expression>) FROM relation`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.config.imports.draft import NO_POS, Draft, duration_text
from monitor.core.errors import Problem

_PERIODS = {"minute": 60, "hour": 3600, "day": 86400}
UNSET = object()  # a key not written at all (as opposed to written as null)
# A plain or quoted column name (dbt users write `_loaded_at` or `"Loaded At"`).
_COLUMN = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*|"[^"]+"|`[^`]+`')


# --- merging, shared by the manifest and the folder -------------------------------------


def config_value(node: Mapping[str, Any], key: str) -> Any:
    """`key` under `config:` when written there, else at the top level (else UNSET)."""
    config = node.get("config")
    if isinstance(config, dict) and key in config:  # YMap is a dict too
        return config[key]
    return node.get(key, UNSET)


def threshold(block: Any) -> Any:
    """A freshness block as dbt sees it: None (off), UNSET, or a dict."""
    if block is UNSET:
        return UNSET
    if block is None:
        return None
    return dict(block) if isinstance(block, dict) else UNSET


def _time_is_set(t: Any) -> bool:
    return isinstance(t, dict) and t.get("count") is not None and t.get("period") is not None


def merge_freshness(base: Any, update: Any) -> dict[str, Any] | None:
    """dbt's merge of a source's (`base`) and a table's (`update`) freshness blocks."""
    if update is UNSET:
        update = {}  # dbt's default for a table: an empty block, merged with the source's
    if update is None:
        return None
    if base is UNSET or base is None:
        return dict(update)
    merged = {**base, **{k: v for k, v in update.items() if v is not None}}
    for level in ("warn_after", "error_after"):
        b, u = base.get(level), update.get(level, UNSET)
        if level in update and u is None:
            merged[level] = None  # `warn_after: null` clears the inherited limit
        elif _time_is_set(u):
            merged[level] = u
        else:
            merged[level] = b if _time_is_set(b) else None
    return merged


def limits(freshness: Mapping[str, Any] | None, where: str) -> tuple[dict[str, str], list[str]]:
    """(`warn_after`/`error_after` as fresh durations, problems) of a merged block."""
    out: dict[str, str] = {}
    problems: list[str] = []
    if not freshness:
        return out, problems
    for level in ("warn_after", "error_after"):
        t = freshness.get(level)
        if not isinstance(t, dict) or not _time_is_set(t):
            continue
        period, count = str(t["period"]), t["count"]
        if period not in _PERIODS:
            problems.append(f"{where}{level}: unknown period {period!r} (minute, hour or day)")
            continue
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            problems.append(f"{where}{level}: count must be a whole number above 0")
            continue
        out[level] = duration_text(count * _PERIODS[period])
    return out, problems


def _filter(freshness: Mapping[str, Any] | None) -> str | None:
    value = freshness.get("filter") if freshness else None
    return str(value) if value not in (None, "") else None


def relation(database: Any, schema: Any, identifier: Any) -> str:
    """`database.schema.identifier`, leaving out what is not given."""
    return ".".join(str(p) for p in (database, schema, identifier) if p not in (None, ""))


def source_fields(
    relation_name: str,
    freshness: Mapping[str, Any] | None,
    loaded_at_field: Any,
    loaded_at_query: Any,
) -> dict[str, Any]:
    """The source keys of a contract: table+column(+where), query, or table alone."""
    where = _filter(freshness)
    if loaded_at_query not in (None, "", UNSET):
        sql = str(loaded_at_query).strip().rstrip(";")
        return {
            "query": sql.replace("{{ this }}", relation_name).replace("{{this}}", relation_name)
        }
    if loaded_at_field not in (None, "", UNSET):
        expr = str(loaded_at_field).strip()
        if _COLUMN.fullmatch(expr):
            fields: dict[str, Any] = {"table": relation_name, "column": expr}
            if where:
                fields["where"] = where
            return fields
        sql = f"SELECT max({expr}) FROM {relation_name}"
        return {"query": sql + (f" WHERE {where}" if where else "")}
    return {"table": relation_name}  # metadata, where the warehouse has it


def common_fields(
    table: Mapping[str, Any], source: Mapping[str, Any], unique_id: str
) -> dict[str, Any]:
    """Owner, tags, metadata and description of one table (SPEC 11)."""
    t_meta = _mapping(config_value(table, "meta"))
    s_meta = _mapping(config_value(source, "meta"))
    fields: dict[str, Any] = {}
    owner = t_meta.get("owner") or s_meta.get("owner")
    if owner:
        fields["owner"] = str(owner)
    tags = [
        str(t)
        for t in (*as_list(config_value(source, "tags")), *as_list(config_value(table, "tags")))
    ]
    if tags:
        fields["tags"] = list(dict.fromkeys(tags))
    fields["metadata"] = {**s_meta, **t_meta, "dbt_unique_id": unique_id}
    if table.get("description"):
        fields["description"] = str(table["description"])
    return fields


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """A YAML value as a list (one text is a list of one; anything else is empty)."""
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list) else []


def enabled(node: Mapping[str, Any]) -> bool:
    """False for `enabled: false` at the top level or under `config:`."""
    return config_value(node, "enabled") is not False


# --- the manifest -------------------------------------------------------------------------


def _read_sources(path: Path) -> Any:
    """The manifest's `sources` object, skipping everything else without building it.

    Large projects' manifests reach hundreds of MB of nodes, macros and docs: msgspec
    validates the whole file as JSON but only builds `sources` (measured on 210 MB:
    bench/import_bench.py).
    """
    import msgspec

    class _Manifest(msgspec.Struct):
        sources: Any = None

    data = path.read_bytes()
    try:
        return msgspec.json.decode(data, type=_Manifest).sources
    except msgspec.ValidationError:
        return None  # JSON, but not an object
    except msgspec.DecodeError:
        # Malformed: let the standard parser say where, as `path:line:col`.
        json.loads(data)
        raise


def manifest_drafts(path: Path, display: str) -> tuple[list[Draft], list[Problem]]:
    """Every source table of a manifest.json with a freshness limit."""
    try:
        sources = _read_sources(path)
    except json.JSONDecodeError as exc:
        return [], [Problem(display, exc.lineno, exc.colno, f"not valid JSON ({exc.msg})")]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [], [Problem(display, 1, 1, f"cannot read: {exc}")]
    if not isinstance(sources, dict):
        return [], [Problem(display, 1, 1, "not a dbt manifest (no 'sources' object)")]
    drafts: list[Draft] = []
    problems: list[Problem] = []
    for unique_id, node in sources.items():
        if not isinstance(node, dict) or not enabled(node):
            continue
        draft = _manifest_draft(str(unique_id), node, display, problems)
        if draft is not None:
            drafts.append(draft)
    return drafts, problems


def _manifest_draft(
    unique_id: str, node: dict[str, Any], display: str, problems: list[Problem]
) -> Draft | None:
    freshness = threshold(config_value(node, "freshness"))
    freshness = None if freshness is UNSET else freshness
    found, why = limits(freshness, "")
    problems.extend(Problem(display, 1, 1, f"{unique_id}: {w}") for w in why)
    if not found:
        return None
    rel = relation(node.get("database"), node.get("schema"), node.get("identifier"))
    fields = source_fields(
        rel, freshness, config_value(node, "loaded_at_field"), config_value(node, "loaded_at_query")
    )
    source_view: dict[str, Any] = {"meta": node.get("source_meta"), "tags": []}
    fields.update(common_fields(node, source_view, unique_id))
    fields.update(found)
    source_name, table_name = str(node.get("source_name")), str(node.get("name"))
    return Draft(
        name=f"{source_name}.{table_name}",
        long_name=f"{node.get('package_name')}.{source_name}.{table_name}",
        fields=fields,
        path=display,
        pos=NO_POS,
        node=unique_id,
    )
