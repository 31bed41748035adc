"""`fresh validate`: read fresh.yml and every contract without connecting anywhere."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.config.loader import load_project
from monitor.core.errors import ExitCode


def validate_project(config: Path | None, checks: Path | None) -> int:
    """Print every warning as `path:line:col: warning: …`, then `N contracts OK`.

    Errors raise ConfigError, which `cli.run_command` prints the same way (warnings
    included) before exiting 2.
    """
    from monitor.alerts.sender import notify_url_problem

    # Notify URLs are parsed by the senders themselves (apprise is imported only when
    # fresh.yml has URLs to check).
    project = load_project(config=config, checks=checks, notify_check=notify_url_problem)
    for problem in project.warnings:
        typer.echo(str(problem), err=True)
    n = len(project.contracts)
    where = (
        f" ({project.settings.config_path.name})"
        if project.settings.config_path
        else (" (no fresh.yml: default warehouse main = duckdb:///warehouse.duckdb)")
    )
    typer.echo(f"{n} contract{'s' if n != 1 else ''} OK{where}")
    return int(ExitCode.OK)
