"""`fresh demo`: build the demo project (monitor/demo.py) and show its contracts.

Until `fresh serve` is built this runs `fresh check` once on the demo and says how to go on;
the service will then serve the same project.
"""

from __future__ import annotations

from pathlib import Path

import typer


def demo_command(listen: str, notify: str | None, directory: Path) -> int:
    """Build the demo into `directory`, check it once, print what to try next."""
    from monitor.clock import SystemClock
    from monitor.commands.check import check_command
    from monitor.demo import build_demo

    config = build_demo(directory, SystemClock().now(), notify=notify, listen=listen)
    typer.echo(f"Demo project written to {directory}/ (fresh.yml, checks/demo.yml, warehouse).")
    typer.echo("")
    check_command(config, None, [], "table", None, "stale", None)
    typer.echo("")
    typer.echo("Try next:")
    typer.echo(f"  fresh explain shop.payments --config {config}")
    typer.echo(f"  fresh check --config {config} --format json")
    typer.echo(
        "The service part (metrics, status page, alerts) comes with "
        f"`fresh serve --config {config}`."
    )
    # Stale contracts are the point of the demo, not a failure of it.
    return 0
