"""DEAP trees compiled to flat postfix programs, run by one numba kernel over all points.

:func:`~domains.symbolic_regression.primitives.evaluate_tree` makes one numpy call per
node; on the 20 to 200 points of a benchmark the calls' overhead, not the arithmetic,
is most of a fitness evaluation. Here a tree becomes three arrays once (opcodes in the
order the interpreter walks them, each node's variable or constant slot, and the
constants), and :func:`run` evaluates the whole program on every point in one compiled
call. The constants sit in their own array, so constant optimisation changes them in
place and evaluates again without rebuilding anything (:meth:`Program.evaluate`).

The kernel computes what the interpreter computes, operation for operation: the same
protected division, exponential cap and protected logarithm, the same argument order,
no ``fastmath`` (no reassociation, no fused multiply-add), NaN propagated as numpy's
``minimum`` propagates it. ``tests/test_sr_compiled.py`` checks that the two agree bit
for bit, NaN and inf positions included, on every benchmark formula and on 10,000
random trees; the one allowed gap is that sin, cos, exp and log come from the C
library here, while numpy may use its own SIMD versions on CPUs with AVX-512, which
are within one ulp of it (the test says which it saw).

The first call compiles the kernels (about a second); ``cache=True`` keeps the machine
code on disk for the next process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba
import numpy as np
from deap import gp

from domains.symbolic_regression.primitives import (
    EXP_CAP,
    FUNCTIONS,
    NONLINEAR,
    PROTECTED_DIV_EPSILON,
    variable_names,
)

__all__ = [
    "OPCODES",
    "Program",
    "compile_tree",
    "constants_runner",
    "program_shape",
    "run",
    "run_many",
]

VARIABLE, CONSTANT = 0, 1
OPCODES: dict[str, int] = {
    "add": 2,
    "sub": 3,
    "mul": 4,
    "div": 5,
    "sin": 6,
    "cos": 7,
    "exp": 8,
    "log": 9,
    "sqrt": 10,
}
"""Opcode of each function of :data:`~.primitives.FUNCTIONS` (0 and 1 are leaves)."""
assert set(OPCODES) == set(FUNCTIONS), "every GP function needs an opcode"
assert {name for name, code in OPCODES.items() if code >= 6} == NONLINEAR, (
    "the kernels read opcodes 2-5 as binary and 6 and up as sin/cos/exp/log/sqrt"
)
_LOG_FLOOR = 1e-300  # guarded_log's floor (unreachable past the epsilon test, kept exact)

# No fastmath (it would reassociate and fuse); numpy's error model (x / 0 is inf, not
# ZeroDivisionError); the GIL released, so evaluator threads run kernels side by side.
_jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=False)


@_jit
def _scalar(code, a, b):
    """One function on plain floats (``b`` unused by unary ones): the same formulas as
    the loops of :func:`_execute`, for subtrees without variables."""
    if code == 2:
        return a + b
    if code == 3:
        return a - b
    if code == 4:
        return a * b
    if code == 5:
        return a / b if abs(b) > 1e-6 else 1.0
    if code == 6:
        return np.sin(a)
    if code == 7:
        return np.cos(a)
    if code == 8:
        return np.exp(50.0 if a > 50.0 else a)
    if code == 10:
        return np.sqrt(abs(a))
    m = abs(a)
    return np.log(m if m > 1e-300 else 1e-300) if m > 1e-6 else 0.0


@_jit
def _execute(codes, slots, constants, XT, depth, out):
    """One program on every column of ``XT`` (variables by rows), written into ``out``.

    Node-major: each node runs over all points before the next, on a stack of rows, as
    the interpreter does with arrays; the inner loops are plain float arithmetic that
    LLVM can vectorise. Like the interpreter, a subtree without variables is computed
    once, as a number (``is_scalar``), and spread over a row only when an argument of a
    function that has a variable below it.
    """
    n = XT.shape[1]
    stack = np.empty((depth, n))
    is_scalar = np.zeros(depth, dtype=np.bool_)
    scalars = np.empty(depth)
    top = -1
    for k in range(codes.size):
        code = codes[k]
        if code == 0:  # variable
            top += 1
            is_scalar[top] = False
            row = XT[slots[k]]
            for i in range(n):
                stack[top, i] = row[i]
        elif code == 1:  # constant
            top += 1
            is_scalar[top] = True
            scalars[top] = constants[slots[k]]
        elif code <= 5:  # binary: the first argument is on top, as the interpreter pops
            below = top - 1
            if is_scalar[top] and is_scalar[below]:
                scalars[below] = _scalar(code, scalars[top], scalars[below])
                top = below
                continue
            for level in (top, below):
                if is_scalar[level]:
                    value = scalars[level]
                    for i in range(n):
                        stack[level, i] = value
            is_scalar[below] = False
            if code == 2:
                for i in range(n):
                    stack[below, i] = stack[top, i] + stack[below, i]
            elif code == 3:
                for i in range(n):
                    stack[below, i] = stack[top, i] - stack[below, i]
            elif code == 4:
                for i in range(n):
                    stack[below, i] = stack[top, i] * stack[below, i]
            else:  # protected_div: 1 where |b| is not above epsilon (NaN included)
                for i in range(n):
                    b = stack[below, i]
                    stack[below, i] = stack[top, i] / b if abs(b) > 1e-6 else 1.0
            top = below
        elif is_scalar[top]:
            scalars[top] = _scalar(code, scalars[top], 0.0)
        elif code == 6:
            for i in range(n):
                stack[top, i] = np.sin(stack[top, i])
        elif code == 7:
            for i in range(n):
                stack[top, i] = np.cos(stack[top, i])
        elif code == 8:  # guarded_exp: np.minimum keeps NaN, so the test is a > cap
            for i in range(n):
                a = stack[top, i]
                stack[top, i] = np.exp(50.0 if a > 50.0 else a)
        elif code == 10:  # guarded_sqrt: sqrt|a|
            for i in range(n):
                stack[top, i] = np.sqrt(abs(stack[top, i]))
        else:  # guarded_log: 0 where |a| is not above epsilon (NaN included)
            for i in range(n):
                m = abs(stack[top, i])
                stack[top, i] = np.log(m if m > 1e-300 else 1e-300) if m > 1e-6 else 0.0
    if is_scalar[0]:
        value = scalars[0]
        for i in range(n):
            out[i] = value
    else:
        for i in range(n):
            out[i] = stack[0, i]


@_jit
def _execute_many(codes, slots, code_starts, constants, constant_starts, XT, depth, out):
    """Program ``p`` (``codes[code_starts[p]:code_starts[p + 1]]`` with its constants
    from ``constant_starts[p]``) into row ``p`` of ``out``: many programs, one call."""
    for p in range(out.shape[0]):
        begin, end = code_starts[p], code_starts[p + 1]
        _execute(
            codes[begin:end],
            slots[begin:end],
            constants[constant_starts[p] :],
            XT,
            depth,
            out[p],
        )


@dataclass
class Program:
    """A tree as a postfix program: what :func:`run` executes.

    Attributes:
        codes: Opcode of each node, in the order the interpreter visits them (the tree's
            nodes reversed), int64.
        slots: Per node, the variable's column (variables), the constant's index in
            ``constants`` (constants), or 0 (functions), int64.
        constants: The tree's constants in the tree's order (``slots`` index them);
            change them in place to evaluate the same formula with other constants.
        depth: The deepest the stack gets (rows the kernel allocates).
        constant_nodes: Index in the tree of each constant (ascending), so tuned values
            can be put back into a tree.
    """

    codes: np.ndarray
    slots: np.ndarray
    constants: np.ndarray
    depth: int
    constant_nodes: tuple[int, ...]

    def evaluate(self, X: np.ndarray, *, transposed: bool = False) -> np.ndarray:
        """The program's output on every row of ``X``: :func:`run` with this program.

        Args:
            X: Inputs ``(n_points, n_vars)``, or ``(n_vars, n_points)`` C-contiguous
                with ``transposed`` (callers evaluating many times transpose once).
            transposed: ``X`` is already the kernel's layout.
        """
        XT = X if transposed else _columns(X)
        out = np.empty(XT.shape[1])
        _execute(self.codes, self.slots, self.constants, XT, self.depth, out)
        return out


def compile_tree(tree: gp.PrimitiveTree, n_vars: int) -> Program:
    """The postfix program of ``tree`` over ``x1..x{n_vars}``.

    Runs once per scored formula, so it is one pass over the nodes with a dictionary
    lookup each (no numpy element writes), in the tree's order: constants get their
    slots in that order as they come, and the stack depth is read from the running sum
    of ``1 - arity`` (the postfix stack after node ``i`` holds ``1 - sum(j < i)`` rows).

    Raises:
        KeyError: The tree names a variable or function outside ``x1..x{n_vars}`` and
            :data:`OPCODES` (as the interpreter raises for an unknown name; the first
            one the interpreter meets, walking from the end).
    """
    functions, variables = _FUNCTION_TABLE, _variables(n_vars)
    primitive = gp.Primitive
    codes: list[int] = []
    slots: list[int] = []
    constants: list[float] = []
    constant_nodes: list[int] = []
    running = lowest = 0
    try:
        for index, node in enumerate(tree):
            if isinstance(node, primitive):
                code, pushed = functions[node.name]
                codes.append(code)
                slots.append(0)
                running += pushed
                continue
            if running < lowest:
                lowest = running
            running += 1
            value = node.value
            if value.__class__ is str:
                codes.append(VARIABLE)
                slots.append(variables[value])
            else:
                codes.append(CONSTANT)
                slots.append(len(constants))
                constants.append(float(value))
                constant_nodes.append(index)
    except KeyError:
        _raise_unknown(tree, variables)
        raise
    codes.reverse()
    slots.reverse()
    arrays = np.array((codes, slots), dtype=np.int64)  # one allocation for both rows
    return Program(
        arrays[0],
        arrays[1],
        np.array(constants, dtype=np.float64),
        1 - lowest,
        tuple(constant_nodes),
    )


def _raise_unknown(tree: gp.PrimitiveTree, variables: dict[str, int]) -> None:
    """Raise the ``KeyError`` the interpreter raises: its first unknown name from the end."""
    for node in reversed(tree):
        if isinstance(node, gp.Primitive):
            _FUNCTION_TABLE[node.name]
        elif isinstance(node.value, str):
            variables[node.value]


def program_shape(program: Program, n_vars: int) -> tuple[int, int, int]:
    """``(height, nonlinear, variables)`` of the program's tree, in one compiled call.

    The tree's depth (DEAP's ``height``), its count of sin/cos/exp/log nodes and of
    distinct variables: the search's map descriptors, read off the program it scores.
    """
    height, nonlinear, used = _shape(program.codes, program.slots, n_vars)
    return int(height), int(nonlinear), int(used)


@_jit
def _shape(codes, slots, n_vars):
    heights = np.empty(codes.size, dtype=np.int64)
    seen = np.zeros(n_vars, dtype=np.bool_)
    top = -1
    nonlinear = used = 0
    for k in range(codes.size):
        code = codes[k]
        if code <= 1:
            top += 1
            heights[top] = 0
            if code == 0 and not seen[slots[k]]:
                seen[slots[k]] = True
                used += 1
        elif code <= 5:  # binary
            top -= 1
            heights[top] = max(heights[top], heights[top + 1]) + 1
        else:
            heights[top] += 1
            nonlinear += 1
    return heights[0], nonlinear, used


_FUNCTION_TABLE = {name: (code, 1 - FUNCTIONS[name][1]) for name, code in OPCODES.items()}
"""Function name -> (opcode, change of the stack's height)."""


@functools.lru_cache(maxsize=64)
def _variables(n_vars: int) -> dict[str, int]:
    """Variable name -> column of ``X``."""
    return {name: column for column, name in enumerate(variable_names(n_vars))}


def _columns(X: np.ndarray) -> np.ndarray:
    """``X`` as the kernel reads it: one C-contiguous float64 row per variable."""
    return np.ascontiguousarray(np.asarray(X, dtype=float).T)


def run(tree: gp.PrimitiveTree, X: np.ndarray) -> np.ndarray:
    """The tree's output on every row of ``X``, computed by the compiled kernel.

    The drop-in for :func:`~.primitives.evaluate_tree` (same values, same shape, a new
    array, no floating-point warnings to silence).

    Raises:
        KeyError: The tree names a variable ``X`` does not have.
    """
    return compile_tree(tree, X.shape[1]).evaluate(X)


def run_many(programs: Sequence[Program], X: np.ndarray) -> np.ndarray:
    """Every program's output on every row of ``X``, in one compiled call.

    Returns:
        Shape ``(len(programs), n_points)``: row ``p`` is ``programs[p].evaluate(X)``.
    """
    XT = _columns(X)
    out = np.empty((len(programs), XT.shape[1]))
    if not programs:
        return out
    codes = np.concatenate([program.codes for program in programs])
    slots = np.concatenate([program.slots for program in programs])
    code_starts = np.cumsum([0] + [program.codes.size for program in programs])
    constants = np.concatenate([program.constants for program in programs] + [np.zeros(1)])
    constant_starts = np.cumsum([0] + [program.constants.size for program in programs])
    depth = max(program.depth for program in programs)
    _execute_many(codes, slots, code_starts, constants, constant_starts, XT, depth, out)
    return out


def run_constants(program: Program, constants: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``program`` with each row of ``constants`` in turn, in one compiled call.

    What a forward-difference Jacobian needs: the same formula at ``n`` nearby constant
    vectors.

    Args:
        program: The formula.
        constants: Shape ``(m, program.constants.size)``.
        X: Inputs ``(n_vars, n_points)`` C-contiguous (already transposed).

    Returns:
        Shape ``(m, n_points)``.
    """
    m = constants.shape[0]
    size = program.codes.size
    out = np.empty((m, X.shape[1]))
    _execute_many(
        np.tile(program.codes, m),
        np.tile(program.slots, m),
        np.arange(m + 1, dtype=np.int64) * size,
        np.ascontiguousarray(constants, dtype=float).ravel(),
        np.arange(m + 1, dtype=np.int64) * constants.shape[1],
        X,
        program.depth,
        out,
    )
    return out


def constants_runner(program: Program, X: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``run_constants(program, constants, X)`` for ``constants`` of
    ``program.constants.size`` rows, with the tiled layout made once.

    A forward-difference Jacobian asks for exactly that many rows at every step of a
    tuning; the layout (``np.tile`` of the opcodes and slots, the offsets) depends only
    on the program, so it is built once per tuning instead of once per step.
    """
    m = program.constants.size
    size = program.codes.size
    codes, slots = np.tile(program.codes, m), np.tile(program.slots, m)
    code_starts = np.arange(m + 1, dtype=np.int64) * size
    constant_starts = np.arange(m + 1, dtype=np.int64) * m

    def run_rows(constants: np.ndarray) -> np.ndarray:
        out = np.empty((m, X.shape[1]))
        values = np.ascontiguousarray(constants, dtype=float).ravel()
        _execute_many(codes, slots, code_starts, values, constant_starts, X, program.depth, out)
        return out

    return run_rows


# The kernel spells the caps as literals (numba freezes globals at compile time anyway);
# these keep them tied to the interpreter's.
assert PROTECTED_DIV_EPSILON == 1e-6 and EXP_CAP == 50.0 and _LOG_FLOOR == 1e-300
