"""fresh.yml: positions, env expansion, did-you-mean, defaults without a file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.loader import load_project
from monitor.core.errors import ConfigError
from tests.unit.configkit import load, one_contract, problems

CHECK = one_contract(
    """
    name: orders
    owner: ops
    table: shop.orders
    column: loaded_at
    warn_after: 20m
    """
)


def test_no_fresh_yml_means_one_duckdb_warehouse_main_in_the_current_folder(tmp_path: Path):
    project = load(tmp_path, checks={"a.yml": CHECK})
    s = project.settings
    assert list(s.warehouses) == ["main"]
    assert s.warehouses["main"].url == "duckdb:///warehouse.duckdb"
    assert s.base_dir == tmp_path
    assert s.config_path is None
    assert [c.name for c in project.contracts] == ["orders"]
    assert project.warnings == ()  # no fresh.yml: owners are not checked


def test_an_empty_folder_loads_with_no_contracts(tmp_path: Path):
    project = load_project(cwd=tmp_path, env={})
    assert project.contracts == ()


def test_base_dir_is_the_folder_holding_fresh_yml(tmp_path: Path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "fresh.yml").write_text("warehouses:\n  main: {url: 'sqlite:///x.db'}\n")
    (tmp_path / "conf" / "checks").mkdir()
    (tmp_path / "conf" / "checks" / "a.yml").write_text(CHECK)
    project = load_project(config=Path("conf/fresh.yml"), cwd=tmp_path, env={})
    assert project.settings.base_dir == tmp_path / "conf"
    assert project.settings.config_path == tmp_path / "conf" / "fresh.yml"
    assert [c.name for c in project.contracts] == ["orders"]


def test_checks_option_reads_another_folder_and_subfolders(tmp_path: Path):
    nested = tmp_path / "elsewhere" / "deep"
    nested.mkdir(parents=True)
    (nested / "a.yml").write_text(CHECK)
    project = load_project(checks=Path("elsewhere"), cwd=tmp_path, env={})
    assert [c.name for c in project.contracts] == ["orders"]
    assert project.contracts[0].location is not None
    assert project.contracts[0].location.path == "elsewhere/deep/a.yml"


def test_a_missing_config_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError) as info:
        load_project(config=Path("nope.yml"), cwd=tmp_path, env={})
    assert str(info.value.problems[0]) == "nope.yml:1:1: configuration file not found"


def test_full_fresh_yml_is_read_into_settings(tmp_path: Path):
    project = load(
        tmp_path,
        """
        warehouses:
          main:
            url: duckdb:///warehouse.duckdb
          analytics:
            url: postgresql+psycopg://reader:${PG_PASSWORD}@db:5432/analytics
            timezone: Europe/Berlin
            timeout: 1m30s
            max_connections: 2
        state:
          url: sqlite:///.fresh/state.db
          retention: 7d
        owners:
          ops:
            notify: [slack://TokenA/TokenB/TokenC/#ops-data]
            repeat_every: 1h
        alerts:
          notify_on: [warn, stale, error]
          group_wait: 10s
          fallback: ["mailto://data@example.com"]
          routes:
            - match: {severity: critical, metadata.pii: false, contract: "raw_*"}
              notify: ["json://localhost/hook"]
              continue: true
        server:
          listen: 0.0.0.0:9999
          ping_token: ${FRESH_PING_TOKEN:-}
          replica: ${HOSTNAME:-fresh-1}
          auth: {username: ops, password: "${UI_PASSWORD}"}
        metric_labels: [domain]
        """,
        {"a.yml": CHECK},
        env={"PG_PASSWORD": "s3cret", "UI_PASSWORD": "hunter22"},
    )
    s = project.settings
    assert s.warehouses["analytics"].url.endswith("reader:s3cret@db:5432/analytics")
    assert s.warehouses["analytics"].timeout == timedelta(seconds=90)
    assert s.warehouses["analytics"].timezone == "Europe/Berlin"
    assert s.state.retention == timedelta(days=7)
    assert s.owners["ops"].repeat_every == timedelta(hours=1)
    assert s.alerts.notify_on == ("warn", "stale", "error")
    route = s.alerts.routes[0]
    assert route.continue_ is True
    assert route.match == {"severity": "critical", "metadata.pii": "false", "contract": "raw_*"}
    assert s.server.ping_token is None  # ${VAR:-} with nothing set: not set
    assert s.server.replica == "fresh-1"
    assert s.server.auth is not None and s.server.auth.password == "hunter22"
    assert s.metric_labels == ("domain",)
    assert project.warnings == ()


def test_env_defaults_apply_when_the_variable_is_unset_or_empty(tmp_path: Path):
    fresh = """
        warehouses:
          main: {url: "duckdb:///${DB:-warehouse}.duckdb"}
        server:
          replica: ${REPLICA:-r1}
        """
    assert load(tmp_path, fresh, env={"DB": ""}).settings.warehouses["main"].url == (
        "duckdb:///warehouse.duckdb"
    )
    s = load(tmp_path, fresh, env={"DB": "prod", "REPLICA": "r9"}).settings
    assert s.warehouses["main"].url == "duckdb:///prod.duckdb"
    assert s.server.replica == "r9"


def test_a_dollar_dollar_brace_is_a_literal(tmp_path: Path):
    s = load(tmp_path, "server:\n  replica: 'a$${X}'\n").settings
    assert s.server.replica == "a${X}"


def test_a_missing_env_variable_is_named_at_its_position(tmp_path: Path):
    found = problems(
        tmp_path,
        """
        warehouses:
          pg:
            url: postgresql://reader:${PG_PASSWORD}@db/analytics
        """,
    )
    assert found == [
        "fresh.yml:4:10: environment variable PG_PASSWORD is not set "
        "(use ${PG_PASSWORD:-} to make it optional)"
    ]


def test_malformed_yaml_is_reported_with_its_position(tmp_path: Path):
    found = problems(tmp_path, "warehouses:\n  main:\n    url: [unclosed\n")
    assert len(found) == 1
    assert found[0].startswith("fresh.yml:")
    assert "invalid YAML" in found[0]
    line = int(found[0].split(":")[1])
    assert line >= 3


def test_malformed_checks_yaml_does_not_hide_fresh_yml_problems(tmp_path: Path):
    found = problems(
        tmp_path,
        "alerts:\n  notify_on: [stal]\n",
        {"bad.yml": "contracts:\n  - name: x\n   owner: y\n"},
    )
    assert any(p.startswith("fresh.yml:2:") and "did you mean 'stale'" in p for p in found)
    assert any(p.startswith("checks/bad.yml:3:") and "invalid YAML" in p for p in found)


def test_unknown_keys_get_a_did_you_mean(tmp_path: Path):
    found = problems(
        tmp_path,
        """
        warehouse:
          main: {url: "duckdb:///w.duckdb"}
        alerts:
          repeat_evry: 4h
        """,
    )
    assert found == [
        "fresh.yml:2:1: unknown key 'warehouse' (did you mean 'warehouses'?)",
        "fresh.yml:5:3: unknown key 'repeat_evry' in alerts (did you mean 'repeat_every'?)",
    ]


def test_a_nested_unknown_key_in_a_warehouse_is_found(tmp_path: Path):
    found = problems(
        tmp_path,
        """
        warehouses:
          main:
            url: duckdb:///w.duckdb
            timout: 30s
        """,
    )
    assert found == [
        "fresh.yml:5:5: unknown key 'timout' in warehouses.main (did you mean 'timeout'?)"
    ]


def test_internal_settings_fields_are_not_keys(tmp_path: Path):
    found = problems(tmp_path, "base_dir: /etc\n")
    assert found == ["fresh.yml:1:1: unknown key 'base_dir'"]


def test_bad_values_are_reported_all_at_once_with_positions(tmp_path: Path):
    found = problems(
        tmp_path,
        """
        warehouses:
          main:
            url: duckdb:///w.duckdb
            timezone: Europe/Berln
            timeout: 30
            max_connections: lots
        state:
          url: not-a-url
        alerts:
          notify_on: [stale, eror]
          routes:
            - match: {severty: critical}
            - match: {severity: urgent}
        server:
          auth: {username: ops}
        metric_labels: [domain, owner]
        """,
    )
    assert found == [
        "fresh.yml:5:15: warehouses.main.timezone: unknown time zone 'Europe/Berln' "
        "(did you mean 'Europe/Berlin'?) (use an IANA name)",
        "fresh.yml:6:14: warehouses.main.timeout: duration 30 needs a unit (e.g. 30s, 30m)",
        "fresh.yml:7:22: warehouses.main.max_connections: Input should be a valid integer, "
        "unable to parse string as an integer",
        "fresh.yml:9:8: state.url: not a URL (expected scheme://…, e.g. "
        "duckdb:///warehouse.duckdb)",
        "fresh.yml:11:22: alerts.notify_on[1]: unknown status 'eror' (did you mean 'error'?) "
        "(notify_on takes warn, stale and error)",
        "fresh.yml:13:15: alerts.routes[0].match.severty: unknown match key 'severty' "
        "(did you mean 'severity'?)",
        "fresh.yml:14:25: alerts.routes[1].match.severity: unknown severity 'urgent' "
        "(info, warning or critical)",
        "fresh.yml:16:9: server.auth: missing required key 'password'",
        "fresh.yml:17:25: metric_labels[1]: 'owner' is a label fresh sets itself; pick another key",
    ]


def test_route_match_accepts_metadata_keys(tmp_path: Path):
    s = load(tmp_path, "alerts:\n  routes:\n    - match: {metadata.domain: sales}\n").settings
    assert s.alerts.routes[0].match == {"metadata.domain": "sales"}


def test_a_duplicate_key_is_an_error(tmp_path: Path):
    found = problems(tmp_path, "server:\n  listen: a:1\n  listen: b:2\n")
    assert found == ["fresh.yml:3:3: duplicate key 'listen' (first at line 2)"]


def test_fresh_yml_must_be_a_mapping(tmp_path: Path):
    found = problems(tmp_path, "- a\n- b\n")
    assert found[0].startswith("fresh.yml:1:1: fresh.yml must be a mapping")


def test_an_undeclared_owner_is_a_warning_with_did_you_mean(tmp_path: Path):
    project = load(
        tmp_path,
        "owners:\n  ops-data-team: {notify: ['json://localhost/x']}\n",
        {"a.yml": CHECK.replace("owner: ops", "owner: ops-data-tem")},
    )
    assert [str(w) for w in project.warnings] == [
        "checks/a.yml:2:5: warning: owner 'ops-data-tem' of 'orders' is not declared under "
        "owners: in fresh.yml (did you mean 'ops-data-team'?); its alerts go to no one "
        "(no fallback)"
    ]


def test_owners_are_not_checked_when_fresh_yml_declares_none(tmp_path: Path):
    project = load(tmp_path, "alerts: {fallback: ['json://localhost/x']}\n", {"a.yml": CHECK})
    assert project.warnings == ()


def test_warnings_are_reported_with_the_errors(tmp_path: Path):
    found = problems(
        tmp_path,
        "owners:\n  ops-data-team: {}\n",
        {
            "a.yml": CHECK.replace("owner: ops", "owner: ops-data-tem"),
            "b.yml": one_contract("name: x\nowner: ops-data-team\nheartbeat: {}\n"),
        },
    )
    assert any("warning: owner 'ops-data-tem'" in p for p in found)
    assert any("an expectation is required" in p for p in found)


def test_server_notify_and_state_values_are_checked_without_echoing_urls(tmp_path: Path):
    found = problems(
        tmp_path,
        """
        state:
          url: mysql://u:pw@db/state
        owners:
          ops:
            notify: ["slack:TokenA/TokenB"]
        alerts:
          fallback: ["mailto://ok@example.com", "nope"]
        server:
          listen: localhost
          public_url: fresh.example.com
        """,
    )
    assert found == [
        "fresh.yml:3:8: state.url: the state store is sqlite:///PATH or postgresql+psycopg://…",
        "fresh.yml:6:14: owners.ops.notify[0]: not an apprise URL (expected scheme://…, "
        "e.g. mailto://… or slack://…)",
        "fresh.yml:8:41: alerts.fallback[1]: not an apprise URL (expected scheme://…, "
        "e.g. mailto://… or slack://…)",
        "fresh.yml:10:11: server.listen: 'localhost' is not HOST:PORT (e.g. 127.0.0.1:9184)",
        "fresh.yml:11:15: server.public_url: expected an http:// or https:// URL",
    ]
    assert not any("pw" in p or "TokenA" in p for p in found)


def test_a_route_for_an_undeclared_owner_is_a_warning(tmp_path: Path):
    project = load(
        tmp_path,
        """
        owners:
          finance: {}
        alerts:
          routes:
            - match: {owner: finace}
              notify: ["json://localhost/x"]
            - match: {owner: "fin*"}
              notify: ["json://localhost/x"]
        """,
    )
    assert [str(w) for w in project.warnings] == [
        "fresh.yml:6:22: warning: alerts.routes[0].match.owner: owner 'finace' is not "
        "declared under owners: (did you mean 'finance'?)"
    ]


def test_a_broken_fresh_yml_does_not_make_every_warehouse_unknown(tmp_path: Path):
    found = problems(
        tmp_path,
        "warehouses: [oops\n",
        {"a.yml": CHECK.replace("owner: ops", "owner: ops\n    warehouse: main")},
    )
    assert len(found) == 1 and found[0].startswith("fresh.yml:2:1: invalid YAML")
