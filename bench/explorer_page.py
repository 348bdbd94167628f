"""How big ``report.html`` is and how fast Chromium opens it, on a real SR run.

Targets (issue 22): a 100,000-evaluation symbolic-regression run's page under 10 MB,
loaded in under 2 s. Runs Koza-1 (``experiments/koza1.toml``, lineage ``"archive"``) for
782 iterations of 2 x 64 (100,096 evaluations) unless given a run directory, writes its
pages with ``qd report`` (timed), and opens ``report.html`` in headless Chromium
(Debian's ``chromium`` through Playwright) ``--repeats`` times, a fresh page each time:
the time from ``page.goto`` to the load event, and to the map's first drawn cell.

    python bench/explorer_page.py                 # make the run, then measure
    python bench/explorer_page.py --run runs/k    # measure an existing run
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run directory (default: make one)")
    parser.add_argument("--iterations", type=int, default=782, help="of 2 x 64 evaluations")
    parser.add_argument("--lineage", default="archive", help='"archive" or "all"')
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    qd = [sys.executable, "-m", "qd.cli"]
    run, made = args.run, None
    if run is None:
        runs = made = Path(tempfile.mkdtemp(prefix="explorer-bench-"))
        started = time.perf_counter()
        subprocess.run(
            [*qd, "run", str(ROOT / "experiments" / "koza1.toml"), "--runs-dir", str(runs),
             "--name", "koza1", "--quiet", "--set", f"search.iterations={args.iterations}",
             "--set", f'search.lineage="{args.lineage}"'],
            check=True,
        )  # fmt: skip
        print(f"run: {time.perf_counter() - started:.1f} s")
        run = runs / "koza1"
    started = time.perf_counter()
    subprocess.run([*qd, "report", str(run)], check=True, capture_output=True)
    report_s = time.perf_counter() - started
    page = run / "report.html"
    lineage = run / "lineage.jsonl"
    print(
        f"run directory {size(run) / 1e6:.2f} MB (lineage.jsonl "
        f"{lineage.stat().st_size / 1e6:.2f} MB); report.html {page.stat().st_size / 1e6:.2f} MB; "
        f"qd report {report_s:.1f} s"
    )
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    loads, drawn = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        for _ in range(args.repeats):
            tab = browser.new_page()
            started = time.perf_counter()
            tab.goto(page.as_uri(), wait_until="load")
            loads.append(time.perf_counter() - started)
            tab.wait_for_selector("#map-0 .cell")
            drawn.append(time.perf_counter() - started)
            tab.close()
        browser.close()
    print(
        f"chromium, {args.repeats} loads: load event median {statistics.median(loads):.3f} s "
        f"(max {max(loads):.3f}); map drawn median {statistics.median(drawn):.3f} s"
    )
    if made is not None:
        shutil.rmtree(made)


if __name__ == "__main__":
    main()
