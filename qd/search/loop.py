"""The loop contract: what MAP-Elites and the generational loop share.

A search shape says only how an iteration's candidates are made (:meth:`Loop.propose`)
and what it keeps of them afterwards (:meth:`Loop.accept`); :meth:`Loop.step` does the
rest the same way for both: evaluate, take an evaluation's improved candidate, add to
the archive, count, and call the callbacks. So the run directory, metrics log,
checkpoints, resume, progress bar and report serve every loop through this one type,
and a new shape (an island model, say) is a subclass, not a special case.

One seeded ``numpy.random.Generator`` drives every random choice, so the same seed (and
the same LM replies) gives the same run, and a checkpoint that saves the generator's
state (plus :meth:`Loop.checkpoint_state`) resumes it exactly.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

import numpy as np

from qd.archive import Archive, ArchiveStats
from qd.domain import Domain, Evaluation
from qd.search.evaluation import Evaluator, InProcessEvaluator, cost, improved

__all__ = ["Callback", "IterationResult", "Loop", "LoopOptions"]


@dataclass(frozen=True)
class IterationResult:
    """What one iteration did, handed to every callback.

    Attributes:
        iteration: 1-based number of the iteration just finished.
        evaluations: Candidates evaluated so far in the run, this iteration included.
        stats: Archive statistics after the iteration.
        added: Cells that are new or hold a better elite after the iteration.
        invalid: ``(candidate, evaluation)`` pairs that could not be scored.
        seconds: Wall time of the iteration.
        extra: The loop's own numbers for the metrics line (a population's best).
    """

    iteration: int
    evaluations: int
    stats: ArchiveStats
    added: int
    invalid: list[tuple[Any, Evaluation]] = field(default_factory=list)
    seconds: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        """The flat record written as one line of ``metrics.jsonl``."""
        return {
            "iteration": self.iteration,
            "evaluations": self.evaluations,
            **self.stats.as_dict(),
            "added": self.added,
            "invalid": len(self.invalid),
            "seconds": round(self.seconds, 4),
            **self.extra,
        }


Callback = Callable[["Loop", IterationResult], None]
"""Called after each iteration with the loop that ran it and what it did."""


class LoopOptions(TypedDict, total=False):
    """What every loop takes besides its domain, archive and generator (see :class:`Loop`);
    a search shape passes these on as ``**options``."""

    evaluator: Evaluator | None
    callbacks: Sequence[Callback]
    iteration: int
    evaluations: int


class Loop(ABC):
    """A search over a domain, one iteration at a time.

    Args:
        domain: The plug-in being searched.
        archive: Where elites live; may already hold elites (a resumed run).
        rng: The run's generator; its state is the run's state.
        evaluator: Defaults to scoring in process.
        callbacks: Called as ``callback(loop, result)`` after each iteration.
        iteration: Iterations already done (non-zero when resuming).
        evaluations: Evaluations already done (non-zero when resuming).
    """

    def __init__(
        self,
        domain: Domain,
        archive: Archive,
        *,
        rng: np.random.Generator,
        **options: Unpack[LoopOptions],
    ) -> None:
        self.domain = domain
        self.archive = archive
        self.rng = rng
        self.evaluator = options.get("evaluator") or InProcessEvaluator(domain)
        self.callbacks = list(options.get("callbacks", ()))
        self.iteration = int(options.get("iteration", 0))
        self.evaluations = int(options.get("evaluations", 0))

    @abstractmethod
    def propose(self) -> list[Any]:
        """This iteration's candidates, to be evaluated."""

    def accept(self, candidates: list[Any], evaluations: list[Evaluation]) -> dict[str, Any]:
        """Keep what the loop needs of the evaluated candidates (after the archive took
        them); returns the loop's own numbers for the metrics line. Nothing by default."""
        return {}

    def step(self) -> IterationResult:
        """Run one iteration and call the callbacks."""
        started = time.perf_counter()
        candidates = self.propose()
        evaluations = self.evaluator.evaluate(candidates)
        candidates = improved(candidates, evaluations)
        added = self.archive.add_counting(candidates, evaluations)
        extra = self.accept(candidates, evaluations)
        self.iteration += 1
        self.evaluations += cost(evaluations)
        result = IterationResult(
            iteration=self.iteration,
            evaluations=self.evaluations,
            stats=self.archive.stats,
            added=added,
            invalid=[(c, e) for c, e in zip(candidates, evaluations, strict=True) if not e.valid],
            seconds=time.perf_counter() - started,
            extra=extra,
        )
        for callback in self.callbacks:
            callback(self, result)
        return result

    def run(self, iterations: int) -> Archive:
        """Run until ``iterations`` iterations have been done in total."""
        while self.iteration < iterations:
            self.step()
        return self.archive

    def checkpoint_state(self) -> dict[str, Any] | None:
        """What a checkpoint must hold beyond the archive and the generator (JSON), or
        None when the archive is the whole state (MAP-Elites)."""
        return None

    def restore_state(self, state: Mapping[str, Any] | None) -> None:
        """Take back what :meth:`checkpoint_state` saved.

        Raises:
            ValueError: A state this loop cannot use; the message says why.
        """
        if state:
            raise ValueError(
                f"{type(self).__name__} keeps no state beyond the archive, but the "
                f"checkpoint holds {sorted(state)}"
            )
