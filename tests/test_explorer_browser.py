"""``report.html`` in a real browser: headless Chromium (Debian's ``chromium`` package)
driven by Playwright. Clicking a cell shows that elite; the checkpoint slider, the axis
and the colour choices redraw the map; no console errors; nothing but the page's own
file:// URL is requested. ``qd view`` serves the same page live on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)

ROOT = Path(__file__).resolve().parents[1]
KOZA1 = ROOT / "experiments" / "koza1.toml"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@contextmanager
def browser_page(errors: list[str], requests: list[str]) -> Iterator[Any]:
    """A Chromium page that records console errors, page errors and every request."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            yield page
        finally:
            browser.close()


def data_of(path: Path) -> dict:
    text = path.read_text()
    return json.loads(
        re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)[1]
    )


def cells(page: Any, svg: str = "#map-0") -> list[tuple[str, ...]]:
    """Each drawn cell's position and colour."""
    return page.eval_on_selector_all(
        f"{svg} .cell",
        "ns => ns.map(n => [n.getAttribute('x') || n.getAttribute('cx'),"
        " n.getAttribute('y') || n.getAttribute('cy'), n.getAttribute('fill')])",
    )


def test_a_cell_shows_its_elite_and_the_slider_an_older_map(qd, tmp_path):
    status, message = qd(
        "run", str(KOZA1), "--runs-dir", "runs", "--name", "sr",
        "--set", "search.iterations=6", "--set", "search.checkpoint_every=2",
    )  # fmt: skip
    assert status == 0, message
    run = tmp_path / "runs" / "sr"
    status, message = qd("report", str(run), "--figures", "2")
    assert status == 0, message
    page_path = run / "report.html"
    data = data_of(page_path)["runs"][0]
    best = max(range(len(data["elites"])), key=lambda i: data["elites"][i]["obj"])
    elite = data["elites"][best]
    oldest = json.loads(sorted(run.glob("archive-*.json"))[0].read_text())["archive"]

    errors: list[str] = []
    requests: list[str] = []
    with browser_page(errors, requests) as page:
        page.goto(page_path.as_uri())
        newest = cells(page)
        page.click(f'#map-0 [data-i="{best}"]')
        panel = page.inner_text("#panel")
        lineage_items = page.locator("#panel ol.lineage li").count()
        # the formula drawn from its LaTeX (an SVG made by mathtext, no script library)
        math = page.eval_on_selector_all(
            "#panel img.math", "ns => ns.map(n => [n.alt, n.naturalWidth, n.naturalHeight])"
        )

        slider = page.locator("#slider-0")
        box = slider.bounding_box()
        slider.click(position={"x": 2, "y": box["height"] / 2})  # its left end: the oldest
        stop = page.inner_text("#stop-0")
        older = cells(page)
        page.click("#map-0 [data-c]")
        old_panel = page.inner_text("#panel")

    assert f"elite {elite['id']}" in panel
    assert elite["info"]["formula"] in panel  # Koza-1's formula, as the domain wrote it
    assert "initial" in panel and lineage_items >= 1  # its ancestry down to a seed
    label, kind, svg = elite["details"][0]
    assert (label, kind) == ("formula", "svg") and svg.startswith("data:image/svg+xml;base64,")
    assert len(math) == 1 and math[0][0] == "formula" and math[0][1] > 50 and math[0][2] > 5
    assert stop.startswith("checkpoint of iteration 2;")
    assert len(newest) == len(data["elites"]) and len(older) == len(oldest)
    assert older != newest  # the map as it was at iteration 2
    assert old_panel.startswith("elite ")
    assert errors == []
    assert requests == [page_path.as_uri()]


def test_choosing_the_axes_and_the_colour_redraws_the_map(qd, tmp_path):
    """A domain of three measures: the map draws two of them (chosen), each drawn cell
    the best of those sharing it, and colours by the objective or an info field."""
    config = tmp_path / "cube.toml"
    config.write_text(
        'seed = 3\n[domain]\nname = "explorer_domains:Cube"\n'
        "[search]\niterations = 4\nbatch_size = 16\n"
    )
    status, message = qd("run", str(config), "--runs-dir", "runs", "--name", "cube")
    assert status == 0, message
    status, message = qd("report", str(tmp_path / "runs" / "cube"))
    assert status == 0, message
    page_path = tmp_path / "runs" / "cube" / "report.html"
    data = data_of(page_path)["runs"][0]
    assert data["fields"] == ["spread"]
    pairs_xy = {(e["b"][0], e["b"][1]) for e in data["elites"]}
    pairs_xz = {(e["b"][0], e["b"][2]) for e in data["elites"]}

    errors: list[str] = []
    with browser_page(errors, []) as page:
        page.goto(page_path.as_uri())
        first = cells(page)
        page.select_option("#y-0", "2")
        by_z = cells(page)
        svg_text = page.text_content("#map-0")
        page.select_option("#colour-0", "spread")
        by_spread = cells(page)
        stop = page.inner_text("#stop-0")

    assert len(first) == len(pairs_xy) and len(by_z) == len(pairs_xz)
    assert "height z" in svg_text  # the y axis is now the third measure
    assert [c[:2] for c in by_spread] == [c[:2] for c in by_z]  # same cells...
    assert [c[2] for c in by_spread] != [c[2] for c in by_z]  # ...coloured otherwise
    assert "spread from" in stop
    assert errors == []


def test_the_comparison_page_shows_both_runs(qd, tmp_path):
    """``qd report a b --html compare.html``: a map per run, each series overlaid (one
    line per run), a table of final numbers, and nothing written into the runs."""
    for name, seed in (("a", 1), ("b", 2)):
        status, message = qd(
            "run", str(KOZA1), "--runs-dir", "runs", "--name", name,
            "--set", "search.iterations=3", "--set", f"seed={seed}",
        )  # fmt: skip
        assert status == 0, message
    before = sorted(p.name for p in (tmp_path / "runs").rglob("*"))
    status, message = qd("report", "runs/a", "runs/b", "--html", "compare.html")
    assert status == 0, message
    assert sorted(p.name for p in (tmp_path / "runs").rglob("*")) == before
    page_path = tmp_path / "compare.html"
    runs = data_of(page_path)["runs"]
    assert [r["name"] for r in runs] == ["a", "b"]

    errors: list[str] = []
    requests: list[str] = []
    with browser_page(errors, requests) as page:
        page.goto(page_path.as_uri())
        drawn = [len(cells(page, f"#map-{r}")) for r in range(2)]
        table = page.inner_text("#runs")
        lines = page.eval_on_selector_all(
            "#curves figure",
            "fs => fs.map(f => [f.querySelector('figcaption').textContent,"
            " Array.from(f.querySelectorAll('polyline')).map(p => p.dataset.run)])",
        )
        page.click("#map-1 .cell")
        panel = page.inner_text("#panel")

    assert drawn == [len(r["elites"]) for r in runs]
    for r in runs:  # a row per run: its name, elites of cells, QD score
        assert f"{r['stats']['elites']} / {r['stats']['cells']}" in table
        assert r["name"] in table
    qd_score = next(ids for caption, ids in lines if caption.startswith("qd_score:"))
    assert qd_score == ["a", "b"]
    assert panel.startswith("b: elite ")
    assert errors == []
    assert requests == [page_path.as_uri()]


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under ``folder``: size, modification time and contents."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_qd_view_serves_the_page_live_and_never_writes_to_the_run(qd, tmp_path):
    """``qd view``: the page on 127.0.0.1, a new metrics line shows up after the page's
    poll (waited for by polling the page, not by sleeping), only 127.0.0.1 is asked,
    Ctrl-C stops it with status 0, and the run directory is as it was (the one change
    is the metrics line this test appended, as a running search would)."""
    status, message = qd(
        "run", str(KOZA1), "--runs-dir", "runs", "--name", "sr", "--set", "search.iterations=3"
    )
    assert status == 0, message
    run = tmp_path / "runs" / "sr"
    before = snapshot(run)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    server = subprocess.Popen(
        [sys.executable, "-m", "qd.cli", "view", str(run), "--figures", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
        # A suite started in the background by a non-interactive shell (`bash .ci/run &`)
        # inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler:
        # give the server Ctrl-C as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        ready, _, _ = select.select([server.stdout], [], [], 120)
        assert ready, "qd view printed no address within 120 s"
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert url, (
            f"no address in {line!r}; stderr: {server.stderr.read() if server.poll() else ''}"
        )
        origin = url[0]

        errors: list[str] = []
        requests: list[str] = []
        with browser_page(errors, requests) as page:
            page.goto(origin)
            page.wait_for_selector("#map-0 .cell")
            first = page.inner_text("#curves")
            rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
            new_row = {**rows[-1], "iteration": rows[-1]["iteration"] + 1, "qd_score": 4321.5}
            with (run / "metrics.jsonl").open("a") as handle:  # the run goes on
                handle.write(json.dumps(new_row) + "\n")
            # Playwright polls the page for it (its own loop; the CSP forbids eval here).
            caption = page.locator("#curves figcaption", has_text="qd_score: 4322")
            caption.wait_for(timeout=30_000)
            status_line = page.inner_text("#live")
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            out, err = server.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
            raise AssertionError(f"qd view did not stop on Ctrl-C; stdout {out!r}") from None

    assert "qd_score: 4322" not in first
    assert status_line.startswith("live: updated")
    assert errors == []
    assert requests and all(r.startswith(origin) for r in requests)
    assert server.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err
    after = snapshot(run)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed == {"metrics.jsonl"}  # ours; qd view wrote, touched and left nothing
    assert after["metrics.jsonl"][2].decode().endswith(json.dumps(new_row) + "\n")


def test_an_lmx_elite_lists_the_elites_its_prompt_showed(qd, tmp_path, monkeypatch):
    """A run whose children an LM wrote by LMX (against the fault server, a loopback
    OpenAI-compatible stub): the clicked elite's ancestors are the elites its few-shot
    prompt showed, each listed, with the key of its reply in the LM cache."""
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "lm"))  # fault_server, fault_domain
    from fault_server import FaultServer

    config = tmp_path / "tales.toml"
    config.write_text(
        'name = "tales"\nseed = 2\n[domain]\nname = "fault_domain:Tales"\n'
        "[search]\niterations = 4\nbatch_size = 6\ncheckpoint_every = 2\n"
        "[lm]\ntimeout = 30.0\n"
    )
    with FaultServer() as server:
        monkeypatch.setenv("QD_LM_BASE_URL", server.base_url)
        monkeypatch.setenv("QD_LM_MODEL", "fault-model")
        status, message = qd("run", str(config), "--runs-dir", "runs")
    assert status == 0, message
    run = tmp_path / "runs" / "tales"
    status, message = qd("report", str(run))
    assert status == 0, message
    page_path = run / "report.html"
    data = data_of(page_path)["runs"][0]
    lineage = data["lineage"]
    index = next(i for i, e in enumerate(data["elites"]) if lineage[e["id"]][2] == "lmx")
    elite = data["elites"][index]
    parents = lineage[elite["id"]][1]
    assert len(parents) == 3 and all(p in lineage for p in parents)

    errors: list[str] = []
    requests: list[str] = []
    with browser_page(errors, requests) as page:
        page.goto(page_path.as_uri())
        page.click(f'#map-0 [data-i="{index}"]')
        listed = page.eval_on_selector_all(
            "#panel ol.lineage li > b", "ns => ns.map(n => n.textContent)"
        )
        first = page.inner_text("#panel ol.lineage li >> nth=0")
        key = page.get_attribute("#panel ol.lineage li >> nth=0 >> .key", "title")

    assert listed[0] == elite["id"] and set(parents) <= set(listed)
    assert "lmx" in first and "from " + ", ".join(parents) in first
    assert "LM reply cache key" in first and key == lineage[elite["id"]][5] and len(key) == 64
    assert errors == []
    assert requests == [page_path.as_uri()]
