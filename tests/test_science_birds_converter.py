"""Drops -> level with the competition's semantics, and the level's Science Birds XML."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from domains.science_birds.converter import LevelBuildError, build_level, level_grid
from domains.science_birds.language import parse_program
from domains.science_birds.level import Block, Drop, Level
from domains.science_birds.xml_export import level_to_xml


def drop(block_type: str, x: int, line: int = 0) -> Drop:
    return Drop(block_type, x, line)  # type: ignore[arg-type]


def positions(level: Level) -> list[tuple[str, int, int]]:
    return [(b.block_type, b.col, b.row) for b in level.blocks]


# --- falling and landing ------------------------------------------------------------------


def test_tower_of_b11_stacks_row_by_row():
    level = build_level([drop("b11", 0)] * 5)
    assert positions(level) == [("b11", 0, r) for r in range(5)]
    assert level.height == 5 and level.width == 1


def test_b31_rests_on_a_single_b11_below_its_centre():
    level = build_level([drop("b11", 5), drop("b31", 5)])
    # Shifted left by 4: the b31's left end (column 4) becomes column 0.
    assert positions(level) == [("b11", 1, 0), ("b31", 1, 1)]
    grid = level_grid(level)
    assert grid[0].tolist()[:4] == [0, 1, 0, 0]  # side columns under the b31 stay empty
    assert grid[1].tolist()[:4] == [2, 2, 2, 0]


def test_b31_is_caught_by_a_block_under_one_side_only():
    level = build_level([drop("b11", 7), drop("b11", 7), drop("b31", 6)])
    assert positions(level)[-1] == ("b31", 1, 2)


def test_b13_stands_on_the_ground_and_carries_the_next_block():
    level = build_level([drop("b13", 2), drop("b11", 2)])
    assert positions(level) == [("b13", 0, 0), ("b11", 0, 3)]
    grid = level_grid(level)
    assert grid[:, 0].tolist()[:5] == [1, 1, 1, 2, 0]


def test_shift_left_moves_the_leftmost_occupied_column_to_zero():
    level = build_level([drop("b11", 12), drop("b31", 15), drop("b13", 18)])
    assert positions(level) == [("b11", 0, 0), ("b31", 3, 0), ("b13", 6, 0)]
    assert level.width == 7
    # A b31's left end counts, not its centre.
    assert positions(build_level([drop("b31", 9), drop("b11", 9)])) == [
        ("b31", 1, 0),
        ("b11", 1, 1),
    ]


def test_empty_program_gives_empty_level():
    assert build_level([]) == Level(())
    assert not level_grid(Level(())).any()


# --- the competition's errors -------------------------------------------------------------


@pytest.mark.parametrize("x", [0, 19])
def test_b31_at_the_edge_intrudes_the_width_boundary(x):
    with pytest.raises(LevelBuildError, match="width boundary") as caught:
        build_level([drop("b11", 5, line=1), drop("b31", x, line=2)])
    error = caught.value
    assert error.boundary == "width" and error.index == 1
    assert f"drop_block('b31', {x}) at line 2" in str(error)


def test_seventeenth_b11_in_a_column_intrudes_the_height_boundary():
    assert build_level([drop("b11", 3)] * 16).height == 16
    with pytest.raises(LevelBuildError, match="height boundary") as caught:
        build_level([drop("b11", 3, line=i + 1) for i in range(17)])
    assert caught.value.index == 16
    assert "drop_block('b11', 3) at line 17" in str(caught.value)


def test_b13_sticking_out_at_the_top_intrudes_the_height_boundary():
    stack = [drop("b11", 4)] * 13  # rows 0..12: a b13 on top fits exactly (rows 13..15)
    assert positions(build_level([*stack, drop("b13", 4)]))[-1] == ("b13", 0, 13)
    with pytest.raises(LevelBuildError, match="height boundary") as caught:
        build_level([*stack, drop("b11", 4), drop("b13", 4, line=9)])
    assert "lands on row 14" in str(caught.value) and "line 9" in str(caught.value)


def test_off_grid_x_is_a_height_boundary_error_as_in_the_competition():
    for x in (20, -1):
        with pytest.raises(LevelBuildError, match="height boundary") as caught:
            build_level([drop("b11", x)])
        assert caught.value.boundary == "height"


def test_b31_under_a_full_side_column_overlaps_at_the_top_as_in_the_competition():
    level = build_level([drop("b11", 5)] * 16 + [drop("b31", 6)])
    assert positions(level)[-1] == ("b31", 1, 15)
    assert level_grid(level)[15, :3].tolist() == [17, 17, 17]


def test_level_grid_refuses_blocks_off_the_grid():
    with pytest.raises(ValueError, match="outside the 20 x 16 grid"):
        level_grid(Level((Block("b31", 0, 0),)))


# --- XML export ----------------------------------------------------------------------------


def test_xml_coordinates_types_and_rotations():
    level = Level((Block("b11", 0, 0), Block("b13", 2, 0), Block("b31", 5, 1)))
    text = level_to_xml(level)
    assert text.startswith('<?xml version="1.0" encoding="utf-16"?>\n<Level width="3">')
    assert text.endswith("</Level>")
    root = ET.fromstring(text)
    assert root.tag == "Level"
    assert [b.attrib for b in root.find("GameObjects")] == [
        # x = 2 + 0.2401 * (col + 0.5), y = -3.5 + 0.2401 * (row + h / 2)
        {"type": "SquareTiny", "material": "wood", "x": "2.12005", "y": "-3.37995",
         "rotation": "0"},
        {"type": "RectSmall", "material": "wood", "x": "2.60025", "y": "-3.13985",
         "rotation": "90"},
        {"type": "RectSmall", "material": "wood", "x": "3.32055", "y": "-3.13985",
         "rotation": "0"},
    ]  # fmt: skip
    assert float(root.find("GameObjects")[1].get("y")) == pytest.approx(-3.5 + 0.2401 * 1.5)
    assert float(root.find("GameObjects")[2].get("x")) == pytest.approx(2 + 0.2401 * 5.5)
    assert [bird.get("type") for bird in root.find("Birds")] == ["BirdRed"]
    assert root.find("Slingshot").attrib == {"x": "-9", "y": "-2.5"}


def test_xml_camera_follows_the_structure_size():
    # Small structure: the camera keeps its minimum of 17 (and zooms out to 22).
    small = ET.fromstring(level_to_xml(Level((Block("b11", 0, 0),))))
    assert small.find("Camera").attrib == {
        "x": "2", "y": "0", "minWidth": "17", "maxWidth": "22"
    }  # fmt: skip
    # Full height: (3.5 + 16 * 0.2401) * 1.6 * 2 = 23.49312.
    tall = build_level([drop("b11", 0)] * 16)
    camera = ET.fromstring(level_to_xml(tall)).find("Camera")
    assert (camera.get("minWidth"), camera.get("maxWidth")) == ("23.49312", "28.49312")


def test_xml_text_matches_the_competition_layout_for_a_whole_program():
    level = build_level(parse_program("drop_block('b13', 7)\ndrop_block('b31', 7)\n"))
    assert level_to_xml(level) == (
        '<?xml version="1.0" encoding="utf-16"?>\n'
        '<Level width="3">\n'
        '  <Camera x="2" y="0" minWidth="17" maxWidth="22" />\n'
        "  <Birds>\n"
        '    <Bird type="BirdRed" />\n'
        "  </Birds>\n"
        '  <Slingshot x="-9" y="-2.5" />\n'
        "  <GameObjects>\n"
        '    <Block type="RectSmall" material="wood" x="2.36015" y="-3.13985" rotation="90" />\n'
        '    <Block type="RectSmall" material="wood" x="2.36015" y="-2.65965" rotation="0" />\n'
        "  </GameObjects>\n"
        "</Level>"
    )
    empty = level_to_xml(Level(()))
    assert "  <GameObjects>\n  </GameObjects>\n" in empty


def test_grid_is_a_numbered_int_array():
    level = build_level([drop("b31", 10), drop("b11", 9)])
    grid = level_grid(level)
    assert grid.shape == (16, 20) and np.issubdtype(grid.dtype, np.integer)
    assert grid[0, :3].tolist() == [1, 1, 1] and grid[1, 0] == 2
    assert int((grid != 0).sum()) == 4
