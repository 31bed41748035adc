"""`imports:` in fresh.yml → contracts (SPEC 11), without connecting anywhere.

Each import names a dbt manifest, a dbt project folder or a glob of data contract files.
Importers (`dbt`, `datacontract` beside this module) turn them into `Draft`s written in
`checks/` keys; this module names them, applies the import's `owner` and `warehouse`,
lets a `checks/` contract of the same name replace an imported one, and validates every
draft with the checks parser itself, so an imported contract obeys every rule a
hand-written one does and `fresh import` can write the same drafts as YAML.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from monitor.config.contracts import parse_contract
from monitor.config.imports import datacontract, dbt, dbt_folder
from monitor.config.imports.draft import Draft
from monitor.config.settings import Import
from monitor.config.yamlpos import Pos, YList, YMap
from monitor.core.errors import Problem
from monitor.core.models import Contract, Location

# Schemes whose databases tell when a table last changed (SPEC 3: `table` alone).
_METADATA_SCHEMES = ("mysql", "mariadb", "snowflake", "bigquery")


def drafts_of(
    spec: Import,
    base_dir: Path,
    env: Mapping[str, str],
    display_of: Callable[[Path], str],
) -> tuple[list[Draft], list[Problem], list[Path]]:
    """(drafts, problems, files read) of one import; paths are read from `base_dir`.

    LookupError when there is nothing to read (no such manifest, folder or file).
    """
    target = Path(spec.path).expanduser()
    target = target if target.is_absolute() else base_dir / target
    if spec.kind == "dbt":
        if target.is_dir():
            return dbt_folder.project_drafts(target, display_of, env)
        if not target.is_file():
            raise LookupError(f"imports: dbt: no such file or folder: {spec.path}")
        drafts, problems = dbt.manifest_drafts(target, display_of(target))
        return drafts, problems, [target]
    files = sorted(p for p in _glob(spec.path, base_dir) if p.is_file())
    if not files:
        raise LookupError(f"imports: datacontract: no file matches {spec.path}")
    drafts, problems = [], []
    for f in files:
        d, p = datacontract.file_drafts(f, display_of(f), env, spec.servers or {})
        drafts.extend(d)
        problems.extend(p)
    return drafts, problems, files


def _abs(path: str, base_dir: Path) -> str:
    p = Path(path)
    return str(p if p.is_absolute() else base_dir / p)


def _glob(pattern: str, base_dir: Path) -> list[Path]:
    p = Path(pattern).expanduser()
    if p.is_absolute():
        anchor = Path(p.anchor)
        return list(anchor.glob(str(p.relative_to(anchor))))
    return list(base_dir.glob(pattern))


def name_drafts(groups: Sequence[list[Draft]]) -> list[Draft]:
    """Every draft with its final name: the long name where two share a short one."""
    counts = Counter(d.name for g in groups for d in g)
    named = []
    for g in groups:
        for d in g:
            if counts[d.name] > 1 and d.long_name:
                d = replace(d, name=d.long_name)
            named.append(d)
    return named


def finish(
    draft: Draft, spec: Import, metadata_ok: bool
) -> tuple[dict[str, Any] | None, Problem | None]:
    """The draft's checks fields with the import's owner and warehouse; or why it is skipped.

    A table with neither `loaded_at_field` nor `loaded_at_query` is read from the
    warehouse's metadata where it has some; elsewhere it is skipped with a warning, as dbt
    skips it.
    """
    fields = dict(draft.fields)
    fields.setdefault("warehouse", spec.warehouse)
    if "owner" not in fields:
        if spec.owner is None:
            return None, draft.problem(
                "no owner: set meta.owner on the table or its source, or `owner:` on this "
                "import in fresh.yml"
            )
        fields["owner"] = spec.owner
    if "table" in fields and "column" not in fields and not metadata_ok:
        return None, draft.problem(
            "skipped: no loaded_at_field or loaded_at_query, and warehouse "
            f"{fields['warehouse']!r} keeps no last-modified metadata (dbt skips it too)",
            warning=True,
        )
    return {"name": draft.name, **fields}, None


def metadata_ok(url: str | None) -> bool:
    """Whether a warehouse URL's database tells when a table last changed."""
    if not url:
        return False
    return url.split(":", 1)[0].split("+", 1)[0] in _METADATA_SCHEMES


def to_ymap(value: Any, pos: Pos, key_pos: Mapping[str, Pos] | None = None) -> Any:
    """Plain values as YMap/YList, every position `pos` (or the key's own, when known)."""
    # dict/list, not the Mapping ABC: the ABC check costs ~1 s per 5,000 imported contracts.
    if isinstance(value, dict):
        out = YMap(pos)
        for k, v in value.items():
            at = key_pos.get(str(k), pos) if key_pos else pos
            out.put(str(k), to_ymap(v, at), at, at)
        return out
    if isinstance(value, list | tuple):
        items = YList(pos)
        for v in value:
            items.add(to_ymap(v, pos), pos)
        return items
    return value


def load(
    specs: Sequence[Import],
    spec_pos: Sequence[tuple[str, Pos]],
    base_dir: Path,
    env: Mapping[str, str],
    display_of: Callable[[Path], str],
    wh: Any,
    names: dict[str, Location],
    problems: list[Problem],
) -> tuple[list[Contract], list[Path]]:
    """Contracts of every import (checks/ names in `names` win); problems go to `problems`.

    `spec_pos` is where each import was written in fresh.yml; `wh` the checks parser's
    warehouses. Returns the contracts and every file read (what `fresh serve` watches).
    """
    groups: list[list[Draft]] = []
    watched: list[Path] = []
    for spec, (cfg, pos) in zip(specs, spec_pos, strict=True):
        if wh.known and spec.warehouse not in wh.urls:
            problems.append(
                Problem(
                    cfg,
                    pos.line,
                    pos.col,
                    f"imports: unknown warehouse {spec.warehouse!r} (declare it under warehouses:)",
                )
            )
            groups.append([])
            continue
        bad = [w for w in (spec.servers or {}).values() if wh.known and w not in wh.urls]
        for w in bad:
            problems.append(
                Problem(cfg, pos.line, pos.col, f"imports: servers: unknown warehouse {w!r}")
            )
        try:
            drafts, found, files = drafts_of(spec, base_dir, env, display_of)
        except LookupError as exc:  # nothing to read: say so where the import is written
            drafts, found, files = [], [Problem(cfg, pos.line, pos.col, str(exc))], []
        problems.extend(found)
        groups.append(drafts)
        watched.extend(files)
    out: list[Contract] = []
    imported: dict[str, Draft] = {}
    for spec, draft in _with_specs(specs, groups):
        first = names.get(draft.name)
        if first is not None:
            problems.append(
                draft.problem(
                    f"imported contract {draft.name!r} is replaced by the one at {first}",
                    warning=True,
                )
            )
            continue
        if draft.name in imported:
            problems.append(
                draft.problem(
                    f"duplicate contract name {draft.name!r}: also imported from "
                    f"{imported[draft.name].path} ({imported[draft.name].node})"
                )
            )
            continue
        imported[draft.name] = draft
        fields, why = finish(draft, spec, metadata_ok(wh.urls.get(spec.warehouse)))
        if why is not None:
            problems.append(why)
        if fields is None:
            continue
        item = to_ymap(fields, shown_pos(draft.pos), draft.key_pos)
        before = len(problems)
        contract = parse_contract(draft.path, item, wh, problems)
        for i in range(before, len(problems)):  # every problem names the node
            p = problems[i]
            if not p.message.startswith(draft.node):
                problems[i] = replace(p, message=f"{draft.node}: {p.message}")
        if contract is not None:
            loc = Location(draft.path, draft.pos.line, draft.pos.col)
            out.append(replace(contract, location=loc, node=draft.node))
    return out, watched


def shown_pos(pos: Pos) -> Pos:
    """A position to print (line and column at least 1)."""
    return Pos(max(pos.line, 1), max(pos.col, 1))


def _with_specs(
    specs: Sequence[Import], groups: Sequence[list[Draft]]
) -> list[tuple[Import, Draft]]:
    named = iter(name_drafts(groups))
    return [(spec, next(named)) for spec, g in zip(specs, groups, strict=True) for _ in g]
