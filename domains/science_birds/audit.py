"""What a levels search found, judged by the judge it never saw.

The search judge (the classifier) is what a search optimises, so its verdict on the
search's own elites is the least trustworthy number there is. Every table of results
therefore also shows the held-out glyph judge's similarity, and the *exploit rate*:
among elites the search judge calls the letter (similarity >= 0.9), the share the
held-out judge rejects (similarity < 0.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from domains.science_birds.classifier import LETTERS
from domains.science_birds.glyph_judge import GlyphJudge
from domains.science_birds.scoring import TrialResult

__all__ = [
    "EXPLOIT_HELDOUT",
    "EXPLOIT_SEARCH",
    "JUDGES",
    "exploit_rate",
    "heldout_probabilities",
    "heldout_similarities",
    "judged_trials",
]

JUDGES = ("search", "held-out")
"""The two judges every levels table reports: the classifier a search optimises, and
the glyph judge it never saw."""

EXPLOIT_SEARCH = 0.9
"""Search-judge similarity from which an elite counts as "called the letter"."""

EXPLOIT_HELDOUT = 0.5
"""Held-out similarity below which such an elite is an exploit."""


def heldout_probabilities(
    domain: Any, elites: Sequence[Any], judge: GlyphJudge | None = None
) -> np.ndarray:
    """The held-out judge's ``(n, 27)`` probabilities (A-Z, not a letter) for each elite,
    from the settled poses the evaluation kept in ``info`` (no physics is rerun)."""
    judge = judge or GlyphJudge.load()
    levels = [
        (e.info["poses"], [b.block_type for b in domain.level(e.candidate).blocks]) for e in elites
    ]
    if not levels:
        return np.zeros((0, len(LETTERS) + 1))
    return judge.predict_proba(levels)


def heldout_similarities(
    domain: Any, elites: Sequence[Any], judge: GlyphJudge | None = None
) -> np.ndarray:
    """The held-out judge's similarity to ``domain.letter`` of each elite."""
    return heldout_probabilities(domain, elites, judge)[:, LETTERS.index(domain.letter)]


def exploit_rate(
    search: Sequence[float] | np.ndarray, heldout: Sequence[float] | np.ndarray
) -> float:
    """Share of elites with search similarity >= 0.9 whose held-out similarity is < 0.5;
    NaN when the search judge calls none of them the letter."""
    search_arr, heldout_arr = np.asarray(search, float), np.asarray(heldout, float)
    called = search_arr >= EXPLOIT_SEARCH
    if not called.any():
        return float("nan")
    return float(np.mean(heldout_arr[called] < EXPLOIT_HELDOUT))


def judged_trials(
    domain: Any,
    candidates: Sequence[Any],
    evaluations: Sequence[Any],
    judge: GlyphJudge | None = None,
) -> dict[str, list[TrialResult]]:
    """Competition trials of evaluated levels under each of :data:`JUDGES`.

    Stability is the same for both; similarity and the softmax vector (for diversity)
    come from the search judge as evaluated, and from the held-out judge on the settled
    poses the evaluation kept. ``evaluations`` are :class:`~qd.domain.Evaluation` or
    archive elites (always valid); an invalid evaluation is a failed trial for both.
    """
    judge = judge or GlyphJudge.load()
    trials: dict[str, list[TrialResult]] = {name: [] for name in JUDGES}
    valid = [i for i, e in enumerate(evaluations) if getattr(e, "valid", True)]
    levels = [
        (evaluations[i].info["poses"], [b.block_type for b in domain.level(candidates[i]).blocks])
        for i in valid
    ]
    heldout = dict(zip(valid, judge.predict_proba(levels) if levels else [], strict=True))
    target = LETTERS.index(domain.letter)
    for i, evaluation in enumerate(evaluations):
        if i not in heldout:
            failure = TrialResult.failure(evaluation.invalid_reason or "invalid")
            trials["search"].append(failure)
            trials["held-out"].append(failure)
            continue
        info = evaluation.info
        stability = float(info["stability"])
        trials["search"].append(
            TrialResult(
                stability=stability,
                similarity=float(info["similarity"]),
                probabilities=np.asarray(info["probabilities"], dtype=float),
            )
        )
        trials["held-out"].append(
            TrialResult(
                stability=stability,
                similarity=min(float(heldout[i][target]), 1.0),
                probabilities=heldout[i],
            )
        )
    return trials
