"""QDAIF creative writing: opinions and stories, judged by AI feedback, varied by LMX.

Quality-Diversity through AI Feedback (Bradley et al., ICLR 2024): an LM writes texts
by few-shot LMX from the archive's elites, and an LM judge reads its own
log-probabilities to say how good a text is (P(yes) to "is this on topic / good?")
and where it lies on each axis (P(horror) against P(romance)). QDAIF's non-uniform
bins (fine near 0 and 1, where judge probabilities pile up) make the map.

Offline, the embedded 135M LM judges at chance, so each axis and the objective take the
judge that measured best on labelled texts (``judging.py``, ``docs/lm.md``): probes and
anchors on MiniLM embeddings. Each batch is embedded once; the embedding is kept with
every elite (Vendi score, novelty rejection). ``judges="lm"`` and
``quality_judge="lm"`` give the paper's judge, for a strong model behind a server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from domains.creative_writing.judging import build_judge
from domains.creative_writing.seeds import OPINIONS, STORIES, TEMPLATES
from qd.domain import Domain, Evaluation, Measure, Operator
from qd.lm.errors import lm_error_info
from qd.search.novelty import NoveltyFilter

if TYPE_CHECKING:
    from qd.lm.errors import FailedChild
    from qd.lm.lmx import LMXVariation

QDAIF_EDGES_20 = (0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.10, 0.20, 0.50,
                  0.80, 0.90, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 1.0)  # fmt: skip
QDAIF_EDGES_10 = (0.0, 0.005, 0.02, 0.05, 0.20, 0.50, 0.80, 0.95, 0.98, 0.995, 1.0)
LMX_MODES = ("near", "replace", "fixed", "shuffle", "random", "quality")
QUALITY_JUDGES = ("lm", "lm-contextual", "probe", "probe-last")


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
        "steer": (
            "Here is a random {sentiment}opinion piece about eating vegetables and "
            "plant-based foods:\n",
            {"sentiment": ("negative ", "positive ")},
        ),
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
        "steer": (
            "Here is a random example of a fantasy {genre}story about a suspicious spy and "
            "a rich politician{ending}:\n",
            {
                "genre": ("horror ", "romance "),
                "ending": (" with a tragic ending", " with a happy ending"),
            },
        ),
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
        judges: Which judge reads each axis: one name for every axis, or a table per
            axis (see :mod:`domains.creative_writing.judging`): ``"lm"`` (the paper's
            LM judge), ``"lm-contextual"``, ``"anchors"``, ``"probe"``, or an anchors
            table ``{anchors = ["low-end text", "high-end text"]}``, which also defines
            a new axis named in ``descriptors``. Unset axes take the judge measured
            best offline (``DEFAULT_JUDGES``).
        quality_judge: Which judge gives the objective: ``"lm"`` (QDAIF's question, P(yes)),
            ``"lm-contextual"``, ``"probe"`` or ``"probe-last"`` (fitted on the labelled
            stories against flawed copies; stories only). Default: ``"probe"`` for
            stories (AUC 0.95 against the LM's 0.60, docs/lm.md), ``"lm"`` for opinions.
        steer: Name a target in the header the LM continues ("a fantasy horror story
            ... with a happy ending", each axis's end drawn at random, or left unnamed a
            third of the time); the examples keep QDAIF's template. Not in QDAIF: off by
            default, on in the offline flagship, where SmolLM2-135M otherwise writes
            neither romance nor horror.
        novelty_threshold: Reject a child whose embedding has at least this cosine
            similarity to an elite (or an earlier child of its batch) before any judge
            call, as OpenEvolve does; None keeps every child.

    Raises:
        ValueError: Unknown task, axis, judge or LMX mode.
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
        judges: str | Mapping[str, Any] | None = None,
        quality_judge: str | None = None,
        steer: bool = False,
        novelty_threshold: float | None = None,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"task: {task!r} is not one of {sorted(TASKS)}")
        spec = TASKS[task]
        axes = tuple(descriptors or spec["default_axes"])
        self.judge_specs = _judge_specs(judges, axes)
        unknown = [
            a
            for a in axes
            if a not in spec["axes"] and not isinstance(self.judge_specs[a], Mapping)
        ]
        if unknown or not 1 <= len(axes) <= 2 or len(set(axes)) != len(axes):
            raise ValueError(
                f"descriptors: {list(axes)} must be one or two of {sorted(spec['axes'])}, "
                "or axes given by anchors in judges"
            )
        self.quality_judge = quality_judge or ("probe" if task == "stories" else "lm")
        if self.quality_judge not in QUALITY_JUDGES or (
            task != "stories" and self.quality_judge.startswith("probe")
        ):
            allowed = QUALITY_JUDGES if task == "stories" else ("lm", "lm-contextual")
            raise ValueError(
                f"quality_judge: {quality_judge!r} is not one of {list(allowed)} for {task}"
            )
        if novelty_threshold is not None and not 0 < novelty_threshold <= 1:
            raise ValueError(
                f"novelty_threshold: {novelty_threshold!r} must be a cosine in (0, 1], or unset"
            )
        if lmx not in LMX_MODES:
            raise ValueError(f"lmx: {lmx!r} is not one of {list(LMX_MODES)}")
        self.task = task
        self.axis_names = axes
        self.axes = tuple(spec["axes"].get(a) for a in axes)
        self.quality_instruction = spec["quality"]
        self.seeds = tuple(spec["seeds"])
        self.template = TEMPLATES[task]
        self.lmx_mode = lmx
        self.max_tokens = int(max_tokens or spec["max_tokens"])
        self.min_chars = int(min_chars)
        self.judge_top_logprobs = int(judge_top_logprobs)
        edges = QDAIF_EDGES_20 if len(self.axes) == 1 else QDAIF_EDGES_10
        self.measures = tuple(
            Measure.with_edges(name, edges, title=_axis_label(name, axis, self.judge_specs[name]))
            for name, axis in zip(axes, self.axes, strict=True)
        )
        self.novelty = NoveltyFilter(novelty_threshold) if novelty_threshold else None
        self.steer = bool(steer)
        self.steer_spec = spec["steer"]
        self._lmx: LMXVariation | None = None
        self._quality: Any = None
        self._judges: dict[str, Any] = {}
        self._archive: Any = None
        self._lm: Any = None

    def connect(self, *, lm: Any, archive: Any) -> None:
        from qd.lm.lmx import LMXVariation

        self._lmx = LMXVariation(
            lm,
            template=self.template,
            archive=archive,
            mode=self.lmx_mode,
            seeds=list(self.seeds),
            max_tokens=self.max_tokens,
            steer=self.steer_header if self.steer else None,
        )
        self._lm = lm
        self._archive = archive
        self._judges = {
            name: build_judge(
                lm,
                name,
                self.judge_specs[name],
                instruction=None if axis is None else axis.instruction,
                labels=None if axis is None else (axis.label_b, axis.label_a),
                top_logprobs=self.judge_top_logprobs,
            )
            for name, axis in zip(self.axis_names, self.axes, strict=True)
        }
        self._quality = build_judge(
            lm,
            "quality",
            self.quality_judge,
            instruction=self.quality_instruction,
            labels=("no", "yes"),
            top_logprobs=self.judge_top_logprobs,
        )

    def steer_header(self, rng: np.random.Generator) -> str:
        """A header naming a random target: either end of each mapped axis, or neither."""
        template, ends = self.steer_spec
        words = dict.fromkeys(ends, "")
        for name in self.axis_names:
            if name in ends:
                pick = int(rng.integers(3))
                words[name] = ends[name][pick] if pick < 2 else ""
        return template.format(**words)

    def _require_lm(self) -> LMXVariation:
        """The LMX operator; raises when no LM is connected yet."""
        if self._lmx is None or self._quality is None:
            raise RuntimeError(
                "CreativeWriting needs an LM: run it through `qd run` (which connects one) "
                "or call domain.connect(lm=..., archive=...) first"
            )
        return self._lmx

    # --- the contract -------------------------------------------------------------

    def initial(self, n: int, rng: np.random.Generator) -> list[str | FailedChild]:
        """LMX children of the seed texts (QDAIF's seeded initialisation)."""
        return self._require_lm().children(n, rng)

    def variation(self) -> Operator:
        """LMX: few-shot prompts from archive elites, one batch of requests per ask."""

        def one(parents: Sequence[Any], rng: np.random.Generator) -> list[str | FailedChild]:
            return self._require_lm().children(1, rng)

        def batch(n: int, rng: np.random.Generator) -> list[str | FailedChild]:
            # A Brood: the lineage records each child's example elites and prompt key.
            return self._require_lm().children(n, rng)

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
            self._judge(texts, slots, results)
        return [r for r in results if r is not None]

    def _judge(self, texts: list[str], slots: list[int], results: list) -> None:
        """Embed the batch once, drop near-duplicates, then ask the judges what is left."""
        vectors = self._lm.embed_many(texts)
        keep = []
        for j, vector in enumerate(vectors):
            if not isinstance(vector, np.ndarray):
                results[slots[j]] = Evaluation.invalid(
                    f"the embedding request failed: {vector}",
                    text=texts[j],
                    **lm_error_info(vector),
                )
            else:
                keep.append(j)
        if self.novelty is not None and keep:
            elites = [e.info.get("embedding") for e in self._archive.elites()]
            verdicts = self.novelty.check([vectors[j] for j in keep], elites)
            survivors = []
            for j, (novel, closest) in zip(keep, verdicts, strict=True):
                if novel:
                    survivors.append(j)
                    continue
                results[slots[j]] = Evaluation.invalid(
                    f"near-duplicate: cosine {closest:.3f} to an elite or an earlier child "
                    f"(novelty_threshold {self.novelty.threshold})",
                    text=texts[j],
                )
                self.novelty.saved_calls += self._lm_calls_per_text()
            keep = survivors
        if not keep:
            return
        kept_texts = [texts[j] for j in keep]
        matrix = np.stack([vectors[j] for j in keep])
        quality = self._quality.score(kept_texts, matrix)
        axes = [self._judges[name].score(kept_texts, matrix) for name in self.axis_names]
        for row, j in enumerate(keep):
            value, info = quality[row]
            values = [axis[row] for axis in axes]
            if value is None or any(v is None for v, _ in values):
                errors = [info] + [inf for _, inf in values]
                cause = lm_error_info(*errors)
                reason = "the LM judge failed"
                if cause:
                    reason += f": {cause['lm_error'].get('message')}"
                results[slots[j]] = Evaluation.invalid(reason, errors=errors, **cause)
                continue
            results[slots[j]] = Evaluation(
                objective=float(value),
                measures=tuple(float(v) for v, _ in values),
                info={
                    "quality": info,
                    **{n: inf for n, (_, inf) in zip(self.axis_names, values, strict=True)},
                    "embedding": [round(float(x), 5) for x in matrix[row]],
                },
            )

    def _lm_calls_per_text(self) -> int:
        """LM judge calls per text: for the objective and for each axis an LM reads."""
        specs = [self.quality_judge, *self.judge_specs.values()]
        return sum(1 for spec in specs if spec in {"lm", "lm-contextual"})

    def features(self, candidate: Any, info: dict[str, Any]) -> Sequence[float] | None:
        """The text's embedding: reports give the Vendi score of the elites' meanings."""
        return info.get("embedding")

    def run_metrics(self) -> dict[str, Any]:
        if self.novelty is None:
            return {}
        return {
            "novelty_rejected": self.novelty.rejected,
            "judge_calls_saved": self.novelty.saved_calls,
        }

    def render(self, candidate: Any, info: dict | None = None) -> str:
        return str(candidate)


def _judge_specs(judges: str | Mapping[str, Any] | None, axes: Sequence[str]) -> dict[str, Any]:
    """Each axis's judge: the config's choice, else the default measured best offline."""
    from domains.creative_writing.judging import DEFAULT_JUDGES, JUDGE_NAMES

    if isinstance(judges, str):
        if judges not in JUDGE_NAMES:
            raise ValueError(f"judges: {judges!r} is not one of {list(JUDGE_NAMES)}")
        return dict.fromkeys(axes, judges)
    table = dict(judges or {})
    extra = sorted(set(table) - set(axes))
    if extra:
        raise ValueError(f"judges: {extra} are not among the descriptors {list(axes)}")
    for name, spec in table.items():
        if not (isinstance(spec, Mapping) or spec in JUDGE_NAMES):
            raise ValueError(
                f"judges: {name} = {spec!r} is not one of {list(JUDGE_NAMES)} or an anchors table"
            )
    return {a: table.get(a, DEFAULT_JUDGES.get(a, "lm")) for a in axes}


def _axis_label(name: str, axis: Axis | None, spec: Any) -> str:
    if axis is not None:
        return f"P({axis.label_a}) vs {axis.label_b}"
    poles = spec["anchors"]
    ends = [p if isinstance(p, str) else p[0] for p in (poles[0], poles[-1])]
    return f"{name}: {ends[0]!r} to {ends[1]!r}"
