"""A tiny LM domain for runs against the fault server (config name ``fault_domain:Tales``).

Children come from LMX (every child, the first batch too, is an LM request), and they are
scored without the LM (length and vowels), so what a test sees of the LM is exactly its
generation requests. ``lmx = "fixed"`` sends the same prompt every time, which is what
makes the per-prompt occurrence counters matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qd.domain import Domain, Evaluation, Measure, Operator

SEEDS = ("a spy met a politician", "the politician hid a letter", "a quiet evening in Rome")


class Tales(Domain):
    """Texts written by LMX; objective: share of vowels; measures: length and 'a' share."""

    name = "tales"
    uses_lm = True
    evaluate_uses_lm = False

    def __init__(self, lmx: str = "near") -> None:
        self.lmx = lmx
        self.measures = (
            Measure.uniform("length", 0, 80, 8),
            Measure.uniform("a_share", 0, 0.3, 6),
        )
        self._lmx: Any = None

    def connect(self, *, lm: Any, archive: Any) -> None:
        from qd.lm.lmx import LMXVariation

        self._lm = lm
        self._lmx = LMXVariation(
            lm, template="A story:\n", archive=archive, mode=self.lmx, seeds=SEEDS, max_tokens=16
        )

    def initial(self, n: int, rng: np.random.Generator) -> list[Any]:
        return self._lmx.children(n, rng)

    def variation(self) -> Operator:
        def batch(n: int, rng: np.random.Generator) -> list[Any]:
            return self._lmx.children(n, rng)

        def one(parents: Sequence[Any], rng: np.random.Generator) -> list[Any]:
            return self._lmx.children(1, rng)

        return Operator(one, arity=1, name="lmx", batch=batch)

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        out = []
        for text in batch:
            if not isinstance(text, str) or not text:
                out.append(Evaluation.invalid(f"not a text: {text!r}"))
                continue
            vowels = sum(text.count(v) for v in "aeiou") / len(text)
            out.append(Evaluation(vowels, (min(len(text), 80), text.count("a") / len(text))))
        return out
