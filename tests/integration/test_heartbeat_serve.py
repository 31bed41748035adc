"""Heartbeats end to end: `fresh ping` / `fresh run` against a real `fresh serve` process,
over HTTP and straight into its SQLite store while it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.store import Store
from tests.integration.cli_project import clean_env, fresh
from tests.integration.serving import serving, wait_for, write_project

FRESH_YML = """\
state:
  url: sqlite:///.fresh/state.db
server:
  ping_token: tok
owners:
  ops:
    notify: []
"""

JOBS_YML = """\
defaults:
  owner: ops
contracts:
  - name: nightly_export
    heartbeat: {}
    error_after: 1h
  - name: hourly_load
    heartbeat: {}
    error_after: 1h
"""


def test_pings_reach_a_running_serve_over_http_and_straight_into_its_store(
    tmp_path: Path,
) -> None:
    write_project(tmp_path, FRESH_YML, {"jobs.yml": JOBS_YML})
    with serving(tmp_path, env=clean_env()) as served:
        env = clean_env(FRESH_URL=served.url, FRESH_PING_TOKEN="tok")

        res = fresh("ping", "nightly_export", cwd=tmp_path, env=env)
        assert res.returncode == 0, res.stderr
        res = fresh(
            "run", "hourly_load", "--", "sh", "-c", "echo hi; exit 3", cwd=tmp_path, env=env
        )
        assert (res.returncode, res.stdout) == (3, "hi\n"), res.stderr

        res = fresh("ping", "nightly_exprot", cwd=tmp_path, env=env)
        assert res.returncode == 2 and "nightly_exprot" in res.stderr, res.stderr
        res = fresh("ping", "nightly_export", cwd=tmp_path, env={**env, "FRESH_PING_TOKEN": "no"})
        assert res.returncode == 1 and "refused the ping (401)" in res.stderr

        # Without --url, beside the running serve: a short write to its WAL-mode SQLite file.
        res = fresh("ping", "hourly_load", "--start", cwd=tmp_path, env=clean_env())
        assert res.returncode == 0, res.stderr

        # A second serve on the same SQLite file is refused, naming the file.
        res = fresh("serve", "--listen", "127.0.0.1:0", cwd=tmp_path, env=clean_env())
        assert res.returncode == 2
        assert str(tmp_path / ".fresh" / "state.db") in res.stderr

        def contract(name: str) -> Any:
            status, body = served.get_json(f"/api/v1/contracts/{name}")
            return body if status == 200 else None

        assert wait_for(lambda: (contract("nightly_export") or {}).get("status") == "fresh")
        with Store.open("sqlite:///.fresh/state.db", tmp_path) as store:
            kinds = [(p.kind, p.exit_code, p.output) for p in reversed(store.pings("hourly_load"))]
        assert kinds == [("start", None, None), ("fail", 3, "hi\n"), ("start", None, None)]
