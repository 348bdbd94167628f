"""The held-out panel: judges the search never optimises, voting on what a level shows.

A search optimises its judge's blind spots, and one held-out judge has blind spots of
its own: the glyph judge accepts rubble and rejects plain letters, Tesseract misses
many letters but almost never calls rubble one. So every reported number uses a panel
of them, each casting a yes/no vote "this level shows its target letter", combined by
one stated rule: **a level counts as the letter when at least** :data:`K` **of the
voters say yes**, each at its own threshold (:data:`VOTERS`). The thresholds and ``K``
were fitted on levels labelled by eye (``experiments/data/letters_by_eye.jsonl``,
``python experiments/panel_agreement.py``, which also gives the panel's agreement with
the labels by leave-one-out); docs/science_birds.md ("Held-out panel") has the numbers.

A voter is a name, a way to build its judge and how to read it: ``"proba"`` judges
(:class:`~domains.science_birds.glyph_judge.GlyphJudge`) say yes when their
probability of the target letter reaches the threshold; ``"read"`` judges
(:class:`~domains.science_birds.tesseract_judge.TesseractJudge` and any judge with its
``read(poses, block_types)`` method) say yes when the letter they read is the target
with a confidence at or above it. Adding a judge is one line in :data:`VOTERS`.

A judge that cannot be built here (Tesseract without its binary) is left out and the
panel is *reduced*: ``K`` capped at the voters left, the same thresholds (a voter left
alone uses its own fitted ``alone`` threshold), and
:attr:`Panel.note` (printed beside every number) says which judge is missing and how
to install it.

Example:
    >>> from domains.science_birds.level import Block, Level
    >>> from domains.science_birds.raster import grid_poses
    >>> poses, kinds = grid_poses(Level(tuple(Block("b11", 0, r) for r in range(8))))
    >>> panel = Panel()
    >>> verdicts = panel.judge([(poses, kinds)], ["I"], degrees=True)
    >>> bool(verdicts.accepted[0])
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from domains.science_birds.classifier import LETTERS
from domains.science_birds.glyph_judge import GlyphJudge
from domains.science_birds.tesseract_judge import INSTALL_HINT, TesseractJudge, TesseractNotFound

__all__ = [
    "NOT_READ",
    "VOTERS",
    "K",
    "Panel",
    "PanelVerdicts",
    "Voter",
    "elite_levels",
    "panel_exploit_rate",
]

NOT_READ = -1.0
"""A ``"read"`` voter's score when it reads another letter or none: below every
threshold, so a threshold of 0 means "reads the target, at any confidence"."""

Level = tuple[Sequence[Sequence[float]], Sequence[str]]


@dataclass(frozen=True)
class Voter:
    """One judge of the panel.

    Args:
        name: Short name shown in tables (``glyph``, ``tesseract``).
        make: Builds the judge; raises one of ``unavailable`` where it cannot run here.
        kind: ``"proba"``: ``predict_proba(levels, degrees=...)`` gives ``(n, 27)``
            probabilities and the score is the target's; ``"read"``: ``read(poses,
            block_types, degrees=...)`` gives ``(letter or None, confidence)`` and the
            score is the confidence when the letter is the target, else
            :data:`NOT_READ`.
        threshold: The vote is yes when the score is at least this.
        alone: The threshold when this voter is the only one left (a reduced panel);
            None keeps ``threshold``. Fitted on the labels with this voter alone.
        unavailable: Exceptions of ``make`` that mean "not installed here".
        hint: What to install, for the reduced-panel note.
    """

    name: str
    make: Callable[[], Any]
    kind: Literal["proba", "read"]
    threshold: float
    alone: float | None = None
    unavailable: tuple[type[Exception], ...] = ()
    hint: str = ""


VOTERS: tuple[Voter, ...] = (
    Voter("glyph", GlyphJudge.load, "proba", 0.7, alone=0.3),
    Voter("tesseract", TesseractJudge, "read", 0.0, None, (TesseractNotFound,), INSTALL_HINT),
)
"""The panel's judges and their thresholds, fitted on the by-eye labels (111 levels:
at least 1 of 2 with these thresholds agrees with 100, 0.901, and 0.901 by
leave-one-out). A new judge is one more line here; then refit with
``python experiments/panel_agreement.py`` and copy its thresholds and k."""

K = 1
"""Votes a level needs to count as its letter (fitted with the thresholds)."""


@dataclass(frozen=True)
class PanelVerdicts:
    """The panel on a batch of levels.

    Attributes:
        targets: The letter each level was asked to be.
        scores: voter name -> ``(n,)`` scores (see :class:`Voter`).
        reads: voter name -> the letter it reads in each level (None: not a letter).
        votes: voter name -> ``(n,)`` booleans, score >= its threshold.
        accepted: ``(n,)`` booleans: at least ``k`` votes.
        k: Votes needed.
        note: The rule, and which voters are missing if any.
    """

    targets: tuple[str, ...]
    scores: dict[str, np.ndarray]
    reads: dict[str, list[str | None]]
    votes: dict[str, np.ndarray]
    accepted: np.ndarray
    k: int
    note: str = field(default="")


class Panel:
    """The held-out panel (see the module docstring).

    Args:
        voters: The judges; :data:`VOTERS` by default.
        k: Votes needed; capped at the number of voters that could be built.
        judges: Already built judges by voter name (tests, or to share one judge).

    Raises:
        RuntimeError: No voter could be built.
        ValueError: ``k < 1``.
    """

    def __init__(
        self,
        voters: Sequence[Voter] = VOTERS,
        *,
        k: int = K,
        judges: dict[str, Any] | None = None,
    ) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1 (votes a level needs), got {k!r}")
        self.voters: list[Voter] = []
        self.judges: dict[str, Any] = {}
        self.missing: dict[str, str] = {}
        for voter in voters:
            if judges is not None and voter.name in judges:
                judge = judges[voter.name]
            else:
                try:
                    judge = voter.make()
                except voter.unavailable as error:
                    self.missing[voter.name] = voter.hint or str(error)
                    continue
            self.voters.append(voter)
            self.judges[voter.name] = judge
        if not self.voters:
            raise RuntimeError(f"no judge of the panel can run here: {self.missing}")
        self.k = min(int(k), len(self.voters))
        self.thresholds = {v.name: v.threshold for v in self.voters}
        if len(self.voters) == 1 and self.voters[0].alone is not None:
            self.thresholds[self.voters[0].name] = self.voters[0].alone

    @property
    def reduced(self) -> bool:
        """Whether a voter is missing (the numbers then come from fewer judges)."""
        return bool(self.missing)

    @property
    def rule(self) -> str:
        """The rule in words, with each voter's threshold."""
        parts = []
        for v in self.voters:
            at = self.thresholds[v.name]
            if v.kind == "read":
                said = "any confidence" if at <= 0 else f"confidence >= {at:g}"
                parts.append(f"{v.name} (reads it, {said})")
            else:
                parts.append(f"{v.name} (p >= {at:g})")
        return f"at least {self.k} of {len(self.voters)}: " + ", ".join(parts)

    @property
    def note(self) -> str:
        """The rule, and, for a reduced panel, what is missing and how to install it."""
        text = f"held-out panel, {self.rule}"
        if self.missing:
            lacking = "; ".join(f"{name} missing: {hint}" for name, hint in self.missing.items())
            text = f"REDUCED {text} ({lacking})"
        return text

    def judge(
        self, levels: Sequence[Level], targets: Sequence[str], *, degrees: bool = False
    ) -> PanelVerdicts:
        """Each voter's score, reading and vote, and the panel's verdict, per level.

        Args:
            levels: ``(poses, block_types)`` pairs, poses ``(x, y, angle)`` as settled.
            targets: The letter each level should show.
            degrees: Angles in degrees (grid poses, XML) rather than radians (Box2D).

        Raises:
            ValueError: ``levels`` and ``targets`` differ in length, or a target is not
                a letter A-Z.
        """
        if len(levels) != len(targets):
            raise ValueError(f"{len(levels)} levels but {len(targets)} targets")
        if bad := sorted({t for t in targets if t not in tuple(LETTERS)}):
            raise ValueError(f"targets must be uppercase letters A-Z, got {bad}")
        index = np.array([LETTERS.index(t) for t in targets], dtype=int)
        scores: dict[str, np.ndarray] = {}
        reads: dict[str, list[str | None]] = {}
        votes: dict[str, np.ndarray] = {}
        for voter in self.voters:
            judge = self.judges[voter.name]
            if not levels:
                scores[voter.name], reads[voter.name] = np.zeros(0), []
            elif voter.kind == "proba":
                proba = np.asarray(judge.predict_proba(list(levels), degrees=degrees))
                scores[voter.name] = proba[np.arange(len(levels)), index]
                best = proba.argmax(axis=1)
                reads[voter.name] = [LETTERS[b] if b < len(LETTERS) else None for b in best]
            else:
                answers = [judge.read(p, k, degrees=degrees) for p, k in levels]
                reads[voter.name] = [letter for letter, _ in answers]
                scores[voter.name] = np.array(
                    [
                        float(c) if letter == t else NOT_READ
                        for (letter, c), t in zip(answers, targets, strict=True)
                    ]
                )
            votes[voter.name] = scores[voter.name] >= self.thresholds[voter.name]
        count = np.sum([votes[v.name] for v in self.voters], axis=0) if levels else np.zeros(0)
        return PanelVerdicts(
            targets=tuple(targets),
            scores=scores,
            reads=reads,
            votes=votes,
            accepted=np.asarray(count >= self.k, dtype=bool),
            k=self.k,
            note=self.note,
        )

    def judge_elites(self, domain: Any, elites: Sequence[Any]) -> PanelVerdicts:
        """The panel on a levels run's elites (or evaluations), from the settled poses
        kept in ``info`` (no physics is rerun); the target is ``domain.letter``."""
        return self.judge(elite_levels(domain, elites), [domain.letter] * len(elites))


def elite_levels(domain: Any, elites: Sequence[Any]) -> list[Level]:
    """``(poses, block_types)`` of each elite, poses as its evaluation settled them."""
    return [
        (e.info["poses"], [b.block_type for b in domain.level(e.candidate).blocks]) for e in elites
    ]


def panel_exploit_rate(
    search: Sequence[float] | np.ndarray, accepted: Sequence[bool] | np.ndarray
) -> float:
    """Share of levels the search judge scores >= 0.9 that the panel rejects; NaN when
    the search judge scores none that high."""
    from domains.science_birds.audit import EXPLOIT_SEARCH

    search_arr, accepted_arr = np.asarray(search, float), np.asarray(accepted, bool)
    called = search_arr >= EXPLOIT_SEARCH
    if not called.any():
        return float("nan")
    return float(np.mean(~accepted_arr[called]))
