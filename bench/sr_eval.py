"""Vectorised tree evaluation against DEAP's compile-and-loop, side by side.

DEAP's standard way to score a GP tree is ``gp.compile`` (build a Python lambda from
the tree's string and ``eval`` it) and then one call per fitness case.
``domains.symbolic_regression.primitives.evaluate_tree`` walks the tree once and
applies each numpy function to all fitness cases at the same time. This script
scores the same random trees on the same points both ways, in the same process,
checks that the outputs agree, and prints the time of each and the ratio.

Usage::

    python bench/sr_eval.py                      # 1000 trees, 100 points
    python bench/sr_eval.py --points 20 100 1000 # the ratio at several sizes

The last line reads ``speedup: 57.3x (target >= 50x on 100 points)``. The exit status
is 1 if any tree's outputs disagree beyond float noise.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from deap import gp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from domains.symbolic_regression.primitives import evaluate_tree, make_pset

TARGET_SPEEDUP = 50.0
TARGET_POINTS = 100
RTOL = 1e-9


def make_trees(pset: gp.PrimitiveSet, n: int, seed: int) -> list[gp.PrimitiveTree]:
    """``n`` ramped half-and-half trees of depth 1 to 6, from Python's seeded ``random``."""
    random.seed(seed)
    return [gp.PrimitiveTree(gp.genHalfAndHalf(pset, 1, 6)) for _ in range(n)]


def run_ours(trees: Sequence[gp.PrimitiveTree], X: np.ndarray) -> list[np.ndarray]:
    """Every tree on every row of ``X`` with the vectorised interpreter."""
    with np.errstate(all="ignore"):
        return [evaluate_tree(tree, X) for tree in trees]


def run_deap(trees: Sequence[gp.PrimitiveTree], X: np.ndarray, pset: gp.PrimitiveSet) -> list[list]:
    """Every tree on every row of ``X`` the DEAP way: compile, then call once per point."""
    column = X[:, 0]
    outputs = []
    with np.errstate(all="ignore"):
        for tree in trees:
            function = gp.compile(tree, pset)
            outputs.append([function(x) for x in column])
    return outputs


def timed(run: Callable[[], list]) -> tuple[float, list]:
    gc.collect()
    start = time.perf_counter()
    outputs = run()
    return time.perf_counter() - start, outputs


def agree(ours: np.ndarray, theirs: np.ndarray) -> bool:
    """Equal up to float noise; NaN equals NaN, and inf equals inf of the same sign."""
    ours = np.asarray(ours, dtype=float)
    theirs = np.asarray(theirs, dtype=float)
    if ours.shape != theirs.shape:
        return False
    both_inf = np.isinf(ours) & np.isinf(theirs) & (np.sign(ours) == np.sign(theirs))
    with np.errstate(all="ignore"):
        close = np.isclose(ours, theirs, rtol=RTOL, equal_nan=True)
    return bool(np.all(close | both_inf))


def compare(
    trees: Sequence[gp.PrimitiveTree], pset: gp.PrimitiveSet, n_points: int, seed: int, repeats: int
) -> dict:
    """Best-of-``repeats`` time of each method on ``n_points`` points, and disagreements."""
    X = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n_points, 1))
    runs = {
        "ours": lambda: run_ours(trees, X),
        "deap": lambda: run_deap(trees, X, pset),
    }
    best = {name: float("inf") for name in runs}
    outputs: dict[str, list] = {}
    for repeat in range(repeats):
        order = ("ours", "deap") if repeat % 2 == 0 else ("deap", "ours")
        for name in order:
            seconds, outputs[name] = timed(runs[name])
            best[name] = min(best[name], seconds)
    disagreeing = [
        i
        for i, (ours, theirs) in enumerate(zip(outputs["ours"], outputs["deap"], strict=True))
        if not agree(ours, theirs)
    ]
    return {"points": n_points, "seconds": best, "disagreeing": disagreeing}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", type=int, default=1000, help="random trees (default 1000)")
    parser.add_argument(
        "--points", type=int, nargs="+", default=[TARGET_POINTS], help="fitness cases per tree"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the trees and points")
    parser.add_argument("--repeats", type=int, default=3, help="best-of repeats (default 3)")
    args = parser.parse_args(argv)
    if args.trees < 1 or args.repeats < 1 or min(args.points) < 1:
        parser.error("--trees, --repeats and every --points must be at least 1")

    pset = make_pset(1)
    trees = make_trees(pset, args.trees, args.seed)
    sizes = [len(tree) for tree in trees]
    print(
        f"{args.trees} trees (genHalfAndHalf depth 1-6, mean size {np.mean(sizes):.1f} nodes), "
        f"best of {args.repeats}, seed {args.seed}"
    )
    print(f"{'points':>7}  {'method':<26} {'total s':>9} {'us/tree':>10} {'DEAP/ours':>10}")
    results = []
    for n_points in args.points:
        result = compare(trees, pset, n_points, args.seed, args.repeats)
        results.append(result)
        seconds = result["seconds"]
        ratio = seconds["deap"] / seconds["ours"]
        for name, label in (("ours", "ours: evaluate_tree"), ("deap", "DEAP: compile + loop")):
            print(
                f"{n_points:>7}  {label:<26} {seconds[name]:>9.3f} "
                f"{1e6 * seconds[name] / args.trees:>10.1f} "
                f"{(f'{ratio:.1f}x' if name == 'deap' else ''):>10}"
            )
        result["ratio"] = ratio

    bad = sorted({i for result in results for i in result["disagreeing"]})
    print(f"disagreeing trees: {len(bad)} of {args.trees}")
    for i in bad[:5]:
        print(f"  tree {i}: {trees[i]}")

    headline = next((r for r in results if r["points"] == TARGET_POINTS), results[-1])
    print(
        f"speedup: {headline['ratio']:.1f}x "
        f"(target >= {TARGET_SPEEDUP:.0f}x on {headline['points']} points)"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
