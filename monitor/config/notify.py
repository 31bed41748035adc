"""Notify URLs of fresh.yml checked at load time, each problem at the URL's position.

The check itself belongs to the alerts layer (`monitor.alerts.sender.notify_url_problem`,
which knows apprise and fresh's own senders); configuration loading only receives it as a
function, so commands that send nothing (`fresh check`) never import a sender.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monitor.config.yamlpos import YList, YMap
from monitor.core.errors import Problem


def notify_problems(display: str, data: YMap, check: Callable[[str], str | None]) -> list[Problem]:
    """Each notify URL `check` refuses, at its position (fresh.yml already validated, so
    every `notify` / `fallback` present is a list of text)."""
    places: list[tuple[str, Any]] = []
    owners = data.get("owners")
    if isinstance(owners, YMap):
        for name, owner in owners.items():
            if isinstance(owner, YMap):
                places.append((f"owners.{name}.notify", owner.get("notify")))
    alerts = data.get("alerts")
    if isinstance(alerts, YMap):
        places.append(("alerts.fallback", alerts.get("fallback")))
        routes = alerts.get("routes")
        for i, route in enumerate(routes if isinstance(routes, YList) else ()):
            if isinstance(route, YMap):
                places.append((f"alerts.routes[{i}].notify", route.get("notify")))
    out = []
    for where, urls in places:
        for i, url in enumerate(urls if isinstance(urls, YList) else ()):
            why = check(url) if isinstance(url, str) else None
            if why:
                p = urls.item_pos(i)
                out.append(Problem(display, p.line, p.col, f"{where}[{i}]: {why}"))
    return out
