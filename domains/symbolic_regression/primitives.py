"""The GP language: a DEAP primitive set, and a vectorised interpreter for its trees.

DEAP's usual way to score a tree is ``gp.compile`` (build a lambda from a string and
``eval`` it) and a Python loop over the fitness cases. We walk the tree once instead,
applying each numpy function to every fitness case at the same time: no ``eval`` and
no per-point loop (``bench/sr_eval.py`` measures the difference).

Every primitive is a numpy function that also accepts Python floats, so DEAP's
compiled lambdas and our interpreter compute exactly the same thing.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from deap import gp

PROTECTED_DIV_EPSILON = 1e-6
EXP_CAP = 50.0  # exp(50) ~ 5e21: large enough for every benchmark, far from overflow
CONSTANT = "const"
NONLINEAR = frozenset({"sin", "cos", "exp", "log", "sqrt"})


def protected_div(a, b):
    """a / b, or 1 where |b| is tiny (Koza's protected division)."""
    return np.where(np.abs(b) > PROTECTED_DIV_EPSILON, np.divide(a, b), 1.0)


def guarded_exp(a):
    """exp(a) with a capped at ``EXP_CAP``, so it never overflows."""
    return np.exp(np.minimum(a, EXP_CAP))


def guarded_log(a):
    """log|a|, or 0 where |a| is tiny: defined everywhere, like protected division."""
    magnitude = np.abs(a)
    return np.where(magnitude > PROTECTED_DIV_EPSILON, np.log(np.maximum(magnitude, 1e-300)), 0.0)


def guarded_sqrt(a):
    """sqrt|a|: defined everywhere and continuous, as gplearn's protected ``sqrt`` is.

    A square root of a negative number is NaN, which would make any formula with one
    invalid wherever its argument dips below zero; the magnitude keeps the search's
    formulas total, and on data where the argument has one sign (``1 - v**2/c**2`` with
    ``v < c``) it is the plain root (``export`` drops the ``Abs`` there).
    """
    return np.sqrt(np.abs(a))


FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "add": (np.add, 2),
    "sub": (np.subtract, 2),
    "mul": (np.multiply, 2),
    "div": (protected_div, 2),
    "sin": (np.sin, 1),
    "cos": (np.cos, 1),
    "exp": (guarded_exp, 1),
    "log": (guarded_log, 1),
    "sqrt": (guarded_sqrt, 1),
}
DEFAULT_FUNCTIONS: tuple[str, ...] = ("add", "sub", "mul", "div", "sin", "cos", "exp", "log")
"""The language a search uses unless told otherwise (``sqrt`` is opt-in: the AI Feynman
laws need it, most benchmarks do not, and every function added dilutes the others)."""
_CALL = {name: function for name, (function, _) in FUNCTIONS.items()}
_FLOAT = np.dtype(float)
INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


def random_constant() -> float:
    """An ephemeral constant in [-1, 1], rounded so formulas stay readable."""
    return round(random.uniform(-1.0, 1.0), 3)


_DEAP_LOCK = threading.RLock()


@contextmanager
def deap_random(seed: int) -> Iterator[random.Random]:
    """Within the block, DEAP's tree operators draw from a private ``random.Random(seed)``.

    DEAP calls the functions of Python's global ``random`` module, which every thread of
    the process shares. In a Dask worker the event loop's threads draw from it too, so a
    run's tree draws could shift under it and the same seed give another run (we saw it
    once in 24 runs). For the block, the name ``random`` in ``deap.gp`` and in our
    primitives (ephemeral constants) points to the private generator; the stream is the
    one ``random.seed(seed)`` would give. A lock keeps two threads from swapping at once.
    """
    private = random.Random(seed)
    namespace = globals()  # this module's names: ``random`` is looked up here at call time
    with _DEAP_LOCK:
        saved = gp.random, namespace["random"]
        gp.random = namespace["random"] = private
        try:
            yield private
        finally:
            gp.random, namespace["random"] = saved


def variable_names(n_vars: int) -> list[str]:
    return [f"x{i + 1}" for i in range(n_vars)]


def make_pset(n_vars: int, functions: Sequence[str] = DEFAULT_FUNCTIONS) -> gp.PrimitiveSet:
    """A DEAP primitive set over ``x1..xn``, the chosen functions and constants.

    Raises:
        ValueError: No function (a tree needs one to grow past a leaf) or an unknown
            name (the message lists the known ones).
    """
    if not functions:
        raise ValueError(
            f"functions: a tree needs at least one function; choose from {sorted(FUNCTIONS)}"
        )
    unknown = sorted(set(functions) - set(FUNCTIONS))
    if unknown:
        raise ValueError(f"functions: unknown {unknown}; choose from {sorted(FUNCTIONS)}")
    pset = gp.PrimitiveSet("MAIN", n_vars)
    for name in functions:
        function, arity = FUNCTIONS[name]
        pset.addPrimitive(function, arity, name=name)
    pset.addEphemeralConstant(CONSTANT, random_constant)
    pset.renameArguments(**{f"ARG{i}": name for i, name in enumerate(variable_names(n_vars))})
    return pset


def evaluate_tree(tree: gp.PrimitiveTree, X: np.ndarray) -> np.ndarray:
    """The tree's output on every row of ``X`` at once.

    Callers wrap it in ``np.errstate(all="ignore")``: overflow and NaN are expected
    from random programs and are judged by the fitness, not warned about.

    Args:
        tree: A DEAP tree over ``x1..xn``.
        X: Inputs, shape ``(n_points, n_vars)``.

    Returns:
        A new array of shape ``(n_points,)`` (possibly with inf or NaN).
    """
    # The hot loop of every fitness evaluation: one ufunc call per node and as little
    # Python around it as possible (bound methods, one dict lookup, no temporaries).
    n_points, n_vars = X.shape
    if n_vars == 1:
        columns = {"x1": X[:, 0]}
    else:
        columns = dict(zip(variable_names(n_vars), X.T, strict=True))
    call = _CALL
    primitive = gp.Primitive
    stack: list = []
    push, pop = stack.append, stack.pop
    for node in reversed(tree):
        if isinstance(node, primitive):
            if node.arity == 2:
                push(call[node.name](pop(), pop()))  # pops the first argument first
            else:
                push(call[node.name](pop()))
        else:
            value = node.value
            push(columns[value] if isinstance(value, str) else float(value))
    result = stack[0]
    if (
        len(tree) > 1  # a lone variable is a view of X: copy it below
        and result.__class__ is np.ndarray
        and result.dtype is _FLOAT
        and result.shape == (n_points,)
    ):
        return result
    out = np.empty(n_points)
    out[...] = result  # a constant (formula without variables), or a copy of a column
    return out


def to_infix(tree: gp.PrimitiveTree) -> str:
    """A readable formula: ``(x1 * x1) + sin(x1)``."""
    # Runs for every scored formula (the ``formula`` of its evaluation): one format
    # string per function, looked up once, instead of building argument lists.
    templates = _TEMPLATES
    primitive = gp.Primitive
    stack: list[str] = []
    push, pop = stack.append, stack.pop
    for node in reversed(tree):
        if node.__class__ is primitive:
            template = templates.get(node.name)
            if template is None:
                template = templates[node.name] = _template(node.name, node.arity)
            if node.arity == 2:
                push(template % (pop(), pop()))
            elif node.arity == 1:
                push(template % pop())
            else:
                push(template % tuple(pop() for _ in range(node.arity)))
        elif isinstance(node, primitive):  # a subclass: the general form
            push(_template(node.name, node.arity) % tuple(pop() for _ in range(node.arity)))
        else:
            value = node.value
            push(value if value.__class__ is str else repr(float(value)))
    text = stack[0]
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def _template(name: str, arity: int) -> str:
    """``to_infix``'s %-format of a function: ``(%s + %s)`` for an operator, ``sin(%s)``."""
    if name in INFIX and arity == 2:
        return f"(%s {INFIX[name]} %s)"
    return f"{name.replace('%', '%%')}({', '.join(['%s'] * arity)})"


_TEMPLATES: dict[str, str] = {}
"""Function name -> its ``to_infix`` template (filled on first use)."""


def tree_height(tree: Sequence[Any]) -> int:
    """``tree.height`` (DEAP's depth of the deepest node), in one pass from the end.

    DEAP's property builds a list per node; variation asks for the height of every
    child (the static depth limit), so this is on the search's hot path.
    """
    primitive = gp.Primitive
    heights: list[int] = []
    push, pop = heights.append, heights.pop
    for node in reversed(tree):
        if node.__class__ is not primitive and not isinstance(node, primitive):
            push(0)
            continue
        arity = node.arity
        if arity == 2:
            first, second = pop(), heights[-1]
            heights[-1] = (first if first > second else second) + 1
        elif arity == 1:
            heights[-1] += 1
        elif arity == 0:
            push(0)
        else:
            height = max(heights[-arity:]) + 1
            del heights[-arity:]
            push(height)
    return heights[0] if heights else 0


def copy_tree(tree: gp.PrimitiveTree) -> gp.PrimitiveTree:
    """``copy.deepcopy(tree)`` for a plain tree, without deepcopy's machinery.

    DEAP's deep copy of a tree copies the list and deep-copies its ``__dict__``; the
    nodes themselves are shared (DEAP's operators replace nodes, never edit them). A
    tree carrying attributes goes through ``copy.deepcopy``.
    """
    if tree.__dict__:
        return copy.deepcopy(tree)
    return tree.__class__(tree)


def limited(
    operator: Callable[..., Any],
    *trees: gp.PrimitiveTree,
    max_depth: int,
    max_size: int,
    **options: Any,
) -> list[gp.PrimitiveTree]:
    """``operator(*trees, **options)`` under DEAP's static depth and size limits.

    Exactly ``gp.staticLimit(len, max_size)(gp.staticLimit(height, max_depth)(operator))``
    applied to the trees, random draws included (a child over a limit becomes a
    ``gp.random.choice`` of copies of the trees as they came, depth checked first, every
    child in order), so the same seed gives the same children; but copies are cheap
    list copies and heights come from :func:`tree_height`.
    """
    outer = [copy_tree(tree) for tree in trees]
    inner = [copy_tree(tree) for tree in trees]
    children = list(operator(*trees, **options))
    choice = gp.random.choice  # DEAP's generator: private inside deap_random
    for i, child in enumerate(children):
        if tree_height(child) > max_depth:
            children[i] = choice(inner)
    for i, child in enumerate(children):
        if len(child) > max_size:
            children[i] = choice(outer)
    return children


def encode_tree(tree: gp.PrimitiveTree) -> list[str | float]:
    """Prefix tokens: names for functions and variables, numbers for constants."""
    return [
        node.name
        if isinstance(node, gp.Primitive)
        else node.value
        if isinstance(node, gp.Primitive) or isinstance(node.value, str)
        else float(node.value)
        for node in tree
    ]


def decode_tree(tokens: Sequence[str | float], pset: gp.PrimitiveSet) -> gp.PrimitiveTree:
    """Rebuild a tree from :func:`encode_tree` tokens, without ``eval``.

    Raises:
        ValueError: An unknown token or a malformed prefix expression.
    """
    nodes = []
    needed = 1
    for position, token in enumerate(tokens):
        if isinstance(token, bool) or not isinstance(token, str | int | float):
            raise ValueError(f"token {position} ({token!r}) is neither a name nor a number")
        if isinstance(token, str):
            node = pset.mapping.get(token)
            if node is None or node.name == CONSTANT:
                raise ValueError(f"token {position} ({token!r}) is not in the primitive set")
        else:
            constant_class = pset.mapping[CONSTANT]
            try:
                value = float(token)
            except OverflowError:
                raise ValueError(f"token {position} is a number too large for a float") from None
            node = constant_class.__new__(constant_class)
            node.value = value
        needed += (node.arity if isinstance(node, gp.Primitive) else 0) - 1
        nodes.append(node)
        if needed == 0 and position != len(tokens) - 1:
            raise ValueError(
                f"expression ends at token {position} but more tokens follow, starting with "
                f"token {position + 1} ({tokens[position + 1]!r})"
            )
    if needed != 0 or not nodes:
        raise ValueError("expression is incomplete: a function lacks arguments")
    return gp.PrimitiveTree(nodes)
