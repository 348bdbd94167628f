"""Stability by simulation, the way Science Birds judges it: Box2D, as Unity's 2D physics.

A level's blocks are placed in the world where the ChatGPT4PCG converter puts them,
gravity runs for ten seconds, and a block counts as *moved* when its centre ends up 0.1
world units or more from where it started (turning in place does not count). Stability is
``1 - moved / total``, the best of three trials whose start positions differ by a hair
(Unity's physics is not bit-for-bit repeatable, so the game's own check is run more than
once too). That is the competition evaluator's rule, number for number:
:mod:`domains.science_birds.stability_rule` cites where each number comes from, and
offers a stricter rule of ours (``PhysicsParams.rotation_threshold``: a block that turns
that far has moved too) that both paths below apply alike.

World coordinates follow the competition's converter: a grid cell is 0.2401 units, the
origin is (2, -3.5) and the ground's top is at y = -3.5, so a block's centre is at::

    x = 2 + 0.2401 * (col + 0.5)
    y = -3.5 + 0.2401 * (row + h / 2)      # h = 3 for b13, else 1

Colliders are a little smaller than their cells (b11: SquareTiny 0.22 x 0.21, b31:
RectSmall 0.70 x 0.22, b13: the same RectSmall stood on end, 0.22 x 0.70), so a stack
settles a little as it comes to rest.

Friction: Box2D, and with it Unity's 2D physics, mixes two fixtures' friction as the
geometric mean ``sqrt(f1 * f2)`` (and restitution as the larger of the two). With wood at 4
and the ground at 0.4, wood on wood grips at 4 and wood on the ground at about 1.26.

Speed: a trial stops at the step at which every block is asleep (a world whose bodies all
sleep never changes again, so the poses are exactly those of the full ten seconds), and no
further trial runs once one trial has every block unmoved (the best cannot improve). By
default (``simulate(fast=True)``) a trial after the first also gives up once every block
that moved in the best trial so far is clearly out of place again (``decided_shift``
away): it could then beat that trial only if a block came back. Only the best trial's poses
are reported, and that trial always ran to the end, so whenever the fast path picks the
same best trial as the full run (``fast=False``) the poses are identical. Giving up is a
prediction, not a proof: rarely a pushed block is pushed back. On 8,600 random 20-block
levels the stability differed on one, lower by one block (a trial that would have done
better was given up); a difference can only ever be lower. For scale, changing the jitter
seed alone changes the full run's stability on about 12% of such levels. Almost all the
time is spent inside Box2D's step, so the gain comes from steps not taken:
``bench/physics.py`` times both paths side by side and checks their agreement.

Everything here is a pure function of its arguments: no global state, and the inputs and
the :class:`StabilityResult` pickle, so levels can be judged in a process pool.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from domains.science_birds.level import Block, Level
from domains.science_birds.stability_rule import (
    COMPETITION_MOVE_THRESHOLD,
    COMPETITION_ROTATION_THRESHOLD,
    COMPETITION_SECONDS,
    COMPETITION_TRIALS,
    moved,
    stability_score,
    turns,
)

with warnings.catch_warnings():  # SWIG types raise DeprecationWarnings on import
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import Box2D
    except ImportError as error:  # an optional extra: say which
        raise ImportError(
            f"Science Birds physics needs Box2D ({error}): pip install 'qd-engine[levels]'"
        ) from error

_IS_AWAKE = Box2D.b2Body.awake.fget  # the accessors behind body.awake and body.position,
_GET_POSITION = Box2D.b2Body.position.fget  # called without the property lookup per call
_GET_ANGLE = Box2D.b2Body.angle.fget
_TWO_PI = 2 * math.pi

__all__ = ["PhysicsParams", "StabilityResult", "block_start", "simulate"]


@dataclass(frozen=True)
class PhysicsParams:
    """Every constant of the simulation; the defaults are Science Birds' own.

    Attributes:
        cell: Side of a grid cell in world units.
        origin_x: World x of the grid's left edge.
        ground_y: World y of the ground's top (row 0's bottom).
        colliders: Collider (width, height) of each block type, as it stands in the level.
        gravity: Gravity along y, in units / s^2.
        gravity_scale: Each block's gravity scale (Unity's ``Rigidbody2D.gravityScale``).
        density: Block density (mass = density x collider area).
        linear_damping: Block linear damping.
        angular_damping: Block angular damping.
        block_friction: Block (wood) friction; Box2D mixes it as ``sqrt(f1 * f2)``.
        ground_friction: Ground friction.
        restitution: Restitution of blocks and ground (Box2D mixes it as the maximum).
        ground_half_width: Half the ground's width; the ground is centred on the level.
        time_step: Seconds per physics step (Unity's fixed time step).
        velocity_iterations: Box2D velocity iterations per step (Unity's default, 8; the
            evaluator's project sets 100, at about 3x the time: docs/science_birds.md
            measures what that changes).
        position_iterations: Box2D position iterations per step (Unity's default, 3; the
            evaluator's project sets 100).
        move_threshold: A block whose centre ends this far or farther from its start moved
            (the evaluator's ``movementThreshold``, 0.1).
        rotation_threshold: A block that ends turned this far or farther (radians, either
            way, modulo a full turn) moved too. The evaluator has no such rule, hence the
            default ``inf``; a finite value is our stricter reading, for pictures in
            which a tilted block is not the block that was placed.
        jitter: Each trial shifts every start position by uniform noise in
            ``[-jitter, jitter]`` on x and y; 0 runs the exact grid positions.
        allow_sleep: Let resting bodies sleep. Sleeping is part of Box2D's (and Unity's)
            default behaviour; it is also what lets a trial stop early.
        continuous_collision: Box2D's time-of-impact pass (``continuousPhysics``). Off,
            as Unity's default ``Rigidbody2D`` collision detection mode (Discrete) has
            it; blocks that fall at most a few metres do not tunnel. On 150 random
            20-block levels turning it on changed one level's moved count and made the
            check 1.15-1.2x slower.
        decided_shift: Fast path only (see :func:`simulate`): a trial after the first
            gives up once every block that moved in the best trial so far is *out*: this
            far or farther from its grid position, or asleep and ``move_threshold`` or
            farther. ``inf`` never gives up. Smaller is faster and wrong more often; on
            random 20-block levels (speed-up in instructions, full run per fast run; then
            levels whose stability came out lower): 0.3: 1.16x, 0 of 7,000; 0.25: 1.23x,
            1 of 8,600; 0.2: 1.30x, 7 of 8,600; 0.15: 1.41x, 23 of 7,000.
        decide_every: Fast path only: steps between those checks.
    """

    cell: float = 0.2401
    origin_x: float = 2.0
    ground_y: float = -3.5
    colliders: tuple[tuple[str, float, float], ...] = (
        ("b11", 0.22, 0.21),
        ("b31", 0.70, 0.22),
        ("b13", 0.22, 0.70),
    )
    gravity: float = -9.81
    gravity_scale: float = 0.5
    density: float = 1.0
    linear_damping: float = 1.0
    angular_damping: float = 0.05
    block_friction: float = 4.0
    ground_friction: float = 0.4
    restitution: float = 0.0
    ground_half_width: float = 50.0
    time_step: float = 0.02
    velocity_iterations: int = 8
    position_iterations: int = 3
    move_threshold: float = COMPETITION_MOVE_THRESHOLD
    rotation_threshold: float = COMPETITION_ROTATION_THRESHOLD
    jitter: float = 0.001
    allow_sleep: bool = True
    continuous_collision: bool = False
    decided_shift: float = 0.25
    decide_every: int = 5

    def collider(self, block_type: str) -> tuple[float, float]:
        """Collider (width, height) of ``block_type``.

        Raises:
            ValueError: If the type has no collider; add it to ``colliders``.
        """
        for name, width, height in self.colliders:
            if name == block_type:
                return width, height
        known = ", ".join(name for name, _, _ in self.colliders)
        raise ValueError(
            f"no collider for block type {block_type!r}; known types: {known} "
            "(add one to PhysicsParams.colliders)"
        )


@dataclass(frozen=True)
class StabilityResult:
    """How a level stood up under gravity.

    Attributes:
        stability: ``1 - moved / total`` of the best trial; 0.0 for an empty level (there
            is no structure to call stable, and an empty level must not win on stability).
        moved: Blocks that moved in the best trial.
        total: Blocks in the level.
        poses: Final ``(x, y, angle)`` of each block in the best trial, in level order,
            in world units and radians; angle 0 is the block as placed in the level (a
            b13 standing up), so a renderer draws the level's footprint turned by it.
        moved_blocks: For each block, in level order, whether it moved in the best trial.
        displacements: For each block, how far its centre ended from its grid position.
        rotations: For each block, how far it ended turned from its placed angle, in
            radians in ``[0, pi]``.
        trials_run: Trials simulated (fewer than asked when one came out fully stable).
        steps: Physics steps each trial ran before stopping.
        early_stops: Trials that stopped before the full time: every block slept, or
            (``fast``) the trial was given up.
        given_up: Trials given up because they could no longer beat the best one.
    """

    stability: float
    moved: int
    total: int
    poses: tuple[tuple[float, float, float], ...]
    moved_blocks: tuple[bool, ...] = ()
    displacements: tuple[float, ...] = ()
    rotations: tuple[float, ...] = ()
    trials_run: int = 0
    steps: tuple[int, ...] = ()
    early_stops: int = 0
    given_up: int = 0


def block_start(block: Block, params: PhysicsParams | None = None) -> tuple[float, float]:
    """World position of a block's centre as the competition's converter places it."""
    params = params or PhysicsParams()
    x = params.origin_x + params.cell * (block.col + 0.5)
    y = params.ground_y + params.cell * (block.row + block.height / 2)
    return x, y


def _build_world(
    starts: np.ndarray, sizes: Sequence[tuple[float, float]], params: PhysicsParams
) -> tuple[Box2D.b2World, list[Box2D.b2Body]]:
    """A fresh world: the ground, then one dynamic body per block at ``starts`` (n x 2)."""
    world = Box2D.b2World(gravity=(0.0, params.gravity), doSleep=params.allow_sleep)
    world.continuousPhysics = params.continuous_collision
    centre_x = float(starts[:, 0].mean()) if len(starts) else params.origin_x
    ground = world.CreateStaticBody(position=(centre_x, params.ground_y - 1.0))
    ground.CreatePolygonFixture(
        box=(params.ground_half_width, 1.0),
        friction=params.ground_friction,
        restitution=params.restitution,
    )
    body_def = Box2D.b2BodyDef()
    body_def.type = Box2D.b2_dynamicBody
    body_def.linearDamping = params.linear_damping
    body_def.angularDamping = params.angular_damping
    body_def.gravityScale = params.gravity_scale
    body_def.allowSleep = params.allow_sleep
    fixture_def = Box2D.b2FixtureDef(
        density=params.density, friction=params.block_friction, restitution=params.restitution
    )
    shapes: dict[tuple[float, float], Box2D.b2PolygonShape] = {}
    bodies = []
    for (x, y), size in zip(starts.tolist(), sizes, strict=True):
        body_def.position = (x, y)
        body = world.CreateBody(body_def)
        shape = shapes.get(size)
        if shape is None:
            shape = shapes[size] = Box2D.b2PolygonShape(box=(size[0] / 2, size[1] / 2))
        fixture_def.shape = shape
        body.CreateFixture(fixture_def)
        bodies.append(body)
    return world, bodies


def _final_poses(bodies: Sequence[Box2D.b2Body]) -> np.ndarray:
    """``(x, y, angle)`` of each body, as an n x 3 array."""
    poses = [(b.position[0], b.position[1], b.angle) for b in bodies]
    return np.array(poses, dtype=float).reshape(-1, 3)


def _run_trial_reference(
    starts: np.ndarray,
    sizes: Sequence[tuple[float, float]],
    params: PhysicsParams,
    max_steps: int,
) -> tuple[np.ndarray, int, bool]:
    """One full simulation from ``starts`` (n x 2), looking for sleep every 0.1 s.

    Returns final poses (n x 3), steps, and whether every block slept before the end.
    """
    world, bodies = _build_world(starts, sizes, params)
    check_every = max(1, round(0.1 / params.time_step))
    step = world.Step
    dt, vel_it, pos_it = params.time_step, params.velocity_iterations, params.position_iterations
    steps, early = 0, False
    while steps < max_steps:
        for _ in range(min(check_every, max_steps - steps)):
            step(dt, vel_it, pos_it)
        steps = min(steps + check_every, max_steps)
        if params.allow_sleep and not any(body.awake for body in bodies):
            early = steps < max_steps
            break
    return _final_poses(bodies), steps, early


class _Blocks:
    """What every trial of one level shares: body and fixture definitions, shapes."""

    def __init__(self, sizes: Sequence[tuple[float, float]], params: PhysicsParams) -> None:
        self.params = params
        self.ground = Box2D.b2BodyDef()
        self.ground_fixture = Box2D.b2FixtureDef(
            shape=Box2D.b2PolygonShape(box=(params.ground_half_width, 1.0)),
            friction=params.ground_friction,
            restitution=params.restitution,
        )
        self.body = Box2D.b2BodyDef()
        self.body.type = Box2D.b2_dynamicBody
        self.body.linearDamping = params.linear_damping
        self.body.angularDamping = params.angular_damping
        self.body.gravityScale = params.gravity_scale
        self.body.allowSleep = params.allow_sleep
        shapes = {size: Box2D.b2PolygonShape(box=(size[0] / 2, size[1] / 2)) for size in sizes}
        self.fixtures = [
            Box2D.b2FixtureDef(
                shape=shapes[size],
                density=params.density,
                friction=params.block_friction,
                restitution=params.restitution,
            )
            for size in sizes
        ]

    def world(self, starts: np.ndarray) -> tuple[Box2D.b2World, list[Box2D.b2Body]]:
        """The same world as :func:`_build_world` builds, from the shared definitions."""
        params = self.params
        world = Box2D.b2World(gravity=(0.0, params.gravity), doSleep=params.allow_sleep)
        world.continuousPhysics = params.continuous_collision
        self.ground.position = (float(starts[:, 0].mean()), params.ground_y - 1.0)
        world.CreateBody(self.ground).CreateFixture(self.ground_fixture)
        body_def, create_body = self.body, world.CreateBody
        bodies = []
        for position, fixture in zip(starts.tolist(), self.fixtures, strict=True):
            body_def.position = position
            body = create_body(body_def)
            body.CreateFixture(fixture)
            bodies.append(body)
        return world, bodies


def _run_trial_fast(
    blocks: _Blocks,
    starts: np.ndarray,
    grid: Sequence[tuple[float, float]],
    max_steps: int,
    suspects: Sequence[int] = (),
) -> tuple[np.ndarray | None, int, bool]:
    """One simulation from ``starts`` that stops as soon as its outcome is known.

    It stops at the first step at which every block sleeps: the end of the full run, since
    a world whose bodies all sleep never changes again. Given ``suspects`` (the blocks that
    moved in the best trial so far) it also gives up, returning no poses, at the first check
    (every ``params.decide_every`` steps) at which every suspect is *out*:
    ``params.decided_shift`` or farther from its ``grid`` position, or asleep and moved by
    the rule (``params.move_threshold`` or farther, or turned ``params.rotation_threshold``
    or farther).

    Returns final poses (n x 3) or None, steps, and whether it stopped before the end.
    """
    params = blocks.params
    world, bodies = blocks.world(starts)
    step = world.Step
    dt, vel_it, pos_it = params.time_step, params.velocity_iterations, params.position_iterations
    is_awake, get_position, get_angle = _IS_AWAKE, _GET_POSITION, _GET_ANGLE
    sleep = params.allow_sleep
    watch = bodies[0]  # a body last seen awake: while it is, not every body sleeps
    check_every = max(1, params.decide_every)
    give_up = bool(suspects) and params.decided_shift < float("inf")
    next_check = check_every if give_up else max_steps + 1
    far2, moved2 = params.decided_shift**2, params.move_threshold**2
    turn_limit = params.rotation_threshold
    by_turn = turn_limit < float("inf")
    targets = [(bodies[i], *grid[i]) for i in suspects]
    steps = 0
    while steps < max_steps:
        step(dt, vel_it, pos_it)
        steps += 1
        if sleep and not is_awake(watch):
            for body in bodies:
                if is_awake(body):
                    watch = body
                    break
            else:
                return _final_poses(bodies), steps, steps < max_steps
        if steps == next_check:
            next_check += check_every
            for body, x, y in targets:
                px, py = get_position(body)
                d2 = (px - x) ** 2 + (py - y) ** 2
                if d2 < far2 and (
                    (
                        d2 < moved2
                        and not (
                            by_turn and abs(math.remainder(get_angle(body), _TWO_PI)) >= turn_limit
                        )
                    )
                    or is_awake(body)
                ):
                    break  # this suspect may yet end in place
            else:  # every suspect is out
                return None, steps, True
    return _final_poses(bodies), steps, False


def simulate(
    level: Level,
    *,
    seconds: float = COMPETITION_SECONDS,
    trials: int = COMPETITION_TRIALS,
    seed: int | np.random.Generator = 0,
    params: PhysicsParams | None = None,
    fast: bool = True,
) -> StabilityResult:
    """Drop a level's blocks into Box2D and count the ones that moved.

    Args:
        level: The settled level on the grid.
        seconds: Simulated time of each trial.
        trials: Trials to run; the result is the best of them. Stops early at a trial
            with every block unmoved.
        seed: Seed, or a numpy ``Generator``, for the start-position jitter; the same seed
            gives the same result.
        params: Physics constants; ``PhysicsParams()`` (Science Birds' own) if omitted.
        fast: Stop each trial at the very step every block falls asleep, and give up a
            trial after the first once the blocks that moved in the best trial so far are
            all out of place again (``PhysicsParams.decided_shift``): it could then win
            only if one came back (an earlier trial wins a tie). ``False`` runs the reference: every
            trial to the end, looking for sleep every 0.1 s. The two differ only in
            ``steps``, ``early_stops`` and ``given_up``, except when a given-up trial
            would, rarely, have done better (the module's docstring says how rarely).

    Returns:
        The best trial's :class:`StabilityResult`.

    Raises:
        ValueError: If ``trials`` < 1, ``seconds`` < 0, or a block type has no collider.
    """
    params = params or PhysicsParams()
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    if seconds < 0:
        raise ValueError(f"seconds must be non-negative, got {seconds}")
    blocks = level.blocks
    total = len(blocks)
    if total == 0:
        return StabilityResult(stability=0.0, moved=0, total=0, poses=())

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sizes = [params.collider(b.block_type) for b in blocks]
    grid = np.array([block_start(b, params) for b in blocks], dtype=float)
    max_steps = round(seconds / params.time_step)

    grid_list = grid.tolist()
    shared = _Blocks(sizes, params) if fast else None
    best: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    steps_run: list[int] = []
    early_stops = given_up = 0
    for _ in range(trials):
        starts = grid + rng.uniform(-params.jitter, params.jitter, size=grid.shape)
        if shared is not None:  # fast
            suspects = () if best is None else np.flatnonzero(best[4]).tolist()
            poses, steps, early = _run_trial_fast(shared, starts, grid_list, max_steps, suspects)
        else:
            poses, steps, early = _run_trial_reference(starts, sizes, params, max_steps)
        steps_run.append(steps)
        early_stops += early
        if poses is None:  # given up: it cannot beat the best trial
            given_up += 1
            continue
        shift = np.hypot(poses[:, 0] - grid[:, 0], poses[:, 1] - grid[:, 1])
        turned = turns(poses[:, 2])
        mask = moved(
            shift,
            turned,
            move_threshold=params.move_threshold,
            rotation_threshold=params.rotation_threshold,
        )
        count = int(np.count_nonzero(mask))
        if best is None or count < best[0]:
            best = (count, poses, shift, turned, mask)
        if count == 0:
            break

    assert best is not None  # the first trial has no suspects, so it is never given up
    count, poses, shift, turned, mask = best
    return StabilityResult(
        stability=stability_score(count, total),
        moved=count,
        total=total,
        poses=tuple((float(x), float(y), float(a)) for x, y, a in poses.tolist()),
        moved_blocks=tuple(bool(m) for m in mask.tolist()),
        displacements=tuple(float(s) for s in shift.tolist()),
        rotations=tuple(float(t) for t in turned.tolist()),
        trials_run=len(steps_run),
        steps=tuple(steps_run),
        early_stops=early_stops,
        given_up=given_up,
    )
