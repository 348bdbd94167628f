"""The evaluation backends side by side on one heavy batch: in process, process pool, Dask.

Scores the same Science Birds levels (Box2D physics and the letter classifier, the
heaviest evaluation we ship) with each backend in one run, checks that every backend
gives exactly the same evaluations, and prints levels per second and
each backend's speed-up over in process. Start-up (pool or cluster) is timed apart from the batches.

Usage::

    python bench/evaluation_backends.py                   # 256 levels, 2 workers, 3 batches
    python bench/evaluation_backends.py --levels 1024 --workers 8

On a machine with W free cores the pools should approach W x; on a busy two-core
machine expect well under 2x. The exit status is 1 if any backend's results differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from domains.science_birds.domain import ScienceBirdsLetters
from qd.search.evaluation import make_evaluator


def same(a, b) -> bool:
    """Exactly equal: every backend must give the in-process evaluations to the bit (the
    classifier scores each image on its own, whatever chunk it travels in)."""
    return all(
        x.valid == y.valid
        and (not x.valid or (x.objective, x.measures, x.info) == (y.objective, y.measures, y.info))
        for x, y in zip(a, b, strict=True)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=256, help="levels per batch")
    parser.add_argument("--workers", type=int, default=2, help="pool and cluster workers")
    parser.add_argument("--batches", type=int, default=3, help="timed batches per backend")
    args = parser.parse_args(argv)

    domain = ScienceBirdsLetters(letter="A", seed_examples=False)
    batch = domain.initial(args.levels, np.random.default_rng(0))
    reference, timings = None, {}
    for backend in ("inprocess", "process", "dask"):
        began = time.perf_counter()
        evaluator = make_evaluator(domain, backend, args.workers)
        evaluator.evaluate(batch[:4])  # warm: imports and the classifier in each worker
        startup = time.perf_counter() - began
        try:
            began = time.perf_counter()
            for _ in range(args.batches):
                results = evaluator.evaluate(batch)
            elapsed = (time.perf_counter() - began) / args.batches
        finally:
            evaluator.close()
        if reference is None:
            reference = results
        elif not same(results, reference):
            print(f"{backend}: results differ from in process")
            return 1
        timings[backend] = elapsed
        print(
            f"{backend:>9}: {args.levels / elapsed:7.1f} levels/s  "
            f"({elapsed:.2f} s a batch, start-up {startup:.1f} s)"
        )
    base = timings["inprocess"]
    print(
        f"speed-up over in process with {args.workers} workers: "
        + ", ".join(f"{b} {base / t:.2f}x" for b, t in timings.items() if b != "inprocess")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
