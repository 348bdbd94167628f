"""``qd view RUN``: the explorer page served live on 127.0.0.1, refreshing while the run
writes, and never writing to the run directory.

A standard-library HTTP server (no framework, no debug mode, no tracebacks sent) bound
to the loopback address only, answering three paths: ``/`` (the page, its data
embedded), ``/version`` (a few characters naming the state of the run's files) and
``/data.json`` (the page's data). The page asks for ``/version`` every 2 s and fetches
the data only when it changed, so an idle run costs a ``stat`` of its files per poll.
The version is the names, sizes and modification times of the run directory's files:
polling them needs no watcher thread and no file of ours in the run. The data is
gathered again (:func:`qd.viz.explorer.load_run_data`, which only reads) when the version
changed since it was last gathered. Requests whose ``Host`` is not the loopback address
are refused, so a web page elsewhere cannot read the run through DNS rebinding.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from qd.runs.checkpoints import CheckpointError
from qd.runs.directory import RunDirectory, RunError
from qd.viz._explorer_data import embed_json
from qd.viz._explorer_page import page_data, page_html
from qd.viz.explorer import FIGURES, load_run_data

__all__ = ["LiveRun", "make_server", "serve_run"]

HOST = "127.0.0.1"


class LiveRun:
    """A run directory's page data, gathered again when its files change (read-only).

    Args:
        run_path: The run directory.
        figures: How many of the best elites get their rendered Figure embedded.

    Raises:
        RunError: Not a run directory (no ``config.toml``).
    """

    def __init__(self, run_path: str | Path, *, figures: int = FIGURES) -> None:
        self.run = RunDirectory(run_path)
        self.run.load_config()  # "not a run directory" now, not at the first request
        self.figures = figures
        self._lock = threading.Lock()
        self._version: str | None = None
        self._title = ""
        self._runs: list[dict[str, Any]] = []

    def version(self) -> str:
        """A short hash of the run directory's file names, sizes and mtimes."""
        entries = []
        for path in sorted(self.run.path.iterdir()):
            try:
                info = path.stat()
            except OSError:  # removed between the listing and the stat (a rename)
                continue
            entries.append(f"{path.name}:{info.st_size}:{info.st_mtime_ns}")
        return hashlib.sha256("\n".join(entries).encode()).hexdigest()[:16]

    def data(self) -> tuple[str, str, list[dict[str, Any]]]:
        """The version, title and runs' data, gathered again if the files changed."""
        with self._lock:
            version = self.version()
            if version != self._version:
                try:
                    self._title, run = load_run_data(self.run.path, figures=self.figures)
                    self._runs = [run]
                except (RunError, CheckpointError) as error:
                    if not self._runs:  # nothing to show yet: say why, keep polling
                        self._title = f"{self.run.path.name}: {error}"
                self._version = version
            return self._version, self._title, self._runs

    def page(self) -> str:
        version, title, runs = self.data()
        return page_html(title, runs, live=version)

    def data_json(self) -> str:
        version, title, runs = self.data()
        return embed_json(page_data(title, runs, live=version))


def make_server(live: LiveRun, port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server of ``live``'s page on 127.0.0.1 (``port`` 0: a free one).

    Raises:
        OSError: The port is taken (or not ours to bind).
    """

    class Handler(BaseHTTPRequestHandler):
        server_version = "qd-view"
        sys_version = ""

        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            if host not in (HOST, "localhost"):
                self._send(403, "text/plain", "qd view answers on 127.0.0.1 only\n")
                return
            path = self.path.split("?", 1)[0]
            try:
                if path in ("/", "/index.html"):
                    self._send(200, "text/html; charset=utf-8", live.page())
                elif path == "/version":
                    self._send(200, "text/plain", live.version())
                elif path == "/data.json":
                    self._send(200, "application/json", live.data_json())
                else:
                    self._send(404, "text/plain", "not found\n")
            except Exception as error:  # one bad read must not stop the server
                print(f"qd view: {path}: {type(error).__name__}: {error}", file=sys.stderr)
                self._send(500, "text/plain", "could not read the run; see the terminal\n")

        def _send(self, status: int, kind: str, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a request log every 2 s would bury the terminal

    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    return server


def serve_run(
    run_path: str | Path,
    *,
    port: int = 0,
    figures: int = FIGURES,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve a run's page until Ctrl-C, which stops it cleanly (returns normally).

    Args:
        run_path: The run directory; it is only read.
        port: The port on 127.0.0.1; 0 picks a free one (announced).
        figures: How many of the best elites get their rendered Figure embedded.
        announce: Told the page's URL once the server listens, and when it stops.

    Raises:
        RunError: Not a run directory.
        OSError: The port is taken.
    """
    live = LiveRun(run_path, figures=figures)
    server = make_server(live, port)
    announce(
        f"serving {live.run.path} at http://{HOST}:{server.server_address[1]}/ (Ctrl-C stops it)"
    )
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        announce("stopped")
    finally:
        server.server_close()
