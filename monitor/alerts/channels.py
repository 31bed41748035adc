"""The sender `fresh serve` and `fresh notify-test` use: each URL to its channel's sender.

`alertmanager[s]://` goes to Alertmanager's API (monitor/alerts/alertmanager.py); every
other URL to apprise. Each is a `Sender`, so the outbox needs to know none of this.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.alerts.alertmanager import AlertmanagerSender, is_alertmanager
from monitor.alerts.render import Message
from monitor.alerts.sender import AppriseSender, SendResult


class ChannelSender:
    """Sends through the sender that speaks the URL's scheme."""

    def __init__(
        self,
        mask: Callable[[str], str] = lambda s: s,
        alertmanager: AlertmanagerSender | None = None,
    ) -> None:
        self.apprise = AppriseSender(mask=mask)
        self.alertmanager = alertmanager or AlertmanagerSender(mask=mask)

    def send(self, url: str, message: Message) -> SendResult:
        """Send `message` to `url`."""
        if is_alertmanager(url):
            return self.alertmanager.send(url, message)
        return self.apprise.send(url, message)
