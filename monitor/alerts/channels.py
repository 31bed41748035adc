"""The sender `fresh serve` and `fresh notify-test` use: each URL to its channel's sender.

`alertmanager[s]://` goes to Alertmanager's API (monitor/alerts/alertmanager.py),
`slackbot://` to Slack's Web API (monitor/alerts/slackbot.py); every other URL to apprise.
Each is a `Sender`, so the outbox needs to know none of this.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from monitor.alerts.alertmanager import AlertmanagerSender, is_alertmanager
from monitor.alerts.render import Links, Message
from monitor.alerts.sender import AppriseSender, Sender, SendResult
from monitor.alerts.slackbot import SlackBotSender, is_slackbot


class ChannelSender:
    """Sends through the sender that speaks the URL's scheme."""

    def __init__(
        self,
        mask: Callable[[str], str] = lambda s: s,
        alertmanager: AlertmanagerSender | None = None,
        slackbot: Sender | None = None,
    ) -> None:
        self.apprise = AppriseSender(mask=mask)
        self.alertmanager = alertmanager or AlertmanagerSender(mask=mask)
        # without a store (notify-test) the Slack app can still post plain messages
        self.slackbot = slackbot or SlackBotSender(
            None, lambda: Links(None, None), now=lambda: datetime.now(UTC), mask=mask
        )

    def send(self, url: str, message: Message) -> SendResult:
        """Send `message` to `url`."""
        if is_alertmanager(url):
            return self.alertmanager.send(url, message)
        if is_slackbot(url):
            return self.slackbot.send(url, message)
        return self.apprise.send(url, message)
