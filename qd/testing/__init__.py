"""``check_domain``: prove a domain keeps the plug-in contract, as scikit-learn's
``check_estimator`` does for estimators.

Run it in your domain's tests. Every check runs, and a :class:`DomainCheckError` lists
each broken promise by name with what to do; :data:`CHECKS` names them, and
``check_domain(domain, checks=["pickle"])`` runs one.

:func:`check_run` goes one level up: a config run twice, on each evaluation backend,
and killed and resumed must give the same archive.
"""

from qd.testing._check_domain import check_domain
from qd.testing._checks import CHECKS, DomainCheck
from qd.testing._report import CheckFailed, CheckSkipped, DomainCheckError, DomainCheckReport
from qd.testing._run_check import RUN_CHECKS, check_run

CHECK_NAMES: tuple[str, ...] = tuple(check.name for check in CHECKS)

__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "RUN_CHECKS",
    "CheckFailed",
    "CheckSkipped",
    "DomainCheck",
    "DomainCheckError",
    "DomainCheckReport",
    "check_domain",
    "check_run",
]

for _public in (CheckFailed, CheckSkipped, DomainCheck, DomainCheckError, DomainCheckReport):
    _public.__module__ = __name__  # tracebacks say qd.testing.DomainCheckError
