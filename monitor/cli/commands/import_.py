"""`fresh import dbt|datacontract PATH`: write the contracts an `imports:` entry would give
as a `checks/` YAML file, for teams that prefer to own the YAML (SPEC 11).

The drafts are the ones `imports:` uses (monitor.config.loader.loader), validated by the same checks
parser before anything is written, so the file passes `validate` and gives the same
verdicts. Problems are printed as `validate` prints them; exit codes are `validate`'s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
import yaml

from monitor.cli.commands.check import write_atomically
from monitor.config import yamlpos
from monitor.config.contracts import parse_contract
from monitor.config.fields import Warehouses
from monitor.config.imports import loader
from monitor.config.loader import known_urls
from monitor.config.settings import Import
from monitor.core.errors import ConfigError, ExitCode, Problem, UsageError


def import_command(
    kind: str,
    path: str,
    owner: str | None,
    warehouse: str | None,
    servers: list[str],
    output: Path | None,
    config: Path | None,
) -> int:
    """Build the contracts of one import and print (or `--output`) them as checks YAML."""
    if kind not in ("dbt", "datacontract"):
        raise UsageError(f"unknown import kind {kind!r} (use dbt or datacontract)")
    mapping = dict(_server(s) for s in servers)
    if mapping and kind == "dbt":
        raise UsageError("--server maps a data contract's servers; a dbt import has none")
    cwd = Path.cwd()
    urls = _warehouse_urls(config, cwd)
    spec = Import(
        **{kind: path},
        owner=owner,
        warehouse=warehouse or "main",
        servers=mapping,
    )
    if urls is not None and spec.warehouse not in urls:
        raise UsageError(
            f"unknown --warehouse {spec.warehouse!r} (fresh.yml declares {', '.join(urls)})"
        )

    def shown(p: Path) -> str:
        try:
            return str(p.relative_to(cwd))
        except ValueError:
            return str(p)

    try:
        drafts, problems, _ = loader.drafts_of(spec, cwd, os.environ, shown)
    except LookupError as exc:
        raise UsageError(str(exc).removeprefix("imports: ")) from None
    wh = Warehouses(
        {k: v for k, v in (urls or {"main": "duckdb:///warehouse.duckdb"}).items()},
        known=urls is not None,
    )
    items: list[dict[str, Any]] = []
    for draft in loader.name_drafts([drafts]):
        fields, why = loader.finish(draft, spec, loader.metadata_ok(wh.urls.get(spec.warehouse)))
        if why is not None:
            problems.append(why)
        if fields is None:
            continue
        before = len(problems)
        item = loader.to_ymap(fields, loader.shown_pos(draft.pos), draft.key_pos)
        parse_contract(draft.path, item, wh, problems)
        if len(problems) == before:
            items.append(fields)
    if any(not p.warning for p in problems):
        raise ConfigError(problems)
    for p in sorted(problems):
        typer.echo(str(p), err=True)
    text = _yaml(kind, path, items)
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_atomically(output, text)
        n = len(items)
        typer.echo(f"wrote {n} contract{'s' if n != 1 else ''} to {output}", err=True)
    return int(ExitCode.OK)


def _server(text: str) -> tuple[str, str]:
    name, sep, wh = text.partition("=")
    if not sep or not name or not wh:
        raise UsageError(f"--server {text!r}: write SERVER=WAREHOUSE (e.g. production=main)")
    return name, wh


def _warehouse_urls(config: Path | None, cwd: Path) -> dict[str, str | None] | None:
    """Warehouse name → URL from fresh.yml (None without one: the default `main`)."""
    path = config or (cwd / "fresh.yml")
    if not path.is_file():
        if config is not None:
            raise ConfigError([Problem(str(config), 1, 1, "configuration file not found")])
        return None
    data, _ = yamlpos.load(path.read_text(encoding="utf-8"), os.environ)
    return known_urls(data) if isinstance(data, yamlpos.YMap) else None


def _yaml(kind: str, path: str, items: list[dict[str, Any]]) -> str:
    head = (
        f"# Written by `fresh import {kind} {path}`: the contracts an `imports:` entry with\n"
        "# the same options gives. Edit freely; a contract here replaces an imported one of\n"
        "# the same name.\n"
    )
    body = yaml.safe_dump({"contracts": items}, sort_keys=False, allow_unicode=True, width=100)
    return head + body
