"""The status page renderer: pure, so typed values (contracts, verdicts, history with
datetimes) and a fixed `now`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.core.models import Status, Verdict
from monitor.report.results import Result
from monitor.serve.http.statuspage import (
    Filters,
    PageOptions,
    render_contract,
    render_index,
    sort_worst_first,
    spark_svg,
)
from monitor.store import HistoryEntry
from tests.unit.report_fixtures import contract

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
_UNSET: Any = object()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def row(
    name: str,
    status: str,
    *,
    owner: str = "ops",
    tags: list[str] | None = None,
    metadata: dict[str, object] | None = None,
    last_update: datetime | None = _UNSET,
    deadline: datetime | None = _UNSET,
    error: str | None = None,
) -> Result:
    """One contract (warn 20m, stale 1h) and its verdict at NOW; data an hour old."""
    last = at("2026-11-24T09:00:00+00:00") if last_update is _UNSET else last_update
    due = at("2026-11-24T10:00:00+00:00") if deadline is _UNSET else deadline
    c = contract(name, owner=owner, tags=tuple(tags or ()), metadata=metadata)
    v = Verdict(
        contract=name,
        status=Status(status),
        checked_at=NOW,
        last_update=last,
        warn_at=None,
        error_at=due,
        description="",
        error=error,
        duration_seconds=0.01,
    )
    return Result(c, v)


def order(html: str) -> list[str]:
    return re.findall(r'data-contract="([^"]+)"', html)


def test_it_lists_contracts_worst_first() -> None:
    rows = [row("a", "fresh"), row("b", "warn"), row("c", "stale"), row("d", "error")]
    assert order(render_index(rows, {}, Filters(), NOW)) == ["d", "c", "b", "a"]


def test_within_a_status_the_most_overdue_comes_first() -> None:
    rows = [
        row("late", "stale", deadline=at("2026-11-24T09:00:00+00:00")),
        row("later", "stale", deadline=at("2026-11-24T07:00:00+00:00")),
    ]
    assert [r.contract.name for r in sort_worst_first(rows)] == ["later", "late"]


def test_filters_by_owner_tag_and_status_combine() -> None:
    rows = [
        row("a", "stale", owner="x", tags=["t"]),
        row("b", "stale", owner="y", tags=["t"]),
        row("c", "fresh", owner="x", tags=["u"]),
    ]
    assert order(render_index(rows, {}, Filters(owners=("x",)), NOW)) == ["a", "c"]
    assert order(render_index(rows, {}, Filters(tags=("t",)), NOW)) == ["a", "b"]
    assert order(render_index(rows, {}, Filters(owners=("x",), statuses=("fresh",)), NOW)) == ["c"]
    assert "No contract matches" in render_index(rows, {}, Filters(owners=("z",)), NOW)


def test_it_shows_age_at_render_time_and_the_limits() -> None:
    stale = row("a", "stale", last_update=at("2026-11-24T06:48:00+00:00"))
    html = render_index([stale], {}, Filters(), NOW)
    assert "3h 12m" in html and "warn 20m · stale 1h" in html


def test_no_data_reads_as_such() -> None:
    html = render_index([row("a", "stale", last_update=None, deadline=None)], {}, Filters(), NOW)
    assert "no data" in html and "never" in html


def test_names_and_errors_are_escaped() -> None:
    html = render_index(
        [row("<script>x</script>", "error", error="<b>bad</b>")], {}, Filters(), NOW
    )
    assert "<script>x" not in html and "&lt;script&gt;" in html and "<b>bad" not in html


def test_the_page_has_no_script_and_no_external_asset_and_refreshes() -> None:
    html = render_index(
        [row("a", "fresh")],
        {"a": ["fresh", "stale"]},
        Filters(),
        NOW,
        PageOptions(refresh_seconds=15),
    )
    assert "<script" not in html
    assert not re.search(r'(src|href)="https?://', html)
    assert '<meta http-equiv="refresh" content="15">' in html


def test_the_spark_has_one_bar_per_check() -> None:
    svg = spark_svg(["fresh", "warn", "stale"])
    assert svg.count("<rect") == 3 and "#cf222e" in svg


def test_the_contract_page_shows_runbook_first_history_sql_and_alerts() -> None:
    r = row("orders", "stale", metadata={"pii": False, "runbook": "https://wiki/x"})
    html = render_contract(
        r.contract,
        r,
        [HistoryEntry("orders", NOW, Status.STALE, None, None, None)],
        'SELECT max("ts") FROM "orders"',
        [
            {
                "at": NOW + timedelta(seconds=5),
                "kind": "fired",
                "from_status": "fresh",
                "to_status": "stale",
                "silenced": False,
            }
        ],
        NOW,
    )
    assert html.index("Runbook") < html.index("pii")
    assert "SELECT max(&#34;ts&#34;)" in html  # escaped by the template
    assert "fired: fresh → stale" in html


def test_a_javascript_runbook_is_shown_as_text_never_as_a_link() -> None:
    evil = "javascript:alert(document.cookie)"
    r = row("orders", "stale", metadata={"runbook": evil, "docs": "https://wiki/x"})
    html = render_contract(
        r.contract, r, [], "SELECT 1", [], NOW, PageOptions(dashboard_url="javascript:alert(2)")
    )
    assert "javascript:" in html  # shown, as text
    assert not re.search(r"href=\"\s*javascript", html, re.I)
    assert "alert(2)" not in html  # a bad dashboard link is left out
    good = row("orders", "stale", metadata={"runbook": "https://wiki.example.com/rb"})
    ok = render_contract(good.contract, good, [], "SELECT 1", [], NOW)
    assert 'href="https://wiki.example.com/rb"' in ok


def test_pages_use_no_inline_style_attribute_so_the_csp_can_forbid_them() -> None:
    import base64
    import hashlib

    from monitor.serve.http.statuspage import CONTENT_SECURITY_POLICY

    pages = [
        render_index([row("a", "stale"), row("b", "fresh")], {"a": ["fresh"]}, Filters(), NOW),
        render_contract(row("a", "warn").contract, row("a", "warn"), [], "SELECT 1", [], NOW),
    ]
    for html in pages:
        assert " style=" not in html and "<script" not in html
        styles = re.findall(r"<style>(.*?)</style>", html, re.S)
        assert len(styles) == 1
        digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
        assert f"'sha256-{digest}'" in CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_a_contract_never_checked_reads_unknown_with_no_data() -> None:
    c = row("orders", "fresh").contract
    html = render_contract(c, None, [], "SELECT 1", [], NOW)
    assert "status-unknown" in html and "<dd>no data</dd>" in html
    assert "<dt>Deadline</dt><dd>never</dd>" in html


def test_times_are_shown_in_utc_to_the_minute_whatever_their_zone() -> None:
    berlin = datetime(2026, 11, 24, 11, 30, 59, 999999, tzinfo=UTC).astimezone(
        ZoneInfo("Europe/Berlin")
    )
    html = render_index([row("a", "stale", deadline=berlin)], {}, Filters(), NOW)
    assert "2026-11-24 11:30 UTC" in html
