"""Pydantic's validation errors as one line per mistake, naming the key path.

Configs and LM settings are pydantic models (``extra="forbid"``, strict types, field
constraints), so every check lives next to the field it is about. Pydantic's own
messages name neither the TOML key as a user writes it (``lm.timeout``) nor what to do;
:func:`explain` turns each error into ``lm.timeout: must be > 0, got -1 (seconds one
request may take in all, e.g. 120)``, using the field's description as the hint.

A model validator that checks several fields raises ``ValueError("<field>: <what is
wrong and what to do>")``; the field is joined to the model's own path. A field
validator raises a plain message, which follows the field's path.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

__all__ = ["did_you_mean", "explain"]

_NAMES_A_FIELD = re.compile(r"^[A-Za-z_][\w.\[\]]*: ")  # "cells: required when ..."
_KINDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "list_type": "a list",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be > {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be < {}"),
}


def explain(error: ValidationError, model: type[BaseModel], *, prefix: str = "") -> str:
    """One line per mistake in ``error`` (raised by validating ``model``), joined by "; ".

    Args:
        error: Pydantic's error.
        model: The model that was validated (to list keys and read field hints).
        prefix: The path of ``model`` in the file, e.g. ``lm``.
    """
    lines = [_line(detail, model, prefix) for detail in error.errors()]
    return "; ".join(dict.fromkeys(lines))


def did_you_mean(key: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _line(detail: ErrorDetails, model: type[BaseModel], prefix: str) -> str:
    loc = tuple(detail["loc"])
    path = _path(prefix, loc)
    kind, value, ctx = detail["type"], detail.get("input"), detail.get("ctx") or {}
    if kind == "extra_forbidden":
        owner_loc = loc[:-1]
        owner = _model_at(model, owner_loc)
        keys = list(owner.model_fields) if owner is not None else []
        where = (
            f"[{_path(prefix, owner_loc)}] takes" if (prefix or owner_loc) else "top-level keys are"
        )
        return f"{path}: unknown key{did_you_mean(str(loc[-1]), keys)}; {where} {', '.join(keys)}"
    if kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error", detail["msg"]))
        if not _NAMES_A_FIELD.match(message):
            return f"{path}: {message}" if path else message
        return f"{path}.{message}" if path else message
    if kind == "missing":
        return f"{path}: missing"
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        if "'" in expected and not isinstance(value, str):
            return f"{path}: expected a string, got {value!r}"
        return f"{path}: {value!r} is not one of {expected}"
    if kind in _KINDS:
        return f"{path}: expected {_KINDS[kind]}, got {value!r}"
    if kind in _BOUNDS:
        bound, text = _BOUNDS[kind]
        limit = ctx.get(bound)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        message = f"{path}: {text.format(limit)}, got {value!r}"
    elif kind == "finite_number":
        message = f"{path}: must be a finite number, got {value!r}"
    else:
        message = f"{path}: {detail['msg'][0].lower()}{detail['msg'][1:]}"
    hint = _field_at(model, loc)
    if hint is not None and hint.description:
        message += f" ({hint.description})"
    return message


def _path(prefix: str, loc: Sequence[Any]) -> str:
    parts = [prefix] if prefix else []
    for part in loc:
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts)


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _field_at(model: type[BaseModel], loc: Sequence[Any]) -> FieldInfo | None:
    owner = _model_at(model, loc[:-1]) if loc else None
    return owner.model_fields.get(str(loc[-1])) if owner is not None else None
