"""Level edits: the changes a level designer makes to a drop program, one at a time.

The search's default variation (:class:`~domains.science_birds.domain.ScienceBirdsLetters`)
adds, removes, moves or retypes one drop; the x of every drop it makes is clipped to
where the competition's converter accepts that block, so an edit never builds a level
that fails on the grid's edge.
"""

from __future__ import annotations

import numpy as np

from domains.science_birds.level import BLOCK_TYPES, GRID_WIDTH

__all__ = ["clipped", "edit_program", "random_drop"]


def random_drop(rng: np.random.Generator, centre: int) -> tuple[str, int]:
    """A block of a random type dropped within 4 columns of ``centre``."""
    kind = BLOCK_TYPES[int(rng.integers(len(BLOCK_TYPES)))]
    return clipped(kind, centre + int(rng.integers(-4, 5)))


def edit_program(program: list, rng: np.random.Generator, *, max_drops: int) -> list:
    """Add, remove, move or retype one drop (the edits a level designer would make)."""
    child = list(program)
    choice = int(rng.integers(4)) if child else 0
    if choice == 0 and len(child) < max_drops:
        centre = child[int(rng.integers(len(child)))][1] if child else 8
        child.insert(int(rng.integers(len(child) + 1)), random_drop(rng, centre))
    elif choice == 1 and len(child) > 1:
        del child[int(rng.integers(len(child)))]
    elif choice == 2 and child:
        i = int(rng.integers(len(child)))
        kind, x = child[i]
        child[i] = clipped(kind, x + int(rng.choice([-2, -1, 1, 2])))
    elif child:
        i = int(rng.integers(len(child)))
        child[i] = clipped(BLOCK_TYPES[int(rng.integers(len(BLOCK_TYPES)))], child[i][1])
    return child


def clipped(kind: str, x: int) -> tuple[str, int]:
    """Keep x where the converter accepts the block (b31 needs a column each side)."""
    low, high = (1, GRID_WIDTH - 2) if kind == "b31" else (0, GRID_WIDTH - 1)
    return (kind, int(np.clip(x, low, high)))
