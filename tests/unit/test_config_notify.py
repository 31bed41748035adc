"""Notify URLs no sender can use are `validate` errors at their position (SPEC 16), checked
in one place (`notify_url_problem`) and only by the commands that send."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.alerts import sender
from monitor.alerts.sender import notify_url_problem
from monitor.config.loader import load_project
from monitor.core.errors import ConfigError
from tests.unit.configkit import write_project

FRESH = """\
owners:
  ops:
    notify:
      - json://127.0.0.1:9/ok
      - slack://hunter2-not-a-token
  finance:
    notify: ["mailto://user:s3cretpw@mail.example.com?from=fresh@example.com&to=a@example.com"]
alerts:
  fallback: ["nosuchservice://x/y"]
  routes:
    - match: {severity: critical}
      notify: ["json://127.0.0.1:9/pager", "tgram://"]
"""


def test_urls_no_sender_can_read_are_problems_at_each_url(tmp_path: Path):
    write_project(tmp_path, FRESH)
    with pytest.raises(ConfigError) as info:
        load_project(cwd=tmp_path, env={}, notify_check=notify_url_problem)
    found = [str(p) for p in info.value.problems]
    assert found == [
        "fresh.yml:5:9: owners.ops.notify[1]: apprise cannot read this slack:// URL: a part is"
        " missing or malformed (see apprise's page for slack://)",
        "fresh.yml:9:14: alerts.fallback[0]: unknown notify scheme 'nosuchservice' (neither"
        " apprise nor fresh sends to it)",
        "fresh.yml:12:44: alerts.routes[0].notify[1]: apprise cannot read this tgram:// URL: a"
        " part is missing or malformed (see apprise's page for tgram://)",
    ]
    assert all("hunter2" not in f and "s3cretpw" not in f for f in found)


def test_without_the_check_loading_accepts_them_and_never_imports_a_sender(tmp_path: Path):
    write_project(tmp_path, FRESH)
    assert load_project(cwd=tmp_path, env={}).settings.alerts.fallback == ("nosuchservice://x/y",)


def test_urls_from_environment_variables_are_checked_once_expanded(tmp_path: Path):
    write_project(tmp_path, "alerts:\n  fallback: ['${HOOK}']\n")
    env = {"HOOK": "json://127.0.0.1:9/x"}
    load_project(cwd=tmp_path, env=env, notify_check=notify_url_problem)
    with pytest.raises(ConfigError) as info:
        load_project(cwd=tmp_path, env={"HOOK": "slack://"}, notify_check=notify_url_problem)
    assert str(info.value.problems[0]).startswith("fresh.yml:2:14: alerts.fallback[0]: ")


def test_fresh_own_senders_answer_for_their_schemes(monkeypatch: pytest.MonkeyPatch):
    # the extension point for alertmanager:// and slackbot:// (issue 16)
    monkeypatch.setitem(
        sender.OWN_SCHEMES, "alertmanager", lambda url: None if "/api" in url else "no path"
    )
    assert notify_url_problem("alertmanager://am.example:9093/api/v2") is None
    assert notify_url_problem("alertmanager://am.example:9093") == "no path"
    assert notify_url_problem("json://127.0.0.1:9/x") is None
