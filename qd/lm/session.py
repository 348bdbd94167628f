"""A run's LM: the configured server, or the embedded one started for the run.

:func:`open_lm` is what a run (and ``check_domain``'s users) open: it builds the
:class:`~qd.lm.client.LM` with its cache, circuit breaker and event log, its
:class:`~qd.lm.embeddings.Embedder`, and, when no server is configured, the embedded
llama.cpp servers (:mod:`qd.lm.local`) with a supervisor that restarts them, all
stopped when the block ends.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qd.lm.cache import LMCache
from qd.lm.client import LM
from qd.lm.faults import CircuitBreaker, EventLog
from qd.lm.local import EMBEDDED_CONCURRENCY, LocalServer, embedding_server
from qd.lm.settings import LMSettings
from qd.lm.supervisor import ServerSupervisor

__all__ = ["open_lm"]

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def open_lm(
    settings: LMSettings | None = None,
    *,
    cache: LMCache | str | Path | None = None,
    seed: int | None = None,
    embedding: LMSettings | None = None,
    **server_kwargs: Any,
) -> Iterator[LM]:
    """The LM a run uses: the configured server, or else the embedded model for the run.

    Args:
        settings: From the config and env (see :func:`qd.lm.settings_from_env`). If it
            names no ``base_url``, a :class:`LocalServer` starts and is stopped when the
            ``with`` block ends, however it ends; its ``timeout``, ``max_retries`` and
            breaker settings still apply, and if it dies it is restarted up to
            ``max_server_restarts`` times (the embedded embedding server too). The LM
            and its embedder share one circuit breaker and one :class:`EventLog`
            (``lm.events``).
        cache: The reply cache (an :class:`LMCache` or a path), or None for none.
        seed: Seeds every sampled request that names no seed (see :class:`LM`).
        embedding: Where :meth:`LM.embed` goes (see
            :func:`qd.lm.embeddings.embedding_settings_from_env`); None: the embedded
            all-MiniLM-L6-v2, started on the first embedding request that misses the
            cache and stopped with the LM.
        **server_kwargs: For :class:`LocalServer` (``model``, ``n_threads``, ...).

    Yields:
        An :class:`LM`.

    Example::

        with open_lm(settings_from_env(), cache=run_dir / "lm-cache") as lm:
            replies = lm.complete_many(prompts, max_tokens=64)
            vectors = lm.embed([r.text for r in replies])
    """
    from qd.lm.embeddings import Embedder
    from qd.lm.minilm import EMBEDDING_MODEL_ALIAS

    settings = settings or LMSettings()
    if not settings.configured and settings.max_concurrency != EMBEDDED_CONCURRENCY:
        logger.info(
            "the embedded server takes %d requests at a time; lm.max_concurrency=%d "
            "applies to a configured server (lm.base_url)",
            EMBEDDED_CONCURRENCY,
            settings.max_concurrency,
        )
    cache = LMCache(cache) if isinstance(cache, str | Path) else cache
    events = EventLog()
    breaker = CircuitBreaker(settings.max_consecutive_failures, events=events)
    habits = {
        "timeout": settings.timeout,
        "max_retries": settings.max_retries,
        "max_consecutive_failures": settings.max_consecutive_failures,
        "max_server_restarts": settings.max_server_restarts,
    }
    with contextlib.ExitStack() as stack:
        if embedding is not None:
            embedder = Embedder(embedding, cache=cache, breaker=breaker)
        else:

            def start() -> LMSettings:
                server = stack.enter_context(embedding_server())
                embedder.supervisor = ServerSupervisor(
                    server,
                    max_restarts=settings.max_server_restarts,
                    events=events,
                    name="embeddings",
                )
                return server.settings(**habits)

            # llama-cpp-python 0.3.36 embeds a list slower than one text per request
            # (bench/embeddings.py: 18 texts/s one by one, 14 in batches of 8).
            embedder = Embedder(
                cache=cache,
                start=start,
                model=EMBEDDING_MODEL_ALIAS,
                batch_size=1,
                breaker=breaker,
            )
        if settings.configured:
            yield LM(
                settings, cache=cache, seed=seed, embedder=embedder, breaker=breaker, events=events
            )
            return
        server = stack.enter_context(LocalServer(**server_kwargs))
        supervisor = ServerSupervisor(
            server, max_restarts=settings.max_server_restarts, events=events
        )
        yield LM(
            server.settings(**habits),
            cache=cache,
            seed=seed,
            embedder=embedder,
            breaker=breaker,
            events=events,
            supervisor=supervisor,
        )
