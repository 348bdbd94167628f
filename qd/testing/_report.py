"""What ``check_domain`` hands back: a report of the checks that ran, or one error that
lists every failure at once (an author fixes them in one pass, as with a linter)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class CheckFailed(Exception):
    """Raised inside a check: the domain broke this promise; the message says how."""


class CheckSkipped(Exception):
    """Raised inside a check that does not apply to this domain; the message says why."""


@dataclass(frozen=True)
class DomainCheckReport:
    """The checks a domain went through.

    Attributes:
        domain: The domain's class name.
        passed: Names of the checks it passed, in the order they ran.
        skipped: Check name -> why it did not apply (e.g. pickling for a domain that
            evaluates with the run's LM, which never leaves the run's process).
        failed: Check name -> what was broken and what to do. Empty in a report that
            ``check_domain`` returns; filled in the one a :class:`DomainCheckError` holds.
    """

    domain: str
    passed: tuple[str, ...] = ()
    skipped: Mapping[str, str] = field(default_factory=dict)
    failed: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        ran = len(self.passed) + len(self.failed)
        head = (
            f"{self.domain} failed {len(self.failed)} of {ran} checks:"
            if self.failed
            else f"{self.domain} passed {ran} checks"
        )
        lines = [head]
        lines += [f"  {name}: {reason}" for name, reason in self.failed.items()]
        if self.failed and self.passed:
            lines.append(f"passed: {', '.join(self.passed)}")
        elif not self.failed:
            lines[0] += f": {', '.join(self.passed)}"
        lines += [f"skipped {name}: {reason}" for name, reason in self.skipped.items()]
        return "\n".join(lines)


class DomainCheckError(ValueError):
    """A domain broke one or more promises of the plug-in contract.

    A ``ValueError`` (the domain is a bad value for the engine) raised on purpose rather
    than through ``assert``, which ``python -O`` removes.

    Attributes:
        report: Every check's outcome; ``report.failed`` maps each failed check's name
            to its reason.
    """

    def __init__(self, report: DomainCheckReport) -> None:
        super().__init__(str(report))
        self.report = report

    @property
    def failures(self) -> Mapping[str, str]:
        return self.report.failed
