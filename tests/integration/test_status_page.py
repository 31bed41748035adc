"""The status page in a real headless Chromium (Debian's, driven by playwright) against a
real `fresh serve` on the demo project: order, filters, a contract turning stale after a
refresh, no horizontal scroll on a 375 px phone. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.cli.demo_project import build_demo
from tests.integration.serving import Served, serving, wait_for

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("FRESH_TEST_ARTIFACTS", ROOT / "test-artifacts"))
CHROMIUM = "/usr/bin/chromium"
RANK = {"error": 0, "stale": 0, "warn": 1, "fresh": 2}

SOON = """\
contracts:
  - name: zz.soon_stale
    owner: ops-data-team
    warehouse: main
    table: soon
    column: t
    error_after: {seconds}s
    check_every: 1h
"""

EVIL = """\
contracts:
  - name: zz.evil_runbook
    owner: ops-data-team
    warehouse: main
    table: soon
    column: t
    error_after: 1d
    metadata: {runbook: "javascript:alert(document.cookie)"}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"SKIPPED LOUDLY: {CHROMIUM} not found (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-gpu",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, datetime]]:
    import duckdb

    directory = tmp_path_factory.mktemp("demo")
    now = datetime.now(UTC)
    build_demo(directory, now)
    # one more table that turns stale a few seconds after the service starts
    written = now.replace(microsecond=0)
    with duckdb.connect(str(directory / "warehouse.duckdb")) as con:
        con.execute("create table soon (t timestamp)")
        con.execute("insert into soon values (?)", [written.replace(tzinfo=None)])
    stale_at = written + timedelta(seconds=12)
    seconds = int((stale_at - written).total_seconds())
    (directory / "checks" / "soon.yml").write_text(SOON.format(seconds=seconds))
    (directory / "checks" / "evil.yml").write_text(EVIL)
    with serving(directory) as served:
        wait_for(
            lambda: len(served.get_json("/api/v1/contracts")[1]["results"]) >= 12,
            timeout=60,
            step=0.2,
        )
        yield served, stale_at


def rows(page: Any) -> list[tuple[str, str]]:
    return [
        (r.get_attribute("data-contract"), r.get_attribute("class").split("status-")[1])
        for r in page.query_selector_all("tr.row")
    ]


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_rows_come_worst_first(browser: Any, demo: tuple[Served, datetime]) -> None:
    served, _ = demo
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served.url + "/")
    got = rows(page)
    assert len(got) >= 11
    ranks = [RANK[s] for _, s in got]
    assert ranks == sorted(ranks), got
    assert {"fresh", "warn", "stale"} <= {s for _, s in got}
    shot(page, "status-page-desktop.png")
    page.close()


def test_filters_by_owner_status_and_tag_work(browser: Any, demo: tuple[Served, datetime]) -> None:
    served, _ = demo
    page = browser.new_page()
    page.goto(served.url + "/?owner=finance-analytics")
    assert rows(page) and {n for n, _ in rows(page)} <= {"finance.invoices", "jobs.nightly_rollup"}
    page.goto(served.url + "/?status=stale&status=error")
    assert rows(page) and {s for _, s in rows(page)} <= {"stale", "error"}
    # the form itself, as a user would use it
    page.goto(served.url + "/")
    page.select_option("select[name=status]", "warn")
    page.click("button[type=submit]")
    assert "status=warn" in page.url
    assert {s for _, s in rows(page)} == {"warn"}
    page.close()


def test_a_contract_going_stale_shows_after_a_refresh(
    browser: Any, demo: tuple[Served, datetime]
) -> None:
    served, stale_at = demo
    page = browser.new_page()
    page.goto(served.url + "/")
    status = dict(rows(page))["zz.soon_stale"]
    if datetime.now(UTC) < stale_at - timedelta(seconds=1):
        assert status == "fresh"

    def stale_after_reload() -> bool:
        page.reload()
        return dict(rows(page))["zz.soon_stale"] == "stale"

    wait_for(stale_after_reload, timeout=40, step=0.5)
    # and it moved up among the stale rows
    names = [n for n, _ in rows(page)]
    assert names.index("zz.soon_stale") < names.index("shop.orders")
    page.close()


def test_on_a_375px_phone_nothing_scrolls_sideways(
    browser: Any, demo: tuple[Served, datetime]
) -> None:
    served, _ = demo
    page = browser.new_page(viewport={"width": 375, "height": 812})
    page.goto(served.url + "/")
    assert page.evaluate("window.innerWidth") == 375
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "status-page-phone.png")
    page.goto(served.url + "/contracts/shop.orders")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert "max(" in page.inner_text("#explain")
    shot(page, "contract-page-phone.png")
    page.close()


def test_the_page_works_without_javascript(browser: Any, demo: tuple[Served, datetime]) -> None:
    served, _ = demo
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.goto(served.url + "/?status=stale")
    assert rows(page) and {s for _, s in rows(page)} == {"stale"}
    page.click("a[href^='/contracts/']")
    assert "/contracts/" in page.url and page.query_selector("#history") is not None
    ctx.close()


def test_it_loads_no_external_asset(browser: Any, demo: tuple[Served, datetime]) -> None:
    served, _ = demo
    page = browser.new_page()
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.goto(served.url + "/")
    assert seen and all(u.startswith(served.url) for u in seen), seen
    page.close()


def test_pages_obey_their_content_security_policy_and_link_only_http(
    browser: Any, demo: tuple[Served, datetime]
) -> None:
    served, _ = demo
    page = browser.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    for path in ("/", "/contracts/shop.orders", "/contracts/zz.evil_runbook"):
        response = page.goto(served.url + path)
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        # the stylesheet, allowed by its hash, applies: pills are coloured
        colour = page.evaluate("getComputedStyle(document.querySelector('.pill')).backgroundColor")
        assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), (path, colour)
    assert violations == [], violations
    # the javascript: runbook is shown as text, never as a link
    assert page.query_selector("a[href^='javascript' i]") is None
    assert "javascript:alert(document.cookie)" in page.inner_text("dl")
    # a script that found its way into the page would not run
    ran = page.evaluate(
        """() => { window.ran = false; const s = document.createElement('script');
        s.textContent = 'window.ran = true'; document.body.appendChild(s); return window.ran; }"""
    )
    assert ran is False
    page.goto(served.url + "/contracts/shop.orders")
    assert page.query_selector("a[href^='https://wiki.example.com/']") is not None
    page.close()
