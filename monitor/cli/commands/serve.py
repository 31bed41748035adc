"""`fresh serve`: load the project, open the store for this replica alone (SQLite), bind the
port, then run the service until SIGTERM. Problems found before serving exit 2."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from monitor.config.loader import load_project
from monitor.serve import logs
from monitor.serve.service import Listen, Service, bind
from monitor.store import Store


def serve_command(
    config: Path | None,
    checks: Path | None,
    listen: str | None,
    log_format: str,
    prepare: Callable[[Service], None] | None = None,
) -> int:
    """Run the service; returns 0 after a clean stop (1 when a part of it crashed).

    `prepare` may add tasks or sinks before it starts (`fresh demo` adds its loader).
    """
    logs.setup(log_format)
    cwd = Path.cwd()
    from monitor.alerts.sender import notify_url_problem

    project = load_project(config, checks, None, cwd, notify_check=notify_url_problem)
    for w in project.warnings:
        logging.getLogger("fresh.config").warning(str(w), extra={"event": "config_warning"})
    where = Listen.parse(listen or project.settings.server.listen)
    store = Store.open(project.settings.state.url, project.settings.base_dir, exclusive=True)
    try:
        sock = bind(where)
        try:
            service = Service(project, store, listen=where, config=config, checks=checks, cwd=cwd)
            if prepare is not None:
                prepare(service)
            return asyncio.run(service.run(sock))
        finally:
            sock.close()
    finally:
        store.close()
