"""Score prompts the way ChatGPT4PCG 2 (IEEE CoG 2024) does: per letter, then per prompt.

The competition asks a prompt for ``T`` levels ("trials") of each of the 26 uppercase
letters. Each level gets a *stability* (share of blocks that do not move after loading)
and a *similarity* (the letter classifier's softmax probability of the target letter);
the levels of one letter also get a *diversity* from the classifier's whole softmax
vectors. This module turns those numbers into the competition's scores, so a run here
can be compared with the published results. The formulas follow the competition's own
scripts and evaluation page:

- ``chatgpt4pcg/diversity-checking-script``, ``main.py`` (commit ``2abb58d``, Feb 2024,
  the version used for the 2024 edition; the 2025 edition swapped the softmax vectors
  for CLS embeddings): the sum of the cosine distances of all unordered pairs of
  distinct trials, divided by the fixed count ``T(T+1)/2 - T``.
- ``chatgpt4pcg/scoring-and-ranking-script``, ``src/score.ts`` and ``src/index.ts``
  (``NUM_TRIALS = 10``; weights on by default, ``DISABLE_WEIGHTS = false``): trial,
  character, prompt and normalized prompt scores, and the per-letter weights.
- ``chatgpt4pcg/chatgpt4pcg.github.io``, ``pages/evaluation.tsx``: the same formulas
  in print (``sta``, ``sim``, ``div``, ``weight``, ``char``, ``prompt``,
  ``norm_prompt``).

A trial that produced no level (no code, an invalid level, a crash) is *failed*: it
scores 0 stability and 0 similarity and has no softmax vector, but it still counts in
every ``T``. That is deliberate in the competition: a prompt that fails often must not
look as good as one that always delivers.

Example:
    >>> import numpy as np
    >>> from domains.science_birds.scoring import TrialResult, letter_score
    >>> a, b = np.eye(26)[0], np.eye(26)[1]
    >>> trials = [TrialResult(1.0, 1.0, a), TrialResult(0.5, 0.5, b)]
    >>> letter_score(trials, trials_expected=2).score
    0.625
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "LETTERS",
    "LetterScore",
    "LetterWeight",
    "TrialResult",
    "diversity",
    "format_table",
    "letter_score",
    "letter_weights",
    "normalized_prompt_scores",
    "prompt_score",
    "weighted_prompt_scores",
]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""The competition's 26 target letters, in the classifier's output order."""


def _check_unit(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return value


CLASS_COUNTS = (len(LETTERS), len(LETTERS) + 1)
"""A softmax vector covers the 26 letters, or the letters and "not a letter"."""


def _as_vector(probabilities: object, *, dimension: int | None, where: str) -> np.ndarray:
    vector = np.asarray(probabilities, dtype=np.float64)
    allowed = CLASS_COUNTS if dimension is None else (dimension,)
    if vector.ndim != 1 or len(vector) not in allowed:
        raise ValueError(
            f"{where}: a softmax vector must have shape ({' or '.join(map(str, allowed))},), "
            f"one entry per class, got shape {vector.shape}; pass the classifier's full "
            "output for this level"
        )
    if not np.all(np.isfinite(vector)) or np.any(vector < 0.0):
        raise ValueError(f"{where}: softmax probabilities must be finite and non-negative")
    if not np.any(vector > 0.0):
        raise ValueError(f"{where}: an all-zero vector has no direction, so no cosine distance")
    return vector


@dataclass(frozen=True)
class TrialResult:
    """What one trial (one generated level) of one letter scored.

    The letter is kept outside: a trial is only ever scored among the trials of its own
    letter, so repeating the letter here would only give it a chance to disagree.

    Args:
        stability: share of the level's blocks that stay still, in ``[0, 1]``.
        similarity: the classifier's probability of the *target* letter, in ``[0, 1]``.
        probabilities: the judge's full softmax vector (26 entries in :data:`LETTERS`
            order, or 27 with "not a letter" last), used for diversity; ``None`` when
            there is none, and then the trial adds no pair to the diversity sum.
        failed: ``True`` when the trial produced no level; build these with
            :meth:`failure`, which sets the scores to 0 as the competition does.
        reason: why the trial failed (kept for reports).

    Raises:
        ValueError: a score outside ``[0, 1]``, a malformed vector, or a failed trial
            that carries scores.
    """

    stability: float
    similarity: float
    probabilities: np.ndarray | None = field(default=None, compare=False)
    failed: bool = False
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "stability", _check_unit("stability", self.stability))
        object.__setattr__(self, "similarity", _check_unit("similarity", self.similarity))
        if self.failed and (self.stability or self.similarity or self.probabilities is not None):
            raise ValueError(
                "a failed trial has no level, hence no stability, similarity or softmax "
                "vector; build it with TrialResult.failure(reason)"
            )
        if self.probabilities is not None:
            vector = _as_vector(self.probabilities, dimension=None, where="TrialResult")
            vector.setflags(write=False)
            object.__setattr__(self, "probabilities", vector)

    @classmethod
    def failure(cls, reason: str = "") -> TrialResult:
        """A trial that produced no level: it scores 0 but still counts in ``T``.

        Args:
            reason: why it failed, for reports.

        Returns:
            The failed trial.
        """
        return cls(0.0, 0.0, None, failed=True, reason=reason)

    @classmethod
    def from_softmax(
        cls, probabilities: Sequence[float] | np.ndarray, *, stability: float, letter: str
    ) -> TrialResult:
        """A trial whose similarity is read from its softmax vector, as the competition does.

        Args:
            probabilities: the judge's 26 probabilities in :data:`LETTERS` order (27 with
                "not a letter" last).
            stability: share of blocks that stay still, in ``[0, 1]``.
            letter: the target letter (uppercase).

        Returns:
            The trial, with ``similarity = probabilities[LETTERS.index(letter)]``.

        Raises:
            ValueError: an unknown letter or a malformed vector.
        """
        if len(letter) != 1 or letter not in LETTERS:
            raise ValueError(f"letter must be one of {LETTERS}, got {letter!r}")
        vector = _as_vector(probabilities, dimension=None, where="from_softmax")
        # Clip float noise (a softmax can sum to 1 + 1e-7) so a valid output never fails.
        similarity = min(float(vector[LETTERS.index(letter)]), 1.0)
        return cls(stability, similarity, vector)


@dataclass(frozen=True)
class LetterScore:
    """The scores of one letter for one prompt; every mean is over the fixed ``T``.

    Args:
        trials_expected: ``T``, the number of trials the letter was given.
        trials_ok: how many of them produced a level.
        stability: mean stability over the ``T`` trials (failed ones count 0).
        similarity: mean similarity over the ``T`` trials (failed ones count 0).
        diversity: the letter's diversity, see :func:`diversity`.
        score: ``diversity`` times the mean over ``T`` of ``stability * similarity``
            (the competition's unweighted character score).
    """

    trials_expected: int
    trials_ok: int
    stability: float
    similarity: float
    diversity: float
    score: float

    def __post_init__(self) -> None:
        if self.trials_expected < 1 or not 0 <= self.trials_ok <= self.trials_expected:
            raise ValueError(
                "need 0 <= trials_ok <= trials_expected and trials_expected >= 1, got "
                f"trials_ok={self.trials_ok}, trials_expected={self.trials_expected}"
            )
        for name in ("stability", "similarity", "score"):
            object.__setattr__(self, name, _check_unit(name, getattr(self, name)))
        # Cosine distance of non-negative vectors lies in [0, 1], so the mean does too.
        object.__setattr__(self, "diversity", _check_unit("diversity", self.diversity))


@dataclass(frozen=True)
class LetterWeight:
    """How hard one letter was across all prompts, as the competition weighs it.

    Each factor is ``max(1 - mean over prompts, 1 / C)``: a letter that every prompt
    makes stable, recognisable and varied weighs little; the ``1 / C`` floor keeps an
    easy letter from weighing nothing.

    Args:
        stability: ``w_sta``, from the mean stability over prompts and trials.
        similarity: ``w_sim``, from the mean similarity over prompts and trials.
        diversity: ``w_div``, from the mean diversity over prompts.
    """

    stability: float
    similarity: float
    diversity: float

    @property
    def weight(self) -> float:
        """``w_sta * w_sim * w_div``, the factor on the letter's trial scores."""
        return self.stability * self.similarity * self.diversity


def diversity(
    probabilities: Sequence[np.ndarray | Sequence[float] | None],
    *,
    trials: int,
    dimension: int | None = None,
) -> float:
    """Diversity of one letter's levels: summed pairwise cosine distance over a fixed count.

    The competition sums ``1 - cos(u, v)`` over every unordered pair of distinct trials
    that have a softmax vector and divides by ``T(T+1)/2 - T = T(T-1)/2``, the number of
    pairs ``T`` trials *would* have. A failed trial therefore adds no pair yet stays in
    the count, so failures lower diversity instead of being ignored.

    Args:
        probabilities: one softmax vector per trial; ``None`` for a trial without one.
            Fewer entries than ``trials`` means the missing trials failed.
        trials: ``T``, the number of trials the letter was given (at least 2).
        dimension: length of each vector; None accepts 26 (letters) or 27 (letters and
            not a letter), the same for every vector.

    Returns:
        The diversity, in ``[0, 1]`` for non-negative vectors.

    Raises:
        ValueError: ``trials < 2``, more vectors than ``trials``, or a malformed vector.
    """
    if isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials < 2:
        raise ValueError(
            f"trials must be an integer >= 2 (one level has no pair to compare), got {trials!r}"
        )
    if len(probabilities) > trials:
        raise ValueError(
            f"got {len(probabilities)} vectors for trials={trials}; pass every trial once "
            "and set trials to the number of trials the letter was given"
        )
    vectors = [
        _as_vector(p, dimension=dimension, where=f"trial {i}")
        for i, p in enumerate(probabilities)
        if p is not None
    ]
    pairs = trials * (trials + 1) / 2 - trials
    if len(vectors) < 2:
        return 0.0
    if len({len(v) for v in vectors}) > 1:
        raise ValueError("softmax vectors of one letter must all have the same length")
    unit = np.stack(vectors)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    distances = 1.0 - unit @ unit.T
    upper = distances[np.triu_indices(len(vectors), k=1)]
    # Identical vectors can give -1e-16; distances of non-negative vectors are in [0, 1].
    return float(np.clip(upper, 0.0, 1.0).sum() / pairs)


def letter_score(trials: Sequence[TrialResult], *, trials_expected: int) -> LetterScore:
    """Score one letter of one prompt from its trials.

    Following ``getCharacterScore`` in the competition's ``score.ts`` with all weights 1:
    ``score = diversity * (sum of stability * similarity over trials) / T``. Every mean
    divides by ``T``, so failed or missing trials pull the letter down.

    Args:
        trials: the letter's trials; fewer than ``trials_expected`` means the rest failed.
        trials_expected: ``T``, the number of trials the letter was given (at least 2).

    Returns:
        The letter's :class:`LetterScore`.

    Raises:
        ValueError: more trials than ``trials_expected``, or ``trials_expected < 2``.
        TypeError: an entry that is not a :class:`TrialResult`.
    """
    for i, trial in enumerate(trials):
        if not isinstance(trial, TrialResult):
            raise TypeError(f"trial {i} is a {type(trial).__name__}, expected a TrialResult")
    div = diversity([t.probabilities for t in trials], trials=trials_expected)
    quality = sum(t.stability * t.similarity for t in trials) / trials_expected
    return LetterScore(
        trials_expected=trials_expected,
        trials_ok=sum(not t.failed for t in trials),
        stability=sum(t.stability for t in trials) / trials_expected,
        similarity=sum(t.similarity for t in trials) / trials_expected,
        diversity=div,
        score=div * quality,
    )


def _check_letters(letters: str | Sequence[str]) -> tuple[str, ...]:
    letters = tuple(letters)
    if not letters or len(set(letters)) != len(letters):
        raise ValueError(f"letters must be a non-empty sequence without repeats, got {letters!r}")
    return letters


def _check_keys(per_letter: Mapping[str, LetterScore], letters: tuple[str, ...], who: str) -> None:
    unknown = sorted(set(per_letter) - set(letters))
    if unknown:
        raise ValueError(
            f"{who}: letters {unknown} are not scored letters {''.join(letters)!r}; "
            "use uppercase keys, or pass letters= to score another set"
        )
    for key, value in per_letter.items():
        if not isinstance(value, LetterScore):
            raise TypeError(f"{who}: {key!r} maps to a {type(value).__name__}, not a LetterScore")


def _missing(per_letter: Mapping[str, LetterScore], letters: tuple[str, ...]) -> list[str]:
    return [c for c in letters if c not in per_letter]


def prompt_score(
    per_letter: Mapping[str, LetterScore], *, letters: str | Sequence[str] = LETTERS
) -> float:
    """The unweighted prompt score: the mean letter score over all target letters.

    A letter absent from ``per_letter`` scores 0 (the competition divides by the
    number of letters whatever was produced) and is named in a ``UserWarning``, since a
    missing letter is more often a bug in the caller than a real zero.

    Args:
        per_letter: letter -> its :class:`LetterScore`.
        letters: the target letters; all 26 by default, fewer for a quick study.

    Returns:
        The mean of the letter scores, in ``[0, 1]``.

    Raises:
        ValueError: a key that is not one of ``letters``.
        TypeError: a value that is not a :class:`LetterScore`.
    """
    letters = _check_letters(letters)
    _check_keys(per_letter, letters, "prompt_score")
    missing = _missing(per_letter, letters)
    if missing:
        warnings.warn(
            f"prompt_score: no result for letters {''.join(missing)}; they count as 0",
            UserWarning,
            stacklevel=2,
        )
    return sum(per_letter[c].score for c in letters if c in per_letter) / len(letters)


def letter_weights(
    results: Mapping[str, Mapping[str, LetterScore]], *, letters: str | Sequence[str] = LETTERS
) -> dict[str, LetterWeight]:
    """The competition's per-letter weights from the results of several prompts.

    From ``getWeights`` in ``scoring-and-ranking-script/src/score.ts`` and the
    evaluation page, with ``P`` prompts and ``C`` letters::

        w_sta_j = max(1 - sum_k sum_i sta_ijk / (P T), 1 / C)
        w_sim_j = max(1 - sum_k sum_i sim_ijk / (P T), 1 / C)
        w_div_j = max(1 - sum_k div_jk / P, 1 / C)
        weight_j = w_sta_j * w_sim_j * w_div_j

    ``sum_i sta_ijk / T`` is :attr:`LetterScore.stability`, so the first mean is the
    mean over prompts of that field (and likewise for similarity). A prompt with no
    result for a letter counts 0 there but stays in ``P``, as in the script.

    Args:
        results: prompt name -> (letter -> :class:`LetterScore`).
        letters: the target letters (``C = len(letters)``); all 26 by default.

    Returns:
        letter -> its :class:`LetterWeight`, for every letter in ``letters``.

    Raises:
        ValueError: no prompts, or a key that is not one of ``letters``.
        TypeError: a value that is not a :class:`LetterScore`.
    """
    letters = _check_letters(letters)
    if not results:
        raise ValueError("weights compare prompts: pass the results of at least one prompt")
    for name, per_letter in results.items():
        _check_keys(per_letter, letters, f"prompt {name!r}")
    prompts = len(results)
    floor = 1.0 / len(letters)
    weights = {}
    for c in letters:
        scores = [per_letter[c] for per_letter in results.values() if c in per_letter]
        weights[c] = LetterWeight(
            stability=max(1.0 - sum(s.stability for s in scores) / prompts, floor),
            similarity=max(1.0 - sum(s.similarity for s in scores) / prompts, floor),
            diversity=max(1.0 - sum(s.diversity for s in scores) / prompts, floor),
        )
    return weights


def weighted_prompt_scores(
    results: Mapping[str, Mapping[str, LetterScore]], *, letters: str | Sequence[str] = LETTERS
) -> dict[str, float]:
    """The competition's weighted prompt scores, which rank prompts against each other.

    From ``src/index.ts`` and ``src/score.ts`` of ``chatgpt4pcg/scoring-and-ranking-script``
    (weights enabled, the default) and ``pages/evaluation.tsx``::

        trial_ijk = weight_j * sta_ijk * sim_ijk
        char_jk   = div_jk * sum_i trial_ijk / T      (= weight_j * LetterScore.score)
        prompt_k  = sum_j char_jk / C

    with ``weight_j`` from :func:`letter_weights`. The weights depend on every prompt
    in ``results``, so adding or removing a prompt changes the others' scores: score
    all contenders in one call. The competition ranks by
    :func:`normalized_prompt_scores` of these values; the ranking is the same.

    Args:
        results: prompt name -> (letter -> :class:`LetterScore`).
        letters: the target letters; all 26 by default.

    Returns:
        prompt name -> its weighted prompt score ``prompt_k``.

    Raises:
        ValueError: no prompts, or a key that is not one of ``letters``.
        TypeError: a value that is not a :class:`LetterScore`.
    """
    letters = _check_letters(letters)
    weights = letter_weights(results, letters=letters)
    missing = {
        name: "".join(m)
        for name, per_letter in results.items()
        if (m := _missing(per_letter, letters))
    }
    if missing:
        warnings.warn(
            f"weighted_prompt_scores: letters with no result count as 0: {missing}",
            UserWarning,
            stacklevel=2,
        )
    return {
        name: sum(weights[c].weight * s.score for c, s in per_letter.items()) / len(letters)
        for name, per_letter in results.items()
    }


def normalized_prompt_scores(scores: Mapping[str, float]) -> dict[str, float]:
    """Each prompt's share of the competition, in percent: ``100 * prompt_k / sum``.

    From ``getNormalizedPromptScores`` in ``score.ts``: ``competition = sum_k prompt_k``
    and ``norm_prompt_k = 100 * prompt_k / competition``; when every score is 0 the
    script divides by 1 instead, so all normalized scores are 0.

    Args:
        scores: prompt name -> prompt score (from :func:`weighted_prompt_scores`).

    Returns:
        prompt name -> normalized score; they sum to 100 unless all are 0.
    """
    total = sum(scores.values())
    divider = total if total != 0 else 1.0
    return {name: 100.0 * value / divider for name, value in scores.items()}


def format_table(
    per_letter: Mapping[str, LetterScore],
    *,
    letters: str | Sequence[str] = LETTERS,
    weights: Mapping[str, LetterWeight] | None = None,
    digits: int = 3,
) -> str:
    """A plain-text table of one prompt's letters, with the prompt score as the last row.

    Columns: letter, trials that produced a level (``ok/T``), mean stability, mean
    similarity, diversity and score; with ``weights`` (from :func:`letter_weights`) also
    the weight and the weighted score. The last row holds the means over the letters,
    so its score column is :func:`prompt_score` (and the weighted prompt score). A
    letter with no result shows ``-`` and counts 0.

    Args:
        per_letter: letter -> its :class:`LetterScore`.
        letters: the rows, in order; all 26 by default.
        weights: optional per-letter weights, to show the weighted columns.
        digits: decimals for the numbers.

    Returns:
        The table, one line per row, columns right-aligned, no trailing newline.

    Raises:
        ValueError: a key of ``per_letter`` (or a letter missing from ``weights``) that
            does not match ``letters``.
        TypeError: a value that is not a :class:`LetterScore`.
    """
    letters = _check_letters(letters)
    _check_keys(per_letter, letters, "format_table")
    if weights is not None and (absent := [c for c in letters if c not in weights]):
        raise ValueError(f"format_table: weights lack letters {absent}; use letter_weights()")
    header = ["letter", "ok", "stability", "similarity", "diversity", "score"]
    if weights is not None:
        header += ["weight", "weighted"]
    number = f"{{:.{digits}f}}".format
    rows = []
    totals = np.zeros(len(header) - 2)
    for c in letters:
        s = per_letter.get(c)
        values = [] if s is None else [s.stability, s.similarity, s.diversity, s.score]
        if weights is not None and s is not None:
            values += [weights[c].weight, weights[c].weight * s.score]
        if s is None:
            rows.append([c, "-", *(["-"] * len(totals))])
            continue
        totals += values
        rows.append([c, f"{s.trials_ok}/{s.trials_expected}", *map(number, values)])
    means = totals / len(letters)
    if weights is not None:
        # The mean weight is shown; the weighted column is the mean of products, as it should.
        means[4] = np.mean([weights[c].weight for c in letters])
    ok = sum(s.trials_ok for s in per_letter.values())
    expected = sum(s.trials_expected for s in per_letter.values())
    footer = ["prompt", f"{ok}/{expected}", *map(number, means)]
    table = [header, *rows, footer]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *map(line, rows), rule, line(footer)])


def select_for_score(candidates: Sequence[TrialResult], k: int) -> list[int]:
    """Indices of ``k`` candidates whose set scores well under :func:`letter_score`.

    The letter score multiplies mean quality by the diversity of the set, so the ``k``
    best levels alone can score 0 when they all look alike to the classifier. Greedy
    selection (start from the best, then add whichever candidate raises the set's
    score most) is how a QD archive's spread turns into a competition score.

    Args:
        candidates: Scored levels (an archive's elites).
        k: Set size (the competition's trials per letter).

    Returns:
        Up to ``k`` distinct indices into ``candidates``, in the order picked.
    """
    ok = [i for i, c in enumerate(candidates) if not c.failed]
    if not ok:
        return []
    quality = {i: candidates[i].stability * candidates[i].similarity for i in ok}
    chosen = [max(ok, key=quality.__getitem__)]
    while len(chosen) < min(k, len(ok)):
        rest = [i for i in ok if i not in chosen]

        def gain(i: int) -> tuple[float, float]:
            trial_set = [candidates[j] for j in [*chosen, i]]
            return (letter_score(trial_set, trials_expected=k).score, quality[i])

        chosen.append(max(rest, key=gain))
    return chosen
