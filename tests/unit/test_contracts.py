"""checks/*.yml → Contract: sources, expectations, defaults, presets, every message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.core.models import (
    FilesSource,
    HeartbeatSource,
    Location,
    QuerySource,
    RunLogSource,
    Severity,
    TableSource,
)
from tests.unit.configkit import load, one_contract, problems

TWO_WAREHOUSES = """
warehouses:
  main: {url: "duckdb:///warehouse.duckdb"}
  pg: {url: "postgresql+psycopg://reader@db/analytics"}
  shop: {url: "mysql+pymysql://reader@db/shop"}
"""


def contract_problems(tmp_path: Path, body: str, defaults: str = "", fresh: str | None = None):
    return problems(tmp_path, fresh, {"a.yml": one_contract(body, defaults)})


def test_the_spec_example_contract_is_read_with_defaults_merged(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "shop.yml": """
            defaults:
              warehouse: main
              owner: ops-data-team
              tags: [shopify]
              metadata: {domain: sales, pii: true}

            contracts:
              - name: raw_shopify.orders
                description: Orders landed by the hourly loader.
                owner: ops-data-team
                severity: critical
                tags: [revenue, shopify]
                metadata: {pii: false, runbook: "https://wiki.example.com/orders"}
                table: raw_shopify.orders
                column: _loaded_at
                where: "source = 'web'"
                warn_after: 20m
                error_after: 1h
                check_every: 5m
            """
        },
    )
    (c,) = project.contracts
    assert c.name == "raw_shopify.orders"
    assert c.description == "Orders landed by the hourly loader."
    assert c.owner == "ops-data-team"
    assert c.severity is Severity.CRITICAL
    assert c.warehouse == "main"
    assert c.tags == ("shopify", "revenue")
    assert dict(c.metadata) == {
        "domain": "sales",
        "pii": False,
        "runbook": "https://wiki.example.com/orders",
    }
    assert c.source == TableSource(
        table="raw_shopify.orders", column="_loaded_at", where="source = 'web'"
    )
    assert c.expectation.warn_after == timedelta(minutes=20)
    assert c.expectation.error_after == timedelta(hours=1)
    assert c.expectation.schedule is None
    assert c.expectation.timezone == "UTC"
    assert c.check_every == timedelta(minutes=5)
    assert c.location == Location("checks/shop.yml", 9, 5)
    assert c.kind == "table"


def test_defaults_fill_what_a_contract_leaves_out(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": """
            defaults: {owner: ops, severity: info, warn_after: 1h, check_every: 1m}
            contracts:
              - {name: a, heartbeat: {}}
              - {name: b, heartbeat: {}, owner: other, warn_after: 2h, tags: [x]}
            """
        },
    )
    a, b = project.contracts
    assert (a.owner, a.severity, a.expectation.warn_after, a.check_every) == (
        "ops",
        Severity.INFO,
        timedelta(hours=1),
        timedelta(minutes=1),
    )
    assert (b.owner, b.expectation.warn_after, b.tags) == ("other", timedelta(hours=2), ("x",))
    assert a.source == HeartbeatSource()


def test_durations_in_all_forms_are_read(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": """
        contracts:
          - {name: a, owner: o, heartbeat: {}, warn_after: 90s, error_after: 1h30m}
          - {name: b, owner: o, heartbeat: {}, error_after: 2d}
        """
        },
    )
    a, b = project.contracts
    assert a.expectation.warn_after == timedelta(seconds=90)
    assert a.expectation.error_after == timedelta(minutes=90)
    assert b.expectation.warn_after is None
    assert b.expectation.error_after == timedelta(days=2)


def test_a_schedule_and_timezone_are_kept(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": one_contract("""
        name: daily
        owner: o
        heartbeat: {}
        schedule: "0 6 * * 1-5"
        timezone: Europe/Berlin
        warn_after: 30m
        error_after: 2h
        """)
        },
    )
    (c,) = project.contracts
    assert c.expectation.schedule == "0 6 * * 1-5"
    assert c.expectation.timezone == "Europe/Berlin"


def test_query_files_and_heartbeat_sources(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": """
        defaults: {owner: o, warn_after: 1h}
        contracts:
          - name: q
            query: "SELECT max(loaded_at) FROM shop.orders;"
          - name: f
            files: data/orders/*.parquet
            column: ts
            column_format: epoch_ms
          - name: f2
            files: "s3://bucket/orders/*/*.csv"
          - name: h
            heartbeat:
        """
        },
    )
    q, f, f2, h = project.contracts
    assert q.source == QuerySource(sql="SELECT max(loaded_at) FROM shop.orders;")
    assert f.source == FilesSource(
        glob="data/orders/*.parquet", column="ts", column_format="epoch_ms"
    )
    assert f2.source == FilesSource(glob="s3://bucket/orders/*/*.csv")
    assert h.source == HeartbeatSource()


def test_run_log_table_with_explicit_columns(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": one_contract("""
        name: export
        owner: o
        warn_after: 1h
        run_log:
          table: ops.job_runs
          job: export_orders
          success: [success, ok]
          failure: failed
        """)
        },
    )
    assert project.contracts[0].source == RunLogSource(
        job="export_orders", table="ops.job_runs", success=("success", "ok"), failure=("failed",)
    )


def test_run_log_airflow_preset_fills_table_and_columns(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": one_contract("""
        name: dag
        owner: o
        warn_after: 1h
        run_log: {preset: airflow, job: export_orders}
        """)
        },
    )
    assert project.contracts[0].source == RunLogSource(
        job="export_orders",
        preset="airflow",
        table="dag_run",
        job_column="dag_id",
        status_column="state",
        success=("success",),
        failure=("failed",),
        time_column="end_date",
    )


def test_run_log_preset_defaults_yield_to_explicit_keys(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": one_contract("""
        name: dag
        owner: o
        warn_after: 1h
        run_log: {preset: airflow, job: x, table: airflow.dag_run, success: [success, skipped]}
        """)
        },
    )
    src = project.contracts[0].source
    assert isinstance(src, RunLogSource)
    assert (src.table, src.job_column, src.success) == (
        "airflow.dag_run",
        "dag_id",
        ("success", "skipped"),
    )


def test_run_log_dbt_preset_reads_run_results(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": one_contract("""
        name: orders_model
        owner: o
        warn_after: 1h
        run_log: {preset: dbt, job: model.shop.orders, file: "runs/*/run_results.json"}
        """)
        },
    )
    src = project.contracts[0].source
    assert src == RunLogSource(
        job="model.shop.orders",
        preset="dbt",
        file="runs/*/run_results.json",
        success=("success", "pass"),
        failure=("error", "fail", "runtime error"),
    )
    project = load(
        tmp_path,
        checks={
            "a.yml": one_contract("""
        name: orders_model
        owner: o
        warn_after: 1h
        run_log: {preset: dbt, job: orders}
        """)
        },
    )
    assert project.contracts[0].source.file == "target/run_results.json"  # type: ignore[union-attr]


def test_run_log_file_of_jsonl(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": one_contract("""
        name: export
        owner: o
        warn_after: 1h
        run_log: {file: logs/runs/*.jsonl, job: export_orders}
        """)
        },
    )
    assert project.contracts[0].source == RunLogSource(
        job="export_orders", file="logs/runs/*.jsonl"
    )


def test_table_alone_is_allowed_where_the_database_keeps_modification_times(tmp_path: Path):
    project = load(
        tmp_path,
        TWO_WAREHOUSES,
        {
            "a.yml": one_contract("""
        name: t
        owner: o
        warehouse: shop
        table: shop.orders
        warn_after: 1h
        """)
        },
    )
    assert project.contracts[0].source == TableSource(table="shop.orders")


def test_env_variables_expand_in_checks_too(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": one_contract("""
        name: t
        owner: ${OWNER:-ops}
        table: ${SCHEMA}.orders
        column: ts
        warn_after: 1h
        """)
        },
        env={"SCHEMA": "prod"},
    )
    c = project.contracts[0]
    assert c.owner == "ops"
    assert c.source == TableSource(table="prod.orders", column="ts")


def test_several_files_are_read_in_name_order(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "b.yml": one_contract("name: b\nowner: o\nheartbeat: {}\nwarn_after: 1h"),
            "a/x.yml": one_contract("name: a\nowner: o\nheartbeat: {}\nwarn_after: 1h"),
            "c.yaml": one_contract("name: c\nowner: o\nheartbeat: {}\nwarn_after: 1h"),
        },
    )
    assert [c.name for c in project.contracts] == ["a", "b", "c"]


# --- every message ---------------------------------------------------------------------


PROBLEM_CASES = [
    pytest.param(
        """
        name: t
        owner: o
        heartbeat: {}
        warn_afer: 20m
        error_after: 1h
        """,
        ["checks/a.yml:5:5: unknown key 'warn_afer' (did you mean 'warn_after'?)"],
        id="an_unknown_contract_key_gets_a_did_you_mean",
    ),
    pytest.param(
        """
        name: t
        owner: o
        heartbeat: {}
        schedule: "61 6 * * *"
        warn_after: 1h
        """,
        [
        "checks/a.yml:5:15: schedule: invalid cron expression '61 6 * * *': bad minute"
    ],
        id="a_malformed_cron_is_reported_at_the_schedule",
    ),
    pytest.param(
        """
        name: t
        owner: o
        heartbeat: {}
        warn_after: 20x
        error_after: 60
        check_every: soon
        """,
        [
        "checks/a.yml:5:17: warn_after: invalid duration '20x' (use e.g. 90s, 20m, 1h30m, 2d)",
        "checks/a.yml:6:18: error_after: duration 60 needs a unit (e.g. 60m)",
        "checks/a.yml:7:18: check_every: invalid duration 'soon' (use e.g. 90s, 20m, 1h30m, 2d)",
    ],
        id="a_malformed_duration_is_reported",
    ),
    pytest.param(
        """
        name: t
        owner: o
        heartbeat: {}
        warn_after: 2h
        error_after: 1h
        """,
        ["checks/a.yml:5:17: warn_after must be shorter than error_after"],
        id="warn_after_must_come_before_error_after",
    ),
    pytest.param(
        "name: t\nowner: o\nheartbeat: {}\n",
        [
        "checks/a.yml:2:5: an expectation is required: give warn_after and/or error_after, or learn"
    ],
        id="an_expectation_is_required",
    ),
    pytest.param(
        """
        name: t
        owner: o
        table: a
        column: ts
        query: select 1
        warn_after: 1h
        """,
        ["checks/a.yml:6:5: exactly one source is allowed, found 2: table, query"],
        id="two_sources_are_named",
    ),
    pytest.param(
        "name: t\nowner: o\nwarn_after: 1h\n",
        [
        "checks/a.yml:2:5: no source: give one of table, query, files, run_log, heartbeat, "
        "openlineage, delta, iceberg"
    ],
        id="no_source_lists_the_choices",
    ),
    pytest.param(
        "heartbeat: {}\nwarn_after: 1h\n",
        [
        "checks/a.yml:2:5: missing required key 'name'",
        "checks/a.yml:2:5: missing required key 'owner' (here or in defaults)",
    ],
        id="owner_and_name_are_required",
    ),
    pytest.param(
        "name: t\nowner: o\ntable: orders\nwarn_after: 1h\n",
        [
        "checks/a.yml:4:5: table: duckdb keeps no last-modified time for tables: "
        "add `column:` (the column whose newest value is the last update)"
    ],
        id="table_without_column_on_duckdb_suggests_a_column",
    ),
    pytest.param(
        """
        name: t
        owner: o
        severity: critcal
        table: orders
        column: ts
        column_format: epoch_sec
        schedule: "0 6 * * *"
        timezone: Europe/Pariss
        warn_after: 1h
        """,
        [
        "checks/a.yml:4:15: severity: unknown severity 'critcal' (did you mean 'critical'?) "
        "(info, warning or critical)",
        "checks/a.yml:7:20: column_format: 'epoch_sec' is not epoch_s or epoch_ms "
        "(did you mean 'epoch_s'?)",
        "checks/a.yml:9:15: timezone: unknown time zone 'Europe/Pariss' "
        "(did you mean 'Europe/Paris'?) (use an IANA name)",
    ],
        id="bad_severity_timezone_and_column_format",
    ),
    pytest.param(
        """
        name: t
        owner: o
        heartbeat: {}
        where: "a = 1"
        warn_after: 1h
        """,
        ["checks/a.yml:5:5: where: not used with heartbeat (only with table)"],
        id="keys_that_do_not_fit_the_source_are_refused",
    ),
    pytest.param(
        "name: t\nowner: o\nwarn_after: 1h\nrun_log: {job: x}\n",
        [
        "checks/a.yml:5:14: run_log: give table (a run-log table), file (a glob) or preset"
    ],
        id="a_run_log_needs_a_table_or_file",
    ),
    pytest.param(
        "name: t\nowner: o\nheartbeat: {}\nwarn_after: 1h\ncheck_every: 10ms\n",
        ["checks/a.yml:6:18: check_every: must be at least 1s"],
        id="check_every_must_be_at_least_a_second",
    ),
]


@pytest.mark.parametrize(("text", "expected"), PROBLEM_CASES)
def test_each_problem_is_reported_at_its_position(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    assert contract_problems(tmp_path, text) == expected




def test_a_duplicate_name_cites_both_locations(tmp_path: Path):
    found = problems(
        tmp_path,
        checks={
            "a.yml": one_contract("name: orders\nowner: o\nheartbeat: {}\nwarn_after: 1h"),
            "b.yml": "contracts:\n  - {name: x, owner: o, heartbeat: {}, warn_after: 1h}\n"
            "  - name: orders\n    owner: o\n    heartbeat: {}\n    warn_after: 1h\n",
        },
    )
    assert found == [
        "checks/b.yml:3:11: duplicate contract name 'orders': first declared at checks/a.yml:2:5"
    ]




def test_a_cron_with_seconds_is_refused_as_the_evaluator_would(tmp_path: Path):
    found = contract_problems(
        tmp_path,
        """
        name: t
        owner: o
        heartbeat: {}
        schedule: "0 0 6 * * *"
        warn_after: 1h
        """,
    )
    assert len(found) == 1 and "has 6 fields; it needs 5" in found[0]
    assert found[0].startswith("checks/a.yml:5:15: schedule:")










def test_openlineage_needs_a_namespace_and_one_of_job_or_dataset(tmp_path: Path):
    found = contract_problems(
        tmp_path,
        "name: t\nowner: o\nwarn_after: 1h\nopenlineage: {job: j, dataset: d, jb: x}\n",
    )
    assert found == [
        "checks/a.yml:5:18: openlineage: give exactly one of job or dataset",
        "checks/a.yml:5:18: openlineage: missing namespace (the job's or dataset's namespace)",
        "checks/a.yml:5:39: unknown key 'jb' in openlineage (did you mean 'job'?)",
    ]




def test_an_identifier_with_a_quote_or_semicolon_is_refused(tmp_path: Path):
    found = contract_problems(
        tmp_path,
        """
        name: t
        owner: o
        table: 'orders"; drop table x; --'
        column: "ts; delete"
        warn_after: 1h
        """,
    )
    assert len(found) == 2
    assert found[0].startswith(
        "checks/a.yml:4:12: table: 'orders\"; drop table x; --' contains a quote or bracket"
    )
    assert found[1].startswith("checks/a.yml:5:13: column: 'ts; delete' contains ';'")
    assert "fresh quotes identifiers itself" in found[0]


def test_a_query_that_writes_is_refused(tmp_path: Path):
    for sql, why in [
        ("DELETE FROM orders", "must be a SELECT, not DELETE"),
        ("CREATE TABLE x AS SELECT 1", "must be a SELECT, not CREATE"),
        ("SELECT 1; SELECT 2", "must be one statement, found 2"),
        ("SELECT max(ts) FROM a; DROP TABLE a", "must be one statement, found 2"),
        ("SELECT * INTO copy FROM orders", "must only read: SELECT … INTO writes a table"),
        (
            "WITH d AS (DELETE FROM t RETURNING ts) SELECT max(ts) FROM d",
            "must only read: DELETE is not a read",
        ),
    ]:
        found = problems(
            tmp_path,
            TWO_WAREHOUSES,
            {
                "a.yml": one_contract(f"""
            name: t
            owner: o
            warehouse: pg
            query: "{sql}"
            warn_after: 1h
            """)
            },
        )
        assert found == [f"checks/a.yml:5:12: query: {why}"], sql


def test_a_where_with_a_statement_is_refused(tmp_path: Path):
    for where, why in [
        ("a = 1; DROP TABLE orders", "must be one expression: ';' is not allowed"),
        ("DELETE FROM orders", "must be a boolean expression, not a statement"),
        ("loaded_at", "must be a boolean expression"),
    ]:
        found = contract_problems(
            tmp_path,
            f"""
            name: t
            owner: o
            table: orders
            column: ts
            where: "{where}"
            warn_after: 1h
            """,
        )
        assert len(found) == 1 and found[0].startswith(f"checks/a.yml:6:12: where: {why}"), found


def test_an_unknown_warehouse_gets_a_did_you_mean(tmp_path: Path):
    found = problems(
        tmp_path,
        TWO_WAREHOUSES,
        {
            "a.yml": one_contract("""
        name: t
        owner: o
        warehouse: shp
        table: orders
        column: ts
        warn_after: 1h
        """)
        },
    )
    assert found == [
        "checks/a.yml:4:16: warehouse: unknown warehouse 'shp' (did you mean "
        "'shop'?) (declare it under warehouses: in fresh.yml)"
    ]








def test_run_log_problems_are_reported(tmp_path: Path):
    found = contract_problems(
        tmp_path,
        """
        name: t
        owner: o
        warn_after: 1h
        run_log: {preset: airflw, table: x, file: y, jb: z}
        """,
    )
    assert sorted(found) == sorted(
        [
            "checks/a.yml:5:50: unknown key 'jb' in run_log (did you mean 'job'?)",
            "checks/a.yml:5:14: missing required key 'job'",
            "checks/a.yml:5:23: run_log.preset: unknown preset 'airflw' (did you mean 'airflow'?) "
            "(airflow or dbt)",
            "checks/a.yml:5:41: run_log: give table or file, not both",
        ]
    )




def test_sources_cannot_be_defaults(tmp_path: Path):
    found = problems(
        tmp_path,
        checks={
            "a.yml": """
        defaults: {table: orders, name: x, ownr: o}
        contracts: []
        """
        },
    )
    assert found == [
        "checks/a.yml:2:12: defaults: 'table' cannot be a default (each contract names its own)",
        "checks/a.yml:2:27: defaults: 'name' cannot be a default (each contract names its own)",
        "checks/a.yml:2:36: defaults: 'ownr' cannot be a default (unknown key "
        "(did you mean 'owner'?))",
    ]


def test_a_checks_file_must_hold_a_list_of_mappings(tmp_path: Path):
    found = problems(
        tmp_path,
        checks={
            "a.yml": "contracts:\n  - just text\n",
            "b.yml": "[1]\n",
            "c.yml": "contract: []\n",
        },
    )
    assert found == [
        "checks/a.yml:2:5: a contract is a mapping (name, owner, a source, "
        "warn_after/error_after…)",
        "checks/b.yml:1:1: a checks file is a mapping with `contracts:` (and optional `defaults:`)",
        "checks/c.yml:1:1: unknown key 'contract' (did you mean 'contracts'?)",
    ]


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path):
    found = problems(
        tmp_path,
        checks={
            "a.yml": one_contract("name: a\nowner: o\nheartbeat: {}\nwarn_after: 1x"),
            "b.yml": one_contract("name: b\nowner: o\nwarn_after: 1h"),
            "c.yml": "contracts: [\n",
        },
    )
    assert [p.split(":")[0] for p in found] == ["checks/a.yml", "checks/b.yml", "checks/c.yml"]


def test_a_warehouse_is_required_when_several_are_declared_and_none_is_main(tmp_path: Path):
    fresh = "warehouses:\n  a: {url: 'sqlite:///a.db'}\n  b: {url: 'sqlite:///b.db'}\n"
    found = problems(
        tmp_path,
        fresh,
        {"a.yml": one_contract("name: t\nowner: o\ntable: x\ncolumn: ts\nwarn_after: 1h")},
    )
    assert found == [
        "checks/a.yml:2:5: missing key 'warehouse': fresh.yml declares several "
        "(a, b) and none is named main"
    ]


def test_warehouse_table_names_may_be_double_quoted_but_file_columns_not(tmp_path: Path):
    project = load(
        tmp_path,
        checks={
            "a.yml": """
        defaults: {owner: o, warn_after: 1h}
        contracts:
          - {name: t, table: 'db."Sales"."MyTable"', column: '"LoadedAt"'}
        """
        },
    )
    (t,) = project.contracts
    assert t.source == TableSource(table='db."Sales"."MyTable"', column='"LoadedAt"')
    found = contract_problems(
        tmp_path,
        """
        name: f
        owner: o
        files: data/*.parquet
        column: '"LoadedAt"'
        warn_after: 1h
        """,
    )
    assert len(found) == 1 and "contains a quote" in found[0], found
