"""A loopback OpenAI-compatible server that fails on purpose, at a set rate, and counts.

It answers ``/v1/completions``, ``/v1/chat/completions``, ``/v1/embeddings`` and
``/v1/models`` like a tiny model would (a distinct text per prompt, yes/no logprobs,
unit embeddings), except that each request may instead get one fault:

========== ===================================================== =====================
fault      what the server does                                  what the client sees
========== ===================================================== =====================
http_500   HTTP 500 with a JSON error body                       ``http_500``
http_429   HTTP 429 with ``Retry-After`` (0.05 s by default)     ``http_429``
hang       reads the request and never answers                   ``timeout``
drip       declares the whole body, then sends a byte at a time  ``timeout``
truncated  HTTP 200 whose JSON body is cut in half               ``malformed``
garbage    HTTP 200, ``application/json``, an HTML error page    ``malformed``
shape      HTTP 200, valid JSON without ``choices``/``data``     ``malformed``
killed     declares the body, sends part of it, drops the socket ``connection``
========== ===================================================== =====================

Faults come from a fixed ``plan`` (cycled, one entry per request in arrival order) or
from a seeded generator at ``rate``. ``served`` counts what each request got;
``cut_off`` counts hangs and drips that the client abandoned before the server finished,
which is how a test proves ``lm.timeout`` capped them without timing anything.

Run as a script it serves until killed (the embedded-server restart test kills it)::

    python tests/lm/fault_server.py --port 8123 --rate 0.3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import select
import socket
import threading
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("http_500", "http_429", "hang", "drip", "truncated", "garbage", "shape", "killed")
CLIENT_LABEL = {
    "http_500": "http_500",
    "http_429": "http_429",
    "hang": "timeout",
    "drip": "timeout",
    "truncated": "malformed",
    "garbage": "malformed",
    "shape": "malformed",
    "killed": "connection",
}
"""How the client counts each fault (``Usage.faults`` keys)."""


class FaultServer:
    """The server, on a free loopback port, in a daemon thread.

    Args:
        plan: Faults (or ``"ok"``) in arrival order, cycled; overrides ``rate``.
        rate: The share of requests that get a fault, drawn from ``faults``.
        faults: The faults ``rate`` draws from.
        seed: Seeds the draws.
        port: 0 for a free one.
        retry_after: Seconds the 429 asks the client to wait.
        drip_interval: Seconds between the bytes of a drip.
        model: The model name it reports.
    """

    def __init__(
        self,
        *,
        plan: Sequence[str] | None = None,
        rate: float = 0.0,
        faults: Sequence[str] = FAULTS,
        seed: int = 0,
        port: int = 0,
        retry_after: float = 0.05,
        drip_interval: float = 0.05,
        model: str = "fault-model",
    ) -> None:
        unknown = sorted(set(plan or ()) - {*FAULTS, "ok"}) + sorted(set(faults) - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown faults {unknown}; use {FAULTS} or 'ok'")
        self.plan = list(plan) if plan else None
        self.rate = rate
        self.faults = tuple(faults)
        self.retry_after = retry_after
        self.drip_interval = drip_interval
        self.model = model
        self.served: Counter[str] = Counter()
        self.cut_off: Counter[str] = Counter()
        self.requests = 0
        self.paths: Counter[str] = Counter()
        self.prompts: dict[str, Any] = {}
        """The prompt (or messages) of each text the server wrote, by that text."""
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fault_server = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(  # a short poll: stop() returns at once
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # releases hanging handlers
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_fault(self) -> str:
        """The fault (or ``"ok"``) of the next request, in arrival order."""
        with self._lock:
            index = self.requests
            self.requests += 1
            if self.plan is not None:
                fault = self.plan[index % len(self.plan)]
            elif self._rng.random() < self.rate:
                fault = self._rng.choice(self.faults)
            else:
                fault = "ok"
            self.served[fault] += 1
            return fault

    def faults_served(self) -> Counter[str]:
        """Served faults by the client's label (``Usage.faults`` keys), without ``ok``."""
        with self._lock:
            out: Counter[str] = Counter()
            for fault, n in self.served.items():
                if fault != "ok":
                    out[CLIENT_LABEL[fault]] += n
            return out


def _reply(path: str, request: dict[str, Any], model: str) -> dict[str, Any]:
    """What a healthy tiny model answers."""
    if path.endswith("/embeddings"):
        texts = request.get("input") or []
        texts = [texts] if isinstance(texts, str) else texts
        data = []
        for i, text in enumerate(texts):
            digest = hashlib.sha256(str(text).encode()).digest()
            vector = [b / 255 + 0.01 for b in digest[:8]]
            data.append({"object": "embedding", "index": i, "embedding": vector})
        return {"object": "list", "model": model, "data": data, "usage": {"prompt_tokens": 1}}
    payload = request.get("prompt", request.get("messages"))
    digest = hashlib.sha256(json.dumps([payload, request.get("seed")]).encode()).hexdigest()
    text = f" a story {digest[:12]} about a spy"
    usage = {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
    if path.endswith("/chat/completions"):
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }
        return {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [choice],
            "usage": usage,
        }
    choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
    if request.get("logprobs"):
        choice["logprobs"] = {
            "tokens": [" yes"],
            "token_logprobs": [-0.4],
            "top_logprobs": [{" yes": -0.4, " no": -1.1}],
            "text_offset": [0],
        }
    return {
        "id": "x",
        "object": "text_completion",
        "created": 0,
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


class _Handler(BaseHTTPRequestHandler):
    server_version = "FaultServer/1"

    @property
    def owner(self) -> FaultServer:
        return self.server.fault_server  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": self.owner.model}]}).encode()
        self._send(200, body)

    def do_POST(self) -> None:
        owner = self.owner
        length = int(self.headers.get("content-length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            request = {}
        with owner._lock:
            owner.paths[self.path] += 1
        fault = owner.next_fault()
        reply = _reply(self.path, request, owner.model)
        body = json.dumps(reply).encode()
        for choice in reply.get("choices", ()):
            text = choice.get("text", (choice.get("message") or {}).get("content"))
            with owner._lock:
                owner.prompts[text] = request.get("prompt", request.get("messages"))
        if fault == "ok":
            self._send(200, body)
        elif fault == "http_500":
            self._send(500, b'{"error": {"message": "injected failure", "type": "server_error"}}')
        elif fault == "http_429":
            self._send(
                429,
                b'{"error": {"message": "slow down", "type": "rate_limit"}}',
                {"Retry-After": f"{owner.retry_after:g}"},
            )
        elif fault == "hang":
            self._hang()
        elif fault == "drip":
            self._drip(body)
        elif fault == "truncated":
            self._send(200, body[: len(body) // 2])
        elif fault == "garbage":
            self._send(200, b"<html><body>502 Bad Gateway</body></html>")
        elif fault == "shape":
            self._send(200, b'{"object": "text_completion", "result": "no choices here"}')
        elif fault == "killed":
            self._headers(200, len(body))
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    def _headers(self, status: int, length: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self._headers(status, len(body), extra)
        self.wfile.write(body)

    def _client_gone(self) -> bool:
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _hang(self) -> None:
        """Answer nothing until the client hangs up (counted) or the server stops."""
        while not self.owner.stopping.wait(0.02):
            if self._client_gone():
                with self.owner._lock:
                    self.owner.cut_off["hang"] += 1
                break
        self.close_connection = True

    def _drip(self, body: bytes) -> None:
        """The whole body, one byte per ``drip_interval``: far slower than any timeout."""
        padded = body + b" " * 4000  # JSON allows trailing spaces: the drip is long
        self._headers(200, len(padded))
        try:
            for i in range(len(padded)):
                if self.owner.stopping.wait(self.owner.drip_interval):
                    return
                self.wfile.write(padded[i : i + 1])
                self.wfile.flush()
                if self._client_gone():
                    raise BrokenPipeError
        except OSError:
            with self.owner._lock:
                self.owner.cut_off["drip"] += 1
        self.close_connection = True


def main() -> None:
    parser = argparse.ArgumentParser(description="A loopback LM server that fails on purpose.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--model", default="fault-model")
    args = parser.parse_args()
    server = FaultServer(port=args.port, rate=args.rate, model=args.model)
    print(f"ready {server.base_url}", flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
