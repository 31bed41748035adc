"""settings_lean gives the `Settings` pydantic's reference models give, or says it is not
sure: on generated fresh.yml files (plain, odd and wrong values alike), whatever it accepts
equals what `settings_schema.validate_settings` builds, and the plain files it must accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from monitor.cli.commands.init import FRESH_YML as INIT_YML
from monitor.cli.demo_project import FRESH_YML as DEMO_YML
from monitor.config import yamlpos
from monitor.config.settings import Settings
from monitor.config.settings_lean import lean_settings
from monitor.config.settings_schema import validate_settings

BASE = Path("/project")
CONFIG = BASE / "fresh.yml"


def both(text: str) -> tuple[Settings | None, Settings | None]:
    """(lean's answer, the reference's answer or None when it refuses) for one fresh.yml."""
    data, problems = yamlpos.load(text, {})
    assert not problems and isinstance(data, dict)
    lean = lean_settings(dict(data), BASE, CONFIG)
    try:
        ref = validate_settings({**data, "base_dir": BASE, "config_path": CONFIG})
    except ValidationError:
        ref = None
    return lean, ref


def one_of(*plain: Any, odd: tuple[Any, ...] = ()) -> st.SearchStrategy[Any]:
    return st.sampled_from([*plain, *odd])


DURATION = ("30s", "1m", "4h", "1h30m", "2d")
ODD_DURATION = ("5", 5, 1.5, "0s", "-1s", True, None, "soon", "")


def pools(odd: bool) -> dict[str, Any]:
    """Strategies per key: plain values only, or plain, odd and wrong ones mixed."""

    def v(*plain: Any, bad: tuple[Any, ...] = ()) -> st.SearchStrategy[Any]:
        return one_of(*plain, odd=bad if odd else ())

    def section(keys: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
        strategy = st.fixed_dictionaries({}, optional=keys)
        if odd:
            strategy = strategy | st.fixed_dictionaries({"nope": st.just(1)}, optional=keys)
            strategy = strategy | st.sampled_from([None, "text", [1]])
        return strategy

    duration = v(*DURATION, bad=ODD_DURATION)
    notify = v(
        ["json://rx/h"],
        ["mailto://a:pw@smtp.example?to=o@x.io", "slack://T/B/C"],
        [],
        bad=(["nourl"], "json://x", [5], None, ["json://x", None]),
    )
    match = v(
        {"severity": "critical"},
        {"owner": "ops", "tag": "revenue"},
        {},
        {"metadata.pii": False},
        {"metadata.tier": 1},
        {"contract": "raw_*"},
        bad=({"severity": "nope"}, {"ownr": "x"}, {"tag": None}, {"tag": [1]}, "x"),
    )
    warehouse = section(
        {
            "url": v("duckdb:///w.duckdb", "postgresql://u:p@h/db", bad=("nourl", 5, None, "")),
            "timezone": v("UTC", "Europe/Berlin", bad=("Mars/X", 3, "utc", None)),
            "timeout": duration,
            "max_connections": v(1, 4, 64, bad=(0, 65, "8", 8.0, True, None, -1)),
            "query_tag": v(
                "fresh", "a b:c@d.e-f_g", "x" * 64, "", bad=("x" * 65, "bad!", "ok\n", 5, None)
            ),
        }
    )
    window = section(
        {
            "match": match,
            "schedule": v("0 2 * * *", bad=("0 2 * *", 5, None)),
            "duration": v("1h", bad=("0s", 5, None)),
            "timezone": v("UTC", "Europe/Berlin", bad=("Europe/Berln",)),
            "start": v("2026-12-04T00:00:00Z", "2026-12-04 01:00", bad=("tomorrow", 2026, None)),
            "end": v("2026-12-05T00:00:00Z", bad=("2026-12-03T00:00:00Z", None)),
            "reason": v("upgrade", bad=(5, None)),
        }
    )
    route = section(
        {
            "match": match,
            "notify": notify,
            "continue": v(True, False, bad=("yes", 1, None, "true")),
            **({"continue_": st.just(True)} if odd else {}),
        }
    )
    return {
        "warehouses": v({}, bad=(None, []))
        | st.dictionaries(v("main", "pg", bad=("",)), warehouse, max_size=2),
        "catalogs": v(
            {},
            {"lake": {"type": "sql", "uri": "sqlite:///c.db", "timeout": "10s"}},
            {"lake": {"uri": "x", "n": 8, "flag": True, "nested": {"a": [1]}}},
            bad=({"lake": {"type": 5}}, {"lake": None}, {"lake": {"timeout": 5}}),
        ),
        "state": section(
            {
                "url": v(
                    "sqlite:///s.db", "postgresql+psycopg://u:p@h/x", bad=("mysql://x", "bad", None)
                ),
                "retention": duration,
                "lease_ttl": duration,
            }
        ),
        "owners": st.dictionaries(
            v("ops", "finance", bad=("bad\x07name", "")),
            section({"notify": notify, "repeat_every": v(None, "1h", bad=(5, "x"))}),
            max_size=2,
        )
        | v({}, bad=(None, ["ops"])),
        "alerts": section(
            {
                "notify_on": v(["stale"], ["warn", "error"], [], bad=(["nope"], "stale", None)),
                "repeat_every": duration,
                "send_resolved": v(True, False, bad=("yes", 1, None, "false")),
                "group_wait": duration,
                "fallback": notify,
                "routes": st.lists(route, max_size=2) | v([], bad=(None, "x")),
                "maintenance": st.lists(window, max_size=2) | v([], bad=(None,)),
            }
        ),
        "server": section(
            {
                "listen": v("127.0.0.1:9184", "0.0.0.0:80", bad=(":80", "host:99999", 5, "h")),
                "public_url": v(None, "https://fresh.example", bad=("ftp://x", 5, "x")),
                "dashboard_url": v(None, "http://grafana/d/x", bad=("javascript:x",)),
                "ping_token": v(None, "tok", bad=(5,)),
                "auth": v(
                    None,
                    {"username": "u", "password": "p"},
                    bad=({"username": "u"}, "x", {"username": "u", "password": 5}),
                ),
                "replica": v(None, "r1", bad=(5,)),
            }
        ),
        "metric_labels": v(
            [],
            ["team"],
            ["team", "tier"],
            bad=(["__x"], ["owner"], ["a", "a"], "team", [5], ["1x"]),
        ),
        "imports": v(
            [],
            [{"dbt": "target/manifest.json"}],
            [
                {
                    "datacontract": "c/*.yaml",
                    "servers": {"prod": "main"},
                    "owner": "ops",
                    "warehouse": "main",
                }
            ],
            bad=(
                [{"dbt": "x", "datacontract": "y"}],
                [{"dbt": "x", "servers": {"a": "b"}}],
                [{}],
                [{"dbt": 5}],
                None,
            ),
        ),
    }


def files(odd: bool) -> st.SearchStrategy[str]:
    keys = pools(odd)
    top = st.fixed_dictionaries({}, optional=keys)
    if odd:
        top = top | st.fixed_dictionaries({"nope": st.just(1)}, optional=keys)
    return top.map(lambda d: yaml.safe_dump(d, sort_keys=False, allow_unicode=True))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files(odd=True))
def test_whatever_lean_accepts_is_exactly_what_pydantic_builds(text: str) -> None:
    lean, ref = both(text)
    if lean is not None:
        assert ref is not None, text
        assert lean == ref, text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files(odd=False))
def test_plain_files_are_validated_lean(text: str) -> None:
    lean, ref = both(text)
    if ref is not None:  # a plain file can still break a rule (two windows' kinds, say)
        assert lean == ref, text


@pytest.mark.parametrize(
    "text",
    [
        INIT_YML,
        DEMO_YML.format(fallback="[]", listen="127.0.0.1:9184"),
        "warehouses:\n  main:\n    url: duckdb:///warehouse.duckdb\nowners:\n  bench:\n"
        "    notify: []\n",
        "",
    ],
    ids=["fresh init", "fresh demo", "bench", "empty"],
)
def test_the_files_fresh_writes_are_validated_lean(text: str) -> None:
    lean, ref = both(text or "{}")
    assert lean is not None and lean == ref
