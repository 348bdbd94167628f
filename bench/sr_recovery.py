"""Exact symbolic recovery, as SRBench scores its ground-truth track, with a time limit.

A model *recovers* a true formula when, after rounding the model's numbers, either the
difference ``true - model`` or the ratio ``model / true`` simplifies to a constant
(La Cava et al. 2021, "Contemporary symbolic regression methods and their relative
performance", section 3.3: "phi* - phi_hat = a" or "phi_hat / phi* = b, b != 0"). A
recovered model is the right law with at most a wrong offset or scale, which linear
scaling or one more constant would fix.

SRBench's code (``experiment/symbolic_utils.py`` and ``assess_symbolic_model.py`` of
cavalab/srbench) fixes the details, and this module follows them:

- Numbers are rounded by ``round_floats``: a float below 1e-4 in magnitude becomes 0,
  any other is rounded to 3 decimals and then kept to 3 significant digits (SRBench
  writes ``Float(round(a, 3), 3)``, and sympy's second argument is significant digits),
  so 0.49999 is 0.5 and 6.2832 is 6.28.
- The true formula is rounded the same way, ``pi`` first replaced by its value, so that
  a constant like ``2*pi`` inside a sine is compared as 6.28 on both sides.
- The model is rounded and then ``sympy.simplify(..., ratio=1)``-ed; a model that
  simplifies to 0 or NaN is never a recovery.
- The difference is rounded, simplified and rounded again; the ratio is rounded only.
  Each is tested with sympy's ``is_constant()`` (which simplifies on its own; its
  undecided None counts as no).

SRBench checks only models with test R^2 > 0.5; the bench that calls this does that.

Two choices of ours: a variable whose sampling range is positive is a positive sympy
symbol (others are real), so that ``log(Abs(m))`` and ``sqrt(m**2)`` reduce to what they
are on the data; and the whole check runs in a child process with a time limit
(:func:`recovery`), since ``simplify`` can run for hours on a large model: running out
of time counts as not recovered, with the reason kept.

Run as a script it reads one JSON request on stdin (``found``, ``true``, ``variables``:
name -> low end of its range) and writes the result of :func:`check_recovery` on stdout.
Only sympy is imported, so the child starts in about a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

import sympy

ROUND_DECIMALS = 3
"""Decimals a model's numbers keep, and then significant digits (SRBench's rounding)."""
ZERO_BELOW = 1e-4
"""Numbers smaller than this in magnitude become 0."""
DEFAULT_TIMEOUT_S = 30.0

FUNCTIONS: dict[str, Any] = {
    "pi": sympy.pi,
    "sqrt": sympy.sqrt,
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "tanh": sympy.tanh,
    "arcsin": sympy.asin,
    "asin": sympy.asin,
    "arccos": sympy.acos,
    "acos": sympy.acos,
    "arctan": sympy.atan,
    "atan": sympy.atan,
    "Abs": sympy.Abs,
    "abs": sympy.Abs,  # operon's spelling (sqrtabs prints as sqrt(abs(a)))
}
"""The names a formula may call: sympy's, and numpy's spellings as the Feynman table uses."""


def variable_symbols(variables: Mapping[str, float]) -> dict[str, sympy.Symbol]:
    """One sympy symbol per variable: positive where its range's low end is above 0.

    Args:
        variables: Each variable's name and the low end of the range it is sampled from.

    Returns:
        Name -> symbol; names that sympy would read as something else (``I``, ``E``,
        ``gamma``, ``beta``) are symbols too.
    """
    return {
        name: sympy.Symbol(name, positive=True) if low > 0 else sympy.Symbol(name, real=True)
        for name, low in variables.items()
    }


def parse(text: str, symbols: Mapping[str, sympy.Symbol]) -> sympy.Expr:
    """A formula's text as a sympy expression over ``symbols`` (parsed, never exec-ed by us).

    Raises:
        ValueError: The text is not a formula sympy can read, or names a variable or
            function that is not in ``symbols`` or :data:`FUNCTIONS`.
    """
    try:
        expression = sympy.sympify(text, locals={**FUNCTIONS, **symbols})
    except (sympy.SympifyError, SyntaxError, TypeError) as error:
        raise ValueError(f"cannot read {text!r} as a formula: {error}") from error
    unknown = {s.name for s in expression.free_symbols} - set(symbols)
    if unknown or not isinstance(expression, sympy.Expr):
        raise ValueError(f"{text!r} names unknown variables {sorted(unknown)}")
    return expression


def round_floats(expression: sympy.Expr) -> sympy.Expr:
    """SRBench's rounding: below 1e-4 -> 0; else 3 decimals, then 3 significant digits."""
    replace = {}
    for number in expression.atoms(sympy.Float):
        if abs(number) < ZERO_BELOW:
            replace[number] = sympy.Integer(0)
        else:
            replace[number] = sympy.Float(round(number, ROUND_DECIMALS), ROUND_DECIMALS)
    return expression.xreplace(replace) if replace else expression


def _constant(expression: sympy.Expr) -> bool:
    """``is_constant()``, with sympy's undecided None (and any sympy failure) as False."""
    try:
        return bool(expression.is_constant())
    except Exception:
        return False


def check_recovery(found: str, true: str, variables: Mapping[str, float]) -> dict[str, Any]:
    """Whether ``found`` recovers ``true`` exactly, as SRBench decides it (may run long).

    Args:
        found: The model, as text sympy reads (see :data:`FUNCTIONS`).
        true: The ground-truth formula, same syntax; ``pi`` is sympy's pi.
        variables: Each variable's name and the low end of its range.

    Returns:
        ``recovered`` (bool), ``by`` (``"difference"``, ``"ratio"`` or None), ``model``
        (the rounded, simplified model), ``difference`` and ``ratio`` (as text),
        ``error`` (None, or why the check could not be made).
    """
    result: dict[str, Any] = {
        "recovered": False,
        "by": None,
        "model": None,
        "difference": None,
        "ratio": None,
        "error": None,
    }
    symbols = variable_symbols(variables)
    try:
        truth = round_floats(parse(true, symbols).subs(sympy.pi, sympy.Float(sympy.pi, 15)))
        model = sympy.simplify(round_floats(parse(found, symbols)), ratio=1)
        result["model"] = str(model)
        if model == 0 or model.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            result["error"] = f"the model simplifies to {model}"
            return result
        difference = round_floats(truth - model)
        ratio = round_floats(model / truth)
        result["ratio"] = str(ratio)
        if _constant(difference):
            result |= {"recovered": True, "by": "difference", "difference": str(difference)}
            return result
        if ratio != 0 and _constant(ratio):
            result |= {"recovered": True, "by": "ratio", "difference": str(difference)}
            return result
        difference = round_floats(sympy.simplify(difference, ratio=1))
        result["difference"] = str(difference)
        if _constant(difference):
            result |= {"recovered": True, "by": "difference"}
    except Exception as error:  # sympy raises many kinds; a failed check is no recovery
        result["error"] = f"{type(error).__name__}: {error}"
    return result


def recovery(
    found: str,
    true: str,
    variables: Mapping[str, float],
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    """:func:`check_recovery` in a child process that is killed after ``timeout`` seconds.

    A child process rather than a thread or an alarm: sympy cannot be interrupted from a
    thread, alarms work in the main thread only (not in a Dask worker's), and
    ``multiprocessing`` may not start children from Dask's daemon workers.

    Returns:
        :func:`check_recovery`'s result plus ``seconds`` (the check's wall time); on a
        timeout ``recovered`` is False and ``error`` says so.
    """
    request = json.dumps({"found": found, "true": true, "variables": dict(variables)})
    began = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-P", __file__],
            input=request,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        result = {"recovered": False, "by": None, "model": None, "difference": None}
        result |= {"ratio": None, "error": f"timeout: no answer from sympy in {timeout:g} s"}
    else:
        if done.returncode == 0:
            result = json.loads(done.stdout)
        else:
            result = {"recovered": False, "by": None, "model": None, "difference": None}
            result |= {"ratio": None, "error": f"check failed: {done.stderr.strip()[-300:]}"}
    result["seconds"] = round(time.perf_counter() - began, 3)
    return result


def _main() -> None:
    request = json.loads(sys.stdin.read())
    result = check_recovery(request["found"], request["true"], request["variables"])
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    _main()
