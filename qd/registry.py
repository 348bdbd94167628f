"""Finding domain classes by name: installed plug-ins and ``module:Class`` paths.

Domains register through the ``qd.domains`` entry-point group (as our own do in
``pyproject.toml``), so a third-party package adds a domain by installing, with no
change here. A config may also name any class as ``package.module:ClassName``.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.machinery
import importlib.util
from importlib.metadata import entry_points
from pathlib import Path

from qd.domain import Domain

ENTRY_POINT_GROUP = "qd.domains"


class UnknownDomainError(LookupError):
    """A domain name that no plug-in registers."""


def registered_domains() -> dict[str, str]:
    """Registered domain names and the ``module:Class`` each points to."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_domain_class(name: str) -> type[Domain]:
    """The Domain subclass registered as ``name``, or at the ``module:Class`` path.

    Raises:
        UnknownDomainError: Nothing is registered under that name or the path does not
            lead to a Domain subclass; the message lists what is available.
    """
    target = registered_domains().get(name, name if ":" in name else None)
    if target is None:
        known = sorted(registered_domains())
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownDomainError(
            f"unknown domain {name!r}{hint}; registered domains: {', '.join(known) or 'none'}"
            "; or give a class path like 'mypackage.module:MyDomain'"
        )
    module_name, _, class_name = target.partition(":")
    if name not in registered_domains():
        _require_class_in_source(target, module_name, class_name)
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise UnknownDomainError(f"cannot load domain {name!r} from {target!r}: {error}") from error
    if not (isinstance(cls, type) and issubclass(cls, Domain)):
        raise UnknownDomainError(f"{target!r} is not a subclass of qd.domain.Domain")
    return cls


def _require_class_in_source(target: str, module_name: str, class_name: str) -> None:
    """Refuse a ``module:Class`` path whose module's source names no ``Class``, before
    importing it.

    Importing runs a module's code, and a config (also one in a shared run directory
    that ``qd report`` or ``qd resume`` reads) chooses the module: ``this:X`` printed the
    Zen of Python. So the module is found without running it (nor its packages'
    ``__init__``) and its source must define or import ``class_name``. A module without
    Python source (compiled) is imported as before.

    Raises:
        UnknownDomainError: The module cannot be found, or its source has no such name.
    """
    parts = module_name.split(".")
    if not all(part.isidentifier() for part in parts) or not class_name.isidentifier():
        raise UnknownDomainError(f"{target!r} is not a class path like 'package.module:Class'")
    spec = None
    search: list[str] | None = None
    for depth, part in enumerate(parts):
        try:
            if depth == 0:
                spec = importlib.machinery.PathFinder.find_spec(part)
                if spec is None:  # a built-in or frozen module: no file to read
                    spec = importlib.util.find_spec(part)
            else:
                spec = importlib.machinery.PathFinder.find_spec(part, search)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            raise UnknownDomainError(
                f"cannot load domain {target!r}: no module named {'.'.join(parts[: depth + 1])!r}"
            )
        search = list(spec.submodule_search_locations or [])
    origin = getattr(spec, "origin", None)
    if not origin or not str(origin).endswith(".py"):
        if origin in (None, "built-in", "frozen"):
            raise UnknownDomainError(
                f"cannot load domain {target!r}: {module_name!r} is a built-in module, not a "
                "module of domains"
            )
        return
    try:
        tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return  # importing reports it properly
    if class_name not in _bound_names(tree):
        raise UnknownDomainError(
            f"cannot load domain {target!r}: {origin} defines no {class_name!r}; nothing was "
            "imported (importing would run that module's code)"
        )


def _bound_names(tree: ast.Module) -> set[str]:
    """Classes a module defines or imports at its top level (a domain is a class; a
    variable such as ``this.s`` is not worth running a module for)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.If | ast.Try):  # TYPE_CHECKING, optional imports
            inner = ast.Module(body=[*node.body, *getattr(node, "orelse", [])], type_ignores=[])
            names |= _bound_names(inner)
    return names
