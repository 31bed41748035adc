"""Parity with dbt itself: fresh's import of a dbt project gives `dbt source freshness`'s
verdicts (SPEC 11).

tests/fixtures/dbt_parity/ is a dbt project on DuckDB whose sources carry freshness in every
form SPEC 11 lists; bench/dbt_parity.py ran the real dbt-core 1.10 + dbt-duckdb on it and
committed manifest.json and sources.json under expected/. Here, without dbt, the warehouse is
rebuilt from data.sql and fresh checks the imported contracts `--at` sources.json's
snapshotted_at: every source dbt judged gets the same status, from the manifest and from
the project folder alike.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from monitor.cli.app import app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_parity"
DBT_TO_FRESH = {"pass": "fresh", "warn": "warn", "error": "stale", "runtime error": "error"}
# dbt 1.10 leaves runtime errors out of sources.json; its log says (see bench/dbt_parity.py):
# "Runtime Error in source ghost … Table with name ghost does not exist".
RUNTIME_ERRORS = {"source.parity.shop.ghost": "error"}
# Not imported, as dbt does not check them: `freshness: null` on the table, a disabled
# table, a table of a source whose default was cleared, and a table with no loaded_at_field
# on a warehouse without metadata (dbt-duckdb: "does not support metadata-based freshness").
NOT_IMPORTED = {"shop.refunds", "shop.archive", "legacy.b", "audit.logs"}


def dbt_verdicts() -> tuple[str, dict[str, str]]:
    doc = json.loads((FIXTURE / "expected" / "sources.json").read_text())
    snapshots = {r["snapshotted_at"] for r in doc["results"]}
    assert len(snapshots) == 1  # dbt's "now" is pinned by macros/fixed_now.sql
    at = snapshots.pop().replace("+00:00", "Z")
    expected = {r["unique_id"]: DBT_TO_FRESH[r["status"]] for r in doc["results"]}
    return at, {**expected, **RUNTIME_ERRORS}


@pytest.fixture()
def project(tmp_path: Path) -> Iterator[Path]:
    shutil.copytree(FIXTURE, tmp_path / "dbt")
    con = duckdb.connect(str(tmp_path / "parity.duckdb"))
    con.execute((FIXTURE / "data.sql").read_text())
    con.close()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def check(base: Path, target: str, at: str) -> tuple[dict[str, dict[str, Any]], str]:
    (base / "fresh.yml").write_text(
        "warehouses:\n  main: {url: 'duckdb:///parity.duckdb'}\n"
        "owners:\n  shop-team: {notify: []}\n  ghost-team: {notify: []}\n"
        "  data-platform: {notify: []}\n"
        f"imports:\n  - dbt: {target}\n    owner: data-platform\n"
    )
    result = CliRunner().invoke(app, ["check", "--format", "json", "--at", at])
    assert result.exit_code == 1, result.output  # some sources are late on purpose
    results = {r["origin"]["node"]: r for r in json.loads(result.stdout)["results"]}
    return results, result.stderr


@pytest.mark.parametrize("target", ["dbt/expected/manifest.json", "dbt"])
def test_every_source_gets_dbts_own_verdict(project: Path, target: str) -> None:
    at, expected = dbt_verdicts()
    results, stderr = check(project, target, at)
    got = {node: r["status"] for node, r in results.items()}
    assert got == expected
    names = {r["contract"] for r in results.values()}
    assert not names & NOT_IMPORTED
    assert "source.parity.audit.logs" in stderr  # skipped, and said so, as dbt skips it
    assert results["source.parity.shop.ghost"]["error"] is not None


def test_imported_contracts_carry_dbts_names_owners_tags_and_origin(project: Path) -> None:
    at, _ = dbt_verdicts()
    from_manifest, _ = check(project, "dbt/expected/manifest.json", at)
    orders = from_manifest["source.parity.shop.orders"]
    assert orders["contract"] == "shop.orders"
    assert orders["owner"] == "shop-team"  # the source's meta.owner
    assert set(orders["tags"]) == {"shop", "revenue"}
    assert orders["metadata"]["dbt_unique_id"] == "source.parity.shop.orders"
    assert orders["origin"] == {
        "file": "dbt/expected/manifest.json",
        "line": None,
        "node": "source.parity.shop.orders",
    }
    assert from_manifest["source.parity.crm.contacts"]["owner"] == "data-platform"
    assert from_manifest["source.parity.crm.contacts"]["error_after_seconds"] is None
    from_folder, _ = check(project, "dbt", at)
    origin = from_folder["source.parity.shop.orders"]["origin"]
    assert origin["file"] == "dbt/models/sources.yml" and origin["line"] == 14


@pytest.mark.parametrize("target", ["dbt/expected/manifest.json", "dbt"])
def test_fresh_import_writes_checks_yaml_with_the_same_verdicts(project: Path, target: str) -> None:
    at, expected = dbt_verdicts()
    imported, _ = check(project, target, at)
    by_name = {r["contract"]: r["status"] for r in imported.values()}
    (project / "fresh.yml").write_text(
        "warehouses:\n  main: {url: 'duckdb:///parity.duckdb'}\n"
        "owners:\n  shop-team: {notify: []}\n  ghost-team: {notify: []}\n"
        "  data-platform: {notify: []}\n"
    )
    runner = CliRunner()
    out = project / "checks" / "dbt.yml"
    result = runner.invoke(
        app, ["import", "dbt", target, "--owner", "data-platform", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 10 contracts to" in result.stderr
    assert "source.parity.audit.logs" in result.stderr  # the skip is told here too
    assert runner.invoke(app, ["validate"]).exit_code == 0
    checked = runner.invoke(app, ["check", "--format", "json", "--at", at])
    got = {r["contract"]: r["status"] for r in json.loads(checked.stdout)["results"]}
    assert got == by_name
    assert len(got) == len(expected)


def test_fresh_import_refuses_what_validate_refuses(project: Path) -> None:
    result = CliRunner().invoke(app, ["import", "dbt", "dbt/expected/manifest.json"])
    assert result.exit_code == 2
    assert (
        "dbt/expected/manifest.json:1:1: source.parity.crm.contacts: no owner: set meta.owner "
        "on the table or its source, or `owner:` on this import in fresh.yml"
    ) in result.stderr
    missing = CliRunner().invoke(app, ["import", "dbt", "nowhere/manifest.json"])
    assert missing.exit_code == 2
    assert "no such file or folder: nowhere/manifest.json" in missing.stderr


def test_explain_names_the_manifest_and_the_node(project: Path) -> None:
    check(project, "dbt/expected/manifest.json", dbt_verdicts()[0])
    out = CliRunner().invoke(app, ["explain", "shop.events"])
    assert out.exit_code == 0, out.output
    first = out.stdout.splitlines()[0]
    assert first == "shop.events  (dbt/expected/manifest.json, source.parity.shop.events)"
    assert "max(coalesce(updated_at, created_at))" in out.stdout
