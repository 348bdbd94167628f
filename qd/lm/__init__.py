"""Language models: one OpenAI-compatible client, an on-disk cache, the embedded model.

- :class:`LM` (``qd.lm.client``): text and chat completions against any
  OpenAI-compatible server (OpenAI, vLLM, llama.cpp), bounded concurrency, retries,
  a cache and usage totals; ``complete_many`` is the engine's sync batch API.
- :class:`LMSettings` / :func:`settings_from_env` (``qd.lm.settings``): where the server is
  (``QD_LM_BASE_URL``, ``QD_LM_MODEL``, ``QD_LM_API_KEY``).
- :func:`open_lm` (``qd.lm.session``): the LM of a run: the configured server, or the
  embedded model started for the run and stopped after it.
- :class:`LocalServer` / :func:`local_server` (``qd.lm.local``): the embedded default,
  SmolLM2-135M served by llama.cpp on a loopback port, stopped on every exit path;
  :func:`serve` (``qd.lm.serve``) runs it in the foreground for ``qd lm serve``.
- :class:`Embedder` (``qd.lm.embeddings``): ``/v1/embeddings`` with the same cache,
  retries and usage; ``LM.embed`` delegates to it. The embedded default is
  all-MiniLM-L6-v2 (:func:`embedding_server`), started on first use.
- :class:`LMCache` (``qd.lm.cache``): the SQLite reply cache.
- Faults (``qd.lm.errors``, ``qd.lm.faults``, ``qd.lm.supervisor``): :class:`LMError`
  names a failed request's real cause, :class:`FailedChild` is an operator's child that
  could not be made, :class:`LMUnavailableError` is the open circuit breaker that stops a
  run, :class:`EventLog` what a run writes to ``events.jsonl``; a dead embedded server
  is restarted a bounded number of times.
"""

from qd.lm.cache import LMCache, cache_key
from qd.lm.client import LM
from qd.lm.embeddings import Embedder, embedding_settings_from_env
from qd.lm.errors import FailedChild, LMError, LMUnavailableError, lm_error_info
from qd.lm.faults import CircuitBreaker, EventLog
from qd.lm.feedback import AIFeedback, FeedbackError, label_distribution
from qd.lm.lmx import LMXVariation, build_prompt
from qd.lm.local import (
    LocalServer,
    LocalServerError,
    default_model_path,
    embedding_server,
    local_server,
)
from qd.lm.replies import Completion
from qd.lm.serve import serve
from qd.lm.session import open_lm
from qd.lm.settings import LMSettings, settings_from_env
from qd.lm.usage import Usage

__all__ = [
    "LM",
    "AIFeedback",
    "CircuitBreaker",
    "Completion",
    "Embedder",
    "EventLog",
    "FailedChild",
    "FeedbackError",
    "LMCache",
    "LMError",
    "LMSettings",
    "LMUnavailableError",
    "LMXVariation",
    "LocalServer",
    "LocalServerError",
    "Usage",
    "build_prompt",
    "cache_key",
    "default_model_path",
    "embedding_server",
    "embedding_settings_from_env",
    "label_distribution",
    "lm_error_info",
    "local_server",
    "open_lm",
    "serve",
    "settings_from_env",
]
