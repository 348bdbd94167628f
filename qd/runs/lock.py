"""One live process per run directory: an OS lock on ``<run>/lock``.

Two processes in one run directory corrupt it: ``qd run --force`` deletes files under
a live run, and two ``qd resume`` append the same iterations to the logs. The owner
holds ``fcntl.flock`` on ``<run>/lock`` for the life of the run, and writes its pid and
host there so the refusal can name it. The OS drops the lock when the owner dies, even
on ``SIGKILL``, so a lock file left by a dead process is never an obstacle (its
contents are only a label). The file itself stays: deleting it would let a waiter that
opened the old file and a newcomer that made a new one both believe they hold it.

Within one process the lock is re-entrant (``qd run`` holds it across creating the
directory and running it, and both steps take it themselves).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["LOCK_NAME", "RunLockedError", "hold_run_lock"]

LOCK_NAME = "lock"

_held: dict[str, list[int]] = {}  # resolved lock path -> [fd, depth] held by this process
_guard = threading.Lock()


class RunLockedError(RuntimeError):
    """Another live process owns the run directory; the message names it."""

    def __init__(self, message: str, *, owner: dict | None = None) -> None:
        super().__init__(message)
        self.owner = owner or {}


@contextmanager
def hold_run_lock(directory: str | Path) -> Iterator[None]:
    """Own ``directory`` (made if missing) until the block ends.

    Args:
        directory: The run directory.

    Raises:
        RunLockedError: Another process holds it.
    """
    path = Path(directory) / LOCK_NAME
    key = str(path.resolve())
    with _guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
        else:
            _held[key] = [_acquire(path), 1]
    try:
        yield
    finally:
        with _guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                os.close(entry[0])  # closing the descriptor releases the flock


def _acquire(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        owner = _read_owner(path)
        who = f"process {owner.get('pid', '?')} on {owner.get('host', '?')}"
        raise RunLockedError(
            f"run directory {path.parent} is in use by {who}; wait for it to finish or "
            f"stop it (Ctrl-C checkpoints it), then try again",
            owner=owner,
        ) from None
    label = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(label) + "\n").encode(), 0)
    return fd


def _read_owner(path: Path) -> dict:
    """The owner's label; empty if it is being written at this very moment."""
    try:
        owner = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}
