"""``check_domain``: run the named checks on a domain and report every failure at once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from qd.domain import Domain
from qd.testing._checks import CHECKS, DomainCheck
from qd.testing._context import CheckContext
from qd.testing._report import CheckFailed, CheckSkipped, DomainCheckError, DomainCheckReport


def check_domain(
    domain: Domain,
    *,
    iterations: int = 3,
    batch_size: int = 8,
    seed: int = 0,
    lm: Any = None,
    checks: Iterable[str | DomainCheck] | None = None,
) -> DomainCheckReport:
    """Check every promise of the plug-in contract on ``domain``, as scikit-learn's
    ``check_estimator`` does for estimators.

    Every check runs, even after one fails, and the error lists them all, so one run
    tells an author everything to fix. :data:`qd.testing.CHECKS` lists the checks with
    the promise each one proves; ``checks=["pickle"]`` runs one.

    A domain with ``uses_lm`` is connected to ``lm`` (through a recorder that lets the
    determinism checks replay the LM's replies) and to an archive that holds the valid
    initial candidates before its variation runs.

    Args:
        domain: The domain to check.
        iterations: Iterations of the short search.
        batch_size: Candidates per batch.
        seed: Seeds every generator.
        lm: For a domain with ``uses_lm``: a ``qd.lm.LM`` (``with qd.lm.open_lm() as
            lm``), or a stand-in with the methods the domain calls.
        checks: Names (or :class:`DomainCheck` objects) of the checks to run; all by
            default. They run in the order of :data:`CHECKS` whatever the order given.

    Returns:
        The report: which checks passed, and which were skipped and why.

    Raises:
        DomainCheckError: One or more checks failed; its message names each with the
            reason and what to do, and ``error.report.failed`` maps name -> reason.
        ValueError: An unknown check name, or an LM domain without ``lm``.
    """
    selected = _select(checks)
    name = type(domain).__name__
    if domain.uses_lm and lm is None:
        raise ValueError(
            f"{name} uses an LM: pass one, check_domain(domain, lm=lm), e.g. inside "
            "`with qd.lm.open_lm() as lm:`"
        )
    context = CheckContext(domain, iterations=iterations, batch_size=batch_size, seed=seed, lm=lm)
    passed: list[str] = []
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    for check in selected:
        try:
            if domain.uses_lm:
                context.archive  # noqa: B018 (connects the domain before it asks the LM)
            check.fn(context)
        except CheckSkipped as why:
            skipped[check.name] = str(why)
        except CheckFailed as error:
            failed[check.name] = str(error)
        except Exception as error:  # a crash inside a check is a failure of that check
            failed[check.name] = f"raised {type(error).__name__}: {error}"
        else:
            passed.append(check.name)
    report = DomainCheckReport(name, tuple(passed), skipped, failed)
    if failed:
        raise DomainCheckError(report)
    return report


def _select(checks: Iterable[str | DomainCheck] | None) -> list[DomainCheck]:
    if checks is None:
        return list(CHECKS)
    wanted = {c.name if isinstance(c, DomainCheck) else str(c) for c in checks}
    unknown = sorted(wanted - {c.name for c in CHECKS})
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; the checks are {[c.name for c in CHECKS]}")
    return [c for c in CHECKS if c.name in wanted]
