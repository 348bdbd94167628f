"""Mate-choice GP as a domain: individuals with ideal mates, for populations and maps.

:class:`MateChoiceRegression` is a symbolic-regression domain whose candidates are
:class:`~domains.symbolic_regression.mate_choice.Individual` (a solution tree and an ideal
mate). It serves both search loops of the engine:

- the generational loop (``[search] loop = "population"``, ``qd.search.population``): its
  :meth:`breed` selects pairs by ``method`` (PIMP, random mate or tournament) and varies
  both trees; :meth:`population_metrics` adds the study's numbers to each metrics line;
- MAP-Elites: :meth:`variation` crosses two parents, and :meth:`parent_selections` offers
  ``parents = "pimp"``, where the second parent is the elite nearest the first's ideal
  mate among ``tournament_size`` random elites.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from deap import gp

from domains.symbolic_regression.benchmarks import Dataset
from domains.symbolic_regression.domain import SymbolicRegression
from domains.symbolic_regression.mate_choice import (
    PAIRS,
    SELECTIONS,
    Individual,
    Similarity,
    Variation,
    draw_others,
    make_similarity,
)
from domains.symbolic_regression.primitives import (
    DEFAULT_FUNCTIONS,
    deap_random,
    decode_tree,
    encode_tree,
    to_infix,
)
from qd.domain import Evaluation, Operator
from qd.search.population import Bred

PHENOTYPE_DECIMALS = 6
"""Outputs are rounded to this many decimals before hashing, so float noise between two
ways of writing one function does not count as a different phenotype."""


def phenotype(outputs: np.ndarray) -> str:
    """A short hash of a tree's outputs on the fitness cases: equal outputs, equal hash."""
    values = np.nan_to_num(np.asarray(outputs, dtype=float), nan=np.inf)
    rounded = np.round(values, PHENOTYPE_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    return hashlib.blake2b(rounded.tobytes(), digest_size=8).hexdigest()


def entropy_bits(labels: Sequence[Any]) -> float:
    """Shannon entropy (bits) of how ``labels`` are spread over their distinct values."""
    counts = np.array(list(Counter(labels).values()), dtype=float)
    if counts.sum() == 0:
        return 0.0
    shares = counts / counts.sum()
    return float(-(shares * np.log2(shares)).sum())


class MateChoiceRegression(SymbolicRegression):
    """Symbolic regression whose individuals carry an evolving ideal mate.

    Args:
        benchmark: A benchmark name (``koza-1``, ``nguyen-7``, ``pagie-1`` ...).
        data_seed: Seed of the benchmark's sampled points (fixed across a study's runs,
            so runs differ in their search, not in their data).
        data, target, test, test_size: Your own data instead of a benchmark (see
            ``SymbolicRegression``).
        method: How the population loop picks pairs: ``pimp``, ``random`` (random mate)
            or ``tournament`` (standard GP).
        similarity: ``behavioural`` (outputs on the fitness cases) or ``structural``
            (size, depth, primitive histogram).
        tournament_size: Tournament size, and the size of a chooser's pool of candidates.
        p_crossover: Chance each tree of a child is crossed with the second parent's.
        mutation_rate: Chance a child's solution gets a subtree mutation.
        ideal_mutation_rate: Same for its ideal mate; -1 (default) means ``mutation_rate``.
        functions: GP function set.
        max_depth: Static depth limit on both trees (Koza's 17).
        max_size: Static size limit on both trees; a safety net, not the study's limit.
        init_depth: ``(min, max)`` depth of ramped half-and-half initial trees.
        hit_threshold: NRMSE below which a solution is a hit.
        linear_scaling: Score ``a + b * f(x)`` (see ``SymbolicRegression``); off by
            default, as in the mate-choice paper's GP.
        tune_constants: Formula calls spent tuning each child's constants (0: none).
        pole_check: Reject formulas with a pole in the data's box (off, as in the paper).

    Raises:
        ValueError: An unknown method or similarity, a rate outside [0, 1], or a
            tournament size below 1; the message names the option.
    """

    name = "mate_choice_regression"

    def __init__(
        self,
        *,
        benchmark: str = "koza-1",
        data_seed: int = 0,
        data: str | Dataset | None = None,
        target: str | int | None = None,
        test: str | None = None,
        test_size: float = 0.25,
        method: str = "pimp",
        similarity: str = "behavioural",
        tournament_size: int = 3,
        p_crossover: float = 0.9,
        mutation_rate: float = 0.05,
        ideal_mutation_rate: float = -1.0,
        functions: Sequence[str] = DEFAULT_FUNCTIONS,
        max_depth: int = 17,
        max_size: int = 1000,
        init_depth: Sequence[int] = (2, 6),
        hit_threshold: float = 0.01,
        linear_scaling: bool = False,
        tune_constants: int = 0,
        pole_check: bool = False,
    ) -> None:
        if method not in SELECTIONS:
            raise ValueError(f"method: unknown {method!r}; choose one of {list(SELECTIONS)}")
        if ideal_mutation_rate == -1.0:
            ideal_mutation_rate = mutation_rate
        for key, value in (
            ("p_crossover", p_crossover),
            ("mutation_rate", mutation_rate),
            ("ideal_mutation_rate", ideal_mutation_rate),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key}: must be in [0, 1], got {value}")
        if tournament_size < 1:
            raise ValueError(f"tournament_size: must be at least 1, got {tournament_size}")
        super().__init__(
            benchmark=benchmark,
            data_seed=data_seed,
            data=data,
            target=target,
            test=test,
            test_size=test_size,
            descriptors=("size", "depth"),
            functions=functions,
            max_depth=max_depth,
            max_size=max_size,
            init_depth=init_depth,
            p_crossover=p_crossover,
            p_constant=0.0,
            hit_threshold=hit_threshold,
            linear_scaling=linear_scaling,
            tune_constants=tune_constants,
            pole_check=pole_check,
        )
        self.method = method
        self.tournament_size = int(tournament_size)
        self.similarity: Similarity = make_similarity(
            similarity, X=self.data.X_train, pset=self.pset
        )
        self.vary = Variation(
            self.pset,
            p_crossover=float(p_crossover),
            mutation_rate=float(mutation_rate),
            ideal_mutation_rate=float(ideal_mutation_rate),
            max_depth=self.max_depth,
            max_size=self.max_size,
        )
        self.params = {
            "benchmark": benchmark,
            "data_seed": data_seed,
            "data": data,
            "target": target,
            "test": test,
            "test_size": test_size,
            "method": method,
            "similarity": similarity,
            "tournament_size": int(tournament_size),
            "p_crossover": float(p_crossover),
            "mutation_rate": float(mutation_rate),
            "ideal_mutation_rate": float(ideal_mutation_rate),
            "functions": list(functions),
            "max_depth": int(max_depth),
            "max_size": int(max_size),
            "init_depth": list(init_depth),
            "hit_threshold": float(hit_threshold),
            "linear_scaling": bool(linear_scaling),
            "tune_constants": int(tune_constants),
            "pole_check": bool(pole_check),
        }

    def __reduce__(self):
        return (functools.partial(type(self), **self.params), ())

    # --- the contract ---------------------------------------------------------------

    def initial(self, n: int, rng: np.random.Generator) -> list[Individual]:
        """Ramped half-and-half solutions, each with an independent random ideal mate.

        Raises:
            ValueError: ``init_depth`` too deep for trees within ``max_size``.
        """
        low, high = self.init_depth
        trees = []
        with deap_random(int(rng.integers(2**63))):
            for _ in range(2 * n):
                for _attempt in range(100):  # redraw oversized trees, as the parent class
                    tree = gp.PrimitiveTree(gp.genHalfAndHalf(self.pset, low, high))
                    if len(tree) <= self.max_size:
                        break
                else:
                    raise ValueError(
                        f"init_depth {list(self.init_depth)} gives trees over max_size "
                        f"{self.max_size}: lower init_depth or raise max_size"
                    )
                trees.append(tree)
        return [Individual(trees[2 * i], trees[2 * i + 1]) for i in range(n)]

    def variation(self) -> Operator:
        """Two parents -> one child (see :class:`Variation`); the first parent chose."""
        return Operator(self._vary_pair, arity=2, name="mate_choice")

    def _vary_pair(self, parents: Sequence[Individual], rng: np.random.Generator) -> list:
        with deap_random(int(rng.integers(2**63))):
            return [self.vary(parents[0], parents[1])]

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        results = []
        for item in batch:
            tree = getattr(item, "tree", None)
            if not isinstance(item, Individual) or not isinstance(tree, gp.PrimitiveTree):
                results.append(Evaluation.invalid(f"not an Individual: {type(item).__name__}"))
                continue
            evaluation, outputs = self.assess(tree)
            if evaluation.valid and outputs is not None:  # a valid evaluation has outputs
                evaluation.info["phenotype"] = phenotype(outputs)
                if evaluation.candidate is not None:  # tuned constants: keep the ideal mate
                    tuned = Individual(evaluation.candidate, item.ideal)
                    evaluation = dataclasses.replace(evaluation, candidate=tuned)
            results.append(evaluation)
        return results

    def encode(self, candidate: Individual) -> dict[str, list[str | float]]:
        return {"tree": encode_tree(candidate.tree), "ideal": encode_tree(candidate.ideal)}

    def decode(self, data: Any) -> Individual:
        if not isinstance(data, dict) or set(data) != {"tree", "ideal"}:
            raise ValueError(f"an individual is {{'tree': [...], 'ideal': [...]}}, got {data!r}")
        return Individual(
            decode_tree(data["tree"], self.pset), decode_tree(data["ideal"], self.pset)
        )

    def features(self, candidate: Any, info: dict[str, Any]) -> list[float] | None:
        return super().features(candidate.tree, info)

    def test_error(self, candidate: Any) -> float:
        tree = candidate.tree if isinstance(candidate, Individual) else candidate
        return super().test_error(tree)

    def render(self, candidate: Any, info: dict | None = None):
        figure = super().render(candidate.tree, info)
        ax = figure.axes[0]
        ax.set_title(f"{ax.get_title()}\nideal mate: {to_infix(candidate.ideal)[:70]}", fontsize=7)
        return figure

    # --- the population loop (qd.search.population) -----------------------------------------

    def breed(
        self,
        population: Sequence[Individual],
        evaluations: Sequence[Evaluation],
        n: int,
        rng: np.random.Generator,
    ) -> list[Individual]:
        """``n`` children: pairs by ``method``, then :class:`Variation` of both trees."""
        fitness = [e.objective if e.valid else -math.inf for e in evaluations]
        options = {"similarity": self.similarity} if self.method == "pimp" else {}
        pairs = PAIRS[self.method](
            population, n, self.tournament_size, fitness=fitness, rng=rng, **options
        )
        pairs = pairs.tolist()
        with deap_random(int(rng.integers(2**63))):
            children = [self.vary(population[a], population[b]) for a, b in pairs]
        return Bred(children, pairs)  # the parents, for the run's lineage

    def population_metrics(
        self, population: Sequence[Individual], evaluations: Sequence[Evaluation]
    ) -> dict[str, Any]:
        """Errors, hits, diversity and sizes of one generation, for ``metrics.jsonl``.

        Genotypic diversity is the share of distinct solution trees, phenotypic the share
        of distinct output vectors (and the entropy, in bits, of how the population is
        spread over them).
        """
        errors = np.array(
            [
                e.info["nrmse"] if e.valid and e.info.get("nrmse") is not None else math.inf
                for e in evaluations
            ]
        )
        best = int(np.argmin(errors))
        phenotypes = [e.info.get("phenotype") for e in evaluations]
        n = len(population)
        return {
            "best_train_error": _finite(errors[best]),
            "median_train_error": _finite(np.median(errors)),
            "test_error_of_best": _finite(self.test_error(population[best])),
            "hits": int(np.sum(errors < self.hit_threshold)),
            "genotypic_diversity": len({str(ind.tree) for ind in population}) / n,
            "phenotypic_diversity": len(set(phenotypes)) / n,
            "phenotypic_entropy": round(entropy_bits(phenotypes), 6),
            "mean_size": float(np.mean([len(ind.tree) for ind in population])),
            "mean_depth": float(np.mean([ind.tree.height for ind in population])),
            "mean_ideal_size": float(np.mean([len(ind.ideal) for ind in population])),
            "mean_ideal_depth": float(np.mean([ind.ideal.height for ind in population])),
            "best_formula": to_infix(population[best].tree)[:500],
        }

    # --- MAP-Elites (qd.search.parents) -------------------------------------------------------

    def parent_selections(self) -> dict[str, Callable]:
        """Parent selections this domain adds to the engine's: ``pimp``."""
        return {"pimp": PimpParents(self.similarity, pool=self.tournament_size)}


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


class PimpParents:
    """PIMP as MAP-Elites parent selection: the first parent uniform over the elites (as
    MAP-Elites picks), the second the elite nearest its ideal mate among ``pool`` random
    other elites.

    Embeddings of the elites are cached by object between asks, so each elite is
    embedded once while it stays in the archive.

    Args:
        similarity: How near a solution is to an ideal mate.
        pool: How many random elites the chooser compares.
    """

    def __init__(self, similarity: Similarity, *, pool: int = 3) -> None:
        self.similarity = similarity
        self.pool = int(pool)
        self._cache: dict[int, tuple[Individual, np.ndarray, np.ndarray]] = {}

    def __call__(self, archive) -> Callable[[int, int, np.random.Generator], list[list[Any]]]:
        candidates = archive.candidates()
        cache, self._cache = self._cache, {}
        fresh = [c for c in candidates if cache.get(id(c), (None,))[0] is not c]
        if fresh:
            trees = self.similarity.embed([c.tree for c in fresh])
            ideals = self.similarity.embed([c.ideal for c in fresh])
            for c, t, i in zip(fresh, trees, ideals, strict=True):
                cache[id(c)] = (c, t, i)
        for c in candidates:
            self._cache[id(c)] = cache[id(c)]
        solutions = np.stack([self._cache[id(c)][1] for c in candidates])
        ideals = np.stack([self._cache[id(c)][2] for c in candidates])

        def pick_one(arity: int, rng: np.random.Generator) -> list[Any]:
            first = rng.integers(len(candidates), size=1)
            pool = draw_others(first, len(candidates), self.pool, rng)[0]
            distances = self.similarity.distance(ideals[first[0]], solutions[pool])
            chosen = [candidates[first[0]], candidates[int(pool[np.argmin(distances)])]]
            extra = rng.integers(len(candidates), size=max(0, arity - 2))
            return chosen[:arity] + [candidates[i] for i in extra]

        def pick(n: int, arity: int, rng: np.random.Generator) -> list[list[Any]]:
            return [pick_one(arity, rng) for _ in range(n)]

        return pick
