"""The level: blocks on the 20 x 16 grid of ChatGPT4PCG, after all drops have settled.

Shared by the parser (programs -> drops), the reply extractors, the converter (drops ->
Level), the XML export, the physics check and the renderer, so they all agree on one
picture; :class:`LevelParseError` is here because both readers of a reply raise it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GRID_WIDTH = 20
GRID_HEIGHT = 16
BlockType = Literal["b11", "b31", "b13"]
BLOCK_SIZE: dict[str, tuple[int, int]] = {"b11": (1, 1), "b31": (3, 1), "b13": (1, 3)}
"""Width and height of each block type, in grid cells."""
BLOCK_TYPES: tuple[str, ...] = tuple(BLOCK_SIZE)
"""The block types ``drop_block`` accepts, spelled as in the competition."""


class LevelParseError(ValueError):
    """A program we refuse to read, with the line and the construct that caused it.

    A :class:`ValueError`, so callers that treat bad candidates as bad values need no
    special case. ``str(error)`` starts with ``line N:`` when the line is known.

    Attributes:
        line: 1-based line in the extracted code, or None when the problem is the whole
            program (no calls at all, too long).
        construct: short name of what was refused ("an import", "a while loop", ...).
    """

    def __init__(self, message: str, *, line: int | None = None, construct: str = "") -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line
        self.construct = construct


@dataclass(frozen=True)
class Drop:
    """One ``drop_block(block_type, x)`` call; ``line`` is where the program made it."""

    block_type: BlockType
    x: int
    line: int = 0


@dataclass(frozen=True)
class Block:
    """A placed block: ``col`` is its centre column, ``row`` its bottom row (0 = ground)."""

    block_type: BlockType
    col: int
    row: int

    @property
    def width(self) -> int:
        return BLOCK_SIZE[self.block_type][0]

    @property
    def height(self) -> int:
        return BLOCK_SIZE[self.block_type][1]

    def cells(self) -> list[tuple[int, int]]:
        """Grid cells ``(col, row)`` the block covers."""
        half = self.width // 2
        return [
            (c, r)
            for c in range(self.col - half, self.col + half + 1)
            for r in range(self.row, self.row + self.height)
        ]


@dataclass(frozen=True)
class Level:
    """Blocks in drop order, shifted so the leftmost occupied column is 0."""

    blocks: tuple[Block, ...]

    @property
    def width(self) -> int:
        """Columns spanned by the structure."""
        cells = [c for b in self.blocks for c, _ in b.cells()]
        return max(cells) - min(cells) + 1 if cells else 0

    @property
    def height(self) -> int:
        """Rows spanned by the structure (from the ground)."""
        return max((b.row + b.height for b in self.blocks), default=0)
