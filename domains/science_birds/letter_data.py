"""Training data of the letter classifier: font letters, block-art letters, not-letters.

What :mod:`domains.science_birds.train_classifier` learns from, kept apart from the
training itself so experiments (``experiments/letter_judges.py``) can draw the same
letters without training anything. Every random choice comes from the ``rng`` passed
in; only the fonts bundled with matplotlib are used, so every machine sees the same
glyphs (see ``docs/classifier.md``):

1. **Font letters**: glyph outlines of the text fonts matplotlib ships, distorted by a
   random affine map (shear, small rotation, stretch), thickened or thinned with binary
   dilation/erosion, and rasterised like a level.
2. **Block-art letters**: glyphs sampled onto a coarse grid (8-16 cells high, at most
   20 wide) either filled or reduced to a one-cell skeleton, decomposed into
   ``b11``/``b31``/``b13`` blocks, then edited as a builder would (a block dropped,
   added or shifted, pillars under overhangs) and rendered with
   :func:`~domains.science_birds.raster.rasterize_cells`. Training and held-out data
   use disjoint grid heights (:data:`TRAIN_HEIGHTS`, :data:`HELDOUT_HEIGHTS`).
3. **Not a letter**: random settled levels and adversarial ones found by
   ``experiments/harden_letter_judge.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.path import Path as MplPath
from scipy import ndimage

from domains.science_birds.classifier import LETTERS
from domains.science_birds.glyphs import FONT_FILES, glyph_polygons, thin
from domains.science_birds.level import GRID_WIDTH
from domains.science_birds.not_letters import load_not_letters, random_programs, settled_images
from domains.science_birds.raster import rasterize_cells, rasterize_mask, rasterize_paths

__all__ = [
    "HELDOUT_HEIGHTS",
    "IMAGE_SIZE",
    "TRAIN_HEIGHTS",
    "block_art_dataset",
    "block_art_sample",
    "block_cells",
    "decompose",
    "edit_blocks",
    "font_dataset",
    "font_sample",
    "letter_grid",
    "not_letter_data",
    "topology",
]

TRAIN_HEIGHTS = (8, 10, 12, 14, 16)
"""Block-art letter heights (grid cells) used for training."""

HELDOUT_HEIGHTS = (9, 11, 13, 15)
"""Block-art letter heights used only for the held-out evaluation."""

IMAGE_SIZE = 32


# ----------------------------------------------------------------------------- glyphs


def _affine(rng: np.random.Generator, *, rotate: float, shear: float, stretch: float) -> np.ndarray:
    """A random 2x2 map: horizontal stretch, shear, then a small rotation."""
    theta = math.radians(rng.uniform(-rotate, rotate))
    c, s = math.cos(theta), math.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    sh = np.array([[1.0, rng.uniform(-shear, shear)], [0.0, 1.0]])
    sx = np.exp(rng.uniform(-stretch, stretch))
    return rot @ sh @ np.diag([sx, 1.0])


def _glyph_mask(polygons: Sequence[np.ndarray], matrix: np.ndarray, size: int) -> np.ndarray:
    """Binary picture (row 0 at the top) of the transformed glyph, fitted in ``size``."""
    glyph = MplPath.make_compound_path(*(MplPath(p @ matrix.T) for p in polygons))
    return rasterize_paths([glyph], size=size, margin=0.08, supersample=1) > 0.5


def _disk(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None] ** 2 + r[None, :] ** 2) <= radius * radius + radius


def topology(mask: np.ndarray) -> tuple[int, int]:
    """``(pieces, holes)``: 8-connected ink components and enclosed background regions."""
    _, pieces = ndimage.label(mask, structure=np.ones((3, 3)))
    _, regions = ndimage.label(~np.pad(mask, 1))
    return pieces, regions - 1


def _morph(mask: np.ndarray, amount: int) -> np.ndarray:
    """Dilate (``amount > 0``) or erode (``< 0``) by a disk, never changing the topology.

    When the requested amount would merge strokes, close a counter or break a stroke, the
    amount is reduced towards 0 until it does not.
    """
    target = topology(mask)
    while amount != 0:
        if amount > 0:
            out = ndimage.binary_dilation(mask, structure=_disk(amount))
        else:
            out = ndimage.binary_erosion(mask, structure=_disk(-amount))
        if out.any() and topology(out) == target:
            return out
        amount -= int(np.sign(amount))
    return mask


# ----------------------------------------------------------------------------- fonts


def font_sample(rng: np.random.Generator, font_file: str, letter: str) -> np.ndarray:
    """One augmented font letter, rasterised like a level."""
    matrix = _affine(rng, rotate=8.0, shear=0.35, stretch=0.35)
    mask = _glyph_mask(glyph_polygons(font_file, letter), matrix, 64)
    mask = _morph(mask, int(rng.choice([-2, -1, -1, 0, 0, 0, 1, 1, 2, 3])))
    return rasterize_mask(mask, size=IMAGE_SIZE)


def font_dataset(
    rng: np.random.Generator, per_font: int, fonts: Sequence[str] = FONT_FILES
) -> tuple[np.ndarray, np.ndarray]:
    """``per_font`` augmented samples of every letter in every font: ``(images, labels)``."""
    images, labels = [], []
    for font_file in fonts:
        for label, letter in enumerate(LETTERS):
            for _ in range(per_font):
                images.append(font_sample(rng, font_file, letter))
                labels.append(label)
    return np.stack(images), np.array(labels)


# ----------------------------------------------------------------------------- block art


def _cell_grid(hi: np.ndarray, height: int, width: int, *, skeleton: bool, t: float) -> np.ndarray:
    """Sample a cropped binary picture onto ``height x width`` cells (row 0 at the top)."""
    rows = np.flatnonzero(hi.any(axis=1))
    cols = np.flatnonzero(hi.any(axis=0))
    crop = hi[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    ri = (np.arange(h) * height) // h
    ci = (np.arange(w) * width) // w
    counts = np.zeros((height, width))
    np.add.at(counts, (ri[:, None], ci[None, :]), crop)
    if skeleton:
        return counts > 0
    area = np.zeros((height, width))
    np.add.at(area, (ri[:, None], ci[None, :]), 1.0)
    return counts / np.maximum(area, 1.0) > t


def decompose(grid: np.ndarray, rng: np.random.Generator) -> list[tuple[str, int, int]]:
    """Cover the occupied cells with blocks ``(type, col, row)`` (centre col, bottom row).

    ``grid`` has row 0 at the **bottom**. Greedy, bottom-up, with random preferences
    between ``b31`` beams, ``b13`` pillars and ``b11`` cubes.
    """
    free = grid.astype(bool).copy()
    height, width = free.shape
    blocks = []
    p_beam, p_pillar = rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.9)
    for r in range(height):
        for c in range(width):
            if not free[r, c]:
                continue
            options = ["b11"]
            if c + 2 < width and free[r, c : c + 3].all() and rng.random() < p_beam:
                options.append("b31")
            if r + 2 < height and free[r : r + 3, c].all() and rng.random() < p_pillar:
                options.append("b13")
            kind = options[rng.integers(len(options))] if len(options) > 1 else "b11"
            if kind == "b31":
                free[r, c : c + 3] = False
                blocks.append(("b31", c + 1, r))
            elif kind == "b13":
                free[r : r + 3, c] = False
                blocks.append(("b13", c, r))
            else:
                free[r, c] = False
                blocks.append(("b11", c, r))
    return blocks


_SPAN = {"b11": (0, 0, 1), "b31": (1, 1, 1), "b13": (0, 0, 3)}  # half-left, half-right, height


def block_cells(block: tuple[str, int, int]) -> list[tuple[int, int]]:
    kind, col, row = block
    left, right, h = _SPAN[kind]
    return [(c, r) for c in range(col - left, col + right + 1) for r in range(row, row + h)]


def edit_blocks(blocks: list, rng: np.random.Generator) -> list:
    """Builder-like noise: drop, add or shift a block; prop up overhanging blocks."""
    blocks = list(blocks)
    if len(blocks) > 4 and rng.random() < 0.25:
        blocks.pop(int(rng.integers(len(blocks))))
    if rng.random() < 0.25:
        occupied = {cell for b in blocks for cell in block_cells(b)}
        col, row = next(iter(block_cells(blocks[int(rng.integers(len(blocks)))])))
        dc, dr = [(1, 0), (-1, 0), (0, 1), (0, -1)][int(rng.integers(4))]
        cand = ("b11", col + dc, max(0, row + dr))
        if cand[1:] not in occupied:
            blocks.append(cand)
    if rng.random() < 0.25:
        i = int(rng.integers(len(blocks)))
        kind, col, row = blocks[i]
        blocks[i] = (kind, col + int(rng.choice([-1, 1])), row)
    if rng.random() < 0.3:
        occupied = {cell for b in blocks for cell in block_cells(b)}
        for kind, col, row in list(blocks):
            left, right, _ = _SPAN[kind]
            under = [(c, row - 1) for c in range(col - left, col + right + 1)]
            if row == 0 or any(cell in occupied for cell in under) or rng.random() < 0.5:
                continue
            c = col + int(rng.integers(-left, right + 1))
            r = row - 1
            while r >= 0 and (c, r) not in occupied:
                occupied.add((c, r))
                blocks.append(("b11", c, r))
                r -= 1
    return blocks


def letter_grid(
    rng: np.random.Generator, font_file: str, letter: str, heights: Sequence[int]
) -> np.ndarray:
    """A glyph sampled onto grid cells (row 0 at the bottom), filled or as a skeleton.

    Samples whose pieces or holes differ from the glyph's (a bold ``B`` squashed into
    a blob) are redrawn, up to a few times.
    """
    polygons = glyph_polygons(font_file, letter)
    for attempt in range(8):
        matrix = _affine(rng, rotate=3.0, shear=0.15, stretch=0.3)
        hi = _glyph_mask(polygons, matrix, 96)
        target = topology(hi)
        skeleton = attempt >= 4 or rng.random() < 0.5
        if skeleton:
            hi = thin(hi)
        height = int(rng.choice(heights))
        rows = np.flatnonzero(hi.any(axis=1))
        cols = np.flatnonzero(hi.any(axis=0))
        aspect = (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1)
        stretch = np.exp(rng.uniform(-0.8, 0.35))  # narrow letters are common in levels
        width = int(np.clip(round(height * aspect * stretch), 1, GRID_WIDTH))
        if letter != "I":
            width = max(width, 3)
        grid = _cell_grid(hi, height, width, skeleton=skeleton, t=rng.uniform(0.3, 0.55))
        if topology(grid) == target:
            break
    return grid[::-1]


def block_art_sample(
    rng: np.random.Generator, font_file: str, letter: str, heights: Sequence[int]
) -> np.ndarray:
    """One block-built letter on the 20 x 16 grid, edited and rasterised."""
    grid = letter_grid(rng, font_file, letter, heights)
    blocks = edit_blocks(decompose(grid, rng), rng)
    return rasterize_cells([cell for b in blocks for cell in block_cells(b)], size=IMAGE_SIZE)


def block_art_dataset(
    rng: np.random.Generator,
    per_font: int,
    heights: Sequence[int],
    fonts: Sequence[str] = FONT_FILES,
) -> tuple[np.ndarray, np.ndarray]:
    """``per_font`` block-art samples of every letter per font: ``(images, labels)``."""
    images, labels = [], []
    for font_file in fonts:
        for label, letter in enumerate(LETTERS):
            for _ in range(per_font):
                images.append(block_art_sample(rng, font_file, letter, heights))
                labels.append(label)
    return np.stack(images), np.array(labels)


def not_letter_data(
    rng: np.random.Generator, n_random: int, not_letters: Sequence[Path]
) -> tuple[np.ndarray, np.ndarray]:
    """Images of "not a letter" levels, for training and held out (every fourth
    adversarial level, and ``n_random // 4`` fresh random ones): ``(train, held_out)``."""
    records = [r for path in not_letters for r in load_not_letters(path)]
    adversarial = [r["program"] for r in records]
    train_programs = random_programs(rng, n_random) + [
        p for i, p in enumerate(adversarial) if i % 4
    ]
    held_programs = random_programs(rng, n_random // 4) + adversarial[::4]
    return settled_images(train_programs), settled_images(held_programs)
