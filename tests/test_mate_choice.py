"""Mate choice by ideal mate (PIMP): similarity, the three selection schemes, and how
ideal mates are inherited and mutated, on small hand-built populations."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
from deap import base, gp

from domains.symbolic_regression.mate_choice import (
    Behavioural,
    Individual,
    Structural,
    Variation,
    choose_mate,
    pairs_pimp,
    pairs_random_mate,
    pairs_tournament,
    select_pimp,
    select_random_mate,
    select_tournament,
    tournament,
)
from domains.symbolic_regression.population import MateChoiceRegression, entropy_bits, phenotype
from domains.symbolic_regression.primitives import deap_random, decode_tree, make_pset
from qd.search.evaluation import checked_evaluate
from qd.testing import check_domain

PSET = make_pset(1)
X = np.linspace(-1, 1, 21)[:, None]


def tree(*tokens) -> gp.PrimitiveTree:
    return decode_tree(list(tokens), PSET)


SQUARE = tree("mul", "x1", "x1")
SQUARE_WRITTEN_LONG = tree("mul", "x1", "add", "x1", 0.0)  # x * (x + 0): x^2, bigger tree
DOUBLE = tree("add", "x1", "x1")  # 2x: the tree most like x * x in shape
SINE = tree("sin", "x1")


def population() -> list[Individual]:
    """Individual 0 (fittest) wants a mate that computes x^2; 1, 2, 3 are candidates."""
    return [
        Individual(tree("cos", "x1"), SQUARE),
        Individual(SQUARE_WRITTEN_LONG, SINE),
        Individual(DOUBLE, SINE),
        Individual(SINE, SINE),
    ]


FITNESS = [1.0, 0.1, 0.2, 0.3]


# --- similarity ------------------------------------------------------------------------


def test_behavioural_similarity_compares_outputs_not_shapes() -> None:
    chooser, *candidates = population()
    assert choose_mate(chooser, candidates, Behavioural(X)) == 0  # x * (x + 0) is x^2
    distances = Behavioural(X).distance(
        Behavioural(X).embed([SQUARE])[0], Behavioural(X).embed([SQUARE_WRITTEN_LONG, DOUBLE])
    )
    assert distances[0] == 0.0 and distances[1] > 0


def test_structural_similarity_compares_size_depth_and_primitives() -> None:
    chooser, *candidates = population()
    assert (
        choose_mate(chooser, candidates, Structural(PSET)) == 1
    )  # add(x, x) is shaped like mul(x, x)
    rows = Structural(PSET).embed([SQUARE, SQUARE_WRITTEN_LONG, DOUBLE, SINE])
    distances = Structural(PSET).distance(rows[0], rows)
    # sizes 3/5/3/2, depths 1/2/1/1; histograms differ by 0, 2 (add, const), 2 (mul, add),
    # 3 (mul, sin, one x1)
    assert distances.tolist() == [0.0, 2 + 1 + 2, 0 + 0 + 2, 1 + 0 + 3]


def test_outputs_that_overflow_still_give_finite_distances() -> None:
    huge = tree("exp", "exp", "exp", "x1")  # exp is capped, but exp(exp(exp)) is inf
    rows = Behavioural(np.array([[5.0]])).embed([huge, SQUARE])
    assert np.all(np.isfinite(rows)) and rows[0, 0] == 1e6


# --- selection ------------------------------------------------------------------------


def test_pimp_chooser_mates_with_the_candidate_nearest_its_ideal_under_each_similarity() -> None:
    pop = population()
    for similarity, expected in ((Behavioural(X), 1), (Structural(PSET), 2)):
        # tournaments of 60 (with replacement) always include the fittest, and a pool of
        # 60 draws from the three others always holds all three
        pairs = pairs_pimp(
            pop, 40, 60, fitness=FITNESS, similarity=similarity, rng=np.random.default_rng(0)
        )
        assert pairs[:, 0].tolist() == [0] * 40
        assert pairs[:, 1].tolist() == [expected] * 40


def test_pimp_picks_from_a_random_pool_of_tournament_size() -> None:
    pop = population()
    pairs = pairs_pimp(
        pop, 400, 1, fitness=FITNESS, similarity=Behavioural(X), rng=np.random.default_rng(1)
    )
    assert not np.any(pairs[:, 0] == pairs[:, 1])  # never itself
    # a pool of one is a random other: every candidate is taken sometimes
    assert set(pairs[pairs[:, 0] == 0, 1].tolist()) == {1, 2, 3}


def test_random_mate_ignores_the_preference() -> None:
    pairs = pairs_random_mate(population(), 600, 60, fitness=FITNESS, rng=np.random.default_rng(2))
    assert pairs[:, 0].tolist() == [0] * 600
    counts = np.bincount(pairs[:, 1], minlength=4)
    assert counts[0] == 0 and all(150 < c < 250 for c in counts[1:])  # uniform over others


def test_standard_gp_takes_both_parents_by_tournament() -> None:
    pairs = pairs_tournament(population(), 50, 60, fitness=FITNESS, rng=np.random.default_rng(3))
    assert pairs.tolist() == [[0, 0]] * 50  # the fittest wins both tournaments


def test_a_tournament_goes_to_its_best_valid_entrant() -> None:
    fitness = np.array([-np.inf, 0.1, -np.inf, 0.2])  # invalid individuals score -inf
    winners = tournament(fitness, 300, 3, np.random.default_rng(4))
    entrants = np.random.default_rng(4).integers(4, size=(300, 3))  # the same draws
    for row, winner in zip(entrants, winners, strict=True):
        valid = [i for i in row if np.isfinite(fitness[i])]
        assert winner == (max(valid, key=fitness.__getitem__) if valid else row[0])
    assert {1, 3} <= set(winners.tolist())


def test_selection_operators_register_in_a_deap_toolbox() -> None:
    toolbox = base.Toolbox()
    toolbox.register("pimp", select_pimp, tournsize=60, similarity=Behavioural(X))
    toolbox.register("random_mate", select_random_mate, tournsize=60)
    toolbox.register("tournament", select_tournament, tournsize=60)
    pop = population()
    rng = np.random.default_rng(5)
    assert toolbox.pimp(pop, 3, fitness=FITNESS, rng=rng) == [(pop[0], pop[1])] * 3
    assert toolbox.tournament(pop, 2, fitness=FITNESS, rng=rng) == [(pop[0], pop[0])] * 2
    assert all(
        a is pop[0] and b is not a for a, b in toolbox.random_mate(pop, 5, fitness=FITNESS, rng=rng)
    )


def test_fitness_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="fitness has 2 values for 4 individuals"):
        pairs_tournament(population(), 2, 3, fitness=[1.0, 2.0], rng=np.random.default_rng(0))


# --- inheritance and mutation of ideal mates --------------------------------------------


def children(variation: Variation, first: Individual, second: Individual, n: int = 60):
    random.seed(7)
    return [variation(first, second) for _ in range(n)]


def test_a_child_inherits_the_ideal_mate_of_the_parent_that_chose() -> None:
    first = Individual(SQUARE, tree("sin", "x1"))
    second = Individual(DOUBLE, tree("cos", "x1"))
    copies = children(
        Variation(PSET, p_crossover=0.0, mutation_rate=0.0, ideal_mutation_rate=0.0), first, second
    )
    assert {str(c.ideal) for c in copies} == {"sin(x1)"}
    assert {str(c.tree) for c in copies} == {str(SQUARE)}
    assert all(c.ideal is not first.ideal for c in copies)  # a copy, not a shared tree


def test_ideal_mates_cross_with_the_other_parents_ideal() -> None:
    first = Individual(SQUARE, tree("sin", "mul", "x1", "x1"))
    second = Individual(DOUBLE, tree("cos", "add", "x1", "x1"))
    crossed = children(
        Variation(PSET, p_crossover=1.0, mutation_rate=0.0, ideal_mutation_rate=0.0), first, second
    )
    assert all(c.ideal[0].name == "sin" for c in crossed)  # the chooser's root stays
    names = [
        {getattr(node, "name", None) if node.arity else node.value for node in c.ideal}
        for c in crossed
    ]
    assert any("add" in n or "cos" in n for n in names)  # material from the mate's ideal
    assert all(n <= {"sin", "mul", "add", "cos", "x1"} for n in names)  # nothing new


def test_subtree_mutation_varies_ideal_mates_within_the_depth_limit() -> None:
    first = Individual(SQUARE, tree("sin", "mul", "x1", "x1"))
    variation = Variation(
        PSET, p_crossover=0.0, mutation_rate=0.0, ideal_mutation_rate=1.0, max_depth=3
    )
    mutated = children(variation, first, first, n=200)
    assert {str(c.tree) for c in mutated} == {str(SQUARE)}  # the solution is left alone
    ideals = {str(c.ideal) for c in mutated}
    assert len(ideals) > 20
    assert max(c.ideal.height for c in mutated) == 3  # grows up to the limit, never past it


def test_without_ideal_mutation_rate_the_solution_rate_applies() -> None:
    domain = MateChoiceRegression(mutation_rate=0.2)
    assert domain.vary.ideal_mutation_rate == 0.2
    assert (
        MateChoiceRegression(mutation_rate=0.2, ideal_mutation_rate=0.0).vary.ideal_mutation_rate
        == 0.0
    )


# --- the domain ---------------------------------------------------------------------------


def small_domain(**options) -> MateChoiceRegression:
    return MateChoiceRegression(max_depth=6, max_size=40, init_depth=(1, 3), **options)


def test_the_domain_keeps_the_plug_in_contract() -> None:
    check_domain(small_domain())
    check_domain(small_domain(similarity="structural", method="random"))


def test_individuals_round_trip_through_json() -> None:
    domain = small_domain()
    for individual in domain.initial(10, np.random.default_rng(0)):
        back = domain.decode(domain.encode(individual))
        assert (str(back.tree), str(back.ideal)) == (str(individual.tree), str(individual.ideal))
    with pytest.raises(ValueError, match="'tree'"):
        domain.decode(["add", "x1", "x1"])


def test_evaluation_scores_the_solution_and_hashes_its_outputs() -> None:
    domain = small_domain(benchmark="koza-1")
    target = tree(
        "add", "add", "add", "mul", "mul", "x1", "x1", "mul", "x1", "x1",
        "mul", "mul", "x1", "x1", "x1", "mul", "x1", "x1", "x1",
    )  # fmt: skip
    exact, other, junk = checked_evaluate(
        domain, [Individual(target, SINE), Individual(SINE, target), "junk"]
    )
    assert exact.objective == pytest.approx(1.0) and exact.info["hit"]
    assert exact.measures == (19, 5)
    assert other.objective < 1.0 and not other.info["hit"]
    assert not junk.valid and "not an Individual" in junk.invalid_reason
    same_function = checked_evaluate(
        domain, [Individual(SQUARE, SINE), Individual(SQUARE_WRITTEN_LONG, SINE)]
    )
    assert same_function[0].info["phenotype"] == same_function[1].info["phenotype"]


def test_population_metrics_count_distinct_trees_and_outputs() -> None:
    domain = small_domain(benchmark="koza-1")
    pop = [
        Individual(SQUARE, SINE),
        Individual(SQUARE, SINE),  # same tree
        Individual(SQUARE_WRITTEN_LONG, SQUARE),  # another tree, same outputs
        Individual(DOUBLE, SINE),
    ]
    metrics = domain.population_metrics(pop, checked_evaluate(domain, pop))
    assert metrics["genotypic_diversity"] == 3 / 4
    assert metrics["phenotypic_diversity"] == 2 / 4
    assert metrics["phenotypic_entropy"] == pytest.approx(entropy_bits(["a", "a", "a", "b"]))
    assert metrics["mean_size"] == (3 + 3 + 5 + 3) / 4
    assert metrics["mean_ideal_size"] == (2 + 2 + 3 + 2) / 4
    assert metrics["hits"] == 0


def test_phenotype_ignores_float_noise_and_negative_zero() -> None:
    assert phenotype(np.array([0.1 + 0.2, -0.0])) == phenotype(np.array([0.3, 0.0]))
    assert phenotype(np.array([0.3, 0.0])) != phenotype(np.array([0.3, 0.001]))


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("method", "roulette", "method: unknown 'roulette'"),
        ("similarity", "smell", "similarity: unknown 'smell'"),
        ("mutation_rate", 1.5, r"mutation_rate: must be in \[0, 1\]"),
        ("tournament_size", 0, "tournament_size: must be at least 1"),
    ],
)
def test_bad_options_are_named(option: str, value, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MateChoiceRegression(**{option: value})


def test_other_threads_drawing_from_global_random_do_not_change_a_run() -> None:
    """DEAP draws from Python's global ``random``; a Dask worker's event loop does too."""
    with deap_random(5):
        alone = [gp.random.random() for _ in range(3)]
    with deap_random(5):
        shared = []
        for _ in range(3):
            random.random()  # another thread's draw, between two of ours
            shared.append(gp.random.random())
    assert shared == alone
    random.seed(5)
    assert alone == [random.random() for _ in range(3)]  # the stream random.seed gives

    domain = small_domain()
    quiet = [str(i.tree) + str(i.ideal) for i in domain.initial(30, np.random.default_rng(1))]
    stop = threading.Event()

    def draw_until_stopped() -> None:
        while not stop.is_set():
            random.random()

    noise = threading.Thread(target=draw_until_stopped)
    noise.start()
    try:
        noisy = [str(i.tree) + str(i.ideal) for i in domain.initial(30, np.random.default_rng(1))]
    finally:
        stop.set()
        noise.join()
    assert noisy == quiet
