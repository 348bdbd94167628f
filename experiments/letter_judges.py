"""The letter judges on labelled levels: what each number they give is worth.

    python experiments/letter_judges.py [--per-letter 8] [--random 200] [--seed 1]
        [--weights domains/science_birds/classifier_weights.npz]

Labelled sets (letters, or "not a letter"):

- ``glyph letters``: font glyphs drawn in blocks (the glyph judge's own kind of data,
  from fonts that are not its templates; a fresh seed);
- ``block-art letters``: the classifier's held-out kind (grid heights 9-15, blocks
  decomposed and edited as a builder would; a fresh seed);
- ``standing examples``: the 26 hand-built letters of ``examples/``, settled in Box2D;
- ``random levels``: random programs settled in Box2D (not letters);
- ``adversarial``: the held-out quarter of ``not_letters.json`` (search elites that
  fooled an earlier classifier). The glyph judge chose them, so its row there is
  circular and left out.

Judges: the search classifier, the glyph judge and, when the ``tesseract`` binary is
installed (``apt-get install tesseract-ocr``), the Tesseract judge (its rendering was
chosen on the glyph judge's calibration fonts at seed 0, not on these sets). For each
judge and set: top-1 accuracy over A-Z plus "not a letter" (a 26-class judge
never says "not a letter"), the share accepted (a letter whose own similarity is >= 0.5;
a non-letter whose every letter is < 0.5 counts as rejected) and the top-label
calibration error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.science_birds import letter_data
from domains.science_birds.classifier import DEFAULT_WEIGHTS, LETTERS, LetterClassifier
from domains.science_birds.domain import example_program
from domains.science_birds.fit_glyph_judge import (
    CALIBRATION_FONTS,
    glyph_in_blocks,
    random_settled_levels,
)
from domains.science_birds.glyph_judge import GlyphJudge
from domains.science_birds.glyphs import FONT_FILES
from domains.science_birds.not_letters import DEFAULT_NOT_LETTERS, load_not_letters, program_level
from domains.science_birds.physics import simulate
from domains.science_birds.raster import CELL_SIZE, rasterize_poses
from domains.science_birds.tesseract_judge import TesseractJudge, tesseract_available
from qd.metrics.judges import top_label_calibration_error

NONE = len(LETTERS)
Level = tuple[list, list[str]]  # (poses in radians, block types)


def block_art_levels(rng: np.random.Generator, per_font: int) -> tuple[list[Level], list[int]]:
    """Block-built letters at the classifier's held-out grid heights, on the grid."""
    levels, labels = [], []
    for font in FONT_FILES[::3]:
        for label, letter in enumerate(LETTERS):
            for _ in range(per_font):
                grid = letter_data.letter_grid(rng, font, letter, letter_data.HELDOUT_HEIGHTS)
                blocks = letter_data.edit_blocks(letter_data.decompose(grid, rng), rng)
                cells = sorted({c for b in blocks for c in letter_data.block_cells(b)})
                poses = [((c + 0.5) * CELL_SIZE, (r + 0.5) * CELL_SIZE, 0.0) for c, r in cells]
                levels.append((poses, ["b11"] * len(poses)))
                labels.append(label)
    return levels, labels


def settled(programs) -> list[Level]:
    out = []
    for program in programs:
        level = program_level(program)
        if level is not None:
            out.append((list(simulate(level).poses), [b.block_type for b in level.blocks]))
    return out


def labelled_sets(args) -> dict[str, tuple[list[Level], list[int]]]:
    rng = np.random.default_rng(args.seed)
    glyph_levels, glyph_labels = [], []
    for label, letter in enumerate(LETTERS):
        for i in range(args.per_letter):
            font = CALIBRATION_FONTS[(i + args.seed) % len(CALIBRATION_FONTS)]
            glyph_levels.append(glyph_in_blocks(rng, font, letter))
            glyph_labels.append(label)
    examples = settled(example_program(letter) for letter in LETTERS)
    sets = {
        "glyph letters": (glyph_levels, glyph_labels),
        "block-art letters": block_art_levels(rng, max(1, args.per_letter // 7)),
        "standing examples": (examples, list(range(len(LETTERS)))),
        "random levels": (
            random_settled_levels(rng, args.random),
            [NONE] * args.random,
        ),
    }
    adversarial = [r["program"] for r in load_not_letters(args.not_letters)][::4]
    if adversarial:
        levels = settled(adversarial)
        sets["adversarial"] = (levels, [NONE] * len(levels))
    return sets


def scores(proba: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    letters = labels < NONE
    accepted = np.where(
        letters,
        proba[np.arange(len(labels)), np.minimum(labels, NONE - 1)] >= 0.5,
        proba[:, :NONE].max(axis=1) < 0.5,
    )
    if proba.shape[1] == NONE:  # no "not a letter" class: pad so the labels index
        proba = np.hstack([proba, np.zeros((len(proba), 1))])
    return {
        "accuracy": float(np.mean(proba.argmax(axis=1) == labels)),
        "accepted": float(np.mean(accepted)),
        "ece": top_label_calibration_error(proba, labels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-letter", type=int, default=8)
    parser.add_argument("--random", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--not-letters", type=Path, default=DEFAULT_NOT_LETTERS)
    args = parser.parse_args()
    classifier = LetterClassifier.load(args.weights)
    glyphs = GlyphJudge.load()
    tesseract = TesseractJudge() if tesseract_available() else None
    print(
        f"search judge: {args.weights} ({len(classifier.classes)} classes, "
        f"temperature {classifier.temperature:.2f}); held-out judges: glyph matching, "
        + ("Tesseract" if tesseract else "(no Tesseract: apt-get install tesseract-ocr)")
        + "\n"
    )
    print(
        "| set | n | classifier acc. | accepted | ECE | glyph judge acc. | accepted | ECE |"
        + (" Tesseract acc. | accepted | ECE |" if tesseract else "")
        + "\n|---|---:|---:|---:|---:|---:|---:|---:|"
        + ("---:|---:|---:|" if tesseract else "")
    )
    standing_reads = ""
    for name, (levels, labels) in labelled_sets(args).items():
        labels = np.asarray(labels)
        images = np.stack([rasterize_poses(p, k, degrees=False) for p, k in levels])
        search = scores(classifier.predict_proba(images), labels)
        heldout = scores(glyphs.predict_proba(levels), labels)
        glyph_cells = (
            "n/a (it chose them) | - | -"
            if name == "adversarial"
            else f"{heldout['accuracy']:.3f} | {heldout['accepted']:.3f} | {heldout['ece']:.3f}"
        )
        ocr_cells = ""
        if tesseract is not None:
            proba = tesseract.predict_proba(levels)
            ocr = scores(proba, labels)
            ocr_cells = f" {ocr['accuracy']:.3f} | {ocr['accepted']:.3f} | {ocr['ece']:.3f} |"
            if name == "standing examples":
                standing_reads = "".join(
                    LETTERS[i] if i < NONE else "-" for i in proba.argmax(axis=1)
                )
        print(
            f"| {name} | {len(labels)} | {search['accuracy']:.3f} | {search['accepted']:.3f} "
            f"| {search['ece']:.3f} | {glyph_cells} |{ocr_cells}",
            flush=True,
        )
    if standing_reads:
        print(f"\nTesseract reads the 26 standing examples A-Z as: {standing_reads}")


if __name__ == "__main__":
    main()
