"""Which sampling parameters a request may carry, and each request's seed and cache key.

Kept apart from the client because it is the part that decides reproducibility: a
*sampled* request without a seed (temperature unset or > 0) is not deterministic, so
the k-th identical one of an LM's life gets its own cache entry and, when the LM has a
run seed, a seed derived from that seed, the request and k. A run that draws the same
requests in the same order gets the same samples, with or without a cache. The
occurrence counters are part of a checkpoint, so a resumed run goes on counting.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from qd.lm.cache import cache_key

__all__ = ["RESERVED", "RequestKeys", "check_sampling", "is_stochastic"]

# Request fields that the client sets itself, or that would break one-reply-per-request.
RESERVED = frozenset({"model", "prompt", "messages", "stream", "stream_options"})
_SEEN_KEY = 20  # hex digits of a request's key that its occurrence counter is kept under


def check_sampling(sampling: Mapping[str, Any]) -> None:
    """Refuse parameters the client sets itself or that ask for several replies.

    Raises:
        ValueError: A reserved parameter, or ``n`` other than 1; the message says what
            to do instead.
    """
    reserved = sorted(RESERVED & set(sampling))
    if reserved:
        raise ValueError(
            f"{', '.join(reserved)} cannot be a sampling parameter: the client sets "
            "model, prompt and messages itself and does not stream"
        )
    if sampling.get("n", 1) != 1:
        raise ValueError("n must be 1: send the request several times (or vary seed)")


def is_stochastic(sampling: Mapping[str, Any]) -> bool:
    """True when the server would pick a different reply each time (no seed, T > 0)."""
    temperature = sampling.get("temperature")
    return sampling.get("seed") is None and (temperature is None or temperature > 0)


class RequestKeys:
    """Numbers identical sampled requests; derives their seeds and cache keys.

    Args:
        seed: The run's seed; sampled requests that name no seed get one derived from
            it. None leaves the choice to the server.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = None if seed is None else int(seed)
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def prepare(
        self,
        *,
        model: str,
        kind: str,
        payload: Any,
        sampling: Mapping[str, Any],
        cached: bool,
    ) -> tuple[Mapping[str, Any], str | None]:
        """One request's sampling (with its derived seed, if any) and its cache key.

        Call in request order: the k-th identical sampled request is told apart by k.

        Args:
            model: The model the request goes to (part of the key).
            kind: ``"completion"`` or ``"chat"``.
            payload: The prompt or the messages.
            sampling: The request's parameters.
            cached: Whether the caller has a cache (no key is made otherwise).

        Returns:
            The sampling to send, and the cache key (None without a cache).
        """
        if not cached and (self.seed is None or not is_stochastic(sampling)):
            return sampling, None
        base = cache_key(model=model, kind=kind, payload=payload, sampling=sampling)
        if not is_stochastic(sampling):
            return sampling, base
        with self._lock:
            occurrence = self._seen[base[:_SEEN_KEY]]
            self._seen[base[:_SEEN_KEY]] += 1
        if self.seed is not None:
            digest = hashlib.sha256(f"{self.seed}:{occurrence}:{base}".encode()).digest()
            sampling = {**sampling, "seed": int.from_bytes(digest[:4], "big") >> 1}
            occurrence = 0  # the seed now tells the occurrences apart
        if not cached:
            return sampling, None
        return sampling, cache_key(
            model=model, kind=kind, payload=payload, sampling=sampling, occurrence=occurrence
        )

    def snapshot(self) -> dict[str, int]:
        """The occurrence counters, for a checkpoint."""
        with self._lock:
            return dict(self._seen)

    def restore(self, seen: Mapping[str, Any]) -> None:
        """Continue counting from :meth:`snapshot`."""
        with self._lock:
            self._seen = Counter({str(k): int(v) for k, v in seen.items()})
