"""`fresh check` and `fresh explain` end to end on a real DuckDB file: through typer's
CliRunner for breadth, and through real subprocesses for what only a process shows (exit
status, stderr, no traceback, no progress bar in a pipe, imports)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli.app import app
from tests.integration.check_project import AT, make_project

FRESH = Path(sys.executable).with_name("fresh")
Z_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
RESULT_KEYS = [
    "contract", "status", "owner", "severity", "warehouse", "tags", "metadata",
    "last_update", "age_seconds", "warn_after_seconds", "error_after_seconds", "deadline",
    "error", "detail", "duration_seconds", "origin", "maintenance_until",
]  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


def check(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["check", "--config", str(config), "--at", AT, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def statuses(stdout: str) -> dict[str, str]:
    return {r["contract"]: r["status"] for r in json.loads(stdout)["results"]}


# --- exit codes ---------------------------------------------------------------------------


def test_it_exits_0_when_everything_selected_is_fresh(project: Path) -> None:
    code, out, _ = check(project, "--select", "shop.orders")
    assert code == 0
    assert out.splitlines()[1].startswith("fresh")


def test_it_exits_1_when_a_contract_is_stale(project: Path) -> None:
    code, _, _ = check(project, "--select", "shop.refunds")
    assert code == 1


def test_it_exits_1_when_a_source_cannot_be_read(project: Path) -> None:
    code, out, _ = check(project, "--select", "shop.missing", "--format", "json")
    assert code == 1
    (result,) = json.loads(out)["results"]
    assert result["status"] == "error"
    assert "no_such_table" in result["error"]


def test_warn_passes_unless_fail_on_warn(project: Path) -> None:
    assert check(project, "--select", "shop.payments")[0] == 0
    assert check(project, "--select", "shop.payments", "--fail-on", "warn")[0] == 1
    assert check(project, "--select", "shop.orders", "--fail-on", "warn")[0] == 0


def test_a_bad_fail_on_is_a_usage_error(project: Path) -> None:
    code, _, err = check(project, "--fail-on", "fresh")
    assert code == 2 and "--fail-on" in err


def test_an_unknown_format_exits_2_before_reading_anything(project: Path) -> None:
    code, out, err = check(project, "--format", "yaml")
    assert code == 2
    assert out == ""
    assert "unknown --format 'yaml'" in err


def test_bad_yaml_exits_2_naming_the_file_without_a_traceback(project: Path) -> None:
    (project.parent / "checks" / "broken.yml").write_text("contracts:\n  - name: [oops\n")
    code, out, err = check(project)
    assert code == 2
    assert out == ""
    assert "checks/broken.yml:3:1: invalid YAML" in err  # the file, line and column
    assert "Traceback" not in err


def test_config_warnings_go_to_stderr_and_do_not_fail(project: Path) -> None:
    shop = project.parent / "checks" / "shop.yml"
    shop.write_text(shop.read_text().replace("owner: finance-analytics", "owner: finance-analytic"))
    code, out, err = check(project, "--select", "shop.orders", "--format", "json")
    assert code == 0
    assert "finance-analytic" in err and "warning" in err
    assert json.loads(out)["summary"]["fresh"] == 1


# --- formats ------------------------------------------------------------------------------


def test_json_is_exactly_the_spec_object(project: Path) -> None:
    code, out, _ = check(project, "--format", "json")
    assert code == 1
    obj = json.loads(out)
    assert list(obj) == ["checked_at", "summary", "results"]
    assert obj["checked_at"] == "2026-11-24T10:00:00Z"
    assert obj["summary"] == {"fresh": 1, "warn": 1, "stale": 1, "error": 1}
    names = [r["contract"] for r in obj["results"]]
    assert names == ["shop.orders", "shop.payments", "shop.refunds", "shop.missing"]
    for r in obj["results"]:
        assert list(r) == RESULT_KEYS
        for key in ("last_update", "deadline"):
            assert r[key] is None or Z_TIME.match(r[key]), r[key]
        assert isinstance(r["duration_seconds"], float)
    orders, payments, refunds, missing = obj["results"]
    assert orders == {
        **orders,
        "status": "fresh",
        "owner": "ops-data-team",
        "severity": "critical",
        "warehouse": "main",
        "tags": ["shop", "revenue"],
        "metadata": {"pii": False, "runbook": "https://wiki.example.com/orders"},
        "last_update": "2026-11-24T09:55:00Z",
        "age_seconds": 300.0,
        "warn_after_seconds": 1200,
        "error_after_seconds": 3600,
        "deadline": "2026-11-24T10:55:00Z",
        "error": None,
    }
    assert payments["status"] == "warn"
    assert refunds["status"] == "stale" and refunds["age_seconds"] == 7200.0
    assert refunds["deadline"] == "2026-11-24T09:00:00Z"
    assert missing["warn_after_seconds"] is None and missing["last_update"] is None


def test_the_table_is_worst_first(project: Path) -> None:
    _, out, _ = check(project)
    firsts = [line.split()[0] for line in out.splitlines()[1:5]]
    assert firsts == ["error", "stale", "warn", "fresh"]
    assert "4 contracts: 1 fresh, 1 warn, 1 stale, 1 error" in out
    assert "\x1b[" not in out  # not a terminal: no colour


def test_junit_is_valid_xml_that_ci_servers_read(project: Path) -> None:
    _, out, _ = check(project, "--format", "junit")
    root = ET.fromstring(out.encode())
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["shop.refunds"].get("classname") == "finance-analytics"
    assert cases["shop.refunds"].find("failure") is not None
    assert cases["shop.missing"].find("error") is not None
    assert cases["shop.payments"].find("failure") is None


def test_github_prints_annotations_with_file_and_line(project: Path) -> None:
    _, out, _ = check(project, "--format", "github")
    commands = [line for line in out.splitlines() if line.startswith("::")]
    assert [c.split(" ", 1)[0] for c in commands] == ["::error", "::error", "::warning"]
    assert re.search(r"file=[^,]*shop\.yml,line=\d+,col=\d+,title=shop\.missing is error", out)
    (line,) = re.findall(r"line=(\d+),col=\d+,title=shop\.refunds", out)
    text = (project.parent / "checks" / "shop.yml").read_text().splitlines()
    assert "shop.refunds" in text[int(line) - 1]


def test_github_format_appends_the_markdown_to_the_step_summary(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step output\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    check(project, "--format", "github")
    text = summary.read_text()
    assert text.startswith("earlier step output\n### fresh check:")


def test_markdown_is_a_summary_table(project: Path) -> None:
    _, out, _ = check(project, "--format", "markdown")
    assert out.startswith("### fresh check:")
    assert "| Status | Contract |" in out
    assert "`shop.refunds`" in out


# --- selection and time -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        (["shop.p*"], {"shop.payments"}),
        (["owner:finance-analytics"], {"shop.refunds", "shop.missing"}),
        (["tag:revenue"], {"shop.orders"}),
        (["tag:broken", "shop.orders"], {"shop.missing", "shop.orders"}),
        (["warehouse:main"], {"shop.orders", "shop.payments", "shop.refunds", "shop.missing"}),
    ],
)
def test_select_forms_pick_contracts(
    project: Path, selectors: list[str], expected: set[str]
) -> None:
    args = [a for s in selectors for a in ("--select", s)]
    _, out, _ = check(project, "--format", "json", *args)
    assert set(statuses(out)) == expected


def test_a_selection_that_matches_nothing_is_a_usage_error(project: Path) -> None:
    code, _, err = check(project, "--select", "nothing.*")
    assert code == 2 and "no contract matches" in err


def test_an_unknown_selector_key_is_a_usage_error(project: Path) -> None:
    code, _, err = check(project, "--select", "team:ops")
    assert code == 2 and "unknown selector" in err


@pytest.mark.parametrize(
    ("at", "status"),
    [
        ("2026-11-24T08:10:00Z", "fresh"),  # refunds were loaded at 08:00
        ("2026-11-24T08:10:00", "fresh"),  # naive is UTC
        ("2026-11-24T09:10:00+01:00", "fresh"),  # an offset is honoured
        ("2026-11-24T08:30:00Z", "warn"),
    ],
)
def test_at_evaluates_as_of_that_time(project: Path, at: str, status: str) -> None:
    result = CliRunner().invoke(
        app, ["check", "--config", str(project), "--at", at, "-s", "shop.refunds", "-f", "json"]
    )
    assert statuses(result.stdout) == {"shop.refunds": status}
    expected = "2026-11-24T08:10:00Z" if status == "fresh" else "2026-11-24T08:30:00Z"
    assert json.loads(result.stdout)["checked_at"] == expected


def test_a_bad_at_exits_2_with_a_clear_message(project: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--config", str(project), "--at", "yesterday"])
    assert result.exit_code == 2
    assert "invalid --at 'yesterday'" in result.stderr and "ISO-8601" in result.stderr


# --- --output -----------------------------------------------------------------------------


def test_output_writes_the_report_to_a_file_and_leaves_no_temp_file(
    project: Path, tmp_path: Path
) -> None:
    target = tmp_path / "reports" / "fresh.xml"
    code, out, err = check(project, "--format", "junit", "--output", str(target))
    assert code == 1
    assert out == ""
    assert "wrote junit report" in err
    ET.fromstring(target.read_bytes())
    assert [p.name for p in target.parent.iterdir()] == ["fresh.xml"]


def test_output_replaces_an_old_report_whole(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "fresh.json"
    target.write_text("old" * 100_000)
    check(project, "--format", "json", "--output", str(target))
    assert json.loads(target.read_text())["summary"]["stale"] == 1


def test_a_failed_run_keeps_the_previous_report_untouched(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "fresh.json"
    target.write_text('{"previous": true}')
    (project.parent / "checks" / "broken.yml").write_text("contracts: {")
    code, _, _ = check(project, "--format", "json", "--output", str(target))
    assert code == 2
    assert target.read_text() == '{"previous": true}'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_output_to_an_unwritable_place_exits_2(project: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    code, _, err = check(project, "--output", str(tmp_path / "a-file" / "report.txt"))
    assert code == 2 and "cannot write" in err


# --- explain ------------------------------------------------------------------------------


def test_explain_shows_the_read_and_the_expectation(project: Path) -> None:
    result = CliRunner().invoke(app, ["explain", "shop.orders", "--config", str(project)])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("shop.orders  (")
    assert "owner: ops-data-team" in out
    assert "loaded_at" in out and "orders" in out
    assert "Expects:" in out and "1h" in out


def test_explain_of_an_unknown_name_exits_2_with_did_you_mean(project: Path) -> None:
    result = CliRunner().invoke(app, ["explain", "shop.order", "--config", str(project)])
    assert result.exit_code == 2
    assert "unknown contract 'shop.order'" in result.stderr
    assert "did you mean 'shop.orders'" in result.stderr


# --- real processes -----------------------------------------------------------------------


def run_fresh(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_STEP_SUMMARY")}
    return subprocess.run(
        [str(FRESH), *args],
        cwd=cwd,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_a_real_process_exits_with_each_code(project: Path) -> None:
    root = project.parent
    assert run_fresh(root, "check", "--at", AT, "-s", "shop.orders").returncode == 0
    proc = run_fresh(root, "check", "--at", AT, "--format", "json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["summary"] == {"fresh": 1, "warn": 1, "stale": 1, "error": 1}
    proc = run_fresh(root, "check", "--format", "csv")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_a_real_process_annotates_paths_relative_to_the_repository(project: Path) -> None:
    proc = run_fresh(project.parent, "check", "--at", AT, "--format", "github")
    assert "::error file=checks/shop.yml,line=" in proc.stdout


def test_a_real_process_reports_bad_yaml_without_a_traceback(project: Path) -> None:
    (project.parent / "checks" / "broken.yml").write_text("contracts:\n  - name: [oops\n")
    proc = run_fresh(project.parent, "check")
    assert proc.returncode == 2
    assert "checks/broken.yml:" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_no_progress_bar_in_a_pipe(tmp_path: Path) -> None:
    config = make_project(tmp_path / "big", extra_contracts=80)
    proc = run_fresh(config.parent, "check", "--at", AT, "--format", "json")
    assert proc.returncode == 1
    assert "checking" not in proc.stderr and "\x1b[" not in proc.stderr
    assert len(json.loads(proc.stdout)["results"]) == 84


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_progress_bar_on_a_terminal_when_many_contracts_run(tmp_path: Path) -> None:
    import pty

    config = make_project(tmp_path / "big", extra_contracts=80)
    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    try:
        proc = subprocess.run(
            [str(FRESH), "check", "--at", AT, "--format", "json"],
            cwd=config.parent,
            env={**environ, "TERM": "xterm", "COLUMNS": "100"},
            stdout=subprocess.PIPE,
            stderr=follower,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert proc.returncode == 1
    assert b"checking" in seen
    assert json.loads(proc.stdout)["summary"]["fresh"] == 81  # stdout stays clean JSON


def test_json_on_duckdb_imports_no_other_format_nor_rich_nor_sqlalchemy(
    project: Path,
) -> None:
    code = (
        "import sys\n"
        "from monitor.cli.app import main\n"
        f"sys.argv = ['fresh', 'check', '--at', '{AT}', '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'rich', 'monitor.report.table', 'monitor.report.junit', "
        "'monitor.report.github', 'monitor.report.markdown', 'xml', 'sqlalchemy', "
        "'sqlglot', 'duckdb_engine', 'monitor.store', 'jinja2'}\n"
        "print('LOADED', sorted(m for m in sys.modules if m in heavy or "
        "m.split('.')[0] in heavy), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project.parent,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "LOADED []" in proc.stderr, proc.stderr


def test_a_real_process_explains_a_contract(project: Path) -> None:
    proc = run_fresh(project.parent, "explain", "shop.refunds")
    assert proc.returncode == 0, proc.stderr
    assert "shop.refunds  (checks/shop.yml:" in proc.stdout
    assert "refunds" in proc.stdout.split("Reads:")[1]
    proc = run_fresh(project.parent, "explain", "shop.refund")
    assert proc.returncode == 2
    assert "did you mean 'shop.refunds'" in proc.stderr and "Traceback" not in proc.stderr


def test_a_reader_that_goes_away_early_is_not_an_error(tmp_path: Path) -> None:
    config = make_project(tmp_path / "big", extra_contracts=3000)
    proc = subprocess.run(
        f"'{FRESH}' check --at {AT} | head -c 10",
        shell=True,
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
