"""Every help text and usage error of `fresh` is what it was before the command line
stopped converting through pydantic (tests/fixtures/cli/messages.json was captured from
the code before monitor/cli/lean.py, with typer 0.29.2, 80 columns)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "cli" / "messages.json").read_text("utf-8")
)


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c["argv"]) or "(none)" for c in CASES])
def test_output_is_unchanged(case: dict[str, Any], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRESH_", "COLUMNS", "LINES"))}
    env.update(COLUMNS="80", NO_COLOR="1", TERM="dumb")
    proc = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *case["argv"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        case["code"],
        case["stdout"],
        case["stderr"],
    )
