"""``qd lm serve``: the embedded models as OpenAI-compatible servers, in the foreground.

The same :class:`~qd.lm.local.LocalServer` a run starts, with its output on this
terminal, on the ports asked for (bound first, so a taken port is an error before
anything is announced), until Ctrl-C.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from qd.lm.local import (
    LocalServer,
    _check_llama_cpp,
    embedding_server,
    require_free_port,
)

__all__ = ["serve"]

SERVE_STARTUP_TIMEOUT = 600.0
"""Seconds ``qd lm serve`` waits for a server to answer (a first start converts models)."""


def serve(
    *,
    model: str | Path | None = None,
    model_alias: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    n_threads: int | None = None,
    n_ctx: int = 2048,
    extra_args: Sequence[str] = (),
    echo: bool = True,
    embedding_port: int | None = None,
) -> int:
    """``qd lm serve``: run the server in the foreground until Ctrl-C.

    Its output goes to this terminal. Once it answers, prints the settings that point a
    run at it (``QD_LM_BASE_URL`` and ``QD_LM_MODEL``).

    Args:
        model, model_alias, host, port, n_threads, n_ctx, extra_args: As for
            :class:`~qd.lm.local.LocalServer`.
        echo: Print the settings line.
        embedding_port: Also serve the embedded all-MiniLM-L6-v2 on this port (started
            first, stopped last) and print ``QD_EMBED_BASE_URL`` / ``QD_EMBED_MODEL``;
            None serves completions only.

    Returns:
        The exit status for the CLI: 0 after Ctrl-C, else the server's own status.

    Raises:
        LocalServerError: llama-cpp-python or the model is missing, a port is taken,
            or a server exits before it answers.
    """
    _check_llama_cpp()
    require_free_port(host, port)  # bind first, announce after
    if embedding_port is not None:
        require_free_port(host, embedding_port, option="--embedding-port")
    try:
        with contextlib.ExitStack() as stack:
            if embedding_port is not None:
                embedder = stack.enter_context(
                    embedding_server(
                        host=host,
                        port=embedding_port,
                        n_threads=n_threads,
                        startup_timeout=SERVE_STARTUP_TIMEOUT,
                        output_to_terminal=True,
                    )
                )
                if echo:
                    print(
                        f"QD_EMBED_BASE_URL={embedder.base_url} "
                        f"QD_EMBED_MODEL={embedder.model_alias}",
                        flush=True,
                    )
            server = stack.enter_context(
                LocalServer(
                    model=model,
                    model_alias=model_alias,
                    host=host,
                    port=port,
                    n_threads=n_threads,
                    n_ctx=n_ctx,
                    extra_args=extra_args,
                    startup_timeout=SERVE_STARTUP_TIMEOUT,
                    output_to_terminal=True,
                )
            )
            if echo:
                print(
                    f"QD_LM_BASE_URL={server.base_url} QD_LM_MODEL={server.model_alias}  "
                    "(Ctrl-C stops it)",
                    flush=True,
                )
            assert server.process is not None
            return server.process.wait()
    except KeyboardInterrupt:
        return 0
