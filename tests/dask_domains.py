"""A domain for the Dask tests whose evaluation can kill its worker process.

It lives in its own module (not a test file) so Dask's worker processes can import it:
they start with the test process's ``sys.path``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from qd.domain import Domain, Evaluation, Measure, Operator


class Fragile(Domain):
    """Integers 0..9 scored by value; evaluating ``-1`` ends the worker's process."""

    name = "fragile"
    measures = (Measure.uniform("value", 0, 10, 10),)

    def initial(self, n: int, rng: np.random.Generator) -> list[int]:
        return [int(v) for v in rng.integers(0, 10, size=n)]

    def variation(self) -> Operator:
        return Operator(lambda parents, rng: [int(parents[0])], arity=1)

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        if -1 in batch:
            os._exit(1)  # a segfault in a physics engine looks like this to Dask
        return [Evaluation(float(v) / 10, (float(v),)) for v in batch]
