"""QD score, coverage and the Vendi score family against values known in closed form."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from qd.metrics.scores import (
    DEFAULT_QS,
    coverage,
    qd_score,
    similarity_matrix,
    vendi_score,
    vendi_score_of_features,
    vendi_scores,
)

QS = (0.0, 0.1, 0.5, 1.0, 2.0, math.inf)


@pytest.mark.parametrize("n", [1, 2, 7])
@pytest.mark.parametrize("q", QS)
def test_identical_items_count_once(n: int, q: float) -> None:
    assert vendi_score(np.ones((n, n)), q) == pytest.approx(1.0)


@pytest.mark.parametrize("n", [1, 3, 10])
@pytest.mark.parametrize("q", QS)
def test_orthogonal_items_each_count(n: int, q: float) -> None:
    assert vendi_score(np.eye(n), q) == pytest.approx(float(n))


@pytest.mark.parametrize("sizes", [(3, 3), (2, 5)])
def test_two_groups_of_identical_items(sizes: tuple[int, int]) -> None:
    k = np.zeros((sum(sizes), sum(sizes)))
    k[: sizes[0], : sizes[0]] = 1.0
    k[sizes[0] :, sizes[0] :] = 1.0
    scores = vendi_scores(k, qs=QS)
    # Two kinds of item: q=0 counts both whatever their shares; equal groups give 2 for
    # every q, unequal ones less than 2 beyond q=0 (the larger group dominates).
    assert scores[0.0] == pytest.approx(2.0)
    if sizes[0] == sizes[1]:
        assert all(v == pytest.approx(2.0) for v in scores.values())
    else:
        p = np.array(sizes) / sum(sizes)
        assert scores[1.0] == pytest.approx(math.exp(-np.sum(p * np.log(p))))
        assert scores[math.inf] == pytest.approx(1.0 / p.max())


def test_order_is_non_increasing_on_random_psd_matrix() -> None:
    rng = np.random.default_rng(0)
    k = similarity_matrix(rng.normal(size=(30, 5)))
    qs = (0.0, 0.1, 0.5, 1.0, 2.0, 5.0, math.inf)
    scores = vendi_scores(k, qs=qs)
    values = [scores[float(q)] for q in qs]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(values))
    assert 1.0 <= values[-1] <= values[0] <= 30.0
    assert list(vendi_scores(k)) == [float(q) for q in DEFAULT_QS]
    assert vendi_score(k) == pytest.approx(scores[1.0])


def test_features_shortcut_matches_full_matrix() -> None:
    x = np.random.default_rng(1).normal(size=(40, 3))
    for q in (0.5, 1.0, math.inf):
        assert vendi_score_of_features(x, q) == pytest.approx(vendi_score(similarity_matrix(x), q))
    assert vendi_score_of_features(x, kernel="rbf", gamma=2.0) == pytest.approx(
        vendi_score(similarity_matrix(x, kernel="rbf", gamma=2.0))
    )


def test_similarity_matrix_kernels() -> None:
    x = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    cosine = similarity_matrix(x)
    np.testing.assert_allclose(cosine, [[1, 1, 0], [1, 1, 0], [0, 0, 1]], atol=1e-12)
    rbf = similarity_matrix(x, kernel="rbf", gamma=0.5)
    assert rbf[0, 1] == pytest.approx(math.exp(-0.5))
    assert np.allclose(np.diag(rbf), 1.0)
    with pytest.raises(ValueError, match="kernel='rbf'"):
        similarity_matrix([[0.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="unknown kernel"):
        similarity_matrix(x, kernel="linear")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reshape"):
        similarity_matrix([1.0, 2.0])


def test_empty_input_scores_zero() -> None:
    assert vendi_score(np.zeros((0, 0))) == 0.0
    assert vendi_score([]) == 0.0
    assert vendi_scores([], qs=(1, 2)) == {1.0: 0.0, 2.0: 0.0}
    assert vendi_score_of_features(np.zeros((0, 4))) == 0.0


@pytest.mark.parametrize(
    ("k", "message"),
    [
        (np.ones((2, 3)), "square"),
        (np.ones(4), "square"),
        (2 * np.eye(3), "diagonal"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), "NaN"),
        (np.array([[1.0, 0.5], [0.2, 1.0]]), "symmetric"),
        (np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]), "semi-definite"),
    ],
)
def test_bad_similarity_matrix_is_rejected(k: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        vendi_score(k)


def test_bad_order_is_rejected() -> None:
    with pytest.raises(ValueError, match="q must be >= 0"):
        vendi_score(np.eye(2), -1.0)
    with pytest.raises(ValueError, match="q must be >= 0"):
        vendi_scores(np.eye(2), qs=(float("nan"),))


def test_qd_score_uses_offset() -> None:
    assert qd_score([0.5, 0.7, 1.0], offset=0.0) == pytest.approx(2.2)
    assert qd_score(np.array([0.5, 0.7, 1.0]), offset=-1.0) == pytest.approx(5.2)
    assert qd_score([], offset=0.0) == 0.0
    with pytest.raises(TypeError):
        qd_score([1.0], 0.0)  # type: ignore[misc]
    with pytest.raises(ValueError, match="invalid"):
        qd_score([1.0, float("nan")], offset=0.0)


def test_coverage() -> None:
    assert coverage(5, 20) == pytest.approx(0.25)
    assert coverage(0, 3) == 0.0
    with pytest.raises(ValueError, match="positive"):
        coverage(0, 0)
    with pytest.raises(ValueError, match="occupied cells"):
        coverage(5, 4)
