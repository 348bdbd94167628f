"""A whole batch of trees varied and scored in two compiled calls, not one per tree.

DEAP's operators and the one-tree scorer cost about 130 µs of Python per child (copies,
subtree searches, limit checks, compiling each tree to a program, numpy calls on a few
dozen points), which is what kept the search 10-25x behind pyoperon's evaluations per
second. Here a tree is compiled once into a packed array (:func:`packed`, kept on the
tree until the tree changes), a batch of parents becomes its children in one call of
:func:`~.batch_kernels.vary_many`, and a batch of children is pole-checked, run,
tuned, scaled and scored in one call of :func:`~.batch_tuning.fit_many`. Python is left
with what only Python can do: building the children's node lists, by indexing the
parents' nodes where the kernel says a child copied them (so a child shares its nodes
with its parents, as DEAP's children do), and making the ``Evaluation`` objects.

The operators are DEAP's (one-point crossover, uniform subtree mutation with
``genFull``, ephemeral mutation, the static limits), with the same distributions; the
random numbers come from the search's numpy generator in one draw per batch, so a seed
gives the same children on every backend.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from deap import gp

from domains.symbolic_regression.batch_kernels import (
    NEW_CONSTANTS,
    UNIFORMS,
    child_sources,
    vary_many,
)
from domains.symbolic_regression.compiled import OPCODES
from domains.symbolic_regression.primitives import CONSTANT

__all__ = ["Tree", "nodes_table", "pack_many", "packed", "vary", "with_constants"]


def _dropping_cache(method_name: str):
    method = getattr(gp.PrimitiveTree, method_name, None) or getattr(list, method_name)

    def changed(self, *args, **kwargs):
        self._packed = None
        return method(self, *args, **kwargs)

    changed.__name__ = method_name
    changed.__doc__ = f"``{method_name}``, forgetting the compiled form."
    return changed


class Tree(gp.PrimitiveTree):
    """A DEAP ``PrimitiveTree`` that keeps its packed (compiled) form until it changes.

    Every method that changes the list forgets the packed form, so DEAP's operators,
    which edit trees in place, can be used on it as on any tree.
    """

    __slots__ = ("_packed",)

    def __init__(self, content: Any) -> None:
        super().__init__(content)
        self._packed: np.ndarray | None = None

    __setitem__ = _dropping_cache("__setitem__")
    __delitem__ = _dropping_cache("__delitem__")
    __iadd__ = _dropping_cache("__iadd__")
    __imul__ = _dropping_cache("__imul__")
    append = _dropping_cache("append")
    extend = _dropping_cache("extend")
    insert = _dropping_cache("insert")
    pop = _dropping_cache("pop")
    remove = _dropping_cache("remove")
    reverse = _dropping_cache("reverse")
    sort = _dropping_cache("sort")
    clear = _dropping_cache("clear")

    def __reduce__(self):
        # Pickles as a plain list of nodes (the packed form is rebuilt when needed).
        return (type(self), (list(self),))


_FUNCTION_CODES = {name: float(code) for name, code in OPCODES.items()}


def packed(tree: gp.PrimitiveTree, n_vars: int) -> np.ndarray:
    """The tree as the kernels read it: ``(3, size)`` float64, opcode, column, value.

    Kept on a :class:`Tree` until the tree changes; computed anew for other trees.

    Raises:
        KeyError: The tree names a function or variable outside the language.
    """
    if isinstance(tree, Tree) and tree._packed is not None:
        return tree._packed
    primitive = gp.Primitive
    columns = _variable_columns(n_vars)
    codes, slots, values = [], [], []
    for node in tree:
        if isinstance(node, primitive):
            codes.append(_FUNCTION_CODES[node.name])
            slots.append(0.0)
            values.append(0.0)
            continue
        value = node.value
        if value.__class__ is str:
            codes.append(0.0)
            slots.append(columns[value])
            values.append(0.0)
        else:
            codes.append(1.0)
            slots.append(0.0)
            values.append(float(value))
    result = np.array((codes, slots, values), dtype=np.float64)
    if isinstance(tree, Tree):
        tree._packed = result
    return result


@functools.lru_cache(maxsize=64)
def _variable_columns(n_vars: int) -> dict[str, float]:
    """Variable name -> its column, as a float (the packed array's row 1)."""
    return {f"x{i + 1}": float(i) for i in range(n_vars)}


def pack_many(trees: Sequence[gp.PrimitiveTree], n_vars: int) -> tuple[np.ndarray, np.ndarray]:
    """Packed trees side by side, and where each starts (``starts[-1]`` the end)."""
    arrays = [packed(tree, n_vars) for tree in trees]
    starts = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([array.shape[1] for array in arrays], out=starts[1:])
    if not arrays:
        return np.empty((3, 0)), starts
    return np.concatenate(arrays, axis=1), starts


class NodesTable:
    """The node objects a new subtree is made of: the primitive set's own functions and
    variables (shared by every tree, as DEAP shares them), and its constant class."""

    def __init__(self, pset: gp.PrimitiveSet) -> None:
        self.functions = {float(OPCODES[p.name]): p for p in pset.primitives[pset.ret]}
        self.variables = [pset.mapping[name] for name in pset.arguments]
        self.constant_class = pset.mapping[CONSTANT]
        self.opcodes = np.array(sorted(self.functions), dtype=np.float64)

    def constant(self, value: float) -> gp.Terminal:
        node = self.constant_class.__new__(self.constant_class)
        node.value = value
        return node

    def node(self, op: float, column: float, value: float) -> Any:
        if op == 0.0:
            return self.variables[int(column)]
        if op == 1.0:
            return self.constant(value)
        return self.functions[op]


def with_constants(
    tree: gp.PrimitiveTree, positions: np.ndarray, values: np.ndarray, table: NodesTable
) -> Tree:
    """A copy of ``tree`` with the constants at ``positions`` set to ``values`` (fresh
    nodes: a copy shares its nodes with the original)."""
    nodes = list(tree)
    for position, value in zip(positions.tolist(), values.tolist(), strict=True):
        nodes[position] = table.constant(value)
    return Tree(nodes)


def nodes_table(pset: gp.PrimitiveSet) -> NodesTable:
    """:class:`NodesTable` of ``pset``."""
    return NodesTable(pset)


def vary(
    groups: Sequence[Sequence[gp.PrimitiveTree]],
    rng: np.random.Generator,
    *,
    table: NodesTable,
    n_vars: int,
    p_crossover: float,
    p_constant: float,
    max_depth: int,
    max_size: int,
) -> list[Tree]:
    """One child per pair of parents, all made in one compiled call (see module doc)."""
    n = len(groups)
    if n == 0:
        return []
    parents: list[gp.PrimitiveTree] = []
    index: dict[int, int] = {}
    sides: list[int] = []
    for group in groups:
        for tree in (group[0], group[1]):
            position = index.get(id(tree))
            if position is None:
                position = index[id(tree)] = len(parents)
                parents.append(tree)
            sides.append(position)
    pairs = np.array(sides, dtype=np.int64).reshape(n, 2)
    trees, starts = pack_many(parents, n_vars)
    uniforms = rng.random((n, UNIFORMS))
    fresh = np.round(rng.uniform(-1.0, 1.0, (n, NEW_CONSTANTS)), 3)
    children, child_starts, kinds, cuts = vary_many(
        trees,
        starts,
        np.ascontiguousarray(pairs[:, 0]),
        np.ascontiguousarray(pairs[:, 1]),
        uniforms,
        fresh,
        table.opcodes,
        n_vars,
        p_crossover,
        p_constant,
        max_depth,
        max_size,
    )
    # Every child's nodes in one pass: the parents' own node objects where the kernel
    # copied them (children share nodes with parents, as DEAP's do), new ones only for
    # the columns it wrote (a subtree mutation's functions, variables and constants).
    sources = child_sources(
        kinds, cuts, pairs[:, 0].copy(), pairs[:, 1].copy(), starts, child_starts
    )
    pool: list[Any] = list(itertools.chain.from_iterable(parents))
    new = np.flatnonzero(sources < 0)
    if new.size:
        node = table.node
        pool.extend(map(node, *children[:, new].tolist()))
        sources[new] = np.arange(len(pool) - new.size, len(pool))
    nodes = list(map(pool.__getitem__, sources.tolist()))
    bounds = child_starts.tolist()
    made: list[Tree] = []
    for g in range(n):
        begin, end = bounds[g], bounds[g + 1]
        child = Tree(nodes[begin:end])
        child._packed = children[:, begin:end].copy()
        made.append(child)
    return made
