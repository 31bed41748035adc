"""A real Prometheus scrapes a real `fresh serve`; PromQL sees the ages SPEC section 6 promises."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import servers
from tests.integration.serving import serving, wait_for, write_duckdb, write_project

CHECKS = """\
defaults: {owner: ops, warehouse: main}
contracts:
  - name: orders
    table: orders
    column: t
    warn_after: 1h
    error_after: 2h
    check_every: 1h
  - name: late
    table: late
    column: t
    error_after: 10m
"""


def query(prom: str, promql: str) -> list[dict[str, Any]]:
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 503:  # still starting up (TSDB not ready)
            exc.close()
            return []
        raise
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def test_prometheus_computes_the_age_between_polls(tmp_path: Path) -> None:
    why = servers.prometheus_missing()
    if why:
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    written = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    write_duckdb(
        tmp_path / "warehouse.duckdb", {"orders": written, "late": written - timedelta(hours=1)}
    )
    write_project(
        tmp_path, "warehouses: {main: {url: 'duckdb:///warehouse.duckdb'}}\n", {"a.yml": CHECKS}
    )
    with serving(tmp_path) as served, servers.prometheus([f"127.0.0.1:{served.port}"]) as prom:

        def scraped() -> list[dict[str, Any]]:
            return query(prom, 'time() - fresh_last_update_timestamp_seconds{contract="orders"}')

        rows = wait_for(scraped, timeout=60, step=0.5)
        age = float(rows[0]["value"][1])
        expected = time.time() - written.timestamp()
        assert abs(age - expected) <= 5, (age, expected)
        assert "replica" not in rows[0]["metric"]
        # lateness between polls, for every kind of contract
        late = query(prom, 'time() >= fresh_deadline_timestamp_seconds{level="error"}')
        assert [r["metric"]["contract"] for r in late] == ["late"]
        up = query(prom, 'up{job="fresh"}')
        assert up and up[0]["value"][1] == "1"
        # a per-replica counter sums across replicas
        total = query(prom, "sum(fresh_check_duration_seconds_count)")
        assert float(total[0]["value"][1]) >= 2
