"""Tree evaluation three ways, side by side: DEAP, the numpy interpreter, compiled.

DEAP's standard way to score a GP tree is ``gp.compile`` (build a Python lambda from
the tree's string and ``eval`` it) and then one call per fitness case.
``domains.symbolic_regression.primitives.evaluate_tree`` walks the tree once and
applies each numpy function to all fitness cases at the same time.
``domains.symbolic_regression.compiled`` turns the tree into a postfix program and runs
it in one numba kernel (what the search scores with). This script scores the same
random trees on the same points every way, in the same process, checks that the
outputs agree (the compiled ones bit for bit with the interpreter's), and prints the
time of each and the ratios.

Usage::

    python bench/sr_eval.py                      # 1000 trees; DEAP on 100 points,
                                                 # compiled on 20, 200 and 2000
    python bench/sr_eval.py --points 20 100 1000 --compiled-points 20 200

The DEAP table ends with ``speedup: 57.3x (target >= 50x on 100 points)``; the compiled
table gives, per size, microseconds and formulas per second of the interpreter, of
the compiled kernel one formula per call (compiling included), of one batched call
for all formulas, and of already compiled programs (what each call of constant
tuning costs: only the constants change), and the interpreter/compiled ratios. The
exit status is 1 if any tree's outputs disagree (beyond float noise for DEAP, in any
bit for compiled).
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

from domains.symbolic_regression.compiled import compile_tree, run, run_many
from domains.symbolic_regression.primitives import evaluate_tree, make_pset

TARGET_SPEEDUP = 50.0
TARGET_POINTS = 100
COMPILED_POINTS = (20, 200, 2000)
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


def compare_compiled(
    trees: Sequence[gp.PrimitiveTree], n_points: int, seed: int, repeats: int
) -> dict:
    """Best-of-``repeats`` time of the interpreter and the compiled kernel (per formula
    and batched, compiling the trees included), and trees whose outputs differ in a bit."""
    X = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n_points, 1))
    n_vars = X.shape[1]
    runs: dict[str, Callable[[], list]] = {
        "interpreter": lambda: run_ours(trees, X),
        "compiled": lambda: [run(tree, X) for tree in trees],
        "batched": lambda: list(run_many([compile_tree(tree, n_vars) for tree in trees], X)),
    }
    programs = [compile_tree(tree, n_vars) for tree in trees]
    XT = np.ascontiguousarray(X.T)
    runs["prebuilt"] = lambda: [program.evaluate(XT, transposed=True) for program in programs]
    run_many(programs[:1], X)  # compile (or load) the kernels first
    best = {name: float("inf") for name in runs}
    outputs: dict[str, list] = {}
    for repeat in range(repeats):
        names = list(runs) if repeat % 2 == 0 else list(reversed(runs))
        for name in names:
            seconds, outputs[name] = timed(runs[name])
            best[name] = min(best[name], seconds)
    disagreeing = [
        i
        for i, reference in enumerate(outputs["interpreter"])
        for name in ("compiled", "batched", "prebuilt")
        if not _same_bits(reference, outputs[name][i])
    ]
    return {"points": n_points, "seconds": best, "disagreeing": sorted(set(disagreeing))}


def _same_bits(expected: np.ndarray, actual: np.ndarray) -> bool:
    """Equal in every bit, NaN at the same places (any NaN)."""
    nan = np.isnan(expected)
    return bool(
        np.array_equal(nan, np.isnan(actual)) and expected[~nan].tobytes() == actual[~nan].tobytes()
    )


def print_compiled(trees: Sequence[gp.PrimitiveTree], points: Sequence[int], args) -> list[int]:
    """The interpreter vs compiled table; returns the trees that disagree."""
    n = len(trees)
    print()
    print("numpy interpreter vs compiled (numba) kernel, same trees")
    print(f"{'points':>7}  {'method':<30} {'us/formula':>11} {'formulas/s':>11} {'speedup':>8}")
    bad: set[int] = set()
    for n_points in points:
        result = compare_compiled(trees, n_points, args.seed, args.repeats)
        seconds = result["seconds"]
        bad.update(result["disagreeing"])
        for name, label in (
            ("interpreter", "interpreter: evaluate_tree"),
            ("compiled", "compiled: run (one per call)"),
            ("batched", "compiled: run_many (one call)"),
            ("prebuilt", "compiled: evaluate (prebuilt)"),
        ):
            ratio = seconds["interpreter"] / seconds[name]
            print(
                f"{n_points:>7}  {label:<30} {1e6 * seconds[name] / n:>11.2f} "
                f"{n / seconds[name]:>11.0f} {ratio:>7.1f}x"
            )
    print(f"trees differing from the interpreter in any bit: {len(bad)} of {n}")
    return sorted(bad)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", type=int, default=1000, help="random trees (default 1000)")
    parser.add_argument(
        "--points", type=int, nargs="+", default=[TARGET_POINTS], help="fitness cases per tree"
    )
    parser.add_argument(
        "--compiled-points",
        type=int,
        nargs="*",
        default=list(COMPILED_POINTS),
        help="sizes of the interpreter vs compiled table (default 20 200 2000; none: skip)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the trees and points")
    parser.add_argument("--repeats", type=int, default=3, help="best-of repeats (default 3)")
    args = parser.parse_args(argv)
    if args.trees < 1 or args.repeats < 1 or min(args.points + args.compiled_points) < 1:
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
    compiled_bad = print_compiled(trees, args.compiled_points, args) if args.compiled_points else []
    for i in compiled_bad[:5]:
        print(f"  tree {i}: {trees[i]}")
    return 1 if bad or compiled_bad else 0


if __name__ == "__main__":
    sys.exit(main())
