"""Text judges for one descriptor axis: each turns texts into values in [0, 1].

A judge answers "how far towards the axis's high end is this text?" with a probability.
Three families, measured side by side on labelled texts by ``experiments/judges.py``
(accuracy, AUC, calibration, cost), so domains pick by numbers rather than by habit:

- :class:`LMLabelJudge`: QDAIF's AI feedback, P(high label) read from the answer
  token's log-probabilities, optionally with few-shot examples in the prompt and
  contextual calibration (Zhao et al. 2021: divide by the label prior the model shows on
  content-free inputs such as "N/A", which removes a small model's bias towards one
  label) or a fitted Platt scaling of the log-odds.
- :class:`AnchorJudge`: cosine similarity of the text's embedding to anchor texts
  (:class:`~qd.lm.anchors.AnchoredAxis`), cheap and strong on topic and genre.
- :class:`ProbeJudge`: a logistic regression on embeddings fitted on labelled texts;
  it learns what anchor phrases cannot say (e.g. how a story ends).

Every judge has ``score(texts, vectors=None)``; ``vectors`` are the texts' unit
embeddings when the caller has them already (a domain embeds each batch once).
Embedding judges can look at a *view* of the text: ``"last-sentence"`` embeds only the
final sentence, where a story's ending is told. A whole-story embedding is mostly topic
and genre; on the labelled stories it reads the ending at chance (AUC 0.50), its last
sentence at AUC 0.78 (``docs/lm.md``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from qd.lm.anchors import AnchoredAxis
from qd.lm.feedback import PROMPT_TEMPLATE, AIFeedback

__all__ = [
    "CONTENT_FREE",
    "AnchorJudge",
    "LMLabelJudge",
    "ProbeJudge",
    "TextJudge",
    "few_shot_template",
    "text_view",
]

VIEWS = ("text", "last-sentence")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+")
_COMPLETE = re.compile(r"[.!?][\"'”’)]*$")

CONTENT_FREE = ("N/A", "", "[MASK]")
"""Zhao et al.'s content-free inputs: the judge's answers to them are its label prior."""

Scores = list[tuple[float | None, dict[str, Any]]]


class TextJudge(Protocol):
    """What a domain needs of a judge: a value in [0, 1] per text, or None and why."""

    def score(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> Scores: ...


def few_shot_template(
    examples: Sequence[tuple[str, str]], *, template: str = PROMPT_TEMPLATE
) -> str:
    """A judge prompt template with labelled examples before the text.

    Args:
        examples: ``(text, label)`` pairs, shown as answered questions.
        template: The one-shot template (``{instruction}`` then ``{text}``).

    Returns:
        A template with the same two fields; braces in the examples are escaped.
    """
    head, _, tail = template.partition("{text}")
    instruction_part, _, input_header = head.rpartition("\n\n")
    shots = "".join(
        f"{input_header}{_escape(text)}{tail}{_escape(label)}\n\n" for text, label in examples
    )
    return f"{instruction_part}\n\n{shots}{input_header}{{text}}{tail}"


def text_view(text: str, view: str) -> str:
    """The part of ``text`` a judge reads: all of it, or its last complete sentence.

    Raises:
        ValueError: An unknown view.
    """
    if view == "text":
        return text
    if view == "last-sentence":
        sentences = [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]
        if len(sentences) > 1 and not _COMPLETE.search(sentences[-1]):
            sentences.pop()  # a reply cut off by max_tokens: its last full sentence
        return sentences[-1] if sentences else text
    raise ValueError(f"view: {view!r} is not one of {list(VIEWS)}")


def _embedded(lm: Any, texts: Sequence[str], vectors: np.ndarray | None, view: str) -> np.ndarray:
    """The embeddings of the judge's view: the caller's vectors when the view is the text."""
    if view == "text" and vectors is not None:
        return vectors
    return lm.embed([text_view(t, view) for t in texts])


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class LMLabelJudge:
    """P(high label) from an LM's log-probabilities (QDAIF's AI feedback).

    Args:
        lm: An :class:`~qd.lm.LM`.
        instruction: The question, naming both labels.
        labels: ``(low, high)``: the value is P(high) normalised over the two.
        examples: Labelled ``(text, label)`` examples for a few-shot prompt.
        calibration: ``"none"``, ``"contextual"`` (divide by the prior on
            :data:`CONTENT_FREE` inputs, measured once on first use) or ``"platt"``
            (``sigmoid(a * logit + b)`` with ``platt=(a, b)`` fitted on labelled texts).
        platt: The Platt parameters for ``calibration="platt"``.
        top_logprobs: Alternatives read at the answer token.
    """

    def __init__(
        self,
        lm: Any,
        *,
        instruction: str,
        labels: tuple[str, str],
        examples: Sequence[tuple[str, str]] = (),
        calibration: str = "none",
        platt: tuple[float, float] | None = None,
        top_logprobs: int = 20,
    ) -> None:
        if calibration not in {"none", "contextual", "platt"}:
            raise ValueError(
                f"calibration: {calibration!r} is not one of 'none', 'contextual', 'platt'"
            )
        if calibration == "platt" and platt is None:
            raise ValueError("calibration='platt' needs platt=(a, b) fitted on labelled texts")
        self.instruction = instruction
        self.labels = (str(labels[0]), str(labels[1]))
        self.calibration = calibration
        self.platt = platt
        template = few_shot_template(examples) if examples else PROMPT_TEMPLATE
        self.feedback = AIFeedback(lm, top_logprobs=top_logprobs, template=template)
        self.prior: dict[str, float] | None = None

    def _prior(self) -> dict[str, float]:
        if self.prior is None:
            found = self.feedback.distributions(list(CONTENT_FREE), self.instruction, self.labels)
            rows = [probs for probs, _ in found if probs is not None]
            if not rows:
                raise RuntimeError(f"contextual calibration failed: {found[0][1]}")
            self.prior = {
                label: max(float(np.mean([r[label] for r in rows])), 1e-6) for label in self.labels
            }
        return self.prior

    def score(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> Scores:
        low, high = self.labels
        prior = self._prior() if self.calibration == "contextual" else None
        out: Scores = []
        for probs, info in self.feedback.distributions(list(texts), self.instruction, self.labels):
            if probs is None:
                out.append((None, info))
                continue
            p_high = probs[high]
            if prior is not None:
                weights = {label: probs[label] / prior[label] for label in self.labels}
                p_high = weights[high] / (weights[high] + weights[low])
                info["prior"] = prior
            elif self.platt is not None:
                a, b = self.platt
                p_high = _sigmoid(a * _logit(p_high) + b)
            out.append((float(p_high), {"probs": probs, **info}))
        return out


class AnchorJudge:
    """The anchored-axis value of each text's embedding (see :mod:`qd.lm.anchors`).

    Args:
        lm: Anything with ``embed(texts)`` (an :class:`~qd.lm.LM` or an Embedder).
        axis: The poles, temperature and bias.
        view: ``"text"`` or ``"last-sentence"`` (see :func:`text_view`).
    """

    def __init__(self, lm: Any, axis: AnchoredAxis, *, view: str = "text") -> None:
        text_view("", view)  # validates
        self.lm = lm
        self.axis = axis
        self.view = view
        self._anchors: np.ndarray | None = None

    def similarities(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Cosine similarity of each text to each pole, ``(n, k)``."""
        if self._anchors is None:
            self._anchors = self.lm.embed(self.axis.texts)
        return self.axis.similarities(_embedded(self.lm, texts, vectors, self.view), self._anchors)

    def score(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> Scores:
        if not len(texts):
            return []
        sims = self.similarities(texts, vectors)
        values = self.axis.values(sims)
        return [
            (float(v), {"cosines": [round(float(c), 4) for c in row]})
            for v, row in zip(values, sims, strict=True)
        ]


@dataclass(frozen=True)
class ProbeJudge:
    """``sigmoid(w . embedding + b)``: a linear probe fitted on labelled embeddings.

    Args:
        lm: Anything with ``embed(texts)``.
        weights: One weight per embedding dimension.
        bias: The intercept.
        view: ``"text"`` or ``"last-sentence"``: what the probe was fitted on.
    """

    lm: Any
    weights: tuple[float, ...]
    bias: float
    view: str = "text"

    def __post_init__(self) -> None:
        text_view("", self.view)  # validates

    @classmethod
    def from_config(cls, lm: Any, table: Mapping[str, Any]) -> ProbeJudge:
        """From ``{weights = [...], bias = ..., view = ...}`` (``experiments/judges.py``)."""
        return cls(
            lm,
            tuple(float(w) for w in table["weights"]),
            float(table["bias"]),
            str(table.get("view", "text")),
        )

    def score(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> Scores:
        if not len(texts):
            return []
        vectors = _embedded(self.lm, texts, vectors, self.view)
        weights = np.asarray(self.weights, dtype=np.float64)
        if vectors.shape[1] != weights.size:
            raise ValueError(
                f"the probe has {weights.size} weights but the embeddings have "
                f"{vectors.shape[1]} dimensions: refit it for this embedding model"
            )
        logits = np.asarray(vectors, dtype=np.float64) @ weights + self.bias
        return [(float(_sigmoid(z)), {"logit": round(float(z), 4)}) for z in logits]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _logit(p: float, eps: float = 1e-6) -> float:
    p = min(max(p, eps), 1.0 - eps)
    return math.log(p / (1.0 - p))
