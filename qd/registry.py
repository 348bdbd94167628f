"""Finding domain classes by name: installed plug-ins and ``module:Class`` paths.

Domains register through the ``qd.domains`` entry-point group (as our own do in
``pyproject.toml``), so a third-party package adds a domain by installing, with no
change here. A config may also name any class as ``package.module:ClassName``.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points

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
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise UnknownDomainError(f"cannot load domain {name!r} from {target!r}: {error}") from error
    if not (isinstance(cls, type) and issubclass(cls, Domain)):
        raise UnknownDomainError(f"{target!r} is not a subclass of qd.domain.Domain")
    return cls
