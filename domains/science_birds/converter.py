"""Drops -> a settled :class:`Level`, exactly as the ChatGPT4PCG converter settles them.

A transcription of the behaviour of ``getBlocksWithPosition`` and ``shiftBlocksOnGrid``
in the competition's ``chatgpt4pcg`` npm package (v1.4.1, src/converter/converter.ts),
which the 2024 text-to-xml script runs, so a program scores on the level the
competition would have built:

* The grid is 20 columns by 16 rows, row 0 on the ground. Each block starts with its
  bottom row at row 15 and moves down while the cells of its bottom row are free: the
  centre column for every block, plus the two side columns for a ``b31`` (whose x is its
  centre). A ``b13`` then takes rows r..r+2 of its column.
* Errors, checked in the competition's order: an x off the grid (not 0..19), then an
  occupied top cell (row 15) in the centre column, are a *height boundary* intrusion; a
  ``b31`` whose side columns fall off the grid (x = 0 or 19) is a *width boundary*
  intrusion; a ``b13`` that would reach above row 15 is a height boundary intrusion.
* When every block is down, the structure is shifted left so its leftmost occupied
  column is column 0.

Two competition quirks are kept on purpose, for fidelity: an x of 20 or more reports a
*height* (not width) boundary error, because the converter reads the missing top cell
of that column as occupied; and a ``b31`` whose centre top cell is free but a side top
cell is not stays at row 15, overlapping that block (the converter never checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from domains.science_birds.level import BLOCK_SIZE, GRID_HEIGHT, GRID_WIDTH, Block, Drop, Level

_TOP = GRID_HEIGHT - 1


class LevelBuildError(ValueError):
    """A drop the competition's converter refuses: the level cannot be built.

    The message contains "width boundary" or "height boundary" (the competition's
    "Width/Height boundary is intruded."), the call and its line.

    Attributes:
        boundary: ``"width"`` or ``"height"``.
        drop: the offending drop.
        index: its position in the drop sequence (0-based).
    """

    def __init__(
        self, message: str, *, boundary: Literal["width", "height"], drop: Drop, index: int
    ) -> None:
        super().__init__(message)
        self.boundary = boundary
        self.drop = drop
        self.index = index


def build_level(drops: Sequence[Drop]) -> Level:
    """Drop the blocks one by one onto the 20 x 16 grid and shift the result left.

    Args:
        drops: the drops in program order, as :func:`~domains.science_birds.language.
            parse_program` returns them.

    Returns:
        The settled level; ``Block.col`` is the block's centre column after the shift,
        ``Block.row`` its bottom row. An empty sequence gives an empty level.

    Raises:
        LevelBuildError: on a width or height boundary intrusion, the first one met.
        ValueError: on a block type that is not ``b11``, ``b31`` or ``b13``.
    """
    occupied = np.zeros((GRID_HEIGHT, GRID_WIDTH), dtype=bool)
    placed: list[tuple[Drop, int]] = []
    for index, drop in enumerate(drops):
        row = _landing_row(occupied, drop, index)
        width, height = BLOCK_SIZE[drop.block_type]
        half = width // 2
        occupied[row : row + height, drop.x - half : drop.x + half + 1] = True
        placed.append((drop, row))
    columns = np.flatnonzero(occupied.any(axis=0))
    shift = int(columns[0]) if columns.size else 0
    return Level(tuple(Block(drop.block_type, drop.x - shift, row) for drop, row in placed))


def _landing_row(occupied: np.ndarray, drop: Drop, index: int) -> int:
    """Row where ``drop``'s bottom comes to rest, or the competition's boundary error."""
    if drop.block_type not in BLOCK_SIZE:
        raise ValueError(
            f"unknown block type {drop.block_type!r} in drop {index} (line {drop.line}); "
            f"use one of {', '.join(BLOCK_SIZE)}"
        )
    call = f"drop_block({drop.block_type!r}, {drop.x})"
    where = f"{call} at line {drop.line} (drop {index + 1})"
    x = drop.x
    if not 0 <= x < GRID_WIDTH:
        raise LevelBuildError(
            f"height boundary is intruded by {where}: x must be a slot from 0 to "
            f"{GRID_WIDTH - 1} (the competition's converter reports an off-grid x this way)",
            boundary="height",
            drop=drop,
            index=index,
        )
    if occupied[_TOP, x]:
        raise LevelBuildError(
            f"height boundary is intruded by {where}: column {x} is full up to the top "
            f"row {_TOP}; drop this block somewhere lower",
            boundary="height",
            drop=drop,
            index=index,
        )
    width, height = BLOCK_SIZE[drop.block_type]
    half = width // 2
    if half and (x - half < 0 or x + half >= GRID_WIDTH):
        raise LevelBuildError(
            f"width boundary is intruded by {where}: a {drop.block_type} covers x-{half}.."
            f"x+{half}, so x must be from {half} to {GRID_WIDTH - 1 - half}",
            boundary="width",
            drop=drop,
            index=index,
        )
    row = _TOP  # the competition's start value, kept even when row 15 is blocked at the sides
    for r in range(_TOP, -1, -1):
        if occupied[r, x - half : x + half + 1].any():
            break
        row = r
    if row + height - 1 > _TOP:
        raise LevelBuildError(
            f"height boundary is intruded by {where}: it lands on row {row} and its "
            f"{height} rows would reach above the top row {_TOP}; drop it on a lower stack",
            boundary="height",
            drop=drop,
            index=index,
        )
    return row


def level_grid(level: Level) -> np.ndarray:
    """The level as a grid of block numbers, for rendering and classification.

    Args:
        level: a level, usually from :func:`build_level`.

    Returns:
        An int array of shape (16, 20): ``grid[row, col]`` is 0 where the cell is empty
        and ``i + 1`` where ``level.blocks[i]`` covers it. Row 0 is the ground, so flip
        it (``np.flipud``) to draw it the usual way up. Where blocks overlap (a
        competition quirk, see the module docstring) the later block's number wins.

    Raises:
        ValueError: if a block lies outside the grid (a hand-made level).
    """
    grid = np.zeros((GRID_HEIGHT, GRID_WIDTH), dtype=int)
    for number, block in enumerate(level.blocks, start=1):
        for col, row in block.cells():
            if not (0 <= col < GRID_WIDTH and 0 <= row < GRID_HEIGHT):
                raise ValueError(
                    f"block {number} ({block}) covers cell (col {col}, row {row}) outside "
                    f"the {GRID_WIDTH} x {GRID_HEIGHT} grid; build levels with build_level"
                )
            grid[row, col] = number
    return grid
