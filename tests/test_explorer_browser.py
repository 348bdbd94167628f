"""``report.html`` in a real browser: headless Chromium (Debian's ``chromium`` package)
driven by Playwright. Clicking a cell shows that elite; no console errors; nothing
but the page's own file:// URL is requested."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)

KOZA1 = Path(__file__).resolve().parents[1] / "experiments" / "koza1.toml"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def test_clicking_a_cell_shows_its_elite_and_ancestors(qd, tmp_path):
    status, message = qd(
        "run", str(KOZA1), "--runs-dir", "runs", "--name", "sr", "--set", "search.iterations=3"
    )
    assert status == 0, message
    run = tmp_path / "runs" / "sr"
    status, message = qd("report", str(run), "--figures", "2")
    assert status == 0, message
    page_path = run / "report.html"
    text = page_path.read_text()
    data = json.loads(
        re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)[1]
    )
    best = max(range(len(data["elites"])), key=lambda i: data["elites"][i]["obj"])
    elite = data["elites"][best]

    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri())
            page.click(f'#map [data-i="{best}"]')
            panel = page.inner_text("#panel")
            lineage_items = page.locator("#panel ol.lineage li").count()
        finally:
            browser.close()

    assert f"elite {elite['id']}" in panel
    assert elite["info"]["formula"] in panel  # Koza-1's formula, as the domain wrote it
    assert "initial" in panel and lineage_items >= 1  # its ancestry down to a seed
    assert errors == []
    assert requests == [page_path.as_uri()]
