"""Fixtures for the LM tests: one real llama.cpp server for the whole session.

Server tests are marked ``lm``; they are skipped only when llama-cpp-python is not
installed (CI installs it, so there they run).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lm_helpers import HAVE_LLAMA_CPP

from qd.lm import LocalServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lm: tests that start the real local llama.cpp server")


@pytest.fixture(scope="session")
def lm_server() -> Iterator[LocalServer]:
    """The embedded model, started once for the session."""
    if not HAVE_LLAMA_CPP:
        pytest.skip("llama-cpp-python is not installed")
    with LocalServer(startup_timeout=120) as server:
        yield server


@pytest.fixture(scope="session")
def embedding_server() -> Iterator[LocalServer]:
    """The embedded all-MiniLM-L6-v2 (llama.cpp, embeddings on), once for the session."""
    if not HAVE_LLAMA_CPP:
        pytest.skip("llama-cpp-python is not installed")
    from qd.lm import embedding_server as make_server

    with make_server(startup_timeout=120) as server:
        yield server
