"""The MAP-Elites loop: ask -> evaluate -> add -> callbacks.

Our pyribs emitters are asked for a batch, an evaluator scores it, the valid ones go
into the archive through pyribs' public ``add``, and callbacks log metrics, draw the
progress bar and write checkpoints. (pyribs' Scheduler is not used: its ``tell``
adds the solutions it handed out at ``ask``, while an evaluation may return an
improved candidate, and it has no public way to leave invalid ones out.)

One seeded ``numpy.random.Generator`` drives every random choice,
so the same seed (and the same LM replies) gives the same run, and a checkpoint that
saves the generator's state resumes it exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qd.archive import Archive, ArchiveStats
from qd.domain import Domain, Evaluation, Operator
from qd.emitters import OperatorEmitter
from qd.evaluation import Evaluator, InProcessEvaluator, cost, improved
from qd.parents import ParentSelection, resolve_parents

if TYPE_CHECKING:
    from qd.population import PopulationSearch


@dataclass(frozen=True)
class IterationResult:
    """What one iteration did, handed to every callback.

    Attributes:
        iteration: 1-based number of the iteration just finished.
        evaluations: Candidates evaluated so far in the run, this iteration included.
        stats: Archive statistics after the iteration.
        added: Candidates that entered the archive (new cell or better elite).
        invalid: ``(candidate, evaluation)`` pairs that could not be scored.
        seconds: Wall time of the iteration.
    """

    iteration: int
    evaluations: int
    stats: ArchiveStats
    added: int
    invalid: list[tuple[Any, Evaluation]] = field(default_factory=list)
    seconds: float = 0.0

    def metrics(self) -> dict[str, Any]:
        """The flat record written as one line of ``metrics.jsonl``."""
        return {
            "iteration": self.iteration,
            "evaluations": self.evaluations,
            **self.stats.as_dict(),
            "added": self.added,
            "invalid": len(self.invalid),
            "seconds": round(self.seconds, 4),
        }


# Called after each iteration with the loop that ran it: a Search, or its sibling the
# generational PopulationSearch (same callbacks, same run directory).
Callback = Callable[["Search | PopulationSearch", IterationResult], None]


class Search:
    """MAP-Elites over a domain, driven by a pyribs Scheduler.

    Args:
        domain: The plug-in being searched.
        archive: Where elites live; may already hold elites (a resumed run).
        rng: The run's generator; its state is the run's state.
        batch_size: Children per emitter per iteration.
        emitters: Number of operator emitters (each makes ``batch_size`` children).
        operator: Overrides ``domain.variation()``.
        evaluator: Defaults to scoring in process.
        callbacks: Called as ``callback(search, result)`` after each iteration.
        iteration: Iterations already done (non-zero when resuming).
        evaluations: Evaluations already done (non-zero when resuming).
        parents: Parent selection: a name (``uniform``, ``fitness``, or one the domain's
            ``parent_selections()`` offers) or a callable (``qd.parents``).

    Raises:
        ValueError: ``emitters`` below 1, or an unknown parent selection.
    """

    def __init__(
        self,
        domain: Domain,
        archive: Archive,
        *,
        rng: np.random.Generator,
        batch_size: int = 32,
        emitters: int = 1,
        operator: Operator | None = None,
        evaluator: Evaluator | None = None,
        callbacks: Sequence[Callback] = (),
        iteration: int = 0,
        evaluations: int = 0,
        parents: str | ParentSelection = "uniform",
    ) -> None:
        if emitters < 1:
            raise ValueError(f"emitters must be at least 1, got {emitters}")
        self.domain = domain
        self.archive = archive
        self.rng = rng
        self.evaluator = evaluator or InProcessEvaluator(domain)
        self.callbacks = list(callbacks)
        self.iteration = int(iteration)
        self.evaluations = int(evaluations)
        operator = operator or domain.variation()
        selection = resolve_parents(parents, domain)
        self.emitters = [
            OperatorEmitter(
                archive,
                operator=operator,
                initial=domain.initial,
                batch_size=batch_size,
                rng=rng,
                parents=selection,
            )
            for _ in range(emitters)
        ]

    def step(self) -> IterationResult:
        """Run one iteration and call the callbacks."""
        started = time.perf_counter()
        candidates = [child for emitter in self.emitters for child in emitter.ask()]
        evaluations = self.evaluator.evaluate(candidates)
        candidates = improved(candidates, evaluations)
        added = self.archive.add_counting(candidates, evaluations)
        self.iteration += 1
        self.evaluations += cost(evaluations)
        result = IterationResult(
            iteration=self.iteration,
            evaluations=self.evaluations,
            stats=self.archive.stats,
            added=added,
            invalid=[(c, e) for c, e in zip(candidates, evaluations, strict=True) if not e.valid],
            seconds=time.perf_counter() - started,
        )
        for callback in self.callbacks:
            callback(self, result)
        return result

    def run(self, iterations: int) -> Archive:
        """Run until ``iterations`` iterations have been done in total."""
        while self.iteration < iterations:
            self.step()
        return self.archive
