"""Distance from the standing example, the example-IoU axis and font seeds (issue 23)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from domains.science_birds.distance import (
    example_distances,
    example_mask,
    level_distance,
    main_blocks,
    mask_iou,
    program_distance,
)
from domains.science_birds.domain import ScienceBirdsLetters, example_program
from domains.science_birds.font_seeds import font_programs
from domains.science_birds.not_letters import program_level
from domains.science_birds.physics import simulate
from domains.science_birds.report import from_the_example
from domains.science_birds.score import distance_table, score_folder


def _settled(program):
    level = program_level(program)
    assert level is not None
    return list(simulate(level).poses), [b.block_type for b in level.blocks]


def test_program_distance_counts_edits_over_the_longer_program():
    a = (("b11", 3), ("b31", 4), ("b13", 5), ("b11", 6))
    assert program_distance(a, a) == 0.0
    assert program_distance(a, [list(d) for d in a]) == 0.0  # JSON lists equal tuples
    assert program_distance(a, (*a[:3], ("b11", 9))) == pytest.approx(1 / 4)  # substitute
    assert program_distance(a, a[1:]) == pytest.approx(1 / 4)  # delete
    assert program_distance(a, (("b31", 10),) * 4) == 1.0
    assert program_distance((), a) == 1.0 and program_distance((), ()) == 0.0


def test_mask_iou_is_overlap_over_union_and_refuses_other_shapes():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2], b[1:3] = True, True
    assert mask_iou(a, b) == pytest.approx(4 / 12)
    assert mask_iou(a, a) == 1.0
    with pytest.raises(ValueError, match="shapes"):
        mask_iou(a, np.zeros((3, 3), bool))


def test_the_example_is_at_distance_zero_and_a_shifted_copy_only_by_program():
    program = example_program("K")
    assert level_distance("K", program, *_settled(program)) == (1.0, 0.0)
    shifted = tuple((kind, x + 4) for kind, x in program)
    iou, distance = level_distance("K", shifted, *_settled(shifted))
    # the converter shifts the level left, the mask is cropped: the same picture ...
    assert iou > 0.95
    # ... from a program that shares no drop: why both numbers are reported
    assert distance == 1.0


def test_another_letter_is_far_from_the_example():
    program = example_program("I")
    iou, distance = level_distance("O", program, *_settled(program))
    assert iou < 0.5 and distance > 0.5
    assert example_mask("O").shape == (32, 32) and example_mask("O").any()


def test_the_example_iou_axis_puts_the_example_in_the_top_bin():
    domain = ScienceBirdsLetters(letter="A", descriptors=["width", "example_iou"])
    assert domain.measures[1].name == "example_iou"
    own, other = domain.evaluate([example_program("A"), example_program("L")])
    assert own.measures[1] == pytest.approx(1.0)
    assert other.measures[1] < 0.5


def test_font_seeds_stand_repeat_with_the_seed_and_seed_a_search():
    programs = font_programs("A", 2, np.random.default_rng(0))
    assert programs == font_programs("A", 2, np.random.default_rng(0))
    assert len(programs) == 2
    for program in programs:
        level = program_level(program)
        assert level is not None and simulate(level).stability == 1.0
        assert level_distance("A", program, *_settled(program))[1] > 0.5  # not the example
    domain = ScienceBirdsLetters(letter="A", seed_fonts=True)
    seeds = domain.initial(6, np.random.default_rng(1))
    assert seeds[0] == example_program("A")
    from_fonts = font_programs("A", 2, np.random.default_rng(1))
    assert [seeds[2], seeds[4]] == from_fonts


def test_the_report_and_the_score_table_show_the_distance(tmp_path):
    domain = ScienceBirdsLetters(letter="T")
    programs = [example_program("T"), example_program("I")]
    elites = [
        SimpleNamespace(candidate=p, info=e.info, objective=e.objective)
        for p, e in zip(programs, domain.evaluate(programs), strict=True)
    ]
    rows = example_distances(domain, elites)
    assert rows[0].tolist() == [1.0, 0.0]
    text = "\n".join(from_the_example(domain, elites))
    assert "## Distance from the standing example" in text
    assert "| 1 |" in text and "1.00 | 0.00 |" in text  # the example itself, IoU 1

    (tmp_path / "T").mkdir()
    (tmp_path / "T" / "1.txt").write_text("drop_block('b13', 5)\ndrop_block('b31', 5)\n")
    (tmp_path / "T" / "2.txt").write_text("no code")
    distances: dict = {}
    score_folder(tmp_path, trials=2, distances=distances)
    assert list(distances) == ["T"] and len(distances["T"]) == 1  # one trial built
    table = distance_table(distances)
    assert table.splitlines()[2].split()[:2] == ["T", "1"]


def test_a_stray_block_does_not_make_a_copy_look_far():
    program = (*example_program("K"), ("b11", 15))  # a cube on the ground, away from the K
    iou, distance = level_distance("K", program, *_settled(program))
    assert iou > 0.95 and distance < 0.1
    poses, kinds = _settled(program)
    assert main_blocks(poses, kinds) == list(range(len(kinds) - 1))  # all but the cube
    for letter in "AHKMX":  # every block of an example is part of its picture
        poses, kinds = _settled(example_program(letter))
        assert main_blocks(poses, kinds) == list(range(len(kinds)))
