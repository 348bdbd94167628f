"""The generational loop: a population replaced every iteration (a sibling of MAP-Elites).

Some studies need a plain evolutionary algorithm, not a map: mate-choice GP compares
selection schemes on one population of fixed size. :class:`PopulationSearch` runs one,
behind the same interface as :class:`qd.search.map_elites.Search` (``step``, ``run``, callbacks
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

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Unpack

import numpy as np

from qd.archive import Archive
from qd.domain import Domain, Evaluation, Operator
from qd.search.loop import Loop, LoopOptions, Origins

__all__ = ["Bred", "Breed", "PopulationSearch", "tournament_breed"]

Breed = Callable[[Sequence[Any], Sequence[Evaluation], int, np.random.Generator], list[Any]]


class Bred(list):
    """The children a ``breed`` step returns, saying who their parents were.

    A plain list works as a breed's result too; returning a :class:`Bred` lets the loop
    record each child's parents in the lineage (a plain list's children have unknown
    parents there).

    Args:
        children: The children, in order.
        parents: For each child, the indices of its parents in the population passed
            to ``breed``.
    """

    def __init__(self, children: Sequence[Any], parents: Sequence[Sequence[int]]) -> None:
        super().__init__(children)
        if len(parents) != len(self):
            raise ValueError(f"{len(self)} children but {len(parents)} parent lists")
        self.parents = [list(map(int, group)) for group in parents]


def tournament_breed(operator: Operator, *, tournsize: int = 3) -> Breed:
    """A breed step for any domain: each parent wins a tournament on the objective.

    Invalid individuals never win against a valid one. Entrants are drawn with
    replacement (DEAP's ``selTournament``).
    """

    def breed(population, evaluations, n, rng):
        fitness = np.array([e.objective if e.valid else -np.inf for e in evaluations])
        children, chosen = [], []
        for _ in range(n):
            entrants = rng.integers(len(population), size=(operator.arity, tournsize))
            winners = entrants[np.arange(operator.arity), np.argmax(fitness[entrants], axis=1)]
            parents = [population[i] for i in winners]
            offspring = operator(parents, rng)
            children.append(offspring[0] if offspring else parents[0])
            chosen.append(winners.tolist())
        return Bred(children, chosen)

    return breed


class PopulationSearch(Loop):
    """A generational evolutionary algorithm over a domain (a :class:`qd.search.loop.Loop`).

    Args:
        domain: The plug-in; its ``breed`` and ``population_metrics`` hooks are used
            when it overrides them.
        archive: Where every evaluated individual is offered (a record of the run).
        rng: The run's generator; its state is the run's state.
        population_size: Individuals per generation.
        elitism: Best individuals copied unchanged into the next generation.
        breed: Overrides the domain's ``breed`` (``breed(population, evaluations, n,
            rng) -> n children``).
        **options: ``evaluator``, ``callbacks``, ``iteration`` (generations done),
            ``evaluations``: as for :class:`qd.search.loop.Loop`.

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
        **options: Unpack[LoopOptions],
    ) -> None:
        if population_size < 2:
            raise ValueError(f"population_size must be at least 2, got {population_size}")
        if not 0 <= elitism < population_size:
            raise ValueError(
                f"elitism must be in [0, population_size), got {elitism} of {population_size}"
            )
        super().__init__(domain, archive, rng=rng, **options)
        self.population_size = int(population_size)
        self.elitism = int(elitism)
        if breed is None:
            overrides = type(domain).breed is not Domain.breed
            breed = domain.breed if overrides else tournament_breed(domain.variation())
        self.breed: Breed = breed
        self.population: list[Any] = []
        self.population_evaluations: list[Evaluation] = []
        self._kept: tuple[list[Any], list[Evaluation]] = ([], [])
        self.population_ids: list[str | None] = []
        self._kept_ids: list[str | None] = []
        self._origins = Origins([], [])

    def propose(self) -> list[Any]:
        """The first generation from ``initial``; later ones bred from the population,
        whose ``elitism`` best are kept aside unevaluated."""
        if not self.population:
            if self.iteration:
                raise RuntimeError(
                    f"generation {self.iteration} has no population; restore the "
                    "checkpoint's state (restore_state) before stepping"
                )
            self._kept, self._kept_ids = ([], []), []
            children = list(self.domain.initial(self.population_size, self.rng))
            self._origins = Origins(["initial"] * len(children), [[] for _ in children])
            return children
        order = self._ranked()[: self.elitism]
        self._kept = (
            [self.population[i] for i in order],
            [self.population_evaluations[i] for i in order],
        )
        ids = self.population_ids
        self._kept_ids = [ids[i] for i in order] if ids else [None] * len(order)
        bred = self.breed(
            self.population,
            self.population_evaluations,
            self.population_size - self.elitism,
            self.rng,
        )
        parents: list[list[str | None] | None]
        if isinstance(bred, Bred) and ids:
            parents = [[ids[i] for i in group] for group in bred.parents]
        else:
            parents = [None] * len(bred)
        self._origins = Origins(["breed"] * len(bred), parents)
        return list(bred)

    def origins(self, candidates: list[Any]) -> Origins:
        """``initial`` or ``breed``, and the parents a :class:`Bred` names."""
        return self._origins

    def accept(self, candidates: list[Any], evaluations: list[Evaluation]) -> dict[str, Any]:
        """The kept elite and the children are the next population."""
        kept, kept_evaluations = self._kept
        self.population = kept + list(candidates)
        self.population_evaluations = kept_evaluations + list(evaluations)
        self.population_ids = (
            self._kept_ids + list(self.ids) if self.lineage else [None] * len(self.population)
        )
        return self._metrics()

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
        numbers.update(self.domain.population_metrics(self.population, self.population_evaluations))
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
                    **({"id": lineage_id} if lineage_id is not None else {}),
                }
                for candidate, evaluation, lineage_id in zip(
                    self.population,
                    self.population_evaluations,
                    self.population_ids or [None] * len(self.population),
                    strict=True,
                )
            ]
        }

    def restore_state(self, state: Mapping[str, Any] | None) -> None:
        """Take back a population saved by :meth:`checkpoint_state`.

        Raises:
            ValueError: No population, or a malformed record; the message names it.
        """
        records = (state or {}).get("population")
        if not records:
            raise ValueError(
                "the checkpoint holds no population (was it written by a MAP-Elites run?)"
            )
        population, evaluations, ids = [], [], []
        for i, record in enumerate(records):
            try:
                population.append(self.domain.decode(record["candidate"]))
                ids.append(record.get("id"))
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
        self.population_ids = ids
