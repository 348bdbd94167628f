"""The MAP-Elites loop: ask -> evaluate -> add -> callbacks (a :class:`qd.search.loop.Loop`).

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

from typing import Any, Unpack

import numpy as np

from qd.archive import Archive
from qd.domain import Domain, Operator
from qd.search.emitters import OperatorEmitter
from qd.search.loop import Loop, LoopOptions, Origins
from qd.search.parents import ParentSelection, resolve_parents

__all__ = ["Search"]


class Search(Loop):
    """MAP-Elites over a domain: our pyribs emitters ask, the shared step does the rest.

    Args:
        domain: The plug-in being searched.
        archive: Where elites live; may already hold elites (a resumed run).
        rng: The run's generator; its state is the run's state.
        batch_size: Children per emitter per iteration.
        emitters: Number of operator emitters (each makes ``batch_size`` children).
        operator: Overrides ``domain.variation()``.
        **options: ``evaluator``, ``callbacks``, ``iteration``, ``evaluations``: as for
            :class:`qd.search.loop.Loop`.
        parents: Parent selection: a name (``uniform``, ``fitness``, or one the domain's
            ``parent_selections()`` offers) or a callable (``qd.search.parents``).

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
        parents: str | ParentSelection = "uniform",
        **options: Unpack[LoopOptions],
    ) -> None:
        if emitters < 1:
            raise ValueError(f"emitters must be at least 1, got {emitters}")
        super().__init__(domain, archive, rng=rng, **options)
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

    def propose(self) -> list[Any]:
        """Each emitter's children of archive elites (initial candidates while empty)."""
        return [child for emitter in self.emitters for child in emitter.ask()]

    def origins(self, candidates: list[Any]) -> Origins:
        """Each emitter's operator and the lineage ids of the parents it drew (looked up
        in the archive by identity before the batch is added), or those a batch
        operator's :class:`~qd.domain.Brood` named, with its notes."""
        operators: list[str] = []
        parents: list[list[str | None] | None] = []
        notes: list[dict[str, Any]] | None = None  # made only when an operator left some
        for emitter in self.emitters:
            n = emitter.last_count
            groups = emitter.last_parents
            brood = emitter.last_brood
            if brood is not None and any(brood.notes):
                notes = (notes or [{} for _ in operators]) + brood.notes
            elif notes is not None:
                notes += [{} for _ in range(n)]
            operators += [emitter.last_operator] * n
            if brood is not None:
                parents += [list(group) for group in brood.parents]
            elif groups is None:
                parents += [None] * n
            elif not groups:
                parents += [[] for _ in range(n)]
            else:
                parents += self.archive.lineage_ids_of(groups)
        return Origins(operators, parents, notes)
