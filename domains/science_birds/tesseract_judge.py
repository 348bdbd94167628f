"""A letter judge nobody here trained: Tesseract OCR reading the settled blocks.

The search classifier and the glyph judge were both built in this repository, so they
can share blind spots (towers, rubble). Tesseract is an OCR engine trained on printed
text elsewhere: it never saw a Science Birds level, which makes it a held-out judge of
a different family. It needs the ``tesseract`` binary (Debian: ``apt-get install
tesseract-ocr``); without it :class:`TesseractJudge` raises
:class:`TesseractNotFound` naming that package, and the rest of the domain works.

How a level is shown to it (:func:`render_level`): the blocks' rectangles at their
settled poses, solid black on white, cropped to the blocks, scaled so the level is
:data:`LETTER_HEIGHT` pixels high and padded by :data:`PADDING` pixels. Tesseract then
reads one character (``--psm 10``) restricted to capital letters. Its answer is a
letter and a confidence in ``[0, 1]``; an empty or multi-character answer means "not a
letter". The rendering (height, padding, blur) was chosen on a training set of its
own: the glyph judge's calibration fonts drawn in blocks at seed 0 (2 per letter) and 30
random settled levels, never the sets ``experiments/letter_judges.py`` measures it on.

Example:
    >>> from domains.science_birds.level import Block, Level
    >>> from domains.science_birds.raster import grid_poses
    >>> level = Level(tuple(Block("b11", 0, r) for r in range(8)))
    >>> poses, kinds = grid_poses(level)
    >>> judge = TesseractJudge()  # doctest: +SKIP
    >>> judge.read(poses, kinds, degrees=True)  # doctest: +SKIP
    ('I', 0.93)
"""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from domains.science_birds.classifier import LETTERS
from domains.science_birds.raster import CELL_SIZE, block_quads

__all__ = [
    "INSTALL_HINT",
    "LETTER_HEIGHT",
    "PADDING",
    "TesseractJudge",
    "TesseractNotFound",
    "render_level",
    "tesseract_available",
]

LETTER_HEIGHT = 32
"""Height in pixels the level's bounding box is scaled to (Tesseract reads capitals
best small: 32 px read more training letters than 24 or 48)."""

PADDING = 24
"""White margin around the blocks in pixels: Tesseract misses characters that touch
the image's edge."""

INSTALL_HINT = "install Tesseract: apt-get install tesseract-ocr (Debian/Ubuntu)"


class TesseractNotFound(RuntimeError):
    """The ``tesseract`` binary is not on ``PATH``."""


def tesseract_available() -> bool:
    """Whether the ``tesseract`` binary is on ``PATH`` (tests skip without it)."""
    return shutil.which("tesseract") is not None


def render_level(
    poses: Sequence[Sequence[float]],
    block_types: Sequence[str],
    *,
    degrees: bool = False,
    height: int = LETTER_HEIGHT,
    padding: int = PADDING,
    smooth: float = 0.0,
) -> Image.Image:
    """The blocks drawn solid black on white, cropped, scaled and padded, for OCR.

    Args:
        poses: ``(x, y, angle)`` block centres in world units (settled or on the grid).
        block_types: one of ``b11``, ``b31``, ``b13`` per pose.
        degrees: angles in degrees (``grid_poses``, XML) rather than radians (Box2D).
        height: pixels the bounding box's height is scaled to (the width keeps the
            level's aspect ratio, capped at ``4 * height``).
        padding: white margin in pixels on every side.
        smooth: Gaussian blur radius as a fraction of one block's side (rounds the
            staircase edges of block-built strokes; 0 draws them sharp).

    Returns:
        A grayscale (``"L"``) image; an empty level gives a blank one.
    """
    if height < 4 or padding < 0:
        raise ValueError(f"height must be >= 4 and padding >= 0, got {height!r}, {padding!r}")
    quads = block_quads(poses, block_types, degrees=degrees)
    if not quads:
        return Image.new("L", (height + 2 * padding, height + 2 * padding), 255)
    everything = np.concatenate(quads)
    lo, hi = everything.min(axis=0), everything.max(axis=0)
    scale = height / max(float(hi[1] - lo[1]), 1e-9)
    scale = min(scale, 4 * height / max(float(hi[0] - lo[0]), 1e-9))
    width_px = math.ceil((hi[0] - lo[0]) * scale)
    height_px = math.ceil((hi[1] - lo[1]) * scale)
    image = Image.new("L", (width_px + 2 * padding, height_px + 2 * padding), 255)
    draw = ImageDraw.Draw(image)
    for quad in quads:
        px = (quad[:, 0] - lo[0]) * scale + padding
        py = (hi[1] - quad[:, 1]) * scale + padding  # y up in the world, down in images
        draw.polygon(list(zip(px.tolist(), py.tolist(), strict=True)), fill=0)
    if smooth > 0:
        image = image.filter(ImageFilter.GaussianBlur(smooth * CELL_SIZE * scale))
    return image


def _parse_tsv(tsv: str) -> tuple[str | None, float]:
    """The single capital letter Tesseract read and its confidence, from ``tsv`` output."""
    words = []
    for line in tsv.splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) == 12 and fields[0] == "5" and fields[11].strip():
            words.append((fields[11].strip(), float(fields[10])))
    if len(words) != 1 or len(words[0][0]) != 1 or words[0][0] not in LETTERS:
        return None, 0.0
    text, confidence = words[0]
    return text, float(np.clip(confidence / 100.0, 0.0, 1.0))


class TesseractJudge:
    """Letter probabilities for a level from Tesseract's single-character reading.

    Args:
        height: pixels the level is scaled to (see :func:`render_level`).
        padding: white margin in pixels.
        timeout: seconds one Tesseract call may take.

    Raises:
        TesseractNotFound: the ``tesseract`` binary is not on ``PATH``.
    """

    def __init__(
        self, *, height: int = LETTER_HEIGHT, padding: int = PADDING, timeout: float = 30.0
    ) -> None:
        binary = shutil.which("tesseract")
        if binary is None:
            raise TesseractNotFound(
                f"the Tesseract judge needs the `tesseract` binary on PATH; {INSTALL_HINT}"
            )
        self.binary = binary
        self.height = int(height)
        self.padding = int(padding)
        self.timeout = float(timeout)

    def read_image(self, image: Image.Image) -> tuple[str | None, float]:
        """Tesseract's one-character reading of ``image``: ``(letter or None, confidence)``."""
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        command = [self.binary, "stdin", "stdout", "--psm", "10", "--dpi", "70"]
        command += ["-c", f"tessedit_char_whitelist={''.join(LETTERS)}", "tsv"]
        # One thread: the images are tiny and OpenMP's start-up costs more than it saves.
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        done = subprocess.run(
            command,
            input=buffer.getvalue(),
            capture_output=True,
            timeout=self.timeout,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"tesseract failed (exit {done.returncode}): "
                f"{done.stderr.decode(errors='replace').strip()}"
            )
        return _parse_tsv(done.stdout.decode(errors="replace"))

    def read(
        self,
        poses: Sequence[Sequence[float]],
        block_types: Sequence[str],
        *,
        degrees: bool = False,
    ) -> tuple[str | None, float]:
        """The letter Tesseract reads in a level (``None``: not a letter) and its confidence."""
        image = render_level(
            poses, block_types, degrees=degrees, height=self.height, padding=self.padding
        )
        return self.read_image(image)

    def predict_proba(
        self,
        levels: Sequence[tuple[Sequence[Sequence[float]], Sequence[str]]],
        *,
        degrees: bool = False,
    ) -> np.ndarray:
        """``(n, 27)`` probabilities for ``(poses, block_types)`` pairs: A-Z, not a letter.

        The letter read gets Tesseract's confidence; the rest goes to "not a letter"
        (Tesseract gives no runner-up, so the other letters get 0).
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
