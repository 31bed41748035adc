"""`fresh notify-test OWNER`: send a test alert along an owner's routes, report each URL."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.alerts.alertmanager import fresh_test_alerts, is_alertmanager
from monitor.alerts.channels import ChannelSender
from monitor.alerts.render import Links, notify_test_message
from monitor.alerts.routing import notify_test_destinations
from monitor.config.loader import load_project
from monitor.config.redact import mask_url, redact, secrets_of
from monitor.core.clock import SystemClock
from monitor.core.errors import UsageError


def notify_test_command(owner: str, config: Path | None, checks: Path | None) -> int:
    """Send to the owner's notify URLs (or the fallback) and every route naming the owner;
    exit 1 when any send failed. URLs are printed with their secrets masked."""
    settings = load_project(config=config, checks=checks).settings
    urls = notify_test_destinations(settings, owner)
    if not urls:
        raise UsageError(
            f"owner {owner!r} has no notify URLs, no route names it, and alerts.fallback is empty"
        )
    known = secrets_of(settings)
    sender = ChannelSender(mask=lambda text: redact(text, known))
    links = Links(settings.server.public_url, settings.server.dashboard_url)
    now = SystemClock().now()
    message = notify_test_message(owner, links, now)
    failed = 0
    for url in urls:
        if is_alertmanager(url):  # a FreshTest alert that ends after a minute
            result = sender.alertmanager.post(url, fresh_test_alerts(owner, links, now))
        else:
            result = sender.send(url, message)
        if result.ok:
            typer.echo(f"ok      {mask_url(url)}")
        else:
            failed += 1
            typer.echo(f"FAILED  {mask_url(url)}: {result.error}")
    typer.echo(f"{len(urls) - failed} of {len(urls)} sent.")
    return 1 if failed else 0
