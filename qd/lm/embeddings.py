"""Text embeddings through the OpenAI embeddings endpoint, with the LM's cache and usage.

Embeddings are what a language model is good at offline and cheaply: topic and genre
separate well by cosine similarity, at thousands of texts per minute on two cores
(see ``docs/lm.md`` for the measured accuracy of each judge). The engine uses them for
anchored descriptor axes (:mod:`qd.lm.anchors`), for the Vendi score of text archives
and for novelty rejection.

:class:`Embedder` speaks ``/v1/embeddings`` through the ``openai`` package, so it works
with OpenAI, vLLM and llama.cpp started with embeddings on. Every text is cached on its
own (a batch with one new text sends one text), a batch goes out in as few requests as
``batch_size`` allows, with the same bounded concurrency, retries and error mapping as
completions. Vectors come back L2-normalised, so a dot product is a cosine::

    embedder = Embedder(LMSettings(base_url=..., model="text-embedding-3-small"))
    vectors = embedder.embed(["a love story", "a ghost story"])  # (2, d) float32
    float(vectors[0] @ vectors[1])

With no server named, :func:`qd.lm.open_lm` gives the LM an embedder that starts the
embedded all-MiniLM-L6-v2 (llama.cpp, loopback) on first use and stops it with the LM.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qd.lm.cache import LMCache, cache_key
from qd.lm.errors import LMError, LMUnavailableError
from qd.lm.faults import CircuitBreaker, EventLog, send_with_retries
from qd.lm.replies import as_lm_error
from qd.lm.settings import LMSettings
from qd.lm.transport import loopback_http_client, run_sync
from qd.lm.usage import Usage

__all__ = ["ENV_EMBED_BASE_URL", "ENV_EMBED_MODEL", "Embedder", "embedding_settings_from_env"]

ENV_EMBED_BASE_URL = "QD_EMBED_BASE_URL"
ENV_EMBED_MODEL = "QD_EMBED_MODEL"


def embedding_settings_from_env(
    lm: LMSettings,
    *,
    base_url: str | None = None,
    model: str | None = None,
    environ: dict[str, str] | None = None,
) -> LMSettings | None:
    """Where embeddings come from, or None for the embedded default.

    ``QD_EMBED_BASE_URL`` / ``QD_EMBED_MODEL`` override the config's values. A model
    without a base URL is asked of the completion server (OpenAI serves both), with
    its key, timeout and retries.

    Args:
        lm: The completion settings (key, timeout, retries, and the fallback URL).
        base_url: The config's ``lm.embedding_base_url``.
        model: The config's ``lm.embedding_model``.
        environ: The environment to read; ``os.environ`` by default.

    Returns:
        Settings for :class:`Embedder`, or None when nothing names an embedding model.
    """
    env = os.environ if environ is None else environ
    base_url = env.get(ENV_EMBED_BASE_URL) or base_url or None
    model = env.get(ENV_EMBED_MODEL) or model or None
    if not model:
        return None
    url = base_url or lm.base_url
    if not url:
        raise ValueError(
            f"embedding model {model!r} has no server: set lm.embedding_base_url "
            f"({ENV_EMBED_BASE_URL}) or lm.base_url, or leave the model unset for the "
            "embedded all-MiniLM-L6-v2"
        )
    return LMSettings(
        base_url=url,
        model=model,
        api_key=lm.api_key if url == lm.base_url else None,
        max_concurrency=lm.max_concurrency,
        timeout=lm.timeout,
        max_retries=lm.max_retries,
    )


class Embedder:
    """Embeddings from an OpenAI-compatible server, cached per text, L2-normalised.

    Args:
        settings: The server and model. None with ``start``: the settings come from
            ``start()`` on the first request that misses the cache (so a run whose texts
            are all cached never starts a server).
        cache: An :class:`LMCache` or a path; None disables caching.
        start: Returns settings once a server is up (see :func:`qd.lm.open_lm`).
        model: With ``start``: the model it will serve (the cache keys on it).
        batch_size: Texts per request. llama.cpp embeds them one by one anyway; remote
            servers (OpenAI allows 2048 inputs) gain from large batches.
        breaker: The circuit breaker, shared with the LM by :func:`qd.lm.open_lm`; its
            own (of the settings' ``max_consecutive_failures``) when None.

    Attributes:
        supervisor: Restarts an embedded server that dies (set by :func:`qd.lm.open_lm`
            when it starts one).

    Raises:
        ValueError: Neither settings nor start, or settings without base_url or model.
    """

    def __init__(
        self,
        settings: LMSettings | None = None,
        *,
        cache: LMCache | str | Path | None = None,
        start: Callable[[], LMSettings] | None = None,
        model: str | None = None,
        batch_size: int = 64,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        if settings is None and (start is None or not model):
            raise ValueError("Embedder needs settings (a server and a model), or start and model")
        if settings is not None and not (settings.base_url and settings.model):
            raise ValueError(f"Embedder needs base_url and model, got {settings!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._settings = settings
        self._start = start
        self.cache = LMCache(cache) if isinstance(cache, str | Path) else cache
        self.batch_size = int(batch_size)
        self.usage = Usage()
        self.model_name = str(settings.model if settings is not None else model)
        limit = settings.max_consecutive_failures if settings is not None else 20
        self.breaker = breaker or CircuitBreaker(limit, events=EventLog())
        self.supervisor: Any = None

    def __repr__(self) -> str:
        where = self._settings if self._settings is not None else "started on first use"
        return f"Embedder({where!r}, cache={self.cache!r})"

    @property
    def settings(self) -> LMSettings:
        """The server's settings, starting it first if it is started on demand."""
        if self._settings is None:
            assert self._start is not None
            self._settings = self._start()
        return self._settings

    def _key(self, text: str) -> str:
        return cache_key(model=self.model_name, kind="embedding", payload=text, sampling={})

    def embed_many(self, texts: Sequence[str]) -> list[np.ndarray | LMError]:
        """One unit vector per text, or the :class:`LMError` of its failed request.

        Identical texts are embedded once; cached texts send nothing.
        """
        texts = [str(t) for t in texts]
        found: dict[str, np.ndarray | LMError] = {}
        for text in dict.fromkeys(texts):
            hit = self.cache.get(self._key(text)) if self.cache is not None else None
            if hit is not None:
                self.usage.record_cache_hit()
                found[text] = np.asarray(hit["embedding"], dtype=np.float32)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            settings = self.settings
            chunks = [
                missing[i : i + self.batch_size] for i in range(0, len(missing), self.batch_size)
            ]
            replies = run_sync(lambda: self._send_all(settings, chunks))
            usable: list[np.ndarray | LMError] = []
            for reply in replies:  # the breaker opened: the batch (and the run) stops
                if isinstance(reply, LMUnavailableError):
                    raise reply
                usable.append(reply)
            for chunk, reply in zip(chunks, usable, strict=True):
                for j, text in enumerate(chunk):
                    found[text] = reply if isinstance(reply, LMError) else reply[j]
        return [found[t] for t in texts]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The ``(len(texts), d)`` float32 matrix of unit vectors.

        Raises:
            LMError: A request failed after retries, or a reply was unusable.
        """
        rows: list[np.ndarray] = []
        for row in self.embed_many(texts):
            if isinstance(row, LMError):
                raise row
            rows.append(row)
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)

    def _client(self, settings: LMSettings) -> Any:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            base_url=settings.base_url,
            api_key=settings.resolved_api_key(),
            timeout=settings.timeout,
            max_retries=0,  # qd.lm.faults retries, within one deadline, and counts
            http_client=loopback_http_client(settings.base_url),
        )

    async def _send_all(
        self, settings: LMSettings, chunks: list[list[str]]
    ) -> list[np.ndarray | LMError | LMUnavailableError]:
        clients = [self._client(settings)]
        semaphore = asyncio.Semaphore(settings.max_concurrency)

        async def revive_for(sent: list[int]) -> float | None:
            supervisor = self.supervisor
            spent = await asyncio.to_thread(supervisor.revive, sent[0])
            if spent is not None and supervisor.server.base_url != clients[-1].base_url:
                moved = settings.replace(base_url=supervisor.server.base_url)
                self._settings = moved
                clients.append(self._client(moved))
            return spent

        async def one(chunk: list[str]) -> np.ndarray | LMError | LMUnavailableError:
            sent = [self.supervisor.generation if self.supervisor is not None else 0]

            async def attempt(seconds_left: float) -> tuple[np.ndarray, Any]:
                if self.supervisor is not None:
                    sent[0] = self.supervisor.generation
                reply = await clients[-1].embeddings.create(
                    model=settings.model,
                    input=chunk,
                    encoding_format="float",
                    timeout=seconds_left,
                )
                return _parse_embeddings(reply, len(chunk)), reply

            async def revive() -> float | None:
                return await revive_for(sent)

            async with semaphore:
                began = time.perf_counter()
                try:
                    vectors, reply = await send_with_retries(
                        attempt,
                        timeout=settings.timeout,
                        max_retries=settings.max_retries,
                        usage=self.usage,
                        breaker=self.breaker,
                        revive=revive if self.supervisor is not None else None,
                    )
                except (LMError, LMUnavailableError) as exc:
                    if isinstance(exc, LMError):
                        self.usage.record(latency_s=time.perf_counter() - began, error=True)
                    return exc
                except Exception as exc:  # a bug, not the server: still its slot only
                    self.usage.record(latency_s=time.perf_counter() - began, error=True)
                    return as_lm_error(exc)
                usage = getattr(reply, "usage", None)
                self.usage.record(
                    latency_s=time.perf_counter() - began,
                    prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                )
            if self.cache is not None:
                for text, vector in zip(chunk, vectors, strict=True):
                    self.cache.put(self._key(text), {"embedding": vector.tolist()})
            return vectors

        try:
            return list(await asyncio.gather(*(one(c) for c in chunks)))
        finally:
            for client in clients:
                await client.close()


def _parse_embeddings(reply: Any, expected: int) -> np.ndarray:
    """The reply's vectors in input order, unit length; malformed replies raise LMError."""
    data = getattr(reply, "data", None)
    if not isinstance(data, list) or len(data) != expected:
        got = len(data) if isinstance(data, list) else type(data).__name__
        raise LMError(f"the server sent {got} embeddings for {expected} texts", kind="malformed")
    order = sorted(range(expected), key=lambda i: getattr(data[i], "index", i))
    try:
        matrix = np.asarray([data[i].embedding for i in order], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LMError(f"unusable embedding in the reply: {exc}", kind="malformed") from None
    if matrix.ndim != 2 or matrix.shape[1] == 0 or not np.all(np.isfinite(matrix)):
        raise LMError(
            f"the server sent embeddings of shape {matrix.shape} with non-finite values "
            "or no dimensions",
            kind="malformed",
        )
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise LMError("the server sent an all-zero embedding", kind="malformed")
    return (matrix / norms).astype(np.float32)
