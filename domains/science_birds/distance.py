"""How far a level is from its letter's standing example: a new letter, or a copy?

A search per letter starts from the hand-built example in ``examples/``, and the
readable levels it finds tend to be close edits of it. Two numbers say how close:

* **mask IoU**: the settled level and the settled example, each drawn as a 32 x 32
  mask cropped to its bounding box (aspect ratio kept, centred: what the judges see),
  intersection over union. 1 is the same picture; below 0.5 most of the ink is new.
  Stray pieces (a group of touching blocks under a fifth of the largest group's area)
  are left out first: one cube on the ground beside a K would otherwise widen the box
  and make a copy of the K look far from it.
* **program distance**: the edit distance between the two drop lists (a drop is one
  ``(block_type, x)`` token; insert, delete or substitute one), divided by the longer
  list's length. 0 is the same program, 1 shares nothing in order.

The mask is what a person sees; the program distance is what the search edited. A
shifted copy has a low program similarity but a high IoU, which is why both are kept.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from domains.science_birds.language import parse_program
from domains.science_birds.raster import BLOCK_WORLD_SIZE, rasterize_poses

__all__ = [
    "MASK_SIZE",
    "NEW_LETTER_IOU",
    "example_distances",
    "example_mask",
    "level_distance",
    "main_blocks",
    "mask_iou",
    "program_distance",
    "settled_mask",
]

MASK_SIZE = 32
"""Side of the masks compared (the search judge's raster size)."""

NEW_LETTER_IOU = 0.5
"""Below this mask IoU with its example, a level counts as far from it (issue 23)."""

TOUCH = 0.05
"""World units within which two settled blocks count as touching (neighbours in a row
stand about 0.02 apart: blocks are narrower than grid cells)."""

STRAY_SHARE = 0.2
"""A group of touching blocks smaller than this share of the largest group's area is a
stray piece, left out of the mask (it would move the bounding box and the IoU)."""


def main_blocks(poses: Sequence[Sequence[float]], block_types: Sequence[str]) -> list[int]:
    """Indices of the blocks that make the picture: every group of touching blocks
    (bounding boxes within ``TOUCH`` world units) whose area is at least
    ``STRAY_SHARE`` of the largest group's. A stray cube beside a letter is left out."""
    boxes = []
    for (x, y, angle), kind in zip(poses, block_types, strict=True):
        w, h = BLOCK_WORLD_SIZE[kind]
        c, s = abs(math.cos(angle)), abs(math.sin(angle))
        half_w, half_h = (w * c + h * s) / 2, (w * s + h * c) / 2
        boxes.append((x - half_w, x + half_w, y - half_h, y + half_h, w * h))
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if (
                a[0] - TOUCH <= b[1]
                and b[0] - TOUCH <= a[1]
                and a[2] - TOUCH <= b[3]
                and b[2] - TOUCH <= a[3]
            ):
                parent[root(i)] = root(j)
    area: dict[int, float] = {}
    for i, box in enumerate(boxes):
        area[root(i)] = area.get(root(i), 0.0) + box[4]
    largest = max(area.values(), default=0.0)
    return [i for i in range(len(boxes)) if area[root(i)] >= STRAY_SHARE * largest]


def settled_mask(poses: Sequence[Sequence[float]], block_types: Sequence[str]) -> np.ndarray:
    """A level's blocks at ``poses`` (radians, as Box2D settles them) as a boolean mask:
    its :func:`main_blocks` cropped to their bounding box, aspect ratio kept, centred,
    ``MASK_SIZE`` square."""
    kept = main_blocks(poses, block_types)
    return (
        rasterize_poses(
            [poses[i] for i in kept],
            [block_types[i] for i in kept],
            size=MASK_SIZE,
            degrees=False,
        )
        > 0.5
    )


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 for two empty ones).

    Raises:
        ValueError: The masks differ in shape.
    """
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"masks of different shapes: {a.shape} and {b.shape}")
    union = int(np.sum(a | b))
    return 1.0 if union == 0 else float(np.sum(a & b)) / union


def program_distance(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Edit distance between two drop lists over the longer one's length, in ``[0, 1]``.

    Drops compare as ``(block_type, x)`` tuples, so ``["b11", 3]`` equals ``("b11", 3)``.
    """
    left = [tuple(d) for d in a]
    right = [tuple(d) for d in b]
    if not left or not right:
        return 0.0 if left == right else 1.0
    previous = list(range(len(right) + 1))
    for i, drop in enumerate(left, 1):
        current = [i]
        for j, other in enumerate(right, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (drop != other))
            )
        previous = current
    return previous[-1] / max(len(left), len(right))


@functools.cache
def _example(letter: str) -> tuple[tuple[tuple[str, int], ...], np.ndarray]:
    from domains.science_birds.domain import example_program
    from domains.science_birds.not_letters import program_level
    from domains.science_birds.physics import simulate

    program = example_program(letter)
    level = program_level(program)
    if level is None:  # pragma: no cover - the shipped examples build (tests prove it)
        raise ValueError(f"the standing example of {letter} does not build")
    poses = simulate(level).poses
    mask = settled_mask(poses, [b.block_type for b in level.blocks])
    mask.setflags(write=False)
    return program, mask


def example_mask(letter: str) -> np.ndarray:
    """The settled standing example of ``letter`` as a mask (computed once per process)."""
    return _example(letter.upper())[1]


def level_distance(
    letter: str,
    program: Sequence[Any],
    poses: Sequence[Sequence[float]],
    block_types: Sequence[str],
) -> tuple[float, float]:
    """``(mask IoU, program distance)`` of one settled level from ``letter``'s example."""
    example_program, mask = _example(letter.upper())
    return (
        mask_iou(settled_mask(poses, block_types), mask),
        program_distance(program, example_program),
    )


def example_distances(domain: Any, elites: Sequence[Any]) -> np.ndarray:
    """``(n, 2)``: mask IoU and program distance from the domain's letter's example for
    each elite (``qd.archive.Elite`` or anything with ``candidate`` and ``info``), from
    the settled poses its evaluation kept (no physics is rerun). A program written as
    text is parsed first."""
    rows = []
    for elite in elites:
        level = domain.level(elite.candidate)
        drops = elite.candidate
        if isinstance(drops, str):
            drops = [(d.block_type, d.x) for d in parse_program(drops, max_drops=len(level.blocks))]
        rows.append(
            level_distance(
                domain.letter, drops, elite.info["poses"], [b.block_type for b in level.blocks]
            )
        )
    return np.array(rows, dtype=float).reshape(-1, 2)
