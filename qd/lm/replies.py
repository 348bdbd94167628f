"""Replies: the :class:`Completion` a request gives, and the :class:`LMError` it may give.

Parsing is strict about shape and lenient about content: a reply without a choice, or a
body that is not JSON, is an :class:`LMError` of kind ``malformed`` that quotes the first
bytes the server sent; a chat reply whose content is null (a refusal, a tool call) is an
empty text, not an error. :func:`as_lm_error` maps whatever the transport raised to an
:class:`LMError` that names the real cause.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from qd.lm.errors import BODY_HEAD, LMError

__all__ = [
    "Completion",
    "as_lm_error",
    "body_head",
    "chat_params",
    "parse_chat",
    "parse_completion",
]


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
        key: The request's key in the reply cache (:func:`qd.lm.cache.cache_key`), or
            None when the LM has no cache. Operators record it in the run's lineage, so
            the reply a child came from can be looked up. Not stored in the cache.
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
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what the cache stores; the key is the cache's own)."""
        data = asdict(self)
        del data["key"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Completion:
        """The inverse of :meth:`to_dict`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def chat_params(sampling: Mapping[str, Any]) -> dict[str, Any]:
    """Chat request parameters: ``logprobs=k`` becomes ``logprobs=True, top_logprobs=k``."""
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


def _first_choice(reply: Any, body: str | None) -> Any:
    choices = getattr(reply, "choices", None)
    if not choices:
        shown = body if body is not None else repr(reply)
        raise LMError(
            f"the LM server sent a reply with no choices: {shown[:BODY_HEAD]}",
            kind="malformed",
            body=body,
        )
    return choices[0]


def _finite(value: Any) -> float:
    value = float(value)
    return value if not math.isnan(value) else -math.inf


def parse_completion(reply: Any, body: str | None = None) -> Completion:
    """A ``/v1/completions`` reply as a :class:`Completion`.

    Args:
        reply: The ``openai`` object (or whatever the server's body parsed to).
        body: The raw body, quoted by the error when the reply is unusable.

    Raises:
        LMError: ``malformed``: no choice, or a choice without text.
    """
    choice = _first_choice(reply, body)
    text = getattr(choice, "text", None)
    if not isinstance(text, str):
        raise LMError("the LM server sent a completion without text", kind="malformed", body=body)
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


def parse_chat(reply: Any, body: str | None = None) -> Completion:
    """A ``/v1/chat/completions`` reply as a :class:`Completion`.

    Raises:
        LMError: ``malformed``: no choice.
    """
    choice = _first_choice(reply, body)
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


def _response_text(response: Any) -> str | None:
    try:
        return str(response.text)[:BODY_HEAD]
    except Exception:  # a body that cannot be read or decoded: say nothing about it
        return None


def as_lm_error(exc: BaseException, *, body: str | None = None) -> LMError:
    """The :class:`LMError` for what a request raised, with its real cause.

    Args:
        exc: The exception (``openai``'s, a JSON decoding error, ...).
        body: The reply's first bytes, when the reply arrived but could not be used.
    """
    if isinstance(exc, LMError):
        return exc
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return LMError(
            f"the LM server did not answer in time: {exc}",
            kind="timeout",
            exception=type(exc.__cause__ or exc).__name__,
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return LMError(
            f"cannot reach the LM server ({type(cause).__name__}: {cause})",
            kind="connection",
            exception=type(cause).__name__,
        )
    if isinstance(exc, openai.APIStatusError):
        text = _response_text(exc.response)
        shown = text if text else exc.message
        return LMError(
            f"the LM server answered HTTP {exc.status_code}: {shown}",
            kind="status",
            status_code=exc.status_code,
            exception=type(exc).__name__,
            body=text,
        )
    if isinstance(exc, openai.APIResponseValidationError | ValueError | TypeError):
        began = f"; it began: {body[:80]!r}" if body else ""
        return LMError(
            f"the LM server sent a reply that is not the JSON asked for "
            f"({type(exc).__name__}: {exc}){began}",
            kind="malformed",
            exception=type(exc).__name__,
            body=body,
        )
    return LMError(f"{type(exc).__name__}: {exc}", kind="error", exception=type(exc).__name__)


def body_head(response: Any) -> str | None:
    """The first characters of a reply's body, for errors that quote it."""
    try:
        return response.content[: BODY_HEAD * 4].decode("utf-8", "replace")[:BODY_HEAD]
    except Exception:  # no body to quote
        return None
