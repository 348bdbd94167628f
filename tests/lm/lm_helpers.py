"""Helpers shared by the LM tests (importable as ``lm_helpers``: tests/ has no package)."""

from __future__ import annotations

import importlib.util
import socket

import pytest

HAVE_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
needs_llama_cpp = pytest.mark.skipif(
    not HAVE_LLAMA_CPP,
    reason='llama-cpp-python is not installed: CMAKE_ARGS="-DGGML_NATIVE=OFF" '
    'pip install "llama-cpp-python[server]==0.3.36"',
)


def port_is_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0
