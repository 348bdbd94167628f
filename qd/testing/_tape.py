"""Record an LM's replies once and replay them, so an LM domain's own determinism can be
checked apart from the LM's.

A run promises "same seed and same LM replies, same run", not "same LM replies on a
second ask": the client gives each repeat of a sampled request its own seed on purpose.
So to see whether a domain draws all its randomness from ``rng``, ``check_domain``
records the LM calls of a first pass and answers the second pass from the record. A
second pass that asks something else is the finding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _key(name: str, args: tuple, kwargs: dict) -> str:
    return f"{name}{args!r}{sorted(kwargs.items())!r}"


class LMTape:
    """Wraps an LM (or a stand-in): passes calls through, records them, or replays them.

    Every method call goes through; attributes that are not callable are the LM's own.

    Args:
        lm: What the domain would otherwise be connected to.
    """

    def __init__(self, lm: Any) -> None:
        self._lm = lm
        self._mode = "live"
        self._record: list[tuple[str, Any]] = []
        self._position = 0
        self.divergence: str | None = None
        """The first call of a replay that differs from the record, if any."""

    def record(self) -> None:
        """Pass calls through and keep their replies."""
        self._mode, self._record = "record", []

    def replay(self) -> None:
        """Answer calls from the record, in order; a call that differs goes to the LM."""
        self._mode, self._position, self.divergence = "replay", 0, None

    def live(self) -> None:
        """Pass calls through and keep nothing."""
        self._mode, self._record = "live", []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._lm, name)
        if not callable(target):
            return target
        return self._wrap(name, target)

    def _wrap(self, name: str, target: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            key = _key(name, args, kwargs)
            if self._mode == "replay" and self.divergence is None:
                if self._position < len(self._record) and self._record[self._position][0] == key:
                    self._position += 1
                    return self._record[self._position - 1][1]
                expected = (
                    self._record[self._position][0][:300]
                    if self._position < len(self._record)
                    else "no further call"
                )
                self.divergence = (
                    f"LM call {self._position + 1} differs: first pass {expected}, "
                    f"second pass {key[:300]}"
                )
            reply = target(*args, **kwargs)
            if self._mode == "record":
                self._record.append((key, reply))
            return reply

        return call
