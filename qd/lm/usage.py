"""Running totals of LM use: requests, tokens, cache hits, and every fault by its cause.

A run writes :meth:`Usage.snapshot` into each ``metrics.jsonl`` line and into its
checkpoints; ``qd resume`` hands it back to :meth:`Usage.restore`, so the totals are the
run's, not the process's.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

__all__ = ["Usage"]


class Usage:
    """Running totals of LM use, safe to update from several threads.

    ``requests`` counts requests sent (a request retried counts once; failed ones count
    too, and also in ``errors``), ``retries`` the extra attempts, ``cache_hits`` replies
    served from the cache without a request, ``latency_s`` the sum of request seconds.
    ``faults`` counts every failed attempt by its cause: ``http_500``, ``http_429``,
    ``timeout``, ``connection``, ``malformed``, ... (a request that failed twice and then
    worked adds two faults and no error).
    """

    _FIELDS = (
        "requests",
        "errors",
        "retries",
        "cache_hits",
        "prompt_tokens",
        "completion_tokens",
        "latency_s",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.errors = 0
        self.retries = 0
        self.cache_hits = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.latency_s = 0.0
        self.faults: Counter[str] = Counter()

    def record(
        self,
        *,
        latency_s: float = 0.0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        error: bool = False,
    ) -> None:
        """Count one request sent to the server (failed ones too)."""
        with self._lock:
            self.requests += 1
            self.errors += int(error)
            self.latency_s += latency_s
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens

    def record_fault(self, label: str, *, retried: bool) -> None:
        """Count one failed attempt (``LMError.fault``), and the retry it led to."""
        with self._lock:
            self.faults[label] += 1
            self.retries += int(retried)

    def record_cache_hit(self) -> None:
        """Count one reply served from the cache (no request sent)."""
        with self._lock:
            self.cache_hits += 1

    def snapshot(self) -> dict[str, Any]:
        """The totals, as a dict for ``metrics.jsonl``; ``faults`` only when there were any."""
        with self._lock:
            data: dict[str, Any] = {name: getattr(self, name) for name in self._FIELDS}
            if self.faults:
                data["faults"] = dict(sorted(self.faults.items()))
        data["latency_s"] = round(float(data["latency_s"]), 6)
        return data

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Continue from a :meth:`snapshot` (a resumed run's totals); unknown keys are ignored."""
        with self._lock:
            for name in self._FIELDS:
                if name in snapshot:
                    kind = float if name == "latency_s" else int
                    setattr(self, name, kind(snapshot[name]))
            self.faults = Counter({str(k): int(v) for k, v in snapshot.get("faults", {}).items()})

    def __repr__(self) -> str:
        return f"Usage({self.snapshot()})"
