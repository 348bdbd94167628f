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

Judges: the search classifier, the glyph judge and the OCR judges that are installed:
Tesseract (``apt-get install tesseract-ocr``), RapidOCR (onnxruntime and the rapidocr
wheel, which ``make`` installs) and EasyOCR (the ``easyocr`` extra: PyTorch). Their
renderings were chosen on the glyph judge's calibration fonts at seed 0, not on these
sets (``experiments/ocr_rendering.py``). For each
judge and set: top-1 accuracy over A-Z plus "not a letter" (a 26-class judge
never says "not a letter"), the share accepted (a letter whose own similarity is >= 0.5;
a non-letter whose every letter is < 0.5 counts as rejected) and the top-label
calibration error. Each OCR judge's seconds per level (mean over every set) follow the
table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.science_birds import easyocr_judge as E
from domains.science_birds import letter_data
from domains.science_birds import rapidocr_judge as R
from domains.science_birds import tesseract_judge as T
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


def ocr_judges() -> tuple[dict, list[tuple[str, str]]]:
    """The OCR judges installed here, by name, and ``(name, what to install)`` for the rest."""
    found, missing = {}, []
    for name, available, make, hint in [
        ("Tesseract", T.tesseract_available, T.TesseractJudge, T.INSTALL_HINT),
        ("RapidOCR", R.rapidocr_available, R.RapidOCRJudge, R.INSTALL_HINT),
        ("EasyOCR", E.easyocr_available, E.EasyOCRJudge, E.INSTALL_HINT),
    ]:
        if available():
            found[name] = make()
        else:
            missing.append((name, hint))
    return found, missing


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
    ocr, missing = ocr_judges()
    print(
        f"search judge: {args.weights} ({len(classifier.classes)} classes, "
        f"temperature {classifier.temperature:.2f}); held-out judges: glyph matching"
        + "".join(f", {name}" for name in ocr)
        + "".join(f" (no {name}: {hint})" for name, hint in missing)
        + "\n"
    )
    print(
        "| set | n | classifier acc. | accepted | ECE | glyph judge acc. | accepted | ECE |"
        + "".join(f" {name} acc. | accepted | ECE |" for name in ocr)
        + "\n|---|---:|---:|---:|---:|---:|---:|---:|"
        + "---:|---:|---:|" * len(ocr)
    )
    standing_reads: dict[str, str] = {}
    seconds = dict.fromkeys(ocr, 0.0)
    n_levels = 0
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
        n_levels += len(levels)
        for judge_name, judge in ocr.items():
            start = time.perf_counter()
            proba = judge.predict_proba(levels)
            seconds[judge_name] += time.perf_counter() - start
            got = scores(proba, labels)
            ocr_cells += f" {got['accuracy']:.3f} | {got['accepted']:.3f} | {got['ece']:.3f} |"
            if name == "standing examples":
                standing_reads[judge_name] = "".join(
                    LETTERS[i] if i < NONE else "-" for i in proba.argmax(axis=1)
                )
        print(
            f"| {name} | {len(labels)} | {search['accuracy']:.3f} | {search['accepted']:.3f} "
            f"| {search['ece']:.3f} | {glyph_cells} |{ocr_cells}",
            flush=True,
        )
    for judge_name, reads in standing_reads.items():
        print(f"\n{judge_name} reads the 26 standing examples A-Z as: {reads}", end="")
        print(f" ({sum(a == b for a, b in zip(reads, LETTERS, strict=True))} of 26)")
    for judge_name, total in seconds.items():
        print(f"{judge_name}: {total / max(n_levels, 1):.3f} s per level")


if __name__ == "__main__":
    main()
