"""`fresh demo`: build the demo project (monitor/cli/demo_project.py), show its contracts once, then
serve it.

While it runs, the demo's loaders keep playing (`advance_demo` every 30 s): most tables stay
fresh and `shop.payments` drifts late — warn within about two minutes of the start, stale a
few minutes later, then fresh again — so a newcomer watches statuses change on the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import typer

from monitor.cli.commands.check import check_command
from monitor.cli.commands.serve import serve_command
from monitor.cli.demo_project import advance_demo, build_demo
from monitor.core.clock import SystemClock
from monitor.serve.service import Listen, Service

ADVANCE_EVERY = 30.0  # seconds between two plays of the demo's loaders

log = logging.getLogger("fresh.demo")


def demo_command(listen: str, notify: str | None, directory: Path) -> int:
    """Build the demo into `directory`, check it once, and serve it on `listen`."""
    where = Listen.parse(listen)
    config = build_demo(directory, SystemClock().now(), notify=notify, listen=str(where))
    host = "127.0.0.1" if where.host in ("0.0.0.0", "::") else where.host
    typer.echo(f"Demo project written to {directory}/ (fresh.yml, checks/demo.yml, warehouse).")
    typer.echo("")
    check_command(config, None, [], "table", None, "stale", None)
    typer.echo("")
    typer.echo(f"Status page:  http://{host}:{where.port}/")
    typer.echo(f"Metrics:      http://{host}:{where.port}/metrics")
    typer.echo(f"API:          http://{host}:{where.port}/api/v1/contracts")
    typer.echo(f"Try also:     fresh explain shop.payments --config {config}")
    typer.echo("shop.payments goes late within a couple of minutes. Stop with Ctrl-C.")

    def prepare(service: Service) -> None:
        service.tasks.append(lambda: play_loaders(service, directory))

    return serve_command(config, None, str(where), "text", prepare=prepare)


async def play_loaders(service: Service, directory: Path) -> None:
    """Run the demo's loaders now and then, until the service stops."""
    while not service.stopping.is_set():
        try:
            await asyncio.to_thread(advance_demo, directory, service.clock.now())
        except Exception as exc:  # a busy warehouse file: try again next time
            log.warning(f"demo loader skipped: {exc}", extra={"event": "demo_loader_failed"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(service.stopping.wait(), timeout=ADVANCE_EVERY)
