"""How many levels per second the Box2D stability check judges on one core.

Builds random but buildable levels the way the game's programs do: each block is dropped
into a random column and comes to rest on the highest block beneath any of its columns
(a small drop simulation on the grid, written here so the bench needs no converter). Then
it times ``domains.science_birds.physics.simulate`` on every level, in this one process,
and prints levels per second, milliseconds per level, how often a trial stopped early
because every block slept, and how many trials a level needed.

Usage::

    python bench/physics.py                          # 200 levels of 20 blocks, seed 0
    python bench/physics.py --levels 500 --blocks 30 --seed 1

It also times the same levels with Box2D's continuous collision on, side by side, and
prints the ratio. The last line reads ``physics: 412.3 levels/s per core (target >=
200)``. The exit status is 1 if the rate is below the target.
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

from domains.science_birds.level import (
    BLOCK_SIZE,
    GRID_HEIGHT,
    GRID_WIDTH,
    Block,
    Level,
)
from domains.science_birds.physics import PhysicsParams, StabilityResult, simulate

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=200, help="levels to judge")
    parser.add_argument("--blocks", type=int, default=20, help="blocks per level")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random levels")
    parser.add_argument(
        "--flat",
        action="store_true",
        help="drop blocks only onto flat supports (mostly stable levels: the fast path)",
    )
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    levels = [random_level(args.blocks, rng, flat=args.flat) for _ in range(args.levels)]
    simulate(levels[0], seed=0)  # warm up: imports, first world

    gc.collect()
    gc.disable()
    results: list[StabilityResult] = []
    times: list[float] = []
    start = time.perf_counter()
    for i, level in enumerate(levels):
        t0 = time.perf_counter()
        results.append(simulate(level, seed=i))
        times.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    gc.enable()

    rate = len(levels) / elapsed
    trials = sum(r.trials_run for r in results)
    early = sum(r.early_stops for r in results)
    steps = [s for r in results for s in r.steps]
    stabilities = [r.stability for r in results]
    fully_stable = sum(s == 1.0 for s in stabilities)
    blocks = statistics.mean(r.total for r in results)
    print(f"levels: {len(levels)} of {blocks:.1f} blocks on average (seed {args.seed})")
    print(
        f"time: {elapsed:.3f} s, {1e3 * elapsed / len(levels):.2f} ms/level "
        f"(median {1e3 * statistics.median(times):.2f}, max {1e3 * max(times):.2f})"
    )
    print(
        f"trials: {trials} run, {trials / len(levels):.2f} per level; "
        f"early-stopped (all blocks asleep): {early}/{trials} = {early / trials:.1%}; "
        f"steps per trial: mean {statistics.mean(steps):.0f}, max {max(steps)} of 500"
    )
    stable_ms = [1e3 * t for t, s in zip(times, stabilities, strict=True) if s == 1.0]
    unstable_ms = [1e3 * t for t, s in zip(times, stabilities, strict=True) if s < 1.0]
    print(
        f"stability: mean {statistics.mean(stabilities):.3f}, "
        f"fully stable {fully_stable}/{len(levels)}; ms/level fully stable "
        f"{statistics.mean(stable_ms) if stable_ms else float('nan'):.2f}, "
        f"not {statistics.mean(unstable_ms) if unstable_ms else float('nan'):.2f}"
    )
    # Side by side on the same levels: Box2D's time-of-impact pass, which Unity's default
    # (Discrete) collision detection leaves off and so do we.
    toi = PhysicsParams(continuous_collision=True)
    start = time.perf_counter()
    with_toi = [simulate(level, seed=i, params=toi) for i, level in enumerate(levels)]
    toi_elapsed = time.perf_counter() - start
    same = sum(a.moved == b.moved for a, b in zip(results, with_toi, strict=True))
    print(
        f"continuous collision on: {len(levels) / toi_elapsed:.1f} levels/s; off is "
        f"{toi_elapsed / elapsed:.2f}x faster; same moved count on {same}/{len(levels)} levels"
    )
    print(f"physics: {rate:.1f} levels/s per core (target >= {TARGET_RATE:.0f})")
    return 0 if rate >= TARGET_RATE else 1


if __name__ == "__main__":
    sys.exit(main())
