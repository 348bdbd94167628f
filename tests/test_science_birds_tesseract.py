"""The Tesseract letter judge: real Tesseract reading settled levels (skipped, with the
package to install, where the binary is missing)."""

from __future__ import annotations

import numpy as np
import pytest

from domains.science_birds.classifier import LETTERS
from domains.science_birds.domain import example_program
from domains.science_birds.fit_glyph_judge import random_settled_levels
from domains.science_birds.not_letters import program_level
from domains.science_birds.physics import simulate
from domains.science_birds.raster import CELL_SIZE
from domains.science_birds.tesseract_judge import (
    TesseractJudge,
    TesseractNotFound,
    render_level,
    tesseract_available,
)

needs_tesseract = pytest.mark.skipif(
    not tesseract_available(),
    reason="the Tesseract judge needs the binary: apt-get install tesseract-ocr",
)

STANDING_READ = 13
"""Measured: it reads 15 of the 26 standing examples as their letter (11 of them with
confidence >= 0.5); a little slack for other Tesseract 5 builds."""


def _settled(program: str):
    level = program_level(program)
    assert level is not None
    return list(simulate(level).poses), [b.block_type for b in level.blocks]


@pytest.fixture(scope="module")
def judge() -> TesseractJudge:
    return TesseractJudge()


@needs_tesseract
def test_it_reads_most_standing_examples(judge):
    reads = [judge.read(*_settled(example_program(letter)))[0] for letter in LETTERS]
    read = [letter for letter, got in zip(LETTERS, reads, strict=True) if got == letter]
    assert len(read) >= STANDING_READ, f"read only {read} of A-Z (answers: {reads})"
    # the plain strokes are the ones a person and an OCR engine agree on
    assert {"C", "E", "L", "T"} <= set(read)


@needs_tesseract
def test_it_rejects_a_heap_of_rubble(judge):
    heaps = random_settled_levels(np.random.default_rng(0), 12)
    proba = judge.predict_proba(heaps)
    assert proba.shape == (12, 27)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # "not a letter" wins on every heap; a letter it half-reads gets no confidence
    assert (proba.argmax(axis=1) == 26).all(), proba.argmax(axis=1)


def test_a_rendered_letter_is_dark_blocks_on_white_with_a_margin():
    poses = [(0.5 * CELL_SIZE, (r + 0.5) * CELL_SIZE, 0.0) for r in range(8)]  # a pillar
    image = np.asarray(render_level(poses, ["b11"] * 8, height=32, padding=10))
    assert image.shape == (32 + 20, 4 + 20)  # 8 blocks high, 1 wide: 32 x 4 pixels
    assert image[:9].min() == 255 and image[-9:].min() == 255  # white margin (PIL draws
    assert image[:, :9].min() == 255 and image[:, -9:].min() == 255  # edges inclusive)
    assert image[10:42, 10:14].max() == 0  # solid black stroke


def test_without_the_binary_it_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not tesseract_available()
    with pytest.raises(TesseractNotFound, match="apt-get install tesseract-ocr"):
        TesseractJudge()
    # the rest of the domain needs no Tesseract: rendering and the other judges work
    assert render_level([], []).size == (32 + 48, 32 + 48)
