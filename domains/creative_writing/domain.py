"""QDAIF creative writing: opinions and stories, judged by AI feedback, varied by LMX.

Quality-Diversity through AI Feedback (Bradley et al., ICLR 2024): an LM writes texts
by few-shot LMX from the archive's elites, and an LM judge reads its own
log-probabilities to say how good a text is (P(yes) to "is this on topic / good?")
and where it lies on each axis (P(horror) against P(romance)). QDAIF's non-uniform
bins (fine near 0 and 1, where judge probabilities pile up) make the map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from domains.creative_writing.seeds import OPINIONS, STORIES, TEMPLATES
from qd.domain import Domain, Evaluation, Measure, Operator

QDAIF_EDGES_20 = (0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.10, 0.20, 0.50,
                  0.80, 0.90, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 1.0)  # fmt: skip
QDAIF_EDGES_10 = (0.0, 0.005, 0.02, 0.05, 0.20, 0.50, 0.80, 0.95, 0.98, 0.995, 1.0)
LMX_MODES = ("near", "replace", "fixed", "shuffle", "random", "quality")


@dataclass(frozen=True)
class Axis:
    """A descriptor judged as P(label_a) normalised over {label_a, label_b}."""

    name: str
    instruction: str
    label_a: str
    label_b: str


TASKS: dict[str, dict[str, Any]] = {
    "opinions": {
        "seeds": OPINIONS,
        "max_tokens": 50,
        "quality": "Determine whether or not the input text is closely related to the "
        "following topic: 'someone talking about whether or not they like to eat "
        "vegetables and plant-based food'. Answer 'yes' if it is about the topic, or "
        "'no' if it is not about the topic.",
        "axes": {
            "sentiment": Axis(
                "sentiment",
                "Determine the sentiment of the given opinion on eating vegetables and "
                "plant-based foods by writing 'positive' or 'negative'.",
                "positive",
                "negative",
            )
        },
        "default_axes": ("sentiment",),
    },
    "stories": {
        "seeds": STORIES,
        "max_tokens": 100,
        "quality": "Determine if the input text contains a high-quality short story "
        "containing two characters, a suspicious spy, and a rich politician. For "
        "example, a high-quality short story would have good flow, interesting plot, "
        "and not repeat similar sentences or undesired items such as titles and URLs. "
        "Answer 'yes' if the input contains a high-quality short story about a "
        "suspicious spy and a rich politician, otherwise answer 'no'.",
        "axes": {
            "genre": Axis(
                "genre",
                "What is the genre of this story? Reply with 'horror' or 'romance'.",
                "romance",
                "horror",
            ),
            "ending": Axis(
                "ending",
                "You are given an input text of a short story. Determine if the story has "
                "a happy ending or a tragic ending. Reply with 'happy' or 'tragic'.",
                "happy",
                "tragic",
            ),
        },
        "default_axes": ("genre", "ending"),
    },
}


class CreativeWriting(Domain):
    """QDAIF's opinions and stories tasks.

    Args:
        task: ``opinions`` (1-D sentiment) or ``stories`` (genre and/or ending).
        descriptors: Axes to map; ``stories`` takes ``["genre"]``, ``["ending"]`` or both
            (1-D axes get QDAIF's 20 non-uniform bins, 2-D maps 10 x 10).
        lmx: Few-shot example selection: ``near`` (QDAIF), ``replace``, and the paper's
            baselines ``fixed``, ``shuffle``, ``random`` and ``quality``.
        max_tokens: Longest text; defaults to the paper's (opinions 50, stories 100).
        min_chars: Shorter replies are invalid (malformed LM output, not a text).
        judge_top_logprobs: Alternatives read at the judge's first answer token. Small
            models often start with "The"; 20 still finds the labels further down
            (OpenAI's chat API allows up to 20).

    Raises:
        ValueError: Unknown task, axis or LMX mode.
    """

    name = "creative_writing"
    uses_lm = True

    def __init__(
        self,
        *,
        task: str = "stories",
        descriptors: Sequence[str] | None = None,
        lmx: str = "near",
        max_tokens: int | None = None,
        min_chars: int = 20,
        judge_top_logprobs: int = 20,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"task: {task!r} is not one of {sorted(TASKS)}")
        spec = TASKS[task]
        axes = tuple(descriptors or spec["default_axes"])
        unknown = [a for a in axes if a not in spec["axes"]]
        if unknown or not 1 <= len(axes) <= 2:
            raise ValueError(
                f"descriptors: {list(axes)} must be one or two of {sorted(spec['axes'])}"
            )
        if lmx not in LMX_MODES:
            raise ValueError(f"lmx: {lmx!r} is not one of {list(LMX_MODES)}")
        self.task = task
        self.axes = tuple(spec["axes"][a] for a in axes)
        self.quality_instruction = spec["quality"]
        self.seeds = tuple(spec["seeds"])
        self.template = TEMPLATES[task]
        self.lmx_mode = lmx
        self.max_tokens = int(max_tokens or spec["max_tokens"])
        self.min_chars = int(min_chars)
        self.judge_top_logprobs = int(judge_top_logprobs)
        edges = QDAIF_EDGES_20 if len(self.axes) == 1 else QDAIF_EDGES_10
        self.measures = tuple(
            Measure.with_edges(a.name, edges, label=f"P({a.label_a}) vs {a.label_b}")
            for a in self.axes
        )
        self._lmx = None
        self._feedback = None

    def connect(self, *, lm: Any, archive: Any) -> None:
        from qd.lm.feedback import AIFeedback
        from qd.lm.lmx import LMXVariation

        self._lmx = LMXVariation(
            lm,
            template=self.template,
            archive=archive,
            mode=self.lmx_mode,
            seeds=list(self.seeds),
            max_tokens=self.max_tokens,
        )
        self._feedback = AIFeedback(lm, top_logprobs=self.judge_top_logprobs)

    def _require_lm(self) -> None:
        if self._lmx is None or self._feedback is None:
            raise RuntimeError(
                "CreativeWriting needs an LM: run it through `qd run` (which connects one) "
                "or call domain.connect(lm=..., archive=...) first"
            )

    # --- the contract -------------------------------------------------------------

    def initial(self, n: int, rng: np.random.Generator) -> list[str | None]:
        """LMX children of the seed texts (QDAIF's seeded initialisation)."""
        self._require_lm()
        return self._lmx.children(n, rng)

    def variation(self) -> Operator:
        """LMX: few-shot prompts from archive elites, one batch of requests per ask."""

        def one(parents: Sequence[Any], rng: np.random.Generator) -> list[str | None]:
            self._require_lm()
            return self._lmx.children(1, rng)

        def batch(n: int, rng: np.random.Generator) -> list[str | None]:
            self._require_lm()
            return self._lmx.children(n, rng)

        return Operator(one, arity=1, name=f"lmx-{self.lmx_mode}", batch=batch)

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        results: list[Evaluation | None] = [None] * len(batch)
        texts, slots = [], []
        for i, text in enumerate(batch):
            if not isinstance(text, str):
                results[i] = Evaluation.invalid("no text: the LM reply was empty or malformed")
            elif len(text.strip()) < self.min_chars:
                results[i] = Evaluation.invalid(
                    f"text shorter than {self.min_chars} characters", text=text
                )
            else:
                texts.append(text)
                slots.append(i)
        if texts:
            self._require_lm()
            quality = self._feedback.quality(texts, self.quality_instruction)
            axes = [
                self._feedback.descriptor(texts, a.instruction, a.label_a, a.label_b)
                for a in self.axes
            ]
            for j, i in enumerate(slots):
                value, info = quality[j]
                values = [axis[j] for axis in axes]
                if value is None or any(v is None for v, _ in values):
                    errors = [info] + [inf for _, inf in values]
                    results[i] = Evaluation.invalid("the LM judge failed", errors=errors)
                    continue
                results[i] = Evaluation(
                    objective=float(value),
                    measures=tuple(float(v) for v, _ in values),
                    info={
                        "quality": info,
                        **{a.name: inf for a, (_, inf) in zip(self.axes, values, strict=True)},
                    },
                )
        return [r for r in results if r is not None]

    def render(self, candidate: Any, info: dict | None = None) -> str:
        return str(candidate)
