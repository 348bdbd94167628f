"""pyribs emitters for candidates that are not vectors.

pyribs' built-in emitters perturb numeric vectors. Ours ask a domain operator for
children of archive elites instead, so one loop (``qd.search.map_elites``) drives text, trees
and levels. They only ``ask``: the archive itself is what they learn from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from ribs.emitters import EmitterBase

from qd.archive import Archive, object_array
from qd.domain import Brood, Operator
from qd.search.parents import ParentSelection, uniform_parents


class OperatorEmitter(EmitterBase):
    """Makes ``batch_size`` children per ask by applying an operator to sampled elites.

    While the archive is empty it asks the domain for random initial candidates
    instead, as pyribs' emitters start from ``x0``.

    Two archives, one store: :attr:`candidate_archive` is the engine's
    :class:`~qd.archive.Archive` (candidate objects, parents drawn from it), and
    ``archive`` (set by pyribs' ``EmitterBase``, which requires one) is the pyribs archive
    inside it, holding the same cells. Read parents from the first; the second is there
    for pyribs.

    Args:
        archive: The archive parents are drawn from.
        operator: The variation operator.
        initial: ``initial(n, rng)``: the domain's seed candidates.
        batch_size: Children per ask.
        rng: The run's seeded generator (shared, so a checkpoint saves one state).
        parents: How parents are drawn from the archive (``qd.search.parents``); uniform by
            default.
    """

    def __init__(
        self,
        archive: Archive,
        *,
        operator: Operator,
        initial: Callable[[int, np.random.Generator], list[Any]],
        batch_size: int,
        rng: np.random.Generator,
        parents: ParentSelection = uniform_parents,
    ) -> None:
        super().__init__(
            archive.pyribs, solution_dim=(), bounds=None, lower_bounds=None, upper_bounds=None
        )
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.candidate_archive = archive
        self.operator = operator
        self.initial = initial
        self.batch_size = int(batch_size)
        self.rng = rng
        self.parents = parents
        self.last_operator = "initial"
        self.last_parents: list[list[Any]] | None = []
        self.last_brood: Brood | None = None
        self.last_count = 0

    def ask(self) -> np.ndarray:
        """``batch_size`` candidates; afterwards :attr:`last_operator` names what made
        them and :attr:`last_parents` holds each child's parents (the candidate objects,
        so the loop can look up their lineage ids): ``[]`` per initial candidate, None
        when the operator picked its own parents (``Operator.batch``). A batch operator
        that returned a :class:`~qd.domain.Brood` leaves it in :attr:`last_brood` (its
        parents are lineage ids already)."""
        self.last_brood = None
        if self.candidate_archive.empty:
            self.last_operator, self.last_parents = "initial", []
            made = self.initial(self.batch_size, self.rng)
            # Initial candidates have no parents in the run; an LM's seeds may still
            # leave notes (the reply's cache key).
            if isinstance(made, Brood):
                self.last_brood = Brood(made, [[] for _ in made], made.notes)
            children = list(made)
        elif self.operator.batch is not None:
            self.last_operator, self.last_parents = self.operator.name, None
            made = self.operator.batch(self.batch_size, self.rng)
            self.last_brood = made if isinstance(made, Brood) else None
            children = list(made)
        else:
            groups = self.parents(self.candidate_archive)(
                self.batch_size, self.operator.arity, self.rng
            )
            self.last_operator, self.last_parents = self.operator.name, groups
            children = self.operator.children(groups, self.rng)
        self.last_count = len(children)
        return object_array(children)
