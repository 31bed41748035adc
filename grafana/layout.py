"""Draw a dashboard's panel layout (from its gridPos) as a PNG, for the README.

Grafana cannot run on our machines, so this shows where each panel sits and which PromQL
it runs, rendered by headless Chromium:
    .venv/bin/python grafana/layout.py grafana/dashboards/fresh-overview.json \
        docs/overview-layout.png
"""

from __future__ import annotations

import json
import sys
import tempfile
from html import escape
from pathlib import Path

CELL_W, CELL_H = 50, 30  # px per grid column / row


def layout_html(dashboard: dict[str, object]) -> str:
    """Absolutely positioned boxes, one per panel, titled, with their first query."""
    panels = dashboard["panels"]
    assert isinstance(panels, list)
    boxes, bottom = [], 0
    for p in panels:
        g = p["gridPos"]
        bottom = max(bottom, g["y"] + g["h"])
        expr = p["targets"][0]["expr"] if p.get("targets") else ""
        boxes.append(
            f'<div class="p" style="left:{g["x"] * CELL_W}px;top:{g["y"] * CELL_H}px;'
            f'width:{g["w"] * CELL_W - 8}px;height:{g["h"] * CELL_H - 8}px">'
            f"<b>{escape(p['title'])}</b> <i>{escape(p['type'])}</i>"
            f"<code>{escape(expr)}</code></div>"
        )
    variables = ", ".join(
        f"${v['name']}" for v in dashboard["templating"]["list"]  # type: ignore[index]
    )
    return (
        "<!doctype html><meta charset=utf-8><style>body{margin:0;background:#111217;"
        "font:13px system-ui;color:#ccccdc}h1{font-size:16px;margin:8px}"
        ".g{position:relative;margin:8px;height:" + str(bottom * CELL_H) + "px}"
        ".p{position:absolute;background:#181b1f;border:1px solid #2c3235;border-radius:3px;"
        "padding:6px;overflow:hidden}.p i{color:#8e8e8e;font-size:11px}"
        ".p code{display:block;margin-top:6px;color:#6e9fff;font-size:11px;"
        "white-space:pre-wrap}</style>"
        f"<h1>{escape(str(dashboard['title']))} — variables: {escape(variables)}</h1>"
        f'<div class="g">{"".join(boxes)}</div>'
    )


def main(src: str, dest: str) -> None:
    """Render `src` (a dashboard JSON) to the PNG `dest`."""
    from playwright.sync_api import sync_playwright

    html = layout_html(json.loads(Path(src).read_text()))
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        page_path = Path(tmp) / "layout.html"
        page_path.write_text(html)
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 24 * CELL_W + 16, "height": 600})
        page.goto(page_path.as_uri())
        page.screenshot(path=dest, full_page=True)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
