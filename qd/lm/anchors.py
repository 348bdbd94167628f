"""Descriptor axes given by anchor texts: where a text lies between them, by embedding.

An axis such as genre is named by its poles, e.g. ``["a scary horror story", "a
romantic love story"]``. A text's value is the expected pole position under a softmax
over its cosine similarities to the poles, divided by a temperature:
``p = softmax(cos / T + b)``, value = ``sum_i p_i * i / (k - 1)``, so 0 is the first pole
and 1 the last. With two poles this is Platt scaling of the cosine difference, and
``T`` and ``b`` are fitted on labelled texts by :func:`fit_calibration` (the judge
harness, ``experiments/judges.py``, reports how well; unfitted, ``T = 0.05`` spreads the
typical cosine gaps of sentence encoders, 0.01-0.2, over the unit interval).

A pole may be several phrasings (a list of strings): their unit embeddings are averaged,
which steadies a pole against the quirks of one wording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["AnchoredAxis", "fit_calibration"]

DEFAULT_TEMPERATURE = 0.05


@dataclass(frozen=True)
class AnchoredAxis:
    """A descriptor axis from two or more anchor poles.

    Args:
        poles: From the axis's low end (value 0) to its high end (value 1); each a text
            or a list of texts whose embeddings are averaged.
        temperature: Softmax temperature on cosine similarities (> 0).
        bias: Added to each pole's scaled similarity (a prior shift); zeros by default.

    Raises:
        ValueError: Fewer than two poles, an empty pole, a bad temperature or bias.
    """

    poles: tuple[tuple[str, ...], ...]
    temperature: float = DEFAULT_TEMPERATURE
    bias: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        poles = tuple((p,) if isinstance(p, str) else tuple(str(t) for t in p) for p in self.poles)
        if len(poles) < 2 or any(not p or not all(t.strip() for t in p) for p in poles):
            raise ValueError(
                f"anchors: need two or more non-empty poles (texts or lists of texts), "
                f"got {list(self.poles)!r}"
            )
        if not (isinstance(self.temperature, int | float) and self.temperature > 0):
            raise ValueError(f"temperature must be > 0, got {self.temperature!r}")
        bias = tuple(float(b) for b in self.bias) or (0.0,) * len(poles)
        if len(bias) != len(poles) or not all(np.isfinite(bias)):
            raise ValueError(f"bias: need {len(poles)} finite numbers, got {list(self.bias)!r}")
        object.__setattr__(self, "poles", poles)
        object.__setattr__(self, "bias", bias)

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> AnchoredAxis:
        """From a config table: ``{anchors = [...], temperature = 0.05, bias = [0, 0.1]}``.

        A scalar ``bias`` with two poles shifts the high pole only.

        Raises:
            ValueError: Unknown keys, or values the class refuses.
        """
        unknown = sorted(set(table) - {"anchors", "temperature", "bias"})
        if unknown:
            raise ValueError(
                f"unknown anchored-axis key(s) {unknown}: use anchors, temperature, bias"
            )
        if "anchors" not in table:
            raise ValueError("an anchored axis needs anchors = [low-end text, high-end text]")
        bias = table.get("bias", ())
        if isinstance(bias, int | float):
            bias = (0.0, float(bias))
        return cls(
            poles=tuple(table["anchors"]),
            temperature=float(table.get("temperature", DEFAULT_TEMPERATURE)),
            bias=tuple(bias),
        )

    def to_config(self) -> dict[str, Any]:
        """The inverse of :meth:`from_config` (for resolved configs and docs)."""
        return {
            "anchors": [p[0] if len(p) == 1 else list(p) for p in self.poles],
            "temperature": self.temperature,
            "bias": list(self.bias),
        }

    @property
    def texts(self) -> list[str]:
        """Every anchor text, pole after pole (what to embed)."""
        return [t for pole in self.poles for t in pole]

    def pole_vectors(self, anchor_vectors: np.ndarray) -> np.ndarray:
        """Unit pole vectors ``(k, d)`` from the embeddings of :attr:`texts`, in order."""
        vectors = np.asarray(anchor_vectors, dtype=np.float64)
        rows, start = [], 0
        for pole in self.poles:
            mean = vectors[start : start + len(pole)].mean(axis=0)
            rows.append(mean / np.linalg.norm(mean))
            start += len(pole)
        return np.stack(rows)

    def similarities(self, text_vectors: np.ndarray, anchor_vectors: np.ndarray) -> np.ndarray:
        """Cosine similarity ``(n, k)`` of unit text vectors to each pole."""
        return np.asarray(text_vectors, dtype=np.float64) @ self.pole_vectors(anchor_vectors).T

    def probabilities(self, similarities: np.ndarray) -> np.ndarray:
        """``softmax(similarities / T + bias)`` per row: how much each pole fits."""
        logits = np.asarray(similarities, dtype=np.float64) / self.temperature + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)

    def values(self, similarities: np.ndarray) -> np.ndarray:
        """The axis value in [0, 1] per row: the expected pole position."""
        positions = np.linspace(0.0, 1.0, len(self.poles))
        return np.clip(self.probabilities(similarities) @ positions, 0.0, 1.0)


def fit_calibration(
    axis: AnchoredAxis, similarities: np.ndarray, labels: Sequence[int]
) -> AnchoredAxis:
    """The axis with temperature and bias fitted by maximum likelihood on labelled texts.

    Args:
        axis: The poles (its temperature and bias are the starting point).
        similarities: ``(n, k)`` from :meth:`AnchoredAxis.similarities`.
        labels: The true pole index of each text.

    Returns:
        A new :class:`AnchoredAxis`; the first pole's bias is held at 0.

    Raises:
        ValueError: Shapes disagree, or a label is not a pole index.
    """
    from scipy.optimize import minimize

    sims = np.asarray(similarities, dtype=np.float64)
    y = np.asarray(labels, dtype=int)
    k = len(axis.poles)
    if sims.ndim != 2 or sims.shape != (len(y), k):
        raise ValueError(f"similarities must be ({len(y)}, {k}), got {sims.shape}")
    if y.size == 0 or y.min() < 0 or y.max() >= k:
        raise ValueError(f"labels must be pole indices in 0..{k - 1}")

    def loss(params: np.ndarray) -> float:
        inverse_t, rest = np.exp(params[0]), np.concatenate([[0.0], params[1:]])
        logits = sims * inverse_t + rest
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        # A weak prior keeps separable data from driving T to 0.
        return float(-log_p[np.arange(len(y)), y].mean() + 1e-5 * params[0] ** 2)

    start = np.concatenate([[np.log(1.0 / axis.temperature)], np.zeros(k - 1)])
    best = minimize(loss, start, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6})
    inverse_t = float(np.exp(best.x[0]))
    return AnchoredAxis(
        poles=axis.poles,
        temperature=1.0 / inverse_t,
        bias=(0.0, *(float(b) for b in best.x[1:])),
    )
