"""Compiled kernels that vary and score a whole batch of trees in one call each.

A tree here is *packed*: a float64 array of shape ``(3, size)`` in DEAP's prefix order,
row 0 the node's opcode (:data:`~.compiled.OPCODES`; 0 a variable, 1 a constant), row 1
a variable's column, row 2 a constant's value. Many trees are one array side by side,
with ``starts[t]:starts[t + 1]`` the columns of tree ``t``.

Scoring runs the same code on the one-tree path and the batch path (:func:`score`,
which ``fitting.Target`` calls too, and ``batch_tuning.fit_many``), so a tree scored
alone or in a batch gets the same bits.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=False)

# What a child is, as the batch builder reads it (``vary``'s ``kinds``).
CROSSOVER, SUBTREE, CONSTANT, COPY_FIRST, COPY_SECOND = 0, 1, 2, 3, 4
UNIFORMS = 12  # uniform draws a child may use: 4 for choices, up to 7 new nodes, 1 spare
NEW_CONSTANTS = 5  # fresh constants a child may use (a full tree of height 2 has 4 leaves)
SLOPE_FLOOR = 1e-12  # fitting.SLOPE_FLOOR (asserted equal there)


@_jit
def arity(op):
    """Arguments of a node: 0 for leaves, 2 for add/sub/mul/div, 1 for the rest."""
    if op <= 1.0:
        return 0
    if op <= 5.0:
        return 2
    return 1


@_jit
def subtree_end(ops, begin):
    """One past the last node of the subtree that starts at prefix position ``begin``."""
    need = 1
    k = begin
    while need > 0:
        need += arity(ops[k]) - 1
        k += 1
    return k


@_jit
def height(ops):
    """DEAP's height of a prefix tree: the depth of its deepest node."""
    heights = np.empty(ops.size, dtype=np.int64)
    top = -1
    for k in range(ops.size - 1, -1, -1):
        a = arity(ops[k])
        if a == 0:
            top += 1
            heights[top] = 0
        elif a == 1:
            heights[top] += 1
        else:
            first, second = heights[top], heights[top - 1]
            top -= 1
            heights[top] = (first if first > second else second) + 1
    return heights[0]


@_jit
def postfix(tree, codes, slots, constants):
    """The :class:`~.compiled.Program` arrays of a packed tree, written into the given
    buffers (their first ``size`` entries); returns ``(depth, n_constants)``.

    Constants take slots in the tree's order and the stack depth is read from the
    running sum of ``1 - arity``, as ``compile_tree`` does.
    """
    size = tree.shape[1]
    n_constants = 0
    running = lowest = 0
    for k in range(size):
        op = tree[0, k]
        post = size - 1 - k
        codes[post] = np.int64(op)
        if op > 1.0:
            slots[post] = 0
            running += 1 - arity(op)
            continue
        if running < lowest:
            lowest = running
        running += 1
        if op == 0.0:
            slots[post] = np.int64(tree[1, k])
        else:
            slots[post] = n_constants
            constants[n_constants] = tree[2, k]
            n_constants += 1
    return 1 - lowest, n_constants


@_jit
def scale(outputs, y_mean, y_centred):
    """Linear scaling's least-squares ``(intercept, slope)`` of ``outputs`` against the
    target (given by its mean and centred values), or ``(mean, 0)`` where the outputs
    are not finite or (nearly) constant."""
    n = outputs.size
    total = 0.0
    for i in range(n):
        if not math.isfinite(outputs[i]):
            return y_mean, 0.0
        total += outputs[i]
    mean = total / n
    spread = 0.0
    cross = 0.0
    for i in range(n):
        centred = outputs[i] - mean
        spread += centred * centred
        cross += centred * y_centred[i]
    if not math.isfinite(spread) or spread <= SLOPE_FLOOR * n:
        return y_mean, 0.0
    slope = cross / spread
    intercept = y_mean - slope * mean
    if not (math.isfinite(slope) and math.isfinite(intercept)):
        return y_mean, 0.0
    return intercept, slope


@_jit
def score(outputs, y, y_mean, y_centred, y_spread, scaling):
    """``(error, intercept, slope)`` of ``intercept + slope * outputs`` against ``y``.

    Linear scaling (Keijzer 2003) when ``scaling``: the least-squares ``a, b``, or the
    target's mean and 0 where the outputs are not finite or (nearly) constant; the
    error is the RMSE over the target's standard deviation, inf where not finite.
    """
    n = outputs.size
    intercept, slope = scale(outputs, y_mean, y_centred) if scaling else (0.0, 1.0)
    squares = 0.0
    for i in range(n):
        residual = intercept + slope * outputs[i] - y[i]
        if not math.isfinite(residual):
            return math.inf, intercept, slope
        squares += residual * residual
    rmse = math.sqrt(squares / n)
    return (rmse / y_spread if math.isfinite(rmse) else math.inf), intercept, slope


@_jit
def _copy_into(out, at, tree, begin, end):
    for k in range(begin, end):
        out[0, at] = tree[0, k]
        out[1, at] = tree[1, k]
        out[2, at] = tree[2, k]
        at += 1
    return at


@_jit
def _full_tree(out, at, height_, uniforms, first_uniform, fresh, functions, n_vars):
    """DEAP's ``genFull(pset, 0, 2)`` of the given height, in prefix order into ``out``
    from column ``at``: a function drawn uniformly at every depth above ``height_``, a
    terminal (a variable, or the ephemeral constant) at that depth. Returns the end."""
    pending = np.empty(8, dtype=np.int64)  # depths still to fill, last first
    pending[0] = 0
    top = 0
    draw = first_uniform
    used_constants = 0
    while top >= 0:
        depth = pending[top]
        top -= 1
        u = uniforms[draw]
        draw += 1
        if depth == height_:
            pick = int(u * (n_vars + 1))
            if pick < n_vars:
                out[0, at], out[1, at], out[2, at] = 0.0, pick, 0.0
            else:
                out[0, at], out[1, at], out[2, at] = 1.0, 0.0, fresh[used_constants]
                used_constants += 1
        else:
            op = functions[int(u * functions.size)]
            out[0, at], out[1, at], out[2, at] = op, 0.0, 0.0
            for _ in range(arity(op)):
                top += 1
                pending[top] = depth + 1
        at += 1
    return at


@_jit
def vary_many(
    trees,
    starts,
    first,
    second,
    uniforms,
    fresh,
    functions,
    n_vars,
    p_crossover,
    p_constant,
    max_depth,
    max_size,
):
    """One child per pair ``(first[g], second[g])`` of packed parents.

    The operators of ``SymbolicRegression._vary``, drawn from ``uniforms[g]`` and
    ``fresh[g]`` (new constants): one-point crossover (a random non-root subtree of the
    first parent replaced by one of the second's, as DEAP's ``cxOnePoint``), a fresh
    constant in place of a random one (``mutEphemeral``), or a random subtree replaced
    by a full tree of height 0 to 2 (``mutUniform`` with ``genFull``); a child over
    ``max_depth`` or ``max_size`` is a copy of a parent instead (``staticLimit``).

    Returns ``(children, child_starts, kinds, cuts)``: the packed children; what each
    is (``CROSSOVER`` ... ``COPY_SECOND``); and ``cuts[g]`` = ``(i, end_i, j, end_j)``:
    the child is ``first[:i] + second[j:end_j] + first[end_i:]`` for a crossover,
    ``first[:i] + new + first[end_i:]`` with ``new`` its columns ``i:j`` for a subtree
    mutation, ``first`` with node ``i`` a new constant for a constant mutation.
    """
    n = first.size
    longest = 1
    for t in range(starts.size - 1):
        longest = max(longest, starts[t + 1] - starts[t])
    width = max(longest, max_size) + 8
    out = np.empty((3, n * width))
    child_starts = np.empty(n + 1, dtype=np.int64)
    kinds = np.empty(n, dtype=np.int64)
    cuts = np.zeros((n, 4), dtype=np.int64)
    at = 0
    for g in range(n):
        child_starts[g] = at
        a = trees[:, starts[first[g]] : starts[first[g] + 1]]
        b = trees[:, starts[second[g]] : starts[second[g] + 1]]
        size_a, size_b = a.shape[1], b.shape[1]
        u = uniforms[g]
        n_constants = 0
        for k in range(size_a):
            if a[0, k] == 1.0:
                n_constants += 1
        kind = COPY_FIRST
        end = at
        if u[0] < p_crossover:
            if size_a >= 2 and size_b >= 2:
                i = 1 + int(u[1] * (size_a - 1))
                j = 1 + int(u[2] * (size_b - 1))
                end_i, end_j = subtree_end(a[0], i), subtree_end(b[0], j)
                size = i + (end_j - j) + (size_a - end_i)
                if size <= width:
                    end = _copy_into(out, at, a, 0, i)
                    end = _copy_into(out, end, b, j, end_j)
                    end = _copy_into(out, end, a, end_i, size_a)
                    kind = CROSSOVER
                    cuts[g, 0], cuts[g, 1], cuts[g, 2], cuts[g, 3] = i, end_i, j, end_j
                if kind != CROSSOVER or size > max_size or height(out[0, at:end]) > max_depth:
                    kind = COPY_FIRST if u[3] < 0.5 else COPY_SECOND
        elif u[0] < p_crossover + p_constant and n_constants > 0:
            pick = int(u[1] * n_constants)
            end = _copy_into(out, at, a, 0, size_a)
            seen = 0
            for k in range(size_a):
                if a[0, k] == 1.0:
                    if seen == pick:
                        out[2, at + k] = fresh[g, 0]
                        cuts[g, 0] = k
                        break
                    seen += 1
            kind = CONSTANT
        else:
            i = int(u[1] * size_a)
            end_i = subtree_end(a[0], i)
            tall = int(u[2] * 3)
            end = _copy_into(out, at, a, 0, i)
            new_end = _full_tree(out, end, tall, u, 3, fresh[g], functions, n_vars)
            size = (new_end - at) + (size_a - end_i)
            if size <= width:
                end = _copy_into(out, new_end, a, end_i, size_a)
                kind = SUBTREE
                cuts[g, 0], cuts[g, 1], cuts[g, 2], cuts[g, 3] = i, end_i, new_end - at, 0
            if kind != SUBTREE or size > max_size or height(out[0, at:end]) > max_depth:
                kind = COPY_FIRST
        if kind == COPY_FIRST:
            end = _copy_into(out, at, a, 0, size_a)
        elif kind == COPY_SECOND:
            end = _copy_into(out, at, b, 0, size_b)
        kinds[g] = kind
        at = end
    child_starts[n] = at
    return out[:, :at], child_starts, kinds, cuts


@_jit
def child_sources(kinds, cuts, first, second, starts, child_starts):
    """For every column of :func:`vary_many`'s children, the column of the parents'
    packed array it was copied from, or -1 for a new node (a subtree mutation's nodes,
    a new constant): so Python can build every child's node list by indexing the
    parents' nodes once, instead of slicing and joining lists child by child."""
    sources = np.empty(child_starts[-1], dtype=np.int64)
    for g in range(kinds.size):
        at, size = child_starts[g], child_starts[g + 1] - child_starts[g]
        base_a, base_b = starts[first[g]], starts[second[g]]
        kind = kinds[g]
        i, end_i, j, end_j = cuts[g, 0], cuts[g, 1], cuts[g, 2], cuts[g, 3]
        for k in range(size):
            if kind == CROSSOVER:
                middle = end_j - j
                if k < i:
                    source = base_a + k
                elif k < i + middle:
                    source = base_b + j + (k - i)
                else:
                    source = base_a + end_i + (k - i - middle)
            elif kind == SUBTREE:  # cuts: i, end_i, the new nodes' end (j)
                if k < i:
                    source = base_a + k
                elif k < j:
                    source = -1
                else:
                    source = base_a + end_i + (k - j)
            elif kind == CONSTANT:
                source = -1 if k == i else base_a + k
            elif kind == COPY_FIRST:
                source = base_a + k
            else:
                source = base_b + k
            sources[at + k] = source
    return sources
