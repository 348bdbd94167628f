"""`qd lm serve` serves both embedded models: completions and embeddings, until Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
from e2e_helpers import ROOT

from qd.lm import LM, Embedder, LMSettings
from qd.lm.local import free_port

pytest.importorskip("llama_cpp", reason="the embedded models need llama-cpp-python")
pytestmark = [pytest.mark.slow, pytest.mark.lm]


def test_lm_serve_prints_both_settings_and_answers_both_endpoints():
    port, embedding_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "qd.cli", "lm", "serve", "--port", str(port),
         "--embedding-port", str(embedding_port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        # A child of a CI job may start with SIGINT ignored; restore Python's handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )  # fmt: skip
    try:
        settings: dict[str, str] = {}
        while "QD_LM_BASE_URL" not in settings:  # the lines come once each server answers
            line = process.stdout.readline()
            assert line, "qd lm serve exited before it printed its settings"
            settings.update(part.split("=", 1) for part in line.split() if "=" in part)
        assert settings["QD_EMBED_BASE_URL"] == f"http://127.0.0.1:{embedding_port}/v1"
        assert settings["QD_EMBED_MODEL"] == "all-MiniLM-L6-v2"
        vectors = Embedder(
            LMSettings(base_url=settings["QD_EMBED_BASE_URL"], model=settings["QD_EMBED_MODEL"])
        ).embed(["a ghost story", "a love story"])
        assert vectors.shape == (2, 384)
        lm = LM(LMSettings(base_url=settings["QD_LM_BASE_URL"], model=settings["QD_LM_MODEL"]))
        assert lm.complete("The spy", max_tokens=2, temperature=0).usage["completion_tokens"] > 0
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    for stopped in (port, embedding_port):  # both servers went with it
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", stopped)) != 0
