"""Fuzz the drop_block parser with 100,000 generated programs and print the figures.

The property (also checked on a few thousand programs by
``tests/test_science_birds_fuzz.py`` in every test run): whatever the text, valid, invalid
or hostile (see ``tests/level_programs.py``), :func:`parse_program` and
:func:`competition_drops` give drops or raise ``LevelParseError``, nothing else; each in
under 100 ms of this thread's CPU; nothing is executed (no audit event of exec, open,
import, os, subprocess or socket; the marker file a hostile program would write never
appears); no warning is emitted.

Usage::

    python bench/fuzz_levels.py                    # 100,000 programs, 25,000 per family
    python bench/fuzz_levels.py --programs 4000    # a quick look

Prints one line per family and a summary: programs, how many read into a level, worst and
99th-percentile time per program, peak traced memory of one parse (tracemalloc, measured
on every 10th program in a second call, so the timings are not slowed by tracing) and the
process's peak RSS. Exit status 1 if any program broke the property.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from level_programs import (  # noqa: E402
    MARKER,
    hostile_programs,
    invalid_programs,
    valid_programs,
)
from test_science_birds_fuzz import LIMIT_S, read_safely  # noqa: E402

from domains.science_birds.extract import competition_drops  # noqa: E402
from domains.science_birds.language import parse_program  # noqa: E402
from domains.science_birds.level import LevelParseError  # noqa: E402

FAMILIES = {
    "valid": valid_programs(),
    "invalid": invalid_programs(),
    "hostile": hostile_programs(),
    "text": st.text(max_size=400),
}


def fuzz_family(name: str, strategy: st.SearchStrategy[str], n: int) -> dict[str, float]:
    """Run ``n`` programs of one family; returns its figures."""
    times: list[float] = []
    peaks: list[int] = []
    read = [0]
    failures: list[str] = []

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(source: str) -> None:
        try:
            drops, elapsed = read_safely(parse_program, source)
            _, elapsed_competition = read_safely(competition_drops, source)
        except AssertionError as error:
            failures.append(f"{error} for {source[:120]!r}")
            return
        read[0] += drops is not None
        times.append(max(elapsed, elapsed_competition))
        if max(elapsed, elapsed_competition) > LIMIT_S:
            slowest = max(elapsed, elapsed_competition) * 1000
            failures.append(f"{slowest:.0f} ms for {source[:120]!r}")
        if len(times) % 10 == 0:
            tracemalloc.start()
            tracemalloc.reset_peak()
            with contextlib.suppress(LevelParseError):
                parse_program(source)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()

    one()
    ordered = sorted(times)
    figures = {
        "programs": len(times),
        "levels": read[0],
        "worst_ms": ordered[-1] * 1000,
        "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000,
        "median_ms": statistics.median(ordered) * 1000,
        "peak_kib": max(peaks, default=0) / 1024,
        "failures": len(failures),
    }
    print(
        f"{name:8s} {figures['programs']:7d} programs, {figures['levels']:6d} levels, "
        f"median {figures['median_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
        f"worst {figures['worst_ms']:.1f} ms, peak {figures['peak_kib']:.0f} KiB, "
        f"{figures['failures']} failures",
        flush=True,
    )
    for failure in failures[:5]:
        print(f"  FAIL {failure}", flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=100_000, help="Programs in all.")
    args = parser.parse_args()
    per_family = max(1, args.programs // len(FAMILIES))
    began = time.perf_counter()
    results = [fuzz_family(name, s, per_family) for name, s in FAMILIES.items()]
    total = sum(r["programs"] for r in results)
    failures = sum(r["failures"] for r in results)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"fuzz: {total} programs, {sum(r['levels'] for r in results)} levels, worst "
        f"{max(r['worst_ms'] for r in results):.1f} ms per program (limit {LIMIT_S * 1000:.0f}), "
        f"peak {max(r['peak_kib'] for r in results):.0f} KiB traced per parse, "
        f"process peak RSS {rss_mib:.0f} MiB, {failures} failures, "
        f"{time.perf_counter() - began:.0f} s"
    )
    if os.path.exists(MARKER):
        print(f"FAIL: {MARKER} exists: a fuzzed program was executed")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
