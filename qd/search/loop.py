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
from typing import Any, NamedTuple, TypedDict, Unpack

import numpy as np

from qd.archive import Archive, ArchiveStats
from qd.domain import Domain, Evaluation
from qd.search.evaluation import Evaluator, InProcessEvaluator, cost, improved

__all__ = ["Callback", "IterationResult", "Lineage", "Loop", "LoopOptions"]


@dataclass(frozen=True)
class Lineage:
    """Where one iteration's candidates came from and what became of them.

    Kept as columns (one entry per candidate, in batch order) so the step only collects
    lists; :meth:`rows` builds the per-candidate records when a callback writes them.

    Attributes:
        iteration: The iteration the candidates were made in (1-based).
        ids: Each candidate's lineage id, ``"<iteration>-<index in batch>"``: unique in
            a run and the same in every rerun of its seed, with no counter to save.
        operators: The name of the operator that made each one (``"initial"`` for seed
            candidates).
        parents: Each one's parents' ids (``[]`` for seed candidates), or None when the
            operator chose its parents itself and did not say which.
        fates: One of :data:`qd.archive.FATES` per candidate.
        evaluations: The evaluations (for the reasons of invalid candidates).
    """

    iteration: int
    ids: list[str]
    operators: list[str]
    parents: list[list[str | None] | None]
    fates: list[str]
    evaluations: Sequence[Evaluation]
    notes: list[dict[str, Any]] | None = None

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-able record per candidate: ``id``, ``iteration``, ``parents``,
        ``operator``, ``fate``, for invalid or novelty-rejected ones ``reason``, and the
        operator's notes (an LM reply's ``prompt_key``)."""
        rows = []
        for i, lineage_id in enumerate(self.ids):
            row: dict[str, Any] = {
                "id": lineage_id,
                "iteration": self.iteration,
                "parents": self.parents[i],
                "operator": self.operators[i],
                "fate": self.fates[i],
            }
            if not self.evaluations[i].valid:
                row["reason"] = self.evaluations[i].invalid_reason
            if self.notes is not None and self.notes[i]:
                row.update(self.notes[i])
            rows.append(row)
        return rows


class Origins(NamedTuple):
    """Where a loop's proposed candidates came from, one entry per candidate."""

    operators: list[str]
    """The name of the operator that made each."""
    parents: list[list[str | None] | None]
    """Each one's parents' lineage ids (``[]`` for initial candidates, None unknown)."""
    notes: list[dict[str, Any]] | None = None
    """Extra fields of each one's lineage record (an LM reply's cache key), if any."""


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
        lineage: Ids, parents, operators and fates of the candidates, or None when the
            loop does not record lineage.
    """

    iteration: int
    evaluations: int
    stats: ArchiveStats
    added: int
    invalid: list[tuple[Any, Evaluation]] = field(default_factory=list)
    seconds: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    lineage: Lineage | None = None

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
    lineage: bool


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
        lineage: Record each candidate's id, parents, operator and fate (True by
            default); the archive keeps each elite's id.
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
        self.lineage = bool(options.get("lineage", True))
        self.ids: list[str] = []
        """The lineage ids of the last iteration's candidates (when recording lineage)."""

    @abstractmethod
    def propose(self) -> list[Any]:
        """This iteration's candidates, to be evaluated."""

    def origins(self, candidates: list[Any]) -> Origins:
        """Called right after :meth:`propose` when recording lineage: each candidate's
        operator name and parents' ids. By default unknown (``"?"``, None); a loop that
        knows says so."""
        return Origins(["?"] * len(candidates), [None] * len(candidates))

    def accept(self, candidates: list[Any], evaluations: list[Evaluation]) -> dict[str, Any]:
        """Keep what the loop needs of the evaluated candidates (after the archive took
        them); returns the loop's own numbers for the metrics line. Nothing by default."""
        return {}

    def step(self) -> IterationResult:
        """Run one iteration and call the callbacks."""
        started = time.perf_counter()
        candidates = self.propose()
        origins = self.origins(candidates) if self.lineage else None
        evaluations = self.evaluator.evaluate(candidates)
        candidates = improved(candidates, evaluations)
        contenders = self._annotate(candidates, evaluations)
        lineage = None
        if origins is not None:
            made = self.iteration + 1
            self.ids = [f"{made}-{i}" for i in range(len(candidates))]
            added, fates = self.archive.add_with_fates(
                candidates, evaluations, self.ids, contenders=contenders
            )
            lineage = Lineage(
                made,
                self.ids,
                origins.operators,
                origins.parents,
                fates,
                evaluations,
                origins.notes,
            )
        else:
            added = self.archive.add_counting(candidates, evaluations, contenders=contenders)
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
            lineage=lineage,
        )
        for callback in self.callbacks:
            callback(self, result)
        return result

    def _annotate(self, candidates: list[Any], evaluations: list[Evaluation]) -> list[int] | None:
        """``Domain.annotate`` of the candidates that may enter the archive, into their
        info (skipped for domains that keep the default); returns those candidates'
        positions (:meth:`Archive.contenders`, which the add then need not find again),
        or None when it did not look."""
        annotate = self.domain.annotate
        if type(self.domain).annotate is Domain.annotate:
            return None
        contenders = self.archive.contenders(evaluations)
        for i in contenders:
            evaluations[i].info.update(annotate(candidates[i], evaluations[i].info))
        return contenders

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
