"""Units: whether a formula is dimensionally consistent, as QDSR checks it.

Physical laws add only like quantities and take ``sin``, ``exp`` or ``log`` of pure
numbers. QDSR (Bruneton 2025, arXiv 2503.19043) uses this to prune the search on the
AI Feynman equations; this module is its check over our trees. Each variable carries
an exponent vector over base units (``m/s^2`` is ``{m: 1, s: -2}``) and the rules are:

- a variable has its units; **a constant is dimensionless** (a pure number, as QDSR's
  free scalars are: physical constants are inputs with units, as in AI Feynman);
- ``add`` and ``sub`` need equal units on both sides and keep them;
- ``mul`` adds exponents and ``div`` subtracts them (protected division is division);
- ``sin``, ``cos``, ``exp`` and ``log`` (the protected ``log|a|`` too) need a
  dimensionless argument and give a dimensionless result;
- ``sqrt`` (the protected ``sqrt|a|``) halves every exponent (``sqrt(m^2/s^2)`` is
  ``m/s``); a half exponent is allowed (``m^0.5``), as in noise densities;
- linear scaling ``a + b * f(x)``: the slope ``b`` is a pure number, so ``f`` itself
  must carry the target's units; the intercept ``a`` carries the target's units. With
  no target units given the root may carry any units (the slope absorbs them), and only
  the inner rules apply.

:func:`check_units` is a pure function of a tree's prefix tokens and the units; the
domain uses it as a constraint (inconsistent formulas are invalid) or as a descriptor
axis (the count of violations).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeAlias

__all__ = [
    "UnitCheck",
    "Units",
    "check_units",
    "make_units",
    "parse_unit",
]

UNIT_VIOLATIONS_CAP = 5
"""The ``units`` axis's last bin holds formulas with this many violations or more."""

UnitSpec: TypeAlias = str | Mapping[str, int | float] | None
"""Units as text (``"kg*m^2/s^2"``, ``"1"`` or ``""`` for none) or ``{base: exponent}``."""

DIMENSIONLESS_FUNCTIONS = frozenset({"sin", "cos", "exp", "log"})
_BINARY = frozenset({"add", "sub", "mul", "div"})
ROOT_FUNCTIONS = frozenset({"sqrt"})
"""Unary functions that take a root of their argument's units rather than needing none."""
_TOLERANCE = 1e-9
_FACTOR = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*)(?:\^\(?([-+]?[0-9./]+)\)?)?$")


def parse_unit(spec: UnitSpec) -> dict[str, Fraction]:
    """``{base: exponent}`` of one quantity's units, zero exponents dropped.

    Text is a product of base units with optional powers, ``/`` dividing by what follows
    it: ``"m/s^2"``, ``"kg*m**2/s**2"``, ``"m^1/2"`` is not allowed (write ``"m^0.5"``).
    ``"1"``, ``""`` and ``None`` mean dimensionless. Base names are free: ``m``, ``s``,
    ``kg``, ``K``, ``V``, or your own.

    Raises:
        ValueError: Text that is not such a product, or a non-numeric exponent (the
            message names the bad part).
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        units: dict[str, Fraction] = {}
        for base, exponent in spec.items():
            if not isinstance(base, str) or not base:
                raise ValueError(f"units: {dict(spec)!r}: base unit names must be text")
            if isinstance(exponent, bool) or not isinstance(exponent, int | float | Fraction):
                raise ValueError(f"units: {dict(spec)!r}: exponent of {base!r} is not a number")
            if not math.isfinite(exponent):
                raise ValueError(f"units: {dict(spec)!r}: exponent of {base!r} is not finite")
            units[base] = units.get(base, Fraction(0)) + Fraction(exponent).limit_denominator(1000)
        return {b: e for b, e in units.items() if e != 0}
    if not isinstance(spec, str):
        raise ValueError(
            f"units: {spec!r}: give text such as 'kg*m^2/s^2' or a mapping such as "
            "{'kg': 1, 'm': 2, 's': -2}"
        )
    text = spec.replace(" ", "").replace("**", "^")
    units = {}
    if text in ("", "1"):
        return units
    sign = 1
    for position, part in enumerate(re.split(r"([*/])", text)):
        if position % 2:  # an operator: '*' keeps the sign, '/' divides by the next factor
            sign = -1 if part == "/" else 1
            continue
        if part == "1" and position == 0:
            continue
        match = _FACTOR.match(part)
        if match is None:
            raise ValueError(
                f"units: {spec!r}: cannot read {part!r}; write base units with powers, "
                "like 'kg*m^2/s^2'"
            )
        base, power = match.group(1), match.group(2)
        try:
            power_of: Fraction = Fraction(power) if power else Fraction(1)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"units: {spec!r}: exponent {power!r} is not a number") from None
        units[base] = units.get(base, Fraction(0)) + sign * power_of
    return {b: e for b, e in units.items() if e != 0}


@dataclass(frozen=True)
class Units:
    """Units of a problem's variables (and maybe its target) as exponent vectors.

    Attributes:
        base: The base units, the order of every vector's entries.
        variables: Tree variable name (``x1``..``xn``) -> exponent vector.
        target: The target's exponent vector, or None (any units at the root).
    """

    base: tuple[str, ...]
    variables: Mapping[str, tuple[float, ...]]
    target: tuple[float, ...] | None

    def text(self, vector: tuple[float, ...] | None) -> str:
        """A vector as readable units: ``m*s^-2``, ``1`` for none, ``?`` for unknown."""
        if vector is None:
            return "?"
        parts = [
            base if e == 1 else f"{base}^{e:g}"
            for base, e in zip(self.base, vector, strict=True)
            if abs(e) > _TOLERANCE
        ]
        return "*".join(parts) or "1"


def make_units(
    units: Mapping[str, UnitSpec] | Sequence[UnitSpec],
    *,
    n_vars: int,
    names: Sequence[str] | None = None,
    target: UnitSpec = None,
    target_given: bool | None = None,
) -> Units:
    """:class:`Units` from what a user writes: each input column's units, the target's.

    Args:
        units: Per column, in column order (a list), or by name (a mapping keyed by the
            tree names ``x1``..``xn`` or by the data's column ``names``). Every column
            needs units; ``"1"`` marks a dimensionless one.
        n_vars: Number of input columns.
        names: The data's column names, if any.
        target: The target's units; None leaves the root free (see the module notes).
        target_given: Whether ``target`` is given even though it is None; default: it is
            given when not None.

    Raises:
        ValueError: A column without units, a name that is no column, a list of the
            wrong length, or units that cannot be read; the message names which.
    """
    tree_names = [f"x{i + 1}" for i in range(n_vars)]
    if isinstance(units, Mapping):
        by_column: list[UnitSpec] = []
        known = set(tree_names) | set(names or ())
        unknown = sorted(str(k) for k in units if k not in known)
        if unknown:
            raise ValueError(
                f"units: {unknown} name no input column; columns are {tree_names}"
                + (f" or {list(names)}" if names else "")
            )
        for i, tree_name in enumerate(tree_names):
            name = names[i] if names is not None and i < len(names) else None
            if tree_name in units:
                by_column.append(units[tree_name])
            elif name is not None and name in units:
                by_column.append(units[name])
            else:
                shown = f"{tree_name} ({name})" if name else tree_name
                raise ValueError(f"units: no units for {shown}; give '1' for a dimensionless one")
    elif isinstance(units, str) or not isinstance(units, Sequence):
        raise ValueError(
            f"units: give a mapping from column name to units or a list in column order, "
            f"not {type(units).__name__}"
        )
    else:
        if len(units) != n_vars:
            raise ValueError(f"units: {len(units)} entries for {n_vars} input columns")
        by_column = list(units)
    parsed = [parse_unit(spec) for spec in by_column]
    has_target = target is not None if target_given is None else target_given
    parsed_target = parse_unit(target) if has_target else None
    base = tuple(sorted({b for u in [*parsed, parsed_target or {}] for b in u}))

    def vector(unit: Mapping[str, Fraction]) -> tuple[float, ...]:
        return tuple(float(unit.get(b, 0)) for b in base)

    return Units(
        base=base,
        variables={name: vector(u) for name, u in zip(tree_names, parsed, strict=True)},
        target=None if parsed_target is None else vector(parsed_target),
    )


@dataclass(frozen=True)
class UnitCheck:
    """What :func:`check_units` found.

    Attributes:
        violations: How many nodes break a rule (each counted once: a node that broke
            one has unknown units, which its ancestors accept), plus one when the root
            does not carry the target's units.
        units: The root's exponent vector (None when unknown after a violation).
        reason: A violation in words (the first met reading the formula from its
            end, as the check does), or None.
    """

    violations: int
    units: tuple[float, ...] | None
    reason: str | None

    @property
    def consistent(self) -> bool:
        return self.violations == 0


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(abs(x - y) <= _TOLERANCE for x, y in zip(a, b, strict=True))


def check_units(tree: Sequence[Any], units: Units) -> UnitCheck:
    """Dimensional analysis of one formula: its root's units and every broken rule.

    Args:
        tree: A DEAP ``PrimitiveTree`` or its prefix tokens (``encode_tree``): function
            names, variable names ``x1``..``xn`` and numbers.
        units: The problem's units (:func:`make_units`).

    Returns:
        A :class:`UnitCheck`; ``consistent`` when nothing is broken.

    Raises:
        ValueError: A function this module has no rule for, a variable without units,
            or a malformed prefix expression.
    """
    zero = tuple(0.0 for _ in units.base)
    variables = units.variables
    stack: list[tuple[float, ...] | None] = []
    violations = 0
    reason: str | None = None
    for node in reversed(tree):
        name, arity = _node(node)
        if arity == 0:
            if isinstance(name, str):
                if name not in variables:
                    raise ValueError(
                        f"units: variable {name!r} has no units; known {sorted(variables)}"
                    )
                stack.append(variables[name])
            else:
                stack.append(zero)  # a constant is a pure number
            continue
        if len(stack) < arity:
            raise ValueError("units: malformed prefix expression (a function lacks arguments)")
        if arity == 1:
            argument = stack.pop()
            if name in ROOT_FUNCTIONS:
                stack.append(None if argument is None else tuple(a / 2 for a in argument))
                continue
            if name not in DIMENSIONLESS_FUNCTIONS:
                raise ValueError(f"units: no rule for function {name!r}")
            if argument is not None and not _same(argument, zero):
                violations += 1
                reason = reason or f"{name} of a quantity in {units.text(argument)}"
            stack.append(zero)
            continue
        if arity != 2:
            raise ValueError(f"units: no rule for function {name!r} of {arity} arguments")
        first, second = stack.pop(), stack.pop()  # prefix order: the first argument first
        if name in ("add", "sub"):
            if first is None or second is None:
                stack.append(first if second is None else second)
            elif _same(first, second):
                stack.append(first)
            else:
                violations += 1
                reason = reason or (f"{name} of {units.text(first)} and {units.text(second)}")
                stack.append(None)
        elif name in ("mul", "div"):
            if first is None or second is None:
                stack.append(None)
            elif name == "mul":
                stack.append(tuple(a + b for a, b in zip(first, second, strict=True)))
            else:
                stack.append(tuple(a - b for a, b in zip(first, second, strict=True)))
        else:
            raise ValueError(f"units: no rule for function {name!r}")
    if len(stack) != 1:
        raise ValueError("units: malformed prefix expression")
    root = stack[0]
    if units.target is not None and root is not None and not _same(root, units.target):
        violations += 1
        reason = reason or (
            f"the formula is in {units.text(root)}, the target in {units.text(units.target)}"
        )
    return UnitCheck(violations=violations, units=root, reason=reason)


def _node(node: Any) -> tuple[str | float, int]:
    """(name or constant value, arity) of a DEAP node or an ``encode_tree`` token."""
    arity = getattr(node, "arity", None)
    if arity is not None and arity > 0:  # a DEAP primitive
        return node.name, int(arity)
    if arity is not None:  # a DEAP terminal: a variable (text) or a constant
        value = node.value
        return (value, 0) if isinstance(value, str) else (float(value), 0)
    if isinstance(node, str):
        if node in DIMENSIONLESS_FUNCTIONS or node in ROOT_FUNCTIONS:
            return node, 1
        if node in _BINARY:
            return node, 2
        if node.startswith("x") and node[1:].isdigit():
            return node, 0
        raise ValueError(f"units: no rule for function {node!r}")
    return float(node), 0
