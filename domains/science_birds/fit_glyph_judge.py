"""Fit the held-out letter judge's calibration (two numbers) on its own data.

Run::

    python -m domains.science_birds.fit_glyph_judge --seed 0   # writes glyph_judge.json

Letters: font glyphs drawn in blocks (:func:`glyph_in_blocks`) from fonts that are not
its templates. Not letters: random level programs settled in Box2D. Nothing here comes
from the search classifier: not its training data, not its verdicts. Half of each set
fits the temperature and the not-a-letter score; the other half is scored and printed
(accuracy over A-Z plus "not a letter", the share of letters it accepts and of random
levels it rejects at similarity 0.5, expected calibration error).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from domains.science_birds.classifier import LETTERS
from domains.science_birds.glyph_judge import (
    DEFAULT_PARAMS,
    GlyphJudge,
    _fill,
    fit_calibration,
    level_mask,
)
from domains.science_birds.glyphs import glyph_polygons
from domains.science_birds.not_letters import program_level, random_programs
from domains.science_birds.physics import simulate
from domains.science_birds.raster import CELL_SIZE
from qd.metrics.judges import top_label_calibration_error

NONE = len(LETTERS)
CALIBRATION_FONTS = (
    "DejaVuSans-Oblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "STIXGeneral.ttf",
    "cmr10.ttf",
    "cmtt10.ttf",
    "cmb10.ttf",
)
"""Fonts of the letters the calibration fits on: none of them is a template font."""


def glyph_in_blocks(
    rng: np.random.Generator, font_file: str, letter: str
) -> tuple[list[tuple[float, float, float]], list[str]]:
    """A glyph sampled onto grid cells (7-15 high), one ``b11`` pose per inked cell.

    The judge's own letter data: a font glyph at block resolution, stretched between
    x0.6 and x1.4, cells inked where the glyph covers 35-55% of them; no block
    decomposition or builder's edits (that is the search judge's data).
    """
    polygons = glyph_polygons(font_file, letter)
    aspect = float(np.concatenate(polygons)[:, 0].max())
    height = int(rng.integers(7, 16))
    width = int(np.clip(round(height * aspect * math.exp(rng.uniform(-0.5, 0.35))), 1, 20))
    fine = 8
    coverage = _fill([p / np.array([aspect, 1.0]) for p in polygons], fine * max(height, width))
    coverage = coverage[:, : fine * max(height, width)]
    rows = np.linspace(0, coverage.shape[0], height + 1).astype(int)
    cols = np.linspace(0, coverage.shape[1], width + 1).astype(int)
    threshold = rng.uniform(0.35, 0.55)
    poses, kinds = [], []
    for r in range(height):
        for c in range(width):
            cell = coverage[rows[r] : rows[r + 1], cols[c] : cols[c + 1]]
            if cell.size and cell.mean() > threshold:
                poses.append(((c + 0.5) * CELL_SIZE, (height - r - 0.5) * CELL_SIZE, 0.0))
                kinds.append("b11")
    return poses, kinds


def random_settled_levels(
    rng: np.random.Generator, n: int
) -> list[tuple[list[tuple[float, float, float]], list[str]]]:
    """``n`` random programs (the search's random starts) at their settled poses."""
    levels: list[tuple[list[tuple[float, float, float]], list[str]]] = []
    for program in random_programs(rng, n):
        level = program_level(program)
        assert level is not None  # random_programs keeps only programs that build
        result = simulate(level)
        levels.append((list(result.poses), [b.block_type for b in level.blocks]))
    return levels


def calibration_set(
    seed: int, per_letter: int, n_random: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match scores, labels (26 = not a letter) and a fit/test split (True = fit)."""
    rng = np.random.default_rng(seed)
    judge = GlyphJudge()
    rows, labels = [], []
    for label, letter in enumerate(tqdm(LETTERS, desc="glyph letters", leave=False)):
        for i in range(per_letter):
            font = CALIBRATION_FONTS[i % len(CALIBRATION_FONTS)]
            poses, kinds = glyph_in_blocks(rng, font, letter)
            rows.append(judge.matches(*level_mask(poses, kinds)))
            labels.append(label)
    for poses, kinds in tqdm(random_settled_levels(rng, n_random), desc="random levels"):
        rows.append(judge.matches(*level_mask(poses, kinds)))
        labels.append(NONE)
    label_array = np.array(labels)
    fit = np.zeros(len(label_array), dtype=bool)
    for label in np.unique(label_array):
        members = rng.permutation(np.flatnonzero(label_array == label))
        fit[members[: len(members) // 2]] = True
    return np.array(rows), label_array, fit


def scores(judge: GlyphJudge, matches: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """What the calibration is worth on ``matches`` it did not fit."""
    proba = judge.proba_from_matches(matches)
    letters = labels < NONE
    truth = proba[np.arange(len(labels)), labels]
    target = np.where(letters, truth, 1.0 - proba[:, NONE])
    return {
        "accuracy": float(np.mean(proba.argmax(axis=1) == labels)),
        "letter_accuracy": float(np.mean(proba[letters, :NONE].argmax(axis=1) == labels[letters])),
        "letters_accepted": float(np.mean(truth[letters] >= 0.5)),
        "random_rejected": float(np.mean(proba[~letters, :NONE].max(axis=1) < 0.5)),
        "ece": top_label_calibration_error(proba, labels),
        "mean_target_probability": float(np.mean(target)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-letter", type=int, default=24)
    parser.add_argument("--random", type=int, default=400)
    parser.add_argument("--out", default=str(DEFAULT_PARAMS))
    args = parser.parse_args(argv)
    matches, labels, fit = calibration_set(args.seed, args.per_letter, args.random)
    temperature, none_score = fit_calibration(matches[fit], labels[fit])
    judge = GlyphJudge(temperature, none_score)
    held_out = scores(judge, matches[~fit], labels[~fit])
    for key, value in held_out.items():
        print(f"{key:>24}: {value:.3f}")
    judge.save(
        args.out,
        seed=args.seed,
        fitted_on=f"{int(fit.sum())} levels ({args.per_letter // 2} glyphs per letter, "
        f"{args.random // 2} random)",
        held_out={k: round(v, 4) for k, v in held_out.items()},
    )
    print(f"temperature {temperature:.4f}, none score {none_score:.4f} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
