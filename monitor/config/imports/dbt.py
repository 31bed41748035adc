"""dbt sources → contract drafts (SPEC 11), from a manifest or a project folder, without dbt.

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

from monitor.config import yamlpos
from monitor.config.imports.draft import NO_POS, Draft, duration_text
from monitor.config.yamlpos import Pos, YList, YMap
from monitor.core.errors import Problem

_PERIODS = {"minute": 60, "hour": 3600, "day": 86400}
_UNSET = object()  # a key not written at all (as opposed to written as null)
# A plain or quoted column name (dbt users write `_loaded_at` or `"Loaded At"`).
_COLUMN = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*|"[^"]+"|`[^`]+`')


# --- merging, shared by the manifest and the folder -------------------------------------


def _get(node: Mapping[str, Any], key: str) -> Any:
    """`key` under `config:` when written there, else at the top level (else _UNSET)."""
    config = node.get("config")
    if isinstance(config, dict) and key in config:  # YMap is a dict too
        return config[key]
    return node.get(key, _UNSET)


def _threshold(block: Any) -> Any:
    """A freshness block as dbt sees it: None (off), _UNSET, or a dict."""
    if block is _UNSET:
        return _UNSET
    if block is None:
        return None
    return dict(block) if isinstance(block, dict) else _UNSET


def _time_is_set(t: Any) -> bool:
    return isinstance(t, dict) and t.get("count") is not None and t.get("period") is not None


def merge_freshness(base: Any, update: Any) -> dict[str, Any] | None:
    """dbt's merge of a source's (`base`) and a table's (`update`) freshness blocks."""
    if update is _UNSET:
        update = {}  # dbt's default for a table: an empty block, merged with the source's
    if update is None:
        return None
    if base is _UNSET or base is None:
        return dict(update)
    merged = {**base, **{k: v for k, v in update.items() if v is not None}}
    for level in ("warn_after", "error_after"):
        b, u = base.get(level), update.get(level, _UNSET)
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
    if loaded_at_query not in (None, "", _UNSET):
        sql = str(loaded_at_query).strip().rstrip(";")
        return {
            "query": sql.replace("{{ this }}", relation_name).replace("{{this}}", relation_name)
        }
    if loaded_at_field not in (None, "", _UNSET):
        expr = str(loaded_at_field).strip()
        if _COLUMN.fullmatch(expr):
            fields: dict[str, Any] = {"table": relation_name, "column": expr}
            if where:
                fields["where"] = where
            return fields
        sql = f"SELECT max({expr}) FROM {relation_name}"
        return {"query": sql + (f" WHERE {where}" if where else "")}
    return {"table": relation_name}  # metadata, where the warehouse has it


def _common(table: Mapping[str, Any], source: Mapping[str, Any], unique_id: str) -> dict[str, Any]:
    """Owner, tags, metadata and description of one table (SPEC 11)."""
    t_meta = _mapping(_get(table, "meta"))
    s_meta = _mapping(_get(source, "meta"))
    fields: dict[str, Any] = {}
    owner = t_meta.get("owner") or s_meta.get("owner")
    if owner:
        fields["owner"] = str(owner)
    tags = [str(t) for t in (*_list(_get(source, "tags")), *_list(_get(table, "tags")))]
    if tags:
        fields["tags"] = list(dict.fromkeys(tags))
    fields["metadata"] = {**s_meta, **t_meta, "dbt_unique_id": unique_id}
    if table.get("description"):
        fields["description"] = str(table["description"])
    return fields


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list) else []


def _enabled(node: Mapping[str, Any]) -> bool:
    return _get(node, "enabled") is not False


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
        if not isinstance(node, dict) or not _enabled(node):
            continue
        draft = _manifest_draft(str(unique_id), node, display, problems)
        if draft is not None:
            drafts.append(draft)
    return drafts, problems


def _manifest_draft(
    unique_id: str, node: dict[str, Any], display: str, problems: list[Problem]
) -> Draft | None:
    freshness = _threshold(_get(node, "freshness"))
    freshness = None if freshness is _UNSET else freshness
    found, why = limits(freshness, "")
    problems.extend(Problem(display, 1, 1, f"{unique_id}: {w}") for w in why)
    if not found:
        return None
    rel = relation(node.get("database"), node.get("schema"), node.get("identifier"))
    fields = source_fields(
        rel, freshness, _get(node, "loaded_at_field"), _get(node, "loaded_at_query")
    )
    source_view: dict[str, Any] = {"meta": node.get("source_meta"), "tags": []}
    fields.update(_common(node, source_view, unique_id))
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


# --- the project folder -------------------------------------------------------------------

# `{{ env_var('X') }}`, `{{ env_var('X', 'default') }}`, `{{ var('x') }}` / with a default.
_RENDERABLE = re.compile(
    r"""\{\{-?\s*(env_var|var)\(\s*(['"])(.*?)\2\s*(?:,\s*(['"])(.*?)\4\s*)?\)\s*-?\}\}"""
)
_JINJA = re.compile(r"\{\{|\{%|\{#")


def render(
    text: str, env: Mapping[str, str], variables: Mapping[str, Any]
) -> tuple[str, list[tuple[Pos, str]]]:
    """`text` with env_var() and var() rendered; (position, problem) for those that cannot be."""
    problems: list[tuple[Pos, str]] = []

    def sub(m: re.Match[str]) -> str:
        kind, name, default = m.group(1), m.group(3), m.group(5)
        if kind == "env_var":
            if name in env:
                return env[name]
        elif name in variables:
            return str(variables[name])
        if m.group(4) is not None:
            return str(default)
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - text.rfind("\n", 0, m.start())
        what = f"environment variable {name!r}" if kind == "env_var" else f"var {name!r}"
        where = "" if kind == "env_var" else " (dbt_project.yml vars:)"
        problems.append((Pos(line, col), f"{what} is not set{where} and has no default"))
        return m.group(0)

    return _RENDERABLE.sub(sub, text), problems


def project_drafts(
    folder: Path, display_of: Any, env: Mapping[str, str]
) -> tuple[list[Draft], list[Problem]]:
    """Every source table with a freshness limit in a dbt project's `model-paths` .yml files.

    `display_of(path)` names a file in messages.
    """
    problems: list[Problem] = []
    project_file = folder / "dbt_project.yml"
    if not project_file.is_file():
        return [], [Problem(display_of(folder), 1, 1, "not a dbt project (no dbt_project.yml)")]
    proj_text, jinja = render(project_file.read_text(encoding="utf-8"), env, {})
    proj, yproblems = yamlpos.load(proj_text, {})
    shown = display_of(project_file)
    problems.extend(Problem(shown, p.line, p.col, m) for p, m in jinja)
    problems.extend(Problem(shown, p.pos.line, p.pos.col, p.message) for p in yproblems)
    if not isinstance(proj, YMap):
        return [], problems or [Problem(shown, 1, 1, "dbt_project.yml: expected a mapping")]
    package = str(proj.get("name") or folder.name)
    variables = _vars(proj.get("vars"), package)
    paths = _list(proj.get("model-paths")) or _list(proj.get("source-paths")) or ["models"]
    files = sorted(
        {f for p in paths for ext in ("*.yml", "*.yaml") for f in (folder / str(p)).rglob(ext)}
    )
    drafts: list[Draft] = []
    for f in files:
        drafts.extend(_file_drafts(f, display_of(f), package, env, variables, problems))
    return drafts, problems


def _vars(value: Any, package: str) -> dict[str, Any]:
    """dbt_project.yml `vars:`, the project's own scope over the global ones."""
    if not isinstance(value, Mapping):
        return {}
    out = {k: v for k, v in value.items() if not isinstance(v, Mapping)}
    scoped = value.get(package)
    if isinstance(scoped, Mapping):
        out.update(scoped)
    return out


def _file_drafts(
    path: Path,
    shown: str,
    package: str,
    env: Mapping[str, str],
    variables: Mapping[str, Any],
    problems: list[Problem],
) -> list[Draft]:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(shown, 1, 1, f"cannot read: {exc}"))
        return []
    if "sources" not in raw:
        return []  # models-only files may hold any Jinja dbt renders: not ours to read
    text, jinja = render(raw, env, variables)
    data, yproblems = yamlpos.load(text, {})
    if yproblems:
        first = _JINJA.search(text)
        if first is not None:  # a `{% if %}` block or bare `{{ }}` broke the YAML itself
            pos = _pos_of(text, first.start())
            problems.append(Problem(shown, pos.line, pos.col, _jinja_message(text, first.start())))
            return []
        problems.extend(Problem(shown, p.pos.line, p.pos.col, p.message) for p in yproblems)
        return []
    if not isinstance(data, YMap) or not isinstance(data.get("sources"), YList):
        return []
    problems.extend(Problem(shown, p.line, p.col, m) for p, m in jinja)
    before = len(problems)
    _scan_jinja(data["sources"], shown, problems)
    if len(problems) > before:
        return []
    drafts = []
    sources: YList = data["sources"]
    for source in sources:
        if not isinstance(source, YMap) or not _enabled(source):
            continue
        tables = source.get("tables")
        if not isinstance(tables, YList):
            continue
        for j, table in enumerate(tables):
            if isinstance(table, YMap) and _enabled(table):
                draft = _folder_draft(source, table, tables.item_pos(j), shown, package, problems)
                if draft is not None:
                    drafts.append(draft)
    return drafts


def _pos_of(text: str, offset: int) -> Pos:
    return Pos(text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset))


def _jinja_message(text: str, offset: int) -> str:
    snippet = text[offset : offset + 40].split("\n", 1)[0]
    return (
        f"Jinja that fresh cannot render without dbt: {snippet!r} (only env_var() and var() "
        "are read from a project folder); import the manifest instead (dbt parse writes "
        "target/manifest.json)"
    )


def _scan_jinja(value: Any, shown: str, problems: list[Problem], pos: Pos | None = None) -> None:
    """Any Jinja left in the sources section (after env_var/var) is an error at its place."""
    if isinstance(value, YMap):
        for k, v in value.items():
            _scan_jinja(v, shown, problems, value.val_pos(k))
    elif isinstance(value, YList):
        for i, v in enumerate(value):
            _scan_jinja(v, shown, problems, value.item_pos(i))
    elif isinstance(value, str) and pos is not None:
        m = _JINJA.search(value)
        if m is not None:
            problems.append(Problem(shown, pos.line, pos.col, _jinja_message(value, m.start())))


def _folder_draft(
    source: YMap, table: YMap, pos: Pos, shown: str, package: str, problems: list[Problem]
) -> Draft | None:
    source_name, table_name = str(source.get("name")), str(table.get("name"))
    unique_id = f"source.{package}.{source_name}.{table_name}"
    freshness = merge_freshness(
        _threshold(_get(source, "freshness")), _threshold(_get(table, "freshness"))
    )
    found, why = limits(freshness, "")
    problems.extend(Problem(shown, pos.line, pos.col, f"{unique_id}: {w}") for w in why)
    if not found:
        return None
    field_ = _pick(table, source, "loaded_at_field")
    query = _pick(table, source, "loaded_at_query")
    rel = relation(
        table.get("database", source.get("database")),
        table.get("schema", source.get("schema") or source_name),
        table.get("identifier") or table_name,
    )
    fields = source_fields(rel, freshness, field_, query)
    fields.update(_common(table, source, unique_id))
    fields.update(found)
    key_pos = {k: table.val_pos(k) for k in table}
    return Draft(
        name=f"{source_name}.{table_name}",
        long_name=f"{package}.{source_name}.{table_name}",
        fields=fields,
        path=shown,
        pos=pos,
        node=unique_id,
        key_pos=key_pos,
    )


def _pick(table: YMap, source: YMap, key: str) -> Any:
    value = _get(table, key)
    return _get(source, key) if value in (_UNSET, None) else value
