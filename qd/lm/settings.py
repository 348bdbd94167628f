"""Where the LM is and how hard to push it: :class:`LMSettings` and the environment.

Settings come from an experiment's ``[lm]`` table, overridden by ``QD_LM_BASE_URL``,
``QD_LM_MODEL`` and ``QD_LM_API_KEY`` (:func:`settings_from_env`). API keys are never
written anywhere: ``repr(settings)`` masks the key and :meth:`LMSettings.to_dict` (what
a run directory gets) leaves it out.

:class:`LMOptions` is the one schema of these settings (pydantic, field constraints):
an experiment's ``[lm]`` table (``qd.runs.config.LMConfig``) extends it with how a run uses
the LM, and :class:`LMSettings` extends it with the API key, so the fields and their
defaults are written once and a config and code that builds settings directly accept
and refuse the same values with the same messages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qd.schema import explain

__all__ = [
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_MODEL",
    "NO_KEY",
    "LMOptions",
    "LMSettings",
    "settings_from_env",
]

ENV_BASE_URL = "QD_LM_BASE_URL"
ENV_MODEL = "QD_LM_MODEL"
ENV_API_KEY = "QD_LM_API_KEY"
NO_KEY = "EMPTY"  # what vLLM and llama.cpp accept when they check no key


def _mask(key: str | None) -> str | None:
    if key is None:
        return None
    if len(key) < 16:
        return "***"
    return f"{key[:3]}...{key[-4:]}"


class LMOptions(BaseModel):
    """The LM settings' schema: types, bounds and the hint a refusal gives.

    ``qd.runs.config.LMConfig`` (an experiment's ``[lm]`` table) extends it; :class:`LMSettings`
    checks itself against it.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    base_url: str | None = Field(
        None, description="an OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1"
    )
    model: str | None = Field(None, description="the model name the server expects")
    max_concurrency: int = Field(8, ge=1, le=4096, description="requests in flight at once, e.g. 8")
    timeout: float = Field(
        120.0,
        gt=0,
        allow_inf_nan=False,
        description="seconds one request may take in all, retries included, e.g. 120",
    )
    max_retries: int = Field(
        4, ge=0, le=100, description="retries after the first attempt; 0 for none"
    )
    max_consecutive_failures: int = Field(
        20, ge=1, description="failed requests in a row before the run stops, e.g. 20"
    )
    max_server_restarts: int = Field(
        3, ge=0, description="restarts of the embedded server per run; 0 for none"
    )

    @field_validator("base_url")
    @classmethod
    def _an_http_url(cls, value: str | None) -> str | None:
        if value:
            parts = urlparse(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(
                    f"expected an http(s) URL such as http://127.0.0.1:8000/v1, got {value!r}"
                )
        return value


class LMSettings(LMOptions):
    """Where the LM is and how hard to push it: :class:`LMOptions` plus the API key.

    One type, validated once: every field's type, bound and default is
    :class:`LMOptions`'s (so a config's ``[lm]`` table and code that builds settings
    accept and refuse the same values), and the object is frozen.

    Args:
        base_url: An OpenAI-compatible base URL (``https://api.openai.com/v1``,
            ``http://host:8000/v1`` for vLLM). None means "start the embedded model".
        model: The model name the server expects.
        api_key: The key; never written to run directories or logs (left out of
            :meth:`to_dict` and masked in ``repr``). None: ``EMPTY`` for self-hosted
            servers, ``OPENAI_API_KEY`` for api.openai.com.
        max_concurrency: Requests in flight at once. The embedded server serves two at a
            time whatever this says (more only queue there); a configured server gets it.
        timeout: Seconds one request may take in all, from its first byte sent to its
            last byte read, retries and their waits included: a server that hangs or
            sends one byte a second costs at most this much per request. Time spent
            queueing for a free slot (``max_concurrency``) or restarting the embedded
            server does not count.
        max_retries: Retries after the first attempt, with exponential backoff and
            jitter (or the server's ``Retry-After``), on timeouts, connection errors,
            408/409/429, 5xx and replies that are not the JSON asked for; never past
            ``timeout``.
        max_consecutive_failures: The circuit breaker: after this many requests in a
            row fail for good, the LM raises :class:`~qd.lm.LMUnavailableError` and a
            run stops, checkpointed, to be resumed once the server is back.
        max_server_restarts: How often the embedded server is restarted when it dies
            during a run (each restart is logged); a configured server is never touched.

    Raises:
        ValueError: The first bad field, named (``timeout: must be > 0, got -1 (...)``).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    api_key: str | None = Field(None, exclude=True, repr=False)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise ValueError(explain(error, LMSettings)) from None

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

    def replace(self, **changes: Any) -> LMSettings:
        """A copy with ``changes``, validated as a new object is.

        Raises:
            ValueError: A bad or unknown field, named.
        """
        return LMSettings(**{**self._fields(), **changes})

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in type(self).model_fields}

    def to_dict(self) -> dict[str, Any]:
        """The settings for ``config.toml`` and logs: everything but the API key."""
        return self.model_dump(exclude_none=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LMSettings:
        """Settings from a config table (e.g. ``[lm]``).

        Raises:
            ValueError: An unknown key (named, with the known ones) or a bad value.
        """
        known = set(cls.model_fields)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown LM setting(s) {', '.join(unknown)}: use {', '.join(sorted(known))}"
            )
        return cls(**dict(data))

    def __repr__(self) -> str:
        parts = [
            f"{name}={_mask(value) if name == 'api_key' else value!r}"
            for name, value in self._fields().items()
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
    updates: dict[str, Any] = {
        name: env[var]
        for name, var in (
            ("base_url", ENV_BASE_URL),
            ("model", ENV_MODEL),
            ("api_key", ENV_API_KEY),
        )
        if env.get(var)
    }
    return base.replace(**updates)
