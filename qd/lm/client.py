"""One LM client for OpenAI, vLLM and llama.cpp alike: the official ``openai`` package.

:class:`LM` sends text completions (``/v1/completions``: QDAIF's few-shot prompts and
judge prompts with logprobs) and chat completions, many at once but at most
``max_concurrency`` in flight, each with a timeout, retried with exponential backoff and
jitter on timeouts, connection errors, 429 and 5xx (the ``openai`` client's own retries).

The engine calls the sync batch API; a failed request is an :class:`LMError` in its slot,
never an exception that ends the batch::

    lm = LM(settings_from_env(), cache="runs/demo/lm-cache")
    replies = lm.complete_many(prompts, max_tokens=64, temperature=0.8)
    texts = [r.text if isinstance(r, Completion) else None for r in replies]
    lm.usage.snapshot()  # {"requests": 12, "prompt_tokens": ..., "cache_hits": 0, ...}

API keys are never written anywhere: ``repr(settings)`` masks the key and
:meth:`LMSettings.to_dict` (what a run directory gets) leaves it out.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from qd.lm.cache import LMCache, cache_key

__all__ = [
    "LM",
    "Completion",
    "LMError",
    "LMSettings",
    "Usage",
    "settings_from_env",
]

T = TypeVar("T")

ENV_BASE_URL = "QD_LM_BASE_URL"
ENV_MODEL = "QD_LM_MODEL"
ENV_API_KEY = "QD_LM_API_KEY"
NO_KEY = "EMPTY"  # what vLLM and llama.cpp accept when they check no key

# Request fields that the client sets itself, or that would break one-reply-per-request.
_RESERVED = frozenset({"model", "prompt", "messages", "stream", "stream_options"})


def _mask(key: str | None) -> str | None:
    if key is None:
        return None
    if len(key) < 16:
        return "***"
    return f"{key[:3]}...{key[-4:]}"


@dataclass(frozen=True, repr=False)
class LMSettings:
    """Where the LM is and how hard to push it.

    Args:
        base_url: An OpenAI-compatible base URL (``https://api.openai.com/v1``,
            ``http://host:8000/v1`` for vLLM). None means "start the embedded model".
        model: The model name the server expects.
        api_key: The key; never written to run directories or logs. None: ``EMPTY``
            for self-hosted servers, ``OPENAI_API_KEY`` for api.openai.com.
        max_concurrency: Requests in flight at once.
        timeout: Seconds one request (one attempt) may take.
        max_retries: Retries after the first attempt, with exponential backoff and
            jitter, on timeouts, connection errors, 408/409/429 and 5xx.
    """

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    max_concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 4

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {self.max_concurrency}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")

    @property
    def configured(self) -> bool:
        """Whether a server is named; if not, a run starts the embedded model."""
        return bool(self.base_url)

    def resolved_api_key(self) -> str:
        """The key to send. ``OPENAI_API_KEY`` is used only for api.openai.com."""
        if self.api_key:
            return self.api_key
        host = urlparse(self.base_url or "").hostname or ""
        if host.endswith("openai.com") and os.environ.get("OPENAI_API_KEY"):
            return os.environ["OPENAI_API_KEY"]
        return NO_KEY

    def to_dict(self) -> dict[str, Any]:
        """The settings for ``config.toml`` and logs: everything but the API key."""
        data = asdict(self)
        del data["api_key"]
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LMSettings:
        """Settings from a config table (e.g. ``[lm]``).

        Raises:
            ValueError: An unknown key (named, with the known ones) or a bad value.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown LM setting(s) {', '.join(unknown)}: use {', '.join(sorted(known))}"
            )
        return cls(**dict(data))

    def __repr__(self) -> str:
        parts = [
            f"{f.name}={_mask(self.api_key) if f.name == 'api_key' else getattr(self, f.name)!r}"
            for f in fields(self)
        ]
        return f"LMSettings({', '.join(parts)})"

    __str__ = __repr__


def settings_from_env(
    defaults: LMSettings | None = None, *, environ: Mapping[str, str] | None = None
) -> LMSettings:
    """Settings from ``QD_LM_BASE_URL``, ``QD_LM_MODEL`` and ``QD_LM_API_KEY``.

    Args:
        defaults: Settings (e.g. from the config) that the variables override where set.
        environ: The environment to read; ``os.environ`` by default.

    Returns:
        The merged settings.
    """
    env = os.environ if environ is None else environ
    base = defaults or LMSettings()
    updates = {
        name: env[var]
        for name, var in (
            ("base_url", ENV_BASE_URL),
            ("model", ENV_MODEL),
            ("api_key", ENV_API_KEY),
        )
        if env.get(var)
    }
    return replace(base, **updates)


class LMError(Exception):
    """A request that failed for good (after retries), or whose reply was unusable.

    The batch APIs return it in the failed request's slot instead of raising.

    Attributes:
        message: What went wrong.
        kind: ``"timeout"``, ``"connection"``, ``"status"`` (an HTTP error),
            ``"malformed"`` (a reply without a usable choice) or ``"error"``.
        status_code: The HTTP status, for ``"status"``.
    """

    def __init__(self, message: str, *, kind: str = "error", status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status_code = status_code

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across process pools
        return (_make_error, (self.message, self.kind, self.status_code))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record for ``events.jsonl``."""
        return {"kind": self.kind, "status_code": self.status_code, "message": self.message}

    def __repr__(self) -> str:
        code = f", status_code={self.status_code}" if self.status_code is not None else ""
        return f"LMError({self.message!r}, kind={self.kind!r}{code})"


def _make_error(message: str, kind: str, status_code: int | None) -> LMError:
    return LMError(message, kind=kind, status_code=status_code)


@dataclass
class Completion:
    """One reply.

    Attributes:
        text: The generated text (the message content for chat).
        finish_reason: ``"stop"``, ``"length"``, ... as the server says.
        top_logprobs: Per generated token, a ``{token: logprob}`` dict of the most
            likely tokens, when logprobs were requested and the server gives them.
        tokens: The generated tokens, when logprobs were requested.
        token_logprobs: The logprob of each generated token, when requested.
        usage: ``prompt_tokens`` and ``completion_tokens`` as the server counts them.
        model: The model that answered.
        cached: Whether the reply came from the on-disk cache.
        latency_s: Seconds the request took (0 for a cache hit).
    """

    text: str
    finish_reason: str | None = None
    top_logprobs: list[dict[str, float]] | None = None
    tokens: list[str] | None = None
    token_logprobs: list[float] | None = None
    usage: dict[str, int] = field(default_factory=dict)
    model: str | None = None
    cached: bool = False
    latency_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what the cache stores)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Completion:
        """The inverse of :meth:`to_dict`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class Usage:
    """Running totals of LM use, safe to update from several threads.

    ``requests`` counts requests sent (a request the ``openai`` client retried counts
    once; failed ones count too, and also in ``errors``), ``cache_hits`` replies served
    from the cache without a request, ``latency_s`` the sum of request seconds.
    """

    _FIELDS = (
        "requests",
        "errors",
        "cache_hits",
        "prompt_tokens",
        "completion_tokens",
        "latency_s",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.errors = 0
        self.cache_hits = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.latency_s = 0.0

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

    def record_cache_hit(self) -> None:
        """Count one reply served from the cache (no request sent)."""
        with self._lock:
            self.cache_hits += 1

    def snapshot(self) -> dict[str, int | float]:
        """The totals, as a dict for ``metrics.jsonl``."""
        with self._lock:
            data = {name: getattr(self, name) for name in self._FIELDS}
        data["latency_s"] = round(float(data["latency_s"]), 6)
        return data

    def __repr__(self) -> str:
        return f"Usage({self.snapshot()})"


@dataclass
class _LoopState:
    client: Any  # openai.AsyncOpenAI, bound to one event loop
    semaphore: asyncio.Semaphore


def loopback_http_client(base_url: str | None) -> Any:
    """An httpx client that ignores proxy variables, for loopback servers; else None.

    A proxy from the environment must not swallow the embedded server's requests.
    """
    from openai import DefaultAsyncHttpxClient

    host = urlparse(base_url or "").hostname or ""
    if host in {"127.0.0.1", "localhost", "::1"}:
        return DefaultAsyncHttpxClient(trust_env=False)
    return None


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code, also from inside a running loop (a notebook).

    Inside a loop the coroutine runs on a fresh loop in a worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=worker, name="qd-lm", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _stochastic(sampling: Mapping[str, Any]) -> bool:
    temperature = sampling.get("temperature")
    return sampling.get("seed") is None and (temperature is None or temperature > 0)


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
    ):
        if not settings.base_url or not settings.model:
            raise ValueError(
                f"LM needs base_url and model, got {settings!r}: set {ENV_BASE_URL} and "
                f"{ENV_MODEL}, or use qd.lm.local_server() for the embedded model"
            )
        self.settings = settings
        self.cache = LMCache(cache) if isinstance(cache, str | Path) else cache
        self.seed = None if seed is None else int(seed)
        self.usage = Usage()
        self.embedder = embedder
        self._seen: Counter[str] = Counter()
        self._seen_lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )

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
                max_retries=self.settings.max_retries,
                http_client=loopback_http_client(self.settings.base_url),
            )
            state = _LoopState(client, asyncio.Semaphore(self.settings.max_concurrency))
            self._loops[loop] = state
        return state

    async def aclose(self) -> None:
        """Close the HTTP client of the running event loop."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.client.close()

    def _prepare(
        self, kind: str, payload: Any, sampling: Mapping[str, Any]
    ) -> tuple[Mapping[str, Any], str | None]:
        """One request's sampling (with its derived seed, if any) and its cache key.

        Call in request order: the k-th identical sampled request is told apart by k.
        """
        if self.cache is None and (self.seed is None or not _stochastic(sampling)):
            return sampling, None
        base = cache_key(model=self.settings.model, kind=kind, payload=payload, sampling=sampling)
        if not _stochastic(sampling):
            return sampling, base
        with self._seen_lock:
            occurrence = self._seen[base]
            self._seen[base] += 1
        if self.seed is not None:
            digest = hashlib.sha256(f"{self.seed}:{occurrence}:{base}".encode()).digest()
            sampling = {**sampling, "seed": int.from_bytes(digest[:4], "big") >> 1}
            occurrence = 0  # the seed now tells the occurrences apart
        if self.cache is None:
            return sampling, None
        return sampling, cache_key(
            model=self.settings.model,
            kind=kind,
            payload=payload,
            sampling=sampling,
            occurrence=occurrence,
        )

    @staticmethod
    def _check_sampling(sampling: Mapping[str, Any]) -> None:
        reserved = sorted(_RESERVED & set(sampling))
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} cannot be a sampling parameter: the client sets "
                "model, prompt and messages itself and does not stream"
            )
        if sampling.get("n", 1) != 1:
            raise ValueError("n must be 1: send the request several times (or vary seed)")

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
                return replace(Completion.from_dict(hit), cached=True, latency_s=0.0)
        state = self._state()
        async with state.semaphore:
            began = time.perf_counter()
            try:
                if kind == "chat":
                    reply = await state.client.chat.completions.create(
                        model=self.settings.model, messages=payload, **_chat_params(sampling)
                    )
                    completion = _parse_chat(reply)
                else:
                    reply = await state.client.completions.create(
                        model=self.settings.model, prompt=payload, **dict(sampling)
                    )
                    completion = _parse_completion(reply)
            except Exception as exc:
                self.usage.record(latency_s=time.perf_counter() - began, error=True)
                raise _as_lm_error(exc) from exc
            completion.latency_s = time.perf_counter() - began
        self.usage.record(
            latency_s=completion.latency_s,
            prompt_tokens=completion.usage.get("prompt_tokens", 0),
            completion_tokens=completion.usage.get("completion_tokens", 0),
        )
        if key is not None and self.cache is not None:
            self.cache.put(key, completion.to_dict())
        return completion

    async def _many(
        self, kind: str, payloads: Sequence[Any], sampling: Mapping[str, Any]
    ) -> list[Completion | LMError]:
        self._check_sampling(sampling)
        prepared = [self._prepare(kind, p, sampling) for p in payloads]  # in order

        async def one(
            payload: Any, own: Mapping[str, Any], key: str | None
        ) -> Completion | LMError:
            try:
                return await self._request(kind, payload, own, key)
            except LMError as exc:
                return exc
            except Exception as exc:  # a bug in parsing, a cache error: still one slot
                return LMError(f"{type(exc).__name__}: {exc}", kind="error")

        return list(
            await asyncio.gather(
                *(one(p, own, key) for p, (own, key) in zip(payloads, prepared, strict=True))
            )
        )

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
        """
        return self._run(lambda: self.acomplete_many(prompts, **sampling))

    def chat_many(
        self, conversations: Sequence[Sequence[Mapping[str, Any]]], **sampling: Any
    ) -> list[Completion | LMError]:
        """Chat completions for a batch of conversations; see :meth:`complete_many`."""
        return self._run(lambda: self.achat_many(conversations, **sampling))


# -- replies --------------------------------------------------------------------------


def _chat_params(sampling: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(sampling)
    top = params.get("logprobs")
    if isinstance(top, int) and not isinstance(top, bool):
        params["logprobs"] = top > 0
        if top > 0:
            params.setdefault("top_logprobs", top)
    return params


def _usage(reply: Any) -> dict[str, int]:
    usage = getattr(reply, "usage", None)
    if usage is None:
        return {}
    return {
        "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
        "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
    }


def _first_choice(reply: Any) -> Any:
    choices = getattr(reply, "choices", None)
    if not choices:
        raise LMError(f"the server sent a reply with no choices: {reply!r:.200}", kind="malformed")
    return choices[0]


def _finite(value: Any) -> float:
    value = float(value)
    return value if not math.isnan(value) else -math.inf


def _parse_completion(reply: Any) -> Completion:
    choice = _first_choice(reply)
    text = getattr(choice, "text", None)
    if not isinstance(text, str):
        raise LMError("the server sent a completion without text", kind="malformed")
    top = tokens = token_logprobs = None
    logprobs = getattr(choice, "logprobs", None)
    if logprobs is not None:
        if logprobs.top_logprobs is not None:
            top = [
                {str(t): _finite(lp) for t, lp in (entry or {}).items()}
                for entry in logprobs.top_logprobs
            ]
        tokens = list(logprobs.tokens) if logprobs.tokens is not None else None
        if logprobs.token_logprobs is not None:
            token_logprobs = [_finite(lp) for lp in logprobs.token_logprobs]
    return _completion(reply, choice, text, top, tokens, token_logprobs)


def _parse_chat(reply: Any) -> Completion:
    choice = _first_choice(reply)
    message = getattr(choice, "message", None)
    text = getattr(message, "content", None)
    if text is None:
        text = ""  # e.g. a refusal or a tool call: an empty answer, not a crash
    top = tokens = token_logprobs = None
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if content:
        tokens = [item.token for item in content]
        token_logprobs = [_finite(item.logprob) for item in content]
        top = [{t.token: _finite(t.logprob) for t in item.top_logprobs or []} for item in content]
    return _completion(reply, choice, text, top, tokens, token_logprobs)


def _completion(reply: Any, choice: Any, text: str, top, tokens, token_logprobs) -> Completion:
    """The fields both endpoints share, taken from the reply the same way."""
    return Completion(
        text=text,
        finish_reason=getattr(choice, "finish_reason", None),
        top_logprobs=top,
        tokens=tokens,
        token_logprobs=token_logprobs,
        usage=_usage(reply),
        model=getattr(reply, "model", None),
    )


def _as_lm_error(exc: Exception) -> LMError:
    if isinstance(exc, LMError):
        return exc
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return LMError(f"request timed out after retries: {exc}", kind="timeout")
    if isinstance(exc, openai.APIConnectionError):
        return LMError(f"cannot reach the LM server after retries: {exc}", kind="connection")
    if isinstance(exc, openai.APIStatusError):
        return LMError(
            f"the LM server answered HTTP {exc.status_code}: {exc.message}",
            kind="status",
            status_code=exc.status_code,
        )
    if isinstance(exc, openai.APIResponseValidationError | ValueError | TypeError):
        return LMError(f"unusable reply: {exc}", kind="malformed")
    return LMError(f"{type(exc).__name__}: {exc}", kind="error")
