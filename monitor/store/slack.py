"""Slack app messages in the state store (SPEC 15, migration 5): the SQL, behind functions.

`slack_messages` holds one row per message fresh posts with `slackbot://` (its stored facts,
and its channel and ts once posted); `slack_alerts` says which message holds each alert
(contract, episode) per URL, so a restart or another replica edits and threads under the
same message. `monitor.alerts.slackbot` decides what to post or edit. The functions taking
a connection run in the caller's transaction (the outbox's flush).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.store.records import SlackMessage
from monitor.store.schema import slack_alerts, slack_messages

if TYPE_CHECKING:
    from monitor.store.core import Database


def message_of(conn: Connection, url_id: str, contract: str, episode: int) -> int | None:
    """The message that holds this alert of `contract` for the URL, if one does."""
    return conn.execute(
        sa.select(slack_alerts.c.message_id).where(
            slack_alerts.c.url_id == url_id,
            slack_alerts.c.contract == contract,
            slack_alerts.c.episode == episode,
        )
    ).scalar()


def new_message(
    conn: Connection,
    url_id: str,
    owner: str,
    entries: Mapping[str, Any],
    alerts: Mapping[str, int],
    now: datetime,
) -> int:
    """A message to post (not posted yet) holding `alerts` (contract -> episode); its id."""
    inserted = conn.execute(
        slack_messages.insert().values(
            url_id=url_id, owner=owner, contracts=dict(entries), created_at=now
        )
    ).inserted_primary_key
    assert inserted is not None
    message_id = int(inserted[0])
    for contract, episode in alerts.items():
        conn.execute(
            slack_alerts.insert().values(
                url_id=url_id, contract=contract, episode=episode, message_id=message_id
            )
        )
    return message_id


def entries(conn: Connection, message_id: int) -> dict[str, Any]:
    """The stored entries (contract -> facts and since) of one message."""
    stored = conn.execute(
        sa.select(slack_messages.c.contracts).where(slack_messages.c.id == message_id)
    ).scalar_one()
    return dict(stored)


def set_entries(conn: Connection, message_id: int, new: Mapping[str, Any]) -> None:
    """Replace the stored entries of one message."""
    conn.execute(
        slack_messages.update()
        .where(slack_messages.c.id == message_id)
        .values(contracts=dict(new))
    )


def message(store: Database, message_id: int) -> SlackMessage | None:
    """One message as the store holds it now, or None when it is gone."""
    with store.read() as conn:
        row = conn.execute(
            sa.select(slack_messages).where(slack_messages.c.id == message_id)
        ).first()
    if row is None:
        return None
    return SlackMessage(
        id=int(row.id),
        contracts=dict(row.contracts),
        channel=row.channel,
        ts=row.ts,
        post_failed=bool(row.post_failed),
    )


def mark_posted(store: Database, message_id: int, channel: str, ts: str) -> None:
    """Slack took the message: keep where it is, so later edits go to it."""
    _save(store, message_id, channel=channel, ts=ts, post_failed=False)


def mark_post_failed(store: Database, message_id: int) -> None:
    """Slack refused the message for good: its next edit posts it anew."""
    _save(store, message_id, post_failed=True)


def _save(store: Database, message_id: int, **values: Any) -> None:
    with store.write() as conn:
        conn.execute(
            slack_messages.update().where(slack_messages.c.id == message_id).values(**values)
        )
