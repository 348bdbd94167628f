"""The RapidOCR and EasyOCR letter judges: real recognisers reading settled levels
(skipped, with what to install, where they are missing), and the shared block polygons
every picture of a level starts from."""

from __future__ import annotations

import numpy as np
import pytest

from domains.science_birds import easyocr_judge, rapidocr_judge
from domains.science_birds.classifier import LETTERS
from domains.science_birds.domain import example_program
from domains.science_birds.easyocr_judge import EasyOCRJudge, EasyOCRNotInstalled
from domains.science_birds.fit_glyph_judge import random_settled_levels
from domains.science_birds.not_letters import program_level
from domains.science_birds.physics import simulate
from domains.science_birds.rapidocr_judge import (
    RapidOCRJudge,
    RapidOCRNotInstalled,
    single_letter_proba,
)
from domains.science_birds.raster import CELL_SIZE, block_quads

needs_rapidocr = pytest.mark.skipif(
    not rapidocr_judge.rapidocr_available(),
    reason=f"the RapidOCR judge needs its weights: {rapidocr_judge.INSTALL_HINT}",
)
needs_easyocr = pytest.mark.skipif(
    not easyocr_judge.easyocr_available(),
    reason=f"the EasyOCR judge needs {easyocr_judge.INSTALL_HINT}",
)

RAPIDOCR_STANDING = 20
"""Measured: RapidOCR reads 22 of the 26 standing examples (not C, K, O, Z); a little
slack for other onnxruntime builds."""

EASYOCR_STANDING = 15
"""Measured: EasyOCR reads 17 of the 26 standing examples; a little slack."""


def _settled(program: str):
    level = program_level(program)
    assert level is not None
    return list(simulate(level).poses), [b.block_type for b in level.blocks]


@pytest.fixture(scope="module")
def standing():
    return [_settled(example_program(letter)) for letter in LETTERS]


@pytest.fixture(scope="module")
def heaps():
    return random_settled_levels(np.random.default_rng(0), 12)


# --- the CTC reading: exact, no weights needed ---------------------------------------


def test_one_letter_is_every_blank_letter_blank_path():
    # three columns over (blank, A, B); the paths that read "A" are the runs of A with
    # blanks only before and after: AAA, AA-, A--, -AA, -A-, --A
    columns = np.array([[0.5, 0.5, 0.0], [0.2, 0.6, 0.2], [0.1, 0.3, 0.6]])
    b, a = columns[:, 0], columns[:, 1]
    expected = (
        a[0] * a[1] * a[2]
        + a[0] * a[1] * b[2]
        + a[0] * b[1] * b[2]
        + b[0] * a[1] * a[2]
        + b[0] * a[1] * b[2]
        + b[0] * b[1] * a[2]
    )
    got = single_letter_proba(columns, [1, 2])
    assert got[0] == pytest.approx(expected)
    # "B" (no B in the first column): -BB, -B- or --B
    bb = columns[:, 2]
    assert got[1] == pytest.approx(b[0] * bb[1] * bb[2] + b[0] * bb[1] * b[2] + b[0] * b[1] * bb[2])


def test_two_letters_or_nothing_read_as_no_single_letter():
    certain_ab = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # "AB": two characters
    assert single_letter_proba(certain_ab, [1, 2]).tolist() == [0.0, 0.0]
    all_blank = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # nothing written
    assert single_letter_proba(all_blank, [1, 2]).tolist() == [0.0, 0.0]
    a_gap_a = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # "AA"
    assert single_letter_proba(a_gap_a, [1]).tolist() == [0.0]


# --- RapidOCR, for real ---------------------------------------------------------------


@pytest.fixture(scope="module")
def rapid() -> RapidOCRJudge:
    return RapidOCRJudge()


@needs_rapidocr
def test_rapidocr_reads_most_standing_examples(rapid, standing):
    proba = rapid.predict_proba(standing)
    assert proba.shape == (26, 27)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba >= 0).all()
    reads = ["-" if i == 26 else LETTERS[i] for i in proba.argmax(axis=1)]
    read = [letter for letter, got in zip(LETTERS, reads, strict=True) if got == letter]
    assert len(read) >= RAPIDOCR_STANDING, f"read only {read} (answers: {''.join(reads)})"
    assert {"E", "H", "L", "T"} <= set(read)
    # read() is the same reading: the most likely letter and its probability
    letter, p = rapid.read(*standing[LETTERS.index("H")])
    assert letter == "H" and p == pytest.approx(proba[7, 7])


@needs_rapidocr
def test_rapidocr_rejects_most_rubble(rapid, heaps):
    proba = rapid.predict_proba(heaps)
    rejected = int((proba.argmax(axis=1) == 26).sum())
    # measured: 8 of 12; it calls two heaps H and two L, which no person would (its
    # weakness: a strict panel vote, not a lone judge)
    assert rejected >= 7, proba.argmax(axis=1)


@needs_rapidocr
def test_rapidocr_is_deterministic(rapid, standing):
    again = RapidOCRJudge().predict_proba(standing[:3])
    np.testing.assert_array_equal(rapid.predict_proba(standing[:3]), again)


def test_without_rapidocr_weights_it_names_the_install(monkeypatch):
    monkeypatch.setattr(rapidocr_judge, "_model_path", lambda: None)
    assert not rapidocr_judge.rapidocr_available()
    with pytest.raises(RapidOCRNotInstalled, match="pip install --no-deps rapidocr"):
        RapidOCRJudge()


# --- EasyOCR, for real ----------------------------------------------------------------


@pytest.fixture(scope="module")
def easy() -> EasyOCRJudge:
    return EasyOCRJudge()


@needs_easyocr
def test_easyocr_reads_most_standing_examples(easy, standing):
    proba = easy.predict_proba(standing)
    assert proba.shape == (26, 27)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    reads = ["-" if i == 26 else LETTERS[i] for i in proba.argmax(axis=1)]
    read = [letter for letter, got in zip(LETTERS, reads, strict=True) if got == letter]
    assert len(read) >= EASYOCR_STANDING, f"read only {read} (answers: {''.join(reads)})"
    assert {"E", "H", "L", "T"} <= set(read)


@needs_easyocr
def test_easyocr_rejects_most_rubble(easy, heaps):
    proba = easy.predict_proba(heaps)
    rejected = int((proba.argmax(axis=1) == 26).sum())
    assert rejected >= 9, proba.argmax(axis=1)  # measured: 10 of 12


@needs_easyocr
def test_easyocr_never_downloads_weights(monkeypatch, tmp_path):
    import easyocr_en_models

    # an empty weights folder: the reader must fail, not fetch english_g2.pth
    monkeypatch.setattr(easyocr_en_models, "model_dir", lambda: str(tmp_path))
    with pytest.raises(FileNotFoundError, match="downloads disabled"):
        EasyOCRJudge()


def test_without_easyocr_it_names_the_extra(monkeypatch):
    monkeypatch.setattr(easyocr_judge, "easyocr_available", lambda: False)
    with pytest.raises(EasyOCRNotInstalled, match=r"qd-engine\[easyocr\]"):
        EasyOCRJudge()


# --- the block polygons every picture starts from ------------------------------------


def test_a_long_block_turned_a_quarter_covers_the_tall_one():
    lying = block_quads([(1.0, 2.0, 90.0)], ["b31"], degrees=True)[0]
    standing_up = block_quads([(1.0, 2.0, 0.0)], ["b13"])[0]
    assert sorted(map(tuple, lying.round(9))) == sorted(map(tuple, standing_up.round(9)))
    assert standing_up[:, 1].max() - standing_up[:, 1].min() == pytest.approx(3 * CELL_SIZE)


def test_block_quads_names_a_bad_input():
    with pytest.raises(ValueError, match="'b22'"):
        block_quads([(0.0, 0.0, 0.0)], ["b22"])
    with pytest.raises(ValueError, match="1 poses but 2 block types"):
        block_quads([(0.0, 0.0, 0.0)], ["b11", "b11"])
