"""The per-evaluation speed work (issue 21) changed no result.

The fingerprint in ``tests/data/sr_fingerprint.json`` holds the archives of fixed-seed
estimator fits made with the code before that work (``tests/sr_fingerprint.py`` wrote
it): the same seeds must give the same archives, every float to the bit. The compiled
pole check must give ``find_pole``'s answer, word for word, and the walk's root interval
to the bit, on 10,000 random trees over boxes that make poles common and rare.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from deap import gp

from domains.symbolic_regression.compiled import compile_tree
from domains.symbolic_regression.intervals import (
    _variable_bounds,
    _walk,
    find_pole,
    find_pole_compiled,
    root_interval_compiled,
)
from domains.symbolic_regression.primitives import (
    decode_tree,
    limited,
    make_pset,
    to_infix,
    tree_height,
)
from tests.sr_fingerprint import CASES, FIXTURE, environment, fingerprint

RECORDED = json.loads(FIXTURE.read_text())
N_VARS = 3
PSET = make_pset(N_VARS)


@pytest.mark.skipif(
    RECORDED["environment"] != environment(),
    reason="the fingerprint was recorded on another CPU or numpy (see tests/sr_fingerprint.py)",
)
@pytest.mark.parametrize("case", list(CASES))
def test_the_same_seed_gives_the_same_archive(case: str) -> None:
    assert json.loads(json.dumps(fingerprint(case))) == RECORDED["cases"][case]


def _random_trees(n: int, seed: int, pset: gp.PrimitiveSet = PSET) -> list[gp.PrimitiveTree]:
    generator = random.Random(seed)
    saved = gp.random
    gp.random = generator  # DEAP draws from the module it imported
    try:
        return [gp.PrimitiveTree(gp.genHalfAndHalf(pset, 1, 7)) for _ in range(n)]
    finally:
        gp.random = saved


BOXES = (
    ([-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]),
    ([0.5, 1.0, 2.0], [2.0, 3.0, 40.0]),
    ([-3.0, 0.0, 1e-7], [-1.0, 0.0, 1e-7]),  # a negative, a zero and a tiny variable
    ([-60.0, 10.0, -1e6], [60.0, 1e5, 1e7]),  # beyond the exp cap and the periodic limit
)


@pytest.mark.parametrize("box", range(len(BOXES)))
def test_compiled_pole_check_equals_the_walk(box: int) -> None:
    lows, highs = (np.array(b, dtype=float) for b in BOXES[box])
    bounds = _variable_bounds(lows, highs)
    trees = _random_trees(10_000 if box == 0 else 2_500, seed=box)
    # Twins (x - x, x * x, x / x) are rare in random trees: add some.
    trees += [decode_tree(["sub", *t, *t], PSET) for t in map(_tokens, trees[:300])]
    trees += [decode_tree(["mul", *t, *t], PSET) for t in map(_tokens, trees[:300])]
    trees += [decode_tree(["div", *t, *t], PSET) for t in map(_tokens, trees[:300])]
    poles = 0
    for tree in trees:
        program = compile_tree(tree, N_VARS)
        expected = find_pole(tree, lows, highs)
        assert find_pole_compiled(tree, program, lows, highs) == expected, to_infix(tree)
        if expected is None:
            lo, hi, _ = _walk(tree, bounds, stop_at_pole=True)
            got = root_interval_compiled(program, lows, highs)
            assert got is not None
            assert np.array([lo, hi]).tobytes() == np.array(got).tobytes(), to_infix(tree)
        else:
            poles += 1
    assert 0.05 * len(trees) < poles < 0.95 * len(trees)  # both answers were exercised


def _tokens(tree: gp.PrimitiveTree) -> list:
    return [node.name if isinstance(node, gp.Primitive) else node.value for node in tree]


def test_tree_height_and_limits_are_deaps() -> None:
    trees = _random_trees(2_000, seed=11)
    assert [tree_height(tree) for tree in trees] == [tree.height for tree in trees]
    for seed, (first, second) in enumerate(zip(trees[::2], trees[1::2], strict=True)):
        height = gp.staticLimit(key=lambda tree: tree.height, max_value=4)
        size = gp.staticLimit(key=len, max_value=12)
        expected_generator, got_generator = random.Random(seed), random.Random(seed)
        saved = gp.random
        try:
            gp.random = expected_generator
            expected = size(height(gp.cxOnePoint))(
                gp.PrimitiveTree(first), gp.PrimitiveTree(second)
            )
            gp.random = got_generator
            got = limited(
                gp.cxOnePoint,
                gp.PrimitiveTree(first),
                gp.PrimitiveTree(second),
                max_depth=4,
                max_size=12,
            )
        finally:
            gp.random = saved
        assert [str(tree) for tree in got] == [str(tree) for tree in expected]
        assert got_generator.getstate() == expected_generator.getstate()


def test_to_infix_is_unchanged() -> None:
    for tree in _random_trees(300, seed=5):
        assert to_infix(tree) == _reference_infix(tree)


def _reference_infix(tree: gp.PrimitiveTree) -> str:
    """``to_infix`` as it was before the speed work."""
    infix = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
    stack: list[str] = []
    for node in reversed(tree):
        if isinstance(node, gp.Primitive):
            args = [stack.pop() for _ in range(node.arity)]
            if node.name in infix:
                stack.append(f"({args[0]} {infix[node.name]} {args[1]})")
            else:
                stack.append(f"{node.name}({', '.join(args)})")
        elif isinstance(node.value, str):
            stack.append(node.value)
        else:
            stack.append(repr(float(node.value)))
    text = stack[0]
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def test_compile_tree_in_one_forward_pass() -> None:
    """Depth, constant slots and constant nodes as the postfix walk gives them."""
    for tree in _random_trees(3_000, seed=17):
        program = compile_tree(tree, N_VARS)
        height = depth = 0
        for node in reversed(tree):
            height += 1 - node.arity
            depth = max(depth, height)
        assert program.depth == max(depth, 1)
        constants = [k for k, node in enumerate(tree) if not isinstance(node, gp.Primitive)]
        constants = [k for k in constants if not isinstance(tree[k].value, str)]
        assert program.constant_nodes == tuple(constants)
        assert program.constants.tolist() == [float(tree[k].value) for k in constants]
        assert program.codes.size == len(tree)


def test_compile_tree_names_the_unknown_name_the_interpreter_meets_first() -> None:
    tree = decode_tree(["add", "x4", "x5"], make_pset(5))
    with pytest.raises(KeyError, match="x5"):  # from the end, as evaluate_tree walks
        compile_tree(tree, N_VARS)
