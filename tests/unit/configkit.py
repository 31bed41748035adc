"""Helpers for config tests: write a small project into a folder and load it."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from monitor.config.loader import load_project
from monitor.config.project import Project
from monitor.core.errors import ConfigError


def write_project(
    root: Path, fresh: str | None = None, checks: Mapping[str, str] | None = None
) -> Path:
    """Write fresh.yml (when given) and checks/NAME files under `root`."""
    if fresh is not None:
        (root / "fresh.yml").write_text(textwrap.dedent(fresh))
    for name, text in (checks or {}).items():
        path = root / "checks" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def load(
    root: Path,
    fresh: str | None = None,
    checks: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Project:
    """Write and load a project that must be valid."""
    write_project(root, fresh, checks)
    return load_project(cwd=root, env=env or {})


def problems(
    root: Path,
    fresh: str | None = None,
    checks: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Write and load a project that must be invalid; its problems as printed."""
    write_project(root, fresh, checks)
    with pytest.raises(ConfigError) as info:
        load_project(cwd=root, env=env or {})
    return [str(p) for p in info.value.problems]


def one_contract(body: str, defaults: str = "") -> str:
    """A checks file with one contract whose YAML lines are `body` (indented for you)."""
    lines = textwrap.dedent(body).strip().splitlines()
    item = "  - " + "\n    ".join(lines)
    head = (
        f"defaults:\n{textwrap.indent(textwrap.dedent(defaults).strip(), '  ')}\n"
        if defaults
        else ""
    )
    return f"{head}contracts:\n{item}\n"
