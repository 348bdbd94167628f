"""One LM client for OpenAI, vLLM and llama.cpp alike: the official ``openai`` package.

:class:`LM` sends text completions (``/v1/completions``: QDAIF's few-shot prompts and
judge prompts with logprobs) and chat completions, many at once but at most
``max_concurrency`` in flight. Each request has one deadline, ``lm.timeout``, for all its
attempts; it is retried with backoff on timeouts, connection errors, 429, 5xx and
replies that are not JSON (:mod:`qd.lm.faults`); a dead embedded server is restarted
(:mod:`qd.lm.supervisor`); and after ``lm.max_consecutive_failures`` failed requests in a
row the circuit breaker raises :class:`LMUnavailableError`.

The engine calls the sync batch API; a failed request is an :class:`LMError` in its slot,
never an exception that ends the batch (only an open breaker ends it)::

    lm = LM(settings_from_env(), cache="runs/demo/lm-cache")
    replies = lm.complete_many(prompts, max_tokens=64, temperature=0.8)
    texts = [r.text if isinstance(r, Completion) else None for r in replies]
    lm.usage.snapshot()  # {"requests": 12, "prompt_tokens": ..., "cache_hits": 0, ...}

This module is the client alone. Settings live in :mod:`qd.lm.settings`, replies and
errors in :mod:`qd.lm.replies` and :mod:`qd.lm.errors`, usage totals in
:mod:`qd.lm.usage`, request seeds and cache keys in :mod:`qd.lm.sampling`, and the
HTTP and event-loop plumbing it shares with the embedder in :mod:`qd.lm.transport`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from qd.lm.cache import LMCache
from qd.lm.errors import LMError, LMUnavailableError
from qd.lm.faults import CircuitBreaker, EventLog, send_with_retries
from qd.lm.replies import (
    Completion,
    as_lm_error,
    body_head,
    chat_params,
    parse_chat,
    parse_completion,
)
from qd.lm.sampling import RequestKeys, check_sampling
from qd.lm.settings import ENV_BASE_URL, ENV_MODEL, LMSettings
from qd.lm.transport import loopback_http_client, run_sync
from qd.lm.usage import Usage

__all__ = ["LM"]

T = TypeVar("T")


@dataclass
class _LoopState:
    client: Any  # openai.AsyncOpenAI, bound to one event loop
    semaphore: asyncio.Semaphore


class LM:
    """An OpenAI-compatible LM with bounded concurrency, retries, a cache and usage totals.

    Args:
        settings: Where the server is; ``base_url`` and ``model`` must be set (see
            :func:`settings_from_env`, or :meth:`qd.lm.LocalServer.settings`).
        cache: An :class:`LMCache`, or a path for one; None disables caching.
        seed: Seeds sampled requests (see below).
        embedder: A :class:`qd.lm.Embedder` for :meth:`embed`; :func:`qd.lm.open_lm`
            gives every LM one (the configured embedding server, or the embedded
            all-MiniLM-L6-v2 started on first use).
        breaker: The circuit breaker; one of ``settings.max_consecutive_failures`` when
            None. :func:`qd.lm.open_lm` shares one between the LM and its embedder.
        events: Where the LM layer reports restarts and an opening breaker (a run
            connects it to ``events.jsonl``).
        supervisor: Restarts the embedded server if it dies (see
            :class:`qd.lm.supervisor.ServerSupervisor`); None for a configured server.

    Caching: identical requests (model, prompt or messages, every sampling parameter,
    seed) are answered from the cache. A *sampled* request without a seed (temperature
    unset or > 0) is not deterministic, so the k-th identical one of this ``LM``'s life
    is cached apart from the others: a run draws distinct samples, and its rerun gets the
    same ones in the same order, without a call.

    Seeding: with ``seed`` (a run passes its own), every sampled request that names no
    seed gets one derived from ``seed``, the request and its occurrence, so samples are
    the same for the same run seed and differ between seeds, on servers that honour
    ``seed`` (llama.cpp, vLLM, OpenAI on a best-effort basis), even without a cache.
    Without it the server picks; llama.cpp then replays one fixed sequence from start-up,
    so two runs that differ only in their seed would see the same samples.

    Raises:
        ValueError: ``base_url`` or ``model`` is missing.
    """

    def __init__(
        self,
        settings: LMSettings,
        *,
        cache: LMCache | str | Path | None = None,
        seed: int | None = None,
        embedder: Any = None,
        breaker: CircuitBreaker | None = None,
        events: EventLog | None = None,
        supervisor: Any = None,
    ):
        if not settings.base_url or not settings.model:
            raise ValueError(
                f"LM needs base_url and model, got {settings!r}: set {ENV_BASE_URL} and "
                f"{ENV_MODEL}, or use qd.lm.local_server() for the embedded model"
            )
        self.settings = settings
        self.cache = LMCache(cache) if isinstance(cache, str | Path) else cache
        self._keys = RequestKeys(seed)
        self.usage = Usage()
        self.embedder = embedder
        self.events = events or (breaker.events if breaker and breaker.events else EventLog())
        self.breaker = breaker or CircuitBreaker(
            settings.max_consecutive_failures, events=self.events
        )
        self.supervisor = supervisor
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self._stale: list[Any] = []  # clients of a server that moved to another port

    def __repr__(self) -> str:
        return f"LM({self.settings!r}, cache={self.cache!r})"

    # -- plumbing -------------------------------------------------------------------

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI(
                base_url=self.settings.base_url,
                api_key=self.settings.resolved_api_key(),
                timeout=self.settings.timeout,
                max_retries=0,  # qd.lm.faults retries, within one deadline, and counts
                http_client=loopback_http_client(self.settings.base_url),
            )
            state = _LoopState(client, asyncio.Semaphore(self.settings.max_concurrency))
            self._loops[loop] = state
        return state

    async def aclose(self) -> None:
        """Close the HTTP client of the running event loop."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        stale, self._stale = self._stale, []
        for client in [*stale, *([state.client] if state is not None else [])]:
            # A client of another, closed loop has nothing left to free.
            with contextlib.suppress(Exception):
                await client.close()

    # -- state a run keeps across `qd resume` -------------------------------------

    def state(self) -> dict[str, Any]:
        """Usage totals and per-request occurrence counters, for a checkpoint.

        The occurrence counters number identical sampled requests (see the class
        docstring); carried across a resume, the k-th identical request of the run gets
        the same cache entry and derived seed as it would have without the interruption.
        """
        state: dict[str, Any] = {"usage": self.usage.snapshot(), "seen": self._keys.snapshot()}
        if self.embedder is not None and hasattr(self.embedder, "usage"):
            state["embedding_usage"] = self.embedder.usage.snapshot()
        return state

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state` (what a checkpoint kept)."""
        if "usage" in state:
            self.usage.restore(state["usage"])
        if "seen" in state:
            self._keys.restore(state["seen"])
        if "embedding_usage" in state and self.embedder is not None:
            self.embedder.usage.restore(state["embedding_usage"])

    def _revive_hook(self) -> tuple[Callable[[], Awaitable[float | None]] | None, list[int]]:
        """The restart hook of one request, and the generation it was sent in."""
        supervisor = self.supervisor
        if supervisor is None:
            return None, [0]
        sent = [supervisor.generation]

        async def revive() -> float | None:
            spent = await asyncio.to_thread(supervisor.revive, sent[0])
            if spent is not None:
                self._follow(supervisor.server.base_url)
                sent[0] = supervisor.generation
            return spent

        return revive, sent

    def _follow(self, base_url: str) -> None:
        """Point at a restarted server that had to take another port."""
        if base_url == self.settings.base_url:
            return
        self.settings = self.settings.replace(base_url=base_url)
        for loop in list(self._loops):
            state = self._loops.pop(loop, None)
            if state is not None:
                self._stale.append(state.client)

    @property
    def seed(self) -> int | None:
        """The run seed that sampled requests' seeds are derived from (see the class)."""
        return self._keys.seed

    def _prepare(
        self, kind: str, payload: Any, sampling: Mapping[str, Any]
    ) -> tuple[Mapping[str, Any], str | None]:
        """One request's sampling and cache key (:meth:`RequestKeys.prepare`)."""
        model = self.settings.model
        assert model, "__init__ refuses settings without a model"
        return self._keys.prepare(
            model=model,
            kind=kind,
            payload=payload,
            sampling=sampling,
            cached=self.cache is not None,
        )

    @staticmethod
    def _check_sampling(sampling: Mapping[str, Any]) -> None:
        check_sampling(sampling)

    async def _request(
        self,
        kind: str,
        payload: Any,
        sampling: Mapping[str, Any],
        key: str | None,
    ) -> Completion:
        if key is not None and self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.usage.record_cache_hit()
                return replace(Completion.from_dict(hit), cached=True, latency_s=0.0, key=key)
        revive, sent = self._revive_hook()

        async def attempt(seconds_left: float) -> Completion:
            client = self._state().client  # a restarted server may have a new port
            if self.supervisor is not None:
                sent[0] = self.supervisor.generation
            if kind == "chat":
                raw = await client.chat.completions.with_raw_response.create(
                    model=self.settings.model,
                    messages=payload,
                    timeout=seconds_left,
                    **chat_params(sampling),
                )
            else:
                raw = await client.completions.with_raw_response.create(
                    model=self.settings.model,
                    prompt=payload,
                    timeout=seconds_left,
                    **dict(sampling),
                )
            body = body_head(raw.http_response)
            try:
                reply = raw.parse()
            except Exception as exc:  # not JSON, or not the JSON asked for
                raise as_lm_error(exc, body=body) from exc
            return parse_chat(reply, body) if kind == "chat" else parse_completion(reply, body)

        state = self._state()
        async with state.semaphore:
            began = time.perf_counter()
            try:
                completion = await send_with_retries(
                    attempt,
                    timeout=self.settings.timeout,
                    max_retries=self.settings.max_retries,
                    usage=self.usage,
                    breaker=self.breaker,
                    revive=revive,
                )
            except LMError:
                self.usage.record(latency_s=time.perf_counter() - began, error=True)
                raise
            completion.latency_s = time.perf_counter() - began
        self.usage.record(
            latency_s=completion.latency_s,
            prompt_tokens=completion.usage.get("prompt_tokens", 0),
            completion_tokens=completion.usage.get("completion_tokens", 0),
        )
        if key is not None and self.cache is not None:
            self.cache.put(key, completion.to_dict())
            completion.key = key
        return completion

    async def _many(
        self, kind: str, payloads: Sequence[Any], sampling: Mapping[str, Any]
    ) -> list[Completion | LMError]:
        self._check_sampling(sampling)
        prepared = [self._prepare(kind, p, sampling) for p in payloads]  # in order

        async def one(
            payload: Any, own: Mapping[str, Any], key: str | None
        ) -> Completion | LMError | LMUnavailableError:
            try:
                return await self._request(kind, payload, own, key)
            except (LMError, LMUnavailableError) as exc:
                return exc
            except Exception as exc:  # a bug in parsing, a cache error: still one slot
                return LMError(f"{type(exc).__name__}: {exc}", kind="error")

        replies = await asyncio.gather(
            *(one(p, own, key) for p, (own, key) in zip(payloads, prepared, strict=True))
        )
        for reply in replies:  # the breaker opened: the batch (and the run) stops here
            if isinstance(reply, LMUnavailableError):
                raise reply
        return list(replies)  # type: ignore[arg-type]

    def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        async def main() -> T:
            try:
                return await make()
            finally:
                await self.aclose()

        return run_sync(main)

    # -- async API ------------------------------------------------------------------

    async def acomplete(self, prompt: str, **sampling: Any) -> Completion:
        """One text completion (``/v1/completions``).

        Args:
            prompt: The prompt.
            **sampling: Request parameters: ``max_tokens``, ``temperature``, ``top_p``,
                ``stop``, ``seed``, ``logprobs`` (how many top tokens per position),
                ``extra_body`` (server-specific ones such as ``top_k``), ...

        Returns:
            The reply.

        Raises:
            LMError: The request failed after retries, or the reply had no choice.
            LMUnavailableError: The circuit breaker is open.
        """
        self._check_sampling(sampling)
        own, key = self._prepare("completion", prompt, sampling)
        return await self._request("completion", prompt, own, key)

    async def achat(self, messages: Sequence[Mapping[str, Any]], **sampling: Any) -> Completion:
        """One chat completion. ``logprobs=k`` asks for the top ``k`` per token.

        Args:
            messages: ``[{"role": "user", "content": "..."}, ...]``.
            **sampling: As for :meth:`acomplete`.

        Returns:
            The reply.

        Raises:
            LMError: The request failed after retries, or the reply had no choice.
        """
        self._check_sampling(sampling)
        payload = [dict(m) for m in messages]
        own, key = self._prepare("chat", payload, sampling)
        return await self._request("chat", payload, own, key)

    async def acomplete_many(
        self, prompts: Sequence[str], **sampling: Any
    ) -> list[Completion | LMError]:
        """Many text completions, at most ``max_concurrency`` in flight; errors in place."""
        return await self._many("completion", list(prompts), sampling)

    async def achat_many(
        self, conversations: Sequence[Sequence[Mapping[str, Any]]], **sampling: Any
    ) -> list[Completion | LMError]:
        """Many chat completions, at most ``max_concurrency`` in flight; errors in place."""
        payloads = [[dict(m) for m in messages] for messages in conversations]
        return await self._many("chat", payloads, sampling)

    # -- sync API (what the engine calls) -------------------------------------------

    def embed(self, texts: Sequence[str]) -> Any:
        """Unit-length embeddings of ``texts``, a ``(n, d)`` float32 array.

        Raises:
            LMError: A request failed, or this LM has no embedder.
        """
        return self._require_embedder().embed(texts)

    def embed_many(self, texts: Sequence[str]) -> list[Any]:
        """One unit vector per text, or the :class:`LMError` of its failed request."""
        return self._require_embedder().embed_many(texts)

    def _require_embedder(self) -> Any:
        if self.embedder is None:
            raise LMError(
                "this LM has no embedder: open it with qd.lm.open_lm, or pass "
                "embedder=qd.lm.Embedder(...)",
                kind="error",
            )
        return self.embedder

    def complete(self, prompt: str, **sampling: Any) -> Completion:
        """Sync :meth:`acomplete`. Raises :class:`LMError` on failure."""
        return self._run(lambda: self.acomplete(prompt, **sampling))

    def chat(self, messages: Sequence[Mapping[str, Any]], **sampling: Any) -> Completion:
        """Sync :meth:`achat`. Raises :class:`LMError` on failure."""
        return self._run(lambda: self.achat(messages, **sampling))

    def complete_many(self, prompts: Sequence[str], **sampling: Any) -> list[Completion | LMError]:
        """Text completions for a batch of prompts, in order.

        Args:
            prompts: The prompts.
            **sampling: As for :meth:`acomplete`; the same for every prompt.

        Returns:
            One :class:`Completion` or :class:`LMError` per prompt: a failed request
            never ends the batch.

        Raises:
            LMUnavailableError: The circuit breaker opened (too many failures in a row).
        """
        return self._run(lambda: self.acomplete_many(prompts, **sampling))

    def chat_many(
        self, conversations: Sequence[Sequence[Mapping[str, Any]]], **sampling: Any
    ) -> list[Completion | LMError]:
        """Chat completions for a batch of conversations; see :meth:`complete_many`."""
        return self._run(lambda: self.achat_many(conversations, **sampling))
