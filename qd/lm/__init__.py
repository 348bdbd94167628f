"""Language models: one OpenAI-compatible client, an on-disk cache, the embedded model.

- :class:`LM` (``qd.lm.client``): text and chat completions against any
  OpenAI-compatible server (OpenAI, vLLM, llama.cpp), bounded concurrency, retries,
  a cache and usage totals; ``complete_many`` is the engine's sync batch API.
- :class:`LMSettings` / :func:`settings_from_env`: where the server is
  (``QD_LM_BASE_URL``, ``QD_LM_MODEL``, ``QD_LM_API_KEY``).
- :func:`open_lm`: the LM of a run: the configured server, or the embedded model
  started for the run and stopped after it.
- :class:`LocalServer` / :func:`local_server` (``qd.lm.local``): the embedded default,
  SmolLM2-135M served by llama.cpp on a loopback port, stopped on every exit path;
  :func:`serve` runs it in the foreground for ``qd lm serve``.
- :class:`LMCache` (``qd.lm.cache``): the SQLite reply cache.
"""

from qd.lm.cache import LMCache, cache_key
from qd.lm.client import LM, Completion, LMError, LMSettings, Usage, settings_from_env
from qd.lm.feedback import AIFeedback, FeedbackError, label_distribution
from qd.lm.lmx import LMXVariation, build_prompt
from qd.lm.local import (
    LocalServer,
    LocalServerError,
    default_model_path,
    local_server,
    open_lm,
    serve,
)

__all__ = [
    "LM",
    "AIFeedback",
    "Completion",
    "FeedbackError",
    "LMCache",
    "LMError",
    "LMSettings",
    "LMXVariation",
    "LocalServer",
    "LocalServerError",
    "Usage",
    "build_prompt",
    "cache_key",
    "default_model_path",
    "label_distribution",
    "local_server",
    "open_lm",
    "serve",
    "settings_from_env",
]
