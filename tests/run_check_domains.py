"""Domains for the ``check_run`` tests, in a module of their own so that worker
processes and the killed child run can import them (they get the test's ``sys.path``)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from qd.domain import Domain, Evaluation, Measure, Operator

_CALLS = itertools.count()
_SCALE = [1.0]
"""Module-level state that outlives a run, and state set in one process only: the
defects ``check_run`` exists to find."""


class Leaky(Domain):
    """Integers scored by value times a scale that ``__init__`` sets process-wide (a
    worker that unpickles the domain never runs it), plus a tie-break from a call counter
    that outlives the run."""

    name = "leaky"
    measures = (Measure.uniform("value", 0, 10, 10),)

    def __init__(self, scale: float = 2.0) -> None:
        _SCALE[0] = scale

    def initial(self, n: int, rng: np.random.Generator) -> list[int]:
        return [int(v) for v in rng.integers(0, 10, size=n)]

    def variation(self) -> Operator:
        def nudge(parents: Sequence[int], rng: np.random.Generator) -> list[int]:
            return [int(np.clip(parents[0] + rng.integers(-1, 2), 0, 9))]

        return Operator(nudge, arity=1, name="nudge")

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        return [
            Evaluation(_SCALE[0] * v + 1e-3 * (next(_CALLS) % 7), (float(v),), info={})
            for v in batch
        ]
