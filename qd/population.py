"""The generational loop: a population replaced every iteration (a sibling of MAP-Elites).

Some studies need a plain evolutionary algorithm, not a map: mate-choice GP compares
selection schemes on one population of fixed size. :class:`PopulationSearch` runs one,
behind the same interface as :class:`qd.search.Search` (``step``, ``run``, callbacks
called as ``callback(search, result)``, ``iteration`` and ``evaluations`` counters,
``rng`` and ``archive``), so the run directory, metrics log, checkpoints, resume,
progress bar and report serve both.

One iteration is one generation:

1. the first iteration evaluates ``domain.initial(population_size, rng)``;
2. every later one keeps the ``elitism`` best of the current population (with their
   evaluations) and fills the rest with children from ``breed(population, evaluations,
   n, rng)``, which are evaluated;
3. the generation is added to the archive (a map of everything the population visited,
   so ``qd report`` and QD scores work as for MAP-Elites);
4. callbacks; ``result.metrics()`` adds the population's best and median objective and,
   when the domain has ``population_metrics(population, evaluations)``, its numbers.

``breed`` is the domain's ``breed`` method when it has one; otherwise tournament
selection on the objective feeds the domain's ``variation()`` operator, so any domain
runs in this loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qd.archive import Archive
from qd.domain import Domain, Evaluation, Operator
from qd.evaluation import Evaluator, InProcessEvaluator, cost, improved
from qd.search import Callback, IterationResult

Breed = Callable[[Sequence[Any], Sequence[Evaluation], int, np.random.Generator], list[Any]]


@dataclass(frozen=True)
class GenerationResult(IterationResult):
    """An :class:`~qd.search.IterationResult` plus the population's own numbers."""

    population: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        return {**super().metrics(), **self.population}


def tournament_breed(operator: Operator, *, tournsize: int = 3) -> Breed:
    """A breed step for any domain: each parent wins a tournament on the objective.

    Invalid individuals never win against a valid one. Entrants are drawn with
    replacement (DEAP's ``selTournament``).
    """

    def breed(population, evaluations, n, rng):
        fitness = np.array([e.objective if e.valid else -np.inf for e in evaluations])
        children = []
        for _ in range(n):
            entrants = rng.integers(len(population), size=(operator.arity, tournsize))
            winners = entrants[np.arange(operator.arity), np.argmax(fitness[entrants], axis=1)]
            parents = [population[i] for i in winners]
            offspring = operator(parents, rng)
            children.append(offspring[0] if offspring else parents[0])
        return children

    return breed


class PopulationSearch:
    """A generational evolutionary algorithm over a domain.

    Args:
        domain: The plug-in; ``breed`` and ``population_metrics`` are used when present.
        archive: Where every evaluated individual is offered (a record of the run).
        rng: The run's generator; its state is the run's state.
        population_size: Individuals per generation.
        elitism: Best individuals copied unchanged into the next generation.
        breed: Overrides the domain's ``breed`` (``breed(population, evaluations, n,
            rng) -> n children``).
        evaluator: Defaults to scoring in process.
        callbacks: Called as ``callback(search, result)`` after each generation.
        iteration: Generations already done (non-zero when resuming).
        evaluations: Evaluations already done (non-zero when resuming).

    Raises:
        ValueError: ``population_size`` below 2 or ``elitism`` not below it.
    """

    def __init__(
        self,
        domain: Domain,
        archive: Archive,
        *,
        rng: np.random.Generator,
        population_size: int,
        elitism: int = 0,
        breed: Breed | None = None,
        evaluator: Evaluator | None = None,
        callbacks: Sequence[Callback] = (),
        iteration: int = 0,
        evaluations: int = 0,
    ) -> None:
        if population_size < 2:
            raise ValueError(f"population_size must be at least 2, got {population_size}")
        if not 0 <= elitism < population_size:
            raise ValueError(
                f"elitism must be in [0, population_size), got {elitism} of {population_size}"
            )
        self.domain = domain
        self.archive = archive
        self.rng = rng
        self.population_size = int(population_size)
        self.elitism = int(elitism)
        self.breed: Breed = (
            breed or getattr(domain, "breed", None) or tournament_breed(domain.variation())
        )
        self.evaluator = evaluator or InProcessEvaluator(domain)
        self.callbacks = list(callbacks)
        self.iteration = int(iteration)
        self.evaluations = int(evaluations)
        self.population: list[Any] = []
        self.population_evaluations: list[Evaluation] = []

    def step(self) -> GenerationResult:
        """Make, evaluate and record one generation, then call the callbacks."""
        started = time.perf_counter()
        if not self.population:
            if self.iteration:
                raise RuntimeError(
                    f"generation {self.iteration} has no population; restore the "
                    "checkpoint's state (restore_state) before stepping"
                )
            children = list(self.domain.initial(self.population_size, self.rng))
            kept, kept_evaluations = [], []
        else:
            order = self._ranked()[: self.elitism]
            kept = [self.population[i] for i in order]
            kept_evaluations = [self.population_evaluations[i] for i in order]
            children = list(
                self.breed(
                    self.population,
                    self.population_evaluations,
                    self.population_size - self.elitism,
                    self.rng,
                )
            )
        evaluations = self.evaluator.evaluate(children)
        children = improved(children, evaluations)
        added = self.archive.add_counting(children, evaluations)
        self.population = kept + children
        self.population_evaluations = kept_evaluations + list(evaluations)
        self.iteration += 1
        self.evaluations += cost(evaluations)
        result = GenerationResult(
            iteration=self.iteration,
            evaluations=self.evaluations,
            stats=self.archive.stats,
            added=added,
            invalid=[(c, e) for c, e in zip(children, evaluations, strict=True) if not e.valid],
            seconds=time.perf_counter() - started,
            population=self._metrics(),
        )
        for callback in self.callbacks:
            callback(self, result)
        return result

    def run(self, iterations: int) -> Archive:
        """Run until ``iterations`` generations have been made in total."""
        while self.iteration < iterations:
            self.step()
        return self.archive

    def _ranked(self) -> list[int]:
        """Indices from best to worst objective (invalid last; ties keep their order)."""
        keys = [-e.objective if e.valid else np.inf for e in self.population_evaluations]
        return sorted(range(len(keys)), key=keys.__getitem__)

    def _metrics(self) -> dict[str, Any]:
        objectives = [e.objective for e in self.population_evaluations if e.valid]
        numbers: dict[str, Any] = {
            "population_best": max(objectives) if objectives else None,
            "population_median": float(np.median(objectives)) if objectives else None,
        }
        own = getattr(self.domain, "population_metrics", None)
        if callable(own):
            numbers.update(own(self.population, self.population_evaluations))
        return numbers

    # --- checkpoints ---------------------------------------------------------------------

    def checkpoint_state(self) -> dict[str, Any]:
        """The population and its evaluations as JSON, through the domain's ``encode``."""
        return {
            "population": [
                {
                    "candidate": self.domain.encode(candidate),
                    "objective": evaluation.objective if evaluation.valid else None,
                    "measures": list(evaluation.measures),
                    "info": evaluation.info,
                    "invalid_reason": evaluation.invalid_reason,
                }
                for candidate, evaluation in zip(
                    self.population, self.population_evaluations, strict=True
                )
            ]
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        """Take back a population saved by :meth:`checkpoint_state`.

        Raises:
            ValueError: A malformed record; the message names it.
        """
        population, evaluations = [], []
        for i, record in enumerate(state.get("population", [])):
            try:
                population.append(self.domain.decode(record["candidate"]))
                reason = record.get("invalid_reason")
                evaluations.append(
                    Evaluation(
                        objective=float("nan") if reason else float(record["objective"]),
                        measures=tuple(record["measures"]),
                        info=dict(record.get("info") or {}),
                        invalid_reason=reason,
                    )
                )
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"population record {i} is malformed: {error}") from error
        self.population, self.population_evaluations = population, evaluations
