"""Random formulas that are dimensionally consistent by construction.

Rejection alone cannot seed a search under a units constraint: of 3,000 ramped
half-and-half trees over ``m`` (kg), ``v`` (m/s) and a pure number, none carried the
units of an energy. QDSR builds its trees with the units in mind; so do we, top-down:
a node that must carry units ``U`` is

- a variable in ``U`` (or a constant when ``U`` is dimensionless), or
- ``add``/``sub`` of two subtrees in ``U``, ``mul`` of subtrees in ``V`` and ``U - V``,
  ``div`` of subtrees in ``U + V`` and ``V`` (``V`` a variable's units, none, or ``U``),
- ``sin``/``cos``/``exp``/``log`` of a dimensionless subtree, when ``U`` is none.
- ``sqrt`` of a subtree in the square of ``U``'s units (``sqrt|a|``).

A draw that cannot finish within its depth tries the next function; a tree that cannot
be built at all gives None and the caller falls back to an ordinary random tree.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from deap import gp

from domains.symbolic_regression.primitives import CONSTANT
from domains.symbolic_regression.units import DIMENSIONLESS_FUNCTIONS, ROOT_FUNCTIONS, Units

__all__ = ["consistent_tree"]

_LEAF_CHANCE = 0.3
"""Chance of stopping at a fitting leaf before the depth runs out (grow-style trees)."""
_CALLS = 300
"""Most recursive steps one draw may take, so a hopeless target fails fast."""


def consistent_tree(
    pset: gp.PrimitiveSet,
    units: Units,
    rng: random.Random,
    *,
    depth: int,
    max_size: int,
    max_depth: int | None = None,
) -> gp.PrimitiveTree | None:
    """A random tree over ``pset`` whose units are the target's (any, without a target).

    Args:
        pset: The primitive set (variables ``x1``..``xn``, functions, constants).
        units: The problem's units; without target units the root is dimensionless.
        rng: The generator to draw from (DEAP's private one inside ``deap_random``).
        depth: Most depth of the tree; draws that fail go one or two levels deeper.
        max_size: Most nodes.
        max_depth: The depth never to pass (default ``depth``).

    Returns:
        The tree, or None when no consistent tree was found in a few draws.
    """
    zero = tuple(0.0 for _ in units.base)
    target = units.target if units.target is not None else zero
    by_units: dict[tuple[float, ...], list[str]] = {}
    for name, vector in units.variables.items():
        by_units.setdefault(_key(vector), []).append(name)
    pool = [zero, *(_key(v) for v in units.variables.values())]
    functions = [(p.name, p.arity) for p in pset.primitives[pset.ret]]
    constant = pset.mapping[CONSTANT]
    limit = depth if max_depth is None else max_depth
    for attempt in range(10):
        budget = [_CALLS]
        deeper = min(depth + attempt // 4, limit)  # 4 draws at depth, then one deeper...
        tokens = _grow(_key(target), deeper, max_size, rng, by_units, pool, functions, zero, budget)
        if tokens is not None:
            return gp.PrimitiveTree([_node(t, pset, constant, rng) for t in tokens])
    return None


def _key(vector: Iterable[float]) -> tuple[float, ...]:
    return tuple(round(float(v), 9) + 0.0 for v in vector)  # -0.0 and 0.0 as one key


def _grow(
    target: tuple[float, ...],
    depth: int,
    room: int,
    rng: random.Random,
    by_units: dict[tuple[float, ...], list[str]],
    pool: list[tuple[float, ...]],
    functions: list[tuple[str, int]],
    zero: tuple[float, ...],
    budget: list[int],
) -> list[Any] | None:
    """Prefix tokens of a tree in ``target`` units (names, None for a constant), of at
    most ``room`` tokens."""
    budget[0] -= 1
    if budget[0] < 0 or room < 1:
        return None
    leaves: list[Any] = list(by_units.get(target, ()))
    if target == zero:
        leaves.append(None)
    if leaves and (depth == 0 or rng.random() < _LEAF_CHANCE):
        return [rng.choice(leaves)]
    if depth == 0 or room < 2:
        return [rng.choice(leaves)] if leaves else None
    order = list(functions)
    rng.shuffle(order)
    for name, arity in order:
        if arity == 1:
            if name in ROOT_FUNCTIONS:
                inside = _key(2 * t for t in target)  # sqrt of a square of the target's units
            elif name in DIMENSIONLESS_FUNCTIONS and target == zero:
                inside = zero
            else:
                continue
            child = _grow(inside, depth - 1, room - 1, rng, by_units, pool, functions, zero, budget)
            if child is not None:
                return [name, *child]
            continue
        if name in ("add", "sub"):
            units = (target, target)
        elif name == "mul":
            left = rng.choice([*pool, target])
            units = (left, _key(t - v for t, v in zip(target, left, strict=True)))
        elif name == "div":
            right = rng.choice(pool)
            units = (_key(t + v for t, v in zip(target, right, strict=True)), right)
        else:
            continue
        if room < 3:
            continue
        first = _grow(units[0], depth - 1, room - 2, rng, by_units, pool, functions, zero, budget)
        if first is None:
            continue
        rest = room - 1 - len(first)
        second = _grow(units[1], depth - 1, rest, rng, by_units, pool, functions, zero, budget)
        if second is not None:
            return [name, *first, *second]
    return [rng.choice(leaves)] if leaves else None


def _node(token: Any, pset: gp.PrimitiveSet, constant: Any, rng: random.Random) -> Any:
    if token is not None:
        return pset.mapping[token]
    node = constant.__new__(constant)
    node.value = round(rng.uniform(-1.0, 1.0), 3)  # as primitives.random_constant draws
    return node
