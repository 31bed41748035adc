"""The store's outbox SQL and the alerts' rules use the same words for outcomes and kinds."""

from monitor.alerts import grouping
from monitor.alerts.lifecycle import Kind
from monitor.store import outbox


def test_the_store_names_a_sent_transition_and_a_resolve_as_the_alerts_do() -> None:
    assert outbox.SENT == grouping.SENT
    assert Kind.RESOLVED.value == outbox.RESOLVED
