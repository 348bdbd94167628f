"""Letters drawn from fonts as drop programs: seeds that are not the standing example.

A search that starts from one hand-built example finds edits of it. Seeding it with
the same letter as several fonts draw it (DejaVu Serif, STIX, Computer Modern:
fonts matplotlib ships) gives it other shapes of the letter to start from.

A glyph becomes a program in four steps: the glyph is sampled onto grid cells (a
one-cell skeleton or filled, 8-11 cells high, the block-art letters of
:mod:`~domains.science_birds.letter_data`); the cells are covered with ``b11``, ``b31``
and ``b13`` blocks; a block with nothing under it gets a ``b11`` prop column under its
middle (drops fall until they rest, so an overhang cannot be dropped in the air; a
cube on a slanted stroke is widened to a ``b31`` resting on the cube below instead);
and the blocks are dropped bottom row first. A sample that needs many props (they
fill the letter's counters) is drawn again. A program is kept only if every block lands
where the glyph put it and the level stands in Box2D (stability 1): a seed that falls
down is rubble, not a letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

from domains.science_birds.converter import LevelBuildError, build_level
from domains.science_birds.letter_data import block_cells, decompose, letter_grid
from domains.science_birds.level import BlockType, Drop
from domains.science_birds.physics import simulate

__all__ = ["SEED_FONTS", "SEED_HEIGHTS", "font_program", "font_programs"]

SEED_FONTS = (
    "DejaVuSerif.ttf",
    "STIXGeneral.ttf",
    "cmr10.ttf",
    "DejaVuSerif-Bold.ttf",
    "cmb10.ttf",
    "cmtt10.ttf",
)
"""Seed fonts, one family after another; none is a template of the held-out glyph judge
(:data:`~domains.science_birds.glyph_judge.TEMPLATE_FONTS`), so seeding from them does
not start a search on shapes that judge was built to match."""

SEED_HEIGHTS = (8, 9, 10, 11)
"""Glyph heights in grid cells: tall enough to read, short enough for 40 drops."""

Program = tuple[tuple[str, int], ...]
Block = tuple[str, int, int]


def _propped(blocks: Sequence[Block]) -> tuple[list[Block], int]:
    """``blocks`` made droppable, and how many prop blocks that took.

    A ``b11`` with nothing under it but a block diagonally below (a slanted stroke)
    becomes a ``b31`` over both, where the cells beside it are free; any other block
    with nothing beneath it gets a ``b11`` prop column under its middle.
    """
    occupied = {cell for block in blocks for cell in block_cells(block)}
    out: list[Block] = []
    props = 0
    for kind, col, row in sorted(blocks, key=lambda b: (b[2], b[1])):
        cells = block_cells((kind, col, row))
        if row == 0 or any((c, row - 1) in occupied for c, r in cells if r == row):
            out.append((kind, col, row))
            continue
        sides = {(col - 1, row), (col + 1, row)}
        diagonal = {(col - 1, row - 1), (col + 1, row - 1)} & occupied
        if kind == "b11" and diagonal and not sides & occupied and col >= 1:
            occupied |= sides
            out.append(("b31", col, row))
            continue
        r = row - 1
        while r >= 0 and (col, r) not in occupied:
            occupied.add((col, r))
            out.append(("b11", col, r))
            props += 1
            r -= 1
        out.append((kind, col, row))
    return out, props


def font_program(
    letter: str,
    font_file: str,
    rng: np.random.Generator,
    *,
    heights: Sequence[int] = SEED_HEIGHTS,
    max_drops: int = 40,
    attempts: int = 12,
) -> Program | None:
    """A standing drop program of ``letter`` as ``font_file`` draws it, or None when
    ``attempts`` samples all fall, land elsewhere or need more than ``max_drops``."""
    for _ in range(attempts):
        grid = letter_grid(rng, font_file, letter.upper(), heights)
        letter_blocks = decompose(grid, rng)
        blocks, props = _propped(letter_blocks)
        if len(blocks) > max_drops or props > max(2, len(letter_blocks) // 4):
            continue
        order = sorted(blocks, key=lambda b: (b[2], b[1]))
        drops = [
            Drop(cast(BlockType, kind), col + 1, i + 1) for i, (kind, col, _) in enumerate(order)
        ]
        try:
            level = build_level(drops)
        except LevelBuildError:
            continue
        landed = sorted((b.block_type, b.row) for b in level.blocks)
        if landed != sorted((kind, row) for kind, _, row in order):
            continue
        if simulate(level).stability < 1.0:
            continue
        return tuple((d.block_type, d.x) for d in drops)
    return None


def font_programs(
    letter: str,
    n: int,
    rng: np.random.Generator,
    *,
    fonts: Sequence[str] = SEED_FONTS,
    max_drops: int = 40,
) -> list[Program]:
    """Up to ``n`` standing programs of ``letter``, one font after another (a font
    whose samples never stand is skipped); the same ``rng`` state gives the same list."""
    programs: list[Program] = []
    for i in range(2 * n):
        if len(programs) == n:
            break
        found = font_program(letter, fonts[i % len(fonts)], rng, max_drops=max_drops)
        if found is not None:
            programs.append(found)
    return programs
