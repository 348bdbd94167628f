"""How one request survives a failing server, and when the LM gives up altogether.

:func:`send_with_retries` makes one logical request: attempts with exponential backoff
and jitter (or the server's ``Retry-After``) on timeouts, connection errors, 408/409/429,
5xx and replies that are not JSON, all inside one deadline of ``lm.timeout`` seconds, so
a server that hangs or drips a byte a second costs at most that much per request. Each
failed attempt is counted by cause in :class:`~qd.lm.usage.Usage`; the final failure
is an :class:`~qd.lm.errors.LMError` that names the cause and the attempts.

:class:`CircuitBreaker` counts requests that failed for good in a row, across the LM and
its embedder; at ``lm.max_consecutive_failures`` it opens, and every request after that
raises :class:`~qd.lm.errors.LMUnavailableError` at once, which stops a run cleanly.

:class:`EventLog` is where the LM layer reports what a run should keep in
``events.jsonl`` (a restarted server, a breaker that opened): a run connects it to the
file; without one, the last rows wait in memory.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from qd.lm.errors import LMError, LMUnavailableError
from qd.lm.replies import as_lm_error
from qd.lm.usage import Usage

__all__ = ["CircuitBreaker", "EventLog", "retry_after_seconds", "send_with_retries"]

T = TypeVar("T")

INITIAL_DELAY_S = 0.5
MAX_DELAY_S = 8.0
MAX_RETRY_AFTER_S = 60.0
RETRY_STATUS = frozenset({408, 409, 429})
RETRY_KINDS = frozenset({"timeout", "connection", "malformed"})


class EventLog:
    """Rows for ``events.jsonl`` from the LM layer; a run sets :attr:`callback`.

    Every row gets ``time`` (UTC, ISO 8601). Until a callback is set, the last 100 rows
    are kept in :attr:`pending` and handed to the callback when it is set.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callback: Callable[[dict[str, Any]], None] | None = None
        self.pending: deque[dict[str, Any]] = deque(maxlen=100)

    @property
    def callback(self) -> Callable[[dict[str, Any]], None] | None:
        return self._callback

    @callback.setter
    def callback(self, callback: Callable[[dict[str, Any]], None] | None) -> None:
        with self._lock:
            self._callback = callback
            rows, self.pending = list(self.pending), deque(maxlen=100)
        if callback is not None:
            for row in rows:
                callback(row)

    def emit(self, row: dict[str, Any]) -> None:
        """Record one row (``{"event": ..., ...}``)."""
        row = {"event": row.get("event", "lm"), "time": _now(), **row}
        with self._lock:
            callback = self._callback
            if callback is None:
                self.pending.append(row)
                return
        callback(row)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CircuitBreaker:
    """Opens after ``limit`` requests in a row failed for good; a success resets the count.

    Shared by an LM and its embedder, and safe across threads and event loops. Once open
    it stays open (a run stops on it) until :meth:`reset`.

    Args:
        limit: Consecutive failed requests that open it (``lm.max_consecutive_failures``).
        events: Where the opening is reported.
    """

    def __init__(self, limit: int, *, events: EventLog | None = None) -> None:
        if limit < 1:
            raise ValueError(f"the breaker's limit must be >= 1, got {limit}")
        self.limit = int(limit)
        self.events = events
        self._lock = threading.Lock()
        self.consecutive = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=5)
        self.opened: LMUnavailableError | None = None

    def check(self) -> None:
        """Raise :class:`LMUnavailableError` if open."""
        opened = self.opened
        if opened is not None:
            raise LMUnavailableError(
                str(opened), failures=opened.failures, last_errors=opened.last_errors
            )

    def success(self) -> None:
        with self._lock:
            self.consecutive = 0

    def failure(self, error: LMError) -> None:
        """Count a request that failed for good; open at the limit."""
        with self._lock:
            self.consecutive += 1
            self.recent.append(error.to_dict())
            if self.opened is not None or self.consecutive < self.limit:
                return
            self.opened = LMUnavailableError(
                f"the LM server failed {self.consecutive} requests in a row "
                f"(lm.max_consecutive_failures = {self.limit}); the last: {error.message}. "
                "Check the server (lm.base_url / QD_LM_BASE_URL, its logs), then continue",
                failures=self.consecutive,
                last_errors=list(self.recent),
            )
            opened = self.opened
        if self.events is not None:
            self.events.emit({"event": "lm_unavailable", **opened.to_dict()})

    def reset(self) -> None:
        """Close it again (the server is back)."""
        with self._lock:
            self.consecutive = 0
            self.opened = None
            self.recent.clear()


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds a 429/503 asks the client to wait (``retry-after-ms``, ``retry-after`` in
    seconds or as an HTTP date), or None."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                continue
            seconds = when.timestamp() - time.time()
        if seconds == seconds and seconds >= 0:  # not NaN
            return seconds
    return None


def _delay(error: LMError, retry: int) -> float | None:
    """Seconds before the next attempt, or None if this failure is not worth retrying."""
    if error.kind == "status":
        code = error.status_code or 0
        if code not in RETRY_STATUS and code < 500:
            return None
    elif error.kind not in RETRY_KINDS:
        return None
    asked = getattr(error, "retry_after", None)
    if asked is not None:
        return min(float(asked), MAX_RETRY_AFTER_S)
    backoff = min(INITIAL_DELAY_S * 2.0**retry, MAX_DELAY_S)
    return backoff * (1.0 - 0.25 * random.random())


async def send_with_retries(
    attempt: Callable[[float], Awaitable[T]],
    *,
    timeout: float,
    max_retries: int,
    usage: Usage,
    breaker: CircuitBreaker | None = None,
    revive: Callable[[], Awaitable[float | None]] | None = None,
) -> T:
    """One logical request: attempts until one works, the retries run out or time does.

    Args:
        attempt: ``attempt(seconds_left)`` makes one try and returns the result, or
            raises (an ``openai`` error, an :class:`LMError`, anything).
        timeout: Seconds for the whole request, retries and waits included.
        max_retries: Attempts after the first.
        usage: Counts each failed attempt by cause, and the retries.
        breaker: Checked first, told of success or final failure.
        revive: Called after a connection error: restarts a dead embedded server and
            returns the seconds that took (added to the deadline, and the attempt is
            made again at once), or None when the server did not die or cannot be
            restarted.

    Returns:
        What the successful attempt returned.

    Raises:
        LMError: The request failed for good; the message names the last cause and,
            after several attempts, how many there were.
        LMUnavailableError: The breaker is open.
    """
    if breaker is not None:
        breaker.check()
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        left = deadline - time.monotonic()
        try:
            async with asyncio.timeout(left):
                result = await attempt(left)
        except TimeoutError:
            error = LMError(
                f"no complete reply within lm.timeout = {timeout:g} s",
                kind="timeout",
                exception="TimeoutError",
            )
        except LMUnavailableError:
            raise
        except Exception as exc:
            error = as_lm_error(exc)
            response = getattr(exc, "response", None)
            error.retry_after = retry_after_seconds(getattr(response, "headers", None))
        else:
            if breaker is not None:
                breaker.success()
            return result
        if error.kind == "connection" and revive is not None:
            spent = await revive()
            if spent is not None:
                usage.record_fault(error.fault, retried=True)
                deadline += spent
                continue
        wait = _delay(error, attempts - 1)
        retry = (
            wait is not None
            and attempts <= max_retries
            and time.monotonic() + wait < deadline - 0.001
        )
        usage.record_fault(error.fault, retried=retry)
        if not retry:
            break
        await asyncio.sleep(wait or 0.0)
    final = _final(error, attempts, timeout)
    if breaker is not None:
        breaker.failure(final)
    raise final


def _final(error: LMError, attempts: int, timeout: float) -> LMError:
    """The last error, saying how many attempts were made when there were several."""
    if attempts == 1:
        return error
    return LMError(
        f"{error.message} (the last of {attempts} attempts within lm.timeout = {timeout:g} s)",
        kind=error.kind,
        status_code=error.status_code,
        exception=error.exception,
        body=error.body,
        attempts=attempts,
    )
