"""An on-disk cache of LM replies, so that rerunning a config costs no LM calls.

One SQLite file (``runs/<name>/lm-cache`` by convention) maps a key to the reply as
JSON. The key is a SHA-256 over the model name, the kind of request (text completion or
chat), the prompt or messages, every sampling parameter and the seed, so a change to any
of them is a miss.

Sampled requests without a seed would all share one key and so one reply; the client
adds an ``occurrence`` number to tell apart the first, second, ... identical request of a
run, which a rerun then replays in the same order (see :class:`qd.lm.LM`).

Each thread gets its own connection; the file is in WAL mode with a generous busy
timeout, which is safe for the threads and processes of one run.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["LMCache", "cache_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def cache_key(
    *,
    model: str,
    kind: str,
    payload: Any,
    sampling: Mapping[str, Any],
    occurrence: int = 0,
) -> str:
    """The cache key of one request.

    Args:
        model: The model name sent to the server.
        kind: ``"completion"`` or ``"chat"``.
        payload: The prompt (a string) or the chat messages (a list of dicts).
        sampling: Every other request parameter (max_tokens, temperature, seed, stop,
            logprobs, ...). Keys are sorted, so their order does not matter.
        occurrence: Which identical request of a run this is (0 for the first).

    Returns:
        A hex SHA-256 digest.
    """
    blob = json.dumps(
        {
            "model": model,
            "kind": kind,
            "payload": payload,
            "sampling": dict(sampling),
            "occurrence": occurrence,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=repr,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class LMCache:
    """A key -> JSON reply store in one SQLite file.

    Args:
        path: The database file; its parent folder is created.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connect()  # fail here, not on the first request, if the path is unusable

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._local.conn = conn
        return conn

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored reply for ``key``, or None."""
        row = self._connect().execute("SELECT value FROM replies WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        """Store ``value`` (JSON-able) under ``key``, replacing any older value."""
        self._connect().execute(
            "INSERT OR REPLACE INTO replies (key, value, created) VALUES (?, ?, ?)",
            (key, json.dumps(dict(value), ensure_ascii=False), time.time()),
        )

    def __len__(self) -> int:
        return int(self._connect().execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __repr__(self) -> str:
        return f"LMCache({str(self.path)!r})"
