"""Quality-diversity numbers: QD score, coverage, and the Vendi score family.

Plain functions on numpy arrays, with no dependency on :class:`qd.archive.Archive`, so
they apply equally to a live archive, a checkpoint read back from JSON, or a baseline
someone else produced.

Coverage and QD score only see the grid: an elite counts once per cell however alike
it is to its neighbours. The Vendi score (Friedman & Dieng 2023) measures how many
*effectively different* items a set holds, from a similarity matrix over anything we
can embed (texts, trees, levels), independent of the grid. Two archives with the same
coverage can differ in how different their elites really are; Vendi tells them apart.
The q-order family (Pasarkar & Dieng 2023) weighs rare against common kinds of item:
small q counts every distinct direction, large q only the dominant ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np

Kernel = Literal["cosine", "rbf"]

DEFAULT_QS: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, math.inf)

# How far K's diagonal may stray from 1, and its eigenvalues below 0, before we call
# the matrix malformed rather than blame floating-point round-off.
_DIAGONAL_TOLERANCE = 1e-6
_NEGATIVE_EIGENVALUE_TOLERANCE = 1e-8


def qd_score(objectives: Sequence[float] | np.ndarray, *, offset: float) -> float:
    """Sum over elites of ``objective - offset``.

    The offset is required and keyword-only on purpose: QD scores only compare across
    runs when they share it, and with an offset at the objective's floor every elite
    adds a non-negative amount, so filling a new cell never lowers the score.

    Args:
        objectives: One objective per elite.
        offset: Subtracted from every objective; use the objective's lowest possible
            value (0 for objectives in [0, 1]).

    Returns:
        The QD score; 0.0 for no elites.

    Raises:
        ValueError: An objective or the offset is NaN or infinite.
    """
    values = np.asarray(objectives, dtype=float).ravel()
    if not math.isfinite(float(offset)):
        raise ValueError(f"qd_score offset must be finite, got {offset}")
    if not np.all(np.isfinite(values)):
        raise ValueError(
            "qd_score got NaN or infinite objectives; drop invalid candidates before "
            "scoring (an archive never holds them)"
        )
    return float(np.sum(values - float(offset)))


def coverage(num_elites: int, cells: int) -> float:
    """Fraction of the archive's cells that hold an elite.

    Args:
        num_elites: Occupied cells.
        cells: All cells of the archive.

    Returns:
        ``num_elites / cells``, in [0, 1].

    Raises:
        ValueError: ``cells`` is not positive, or ``num_elites`` is outside
            ``[0, cells]``.
    """
    if cells <= 0:
        raise ValueError(f"coverage needs a positive number of cells, got {cells}")
    if not 0 <= num_elites <= cells:
        raise ValueError(
            f"num_elites must lie in [0, cells={cells}], got {num_elites}; pass the count "
            "of occupied cells, not of evaluations"
        )
    return float(num_elites) / float(cells)


def similarity_matrix(
    features: Sequence[Sequence[float]] | np.ndarray,
    *,
    kernel: Kernel = "cosine",
    gamma: float | None = None,
) -> np.ndarray:
    """Build the similarity matrix K (``K[i, j]`` in [-1, 1], ``K[i, i] = 1``) of n items.

    Both kernels give a positive semi-definite K with a unit diagonal, which the Vendi
    score needs. Cosine suits embeddings (the Vendi paper's choice for text and
    images): it ignores vector length. RBF suits raw measures or other coordinates
    where distance matters.

    Args:
        features: An ``(n, d)`` array, one row per item.
        kernel: ``"cosine"`` or ``"rbf"`` (``exp(-gamma * ||x - y||^2)``).
        gamma: RBF width. Defaults to ``1 / d``, which does not depend on the data, so
            scores of two archives stay comparable; scale features to similar ranges
            first, or pass the same explicit gamma everywhere you compare.

    Returns:
        The ``(n, n)`` matrix K.

    Raises:
        ValueError: ``features`` is not 2-D, holds NaN or infinite values, a cosine
            row is all zeros, the kernel is unknown, or gamma is not positive.
    """
    x = _features(features)
    d = x.shape[1]
    if kernel == "cosine":
        unit = _unit_rows(x)
        k = unit @ unit.T
    elif kernel == "rbf":
        g = _gamma(gamma, d)
        squared = np.sum(x * x, axis=1)
        distances = np.maximum(squared[:, None] + squared[None, :] - 2.0 * (x @ x.T), 0.0)
        k = np.exp(-g * distances)
    else:
        raise ValueError(f"unknown kernel {kernel!r}; use 'cosine' or 'rbf'")
    k = np.clip((k + k.T) / 2.0, -1.0, 1.0)
    np.fill_diagonal(k, 1.0)
    return k


def vendi_score(k: Sequence[Sequence[float]] | np.ndarray, q: float = 1.0) -> float:
    """Vendi score of order q: the effective number of distinct items under K.

    With λ the eigenvalues of ``K / n``, the score is the Hill number of order q of λ:
    ``exp(-Σ λ log λ)`` for q = 1, ``(Σ λ^q)^(1 / (1 - q))`` otherwise, ``1 / max λ``
    for q = inf and the number of non-zero eigenvalues for q = 0. It ranges from 1
    (all items identical) to n (all mutually dissimilar), whatever the grid says.

    Args:
        k: Positive semi-definite ``(n, n)`` similarity matrix with ``K[i, i] = 1``,
            e.g. from :func:`similarity_matrix`.
        q: Order, ``q >= 0`` (``math.inf`` allowed). Small q rewards rare kinds of item,
            large q only counts the dominant ones.

    Returns:
        The score; 0.0 for no items.

    Raises:
        ValueError: K is not square, symmetric, finite or positive semi-definite, its
            diagonal is not 1, or q is negative or NaN.
    """
    return vendi_scores(k, qs=(q,))[float(q)]


def vendi_scores(
    k: Sequence[Sequence[float]] | np.ndarray, qs: Iterable[float] = DEFAULT_QS
) -> dict[float, float]:
    """Vendi scores of several orders from one eigendecomposition.

    The eigenvalues cost ``O(n^3)``; every order after the first is free, so report
    the family at once (it is non-increasing in q: the gap between small and large q
    shows how unevenly the elites spread over their kinds).

    Args:
        k: Positive semi-definite ``(n, n)`` similarity matrix with unit diagonal.
        qs: Orders to compute, each ``>= 0`` (``math.inf`` allowed).

    Returns:
        ``{float(q): score}`` in the order given; all 0.0 for no items.

    Raises:
        ValueError: As :func:`vendi_score`.
    """
    orders = _orders(qs)
    matrix = _check_similarity(k)
    n = matrix.shape[0]
    if n == 0:
        return dict.fromkeys(orders, 0.0)
    eigenvalues = np.linalg.eigvalsh(matrix / n)
    if eigenvalues.min() < -_NEGATIVE_EIGENVALUE_TOLERANCE:
        raise ValueError(
            f"similarity matrix is not positive semi-definite (eigenvalue "
            f"{eigenvalues.min() * n:.3g}); build it with a kernel, e.g. "
            "qd.metrics.scores.similarity_matrix(features)"
        )
    return _hill_numbers(eigenvalues, orders)


def vendi_score_of_features(
    features: Sequence[Sequence[float]] | np.ndarray,
    q: float = 1.0,
    *,
    kernel: Kernel = "cosine",
    gamma: float | None = None,
) -> float:
    """Vendi score of order q of items given as feature vectors (e.g. embeddings).

    With the cosine kernel and more items than dimensions, the eigenvalues come from
    the ``d x d`` matrix ``X^T X / n`` instead of the ``n x n`` one: it has the same
    non-zero eigenvalues, so thousands of elites with small embeddings cost little.

    Args:
        features: An ``(n, d)`` array, one row per item.
        q: Order, ``q >= 0`` (``math.inf`` allowed).
        kernel: ``"cosine"`` or ``"rbf"``; see :func:`similarity_matrix`.
        gamma: RBF width; see :func:`similarity_matrix`.

    Returns:
        The score; 0.0 for no items.

    Raises:
        ValueError: As :func:`similarity_matrix` and :func:`vendi_score`.
    """
    orders = _orders((q,))
    x = _features(features)
    n, d = x.shape
    if n == 0:
        return 0.0
    if kernel == "cosine" and n > d:
        unit = _unit_rows(x)
        eigenvalues = np.linalg.eigvalsh(unit.T @ unit / n)
        return _hill_numbers(eigenvalues, orders)[orders[0]]
    return vendi_score(similarity_matrix(x, kernel=kernel, gamma=gamma), q)


def elites_vendi(
    features: Callable[[Any, dict[str, Any]], Sequence[float] | None],
    elites: Sequence[Any],
) -> tuple[float, int] | None:
    """Vendi score (cosine) of elites by a domain's ``features`` hook.

    Args:
        features: ``domain.features``: (candidate, info) -> a vector or None.
        elites: Objects with ``candidate`` and ``info`` (``Archive.elites()``).

    Returns:
        ``(score, elites with a vector)``, or None when fewer than two have one.
    """
    vectors = [features(e.candidate, e.info) for e in elites]
    kept = [v for v in vectors if v is not None]
    if len(kept) < 2:
        return None
    return vendi_score_of_features(np.asarray(kept, dtype=float)), len(kept)


# --- helpers ------------------------------------------------------------------------


def _orders(qs: Iterable[float]) -> list[float]:
    orders = [float(q) for q in qs]
    for q in orders:
        if math.isnan(q) or q < 0:
            raise ValueError(f"Vendi order q must be >= 0 (or math.inf), got {q}")
    return orders


def _features(features: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    x = np.asarray(features, dtype=float)
    if x.size == 0:
        return x.reshape(0, x.shape[-1] if x.ndim == 2 else 0)
    if x.ndim != 2:
        raise ValueError(
            f"features must be an (n, d) array, got shape {x.shape}; use "
            "np.reshape(features, (-1, 1)) for a single feature per item"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("features hold NaN or infinite values; drop or impute those rows")
    return x


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1)
    if np.any(norms == 0):
        rows = np.flatnonzero(norms == 0).tolist()
        raise ValueError(
            f"rows {rows[:10]} are all zeros and have no direction for the cosine "
            "kernel; drop them or use kernel='rbf'"
        )
    return x / norms[:, None]


def _gamma(gamma: float | None, d: int) -> float:
    g = 1.0 / max(d, 1) if gamma is None else float(gamma)
    if not (math.isfinite(g) and g > 0):
        raise ValueError(f"rbf gamma must be a positive number, got {gamma}")
    return g


def _check_similarity(k: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    matrix = np.asarray(k, dtype=float)
    if matrix.size == 0:
        return matrix.reshape(0, 0)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            f"similarity matrix must be square (n, n), got shape {matrix.shape}; build "
            "it with qd.metrics.scores.similarity_matrix(features)"
        )
    if not np.all(np.isfinite(matrix)):
        raise ValueError(
            "similarity matrix holds NaN or infinite values; check the features or "
            "embeddings it was built from"
        )
    if not np.allclose(np.diag(matrix), 1.0, rtol=0.0, atol=_DIAGONAL_TOLERANCE):
        raise ValueError(
            "similarity matrix must have 1 on its diagonal (each item is fully similar to "
            "itself); normalise it, e.g. K / sqrt(outer(diag(K), diag(K)))"
        )
    if not np.allclose(matrix, matrix.T, rtol=0.0, atol=1e-8):
        raise ValueError("similarity matrix must be symmetric; use (K + K.T) / 2")
    return matrix


def _hill_numbers(eigenvalues: np.ndarray, orders: Sequence[float]) -> dict[float, float]:
    """Hill numbers of a probability vector given as eigenvalues with round-off.

    Round-off leaves eigenvalues like ±1e-17 where the truth is 0. Negatives are
    clipped, and anything below ``max λ * size * eps`` (numpy's rank tolerance) is set
    to 0: otherwise ``λ^q`` for small q would count each of them as a sizeable
    fraction of an item.
    """
    lam = np.clip(np.asarray(eigenvalues, dtype=float), 0.0, None)
    tolerance = lam.max() * lam.size * np.finfo(float).eps
    lam = lam[lam > tolerance]
    lam = lam / lam.sum()
    scores: dict[float, float] = {}
    for q in orders:
        if q == 0:
            score = float(lam.size)
        elif q == 1:
            score = math.exp(-float(np.sum(lam * np.log(lam))))
        elif math.isinf(q):
            score = 1.0 / float(lam.max())
        else:
            score = float(np.sum(lam**q)) ** (1.0 / (1.0 - q))
        scores[q] = score
    return scores
