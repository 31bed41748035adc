"""checks/*.yml → Contract for the table formats (SPEC 14): `delta:` (and the lake label)."""

from __future__ import annotations

from pathlib import Path

from monitor.core.models import DeltaSource
from tests.unit.configkit import load, one_contract, problems

TWO_WAREHOUSES = """
warehouses:
  main: {url: "duckdb:///warehouse.duckdb"}
  pg: {url: "postgresql+psycopg://reader@db/analytics"}
"""


def test_a_delta_contract_carries_the_lake_warehouse_unless_it_sets_one(tmp_path: Path) -> None:
    checks = """
    contracts:
      - {name: a, owner: ops, delta: lake/orders, error_after: 1h}
      - {name: b, owner: ops, delta: "s3://bucket/t", warehouse: prod-lake, error_after: 1h}
    """
    # Two warehouses and none named main: SQL contracts must name one, lake contracts need not.
    project = load(tmp_path, TWO_WAREHOUSES.replace("main", "duck"), {"l.yml": checks})
    a, b = sorted(project.contracts, key=lambda c: c.name)
    assert (a.source, a.warehouse) == (DeltaSource("lake/orders"), "lake")
    assert (b.source, b.warehouse) == (DeltaSource("s3://bucket/t"), "prod-lake")


def test_delta_takes_no_column_where_or_format(tmp_path: Path) -> None:
    body = "name: a\nowner: ops\ndelta: t\ncolumn: ts\nwhere: x > 1\nerror_after: 1h"
    out = problems(tmp_path, None, {"a.yml": one_contract(body)})
    assert any("column: not used with delta (only with table or files)" in p for p in out), out
    assert any("where: not used with delta (only with table)" in p for p in out), out


def test_an_empty_delta_path_is_refused_with_its_position(tmp_path: Path) -> None:
    out = problems(
        tmp_path, None, {"a.yml": one_contract('name: a\nowner: ops\ndelta: " "\nerror_after: 1h')}
    )
    assert out == ["checks/a.yml:4:12: delta: must be a table's folder or s3:// URL"], out


ICEBERG_FRESH = """
catalogs:
  prod:
    type: rest
    uri: https://catalog.example.com/api
    credential: ${ICE_CRED}
    warehouse: analytics
    timeout: 10s
"""


def test_catalogs_pass_pyiceberg_properties_through_and_mask_their_secrets(
    tmp_path: Path,
) -> None:
    from monitor.config.redact import secrets_of
    from monitor.core.models import IcebergSource

    checks = (
        "contracts:\n"
        "  - {name: a, owner: ops, iceberg: sales.orders, catalog: prod, error_after: 1h}\n"
    )
    project = load(tmp_path, ICEBERG_FRESH, {"l.yml": checks}, env={"ICE_CRED": "id:very-secret"})
    [c] = project.contracts
    assert (c.source, c.warehouse) == (IcebergSource("sales.orders", "prod"), "lake")
    cat = project.settings.catalogs["prod"]
    assert cat.timeout.total_seconds() == 10
    assert cat.properties() == {
        "type": "rest",
        "uri": "https://catalog.example.com/api",
        "credential": "id:very-secret",
        "warehouse": "analytics",
    }
    assert "id:very-secret" in secrets_of(project.settings)


def test_iceberg_contract_problems_name_file_line_and_key(tmp_path: Path) -> None:
    checks = """\
    contracts:
      - {name: a, owner: ops, iceberg: sales.orders, catalog: nope, error_after: 1h}
      - {name: b, owner: ops, iceberg: orders, catalog: prod, error_after: 1h}
      - {name: c, owner: ops, iceberg: sales.orders, error_after: 1h}
      - {name: d, owner: ops, files: x/*.csv, catalog: prod, error_after: 1h}
    """
    out = problems(tmp_path, ICEBERG_FRESH, {"l.yml": checks}, env={"ICE_CRED": "x"})
    assert "checks/l.yml:3:36: iceberg: 'orders' is not NAMESPACE.TABLE" in out, out
    assert any(
        p.startswith("checks/l.yml:4:") and "iceberg: needs catalog: NAME" in p for p in out
    ), out
    assert any(
        p.startswith("checks/l.yml:5:") and "catalog: not used with files (only with iceberg)" in p
        for p in out
    ), out
    assert any(
        p.startswith("checks/l.yml:2:") and "catalog: unknown catalog 'nope'" in p for p in out
    ), out
