"""Secrets never leave: masked URLs, secrets listed from settings, text redacted."""

from __future__ import annotations

import pytest

from monitor.config.redact import mask_url, redact, secrets_of
from monitor.config.settings_schema import validate_settings


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql+psycopg://reader:s3cret@db:5432/analytics",
            "postgresql+psycopg://reader:***@db:5432/analytics",
        ),
        ("duckdb:///warehouse.duckdb", "duckdb:///warehouse.duckdb"),
        ("sqlite:///.fresh/state.db", "sqlite:///.fresh/state.db"),
        ("slack://TokenA/TokenB/TokenC/#ops-data", "slack://***/***/***/#ops-data"),
        (
            "mailto://alerts:pw123@smtp.example.com?to=ops@example.com",
            "mailto://alerts:***@smtp.example.com?to=ops@example.com",
        ),
        ("pagerduty://integrationkey@apikey", "pagerduty://***@***"),
        ("json://127.0.0.1:8080/hook", "json://127.0.0.1:8080/hook"),
        (
            "https://hooks.slack.com/services/T0123ABC/B0123ABCD/abcdefghijklmnopqrstuvwx",
            "https://hooks.slack.com/services/***/***/***",
        ),
        ("https://example.com/hook?token=abc&team=x", "https://example.com/hook?token=***&team=x"),
        ("not a url", "not a url"),
    ],
)
def test_urls_are_shown_with_secrets_masked(url: str, masked: str):
    assert mask_url(url) == masked


def test_secrets_of_settings_lists_every_secret():
    s = validate_settings(
        {
            "warehouses": {"pg": {"url": "postgresql://u:pg%40pass@db/x"}},
            "owners": {"ops": {"notify": ["slack://TokA1/TokB2/TokC3/#ops"]}},
            "alerts": {"fallback": ["mailto://a:mailpass@smtp.example.com"]},
            "server": {
                "ping_token": "pingtoken",
                "auth": {"username": "ops", "password": "uipass"},
            },
        }
    )
    found = secrets_of(s)
    assert {
        "pg%40pass",
        "pg@pass",
        "TokA1",
        "TokB2",
        "TokC3",
        "mailpass",
        "pingtoken",
        "uipass",
    } <= found
    assert "ops" not in found and "#ops" not in found


def test_redact_removes_secrets_from_free_text():
    text = "connection to db failed for reader:pg@pass (token pingtoken)"
    assert redact(text, {"pg@pass", "pingtoken", "ab"}) == (
        "connection to db failed for reader:*** (token ***)"
    )
