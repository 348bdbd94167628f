"""Which blocks moved, and the stability score, as the ChatGPT4PCG evaluator decides them.

The competition judges stability with its "Science Birds Evaluator",
``chatgpt4pcg/modified-science-birds`` (commit ``07419b8``, 5 Feb 2024; the rules pages of
the 2024 edition and of the 2025 LLMs4PCG edition both link to it). What it does, read
from its source:

- ``Assets/ICE/Scripts/Evaluation/Stability/BaseStabilityEvaluator.cs``, ``IE_StableCheck``:
  load the level, record every block's ``transform.position`` (its start), let game time run
  while ``t <= duration``, then record the positions again. A block is *moving* when
  ``Vector2.Distance(startPos, lastPos) >= movementThreshold``; the level's score is
  ``1 - moving / starting``. ``IE_Evaluate`` runs up to ``trials`` such checks and keeps the
  largest score, stopping early once one reaches 1.0.
- ``Assets/ICE/Scenes/StabilityTest.unity`` and ``BatchStabilityTest.unity`` (the scenes
  that run it): ``duration: 10``, ``timeScale: 10``, ``movementThreshold: 0.1``,
  ``trials: 3``.
- The rules, ``chatgpt4pcg/chatgpt4pcg.github.io``, ``pages/evaluation.tsx`` (2024; the
  same text in ``chatgpt4pcg/2025-llms4pcg``, ``content/competition/rules/evaluation.md``):
  ``sta = (total_blocks - moving_blocks) / total_blocks``, moving blocks counted over "the
  first 10 seconds after level initialization".

Two things follow that a reader might not expect, and this module keeps both:

- **Rotation does not count.** The evaluator compares centres only (a block's
  ``transform.position`` is its centre: the block prefabs' ``BoxCollider2D`` offset is
  ``(0, 0)``), and it has no rotation threshold anywhere. A block that tips over in place
  stands, as far as the competition is concerned. :data:`COMPETITION_ROTATION_THRESHOLD`
  is therefore infinite; a finite ``rotation_threshold`` is a stricter rule of ours, for
  readers who care that a tilted block changes the picture, and it is off by default.
- **Only the end counts.** The code compares the start with the last position, not every
  position in between, so a block that slides away and back within the 10 s stands.

Where this code differs from the evaluator, on purpose: an empty level scores 0.0 (the
evaluator divides 0 by 0), and blocks are never destroyed (Science Birds' blocks lose
life on hard impacts and vanish; a vanished block keeps the last position seen).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "COMPETITION_MOVE_THRESHOLD",
    "COMPETITION_ROTATION_THRESHOLD",
    "COMPETITION_SECONDS",
    "COMPETITION_TRIALS",
    "moved",
    "stability_score",
    "turns",
]

COMPETITION_MOVE_THRESHOLD = 0.1
"""World units; ``movementThreshold`` in the evaluator's scenes."""

COMPETITION_ROTATION_THRESHOLD = math.inf
"""Radians; the evaluator has no rotation threshold, so no turn alone moves a block."""

COMPETITION_SECONDS = 10.0
"""Game seconds between the two positions compared; ``duration`` in the scenes."""

COMPETITION_TRIALS = 3
"""Checks per level, the best kept; ``trials`` in the scenes."""


def turns(angles: np.ndarray) -> np.ndarray:
    """How far each block turned from its start, in radians in ``[0, pi]``.

    Box2D's angle keeps counting past a full turn; a block that turned by ``2 pi`` looks as
    it did, so the turn is taken modulo a full turn, either way.

    Args:
        angles: Final angles (radians, 0 as placed), any shape.

    Returns:
        ``|remainder(angle, 2 pi)|`` elementwise.
    """
    return np.abs(np.remainder(np.asarray(angles, dtype=float) + math.pi, 2 * math.pi) - math.pi)


def moved(
    shifts: np.ndarray,
    turned: np.ndarray,
    *,
    move_threshold: float = COMPETITION_MOVE_THRESHOLD,
    rotation_threshold: float = COMPETITION_ROTATION_THRESHOLD,
) -> np.ndarray:
    """Which blocks moved: the centre shifted ``move_threshold`` or more, or (our stricter
    option) the block turned ``rotation_threshold`` or more.

    Args:
        shifts: Distance of each block's centre from its start.
        turned: Each block's turn from its start (see :func:`turns`).
        move_threshold: The evaluator's ``movementThreshold`` by default.
        rotation_threshold: Infinite by default, as in the evaluator (rotation ignored).

    Returns:
        A boolean array, True for a block that moved.

    Raises:
        ValueError: If a threshold is not positive (0 would call every block moved).
    """
    thresholds = {"move_threshold": move_threshold, "rotation_threshold": rotation_threshold}
    for name, value in thresholds.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive (math.inf turns it off), got {value!r}")
    shifts, turned = np.asarray(shifts, dtype=float), np.asarray(turned, dtype=float)
    return (shifts >= move_threshold) | (turned >= rotation_threshold)


def stability_score(moving: int, total: int) -> float:
    """The evaluator's score of one check: ``1 - moving / total``.

    Computed as the evaluator's code writes it (the rules page's
    ``(total - moving) / total`` is the same number, bar the last bit of a float).

    Args:
        moving: Blocks that moved.
        total: Blocks in the level when it loaded.

    Returns:
        The score in ``[0, 1]``; 0.0 for an empty level (the evaluator divides 0 by 0
        there; an empty level must not win on stability).

    Raises:
        ValueError: If the counts are negative or ``moving`` exceeds ``total``.
    """
    if total < 0 or not 0 <= moving <= total:
        raise ValueError(f"need 0 <= moving <= total, got moving={moving}, total={total}")
    return 0.0 if total == 0 else 1.0 - moving / total
