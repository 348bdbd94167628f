"""Screenshots of ``report.html`` for one short run of each domain, for the docs.

Each domain's small config (``experiments/``) runs for a few iterations into
``runs/screenshots/<name>`` (kept, so a second call only reports and shoots again; pass
``--fresh`` to run again), ``qd report`` writes its pages, and headless Chromium (Debian's
``chromium`` package, driven by Playwright, as in ``tests/test_explorer_browser.py``)
opens ``report.html``, clicks the best elite's cell and saves the window as
``docs/images/report_<name>.png``, reduced to a 256-colour palette so each stays under
300 KB. The creative-writing run uses the embedded model (or ``QD_LM_BASE_URL``)::

    python docs/screenshots.py                      # all three (about 10 minutes on 2 cores)
    python docs/screenshots.py symbolic_regression  # one
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

from qd.runs import execute, load_config, start  # noqa: E402
from qd.viz.report import write_report  # noqa: E402

IMAGES = ROOT / "docs" / "images"
MAX_BYTES = 300_000
WIDTH, HEIGHT = 1400, 1000  # the browser window, in CSS pixels
# name -> (config, overrides): a few iterations each, enough for a map with a lineage.
RUNS = {
    "symbolic_regression": (
        "experiments/koza1.toml",
        ["search.iterations=40"],
    ),
    "science_birds": (
        "experiments/levels_letters.toml",
        ["search.iterations=6", "search.checkpoint_every=3", 'evaluation.backend="inprocess"'],
    ),
    "creative_writing": (
        "experiments/qdaif_stories2d.toml",
        ["search.iterations=4", "search.checkpoint_every=2"],
    ),
}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def make_run(name: str, runs_dir: Path, *, fresh: bool) -> Path:
    """Run ``name``'s config into ``runs_dir/name`` unless a finished run is there."""
    config_path, overrides = RUNS[name]
    run_path = runs_dir / name
    if not fresh and any(run_path.glob("archive-*.json")):
        print(f"{name}: reusing {run_path}")
        return run_path
    config = load_config(ROOT / config_path, [*overrides, f'name="{name}"'])
    started = time.perf_counter()
    execute(start(config, runs_dir, force=True))
    print(f"{name}: ran {config_path} in {time.perf_counter() - started:.0f} s")
    return run_path


def best_cell(page: Path) -> int:
    """Index of the best elite in the page's embedded data (its cell's ``data-i``)."""
    text = page.read_text()
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
    if found is None:
        raise SystemExit(f"{page}: no embedded data; is it a report.html?")
    elites = json.loads(found[1])["elites"]
    return max(range(len(elites)), key=lambda i: elites[i]["obj"])


def shoot(page: Path, out: Path, chromium: str) -> int:
    """Open ``page``, click its best elite and save the window as a palette PNG; returns
    the PNG's size in bytes."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    best = best_cell(page)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            tab.goto(page.as_uri())
            tab.click(f'#map [data-i="{best}"]')
            shot = tab.screenshot()
        finally:
            browser.close()
    image = Image.open(io.BytesIO(shot)).convert("RGB").quantize(256)
    image.save(out, optimize=True)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"domains, of {', '.join(RUNS)} (default: all)")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "screenshots")
    parser.add_argument("--fresh", action="store_true", help="run again even if a run exists")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in RUNS]
    if unknown:
        parser.error(f"unknown domain {unknown[0]!r}; choose from {', '.join(RUNS)}")
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no chromium on PATH (Debian: apt-get install chromium)")
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(RUNS):
        run_path = make_run(name, args.runs_dir, fresh=args.fresh)
        write_report(run_path)
        out = IMAGES / f"report_{name}.png"
        size = shoot(run_path / "report.html", out, chromium)
        print(f"{name}: wrote {out.relative_to(ROOT)} ({size / 1000:.0f} kB)")
        if size > MAX_BYTES:
            raise SystemExit(f"{out} is {size} bytes, above {MAX_BYTES}: shrink WIDTH or HEIGHT")


if __name__ == "__main__":
    main()
