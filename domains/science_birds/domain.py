"""Science Birds levels shaped like a letter, as a QD domain (ChatGPT4PCG 2, and beyond).

A candidate is a level program: a tuple of ``(block_type, x)`` drops (or, as an LM
writes it, program text, parsed safely and never run). Evaluation builds the level
with the competition's drop semantics, settles it in Box2D, rasterises the settled
blocks and asks the letter classifier how much it looks like the target letter.
Objective = stability x similarity, the competition's per-trial quality. The map
spreads levels over the structure's shape (width x height by default), so one run
yields many stable, recognisable and different levels for one letter.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from domains.science_birds.classifier import LETTERS, LetterClassifier
from domains.science_birds.converter import LevelBuildError, build_level
from domains.science_birds.distance import example_mask, mask_iou, settled_mask
from domains.science_birds.edits import edit_program, random_drop
from domains.science_birds.language import parse_program
from domains.science_birds.level import (
    BLOCK_SIZE,
    GRID_HEIGHT,
    GRID_WIDTH,
    Drop,
    Level,
    LevelParseError,
)
from domains.science_birds.physics import simulate
from domains.science_birds.prompting import MODES as PROMPT_MODES
from domains.science_birds.raster import rasterize_poses
from qd.domain import Brood, Domain, Evaluation, Measure, Operator

EXAMPLES_DIR = Path(__file__).with_name("examples")
DESCRIPTORS = ("width", "height", "blocks", "b13_share", "example_iou")
Program = tuple[tuple[str, int], ...]


@functools.cache
def shared_classifier(weights: str | None = None) -> LetterClassifier:
    """The search judge (the shipped classifier, or the one at ``weights``), loaded once
    per process and path (workers included)."""
    return LetterClassifier.load() if weights is None else LetterClassifier.load(weights)


def example_program(letter: str) -> Program:
    """The hand-built level for ``letter`` shipped in ``examples/``."""
    source = (EXAMPLES_DIR / f"{letter.upper()}.py").read_text()
    return tuple((d.block_type, d.x) for d in parse_program(source))


class ScienceBirdsLetters(Domain):
    """Stable Science Birds structures that look like one uppercase letter.

    Args:
        letter: The target letter, ``A`` .. ``Z``.
        descriptors: Two of ``width`` (columns spanned), ``height`` (rows), ``blocks``
            (count), ``b13_share`` (share of upright blocks) and ``example_iou`` (mask
            IoU of the settled level with the letter's standing example: an axis that
            keeps levels unlike the example, :mod:`~domains.science_birds.distance`).
        max_drops: Longest program (drops) the operators make, and the parser allows.
        seed_examples: Start half of the initial population from the shipped hand-built
            letters (the target's own first, then others at random), the rest random.
        seed_fonts: Fill those seed slots after the first with the target letter as
            several fonts draw it (:mod:`~domains.science_birds.font_seeds`) instead of
            other letters' examples, where a font's letter can be built to stand.
        p_crossover: Chance a child is a one-point crossover of two elites' programs;
            otherwise one drop is added, removed, moved or retyped.
        trials: Physics trials per level (best counts), as the competition's 3.
        lm_variation: None (no LM: level edits only), or how an LM writes children:
            ``lmx`` (completion prompts of elite programs, continuing a parent),
            ``few-shot`` (the competition's chat prompt with elites as examples) or
            ``zero-shot`` (the competition's prompt alone); see
            :mod:`domains.science_birds.prompting`. The run then opens an LM.
        lm_share: Share of each batch written by the LM; the rest are level edits.
        lm_max_tokens: Longest LM reply.
        lm_examples: Elites shown per LM prompt.
        judge_weights: The search judge's weights (an ``.npz`` from
            ``train_classifier``); None for the shipped ones. The held-out judge
            (:mod:`~domains.science_birds.glyph_judge`) never runs inside a search.

    Raises:
        ValueError: Unknown letter, descriptor or LM variation, or a bad number.
    """

    name = "science_birds"
    uses_lm = False
    evaluate_uses_lm = False  # the LM writes programs; physics and the classifier judge

    def __init__(
        self,
        *,
        letter: str = "A",
        descriptors: Sequence[str] = ("width", "height"),
        max_drops: int = 40,
        seed_examples: bool = True,
        seed_fonts: bool = False,
        p_crossover: float = 0.2,
        trials: int = 3,
        lm_variation: str | None = None,
        lm_share: float = 0.5,
        lm_max_tokens: int = 200,
        lm_examples: int = 3,
        judge_weights: str | None = None,
    ) -> None:
        if not isinstance(letter, str) or letter.upper() not in LETTERS or len(letter) != 1:
            raise ValueError(f"letter: {letter!r} is not an uppercase letter A-Z")
        unknown = [d for d in descriptors if d not in DESCRIPTORS]
        if unknown or not 1 <= len(descriptors) <= 2:
            raise ValueError(f"descriptors must be one or two of {list(DESCRIPTORS)}")
        if max_drops < 1 or not 0 <= p_crossover <= 1 or trials < 1:
            raise ValueError("need max_drops >= 1, 0 <= p_crossover <= 1 and trials >= 1")
        if lm_variation is not None and lm_variation not in PROMPT_MODES:
            raise ValueError(
                f"lm_variation: {lm_variation!r} is not one of {list(PROMPT_MODES)} (or None)"
            )
        if not 0 <= lm_share <= 1 or lm_max_tokens < 1 or lm_examples < 1:
            raise ValueError("need 0 <= lm_share <= 1, lm_max_tokens >= 1 and lm_examples >= 1")
        self.params: dict[str, Any] = {
            "letter": letter.upper(),
            "descriptors": list(descriptors),
            "max_drops": max_drops,
            "seed_examples": seed_examples,
            "seed_fonts": seed_fonts,
            "p_crossover": p_crossover,
            "trials": trials,
            "lm_variation": lm_variation,
            "lm_share": lm_share,
            "lm_max_tokens": lm_max_tokens,
            "lm_examples": lm_examples,
            "judge_weights": judge_weights,
        }
        if judge_weights is not None and not Path(judge_weights).exists():
            raise ValueError(f"judge_weights: no classifier weights at {judge_weights!r}")
        self.judge_weights = judge_weights
        self.letter = letter.upper()
        self.descriptors = tuple(descriptors)
        self.max_drops = int(max_drops)
        self.seed_examples = bool(seed_examples)
        self.seed_fonts = bool(seed_fonts)
        self.p_crossover = float(p_crossover)
        self.trials = int(trials)
        self.measures = tuple(_measure(d, self.max_drops) for d in self.descriptors)
        self.lm_variation = lm_variation
        self.lm_share = float(lm_share)
        self.uses_lm = lm_variation is not None
        self._prompter: Any = None
        self._archive: Any = None

    def __reduce__(self):
        return (functools.partial(type(self), **self.params), ())

    # --- the contract -------------------------------------------------------------

    def initial(self, n: int, rng: np.random.Generator) -> list[Program]:
        """Random compact programs, and (if enabled) the hand-built letters: the target's
        own example first (the search then starts from a letter that stands), the others
        at random."""
        programs: list[Program] = []
        fonts: list[Program] = []
        if self.seed_examples and self.seed_fonts:
            from domains.science_birds.font_seeds import font_programs

            fonts = font_programs(self.letter, (n - 1) // 2, rng, max_drops=self.max_drops)
        for i in range(n):
            if self.seed_examples and i % 2 == 0 and 0 < i <= 2 * len(fonts):
                programs.append(fonts[i // 2 - 1])
            elif self.seed_examples and i % 2 == 0:
                letter = self.letter if i == 0 else LETTERS[int(rng.integers(len(LETTERS)))]
                programs.append(example_program(letter)[: self.max_drops])
            else:
                size = int(rng.integers(4, min(20, self.max_drops) + 1))
                centre = int(rng.integers(4, 14))
                programs.append(tuple(random_drop(rng, centre) for _ in range(size)))
        return programs

    def connect(self, *, lm: Any, archive: Any) -> None:
        from domains.science_birds.prompting import LevelPrompter

        self._archive = archive
        self._prompter = LevelPrompter(
            lm,
            letter=self.letter,
            mode=self.lm_variation or "lmx",
            archive=archive,
            k=self.params["lm_examples"],
            max_tokens=self.params["lm_max_tokens"],
            max_drops=self.max_drops,
        )

    def variation(self) -> Operator:
        """Level edits (crossover, or one add / remove / move / retype), and LM children.

        Without ``lm_variation`` every child is an edit. With it, each batch has about
        ``lm_share`` children written by the LM in one batch of requests, the rest edits.
        """
        if self.lm_variation is None:
            return Operator(self._vary, arity=2, name="level-edit")
        return Operator(
            self._vary_with_lm, arity=2, name=f"{self.lm_variation}+edit", batch=self._batch
        )

    def _require_lm(self) -> Any:
        if self._prompter is None:
            raise RuntimeError(
                f"lm_variation={self.lm_variation!r} needs an LM: run it through `qd run` "
                "(which connects one) or call domain.connect(lm=..., archive=...) first"
            )
        return self._prompter

    def _batch(self, n: int, rng: np.random.Generator) -> Brood:
        """The LM's children, then the edits, as a :class:`~qd.domain.Brood`: an LM
        child's parents are the elites its prompt showed (its note the reply's cache
        key), an edit's the level it edited (both levels of a crossover)."""
        from_lm = int(rng.binomial(n, self.lm_share))
        brood = self._require_lm().children(from_lm, rng)
        children, parents, notes = list(brood), list(brood.parents), list(brood.notes)
        edited: list[list[Any]] = []
        for _ in range(n - from_lm):
            child, used = self._vary_one(self._archive.sample(2, rng), rng)
            children.append(child)
            edited.append(used)
            notes.append({})
        parents += self._archive.lineage_ids_of(edited)
        return Brood(children, parents, notes)

    def _vary_with_lm(self, parents: Sequence[Any], rng: np.random.Generator) -> list[Any]:
        if rng.random() < self.lm_share:
            return list(self._require_lm().children(1, rng))
        return self._vary(parents, rng)

    def _vary(self, parents: Sequence[Any], rng: np.random.Generator) -> list[Program]:
        return [self._vary_one(parents, rng)[0]]

    def _vary_one(
        self, parents: Sequence[Any], rng: np.random.Generator
    ) -> tuple[Program, list[Any]]:
        """One child of ``parents``, and the parents it came from (the edited level, or
        both levels of a crossover), for the lineage."""
        first, second = self._drops(parents[0]), self._drops(parents[1])
        if rng.random() < self.p_crossover and first and second:
            cut_a, cut_b = int(rng.integers(len(first) + 1)), int(rng.integers(len(second) + 1))
            child = first[:cut_a] + second[cut_b:]
            used = [parents[0], parents[1]]
        else:
            child = edit_program(first, rng, max_drops=self.max_drops)
            used = [parents[0]]
        return tuple(child[: self.max_drops]) or tuple(first), used

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        outcomes = [self._build(candidate) for candidate in batch]
        levels = {i: level for i, level in enumerate(outcomes) if isinstance(level, Level)}
        settled = {i: simulate(level, trials=self.trials) for i, level in levels.items()}
        judged: dict[int, Evaluation] = {}
        if settled:
            images = np.stack(
                [
                    rasterize_poses(
                        result.poses, [b.block_type for b in levels[i].blocks], degrees=False
                    )
                    for i, result in settled.items()
                ]
            )
            judge = shared_classifier(self.judge_weights)
            probabilities = judge.predict_proba(images)
            target = LETTERS.index(self.letter)
            for row, (i, result) in zip(probabilities, settled.items(), strict=True):
                level = levels[i]
                similarity = float(row[target])
                described = _describe(level)
                if "example_iou" in self.descriptors:
                    kinds = [b.block_type for b in level.blocks]
                    described["example_iou"] = mask_iou(
                        settled_mask(result.poses, kinds), example_mask(self.letter)
                    )
                judged[i] = Evaluation(
                    objective=result.stability * similarity,
                    measures=tuple(described[d] for d in self.descriptors),
                    info={
                        "stability": result.stability,
                        "similarity": similarity,
                        "predicted": judge.classes[int(np.argmax(row))],
                        "probabilities": [round(float(p), 5) for p in row],
                        "blocks": len(level.blocks),
                        "poses": [[round(v, 4) for v in pose] for pose in result.poses],
                    },
                )
        return [
            outcome if isinstance(outcome, Evaluation) else judged[i]
            for i, outcome in enumerate(outcomes)
        ]

    def _drops(self, candidate: Any) -> list[tuple[str, int]]:
        """A parent as a list of drops (an elite written as text is parsed first)."""
        if isinstance(candidate, str):
            return [(d.block_type, d.x) for d in parse_program(candidate, max_drops=self.max_drops)]
        return list(candidate)

    def level(self, candidate: Any) -> Level:
        """The level ``candidate`` builds on the grid (before physics).

        Raises:
            ValueError: The candidate is not a level program, or it does not parse or
                build (the message is the evaluation's invalid reason).
        """
        built = self._build(candidate)
        if isinstance(built, Evaluation):
            raise ValueError(built.invalid_reason)
        return built

    def _build(self, candidate: Any) -> Level | Evaluation:
        if candidate is None:
            return Evaluation.invalid("no level: the LM request failed or its reply was empty")
        try:
            if isinstance(candidate, str):
                drops = parse_program(candidate, max_drops=self.max_drops)
            elif _is_program(candidate):
                drops = [Drop(kind, int(x), line) for line, (kind, x) in enumerate(candidate, 1)]
            else:
                return Evaluation.invalid(f"not a level program: {type(candidate).__name__}")
            level = build_level(drops)
        except (LevelParseError, LevelBuildError) as error:
            return Evaluation.invalid(str(error))
        if not level.blocks:
            return Evaluation.invalid("the program drops no block")
        return level

    def features(self, candidate: Any, info: dict[str, Any]) -> list[float] | None:
        """The classifier's 26-way softmax: what the competition's diversity compares."""
        return info.get("probabilities")

    def encode(self, candidate: Program | str) -> list[list] | str:
        """Drops as ``[[type, x], ...]``; program text (an LM reply) stays text."""
        if isinstance(candidate, str):
            return candidate
        return [[kind, int(x)] for kind, x in candidate]

    def decode(self, data: Any) -> Program | str:
        if isinstance(data, str):
            return data
        if not isinstance(data, list) or not _is_program(data):
            raise ValueError(f"not an encoded level program: {data!r}"[:200])
        return tuple((str(kind), int(x)) for kind, x in data)

    def report_section(self, elites: Sequence[Any], figures: Path) -> list[str]:
        """Both judges' verdicts on the elites, the exploit rate and a gallery, and
        how far the best elites are from the standing example."""
        from domains.science_birds.report import from_the_example, judged_twice

        return judged_twice(self, elites, figures) + from_the_example(self, elites)

    def render_details(self, candidate: Any, info: dict[str, Any]) -> dict[str, str]:
        """Both judges on this level: the search judge (the letter classifier the search
        optimised, as ``evaluate`` kept it) and the held-out glyph judge, which never ran
        inside the search (its verdict read from the settled poses, no physics rerun)."""
        from domains.science_birds.report import judges_on

        return judges_on(self, candidate, info)

    def render(self, candidate: Any, info: dict | None = None):
        """The settled level, blocks drawn at their final poses."""
        from domains.science_birds.render import level_figure

        return level_figure(self, candidate, info)


def _measure(descriptor: str, max_drops: int) -> Measure:
    if descriptor == "width":
        return Measure.uniform("width", 1, GRID_WIDTH + 1, GRID_WIDTH, title="width (columns)")
    if descriptor == "height":
        return Measure.uniform("height", 1, GRID_HEIGHT + 1, GRID_HEIGHT, title="height (rows)")
    if descriptor == "blocks":
        bins = max(1, min(max_drops, 20))
        return Measure.uniform("blocks", 1, max_drops + 1, bins, title="blocks")
    if descriptor == "example_iou":
        return Measure.uniform("example_iou", 0, 1, 10, title="mask IoU with the example")
    return Measure.uniform("b13_share", 0, 1, 10, title="share of upright (b13) blocks")


def _describe(level: Level) -> dict[str, float]:
    blocks = level.blocks
    upright = sum(1 for b in blocks if b.block_type == "b13")
    return {
        "width": level.width,
        "height": level.height,
        "blocks": len(blocks),
        "b13_share": upright / len(blocks) if blocks else 0.0,
    }


def _is_program(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(d, list | tuple)
        and len(d) == 2
        and d[0] in BLOCK_SIZE
        and isinstance(d[1], int | np.integer)
        and not isinstance(d[1], bool)
        for d in value
    )
