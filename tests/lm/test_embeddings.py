"""Embeddings through the OpenAI endpoint: the real embedded MiniLM server, and faults."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from lm_helpers import needs_llama_cpp

from qd.lm import LM, Embedder, LMError, LMSettings, embedding_settings_from_env, open_lm

STORIES = [
    "She kissed him under the lanterns and promised to marry him in the spring.",
    "The thing in the cellar dragged its claws along the door all night long.",
    "They held hands on the pier and watched the sunset, in love at last.",
]


@needs_llama_cpp
@pytest.mark.lm
def test_embedded_minilm_gives_unit_vectors_that_group_by_meaning(embedding_server, tmp_path):
    embedder = Embedder(embedding_server.settings(), cache=tmp_path / "cache")
    vectors = embedder.embed(STORIES)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    romance, horror, romance2 = vectors
    assert romance @ romance2 > romance @ horror + 0.1
    assert embedder.usage.requests == 1 and embedder.usage.prompt_tokens > 20

    again = embedder.embed([STORIES[1], STORIES[1], "a new sentence"])
    np.testing.assert_allclose(again[0], horror, atol=1e-6)
    assert embedder.usage.requests == 2  # only the new sentence was sent
    assert embedder.usage.cache_hits == 1  # the repeated text is looked up once

    rerun = Embedder(embedding_server.settings(), cache=tmp_path / "cache")
    np.testing.assert_allclose(rerun.embed(STORIES), vectors, atol=1e-6)
    assert rerun.usage.requests == 0 and rerun.usage.cache_hits == 3


@needs_llama_cpp
@pytest.mark.lm
def test_open_lm_starts_the_embedding_server_only_when_asked(lm_server, tmp_path):
    settings = LMSettings(base_url=lm_server.base_url, model=lm_server.model_alias)
    with open_lm(settings, cache=tmp_path / "cache") as lm:
        assert lm.embedder.usage.requests == 0
        first = lm.embed(STORIES[:1])
        assert first.shape == (1, 384)
        assert lm.embedder.usage.requests == 1
        url = lm.embedder.settings.base_url
    with pytest.raises(LMError, match="cannot reach"):  # stopped with the LM
        Embedder(LMSettings(base_url=url, model="x", max_retries=0, timeout=2)).embed(["t"])
    with open_lm(settings, cache=tmp_path / "cache") as lm:
        lm.embed(STORIES[:1])  # all cached: no server started
        assert lm.embedder._settings is None and lm.embedder.usage.cache_hits == 1


class _Replies(BaseHTTPRequestHandler):
    body = b"{}"
    status = 200

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_server():
    """A loopback server whose embeddings reply the test sets (malformed on purpose)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _reply(vectors):
    return json.dumps(
        {
            "object": "list",
            "model": "m",
            "data": [
                {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
            ],
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        }
    ).encode()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (_reply([[1.0, 0.0]]), "1 embeddings for 2 texts"),
        (_reply([[0.0, 0.0], [1.0, 0.0]]), "all-zero"),
        (b"not json", "unusable reply|Expecting value|malformed"),
    ],
)
def test_malformed_embedding_replies_are_errors_in_their_slots(fake_server, body, match):
    _Replies.body = body
    url = f"http://127.0.0.1:{fake_server.server_address[1]}/v1"
    embedder = Embedder(LMSettings(base_url=url, model="m", max_retries=0))
    rows = embedder.embed_many(["one", "two"])
    assert all(isinstance(r, LMError) for r in rows)
    assert rows[0] is rows[1]  # one request, one error for both of its texts
    assert embedder.usage.errors == 1
    with pytest.raises(LMError):
        embedder.embed(["one", "two"])


def test_replies_in_any_order_are_put_back_in_input_order(fake_server):
    _Replies.body = json.dumps(
        {
            "data": [
                {"object": "embedding", "index": 1, "embedding": [0.0, 2.0]},
                {"object": "embedding", "index": 0, "embedding": [3.0, 0.0]},
            ],
            "model": "m",
            "object": "list",
            "usage": {"prompt_tokens": 2, "total_tokens": 2},
        }
    ).encode()
    url = f"http://127.0.0.1:{fake_server.server_address[1]}/v1"
    vectors = Embedder(LMSettings(base_url=url, model="m")).embed(["a", "b"])
    np.testing.assert_allclose(vectors, [[1.0, 0.0], [0.0, 1.0]])


def test_embedding_settings_follow_config_then_environment():
    lm = LMSettings(base_url="https://api.openai.com/v1", model="gpt-4o-mini", api_key="sk-x")
    assert embedding_settings_from_env(lm, environ={}) is None  # the embedded default
    own = embedding_settings_from_env(lm, model="text-embedding-3-small", environ={})
    assert own.base_url == lm.base_url and own.api_key == "sk-x"
    env = {"QD_EMBED_BASE_URL": "http://gpu:8000/v1", "QD_EMBED_MODEL": "bge"}
    other = embedding_settings_from_env(lm, model="ignored", environ=env)
    assert (other.base_url, other.model, other.api_key) == ("http://gpu:8000/v1", "bge", None)
    with pytest.raises(ValueError, match="no server"):
        embedding_settings_from_env(LMSettings(), model="bge", environ={})


def test_an_lm_without_an_embedder_says_how_to_get_one():
    lm = LM(LMSettings(base_url="http://127.0.0.1:9/v1", model="m"))
    with pytest.raises(LMError, match="open_lm"):
        lm.embed(["text"])
