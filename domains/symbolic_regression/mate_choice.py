"""Mate choice by ideal-mate representation (PIMP) on DEAP trees: individuals, similarity,
the three selection schemes and the variation of both trees.

Every individual carries two DEAP trees: its solution and its *ideal mate* ("Preferences
as Ideal Mating Partners", Simões, Lourenço and Machado, EuroGP 2023). PIMP chooses the
first parent by a fitness tournament; that parent then looks at a pool of random
candidates and mates with the one most similar to its ideal mate. The controls are
random mate choice (the second parent uniform at random) and standard GP (both parents
by tournament).

Selection functions follow DEAP's convention (``individuals, k, tournsize``, plus keyword
arguments), so they can be registered in a ``deap.base.Toolbox``::

    toolbox.register("select_pairs", select_pimp, tournsize=3, similarity=Behavioural(X))
    pairs = toolbox.select_pairs(population, len(population), fitness=f, rng=rng)

Unlike DEAP's, they draw from a ``numpy.random.Generator`` passed in (the run's seeded
generator, whose state a checkpoint saves) and read fitness from an array instead of a
``creator``-made attribute. Tree variation uses DEAP's operators, which draw from Python's
``random``; the domain runs them inside :func:`deap_random`, seeded from the run's
generator (see ``population.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from deap import gp

from domains.symbolic_regression.compiled import compile_tree, run_many
from domains.symbolic_regression.primitives import copy_tree, limited

SELECTIONS = ("pimp", "random", "tournament")
SIMILARITIES = ("behavioural", "structural")
OUTPUT_CLIP = 1e6
"""Outputs are clipped to +-1e6 (NaN counts as +1e6) before distances: a single
overflowing fitness case must not make every distance infinite and the choice arbitrary."""


@dataclass(eq=False)
class Individual:
    """A solution and its ideal mate, both DEAP ``PrimitiveTree`` over the same primitives.

    A plain class (not DEAP's ``creator``): it pickles to Dask workers and needs no
    global registration.
    """

    tree: gp.PrimitiveTree
    ideal: gp.PrimitiveTree

    def __repr__(self) -> str:
        return f"Individual(tree={self.tree}, ideal={self.ideal})"


# --- similarity ---------------------------------------------------------------------------


class Similarity(Protocol):
    """How alike two trees are, as a distance between embeddings (smaller is nearer).

    ``embed`` turns trees into rows once per generation, so choosing mates for a whole
    population is array arithmetic over ``(matings, pool, features)``.
    """

    name: str

    def embed(self, trees: Sequence[gp.PrimitiveTree]) -> np.ndarray: ...

    def distance(self, ideals: np.ndarray, candidates: np.ndarray) -> np.ndarray: ...


class Behavioural:
    """Distance between two trees' outputs on the fitness cases (root mean square).

    Two formulas that compute the same function are identical here however they are
    written, which is what a mate's worth to a child depends on.

    Args:
        X: Fitness cases, shape ``(n_points, n_vars)``.
    """

    name = "behavioural"

    def __init__(self, X: np.ndarray) -> None:
        self.X = np.asarray(X, dtype=float)

    def embed(self, trees: Sequence[gp.PrimitiveTree]) -> np.ndarray:
        # One compiled call for the whole population.
        n_vars = self.X.shape[1]
        rows = run_many([compile_tree(tree, n_vars) for tree in trees], self.X)
        return np.clip(
            np.nan_to_num(rows, nan=OUTPUT_CLIP, posinf=OUTPUT_CLIP, neginf=-OUTPUT_CLIP),
            -OUTPUT_CLIP,
            OUTPUT_CLIP,
        )

    def distance(self, ideals: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        return np.sqrt(np.mean((candidates - ideals) ** 2, axis=-1))


class Structural:
    """A cheap structural distance: size, depth and primitive-histogram differences.

    ``|size_a - size_b| + |depth_a - depth_b| + L1(histogram_a - histogram_b)``, where
    the histogram counts each function, each variable and constants. All three terms
    are in nodes. A tree edit distance would be exact but costs O(n^2 m^2) per pair,
    too slow for hundreds of pairs of hundred-node trees per generation.

    Args:
        pset: The primitive set the trees are built over (fixes the histogram's bins).
    """

    name = "structural"

    def __init__(self, pset: gp.PrimitiveSet) -> None:
        names = [p.name for prims in pset.primitives.values() for p in prims]
        names += [str(a) for a in pset.arguments]
        self.columns = {name: 2 + i for i, name in enumerate(dict.fromkeys(names))}
        self.constant_column = 2 + len(self.columns)

    def embed(self, trees: Sequence[gp.PrimitiveTree]) -> np.ndarray:
        rows = np.zeros((len(trees), self.constant_column + 1))
        for i, tree in enumerate(trees):
            rows[i, 0], rows[i, 1] = len(tree), tree.height
            for node in tree:
                key = node.name if isinstance(node, gp.Primitive) else node.value
                rows[i, self.columns.get(key, self.constant_column)] += 1
        return rows

    def distance(self, ideals: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        return np.abs(candidates - ideals).sum(axis=-1)


def make_similarity(name: str, *, X: np.ndarray, pset: gp.PrimitiveSet) -> Similarity:
    """The similarity called ``name`` (``behavioural`` or ``structural``).

    Raises:
        ValueError: Unknown name (the message lists the known ones).
    """
    if name == "behavioural":
        return Behavioural(X)
    if name == "structural":
        return Structural(pset)
    raise ValueError(f"similarity: unknown {name!r}; choose one of {list(SIMILARITIES)}")


def choose_mate(
    chooser: Individual, candidates: Sequence[Individual], similarity: Similarity
) -> int:
    """Index of the candidate whose solution is nearest the chooser's ideal mate.

    Ties go to the first candidate, so the choice is deterministic.
    """
    if not candidates:
        raise ValueError("choose_mate needs at least one candidate")
    ideal = similarity.embed([chooser.ideal])[0]
    found = similarity.embed([c.tree for c in candidates])
    return int(np.argmin(similarity.distance(ideal, found)))


# --- selection ----------------------------------------------------------------------------


def tournament(fitness: np.ndarray, k: int, tournsize: int, rng: np.random.Generator):
    """Indices of ``k`` tournament winners (higher fitness wins; first of ties).

    Entrants are drawn with replacement, as DEAP's ``selTournament`` does.
    """
    if tournsize < 1:
        raise ValueError(f"tournsize must be at least 1, got {tournsize}")
    entrants = rng.integers(len(fitness), size=(k, tournsize))
    return entrants[np.arange(k), np.argmax(fitness[entrants], axis=1)]


def draw_others(chooser: np.ndarray, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` random indices per chooser, drawn from everyone but the chooser itself."""
    if n < 2:
        return np.repeat(chooser[:, None], size, axis=1)
    drawn = rng.integers(n - 1, size=(len(chooser), size))
    return drawn + (drawn >= chooser[:, None])


def _checked(individuals: Sequence[Individual], fitness: Sequence[float]) -> np.ndarray:
    values = np.asarray(fitness, dtype=float)
    if len(values) != len(individuals) or not len(individuals):
        raise ValueError(
            f"fitness has {len(values)} values for {len(individuals)} individuals; give one "
            "per individual (and at least one)"
        )
    return np.where(np.isnan(values), -np.inf, values)


def pairs_tournament(individuals, k, tournsize, *, fitness, rng) -> np.ndarray:
    """Standard GP: both parents by independent tournaments; ``(k, 2)`` indices."""
    values = _checked(individuals, fitness)
    first = tournament(values, k, tournsize, rng)
    return np.stack([first, tournament(values, k, tournsize, rng)], axis=1)


def pairs_random_mate(individuals, k, tournsize, *, fitness, rng) -> np.ndarray:
    """First parent by tournament, second uniform among the others; ``(k, 2)`` indices.

    The control for PIMP with everything equal except the choice: a uniform pick from
    the others is a uniform pick from a random pool.
    """
    values = _checked(individuals, fitness)
    first = tournament(values, k, tournsize, rng)
    return np.stack([first, draw_others(first, len(values), 1, rng)[:, 0]], axis=1)


def pairs_pimp(individuals, k, tournsize, *, fitness, similarity, rng) -> np.ndarray:
    """PIMP: first parent by tournament; it picks, from ``tournsize`` random others, the one
    nearest its ideal mate; ``(k, 2)`` indices.

    Vectorised: the population's solutions and the choosers' ideal mates are embedded
    once, then every mating's pool is compared at once.
    """
    values = _checked(individuals, fitness)
    first = tournament(values, k, tournsize, rng)
    pools = draw_others(first, len(values), tournsize, rng)
    solutions = similarity.embed([ind.tree for ind in individuals])
    choosers, where = np.unique(first, return_inverse=True)
    ideals = similarity.embed([individuals[i].ideal for i in choosers])[where]
    distances = similarity.distance(ideals[:, None, :], solutions[pools])
    second = pools[np.arange(k), np.argmin(distances, axis=1)]
    return np.stack([first, second], axis=1)


def _as_pairs(individuals, indices: np.ndarray) -> list[tuple[Individual, Individual]]:
    return [(individuals[a], individuals[b]) for a, b in indices.tolist()]


def select_tournament(individuals, k, tournsize, *, fitness, rng):
    """Standard GP's pairs of parents (see :func:`pairs_tournament`)."""
    return _as_pairs(
        individuals, pairs_tournament(individuals, k, tournsize, fitness=fitness, rng=rng)
    )


def select_random_mate(individuals, k, tournsize, *, fitness, rng):
    """Random mate choice's pairs of parents (see :func:`pairs_random_mate`)."""
    indices = pairs_random_mate(individuals, k, tournsize, fitness=fitness, rng=rng)
    return _as_pairs(individuals, indices)


def select_pimp(individuals, k, tournsize, *, fitness, similarity, rng):
    """PIMP's pairs of parents, ``(chooser, chosen)`` (see :func:`pairs_pimp`)."""
    indices = pairs_pimp(individuals, k, tournsize, fitness=fitness, similarity=similarity, rng=rng)
    return _as_pairs(individuals, indices)


PAIRS: dict[str, Callable[..., np.ndarray]] = {
    "pimp": pairs_pimp,
    "random": pairs_random_mate,
    "tournament": pairs_tournament,
}


# --- variation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Variation:
    """How a child's two trees are made from its parents' (both under the same limits).

    The child's solution is one-point crossover of the parents' solutions (probability
    ``p_crossover``, else a copy of the first parent's), then subtree mutation with
    probability ``mutation_rate``. Its ideal mate is inherited from the first parent (the
    one that chose), crossed with the second parent's ideal mate with ``p_crossover`` and
    mutated with ``ideal_mutation_rate``. A child over ``max_depth`` or ``max_size`` is
    replaced by its parent's tree, as DEAP's ``staticLimit`` does.
    """

    pset: gp.PrimitiveSet
    p_crossover: float = 0.9
    mutation_rate: float = 0.05
    ideal_mutation_rate: float = 0.05
    max_depth: int = 17
    max_size: int = 1000

    def __call__(self, first: Individual, second: Individual) -> Individual:
        """One child; draws from the generator DEAP draws from (see :func:`deap_random`;
        outside it, Python's global ``random``: seed it first)."""
        tree = self._tree(first.tree, second.tree, self.mutation_rate)
        ideal = self._tree(first.ideal, second.ideal, self.ideal_mutation_rate)
        return Individual(tree, ideal)

    def _tree(self, mine, theirs, mutation_rate: float) -> gp.PrimitiveTree:
        draw = gp.random.random  # DEAP's generator: private inside deap_random
        limits = {"max_depth": self.max_depth, "max_size": self.max_size}
        child = copy_tree(mine)
        if draw() < self.p_crossover:
            child = limited(gp.cxOnePoint, child, copy_tree(theirs), **limits)[0]
        if draw() < mutation_rate:
            child = limited(gp.mutUniform, child, expr=_subtree, pset=self.pset, **limits)[0]
        return child


def _subtree(pset: gp.PrimitiveSet, type_) -> list:
    """Subtrees for mutation: full trees of depth 0 to 2, as DEAP's GP examples use."""
    return gp.genFull(pset, min_=0, max_=2, type_=type_)
