"""How the OCR letter judges' renderings were chosen: accuracy on their training set.

    python experiments/ocr_rendering.py --judge rapidocr [--per-letter 2] [--random 30]

The training set is the one ``tesseract_judge.py`` was tuned on and that
``experiments/letter_judges.py`` never measures on: the glyph judge's calibration fonts
drawn in blocks at seed 0 (``--per-letter`` per letter) and ``--random`` random settled
levels (not letters). For each rendering (letter height, margin) and each reading option
the judge offers, it prints how many letters it reads right and how many random levels
it rejects; the defaults in the judge's module are the best row (ties go to the simpler
option). Judges: ``rapidocr`` (onnxruntime + the rapidocr wheel), ``easyocr`` (the
``easyocr`` extra: torch, so a separate environment).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.science_birds.classifier import LETTERS
from domains.science_birds.fit_glyph_judge import (
    CALIBRATION_FONTS,
    glyph_in_blocks,
    random_settled_levels,
)

NONE = len(LETTERS)


def training_set(per_letter: int, n_random: int) -> tuple[list, list[int]]:
    """Glyph letters at seed 0 and random settled levels, labelled (26 = not a letter)."""
    rng = np.random.default_rng(0)
    levels, labels = [], []
    for label, letter in enumerate(LETTERS):
        for i in range(per_letter):
            levels.append(
                glyph_in_blocks(rng, CALIBRATION_FONTS[i % len(CALIBRATION_FONTS)], letter)
            )
            labels.append(label)
    levels += random_settled_levels(rng, n_random)
    labels += [NONE] * n_random
    return levels, labels


def rows(name: str, levels: list):
    """``(description, (n, 27) probabilities)`` for every rendering and option tried."""
    if name == "rapidocr":
        from domains.science_birds.rapidocr_judge import RapidOCRJudge

        for height, padding in itertools.product([24, 32, 48], [4, 8, 16]):
            judge = RapidOCRJudge(height=height, padding=padding)
            columns = [judge.columns(judge.render(p, k, degrees=False)) for p, k in levels]
            for whitelist, fold in itertools.product([True, False], [True, False]):
                judge.whitelist, judge.fold_case = whitelist, fold
                yield (
                    f"height {height}, margin {padding}, whitelist {whitelist}, fold case {fold}",
                    np.array([judge.proba_from_columns(c) for c in columns]),
                )
    elif name == "easyocr":
        from domains.science_birds.easyocr_judge import EasyOCRJudge

        for height, padding in itertools.product([24, 32, 48, 64], [4, 8, 16]):
            for allowlist in [True, False]:
                judge = EasyOCRJudge(height=height, padding=padding, allowlist=allowlist)
                yield (
                    f"height {height}, margin {padding}, allowlist {allowlist}",
                    judge.predict_proba(levels),
                )
    else:
        raise SystemExit(f"unknown judge {name!r}: choose rapidocr or easyocr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="rapidocr", choices=["rapidocr", "easyocr"])
    parser.add_argument("--per-letter", type=int, default=2)
    parser.add_argument("--random", type=int, default=30)
    args = parser.parse_args()
    levels, labels = training_set(args.per_letter, args.random)
    truth = np.array(labels)
    letters = truth < NONE
    print(
        f"| {args.judge} rendering | letters read (of {letters.sum()}) | random rejected "
        f"(of {(~letters).sum()}) | total |\n|---|---:|---:|---:|"
    )
    for description, proba in rows(args.judge, levels):
        read = proba.argmax(axis=1)
        right = read == truth
        print(
            f"| {description} | {right[letters].sum()} | {right[~letters].sum()} | {right.sum()} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
