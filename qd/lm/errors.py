"""What can go wrong with an LM, as values the engine can log, count and act on.

- :class:`LMError`: one request that failed for good (after retries) or whose reply was
  unusable. It carries the real cause: the kind, the HTTP status, the exception the
  transport raised and the first bytes the server sent, so an invalid candidate says
  "HTTP 500: {"error": ...}" rather than "no text".
- :class:`LMUnavailableError`: the circuit breaker opened after too many failed requests
  in a row. Unlike :class:`LMError` it is raised, not returned in a slot, and nothing in
  the engine swallows it: it ends the iteration before it is checkpointed, so the run
  stops with the cause named and ``qd resume`` continues once the server is back.
- :class:`FailedChild`: what an LM operator returns in place of a child it could not
  make. The evaluator turns it into an invalid evaluation with the cause, without asking
  the domain (see :func:`qd.search.evaluation.checked_evaluate`).

No heavy imports here: the evaluator imports this module in every worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["BODY_HEAD", "FailedChild", "LMError", "LMUnavailableError", "lm_error_info"]

BODY_HEAD = 200
"""How many characters of a bad reply an error keeps."""


class LMError(Exception):
    """A request that failed for good (after retries), or whose reply was unusable.

    The batch APIs return it in the failed request's slot instead of raising.

    Attributes:
        message: What went wrong, with the cause.
        kind: ``"timeout"``, ``"connection"``, ``"status"`` (an HTTP error),
            ``"malformed"`` (a reply without a usable choice) or ``"error"``.
        status_code: The HTTP status, for ``"status"``.
        exception: The transport's exception (``"RemoteProtocolError"``), when one was
            raised.
        body: The first :data:`BODY_HEAD` characters of the server's reply, when it sent
            one (an HTTP error's body, a reply that was not JSON).
        attempts: Attempts made, retries included.
        retry_after: Seconds the server asked to wait before a retry (``Retry-After``).
    """

    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        kind: str = "error",
        status_code: int | None = None,
        exception: str | None = None,
        body: str | None = None,
        attempts: int = 1,
    ):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status_code = status_code
        self.exception = exception
        self.body = body[:BODY_HEAD] if body is not None else None
        self.attempts = int(attempts)

    @property
    def fault(self) -> str:
        """The label ``Usage.faults`` counts it under: ``http_500``, ``timeout``, ..."""
        if self.kind == "status" and self.status_code is not None:
            return f"http_{self.status_code}"
        return self.kind

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across process pools
        return (_make_error, (self.message, self.to_dict()))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record for ``events.jsonl``: every field that is set."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "status_code": self.status_code,
            "message": self.message,
        }
        for key in ("exception", "body"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.attempts != 1:
            data["attempts"] = self.attempts
        return data

    def __repr__(self) -> str:
        code = f", status_code={self.status_code}" if self.status_code is not None else ""
        return f"LMError({self.message!r}, kind={self.kind!r}{code})"


def _make_error(message: str, data: dict[str, Any]) -> LMError:
    return LMError(
        message,
        kind=data.get("kind", "error"),
        status_code=data.get("status_code"),
        exception=data.get("exception"),
        body=data.get("body"),
        attempts=data.get("attempts", 1),
    )


class LMUnavailableError(RuntimeError):
    """The LM failed too many requests in a row: stop, keep the checkpoint, resume later.

    Attributes:
        failures: Consecutive failed requests when it opened.
        last_errors: The last few failures (``LMError.to_dict()``), newest last.
    """

    def __init__(self, message: str, *, failures: int = 0, last_errors: list | None = None):
        super().__init__(message)
        self.failures = failures
        self.last_errors = list(last_errors or [])

    def __reduce__(self) -> tuple[Any, ...]:
        return (_make_unavailable, (str(self), self.failures, self.last_errors))

    def to_dict(self) -> dict[str, Any]:
        return {"message": str(self), "failures": self.failures, "last_errors": self.last_errors}


def _make_unavailable(message: str, failures: int, last_errors: list) -> LMUnavailableError:
    return LMUnavailableError(message, failures=failures, last_errors=last_errors)


@dataclass(frozen=True)
class FailedChild:
    """A child an LM operator could not make, and why.

    Attributes:
        reason: The invalid reason the run logs ("LM request failed: HTTP 500: ...").
        error: ``LMError.to_dict()`` when a request failed; None when the request worked
            but the reply held no usable text.
        reply: The start of that unusable reply, when there was one.
    """

    reason: str
    error: dict[str, Any] | None = None
    reply: dict[str, Any] = field(default_factory=dict)

    @property
    def lm_fault(self) -> bool:
        """Whether a request failed (the server's fault) rather than the model's text."""
        return self.error is not None

    def info(self) -> dict[str, Any]:
        """The ``Evaluation.info`` of the invalid candidate: ``lm_error`` marks LM faults."""
        info: dict[str, Any] = {}
        if self.error is not None:
            info["lm_error"] = self.error
        if self.reply:
            info["lm_reply"] = self.reply
        return info

    def __repr__(self) -> str:
        return f"FailedChild({self.reason!r})"


def lm_error_info(*items: Any) -> dict[str, Any]:
    """``{"lm_error": ...}`` for the first failed LM request among ``items``, else ``{}``.

    A domain whose evaluation asks the LM puts this in an invalid evaluation's info
    (``Evaluation.invalid(reason, **lm_error_info(error))``): the run then knows the
    candidate failed for an LM reason, not its own (see :mod:`qd.lm.run_guard`).

    Args:
        items: :class:`LMError` values, or judge infos that hold one as ``{"error": {...}}``
            (what :class:`qd.lm.AIFeedback` returns for a failed request).
    """
    for item in items:
        if isinstance(item, LMError):
            return {"lm_error": item.to_dict()}
        if isinstance(item, dict) and isinstance(item.get("error"), dict):
            return {"lm_error": item["error"]}
    return {}
