"""grafana/: the rules pass promtool's own tests, the dashboards are well-formed, and every
PromQL expression in them and in the rules evaluates without error in a real Prometheus."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
RULES = GRAFANA / "prometheus" / "fresh-rules.yml"

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="SKIPPED LOUDLY: promtool not found (apt-get install prometheus; `make test` does)",
)


def dashboard_exprs(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) for every target of every panel."""
    return [
        (p["title"], t["expr"])
        for p in dashboard["panels"]
        for t in p.get("targets", [])
        if "expr" in t
    ]


def rule_exprs() -> list[tuple[str, str]]:
    doc = yaml.safe_load(RULES.read_text())
    return [(r["alert"], r["expr"]) for g in doc["groups"] for r in g["rules"]]


def substitute(expr: str, contract: str) -> str:
    """Replace Grafana's variables the way Grafana would for 'All' selections."""
    return (
        expr.replace("$__rate_interval", "1m")
        .replace("$__range", "5m")
        .replace("$contract", contract)
        .replace("$owner", ".*")
        .replace("$warehouse", ".*")
    )


def test_both_dashboards_and_the_provisioning_files_exist() -> None:
    names = {p.name for p in DASHBOARDS}
    assert names == {"fresh-overview.json", "fresh-contract.json"}
    assert (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").exists()
    assert (GRAFANA / "provisioning" / "dashboards" / "fresh.yml").exists()


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_each_dashboard_is_well_formed(path: Path) -> None:
    d = json.loads(path.read_text())
    assert d["uid"] == path.stem
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {v["name"] for v in d["templating"]["list"]}
    for panel in d["panels"]:
        assert panel["targets"], panel["title"]
        assert panel["gridPos"]["x"] >= 0 and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for t in panel["targets"]:
            used = set(re.findall(r"\$(\w+)", t["expr"])) - {"__rate_interval", "__range"}
            assert used <= variables, f"{panel['title']}: unknown variables {used - variables}"
    # Per-contract gauges are aggregated, so several replicas show a contract once.
    for title, expr in dashboard_exprs(d):
        for gauge in (
            "fresh_status",
            "fresh_last_update_timestamp_seconds",
            "fresh_threshold_seconds",
            "fresh_deadline_timestamp_seconds",
        ):
            if gauge in expr:
                assert re.search(r"\b(max|min|count|topk)\b", expr), f"{title}: {expr}"


def test_the_overview_has_owner_and_warehouse_filters() -> None:
    d = json.loads((GRAFANA / "dashboards" / "fresh-overview.json").read_text())
    assert {"owner", "warehouse"} <= {v["name"] for v in d["templating"]["list"]}
    assert any('owner=~"$owner"' in e for _, e in dashboard_exprs(d))


@needs_promtool
def test_the_rules_pass_promtool_check_and_promtools_unit_tests() -> None:
    subprocess.run(["promtool", "check", "rules", str(RULES)], check=True, capture_output=True)
    out = subprocess.run(
        ["promtool", "test", "rules", "fresh-rules.test.yml"],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


CHECKS = """\
defaults: {owner: ops, warehouse: main}
contracts:
  - name: orders
    table: orders
    column: t
    warn_after: 1h
    error_after: 2h
  - name: late
    table: late
    column: t
    warn_after: 10m
    error_after: 20m
  - name: broken
    table: missing_table
    column: t
    error_after: 1h
    check_every: 1s
"""

# Panels that legitimately have no series in a fresh service with no alert sent yet.
MAY_BE_EMPTY = {
    "Notifications",
    "FreshConfigReloadFailed",
    "FreshOutboxBacklog",
    "FreshExporterDown",
    "FreshContractWarn",
    "FreshContractError",
    "FreshCheckErrors",
    "FreshContractStale",
}


def test_every_promql_expression_evaluates_against_a_real_fresh_serve(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from tests import servers
    from tests.integration.serving import serving, wait_for, write_duckdb, write_project

    why = servers.prometheus_missing()
    if why:
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    now = datetime.now(UTC).replace(microsecond=0)
    write_duckdb(
        tmp_path / "warehouse.duckdb",
        {"orders": now - timedelta(minutes=5), "late": now - timedelta(minutes=30)},
    )
    write_project(
        tmp_path, "warehouses: {main: {url: 'duckdb:///warehouse.duckdb'}}\n", {"a.yml": CHECKS}
    )
    with serving(tmp_path) as served, servers.prometheus([f"127.0.0.1:{served.port}"]) as prom:

        def query(promql: str, attempts: int = 5) -> dict[str, Any]:
            """Prometheus's answer; a dropped connection or a 503 while its TSDB starts
            (seen on a loaded machine) is retried, a query error is returned as is."""
            url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
            for attempt in range(attempts):
                try:
                    with urllib.request.urlopen(url, timeout=10) as resp:
                        body: dict[str, Any] = json.loads(resp.read())
                        return body
                except urllib.error.HTTPError as exc:
                    raw = exc.read()
                    exc.close()
                    if exc.code != 503:
                        body = json.loads(raw)
                        return body
                except (OSError, http.client.HTTPException, ValueError):
                    pass
                time.sleep(0.5 * (attempt + 1))
            return {"status": "unavailable", "data": {"result": []}}

        def results(promql: str) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = query(promql).get("data", {}).get("result", [])
            return found

        def scraped_enough() -> bool:
            counts = results('count_over_time(up{job="fresh"}[1m])')
            return bool(counts) and float(counts[0]["value"][1]) >= 4

        # enough scrapes for rate() over 1m, and the error counter moving
        wait_for(lambda: results("fresh_check_errors_total"), timeout=90, step=0.5)
        wait_for(scraped_enough, timeout=90, step=0.5)
        exprs = [
            (f"{p.name}: {t}", e)
            for p in DASHBOARDS
            for t, e in dashboard_exprs(json.loads(p.read_text()))
        ]
        exprs += [(a, e) for a, e in rule_exprs()]
        empty = []
        for title, expr in exprs:
            body = query(substitute(expr, "orders"))
            assert body["status"] == "success", f"{title}: {expr}\n{body}"
            if not body["data"]["result"]:
                empty.append(title)
        unexpected = [t for t in empty if t.split(": ")[-1] not in MAY_BE_EMPTY]
        assert not unexpected, f"no data for: {unexpected}"
        # and the table's age is right for `orders` (written 5 minutes before start)
        ages = query(
            'time() - max by (contract) (fresh_last_update_timestamp_seconds{contract="orders"})'
        )
        age = float(ages["data"]["result"][0]["value"][1])
        expected = (datetime.now(UTC) - (now - timedelta(minutes=5))).total_seconds()
        assert abs(age - expected) < 10
