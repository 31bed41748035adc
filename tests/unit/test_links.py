"""Which user-written URLs may become links: one function, used by every renderer."""

from __future__ import annotations

import pytest

from monitor.core.links import is_safe_link, safe_link


@pytest.mark.parametrize(
    "url",
    [
        "https://wiki.example.com/runbooks/orders",
        "http://127.0.0.1:3000/d/fresh?var-contract=a.b&orgId=1#panel-2",
        "HTTPS://Wiki.Example.com/a_(b)",
        "https://[::1]:8443/x",
    ],
)
def test_http_and_https_urls_with_a_host_are_links(url: str) -> None:
    assert safe_link(url) == url and is_safe_link(url)


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example.com/x",
        "/contracts/x",
        "https://",
        "https:///path-only",
        'https://x.example.com/"onmouseover="alert(1)',
        "https://x.example.com/<script>",
        "https://x.example.com/a b",
        "https://x.example.com/\nSet-Cookie: a=b",
        "https://[::1/x",
        "ftp://files.example.com/x",
        "https://x.example.com/" + "a" * 3000,
        None,
        42,
        ["https://x.example.com"],
    ],
)
def test_anything_else_is_not_a_link(value: object) -> None:
    assert safe_link(value) is None and not is_safe_link(value)
