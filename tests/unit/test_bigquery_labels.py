"""The BigQuery job label fresh sends (SPEC 14): `fresh` = the warehouse's query_tag, as
BigQuery allows a label value. The request itself: tests/integration/test_bigquery_labels.py."""

from __future__ import annotations

import pytest

from monitor.sources.sql.tagging import bigquery_labels


@pytest.mark.parametrize(
    ("tag", "labels"),
    [
        ("fresh", {"fresh": "fresh"}),
        ("Fresh Prod@EU", {"fresh": "fresh_prod_eu"}),
        ("team.a:b-c_d", {"fresh": "team_a_b-c_d"}),
        ("x" * 64, {"fresh": "x" * 63}),  # a label value holds at most 63 characters
        ("", {}),  # no tag, no label
    ],
)
def test_the_label_is_the_tag_as_bigquery_allows_it(tag: str, labels: dict[str, str]) -> None:
    assert bigquery_labels(tag) == labels
