"""A small project on disk for the `fresh ping` / `fresh run` tests, and how to run `fresh`
as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

FRESH = str(Path(sys.executable).parent / "fresh")

FRESH_YML = """\
state:
  url: {state_url}
owners:
  ops:
    notify: []
"""

CHECKS_YML = """\
defaults:
  owner: ops
contracts:
  - name: nightly_export
    heartbeat: {}
    error_after: 1h
  - name: hourly_load
    heartbeat: {}
    warn_after: 90m
  - name: orders
    table: raw.orders
    column: _loaded_at
    error_after: 1h
"""


def make_project(root: Path, state_url: str = "sqlite:///.fresh/state.db") -> Path:
    """fresh.yml + checks/jobs.yml under `root`; returns root."""
    (root / "checks").mkdir(parents=True, exist_ok=True)
    (root / "fresh.yml").write_text(FRESH_YML.format(state_url=state_url))
    (root / "checks" / "jobs.yml").write_text(CHECKS_YML)
    return root


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any FRESH_* variable of the machine running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRESH_")}
    env.update(extra)
    return env


def fresh(
    *args: str, cwd: Path, env: dict[str, str] | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run the `fresh` console script as a real process."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(
        [FRESH, *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        **kw,
    )
