"""What the checks share: the domain, its seeded first batch, its scores, its operator.

Each is made once, on first use, so running one check costs only what it needs and an
LM domain asks its model as little as possible. When making one fails, every check
that needs it fails with that cause, and the checks that do not still run.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from qd.archive import Archive
from qd.domain import Domain, Evaluation, Operator
from qd.search.evaluation import checked_evaluate
from qd.testing._compare import fingerprint, short
from qd.testing._report import CheckFailed
from qd.testing._tape import LMTape


class Broken(CheckFailed):
    """Something a check needs could not be made; the check fails with the cause."""


class CheckContext:
    """The domain under check and what the checks make from it.

    Args:
        domain: The domain.
        iterations: Iterations of the short search.
        batch_size: Candidates per batch.
        seed: Seeds every generator.
        lm: The LM for a domain with ``uses_lm``; connected through an :class:`LMTape`.
    """

    def __init__(
        self, domain: Domain, *, iterations: int, batch_size: int, seed: int, lm: Any
    ) -> None:
        self.domain = domain
        self.name = type(domain).__name__
        self.iterations = int(iterations)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.tape = LMTape(lm) if domain.uses_lm else None
        self.changed: list[str] = []
        """Parents or elites an operator call changed in place, described."""

    @cached_property
    def archive(self) -> Archive:
        """The archive the domain is connected to; it holds the valid initial candidates."""
        return self.fresh_archive()

    def rng(self, offset: int = 0) -> np.random.Generator:
        return np.random.default_rng(self.seed + offset)

    def fresh_archive(self) -> Archive:
        """An empty archive over the domain's axes, connected for an LM domain."""
        try:
            archive = Archive(self.domain.measures)
        except Exception as error:
            raise Broken(f"cannot build an archive from measures: {error}") from error
        if self.tape is not None:
            self.domain.connect(lm=self.tape, archive=archive)
        return archive

    def call(self, what: str, fn: Any, *args: Any) -> Any:
        """``fn(*args)``; an exception becomes a :class:`Broken` naming ``what``."""
        try:
            return fn(*args)
        except CheckFailed:
            raise
        except Exception as error:
            raise Broken(f"{what} raised {type(error).__name__}: {error}") from error

    @cached_property
    def first(self) -> list[Any]:
        """``initial(batch_size, rng(seed))``."""
        self.archive  # noqa: B018 (an LM domain is connected before its first ask)
        return list(
            self.call(f"{self.name}.initial", self.domain.initial, self.batch_size, self.rng())
        )

    @cached_property
    def results(self) -> list[Evaluation]:
        """``evaluate`` on the first batch, as the domain answers (not yet cleaned up)."""
        results = self.call(f"{self.name}.evaluate", self.domain.evaluate, self.first)
        results = list(results) if isinstance(results, list | tuple) else results
        if not isinstance(results, list) or len(results) != len(self.first):
            count = len(results) if isinstance(results, list) else type(results).__name__
            raise Broken(
                f"{self.name}.evaluate returned {count} results for {len(self.first)} "
                "candidates: return one Evaluation per candidate, in order"
            )
        return results

    @cached_property
    def valid(self) -> list[Any]:
        """The well-formed valid initial candidates, added to the archive (an operator's
        parents)."""
        keep = [
            (c, r)
            for c, r in zip(self.first, self.results, strict=True)
            if isinstance(r, Evaluation) and r.valid and result_problem(self.domain, r) is None
        ]
        if not keep:
            reasons = sorted(
                {
                    str(r.invalid_reason) if isinstance(r, Evaluation) else repr(r)
                    for r in self.results
                }
            )
            raise Broken(f"no initial candidate evaluated as valid ({'; '.join(reasons[:3])})")
        self.archive.add([c for c, _ in keep], [r for _, r in keep])
        return [c for c, _ in keep]

    @cached_property
    def operator(self) -> Operator:
        operator = self.call(f"{self.name}.variation()", self.domain.variation)
        if not isinstance(operator, Operator):
            raise Broken(
                f"{self.name}.variation() returned {type(operator).__name__}, not a "
                "qd.domain.Operator: wrap the function, Operator(fn, arity=..., name=...)"
            )
        if operator.arity < 1:
            raise Broken(f"operator {operator.name!r} has arity {operator.arity}; it must be >= 1")
        return operator

    def parents(self) -> list[Any]:
        valid = self.valid
        return [valid[i % len(valid)] for i in range(self.operator.arity)]

    @cached_property
    def children(self) -> list[Any]:
        """One call of the operator on the first valid candidates; records in
        :attr:`changed` any parent or elite the call changed."""
        parents = self.parents()
        watch = self._snapshot(parents)
        children = self.call(
            f"operator {self.operator.name!r}", self.operator, parents, self.rng(1)
        )
        self._compare(watch, "parent")
        if not isinstance(children, list | tuple) or not children:
            raise Broken(
                f"operator {self.operator.name!r} returned {short(children)}; return a "
                "non-empty list of children"
            )
        return list(children)

    @cached_property
    def batch_children(self) -> list[Any] | None:
        """One call of the operator's ``batch`` (None without one), watched like
        :attr:`children`."""
        batch = self.operator.batch
        if batch is None:
            return None
        self.valid  # noqa: B018 (batch draws its parents from the archive)
        watch = self._snapshot([])
        children = self.call(
            f"operator {self.operator.name!r}.batch", batch, self.batch_size, self.rng(2)
        )
        self._compare(watch, "elite")
        return list(children)

    @cached_property
    def child_results(self) -> list[Evaluation]:
        """The children scored as a run scores them (``checked_evaluate``)."""
        children = self.children + (self.batch_children or [])
        return list(self.call(f"{self.name}.evaluate", checked_evaluate, self.domain, children))

    def _snapshot(self, parents: list[Any]) -> list[tuple[Any, str]]:
        unique = {id(c): c for c in [*parents, *self.archive.candidates()]}
        return [(c, fingerprint(self.domain, c)) for c in unique.values()]

    def _compare(self, watch: list[tuple[Any, str]], role: str) -> None:
        for candidate, before in watch:
            after = fingerprint(self.domain, candidate)
            if after != before:
                self.changed.append(f"{role} {short(before, 80)} became {short(after, 80)}")


def result_problem(domain: Domain, result: Evaluation) -> str | None:
    """Why a valid ``result`` could not enter the archive, or None if it can."""
    if not isinstance(result.objective, int | float | np.number) or not np.isfinite(
        result.objective
    ):
        return f"objective {result.objective!r} not finite: keep it a finite number"
    if len(result.measures) != len(domain.measures):
        return (
            f"{len(result.measures)} measures for {len(domain.measures)} axes: give one "
            "value per Measure, in order"
        )
    for measure, value in zip(domain.measures, result.measures, strict=True):
        problem = measure.check(value)
        if problem:
            return problem
    return None
