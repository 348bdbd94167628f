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
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.path import Path as MplPath
from scipy import ndimage

from domains.science_birds.classifier import LETTERS, LetterClassifier
from domains.science_birds.glyphs import FONT_FILES, glyph_polygons, thin
from domains.science_birds.level import GRID_WIDTH
from domains.science_birds.not_letters import load_not_letters, random_programs, settled_images
from domains.science_birds.raster import rasterize_cells, rasterize_mask, rasterize_paths
from qd.judge_metrics import top_label_calibration_error

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

TRAIN_HEIGHTS = (8, 10, 12, 14, 16)
"""Block-art letter heights (grid cells) used for training."""

HELDOUT_HEIGHTS = (9, 11, 13, 15)
"""Block-art letter heights used only for the held-out evaluation."""

IMAGE_SIZE = 32
BLUR_SIGMA = 1.0
EXAMPLES_DIR = Path(__file__).with_name("examples")


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
    with_none: bool = False,
) -> LetterClassifier:
    """Fit a scikit-learn MLP and export it as a numpy :class:`LetterClassifier`.

    Args:
        images: ``(n, 32, 32)`` rasters, 1 = ink.
        labels: ``(n,)`` indices into :data:`LETTERS` (26 = not a letter).
        seed: seeds the shifted copies and the network's initialisation and shuffling.
        hidden: hidden layer widths (ReLU).
        epochs: passes over the data (Adam, batches of 256, no early stopping).
        alpha: L2 penalty.
        shift_copies: extra randomly shifted copies of the data (see :func:`shifted`).
        with_none: the data has a 27th class, not a letter.

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
    n_classes = len(LETTERS) + int(with_none)
    if list(mlp.classes_) != list(range(n_classes)):
        raise RuntimeError(f"training data must contain all {n_classes} classes")
    return LetterClassifier(
        weights=mlp.coefs_,
        biases=mlp.intercepts_,
        mean=mean,
        scale=scale,
        image_size=IMAGE_SIZE,
        blur_sigma=BLUR_SIGMA,
        with_none=with_none,
    )


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The softmax temperature minimising the log-loss of ``logits`` on ``labels``
    (held-out data: a temperature fitted on training data stays overconfident)."""
    from scipy.optimize import minimize_scalar

    z = np.asarray(logits, dtype=np.float64)
    rows = np.arange(len(labels))

    def loss(log_t: float) -> float:
        scaled = z / np.exp(log_t)
        scaled -= scaled.max(axis=1, keepdims=True)
        log_p = scaled[rows, labels] - np.log(np.exp(scaled).sum(axis=1))
        return -float(np.mean(log_p))

    return float(np.exp(minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded").x))


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


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Counts ``[true, predicted]`` over the classes (26 letters, 27 with not a letter)."""
    n = max(int(labels.max()), int(predicted.max()), len(LETTERS) - 1) + 1
    out = np.zeros((n, n), dtype=np.int64)
    np.add.at(out, (labels, predicted), 1)
    return out


def save_confusion_png(matrix: np.ndarray, path: Path, title: str) -> None:
    """Row-normalised confusion matrix as a PNG."""
    import matplotlib.pyplot as plt

    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6.2), dpi=110)
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    names = list(LETTERS) + ["-"] * (len(matrix) - len(LETTERS))
    ax.set_xticks(range(len(names)), names, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of true letter")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    fit_and_report(parse_args(argv))
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The training options (``--help`` lists them)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("classifier_weights.npz"))
    parser.add_argument("--font-samples", type=int, default=24, help="per font and letter")
    parser.add_argument("--block-samples", type=int, default=40, help="per font and letter")
    parser.add_argument("--heldout-samples", type=int, default=3, help="per font and letter")
    parser.add_argument("--hidden", type=int, nargs="+", default=[512])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--confusion", type=Path, default=None, help="held-out confusion PNG")
    parser.add_argument(
        "--random-levels",
        type=int,
        default=1600,
        help="random settled levels as 'not a letter' (0: a 26-class classifier)",
    )
    parser.add_argument(
        "--not-letters",
        type=Path,
        action="append",
        default=[],
        help="a not_letters.json of adversarial levels (repeatable)",
    )
    return parser.parse_args(argv)


def fit_and_report(args: argparse.Namespace) -> dict[str, float]:
    """Train, calibrate and save a classifier; print and return its held-out numbers."""
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    xf, yf = font_dataset(rng, args.font_samples)
    xb, yb = block_art_dataset(rng, args.block_samples, TRAIN_HEIGHTS)
    with_none = args.random_levels > 0 or bool(args.not_letters)
    none_train, none_held = not_letter_data(
        np.random.default_rng([args.seed, 3]), args.random_levels, args.not_letters
    )
    none_label = len(LETTERS)
    images = np.concatenate([xf, xb, none_train])
    labels = np.concatenate([yf, yb, np.full(len(none_train), none_label)])
    t_data = time.perf_counter() - start
    print(
        f"data: {len(xf)} font + {len(xb)} block-art + {len(none_train)} not-a-letter "
        f"images in {t_data:.0f} s"
    )

    clf = train(
        images,
        labels,
        seed=args.seed,
        hidden=args.hidden,
        epochs=args.epochs,
        with_none=with_none,
    )
    t_train = time.perf_counter() - start - t_data
    print(f"training: {t_train:.0f} s; train accuracy {_accuracy(clf, images, labels):.3f}")

    held_rng = np.random.default_rng([args.seed, 1_000_003])
    xh, yh = block_art_dataset(held_rng, args.heldout_samples, HELDOUT_HEIGHTS)
    if with_none:
        xh = np.concatenate([xh, none_held])
        yh = np.concatenate([yh, np.full(len(none_held), none_label)])
    # The temperature is fitted on one half of the held-out data, scored on the other.
    calibrate = np.zeros(len(yh), dtype=bool)
    calibrate[held_rng.permutation(len(yh))[: len(yh) // 2]] = True
    clf.temperature = fit_temperature(clf.logits(xh[calibrate]), yh[calibrate])
    proba = clf.predict_proba(xh[~calibrate])
    ece = top_label_calibration_error(proba, yh[~calibrate])
    print(f"temperature {clf.temperature:.3f}: held-out calibration error {ece:.3f}")
    clf.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")

    predicted = clf.predict_proba(xh).argmax(axis=1)
    letters = yh < none_label
    acc = float(np.mean(predicted[letters] == yh[letters]))
    print(f"held-out block-art accuracy: {acc:.3f} on {int(letters.sum())} images")
    if with_none:
        rejected = float(np.mean(predicted[~letters] == none_label))
        print(f"held-out not-a-letter levels rejected: {rejected:.3f} of {int((~letters).sum())}")
    if args.confusion is not None:
        title = f"held-out block-art letters (heights 9-15), accuracy {acc:.1%}, n={len(yh)}"
        save_confusion_png(confusion_matrix(yh, predicted), args.confusion, title)
        print(f"wrote {args.confusion}")
    print(f"total: {time.perf_counter() - start:.0f} s")
    print()
    examples = evaluate_examples(clf)
    print(format_examples_table(examples))
    stats = {
        "heldout_letter_accuracy": acc,
        "calibration_error": ece,
        "temperature": clf.temperature,
        "examples_recognised": sum(a == b for a, b, _, _ in examples),
    }
    if with_none:
        stats["not_letters_rejected"] = rejected
    return stats


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
        rows.append((letter, clf.classes[best], float(proba[i, best]), float(proba[i, i])))
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
