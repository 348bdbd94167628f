"""Parent selection in MAP-Elites: which elites an emitter breeds from.

A parent selection is a plain function (or callable object), as DEAP's operators are::

    selection(archive) -> pick          # once per ask: look at the archive
    pick(arity, rng) -> [parent, ...]   # once per child: draw its parents

The two steps let a selection do its costly work (reading objectives, embedding elites)
once per batch and keep each draw cheap. Every draw comes from the run's generator, so a
resumed run picks the same parents. The engine offers ``uniform`` (MAP-Elites' usual,
the default) and ``fitness`` (fitness-proportional); a domain may add its own through an
``Domain.parent_selections()`` hook returning ``{name: selection}`` (mate choice by
ideal mate, ``pimp``, comes from the mate-choice domain that way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from qd.archive import Archive, sample_from
from qd.domain import Domain

Pick = Callable[[int, np.random.Generator], list[Any]]
ParentSelection = Callable[[Archive], Pick]


def uniform_parents(archive: Archive) -> Pick:
    """Parents drawn uniformly from the elites (MAP-Elites' default)."""
    pool = archive.candidates()
    return lambda arity, rng: sample_from(pool, arity, rng)


def fitness_parents(archive: Archive) -> Pick:
    """Parents drawn with probability proportional to ``objective - qd_score_offset``.

    The offset is the objective's floor (as for the QD score), so every elite has a
    non-negative weight; when all weights are zero the draw is uniform.
    """
    elites = archive.elites()
    pool = [e.candidate for e in elites]
    weights = np.array([max(0.0, e.objective - archive.qd_score_offset) for e in elites])
    total = weights.sum()
    p = weights / total if total > 0 else None

    def pick(arity: int, rng: np.random.Generator) -> list[Any]:
        if not pool:
            raise ValueError("cannot sample from an empty archive")
        return [pool[i] for i in rng.choice(len(pool), size=arity, p=p)]

    return pick


BUILTIN: dict[str, ParentSelection] = {"uniform": uniform_parents, "fitness": fitness_parents}


def parent_selections(domain: Domain | None = None) -> dict[str, ParentSelection]:
    """The engine's parent selections plus those ``domain.parent_selections()`` adds."""
    return {**BUILTIN, **(dict(domain.parent_selections()) if domain is not None else {})}


def resolve_parents(selection: str | ParentSelection, domain: Domain | None = None):
    """A parent selection by name (or the callable itself).

    Raises:
        ValueError: An unknown name; the message lists the names this domain offers.
    """
    if callable(selection):
        return selection
    known = parent_selections(domain)
    if selection not in known:
        raise ValueError(
            f"unknown parent selection {selection!r}; choose one of {sorted(known)}"
            f" (the domain {getattr(domain, 'name', '?')!r} offers these)"
        )
    return known[selection]
