"""A small domain with three measures and a numeric ``info`` field, for the explorer's
axis and colour choices (imported by class path: tests/ is on sys.path)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qd.domain import Domain, Evaluation, Measure, Operator


class Cube(Domain):
    """Points in the unit cube: each coordinate is an axis, near the origin is better."""

    name = "cube"
    measures = (
        Measure.uniform("x", 0.0, 1.0, 5),
        Measure.uniform("y", 0.0, 1.0, 5),
        Measure.uniform("z", 0.0, 1.0, 4, title="height z"),
    )

    def initial(self, n: int, rng: np.random.Generator) -> list[list[float]]:
        return rng.uniform(0.0, 1.0, size=(n, 3)).tolist()

    def variation(self) -> Operator:
        def mutate(parents: Sequence[Any], rng: np.random.Generator) -> list[list[float]]:
            return [np.clip(np.asarray(parents[0]) + rng.normal(0, 0.2, 3), 0, 1).tolist()]

        return Operator(mutate, arity=1, name="gaussian")

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        return [
            Evaluation(
                1.0 - float(np.linalg.norm(v)) / 3**0.5,
                (float(v[0]), float(v[1]), float(v[2])),
                info={"spread": float(np.std(v)), "label": "point"},
            )
            for v in batch
        ]

    def encode(self, candidate: Any) -> list[float]:
        return [float(v) for v in candidate]

    def decode(self, data: Any) -> list[float]:
        return [float(v) for v in data]
