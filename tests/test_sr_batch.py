"""Batch variation and scoring of trees (domains/symbolic_regression/batch.py).

The batch path must make the children DEAP's operators make (checked against DEAP's
own subtree search), keep every child within the static limits, and score each tree
exactly as the one-tree path does.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
from deap import gp

from domains.symbolic_regression.batch import Tree, packed
from domains.symbolic_regression.batch_kernels import (
    CONSTANT,
    COPY_FIRST,
    COPY_SECOND,
    CROSSOVER,
    SUBTREE,
)
from domains.symbolic_regression.domain import SymbolicRegression
from domains.symbolic_regression.primitives import encode_tree, tree_height
from qd.domain import Evaluation


def _grown(domain: SymbolicRegression, n: int, generations: int, seed: int) -> list:
    """Trees after a few rounds of the batch operator: bigger and more varied than
    the initial ones."""
    rng = np.random.default_rng(seed)
    trees = domain.initial(n, rng)
    for _ in range(generations):
        picks = rng.integers(n, size=(n, 2))
        trees = domain._vary_many([(trees[a], trees[b]) for a, b in picks], rng)
    return trees


def _kinds(domain: SymbolicRegression, pairs, seed: int):
    """The batch's children and what each one is (the kernel's own record)."""
    from domains.symbolic_regression import batch

    captured = {}
    original = batch.vary_many

    def spy(*args):
        result = original(*args)
        captured["kinds"], captured["cuts"] = result[2], result[3]
        return result

    batch.vary_many = spy
    try:
        children = domain._vary_many(pairs, np.random.default_rng(seed))
    finally:
        batch.vary_many = original
    return children, captured["kinds"], captured["cuts"]


@pytest.fixture(scope="module")
def pagie() -> SymbolicRegression:
    return SymbolicRegression(benchmark="pagie-1", max_depth=6, max_size=30)


def test_children_are_deaps_operators_within_the_limits(pagie: SymbolicRegression) -> None:
    trees = _grown(pagie, 200, 6, seed=1)
    rng = np.random.default_rng(2)
    pairs = [(trees[a], trees[b]) for a, b in rng.integers(len(trees), size=(2000, 2))]
    children, kinds, cuts = _kinds(pagie, pairs, seed=3)
    counts = collections.Counter(kinds.tolist())
    assert set(counts) == {CROSSOVER, SUBTREE, CONSTANT, COPY_FIRST, COPY_SECOND}
    for (first, second), child, kind, cut in zip(pairs, children, kinds, cuts, strict=True):
        assert isinstance(child, Tree) and isinstance(child, gp.PrimitiveTree)
        assert len(child) <= pagie.max_size and tree_height(child) <= pagie.max_depth
        # the cached compiled form is the child's own
        assert np.array_equal(child._packed, packed(gp.PrimitiveTree(child), pagie.n_vars))
        i, end_i, j, end_j = (int(v) for v in cut)
        if kind == CROSSOVER:  # DEAP's cxOnePoint: a non-root subtree for another
            assert 1 <= i < len(first) and 1 <= j < len(second)
            assert first.searchSubtree(i).stop == end_i
            assert second.searchSubtree(j).stop == end_j
            assert list(child) == first[:i] + second[j:end_j] + first[end_i:]
        elif kind == SUBTREE:  # mutUniform with genFull(0, 2): a full tree of height <= 2
            assert first.searchSubtree(i).stop == end_i
            new = gp.PrimitiveTree(child[i:j])  # the new nodes: columns i to j
            assert tree_height(new) <= 2
            assert child[:i] == first[:i] and child[j:] == first[end_i:]
            leaves = [k for k, node in enumerate(new) if isinstance(node, gp.Terminal)]
            depths = {_depth(new, k) for k in leaves}
            assert len(depths) == 1  # full: every leaf at the same depth
        elif kind == CONSTANT:  # mutEphemeral "one": one constant redrawn in [-1, 1]
            changed = [k for k in range(len(first)) if child[k] is not first[k]]
            assert changed == [i] and -1 <= child[i].value <= 1
            assert encode_tree(child)[:i] == encode_tree(first)[:i]
        else:  # a child over a limit is a parent as it came (staticLimit)
            assert list(child) == list(first if kind == COPY_FIRST else second)
    # the mix the options ask for (p_crossover 0.5, p_constant 0.1), a fixed seed
    shares = {k: counts[k] / len(pairs) for k in counts}
    assert 0.25 < shares[CROSSOVER] < 0.5
    assert 0.05 < shares[CONSTANT] < 0.12
    assert 0.3 < shares[SUBTREE] < 0.55  # also every constant mutation without a constant


def _depth(tree: gp.PrimitiveTree, index: int) -> int:
    """Depth of node ``index`` in a prefix tree."""
    depth, stack = 0, []
    for k, node in enumerate(tree):
        depth = len(stack)
        if k == index:
            return depth
        if stack:
            stack[-1] -= 1
        if node.arity:
            stack.append(node.arity)
        while stack and stack[-1] == 0:
            stack.pop()
    raise IndexError(index)


def test_the_same_seed_gives_the_same_children(pagie: SymbolicRegression) -> None:
    trees = _grown(pagie, 50, 3, seed=4)
    pairs = [(trees[k], trees[-k - 1]) for k in range(50)]
    first = pagie._vary_many(pairs, np.random.default_rng(5))
    again = pagie._vary_many(pairs, np.random.default_rng(5))
    other = pagie._vary_many(pairs, np.random.default_rng(6))
    assert [encode_tree(t) for t in first] == [encode_tree(t) for t in again]
    assert [encode_tree(t) for t in first] != [encode_tree(t) for t in other]


def test_changing_a_tree_forgets_its_compiled_form(pagie: SymbolicRegression) -> None:
    tree = _grown(pagie, 20, 2, seed=7)[0]
    before = packed(tree, pagie.n_vars).copy()
    tree[0:] = [pagie.pset.mapping["x2"]]
    assert packed(tree, pagie.n_vars).tolist() == [[0.0], [1.0], [0.0]]
    assert not np.array_equal(before, packed(tree, pagie.n_vars))


@pytest.mark.parametrize(
    ("benchmark", "tuning"),
    [("koza-1", 0), ("pagie-1", 0), ("vladislavleva-4", 0), ("koza-1", 10), ("pagie-1", 10)],
)
def test_a_batch_scores_each_tree_as_the_one_tree_path(benchmark: str, tuning: int) -> None:
    domain = SymbolicRegression(
        benchmark=benchmark, max_depth=7, max_size=40, tune_constants=tuning
    )
    trees = _grown(domain, 300, 5, seed=8)
    batch = domain.evaluate(trees)
    for tree, scored in zip(trees, batch, strict=True):
        alone: Evaluation = domain.assess(tree)[0]
        assert scored.valid == alone.valid
        if not scored.valid:  # the same sentence naming the same pole
            assert scored.invalid_reason == alone.invalid_reason
            continue
        assert scored.objective == alone.objective  # the same bits
        assert scored.measures == alone.measures and scored.cost == alone.cost
        for key in ("nrmse", "intercept", "slope", "hit"):
            assert scored.info[key] == alone.info[key], key
        # a tuned tree comes back as the candidate, with the same constants
        assert (scored.candidate is None) == (alone.candidate is None)
        if alone.candidate is not None:
            assert encode_tree(scored.candidate) == encode_tree(alone.candidate)
    if tuning:
        assert sum(e.candidate is not None for e in batch) > 15  # tuning kept on many
        assert max(e.cost for e in batch) <= 1 + tuning + 1
    assert sum(e.valid for e in batch) > 150  # mostly valid trees, some poles
    assert any(not e.valid for e in batch)


def test_formula_text_is_written_for_elites_only() -> None:
    from domains.symbolic_regression.formula import scaled_infix
    from qd.archive import Archive
    from qd.search import Search

    domain = SymbolicRegression(benchmark="koza-1")
    annotated = []
    original = domain.annotate

    def counting(candidate, info):
        annotated.append(candidate)
        return original(candidate, info)

    domain.annotate = counting  # type: ignore[method-assign]
    search = Search(domain, Archive(domain.measures), rng=np.random.default_rng(0), batch_size=50)
    for _ in range(30):
        search.step()
    elites = list(search.archive.elites())
    assert elites and all("formula" in e.info for e in elites)
    for elite in elites[:20]:
        info = elite.info
        assert info["formula"] == scaled_infix(elite.candidate, info["intercept"], info["slope"])
    # text only for candidates that could enter the map: far fewer than were scored
    assert len(elites) <= len(annotated) < search.evaluations / 3


def test_compiled_tuning_reaches_the_reference_optimisers_cost() -> None:
    """The numba Levenberg-Marquardt against ``marquardt.minimise`` (numpy and LAPACK),
    formula by formula: sums in another order move the last bits of a step, so the two
    may part on a flat direction, but they must end as good as each other."""
    from domains.symbolic_regression.batch_tuning import minimise as compiled_minimise
    from domains.symbolic_regression.compiled import compile_tree
    from domains.symbolic_regression.fitting import FAILED_RESIDUAL, Target, constant_bound
    from domains.symbolic_regression.marquardt import minimise

    domain = SymbolicRegression(benchmark="pagie-1", max_depth=6, max_size=30)
    X, y = domain.data.X_train, domain.data.y_train
    XT, target, bound = np.ascontiguousarray(X.T), Target(y), constant_bound(X)
    compared = same = 0
    for tree in _grown(domain, 400, 4, seed=9):
        program = compile_tree(tree, domain.n_vars)
        if (
            not program.constants.size
            or not np.isfinite(program.evaluate(XT, transposed=True)).all()
        ):
            continue

        def residuals(values, program=program):
            program.constants[:] = values
            outputs = program.evaluate(XT, transposed=True)
            a, b = target.scale(outputs)
            result = a + b * outputs - y
            return np.where(np.isfinite(result), result, FAILED_RESIDUAL)

        start = program.constants.copy()
        reference, reference_calls = minimise(residuals, start, max_calls=10, bound=bound)
        program.constants[:] = start
        mine = start.copy()
        calls = compiled_minimise(
            program.codes, program.slots, mine, XT, program.depth, target.y_float,
            target.mean_float, target.centred_float, True, 10, bound,
        )  # fmt: skip
        assert calls <= 10 and reference_calls <= 10
        ours, theirs = residuals(mine), residuals(reference)
        cost, reference_cost = float(ours @ ours), float(theirs @ theirs)
        compared += 1
        same += bool(cost <= reference_cost * (1 + 1e-6) + 1e-12)
    assert compared > 100
    assert same >= 0.97 * compared
