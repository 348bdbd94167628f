"""How many levels per second the Box2D stability check judges on one core.

Builds random but buildable levels the way the game's programs do: each block is dropped
into a random column and comes to rest on the highest block beneath any of its columns
(a small drop simulation on the grid, written here so the bench needs no converter). Then
it times ``domains.science_birds.physics.simulate`` on every level, in this one process,
side by side: the default (fast) path and the reference path (``fast=False``: every trial
to the end), in alternating order, ``--repeats`` times each, and prints the median rates
and their ratio. Rates are levels per CPU second of this process (``time.process_time``),
so other jobs on the machine disturb them less than wall time would.

It then checks that the two paths agree on the same levels: on how many the stability is
equal, the largest stability difference, and the largest pose difference of the best trial
(centre distance and angle); and it times Box2D's continuous collision, which Unity's
default leaves off and so do we, against the default.

Last, two side-by-side comparisons against the competition evaluator's rule (the
default; ``domains/science_birds/stability_rule.py`` cites it), on the same random levels
and on the 26 standing examples: our stricter rule, which also calls a block moved once
it turns ``--rotation-threshold`` radians or more (how many levels change verdict, and
whether the fast path still agrees with the reference under it); and the evaluator
project's Box2D solver iterations (100 velocity, 100 position, against Unity's default
8 and 3 that we run): how many levels change and at what cost.

Usage::

    python bench/physics.py                          # 200 levels of 20 blocks, seed 0
    python bench/physics.py --levels 500 --blocks 30 --seed 1 --repeats 5
    python bench/physics.py --rotation-threshold 0.1  # a stricter rotation rule

The last line reads ``physics: 212.3 levels/s per core (target >= 200)`` (the default
path's median). The exit status is 1 if that rate is below the target.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from domains.science_birds.domain import example_program
from domains.science_birds.level import (
    BLOCK_SIZE,
    GRID_HEIGHT,
    GRID_WIDTH,
    Block,
    Level,
)
from domains.science_birds.not_letters import program_level
from domains.science_birds.physics import PhysicsParams, StabilityResult, simulate
from domains.science_birds.scoring import LETTERS

TARGET_RATE = 200.0
BLOCK_TYPES = ("b11", "b31", "b13")


def random_level(n_blocks: int, rng: np.random.Generator, *, flat: bool = False) -> Level:
    """``n_blocks`` blocks dropped into random columns, each resting where it lands.

    A drop that would rise above the grid, or with ``flat`` one that would not rest on a
    flat support (all its columns equally high), is tried again in another column (at most
    100 times per block), so a level can have fewer blocks than asked.
    """
    heights = [0] * GRID_WIDTH
    blocks: list[Block] = []
    for _ in range(n_blocks):
        for _attempt in range(100):
            block_type = BLOCK_TYPES[int(rng.integers(len(BLOCK_TYPES)))]
            width, height = BLOCK_SIZE[block_type]
            half = width // 2
            col = int(rng.integers(half, GRID_WIDTH - half))
            covered = range(col - half, col + half + 1)
            row = max(heights[c] for c in covered)
            uneven = flat and any(heights[c] != row for c in covered)
            if row + height > GRID_HEIGHT or uneven:
                continue
            for c in covered:
                heights[c] = row + height
            blocks.append(Block(block_type, col, row))
            break
    left = min((b.col - b.width // 2 for b in blocks), default=0)
    return Level(tuple(Block(b.block_type, b.col - left, b.row) for b in blocks))


def standing_examples() -> list[Level]:
    """The 26 hand-built letters shipped in ``domains/science_birds/examples/``, A to Z."""
    levels = [program_level(example_program(letter)) for letter in LETTERS]
    assert all(level is not None for level in levels), "every shipped example builds"
    return [level for level in levels if level is not None]


def verdicts(before: list[StabilityResult], after: list[StabilityResult]) -> str:
    """How many levels a change of rule or physics moves: moved count, full stability."""
    pairs = list(zip(before, after, strict=True))
    changed = sum(a.moved != b.moved for a, b in pairs)
    flipped = sum((a.stability == 1.0) != (b.stability == 1.0) for a, b in pairs)
    mean = statistics.mean(b.stability for _, b in pairs) - statistics.mean(
        a.stability for a, _ in pairs
    )
    return (
        f"moved count changes on {changed}/{len(pairs)}, fully-stable verdict flips on "
        f"{flipped}/{len(pairs)}, mean stability {mean:+.3f}"
    )


def judge(levels: list[Level], **kwargs) -> tuple[list[StabilityResult], float]:
    """Results of ``simulate`` on every level (level i with seed i), and CPU seconds."""
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        results = [simulate(level, seed=i, **kwargs) for i, level in enumerate(levels)]
        return results, time.process_time() - start
    finally:
        gc.enable()


def agreement(fast: list[StabilityResult], reference: list[StabilityResult]) -> dict[str, float]:
    """How closely the fast path's results match the reference path's, level by level."""
    pairs = list(zip(fast, reference, strict=True))
    shift = angle = 0.0
    for a, b in pairs:
        if a.poses:
            pa, pb = np.asarray(a.poses), np.asarray(b.poses)
            shift = max(shift, float(np.hypot(*(pa[:, :2] - pb[:, :2]).T).max()))
            angle = max(angle, float(np.abs(pa[:, 2] - pb[:, 2]).max()))
    return {
        "levels": len(pairs),
        "equal": sum(a.stability == b.stability for a, b in pairs),
        "identical_poses": sum(a.poses == b.poses for a, b in pairs),
        "max_stability_delta": max((abs(a.stability - b.stability) for a, b in pairs), default=0),
        "lower": sum(a.stability < b.stability for a, b in pairs),
        "max_pose_shift": shift,
        "max_pose_angle": angle,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=200, help="levels to judge")
    parser.add_argument("--blocks", type=int, default=20, help="blocks per level")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random levels")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each path")
    parser.add_argument(
        "--flat",
        action="store_true",
        help="drop blocks only onto flat supports (mostly stable levels: the fast path)",
    )
    parser.add_argument(
        "--rotation-threshold",
        type=float,
        default=0.2,
        help="radians: the stricter rule compared with the competition's (default 0.2)",
    )
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    levels = [random_level(args.blocks, rng, flat=args.flat) for _ in range(args.levels)]
    simulate(levels[0], seed=0)  # warm up: imports, first world
    simulate(levels[0], seed=0, fast=False)

    rates: dict[bool, list[float]] = {True: [], False: []}
    results: dict[bool, list[StabilityResult]] = {}
    for repeat in range(args.repeats):
        for fast in (True, False) if repeat % 2 == 0 else (False, True):
            results[fast], elapsed = judge(levels, fast=fast)
            rates[fast].append(len(levels) / elapsed)
    rate, reference_rate = statistics.median(rates[True]), statistics.median(rates[False])
    ratios = [f / r for f, r in zip(rates[True], rates[False], strict=True)]
    fast_results, reference_results = results[True], results[False]

    blocks = statistics.mean(r.total for r in fast_results)
    print(f"levels: {len(levels)} of {blocks:.1f} blocks on average (seed {args.seed})")
    print(
        f"default (fast): {rate:.1f} levels/s, {1e3 / rate:.2f} ms/level; "
        f"reference (fast=False): {reference_rate:.1f} levels/s, {1e3 / reference_rate:.2f} "
        f"ms/level; fast is {statistics.median(ratios):.2f}x faster "
        f"(median of {args.repeats}; runs: "
        + ", ".join(f"{f:.0f}/{r:.0f}" for f, r in zip(rates[True], rates[False], strict=True))
        + " levels/s, CPU time)"
    )
    for name, res in (("fast", fast_results), ("reference", reference_results)):
        trials = sum(r.trials_run for r in res)
        steps = [s for r in res for s in r.steps]
        given_up = sum(r.given_up for r in res)
        asleep = sum(r.early_stops for r in res) - given_up
        print(
            f"{name}: {trials / len(levels):.2f} trials per level, {sum(steps) / len(levels):.0f} "
            f"steps per level ({statistics.mean(steps):.0f} per trial, max {max(steps)}); "
            f"trials stopped asleep {asleep}/{trials}, given up {given_up}/{trials}"
        )
    stabilities = [r.stability for r in fast_results]
    print(
        f"stability: mean {statistics.mean(stabilities):.3f}, fully stable "
        f"{sum(s == 1.0 for s in stabilities)}/{len(levels)}"
    )
    agree = agreement(fast_results, reference_results)
    print(
        f"agreement with the reference on {agree['levels']} levels: stability equal on "
        f"{agree['equal']}/{agree['levels']} (lower on {agree['lower']}), max |delta "
        f"stability| {agree['max_stability_delta']:.3f}; poses identical on "
        f"{agree['identical_poses']}/{agree['levels']}, max pose difference "
        f"{agree['max_pose_shift']:.2g} units, {agree['max_pose_angle']:.2g} rad"
    )
    # Side by side on the same levels: Box2D's time-of-impact pass, which Unity's default
    # (Discrete) collision detection leaves off and so do we.
    with_toi, toi_elapsed = judge(levels, params=PhysicsParams(continuous_collision=True))
    toi_rate = len(levels) / toi_elapsed
    same = sum(a.moved == b.moved for a, b in zip(fast_results, with_toi, strict=True))
    print(
        f"continuous collision on: {toi_rate:.1f} levels/s; off is {rate / toi_rate:.2f}x "
        f"faster; same moved count on {same}/{len(levels)} levels"
    )
    # Side by side on the same levels: the competition's rule (centre shift only) against
    # ours with a rotation threshold too, and the fast path against the reference under it.
    strict = PhysicsParams(rotation_threshold=args.rotation_threshold)
    strict_fast, strict_elapsed = judge(levels, params=strict)
    strict_reference, _ = judge(levels, params=strict, fast=False)
    agree = agreement(strict_fast, strict_reference)
    examples = standing_examples()
    example_results, _ = judge(examples)
    strict_examples, _ = judge(examples, params=strict)
    print(
        f"rotation threshold {args.rotation_threshold:g} rad as well: random levels: "
        f"{verdicts(fast_results, strict_fast)}; standing examples: "
        f"{verdicts(example_results, strict_examples)}; fast agrees with the reference on "
        f"{agree['equal']}/{agree['levels']} (lower on {agree['lower']}); "
        f"{len(levels) / strict_elapsed:.1f} levels/s"
    )
    # ... and the evaluator project's solver iterations against Unity's default.
    evaluator = PhysicsParams(velocity_iterations=100, position_iterations=100)
    hundred, hundred_elapsed = judge(levels, params=evaluator)
    hundred_examples, _ = judge(examples, params=evaluator)
    print(
        f"solver iterations 100/100 (the evaluator's project) against 8/3: random levels: "
        f"{verdicts(fast_results, hundred)}; standing examples: "
        f"{verdicts(example_results, hundred_examples)}; "
        f"{len(levels) / hundred_elapsed:.1f} levels/s, 8/3 is "
        f"{rate * hundred_elapsed / len(levels):.2f}x faster"
    )
    print(f"physics: {rate:.1f} levels/s per core (target >= {TARGET_RATE:.0f})")
    return 0 if rate >= TARGET_RATE else 1


if __name__ == "__main__":
    sys.exit(main())
