"""Stability by simulation, the way Science Birds judges it: Box2D, as Unity's 2D physics.

A level's blocks are placed in the world where the ChatGPT4PCG converter puts them,
gravity runs for ten seconds, and a block counts as *moved* when its centre ends up 0.1
world units or more from where it started (turning in place does not count). Stability is
the share of blocks that did not move, the best of a few trials whose start positions
differ by a hair (Unity's physics is not bit-for-bit repeatable, so the game's own check
is run more than once too).

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

Speed: the result is exactly what the full ten seconds would give, but a trial stops as
soon as every block is asleep (a world whose bodies all sleep never changes again), and
no further trial runs once one trial has every block unmoved (the best cannot improve).

Everything here is a pure function of its arguments: no global state, and the inputs and
the :class:`StabilityResult` pickle, so levels can be judged in a process pool.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from domains.science_birds.level import Block, Level

with warnings.catch_warnings():  # SWIG types raise DeprecationWarnings on import
    warnings.simplefilter("ignore", DeprecationWarning)
    import Box2D

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
        velocity_iterations: Box2D velocity iterations per step (Unity's default, 8).
        position_iterations: Box2D position iterations per step (Unity's default, 3).
        move_threshold: A block whose centre ends this far or farther from its start moved.
        jitter: Each trial shifts every start position by uniform noise in
            ``[-jitter, jitter]`` on x and y; 0 runs the exact grid positions.
        allow_sleep: Let resting bodies sleep. Sleeping is part of Box2D's (and Unity's)
            default behaviour; it is also what lets a trial stop early.
        continuous_collision: Box2D's time-of-impact pass (``continuousPhysics``). Off,
            as Unity's default ``Rigidbody2D`` collision detection mode (Discrete) has
            it; blocks that fall at most a few metres do not tunnel. On 150 random
            20-block levels turning it on changed one level's moved count and made the
            check 1.15-1.2x slower.
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
    move_threshold: float = 0.1
    jitter: float = 0.001
    allow_sleep: bool = True
    continuous_collision: bool = False

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
        trials_run: Trials simulated (fewer than asked when one came out fully stable).
        steps: Physics steps each trial ran before stopping.
        early_stops: Trials that stopped before the full time because every block slept.
    """

    stability: float
    moved: int
    total: int
    poses: tuple[tuple[float, float, float], ...]
    moved_blocks: tuple[bool, ...] = ()
    displacements: tuple[float, ...] = ()
    trials_run: int = 0
    steps: tuple[int, ...] = ()
    early_stops: int = 0


def block_start(block: Block, params: PhysicsParams | None = None) -> tuple[float, float]:
    """World position of a block's centre as the competition's converter places it."""
    params = params or PhysicsParams()
    x = params.origin_x + params.cell * (block.col + 0.5)
    y = params.ground_y + params.cell * (block.row + block.height / 2)
    return x, y


def _run_trial(
    starts: np.ndarray,
    sizes: Sequence[tuple[float, float]],
    params: PhysicsParams,
    max_steps: int,
    check_every: int,
) -> tuple[np.ndarray, int, bool]:
    """One simulation from ``starts`` (n x 2). Returns final poses (n x 3), steps, early."""
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
    poses = np.array(
        [(b.position[0], b.position[1], b.angle) for b in bodies], dtype=float
    ).reshape(-1, 3)
    return poses, steps, early


def simulate(
    level: Level,
    *,
    seconds: float = 10.0,
    trials: int = 3,
    seed: int | np.random.Generator = 0,
    params: PhysicsParams | None = None,
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
    check_every = max(1, round(0.1 / params.time_step))  # look for sleep every 0.1 s

    best: tuple[int, np.ndarray, np.ndarray] | None = None
    steps_run: list[int] = []
    early_stops = 0
    for _ in range(trials):
        starts = grid + rng.uniform(-params.jitter, params.jitter, size=grid.shape)
        poses, steps, early = _run_trial(starts, sizes, params, max_steps, check_every)
        steps_run.append(steps)
        early_stops += early
        shift = np.hypot(poses[:, 0] - grid[:, 0], poses[:, 1] - grid[:, 1])
        moved = int(np.count_nonzero(shift >= params.move_threshold))
        if best is None or moved < best[0]:
            best = (moved, poses, shift)
        if moved == 0:
            break

    moved, poses, shift = best
    return StabilityResult(
        stability=1.0 - moved / total,
        moved=moved,
        total=total,
        poses=tuple((float(x), float(y), float(a)) for x, y, a in poses.tolist()),
        moved_blocks=tuple(bool(s >= params.move_threshold) for s in shift.tolist()),
        displacements=tuple(float(s) for s in shift.tolist()),
        trials_run=len(steps_run),
        steps=tuple(steps_run),
        early_stops=early_stops,
    )
