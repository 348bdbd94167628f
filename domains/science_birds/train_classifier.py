"""Train the letter classifier of :mod:`domains.science_birds.classifier`, offline.

Run::

    python -m domains.science_birds.train_classifier --seed 0 \\
        --out domains/science_birds/classifier_weights.npz \\
        --confusion docs/classifier_confusion.png

(about two minutes on two CPU cores).

Everything follows from ``--seed``: the same seed on the same library versions writes
the same weights. Only the fonts bundled with matplotlib are used, so every machine
sees the same glyphs.

Training data (font letters, block-art letters, not-a-letter levels) is built by
:mod:`domains.science_birds.letter_data`. This module is the training: shifted copies,
the fit, the temperature, the held-out report.

Model: an MLP (1024 blurred pixels -> 512 ReLU -> 26) fitted with scikit-learn on the
images plus one copy shifted by up to 2 pixels, exported to a numpy-only ``.npz``.

Held out: block-art letters at grid heights never used in training (odd heights
9-15; training uses even ones), from an independent seed. The script prints the
held-out accuracy and saves the confusion matrix (``--confusion PNG``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from domains.science_birds.classifier import LETTERS, LetterClassifier
from domains.science_birds.letter_data import (
    HELDOUT_HEIGHTS,
    IMAGE_SIZE,
    TRAIN_HEIGHTS,
    block_art_dataset,
    font_dataset,
    not_letter_data,
)
from qd.metrics.judges import top_label_calibration_error

__all__ = [
    "confusion_matrix",
    "evaluate_examples",
    "fit_and_report",
    "fit_temperature",
    "main",
    "parse_args",
    "shifted",
    "train",
]

BLUR_SIGMA = 1.0
EXAMPLES_DIR = Path(__file__).with_name("examples")

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
