"""What a loaded project costs in memory (issue 17: 100,000 contracts per replica).

Each of these fails on the loader before the change it guards: contracts with an instance
dict per object, one empty dict of metadata each.
"""

from __future__ import annotations

from pathlib import Path

from monitor.core.models import NO_METADATA
from tests.unit.configkit import load

TWO = """
defaults: {warehouse: main}
contracts:
  - name: shop.orders
    owner: data-platform
    table: shop.orders
    column: loaded_at
    warn_after: 1h
    timezone: Europe/Berlin
    tags: [revenue-critical]
  - name: shop.refunds
    owner: data-platform
    table: shop.refunds
    column: loaded_at
    warn_after: 1h
    timezone: Europe/Berlin
    tags: [revenue-critical]
  - name: shop.export
    owner: data-platform
    query: "SELECT max(loaded_at) FROM shop.export"
    learn: true
    metadata: {runbook: "https://wiki.example.com/export"}
"""


def test_loaded_contracts_keep_no_instance_dicts(tmp_path: Path) -> None:
    project = load(tmp_path, checks={"a.yml": TWO})
    for c in project.contracts:
        parts = (c, c.source, c.expectation, c.location, c.expectation.learn)
        for obj in (p for p in parts if p is not None):
            assert not hasattr(obj, "__dict__"), type(obj).__name__


def test_contracts_without_metadata_share_one_read_only_empty_map(tmp_path: Path) -> None:
    orders, refunds, export = load(tmp_path, checks={"a.yml": TWO}).contracts
    assert orders.metadata is refunds.metadata is NO_METADATA
    assert dict(orders.metadata) == {}
    assert dict(export.metadata) == {"runbook": "https://wiki.example.com/export"}
