"""Train the letter classifier of :mod:`domains.science_birds.classifier`, offline.

Run::

    python -m domains.science_birds.train_classifier --seed 0 \\
        --out domains/science_birds/classifier_weights.npz \\
        --confusion docs/classifier_confusion.png

(about two minutes on two CPU cores).

Everything follows from ``--seed``: the same seed on the same library versions writes
the same weights. Only the fonts bundled with matplotlib are used, so every machine
sees the same glyphs.

Training data, A-Z (see ``docs/classifier.md``):

1. **Font letters**: glyph outlines of the 21 text fonts matplotlib ships (DejaVu Sans,
   Serif and Mono, STIX, Computer Modern, with bold and oblique variants), distorted by
   a random affine map (shear, small rotation, stretch), thickened or thinned with
   binary dilation/erosion, and rasterised like a level.
2. **Block-art letters**: glyphs sampled onto a coarse grid (8-16 cells high, at most
   20 wide) either filled or reduced to a one-cell skeleton, decomposed into
   ``b11``/``b31``/``b13`` blocks, then edited as a builder would (a block dropped,
   added or shifted, pillars under overhangs) and rendered with
   :func:`~domains.science_birds.raster.rasterize_cells`.

Model: an MLP (1024 blurred pixels -> 512 ReLU -> 26) fitted with scikit-learn on the
images plus one copy shifted by up to 2 pixels, exported to a numpy-only ``.npz``.

Held out: block-art letters at grid heights never used in training (odd heights
9-15; training uses even ones), from an independent seed. The script prints the
held-out accuracy and saves the confusion matrix (``--confusion PNG``).
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath
from scipy import ndimage

from domains.science_birds.classifier import LETTERS, LetterClassifier
from domains.science_birds.level import GRID_WIDTH
from domains.science_birds.raster import rasterize_cells, rasterize_mask, rasterize_paths

__all__ = [
    "FONT_FILES",
    "HELDOUT_HEIGHTS",
    "TRAIN_HEIGHTS",
    "block_art_dataset",
    "evaluate_examples",
    "font_dataset",
    "main",
    "train",
]

FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "cmb10.ttf",
    "cmti10.ttf",
)
"""Fonts bundled with matplotlib (``matplotlib.get_data_path()/fonts/ttf``)."""

TRAIN_HEIGHTS = (8, 10, 12, 14, 16)
"""Block-art letter heights (grid cells) used for training."""

HELDOUT_HEIGHTS = (9, 11, 13, 15)
"""Block-art letter heights used only for the held-out evaluation."""

IMAGE_SIZE = 32
BLUR_SIGMA = 1.0
EXAMPLES_DIR = Path(__file__).with_name("examples")


# ----------------------------------------------------------------------------- glyphs


@functools.cache
def glyph_polygons(font_file: str, letter: str) -> tuple[np.ndarray, ...]:
    """Flattened outline polygons of one glyph, normalised to height 1 (cached)."""
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / font_file
    if not path.exists():
        raise FileNotFoundError(f"matplotlib does not ship {font_file} here ({path})")
    text = TextPath((0, 0), letter, size=1.0, prop=FontProperties(fname=str(path)))
    polygons = [p for p in text.to_polygons(closed_only=False) if len(p) >= 3]
    allv = np.concatenate(polygons)
    lo, hi = allv.min(axis=0), allv.max(axis=0)
    height = max(hi[1] - lo[1], 1e-9)
    return tuple((p - lo) / height for p in polygons)


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


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning: reduce a binary picture to a one-pixel-wide skeleton."""
    img = np.pad(mask.astype(bool), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = img
            n = p[:-2, 1:-1]
            ne = p[:-2, 2:]
            e = p[1:-1, 2:]
            se = p[2:, 2:]
            s = p[2:, 1:-1]
            sw = p[2:, :-2]
            w = p[1:-1, :-2]
            nw = p[:-2, :-2]
            ring = [n, ne, e, se, s, sw, w, nw, n]
            b = sum(x.astype(np.int8) for x in ring[:8])
            a = sum((~ring[i] & ring[i + 1]).astype(np.int8) for i in range(8))
            if step == 0:
                c1, c2 = n & e & s, e & s & w
            else:
                c1, c2 = n & e & w, n & s & w
            kill = p[1:-1, 1:-1] & (b >= 2) & (b <= 6) & (a == 1) & ~c1 & ~c2
            if kill.any():
                img = img.copy()
                img[1:-1, 1:-1] &= ~kill
                changed = True
        if not changed:
            return img[1:-1, 1:-1]


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


def _cells(block: tuple[str, int, int]) -> list[tuple[int, int]]:
    kind, col, row = block
    left, right, h = _SPAN[kind]
    return [(c, r) for c in range(col - left, col + right + 1) for r in range(row, row + h)]


def _edit(blocks: list, rng: np.random.Generator) -> list:
    """Builder-like noise: drop, add or shift a block; prop up overhanging blocks."""
    blocks = list(blocks)
    if len(blocks) > 4 and rng.random() < 0.25:
        blocks.pop(int(rng.integers(len(blocks))))
    if rng.random() < 0.25:
        occupied = {cell for b in blocks for cell in _cells(b)}
        col, row = next(iter(_cells(blocks[int(rng.integers(len(blocks)))])))
        dc, dr = [(1, 0), (-1, 0), (0, 1), (0, -1)][int(rng.integers(4))]
        cand = ("b11", col + dc, max(0, row + dr))
        if cand[1:] not in occupied:
            blocks.append(cand)
    if rng.random() < 0.25:
        i = int(rng.integers(len(blocks)))
        kind, col, row = blocks[i]
        blocks[i] = (kind, col + int(rng.choice([-1, 1])), row)
    if rng.random() < 0.3:
        occupied = {cell for b in blocks for cell in _cells(b)}
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
    blocks = _edit(decompose(grid, rng), rng)
    return rasterize_cells([cell for b in blocks for cell in _cells(b)], size=IMAGE_SIZE)


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


# ----------------------------------------------------------------------------- model


def shifted(images: np.ndarray, rng: np.random.Generator, *, max_shift: int = 2) -> np.ndarray:
    """Copies of ``images`` moved by up to ``max_shift`` pixels each way (zeros shifted in).

    The rasters are always centred, but a pixel MLP is not shift-invariant by itself;
    training on slightly moved copies makes it depend less on exact stroke positions.
    """
    n, h, w = images.shape
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    out = np.empty_like(images)
    for i in range(n):
        out[i] = padded[i, dy[i] : dy[i] + h, dx[i] : dx[i] + w]
    return out


def train(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int,
    hidden: Sequence[int] = (512,),
    epochs: int = 30,
    alpha: float = 1e-3,
    shift_copies: int = 1,
) -> LetterClassifier:
    """Fit a scikit-learn MLP and export it as a numpy :class:`LetterClassifier`.

    Args:
        images: ``(n, 32, 32)`` rasters, 1 = ink.
        labels: ``(n,)`` indices into :data:`LETTERS`.
        seed: seeds the shifted copies and the network's initialisation and shuffling.
        hidden: hidden layer widths (ReLU).
        epochs: passes over the data (Adam, batches of 256, no early stopping).
        alpha: L2 penalty.
        shift_copies: extra randomly shifted copies of the data (see :func:`shifted`).

    Returns:
        The trained classifier.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng([seed, 7])
    images = np.concatenate([images] + [shifted(images, rng) for _ in range(shift_copies)])
    labels = np.concatenate([labels] * (1 + shift_copies))
    x = LetterClassifier.preprocess(images, BLUR_SIGMA)
    mean = x.mean(axis=0)
    scale = np.full_like(mean, max(float(x.std()), 1e-6))
    mlp = MLPClassifier(
        hidden_layer_sizes=tuple(hidden),
        alpha=alpha,
        batch_size=256,
        learning_rate_init=1e-3,
        max_iter=epochs,
        shuffle=True,
        random_state=seed,
        tol=0.0,
        n_iter_no_change=epochs + 1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit((x - mean) / scale, labels)
    if list(mlp.classes_) != list(range(len(LETTERS))):
        raise RuntimeError("training data must contain every letter")
    return LetterClassifier(
        weights=mlp.coefs_,
        biases=mlp.intercepts_,
        mean=mean,
        scale=scale,
        image_size=IMAGE_SIZE,
        blur_sigma=BLUR_SIGMA,
    )


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Counts ``[true, predicted]`` over the 26 letters."""
    out = np.zeros((len(LETTERS), len(LETTERS)), dtype=np.int64)
    np.add.at(out, (labels, predicted), 1)
    return out


def save_confusion_png(matrix: np.ndarray, path: Path, title: str) -> None:
    """Row-normalised confusion matrix as a PNG."""
    import matplotlib.pyplot as plt

    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6.2), dpi=110)
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(LETTERS)), list(LETTERS), fontsize=7)
    ax.set_yticks(range(len(LETTERS)), list(LETTERS), fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of true letter")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("classifier_weights.npz"))
    parser.add_argument("--font-samples", type=int, default=24, help="per font and letter")
    parser.add_argument("--block-samples", type=int, default=40, help="per font and letter")
    parser.add_argument("--heldout-samples", type=int, default=3, help="per font and letter")
    parser.add_argument("--hidden", type=int, nargs="+", default=[512])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--confusion", type=Path, default=None, help="held-out confusion PNG")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    xf, yf = font_dataset(rng, args.font_samples)
    xb, yb = block_art_dataset(rng, args.block_samples, TRAIN_HEIGHTS)
    images, labels = np.concatenate([xf, xb]), np.concatenate([yf, yb])
    t_data = time.perf_counter() - start
    print(f"data: {len(xf)} font + {len(xb)} block-art images in {t_data:.0f} s")

    clf = train(images, labels, seed=args.seed, hidden=args.hidden, epochs=args.epochs)
    t_train = time.perf_counter() - start - t_data
    print(f"training: {t_train:.0f} s; train accuracy {_accuracy(clf, images, labels):.3f}")
    clf.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")

    held_rng = np.random.default_rng([args.seed, 1_000_003])
    xh, yh = block_art_dataset(held_rng, args.heldout_samples, HELDOUT_HEIGHTS)
    predicted = clf.predict_proba(xh).argmax(axis=1)
    acc = float(np.mean(predicted == yh))
    print(f"held-out block-art accuracy: {acc:.3f} on {len(yh)} images")
    if args.confusion is not None:
        title = f"held-out block-art letters (heights 9-15), accuracy {acc:.1%}, n={len(yh)}"
        save_confusion_png(confusion_matrix(yh, predicted), args.confusion, title)
        print(f"wrote {args.confusion}")
    print(f"total: {time.perf_counter() - start:.0f} s")
    print()
    print(format_examples_table(evaluate_examples(clf)))
    return 0


def evaluate_examples(
    clf: LetterClassifier, examples_dir: Path = EXAMPLES_DIR
) -> list[tuple[str, str, float, float]]:
    """Classify the shipped hand-built letters (grid level, before physics).

    Returns:
        One ``(letter, predicted, p(predicted), p(letter))`` per ``examples/<L>.py``.
    """
    from domains.science_birds.converter import build_level
    from domains.science_birds.language import parse_program
    from domains.science_birds.raster import rasterize_level

    images = [
        rasterize_level(build_level(parse_program((examples_dir / f"{L}.py").read_text())))
        for L in LETTERS
    ]
    proba = clf.predict_proba(np.stack(images))
    rows = []
    for i, letter in enumerate(LETTERS):
        best = int(proba[i].argmax())
        rows.append((letter, LETTERS[best], float(proba[i, best]), float(proba[i, i])))
    return rows


def format_examples_table(rows: Sequence[tuple[str, str, float, float]]) -> str:
    """Markdown table of :func:`evaluate_examples`, with the count recognised."""
    lines = ["| letter | predicted | p(predicted) | p(letter) |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {pb:.3f} | {pa:.3f} |" for a, b, pb, pa in rows]
    hits = sum(a == b for a, b, _, _ in rows)
    lines.append(f"\nrecognised (top-1): {hits} / {len(rows)}")
    return "\n".join(lines)


def _accuracy(clf: LetterClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(clf.predict_proba(images).argmax(axis=1) == labels))


if __name__ == "__main__":
    sys.exit(main())
