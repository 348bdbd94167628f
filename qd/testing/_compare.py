"""Comparing candidates and evaluations the way checkpoints see them: as JSON.

Differences are reported with the path to the first one, so an author sees which field
``decode`` lost rather than "not equal".
"""

from __future__ import annotations

import json
import math
from typing import Any

from qd.domain import Domain, Evaluation


def encoded(domain: Domain, candidate: Any) -> str:
    """``encode(candidate)`` as canonical JSON text.

    Raises:
        TypeError, ValueError: ``encode`` gave something JSON cannot hold.
    """
    return json.dumps(domain.encode(candidate), sort_keys=True, allow_nan=False)


def fingerprint(domain: Domain, candidate: Any) -> str:
    """Something equal for equal candidates, even ones ``encode`` cannot take (a failed
    LM child); only for comparing, never stored."""
    try:
        return encoded(domain, candidate)
    except Exception:  # any failure: compare by repr instead
        return f"<{type(candidate).__name__}> {candidate!r}"


def short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_diff(a: Any, b: Any, path: str = "", *, exact: bool = False) -> str | None:
    """Where two JSON values first differ, or None if they agree.

    Floats agree within a relative 1e-6 (a float32 model scores one text a hair apart in
    batches of different sizes), or only when equal with ``exact``.
    """
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return None if a == b else f"{path or 'value'}: {short(a)} != {short(b)}"
    if isinstance(a, int | float) and isinstance(b, int | float):
        same = a == b or (not exact and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9))
        return None if same else f"{path or 'value'}: {a!r} != {b!r}"
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                where = "first" if key not in b else "second"
                return f"{path}[{key!r}] only in the {where}"
            found = json_diff(a[key], b[key], f"{path}[{key!r}]", exact=exact)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path or 'value'}: {len(a)} items != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = json_diff(x, y, f"{path}[{i}]", exact=exact)
            if found:
                return found
        return None
    return None if a == b else f"{path or 'value'}: {short(a)} != {short(b)}"


def as_json(value: Any) -> Any:
    """``value`` after a trip through JSON text (tuples become lists), as a checkpoint
    would hand it back; unchanged if JSON cannot hold it."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return value


def evaluation_diff(a: Evaluation, b: Evaluation) -> str | None:
    """How two evaluations of what should be the same candidate differ, or None."""
    if a.valid != b.valid:
        first = "valid" if a.valid else f"invalid ({a.invalid_reason})"
        second = "valid" if b.valid else f"invalid ({b.invalid_reason})"
        return f"{first} before, {second} after"
    if not a.valid:
        return None
    if not math.isclose(a.objective, b.objective, rel_tol=1e-6, abs_tol=1e-9):
        return f"objective {a.objective!r} != {b.objective!r}"
    found = json_diff(as_json(list(a.measures)), as_json(list(b.measures)), "measures")
    if found:
        return found
    found = json_diff(as_json(a.info), as_json(b.info), "info")
    return found
