"""A :class:`Level` as the Science Birds level XML the ChatGPT4PCG converter writes.

Follows ``convertToXML`` in the competition's ``chatgpt4pcg`` npm package (v1.4.1,
src/converter/xml.ts), so a level exported here loads in the competition's Science Birds
evaluator exactly as theirs would, down to the text:

* a grid cell is 0.2401 world units and the structure starts at (2, -3.5); a block's
  centre is at ``x = 2 + 0.2401 * (col + 0.5)`` (for a ``b31``, the centre column's
  centre) and ``y = -3.5 + 0.2401 * (row + h / 2)``, h = 3 for a ``b13``, else 1;
* ``b11`` is a ``SquareTiny``, ``b31`` a ``RectSmall`` at rotation 0, ``b13`` a
  ``RectSmall`` at rotation 90, all ``wood``; one ``BirdRed``; slingshot at (-9, -2.5);
* the ``Level`` width and the ``Camera`` are computed from the structure's size as the
  converter does (the width always comes out as 3, and the camera is at x = 2, y = 0,
  at least 17 wide, zooming out 5 more);
* numbers are exact decimals without trailing zeros (the converter uses BigNumber's
  ``toFixed()``), so ``2.12005``, not ``2.1200500000000004``.

The declaration says ``encoding="utf-16"`` because the competition's does; their scripts
nevertheless write the text as UTF-8, and Science Birds loads that.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from domains.science_birds.converter import level_grid
from domains.science_birds.level import BLOCK_SIZE, Level

CELL_SIZE = Decimal("0.2401")
"""Width (and height) of one grid cell in Science Birds world units."""

ORIGIN = (Decimal("2"), Decimal("-3.5"))
"""World position of the bottom-left corner of grid cell (col 0, row 0)."""

SLINGSHOT = (Decimal("-9"), Decimal("-2.5"))
"""Where the converter puts the slingshot."""

BLOCK_OBJECTS: dict[str, tuple[str, int]] = {
    "b11": ("SquareTiny", 0),
    "b31": ("RectSmall", 0),
    "b13": ("RectSmall", 90),
}
"""Science Birds block type and rotation for each grid block type."""

_LEVEL_WIDTH_IN_UNITY = Decimal(18)
_CAMERA_ASPECT_RATIO = Decimal("1.6")
_CAMERA_MIN_SIZE = Decimal(17)
_CAMERA_ZOOM = Decimal(5)
_DECLARATION = '<?xml version="1.0" encoding="utf-16"?>\n'


def block_position(block_type: str, col: int, row: int) -> tuple[Decimal, Decimal]:
    """World coordinates of a block's centre, exactly, as the converter computes them.

    Args:
        block_type: ``b11``, ``b31`` or ``b13``.
        col: centre column after the left shift.
        row: bottom row (0 = ground).

    Returns:
        ``(x, y)`` as exact decimals.
    """
    _, height = BLOCK_SIZE[block_type]
    x = ORIGIN[0] + CELL_SIZE * (col + Decimal("0.5"))
    y = ORIGIN[1] + CELL_SIZE * (row + Decimal(height) / 2)
    return x, y


def level_to_xml(level: Level) -> str:
    """The level as Science Birds XML text, the same text the competition would write.

    Args:
        level: a level from :func:`~domains.science_birds.converter.build_level`.

    Returns:
        The XML document, starting with its declaration and ending with ``</Level>``
        (no trailing newline), indented by two spaces per level.

    Raises:
        ValueError: on a block type without a Science Birds object, or a block outside
            the grid.
    """
    occupied = level_grid(level) != 0
    filled_rows = occupied.any(axis=1).nonzero()[0]
    top_row = int(filled_rows[-1]) if filled_rows.size else 0
    # The converter's "content width" is the most cells filled in any one row.
    content_width = abs(ORIGIN[0]) + CELL_SIZE * int(occupied.sum(axis=1).max())
    content_height = abs(ORIGIN[1]) + CELL_SIZE * (top_row + 1)
    camera = max(max(content_height * _CAMERA_ASPECT_RATIO, content_width) * 2, _CAMERA_MIN_SIZE)

    root = ET.Element("Level", {"width": str(int(content_width / _LEVEL_WIDTH_IN_UNITY) + 3)})
    ET.SubElement(
        root,
        "Camera",
        {
            "x": _number(ORIGIN[0]),
            "y": "0",
            "minWidth": _number(camera),
            "maxWidth": _number(camera + _CAMERA_ZOOM),
        },
    )
    birds = ET.SubElement(root, "Birds")
    ET.SubElement(birds, "Bird", {"type": "BirdRed"})
    ET.SubElement(root, "Slingshot", {"x": _number(SLINGSHOT[0]), "y": _number(SLINGSHOT[1])})
    objects = ET.SubElement(root, "GameObjects")
    for block in level.blocks:
        if block.block_type not in BLOCK_OBJECTS:
            raise ValueError(
                f"block type {block.block_type!r} has no Science Birds object; "
                f"use one of {', '.join(BLOCK_OBJECTS)}"
            )
        kind, rotation = BLOCK_OBJECTS[block.block_type]
        x, y = block_position(block.block_type, block.col, block.row)
        ET.SubElement(
            objects,
            "Block",
            {
                "type": kind,
                "material": "wood",
                "x": _number(x),
                "y": _number(y),
                "rotation": str(rotation),
            },
        )
    ET.indent(root, space="  ")
    if not level.blocks:
        objects.text = "\n  "  # the converter writes an empty element open and closed
    return _DECLARATION + ET.tostring(root, encoding="unicode")


def _number(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros, like BigNumber's toFixed()."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
