"""A dbt project folder → contract drafts, read without dbt installed (SPEC 11).

Its `model-paths` (default `models/`) `.yml` files with a `sources:` section are read;
`{{ env_var('X') }}`, `{{ env_var('X', 'default') }}` and `{{ var('x') }}` (from
`dbt_project.yml` `vars:`) are rendered, and any other Jinja left in a sources section is an
error at its position that suggests importing the manifest instead. Freshness is merged as
dbt merges it (monitor.config.imports.dbt).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.config import yamlpos
from monitor.config.imports.dbt import (
    UNSET,
    as_list,
    common_fields,
    config_value,
    enabled,
    limits,
    merge_freshness,
    relation,
    source_fields,
    threshold,
)
from monitor.config.imports.draft import Draft
from monitor.config.yamlpos import Pos, YList, YMap
from monitor.core.errors import Problem

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
) -> tuple[list[Draft], list[Problem], list[Path]]:
    """Every source table with a freshness limit in a dbt project's `model-paths` .yml files.

    `display_of(path)` names a file in messages. Also returns every file read, which
    `fresh serve` watches (a new or edited sources file reloads).
    """
    problems: list[Problem] = []
    project_file = folder / "dbt_project.yml"
    if not project_file.is_file():
        return [], [Problem(display_of(folder), 1, 1, "not a dbt project (no dbt_project.yml)")], []
    proj_text, jinja = render(project_file.read_text(encoding="utf-8"), env, {})
    proj, yproblems = yamlpos.load(proj_text, {})
    shown = display_of(project_file)
    problems.extend(Problem(shown, p.line, p.col, m) for p, m in jinja)
    problems.extend(Problem(shown, p.pos.line, p.pos.col, p.message) for p in yproblems)
    if not isinstance(proj, YMap):
        return (
            [],
            problems or [Problem(shown, 1, 1, "dbt_project.yml: expected a mapping")],
            [project_file],
        )
    package = str(proj.get("name") or folder.name)
    variables = _vars(proj.get("vars"), package)
    paths = as_list(proj.get("model-paths")) or as_list(proj.get("source-paths")) or ["models"]
    files = sorted(
        {f for p in paths for ext in ("*.yml", "*.yaml") for f in (folder / str(p)).rglob(ext)}
    )
    drafts: list[Draft] = []
    for f in files:
        drafts.extend(_file_drafts(f, display_of(f), package, env, variables, problems))
    return drafts, problems, [project_file, *files]


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
        if not isinstance(source, YMap) or not enabled(source):
            continue
        tables = source.get("tables")
        if not isinstance(tables, YList):
            continue
        for j, table in enumerate(tables):
            if isinstance(table, YMap) and enabled(table):
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
        threshold(config_value(source, "freshness")), threshold(config_value(table, "freshness"))
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
    fields.update(common_fields(table, source, unique_id))
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
    value = config_value(table, key)
    return config_value(source, key) if value in (UNSET, None) else value
