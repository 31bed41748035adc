"""checks/ at the repository root: the example contracts load with the default warehouse,
every one can be explained, and the README documents what `fresh check` offers."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from monitor.cli.app import app
from monitor.config.loader import load_project
from monitor.report.results import FORMATS

ROOT = Path(__file__).resolve().parents[2]


def test_the_examples_pass_validation_with_the_default_warehouse(tmp_path: Path) -> None:
    project = load_project(None, ROOT / "checks", cwd=tmp_path)  # no fresh.yml here
    kinds = {c.kind for c in project.contracts}
    assert kinds == {"table", "query", "files", "run_log", "heartbeat"}
    assert {c.warehouse for c in project.contracts} == {"main"}
    assert any(c.expectation.schedule for c in project.contracts)


def test_every_example_can_be_explained(tmp_path: Path) -> None:
    project = load_project(None, ROOT / "checks", cwd=tmp_path)
    for contract in project.contracts:
        result = CliRunner().invoke(
            app, ["explain", contract.name, "--checks", str(ROOT / "checks")]
        )
        assert result.exit_code == 0, (contract.name, result.stderr)
        assert "Expects:" in result.stdout


def test_the_readme_opens_with_make_demo_and_make_test() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = text.split("```sh", 1)[1].split("```", 1)[0]
    assert "make demo" in first_block and "make test" in first_block
    assert text.index("make demo") < text.index("## ")


def test_the_readme_documents_every_check_option_format_and_exit_code() -> None:
    text = (ROOT / "README.md").read_text()
    for option in ("--select", "--format", "--output", "--fail-on", "--at"):
        assert f"`{option}" in text, option
    for fmt in FORMATS:
        assert f"`{fmt}`" in text, fmt
    for selector in ("owner:X", "tag:X", "warehouse:X"):
        assert selector in text
    for code in ("`0`", "`1`", "`2`"):
        assert code in text
    assert "GITHUB_STEP_SUMMARY" in text and "junit: fresh-report.xml" in text
