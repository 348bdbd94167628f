"""A second OCR judge light enough for every install: RapidOCR's PP-OCRv6 recogniser.

Tesseract reads glyphs by their outlines; PP-OCR's recogniser is a neural network
(PaddleOCR's, trained on printed and scene text, never on a Science Birds level), so it
is a held-out judge of yet another family. Its weights ship inside the ``rapidocr``
wheel (``rapidocr/models/PP-OCRv6_rec_small.onnx``, 21 MB): nothing is downloaded at
first use. This module runs that ONNX file with ``onnxruntime`` itself and never imports
``rapidocr`` (whose own dependencies, OpenCV among them, it does not need), so the
install is ``pip install onnxruntime`` plus ``pip install --no-deps rapidocr``, which
``make`` does. Without them :class:`RapidOCRJudge` raises :class:`RapidOCRNotInstalled`
naming that command, and the rest of the domain works.

How a level is shown to it: Tesseract's rendering (:func:`~domains.science_birds.
tesseract_judge.render_level`: settled blocks solid black on white, cropped, scaled,
padded), resized to the recogniser's 48-pixel line height and padded on the right to its
minimum width. Only the recogniser runs: the image already is one cropped character, so
PP-OCR's text detector has nothing to find.

What it returns: the recogniser is a CTC model, so the probability that the image reads
as exactly one letter L is the sum over every alignment "blanks, L repeated, blanks" of
the per-column probabilities, which a three-state recursion computes per letter. Those
26 numbers are the letters' probabilities and the rest is "not a letter" (any other
text, digits, two characters, nothing). Before that, each column's probabilities are
restricted to blank and the 26 capitals and renormalised (Tesseract's whitelist, which
turns a "5" into an S and a "0" into an O); folding lower case into upper (``v`` is V
drawn small) is an option that read no more. The rendering and those two choices were
tuned on a training set of its own (the glyph judge's calibration fonts
drawn in blocks at seed 0, 2 per letter, and 30 random settled levels), never on the
sets ``experiments/letter_judges.py`` measures it on; ``experiments/ocr_rendering.py``
prints that tuning.

Example:
    >>> from domains.science_birds.level import Block, Level
    >>> from domains.science_birds.raster import grid_poses
    >>> level = Level(tuple(Block("b11", 0, r) for r in range(8)))
    >>> poses, kinds = grid_poses(level)
    >>> judge = RapidOCRJudge()  # doctest: +SKIP
    >>> judge.read(poses, kinds, degrees=True)  # doctest: +SKIP
    ('I', 0.94)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from domains.science_birds.classifier import LETTERS
from domains.science_birds.tesseract_judge import render_level

__all__ = [
    "INSTALL_HINT",
    "LETTER_HEIGHT",
    "LINE_HEIGHT",
    "PADDING",
    "RapidOCRJudge",
    "RapidOCRNotInstalled",
    "rapidocr_available",
    "single_letter_proba",
]

LINE_HEIGHT = 48
"""The recogniser's input height in pixels (PP-OCRv6's ``rec_img_shape``)."""

MIN_WIDTH = 320
"""The recogniser's minimum input width; narrower images are padded on the right."""

LETTER_HEIGHT = 48
"""Pixels the level's bounding box is drawn at before the whole image is resized to
:data:`LINE_HEIGHT` (with :data:`PADDING` this sets how much of the line the letter
fills: 48 of 48 + 2 * 16 here). With the whitelist this read 79 of 82 training levels
(50 of 52 letters, 29 of 30 random levels rejected), against 69-77 for the other sizes,
margins and options tried (``experiments/ocr_rendering.py``)."""

PADDING = 16
"""White margin around the blocks in pixels, at :data:`LETTER_HEIGHT`."""

MODEL_FILE = "PP-OCRv6_rec_small.onnx"
INSTALL_HINT = "pip install onnxruntime && pip install --no-deps rapidocr (or: make install)"


class RapidOCRNotInstalled(RuntimeError):
    """``onnxruntime`` or the ``rapidocr`` wheel's recogniser weights are missing."""


def _model_path() -> Path | None:
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "models" / MODEL_FILE
        if path.is_file():
            return path
    return None


def rapidocr_available() -> bool:
    """Whether ``onnxruntime`` and the recogniser's weights are installed (tests skip
    without them)."""
    return importlib.util.find_spec("onnxruntime") is not None and _model_path() is not None


def single_letter_proba(columns: np.ndarray, letters: Sequence[int]) -> np.ndarray:
    """CTC probability that the columns read as exactly one of ``letters``, for each.

    Args:
        columns: ``(T, C)`` per-column class probabilities, class 0 the CTC blank.
        letters: class indices to score.

    Returns:
        ``len(letters)`` probabilities: for letter ``L``, the total probability of the
        paths "blank*, L+, blank*" (at least one ``L``), the ways CTC writes "L".
    """
    blank = columns[:, 0]
    out = np.zeros(len(letters))
    for k, index in enumerate(letters):
        ink = columns[:, index]
        before, inside, after = 1.0, 0.0, 0.0
        for b, p in zip(blank.tolist(), ink.tolist(), strict=True):
            before, inside, after = before * b, (before + inside) * p, (inside + after) * b
        out[k] = inside + after
    return out


class RapidOCRJudge:
    """Letter probabilities for a level from PP-OCRv6's recogniser (module docstring).

    Args:
        height: pixels the level is drawn at (see :func:`render_level`).
        padding: white margin in pixels.
        whitelist: restrict each column to blank and A-Z before reading (``False``
            leaves digits and other scripts in, so "5" counts as not a letter).
        fold_case: count lower-case letters as their capitals.
        threads: onnxruntime threads (1: the images are tiny, and the result is then
            the same on every machine).

    Raises:
        RapidOCRNotInstalled: ``onnxruntime`` or the ``rapidocr`` weights are missing.
    """

    def __init__(
        self,
        *,
        height: int = LETTER_HEIGHT,
        padding: int = PADDING,
        whitelist: bool = True,
        fold_case: bool = False,
        threads: int = 1,
    ) -> None:
        path = _model_path()
        try:
            import onnxruntime
        except ImportError:
            path = None
        if path is None:
            raise RapidOCRNotInstalled(
                f"the RapidOCR judge needs onnxruntime and the rapidocr wheel's {MODEL_FILE}; "
                f"{INSTALL_HINT}"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session: Any = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        meta = self.session.get_modelmeta().custom_metadata_map
        # the model's own character list, with CTC's blank first and a space last
        self.characters = ["<blank>", *meta["character"].splitlines(), " "]
        index = {c: i for i, c in enumerate(self.characters)}
        self._upper = [index[c] for c in LETTERS]
        self._lower = [index.get(c.lower(), -1) for c in LETTERS]
        self.height = int(height)
        self.padding = int(padding)
        self.whitelist = bool(whitelist)
        self.fold_case = bool(fold_case)

    def _line(self, image: Image.Image) -> np.ndarray:
        """``image`` as the recogniser's ``(1, 3, 48, W)`` input, in ``[-1, 1]``."""
        width, height = image.size
        resized_width = max(1, round(LINE_HEIGHT * width / height))
        line = image.convert("RGB").resize((resized_width, LINE_HEIGHT), Image.Resampling.BICUBIC)
        pixels = (np.asarray(line, dtype=np.float32).transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
        out = np.zeros((3, LINE_HEIGHT, max(MIN_WIDTH, resized_width)), dtype=np.float32)
        out[:, :, :resized_width] = pixels  # PaddleOCR pads with 0 (mid grey) as well
        return out[None]

    def columns(self, image: Image.Image) -> np.ndarray:
        """The recogniser's ``(T, C)`` per-column class probabilities for ``image``."""
        name = self.session.get_inputs()[0].name
        return np.asarray(self.session.run(None, {name: self._line(image)})[0][0], np.float64)

    def proba_from_columns(self, columns: np.ndarray) -> np.ndarray:
        """``(27,)`` probabilities (A-Z, then "not a letter") from :meth:`columns`."""
        upper = columns[:, self._upper]
        if self.fold_case:
            lower = np.where(np.array(self._lower) >= 0, columns[:, self._lower], 0.0)
            upper = upper + lower
        kept = np.column_stack([columns[:, 0], upper])
        if self.whitelist:
            kept /= np.maximum(kept.sum(axis=1, keepdims=True), 1e-12)
        proba = np.zeros(len(LETTERS) + 1)
        proba[: len(LETTERS)] = single_letter_proba(kept, range(1, len(LETTERS) + 1))
        proba[: len(LETTERS)] /= max(1.0, proba[: len(LETTERS)].sum())
        proba[-1] = 1.0 - proba[: len(LETTERS)].sum()
        return proba

    def letter_proba(self, image: Image.Image) -> np.ndarray:
        """``(27,)`` probabilities that ``image`` reads as A-Z, then "not a letter"."""
        return self.proba_from_columns(self.columns(image))

    def read_image(self, image: Image.Image) -> tuple[str | None, float]:
        """The letter read in ``image`` (``None`` when "not a letter" wins) and its
        probability."""
        proba = self.letter_proba(image)
        best = int(proba.argmax())
        if best == len(LETTERS):
            return None, 0.0
        return LETTERS[best], float(proba[best])

    def render(
        self, poses: Sequence[Sequence[float]], block_types: Sequence[str], *, degrees: bool
    ) -> Image.Image:
        """The level as this judge is shown it (:func:`render_level` at its settings)."""
        return render_level(
            poses, block_types, degrees=degrees, height=self.height, padding=self.padding
        )

    def read(
        self,
        poses: Sequence[Sequence[float]],
        block_types: Sequence[str],
        *,
        degrees: bool = False,
    ) -> tuple[str | None, float]:
        """The letter the recogniser reads in a level (``None``: not a letter) and its
        probability."""
        return self.read_image(self.render(poses, block_types, degrees=degrees))

    def predict_proba(
        self,
        levels: Sequence[tuple[Sequence[Sequence[float]], Sequence[str]]],
        *,
        degrees: bool = False,
    ) -> np.ndarray:
        """``(n, 27)`` probabilities for ``(poses, block_types)`` pairs: A-Z, not a letter.

        Unlike Tesseract's, every letter gets its own probability (runners-up included).
        """
        return np.array(
            [self.letter_proba(self.render(p, k, degrees=degrees)) for p, k in levels]
        ).reshape(len(levels), len(LETTERS) + 1)

    def similarity(
        self,
        poses: Sequence[Sequence[float]],
        block_types: Sequence[str],
        letter: str,
        *,
        degrees: bool = False,
    ) -> float:
        """Probability that the level reads as ``letter``."""
        proba = self.letter_proba(self.render(poses, block_types, degrees=degrees))
        return float(proba[LETTERS.index(letter.upper())])
