"""`fresh init [DIR]`: write a commented fresh.yml and checks/example.yml to start from."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.core.errors import ExitCode, UsageError

FRESH_YML = """\
# fresh.yml — warehouses, owners, alert routing and server settings.
# Every section is optional; `fresh validate` checks this file and checks/ without
# connecting anywhere. ${VAR} and ${VAR:-default} are read from the environment.

warehouses:
  main:
    url: duckdb:///warehouse.duckdb       # any SQLAlchemy URL; relative to this folder
    # timezone: UTC                       # how naive timestamps are read
    # timeout: 30s                        # per query
  # analytics:
  #   url: postgresql+psycopg://reader:${PG_PASSWORD}@db:5432/analytics

state:
  url: sqlite:///.fresh/state.db          # history, alert state, outbox, silences, pings
  retention: 30d

owners:                                   # the routing key of every alert
  data-team:
    notify: []                            # apprise URLs, e.g.
    # - slack://TokenA/TokenB/TokenC/#data
    # - mailto://alerts:${SMTP_PASSWORD}@smtp.example.com?to=data@example.com

alerts:
  notify_on: [stale, error]               # add warn to be told earlier
  repeat_every: 4h
  send_resolved: true
  group_wait: 30s
  fallback: []                            # for owners with no notify list
  # routes:
  #   - match: {severity: critical}       # contract, owner, tag, severity, metadata.KEY
  #     notify: ["pagerduty://..."]
  #     continue: true

server:
  listen: 127.0.0.1:9184
  ping_token: ${FRESH_PING_TOKEN:-}       # required by the ping endpoints when set

# metric_labels: [domain]                 # metadata keys promoted to metric labels
"""

EXAMPLE_YML = """\
# checks/example.yml — freshness contracts. Any number of files, sub-folders allowed.

defaults:                        # merged into every contract of this file
  warehouse: main
  owner: data-team

contracts:
  - name: example.orders
    description: Orders landed by the hourly loader.
    severity: warning            # info | warning | critical
    tags: [example]
    metadata: {runbook: "https://wiki.example.com/orders"}
    table: main.orders           # the source: one of table / query / files / run_log / heartbeat
    column: loaded_at            # its newest value is the last update
    # where: "source = 'web'"    # optional filter: one boolean SQL expression
    warn_after: 1h
    error_after: 3h
    check_every: 5m
    # schedule: "0 6 * * 1-5"    # cron: data is due after each tick
    # timezone: Europe/Berlin

  - name: example.nightly_export
    description: A job that reports itself with `fresh run example.nightly_export -- CMD`.
    heartbeat: {}
    error_after: 26h
"""


def init_project(directory: Path) -> int:
    """Write DIR/fresh.yml and DIR/checks/example.yml; refuse if either exists."""
    targets = {
        directory / "fresh.yml": FRESH_YML,
        directory / "checks" / "example.yml": EXAMPLE_YML,
    }
    existing = [str(p) for p in targets if p.exists()]
    if existing:  # checked before writing anything, so nothing is half-written
        verb = "exists" if len(existing) == 1 else "exist"
        raise UsageError(f"{' and '.join(existing)} already {verb}; not overwriting")
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {path}")
    typer.echo("next: edit them, then run `fresh validate` and `fresh check`")
    return int(ExitCode.OK)
