"""ChatGPT4PCG 2 scoring: hand-computed examples and the competition's formulas."""

import math

import numpy as np
import pytest

from domains.science_birds.scoring import (
    LETTERS,
    LetterScore,
    LetterWeight,
    TrialResult,
    diversity,
    format_table,
    letter_score,
    letter_weights,
    normalized_prompt_scores,
    prompt_score,
    weighted_prompt_scores,
)

ONE_HOT = np.eye(26)


def _score(stability, similarity, div, score, *, ok=10, expected=10) -> LetterScore:
    return LetterScore(
        trials_expected=expected,
        trials_ok=ok,
        stability=stability,
        similarity=similarity,
        diversity=div,
        score=score,
    )


# --- diversity ---------------------------------------------------------------------------


def test_identical_vectors_have_no_diversity():
    v = np.full(26, 1 / 26)
    assert diversity([v, v], trials=2) == pytest.approx(0.0, abs=1e-12)


def test_orthogonal_one_hots_with_two_trials_are_fully_diverse():
    assert diversity([ONE_HOT[0], ONE_HOT[1]], trials=2) == pytest.approx(1.0)


def test_failed_trial_adds_no_pair_but_stays_in_the_count():
    # T=3: pairs counted = 3*4/2 - 3 = 3; only (v0, v1) exists, distance 1 -> 1/3.
    assert diversity([ONE_HOT[0], None, ONE_HOT[1]], trials=3) == pytest.approx(1 / 3)
    # A trial left out of the list counts the same as one passed as None.
    assert diversity([ONE_HOT[0], ONE_HOT[1]], trials=3) == pytest.approx(1 / 3)


def test_diversity_of_partly_overlapping_vectors():
    # u = (1, 1, 0...), v = (1, 0, ...): cos = 1/sqrt(2), one pair, T = 2.
    u = np.zeros(26)
    u[:2] = 0.5
    assert diversity([u, ONE_HOT[0]], trials=2) == pytest.approx(1 - 1 / math.sqrt(2))


def test_diversity_with_fewer_than_two_levels_is_zero():
    assert diversity([ONE_HOT[3], None], trials=4) == 0.0
    assert diversity([], trials=10) == 0.0


def test_diversity_matches_a_direct_transcription_of_the_competition_script():
    rng = np.random.default_rng(0)
    vectors = [rng.dirichlet(np.ones(26)) for _ in range(7)]
    total = 0.0
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            u, v = vectors[i], vectors[j]
            total += 1 - u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
    t = 10
    assert diversity(vectors, trials=t) == pytest.approx(total / (t * (t + 1) / 2 - t))


@pytest.mark.parametrize("bad", [np.ones(25), np.ones((2, 13)), np.ones(28)])
def test_diversity_rejects_wrong_vector_length(bad):
    with pytest.raises(ValueError, match=r"shape \(26 or 27,\)"):
        diversity([ONE_HOT[0], bad], trials=2)


def test_diversity_takes_a_not_a_letter_column_but_not_mixed_lengths():
    with_none = [np.append(v, 0.0) for v in ONE_HOT[:2]]
    assert diversity(with_none, trials=2) == pytest.approx(diversity(ONE_HOT[:2], trials=2))
    with pytest.raises(ValueError, match="same length"):
        diversity([ONE_HOT[0], with_none[1]], trials=2)


def test_diversity_rejects_bad_vectors_and_counts():
    with pytest.raises(ValueError, match="all-zero"):
        diversity([np.zeros(26), ONE_HOT[0]], trials=2)
    with pytest.raises(ValueError, match="non-negative"):
        diversity([-ONE_HOT[0], ONE_HOT[1]], trials=2)
    with pytest.raises(ValueError, match="non-negative"):
        diversity([np.full(26, np.nan), ONE_HOT[1]], trials=2)
    with pytest.raises(ValueError, match=">= 2"):
        diversity([ONE_HOT[0]], trials=1)
    with pytest.raises(ValueError, match="3 vectors for trials=2"):
        diversity([ONE_HOT[0]] * 3, trials=2)


def test_diversity_accepts_another_dimension():
    assert diversity([np.eye(4)[0], np.eye(4)[1]], trials=2, dimension=4) == pytest.approx(1.0)


# --- trials ------------------------------------------------------------------------------


def test_trial_result_validates_its_scores():
    with pytest.raises(ValueError, match="stability"):
        TrialResult(-0.1, 0.5, ONE_HOT[0])
    with pytest.raises(ValueError, match="similarity"):
        TrialResult(0.5, 1.2, ONE_HOT[0])
    with pytest.raises(ValueError, match="similarity"):
        TrialResult(0.5, float("nan"), ONE_HOT[0])
    with pytest.raises(ValueError, match=r"shape \(26 or 27,\)"):
        TrialResult(0.5, 0.5, np.ones(10))
    with pytest.raises(ValueError, match=r"TrialResult\.failure"):
        TrialResult(0.5, 0.0, None, failed=True)


def test_failure_and_from_softmax():
    failed = TrialResult.failure("no code block")
    assert (failed.stability, failed.similarity, failed.probabilities) == (0.0, 0.0, None)
    assert failed.failed and failed.reason == "no code block"

    probs = np.full(26, 0.5 / 25)
    probs[LETTERS.index("C")] = 0.5
    trial = TrialResult.from_softmax(list(probs), stability=0.8, letter="C")
    assert trial.similarity == pytest.approx(0.5)
    assert trial.stability == 0.8
    np.testing.assert_allclose(trial.probabilities, probs)
    with pytest.raises(ValueError, match="letter"):
        TrialResult.from_softmax(probs, stability=0.8, letter="c")


# --- letters -----------------------------------------------------------------------------


def test_letter_score_hand_example():
    # T = 4: (1.0, 0.5, e_A), (0.5, 0.8, e_B), (1.0, 1.0, e_A), failed.
    #   stability  = (1 + 0.5 + 1 + 0) / 4       = 0.625
    #   similarity = (0.5 + 0.8 + 1 + 0) / 4     = 0.575
    #   mean(sta * sim) = (0.5 + 0.4 + 1 + 0) / 4 = 0.475
    #   diversity: pairs (1,2)=1, (1,3)=0, (2,3)=1, over 4*5/2 - 4 = 6 -> 2/6 = 1/3
    #   score = 0.475 / 3 = 0.158333...
    trials = [
        TrialResult(1.0, 0.5, ONE_HOT[0]),
        TrialResult(0.5, 0.8, ONE_HOT[1]),
        TrialResult(1.0, 1.0, ONE_HOT[0]),
        TrialResult.failure("invalid level"),
    ]
    s = letter_score(trials, trials_expected=4)
    assert (s.trials_expected, s.trials_ok) == (4, 3)
    assert s.stability == pytest.approx(0.625)
    assert s.similarity == pytest.approx(0.575)
    assert s.diversity == pytest.approx(1 / 3)
    assert s.score == pytest.approx(0.475 / 3)
    # Leaving the failed trial out of the list changes nothing.
    assert letter_score(trials[:3], trials_expected=4) == s


def test_letter_score_rejects_bad_input():
    with pytest.raises(ValueError, match="trials=2"):
        letter_score([TrialResult(1, 1, ONE_HOT[0])] * 3, trials_expected=2)
    with pytest.raises(TypeError, match="TrialResult"):
        letter_score([(1.0, 1.0, ONE_HOT[0])], trials_expected=2)


def test_letter_score_fields_are_checked():
    with pytest.raises(ValueError, match="trials_ok"):
        _score(0.5, 0.5, 0.5, 0.1, ok=11, expected=10)
    with pytest.raises(ValueError, match="score"):
        _score(0.5, 0.5, 0.5, 1.5)


# --- prompts -----------------------------------------------------------------------------


def test_prompt_score_is_the_mean_over_all_26_letters_with_missing_as_zero():
    per_letter = {"A": _score(1, 1, 1, 0.52), "B": _score(1, 1, 1, 0.26)}
    with pytest.warns(UserWarning, match="CDEFGHIJKLMNOPQRSTUVWXYZ"):
        assert prompt_score(per_letter) == pytest.approx(0.78 / 26)


def test_prompt_score_over_chosen_letters_does_not_warn(recwarn):
    per_letter = {"A": _score(1, 1, 1, 0.52), "B": _score(1, 1, 1, 0.26)}
    assert prompt_score(per_letter, letters="AB") == pytest.approx(0.39)
    assert not recwarn.list


def test_prompt_score_rejects_unknown_letters():
    with pytest.raises(ValueError, match="uppercase"):
        prompt_score({"a": _score(1, 1, 1, 0.5)})
    with pytest.raises(ValueError, match=r"\['C'\]"):
        prompt_score({"C": _score(1, 1, 1, 0.5)}, letters="AB")


# Two prompts x two letters, C = 2 (floor 1/C = 0.5):
#            sta   sim   div   score
#   p1  A    0.9   0.8   0.6   0.40
#   p1  B    0.4   0.3   0.5   0.05
#   p2  A    0.7   0.6   0.4   0.15
#   p2  B    0.2   0.1   0.3   0.01
# A: mean sta 0.8 -> max(0.2, 0.5) = 0.5; sim 0.7 -> 0.5; div 0.5 -> 0.5; weight 0.125
# B: mean sta 0.3 -> 0.7; sim 0.2 -> 0.8; div 0.4 -> 0.6; weight 0.7*0.8*0.6 = 0.336
# p1 = (0.125*0.40 + 0.336*0.05) / 2 = (0.05    + 0.0168 ) / 2 = 0.0334
# p2 = (0.125*0.15 + 0.336*0.01) / 2 = (0.01875 + 0.00336) / 2 = 0.011055
# competition = 0.044455; normalized: p1 = 3340/44.455 = 75.1321..., p2 = 24.8678...
HAND = {
    "p1": {"A": _score(0.9, 0.8, 0.6, 0.40), "B": _score(0.4, 0.3, 0.5, 0.05)},
    "p2": {"A": _score(0.7, 0.6, 0.4, 0.15), "B": _score(0.2, 0.1, 0.3, 0.01)},
}


def test_letter_weights_hand_example():
    w = letter_weights(HAND, letters="AB")
    assert w["A"] == LetterWeight(0.5, 0.5, 0.5)
    assert w["A"].weight == pytest.approx(0.125)
    assert (w["B"].stability, w["B"].similarity, w["B"].diversity) == pytest.approx((0.7, 0.8, 0.6))
    assert w["B"].weight == pytest.approx(0.336)


def test_weighted_prompt_scores_hand_example():
    scores = weighted_prompt_scores(HAND, letters="AB")
    assert scores == pytest.approx({"p1": 0.0334, "p2": 0.011055})
    norm = normalized_prompt_scores(scores)
    assert norm == pytest.approx({"p1": 3340 / 44.455, "p2": 1105.5 / 44.455})
    assert sum(norm.values()) == pytest.approx(100.0)


def test_weighted_scores_follow_the_competition_formula_trial_by_trial():
    # Direct transcription of the evaluation page on random trials (3 prompts, all letters).
    rng = np.random.default_rng(1)
    t = 5
    raw = {
        name: {
            c: [
                TrialResult.failure()
                if rng.random() < 0.2
                else TrialResult(rng.random(), rng.random(), rng.dirichlet(np.ones(26)))
                for _ in range(t)
            ]
            for c in LETTERS
        }
        for name in ("p1", "p2", "p3")
    }
    results = {
        name: {c: letter_score(trials, trials_expected=t) for c, trials in per.items()}
        for name, per in raw.items()
    }
    n_prompts, n_letters = len(raw), len(LETTERS)
    expected = {}
    for name, per in raw.items():
        total = 0.0
        for c in LETTERS:
            sta = sum(x.stability for p in raw.values() for x in p[c]) / (n_prompts * t)
            sim = sum(x.similarity for p in raw.values() for x in p[c]) / (n_prompts * t)
            div = sum(results[p][c].diversity for p in raw) / n_prompts
            weight = (
                max(1 - sta, 1 / n_letters)
                * max(1 - sim, 1 / n_letters)
                * max(1 - div, 1 / n_letters)
            )
            trial_scores = [weight * x.stability * x.similarity for x in per[c]]
            total += results[name][c].diversity * sum(trial_scores) / t
        expected[name] = total / n_letters
    assert weighted_prompt_scores(results) == pytest.approx(expected)


def test_weighted_scores_count_missing_letters_as_zero_and_warn():
    results = {"p1": dict(HAND["p1"]), "p2": {"A": HAND["p2"]["A"]}}
    with pytest.warns(UserWarning, match="'p2': 'B'"):
        scores = weighted_prompt_scores(results, letters="AB")
    # B: mean sta (0.4 + 0) / 2 = 0.2 -> 0.8; sim 0.15 -> 0.85; div 0.25 -> 0.75
    w_b = 0.8 * 0.85 * 0.75
    assert scores["p1"] == pytest.approx((0.125 * 0.40 + w_b * 0.05) / 2)
    assert scores["p2"] == pytest.approx(0.125 * 0.15 / 2)


def test_weighted_scores_reject_bad_input():
    with pytest.raises(ValueError, match="at least one prompt"):
        weighted_prompt_scores({})
    with pytest.raises(ValueError, match="'bad'"):
        weighted_prompt_scores({"bad": {"a": HAND["p1"]["A"]}})


def test_normalized_scores_of_all_zero_prompts_are_zero():
    assert normalized_prompt_scores({"p1": 0.0, "p2": 0.0}) == {"p1": 0.0, "p2": 0.0}


# --- table -------------------------------------------------------------------------------


def test_format_table_lists_letters_and_the_prompt_row():
    per_letter = {"A": _score(0.9, 0.8, 0.6, 0.4, ok=9), "B": _score(0.4, 0.3, 0.5, 0.05)}
    text = format_table(per_letter, letters="ABC")
    lines = text.splitlines()
    assert lines[0].split() == ["letter", "ok", "stability", "similarity", "diversity", "score"]
    assert lines[2].split() == ["A", "9/10", "0.900", "0.800", "0.600", "0.400"]
    assert lines[4].split() == ["C", "-", "-", "-", "-", "-"]
    # The last row is the prompt score: (0.4 + 0.05 + 0) / 3 = 0.15.
    assert lines[-1].split() == ["prompt", "19/20", "0.433", "0.367", "0.367", "0.150"]
    assert len({len(line) for line in lines}) == 1  # aligned columns


def test_format_table_with_weights_shows_the_weighted_score():
    weights = letter_weights(HAND, letters="AB")
    lines = format_table(HAND["p1"], letters="AB", weights=weights, digits=4).splitlines()
    assert lines[0].split()[-2:] == ["weight", "weighted"]
    assert lines[2].split()[-2:] == ["0.1250", "0.0500"]
    assert lines[-1].split()[-1] == "0.0334"  # the weighted prompt score of p1
    with pytest.raises(ValueError, match="weights lack"):
        format_table(HAND["p1"], letters="AB", weights={"A": weights["A"]})
