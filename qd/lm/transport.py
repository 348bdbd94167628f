"""Plumbing shared by the completion client and the embedder: HTTP clients, event loops.

Both :class:`qd.lm.LM` and :class:`qd.lm.Embedder` talk to OpenAI-compatible servers
through ``openai``'s async client and are called from sync engine code, sometimes from
inside a running loop (a notebook). The two helpers here are that common ground, kept
out of the client so the embedder does not depend on it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlparse

__all__ = ["loopback_http_client", "run_sync"]

T = TypeVar("T")


def loopback_http_client(base_url: str | None) -> Any:
    """An httpx client that ignores proxy variables, for loopback servers; else None.

    A proxy from the environment must not swallow the embedded server's requests.
    """
    from openai import DefaultAsyncHttpxClient

    host = urlparse(base_url or "").hostname or ""
    if host in {"127.0.0.1", "localhost", "::1"}:
        return DefaultAsyncHttpxClient(trust_env=False)
    return None


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
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
