"""`fresh validate` and `fresh init` through typer's CliRunner and a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli.app import app

# The installed console script, as users run it (python -m as a fallback).
_SCRIPT = Path(sys.executable).parent / "fresh"
FRESH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "monitor.cli"]

BROKEN_FRESH = """\
warehouses:
  main:
    url: duckdb:///warehouse.duckdb
    timout: 30s
owners:
  ops-data-team:
    notify: ["json://127.0.0.1:1/hook"]
"""
BROKEN_CHECKS = """\
contracts:
  - name: orders
    owner: ops-data-tem
    table: shop.orders
    warn_afer: 20m
  - name: orders
    owner: ops-data-team
    heartbeat: {}
    schedule: "61 * * * *"
    error_after: 1h
"""
GOOD_CHECKS = """\
contracts:
  - name: orders
    owner: ops-data-tem
    table: shop.orders
    column: loaded_at
    warn_after: 20m
"""


def _write(root: Path, fresh: str, checks: str) -> None:
    (root / "fresh.yml").write_text(fresh)
    (root / "checks").mkdir(exist_ok=True)
    (root / "checks" / "shop.yml").write_text(checks)


EXPECTED_BROKEN = [
    "checks/shop.yml:2:5: an expectation is required: give warn_after and/or error_after, or learn",
    "checks/shop.yml:4:5: table: duckdb keeps no last-modified time for tables: add `column:` "
    "(the column whose newest value is the last update)",
    "checks/shop.yml:5:5: unknown key 'warn_afer' (did you mean 'warn_after'?)",
    "checks/shop.yml:6:11: duplicate contract name 'orders': first declared at checks/shop.yml:2:5",
    "checks/shop.yml:9:15: schedule: invalid cron expression '61 * * * *': bad minute",
    "fresh.yml:4:5: unknown key 'timout' in warehouses.main (did you mean 'timeout'?)",
    "6 errors found.",
]


def test_validate_lists_every_error_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _write(tmp_path, BROKEN_FRESH, BROKEN_CHECKS)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == EXPECTED_BROKEN


def test_validate_prints_warnings_and_counts_contracts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    _write(tmp_path, BROKEN_FRESH.replace("    timout: 30s\n", ""), GOOD_CHECKS)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 contract OK (fresh.yml)\n"
    assert result.stderr.splitlines() == [
        "checks/shop.yml:2:5: warning: owner 'ops-data-tem' of 'orders' is not declared under "
        "owners: in fresh.yml (did you mean 'ops-data-team'?); its alerts go to no one "
        "(no fallback)"
    ]


def test_validate_takes_config_from_the_option_or_fresh_config(tmp_path: Path):
    conf = tmp_path / "conf"
    conf.mkdir()
    _write(conf, BROKEN_FRESH.replace("    timout: 30s\n", ""), GOOD_CHECKS)
    runner = CliRunner()
    result = runner.invoke(app, ["validate", "--config", str(conf / "fresh.yml")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["validate"], env={"FRESH_CONFIG": str(conf / "fresh.yml")})
    assert result.exit_code == 0, result.output
    assert "1 contract OK" in result.stdout


def test_validate_without_fresh_yml_uses_the_default_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "a.yml").write_text(GOOD_CHECKS)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 contract OK (no fresh.yml")
    assert result.stderr == ""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRESH_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def test_a_real_fresh_validate_process_exits_2_with_all_errors(tmp_path: Path):
    _write(tmp_path, BROKEN_FRESH, BROKEN_CHECKS)
    proc = subprocess.run(
        [*FRESH, "validate"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == EXPECTED_BROKEN


def test_loading_plain_contracts_imports_neither_sqlalchemy_nor_sqlglot(tmp_path: Path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "a.yml").write_text(
        textwrap.dedent("""\
        defaults: {owner: o, warn_after: 1h}
        contracts:
          - {name: a, table: s.a, column: ts}
          - {name: b, files: "data/*.csv"}
          - {name: c, heartbeat: {}}
          - {name: d, run_log: {table: ops.runs, job: x}}
        """)
    )
    code = textwrap.dedent("""\
        import sys
        from monitor.config.loader import load_project
        p = load_project()
        assert len(p.contracts) == 4, p
        heavy = sorted(m for m in ("sqlalchemy", "sqlglot", "duckdb", "cronsim", "apprise")
                       if m in sys.modules)
        print(",".join(heavy))
        """)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_sqlglot_is_imported_only_when_a_contract_has_where_or_query(tmp_path: Path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "a.yml").write_text(
        "contracts:\n  - {name: a, owner: o, warn_after: 1h, query: 'SELECT max(ts) FROM t'}\n"
    )
    code = (
        "import sys; from monitor.config.loader import load_project; load_project(); "
        "print('sqlglot' in sys.modules, 'sqlalchemy' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False"]


def test_init_writes_files_that_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(tmp_path / "proj")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "proj" / "fresh.yml").read_text().startswith("# fresh.yml")
    assert (tmp_path / "proj" / "checks" / "example.yml").exists()
    monkeypatch.chdir(tmp_path / "proj")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "2 contracts OK (fresh.yml)\n"
    assert result.stderr == ""


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "example.yml").write_text("mine\n")
    result = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "already exists; not overwriting" in result.stderr
    assert not (tmp_path / "fresh.yml").exists()
    assert (tmp_path / "checks" / "example.yml").read_text() == "mine\n"


def test_a_real_fresh_init_then_validate_exits_0(tmp_path: Path):
    init = subprocess.run(
        [*FRESH, "init", "proj"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert init.returncode == 0, init.stderr
    proc = subprocess.run(
        [*FRESH, "validate"],
        cwd=tmp_path / "proj",
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "2 contracts OK (fresh.yml)\n"
    again = subprocess.run(
        [*FRESH, "init", "proj"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert again.returncode == 2
