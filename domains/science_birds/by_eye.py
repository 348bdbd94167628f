"""Levels labelled by eye, and fitting the held-out panel's rule on them.

The panel (:mod:`~domains.science_birds.panel`) stands in for a person reading a level,
so its rule is fitted on levels a person read: ``experiments/data/letters_by_eye.jsonl``
holds, one JSON object a line, each level's ``program`` (drops ``[type, x]``: it is
rebuilt, settled in Box2D and judged again, never stored as a picture), the ``target``
letter the search aimed at, the ``label`` given by eye (a letter, or ``"none"`` for not
a letter), a ``borderline`` flag, and its ``source`` (run config, seed, letter, elite).
How it was made and labelled: docs/science_birds.md, "Held-out panel".

The question the panel answers is binary: does this level read as its target letter?
So a label counts as *yes* when it equals the target; "none" and another letter are
*no*.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from domains.science_birds.classifier import LETTERS
from domains.science_birds.not_letters import program_level
from domains.science_birds.physics import simulate

__all__ = [
    "DEFAULT_BY_EYE",
    "NONE_LABEL",
    "LabelledLevel",
    "agreement",
    "fit_rule",
    "leave_one_out",
    "load_by_eye",
    "settle",
    "vote_rule",
]

DEFAULT_BY_EYE = Path(__file__).resolve().parents[2] / "experiments/data/letters_by_eye.jsonl"
"""The labelled set in the repository."""

NONE_LABEL = "none"
"""The label of a level that is not a letter."""


@dataclass(frozen=True)
class LabelledLevel:
    """One level read by eye.

    Attributes:
        id: Its number in the file.
        program: The drops, ``((type, x), ...)``.
        target: The letter it was meant to be.
        label: The letter it reads as, or :data:`NONE_LABEL`.
        borderline: The reader hesitated (the label is their best reading).
        source: Where it came from (run config and seed, letter, elite index, ...).
    """

    id: int
    program: tuple[tuple[str, int], ...]
    target: str
    label: str
    borderline: bool
    source: Mapping[str, Any]

    @property
    def is_target(self) -> bool:
        """Whether it reads as the letter it was meant to be."""
        return self.label == self.target


def load_by_eye(path: str | Path = DEFAULT_BY_EYE) -> list[LabelledLevel]:
    """The labelled levels in ``path``.

    Raises:
        ValueError: A line is not a labelled level (the line number and what is wrong).
    """
    levels = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            program = tuple((str(kind), int(x)) for kind, x in data["program"])
            target, label = str(data["target"]), data["label"]
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{n}: not a labelled level ({error!r})") from None
        if target not in tuple(LETTERS):
            raise ValueError(f"{path}:{n}: target {target!r} is not a letter A-Z")
        if label != NONE_LABEL and label not in tuple(LETTERS):
            raise ValueError(
                f"{path}:{n}: label {label!r} is neither a letter A-Z nor {NONE_LABEL!r} "
                "(unlabelled? label it by eye first)"
            )
        levels.append(
            LabelledLevel(
                id=int(data.get("id", n - 1)),
                program=program,
                target=target,
                label=label,
                borderline=bool(data.get("borderline", False)),
                source=data.get("source", {}),
            )
        )
    return levels


def settle(level: LabelledLevel) -> tuple[list, list[str]]:
    """``(poses, block_types)``: the level rebuilt and settled (poses in radians).

    Raises:
        ValueError: The program no longer builds.
    """
    built = program_level(level.program)
    if built is None:
        raise ValueError(f"labelled level {level.id} does not build: {level.program}")
    return list(simulate(built).poses), [b.block_type for b in built.blocks]


def agreement(accepted: Sequence[bool] | np.ndarray, truth: Sequence[bool] | np.ndarray) -> float:
    """Share of levels where the verdict (accepted as the target) equals the label's."""
    accepted_arr, truth_arr = np.asarray(accepted, bool), np.asarray(truth, bool)
    if accepted_arr.shape != truth_arr.shape or not len(truth_arr):
        raise ValueError(
            f"need equal, non-empty shapes, got {accepted_arr.shape}, {truth_arr.shape}"
        )
    return float(np.mean(accepted_arr == truth_arr))


def vote_rule(
    scores: Mapping[str, np.ndarray], thresholds: Mapping[str, float], k: int
) -> np.ndarray:
    """Accepted when at least ``k`` voters' scores reach their thresholds."""
    votes = np.array([np.asarray(scores[name]) >= t for name, t in thresholds.items()])
    return np.asarray(votes.sum(axis=0) >= k, dtype=bool)


def fit_rule(
    scores: Mapping[str, np.ndarray],
    truth: np.ndarray,
    grids: Mapping[str, Sequence[float]],
) -> tuple[dict[str, float], int, float]:
    """The thresholds and ``k`` that agree most with ``truth``.

    Every combination of the grids' thresholds and every ``k`` from 1 to the number of
    voters is tried. Ties go to the larger ``k`` (a stricter panel), then to the
    higher thresholds, so the rule is the strictest of the best.

    Returns:
        ``(thresholds by voter, k, agreement)``.
    """
    names = list(grids)
    truth = np.asarray(truth, bool)
    votes = {n: [np.asarray(scores[n]) >= t for t in grids[n]] for n in names}
    best: tuple[tuple[float, int, tuple[float, ...]], dict[str, float], int] | None = None
    for k in range(1, len(names) + 1):
        for picks in itertools.product(*(range(len(grids[n])) for n in names)):
            count = np.sum([votes[n][i] for n, i in zip(names, picks, strict=True)], axis=0)
            agree = float(np.mean((count >= k) == truth))
            thresholds = tuple(grids[n][i] for n, i in zip(names, picks, strict=True))
            key = (agree, k, thresholds)
            if best is None or key > best[0]:
                best = (key, dict(zip(names, thresholds, strict=True)), k)
    assert best is not None
    return best[1], best[2], best[0][0]


def leave_one_out(
    scores: Mapping[str, np.ndarray],
    truth: np.ndarray,
    grids: Mapping[str, Sequence[float]],
) -> np.ndarray:
    """Each level's verdict under the rule fitted on all the other levels: an honest
    estimate of the fitted rule's agreement on levels it did not see."""
    truth = np.asarray(truth, bool)
    verdicts = np.zeros(len(truth), dtype=bool)
    for i in range(len(truth)):
        keep = np.arange(len(truth)) != i
        thresholds, k, _ = fit_rule(
            {n: np.asarray(s)[keep] for n, s in scores.items()}, truth[keep], grids
        )
        one = {n: np.asarray(scores[n])[i : i + 1] for n in thresholds}
        verdicts[i] = vote_rule(one, thresholds, k)[0]
    return verdicts
