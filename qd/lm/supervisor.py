"""Bring the embedded server back when it dies during a run, a bounded number of times.

llama.cpp can die under a run (out of memory, a signal, a crash on an odd prompt). Without
help every later request fails with a connection error and the rest of the run is wasted.
:class:`ServerSupervisor` is asked by the client after a connection error: if the server's
process has exited, it starts it again (on the same port when it can), at most
``max_restarts`` times per run, and logs each restart, with the exit status and the
server's last output, to the run's ``events.jsonl``. A server that is running but does
not answer is not restarted: that is a timeout, and the circuit breaker's business.

The new process is started from one long-lived thread of the supervisor's own: on Linux
the server is told to die with the thread that started it (``PR_SET_PDEATHSIG``, so a
killed run leaves no orphan), and the client asks from short-lived worker threads.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from qd.lm.faults import EventLog

__all__ = ["ServerSupervisor"]


class _Server(Protocol):
    """What the supervisor needs of a server (``qd.lm.LocalServer`` has it)."""

    @property
    def running(self) -> bool: ...

    @property
    def base_url(self) -> str: ...

    def restart(self) -> Any: ...

    def exit_status(self) -> int | None: ...

    def log_tail(self, lines: int = 20) -> str: ...


class ServerSupervisor:
    """Restarts a dead server, at most ``max_restarts`` times, one thread at a time.

    Args:
        server: The embedded server (a :class:`qd.lm.LocalServer`).
        max_restarts: Restarts allowed (``lm.max_server_restarts``).
        events: Where restarts (and giving up) are reported.
        name: What the events call the server (``"completions"``, ``"embeddings"``).

    Attributes:
        generation: Bumped on every restart. A request notes it before sending, so that
            of many requests that failed on the same death only the first restarts.
        restarts: Restarts done.
    """

    def __init__(
        self,
        server: _Server,
        *,
        max_restarts: int,
        events: EventLog | None = None,
        name: str = "completions",
    ) -> None:
        self.server = server
        self.max_restarts = int(max_restarts)
        self.events = events or EventLog()
        self.name = name
        self.generation = 0
        self.restarts = 0
        self._gave_up = False
        self._lock = threading.Lock()
        self._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qd-lm-server")

    def revive(self, seen_generation: int) -> float | None:
        """After a connection error: restart the server if it died.

        Args:
            seen_generation: :attr:`generation` when the failed request was sent.

        Returns:
            Seconds spent restarting (0 when another request already did), so the
            caller can try again at once; None when the server is alive (the error is
            something else) or no restart is left.
        """
        with self._lock:
            if self.generation != seen_generation:
                return 0.0
            if self.server.running:
                return None
            status = self.server.exit_status()
            tail = self.server.log_tail(10)
            if self.restarts >= self.max_restarts:
                if not self._gave_up:
                    self._gave_up = True
                    self.events.emit(
                        {
                            "event": "lm_server_not_restarted",
                            "server": self.name,
                            "exit_status": status,
                            "reason": f"the embedded {self.name} server died again after "
                            f"{self.restarts} restart(s) (lm.max_server_restarts = "
                            f"{self.max_restarts})",
                            "log_tail": tail[-1000:],
                        }
                    )
                return None
            self.restarts += 1
            began = time.monotonic()
            try:
                self._launcher.submit(self.server.restart).result()
            except Exception as error:  # it would not start: say why, and stop trying
                self.restarts = self.max_restarts
                self._gave_up = True
                self.events.emit(
                    {
                        "event": "lm_server_restart_failed",
                        "server": self.name,
                        "restart": self.restarts,
                        "exit_status": status,
                        "reason": f"{type(error).__name__}: {error}"[:1000],
                    }
                )
                return None
            seconds = time.monotonic() - began
            self.generation += 1
            self.events.emit(
                {
                    "event": "lm_server_restarted",
                    "server": self.name,
                    "restart": self.restarts,
                    "max_restarts": self.max_restarts,
                    "exit_status": status,
                    "seconds": round(seconds, 3),
                    "base_url": self.server.base_url,
                    "log_tail": tail[-1000:],
                }
            )
            return seconds
