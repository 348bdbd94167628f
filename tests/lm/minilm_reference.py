"""An independent numpy forward pass of all-MiniLM-L6-v2, to check the llama.cpp GGUF.

Reads the shipped safetensors and tokenizer.json straight from the package (its
``model.zip`` or loose files), shares no code with ``qd.lm.minilm``, and computes what
sentence-transformers computes: BERT (embeddings, 6 post-norm encoder layers, exact erf
GELU), mean pooling over the attention mask, L2 normalisation. Importable as
``minilm_reference`` (tests/ has no package).
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erf
from tokenizers import Tokenizer

_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}


def read_model_file(source: Path, name: str) -> bytes:
    """``source/name``, or the member ``name`` of ``source/model.zip``."""
    if (source / name).is_file():
        return (source / name).read_bytes()
    with zipfile.ZipFile(source / "model.zip") as archive:
        return archive.read(name)


def load_safetensors(data: bytes) -> dict[str, np.ndarray]:
    """Tensors of a safetensors blob, with ``safetensors.numpy`` when it is installed."""
    try:
        from safetensors.numpy import load
    except ImportError:
        pass
    else:
        return dict(load(data))
    (size,) = struct.unpack_from("<Q", data, 0)
    header: dict[str, Any] = json.loads(data[8 : 8 + size])
    header.pop("__metadata__", None)
    out = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw = data[8 + size + begin : 8 + size + end]
        out[name] = np.frombuffer(raw, dtype=_DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return out


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class MiniLMReference:
    """Tokenizer and forward pass of the shipped model, in float64 numpy."""

    def __init__(self, source: Path) -> None:
        self.config = json.loads(read_model_file(source, "config.json"))
        self.tokenizer = Tokenizer.from_str(read_model_file(source, "tokenizer.json").decode())
        self.tokenizer.no_padding()  # the file pads to 128 and truncates by default
        self.tokenizer.no_truncation()
        weights = load_safetensors(read_model_file(source, "model.safetensors"))
        self.w = {k.removeprefix("bert."): v.astype(np.float64) for k, v in weights.items()}

    def tokenize(self, text: str) -> list[int]:
        """Token ids with [CLS] and [SEP], exactly as tokenizer.json gives them."""
        return list(self.tokenizer.encode(text).ids)

    def embed(self, text: str) -> np.ndarray:
        """The L2-normalised sentence embedding of ``text``."""
        encoding = self.tokenizer.encode(text)
        ids = np.array(encoding.ids)
        mask = np.array(encoding.attention_mask, dtype=np.float64)
        types = np.array(encoding.type_ids)
        w, cfg = self.w, self.config
        eps, heads = cfg["layer_norm_eps"], cfg["num_attention_heads"]
        n, d = len(ids), cfg["hidden_size"]
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        bias = (1.0 - mask)[None, None, :] * -1e9  # keys that are padding get no attention

        def dense(h: np.ndarray, prefix: str) -> np.ndarray:
            return h @ w[f"{prefix}.weight"].T + w[f"{prefix}.bias"]

        for i in range(cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}"
            q, k, v = (
                dense(x, f"{p}.attention.self.{m}").reshape(n, heads, d // heads).transpose(1, 0, 2)
                for m in ("query", "key", "value")
            )
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(d // heads) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attention = scores / scores.sum(axis=-1, keepdims=True)
            context = (attention @ v).transpose(1, 0, 2).reshape(n, d)
            x = _layer_norm(
                x + dense(context, f"{p}.attention.output.dense"),
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
                eps,
            )
            h = dense(x, f"{p}.intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
            x = _layer_norm(
                x + dense(h, f"{p}.output.dense"),
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
                eps,
            )
        pooled = (x * mask[:, None]).sum(axis=0) / mask.sum()
        return pooled / np.linalg.norm(pooled)
