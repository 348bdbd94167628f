"""The two letter judges: the held-out glyph judge, the search classifier's "not a letter"
class and temperature, and the audit that puts them side by side."""

from __future__ import annotations

import json

import numpy as np
import pytest

from domains.science_birds import fit_glyph_judge
from domains.science_birds.audit import exploit_rate, heldout_similarities, judged_trials
from domains.science_birds.classifier import LETTERS, NOT_A_LETTER, LetterClassifier
from domains.science_birds.domain import ScienceBirdsLetters, example_program
from domains.science_birds.glyph_judge import GlyphJudge, fit_calibration, level_mask
from domains.science_birds.level import Block, Level
from domains.science_birds.not_letters import (
    load_not_letters,
    random_programs,
    save_not_letters,
    settled_images,
)
from domains.science_birds.raster import grid_poses
from domains.science_birds.train_classifier import fit_temperature
from qd.archive import Elite
from qd.domain import Evaluation


@pytest.fixture(scope="module")
def glyphs() -> GlyphJudge:
    return GlyphJudge.load()


def _grid(level: Level):
    poses, kinds = grid_poses(level)
    return poses, kinds


def test_a_pillar_is_an_i_and_a_slab_is_no_letter(glyphs):
    pillar = Level(tuple(Block("b13", 0, 3 * r) for r in range(3)))
    proba = glyphs.predict_proba([_grid(pillar)], degrees=True)[0]
    assert proba.shape == (27,) and proba.sum() == pytest.approx(1.0)
    assert LETTERS[int(proba[:26].argmax())] == "I" and proba[LETTERS.index("I")] > 0.5
    # A solid 9 x 3 slab: every letter is a poor fit, so "not a letter" wins.
    slab = Level(tuple(Block("b31", c, r) for c in (1, 4, 7) for r in range(3)))
    proba = glyphs.predict_proba([_grid(slab)], degrees=True)[0]
    assert proba[:26].max() < 0.5 and proba.argmax() == 26


def test_stretching_a_tower_over_a_wide_letter_costs_its_aspect(glyphs):
    tower = Level(tuple(Block("b13", 0, 3 * r) for r in range(5)))
    matches = glyphs.matches(*level_mask(*_grid(tower), degrees=True))
    # The same picture stretched over the canvas fills it; only the aspect penalty keeps
    # an M (wide) from matching a 1 x 15 tower as well as an I does.
    assert LETTERS[int(matches.argmax())] == "I"
    assert matches[LETTERS.index("M")] < 0.2 < matches[LETTERS.index("I")]


def test_level_mask_keeps_the_aspect_ratio_apart():
    level = Level((Block("b31", 1, 0),))
    mask, aspect = level_mask(*_grid(level), degrees=True)
    assert mask.all() and aspect == pytest.approx(3.0)
    empty, _ = level_mask([], [])
    assert not empty.any()


def test_calibration_recovers_a_known_temperature_and_none_score():
    rng = np.random.default_rng(0)
    truth = GlyphJudge(temperature=0.04, none_score=0.7)
    matches = rng.uniform(0.3, 1.0, size=(3000, 26))
    proba = truth.proba_from_matches(matches)
    labels = np.array([rng.choice(27, p=p) for p in proba])
    temperature, none_score = fit_calibration(matches, labels)
    assert temperature == pytest.approx(0.04, rel=0.15)
    assert none_score == pytest.approx(0.7, abs=0.03)


def test_glyph_judge_round_trips_and_refuses_a_bad_temperature(tmp_path, glyphs):
    path = tmp_path / "judge.json"
    glyphs.save(path, note="test")
    again = GlyphJudge.load(path)
    assert (again.temperature, again.none_score, again.fonts) == (
        glyphs.temperature,
        glyphs.none_score,
        glyphs.fonts,
    )
    assert json.loads(path.read_text())["note"] == "test"
    with pytest.raises(ValueError, match="temperature"):
        GlyphJudge(temperature=0.0)


def test_fitting_the_glyph_judge_writes_its_held_out_numbers(tmp_path, capsys):
    out = tmp_path / "glyph.json"
    assert fit_glyph_judge.main(["--per-letter", "2", "--random", "16", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["temperature"] > 0 and 0 < data["none_score"] < 1
    assert set(data["held_out"]) >= {"accuracy", "letters_accepted", "random_rejected", "ece"}
    assert "random_rejected" in capsys.readouterr().out


def test_shipped_glyph_judge_says_what_it_was_fitted_on(glyphs):
    data = json.loads((fit_glyph_judge.DEFAULT_PARAMS).read_text())
    assert data["held_out"]["letter_accuracy"] > 0.8
    assert data["held_out"]["random_rejected"] > 0.8


# --- the search classifier's extra class and temperature --------------------------------


def _tiny_classifier(with_none: bool, temperature: float = 1.0) -> LetterClassifier:
    rng = np.random.default_rng(1)
    n_out = 27 if with_none else 26
    return LetterClassifier(
        weights=[rng.normal(size=(16, 8)), rng.normal(size=(8, n_out))],
        biases=[np.zeros(8), np.zeros(n_out)],
        mean=np.zeros(16),
        scale=np.ones(16),
        image_size=4,
        with_none=with_none,
        temperature=temperature,
    )


def test_not_a_letter_class_and_temperature_survive_save_and_load(tmp_path):
    clf = _tiny_classifier(with_none=True, temperature=2.5)
    path = tmp_path / "w.npz"
    clf.save(path, dtype="float32")
    again = LetterClassifier.load(path)
    assert again.classes[-1] == NOT_A_LETTER and len(again.classes) == 27
    assert again.temperature == pytest.approx(2.5)
    image = np.random.default_rng(2).random((4, 4))
    np.testing.assert_allclose(again.predict_proba(image), clf.predict_proba(image), atol=1e-6)


def test_temperature_flattens_the_softmax_without_changing_the_verdict():
    image = np.random.default_rng(3).random((3, 4, 4))
    sharp, flat = _tiny_classifier(True, 1.0), _tiny_classifier(True, 4.0)
    assert sharp.predict(image) == flat.predict(image)
    assert np.all(flat.predict_proba(image).max(axis=1) < sharp.predict_proba(image).max(axis=1))


def test_a_classifier_without_the_extra_class_needs_26_outputs():
    with pytest.raises(ValueError, match="expected 26"):
        LetterClassifier(
            weights=[np.zeros((16, 27))],
            biases=[np.zeros(27)],
            mean=np.zeros(16),
            scale=np.ones(16),
            image_size=4,
        )


def test_fit_temperature_recovers_the_temperature_of_the_labels():
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=3.0, size=(4000, 5))
    tempered = np.exp(logits / 2.0)
    proba = tempered / tempered.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(5, p=p) for p in proba])
    assert fit_temperature(logits, labels) == pytest.approx(2.0, rel=0.1)


# --- not-a-letter examples --------------------------------------------------------------


def test_not_letter_records_round_trip_and_become_settled_images(tmp_path):
    programs = random_programs(np.random.default_rng(5), 3)
    records = [{"letter": "A", "round": 0, "program": [list(d) for d in p]} for p in programs]
    path = tmp_path / "not_letters.json"
    save_not_letters(records, path)
    assert load_not_letters(path) == records
    assert load_not_letters(tmp_path / "missing.json") == []
    images = settled_images(r["program"] for r in [*records, {"program": [["b31", 40]]}])
    assert images.shape == (3, 32, 32) and images.max() == pytest.approx(1.0)
    path.write_text('{"format": 99}')
    with pytest.raises(ValueError, match="not-letters"):
        load_not_letters(path)


# --- the audit ----------------------------------------------------------------------------


def test_exploit_rate_counts_what_the_held_out_judge_rejects():
    search = [0.95, 0.99, 0.92, 0.4, 0.97]
    heldout = [0.1, 0.8, 0.3, 0.0, 0.6]
    # Of the 4 elites the search judge calls the letter, 2 are rejected.
    assert exploit_rate(search, heldout) == pytest.approx(0.5)
    assert np.isnan(exploit_rate([0.2, 0.5], [0.9, 0.9]))


def test_both_judges_score_the_same_settled_levels():
    domain = ScienceBirdsLetters(letter="I")
    programs = [example_program("I"), (("b31", 99),), example_program("T")]
    evaluations = domain.evaluate(programs)
    assert not evaluations[1].valid
    trials = judged_trials(domain, programs, evaluations)
    assert [t.failed for t in trials["held-out"]] == [False, True, False]
    for search, heldout in zip(trials["search"], trials["held-out"], strict=True):
        assert search.stability == heldout.stability
    assert trials["held-out"][0].similarity > 0.5  # the example I
    assert len(trials["held-out"][0].probabilities) == 27
    elites = [
        Elite(p, e.objective, e.measures, (0, 0), 0, e.info)
        for p, e in zip(programs, evaluations, strict=True)
        if e.valid
    ]
    from_elites = heldout_similarities(domain, elites)
    assert from_elites[0] == pytest.approx(trials["held-out"][0].similarity)
    assert isinstance(evaluations[1], Evaluation)
