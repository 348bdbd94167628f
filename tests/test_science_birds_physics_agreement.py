"""The fast stability check agrees with the reference path on random levels.

``simulate`` (fast) stops each trial at the step every block falls asleep and gives up a
later trial once it can no longer beat the best one; ``simulate(fast=False)`` runs every
trial to the end. These tests count agreement and work saved; they time nothing
(``bench/physics.py`` does the timing, side by side).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from domains.science_birds.physics import PhysicsParams, simulate

_BENCH = Path(__file__).resolve().parents[1] / "bench" / "physics.py"
_spec = importlib.util.spec_from_file_location("bench_physics", _BENCH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.fixture(scope="module")
def levels():
    """The bench's kind of level: 20 blocks dropped into random columns."""
    rng = np.random.default_rng(0)
    return [bench.random_level(20, rng) for _ in range(40)]


@pytest.fixture(scope="module")
def reference(levels):
    return [simulate(level, seed=i, fast=False) for i, level in enumerate(levels)]


def test_fast_and_reference_agree_on_random_levels(levels, reference):
    fast = [simulate(level, seed=i) for i, level in enumerate(levels)]
    assert [f.stability for f in fast] == [r.stability for r in reference]
    assert [f.moved_blocks for f in fast] == [r.moved_blocks for r in reference]
    # The best trial ran to the end on both paths, so its poses are bit-for-bit the same.
    assert [f.poses for f in fast] == [r.poses for r in reference]
    assert [f.trials_run for f in fast] == [r.trials_run for r in reference]
    # ... and the fast path did less work: later trials given up, fewer steps in all.
    assert sum(r.stability < 1.0 for r in reference) >= 30  # mostly unstable levels
    assert sum(f.given_up for f in fast) >= 35
    assert sum(r.given_up for r in reference) == 0
    assert sum(map(sum, (f.steps for f in fast))) < 0.8 * sum(
        map(sum, (r.steps for r in reference))
    )


def test_without_giving_up_only_the_step_counts_differ(levels, reference):
    # Stopping at the very step every block sleeps, instead of at the next 0.1 s, changes
    # no pose: sleeping bodies never move again.
    never = PhysicsParams(decided_shift=float("inf"))
    for i, (level, ref) in enumerate(zip(levels[:15], reference, strict=False)):
        fast = simulate(level, seed=i, params=never)
        assert fast.given_up == 0
        assert fast.poses == ref.poses
        assert fast.displacements == ref.displacements
        assert all(f <= r < f + 5 for f, r in zip(fast.steps, ref.steps, strict=True))


def test_the_fast_path_never_reports_a_higher_stability(levels, reference):
    # A more eager give-up (0.1: any moved block counts as out at once) is wrong more
    # often, but only ever low: the trial it gives up could only have been better.
    eager = PhysicsParams(decided_shift=0.1)
    fast = [simulate(level, seed=i, params=eager) for i, level in enumerate(levels)]
    pairs = list(zip(fast, reference, strict=True))
    assert all(f.stability <= r.stability for f, r in pairs)
    assert any(f.stability < r.stability for f, r in pairs)  # here it does go wrong once


def test_fast_and_reference_agree_under_the_stricter_rotation_rule(levels, reference):
    # With a rotation threshold the fast path's give-up counts a suspect as out once it has
    # turned past it while asleep: the same rule as the reference's count at the end.
    strict = PhysicsParams(rotation_threshold=0.2)
    some = list(enumerate(levels[:20]))
    fast = [simulate(level, seed=i, params=strict) for i, level in some]
    ref = [simulate(level, seed=i, params=strict, fast=False) for i, level in some]
    assert [f.moved_blocks for f in fast] == [r.moved_blocks for r in ref]
    assert [f.poses for f in fast] == [r.poses for r in ref]
    assert sum(f.given_up for f in fast) >= 10
    # ... and the rule is not a no-op: on these levels it calls some turned blocks moved.
    assert sum(f.moved > r.moved for f, r in zip(fast, reference, strict=False)) >= 3
    assert all(f.moved >= r.moved for f, r in zip(fast, reference, strict=False))
