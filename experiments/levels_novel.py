"""New letters, not copies: do searches find readable levels far from the seeding example?

    python experiments/levels_novel.py [--letters AKSV] [--iterations 40]
        [--methods today,iou-axis,font-seeds,font-seeds+iou-axis] [--gallery PATH]

Runs experiments/levels_letters.toml once per letter and method, takes the 5 best
elites of each archive by the search objective, and judges them by what the search did
not optimise: the glyph judge (similarity >= 0.5 reads), Tesseract (reads the letter,
any confidence; skipped without the binary) and their distance from the letter's
standing example (mask IoU, program distance; :mod:`domains.science_birds.distance`).
Prints one row per method and letter and writes a contact sheet of every method's
top 5 for looking at by eye (a person is the judge that counts).

Methods (config keys of ``ScienceBirdsLetters``):

- ``today``: width x height, seeded with the letter's example and other letters';
- ``iou-axis``: width x mask IoU with the example (``descriptors``), so the map keeps
  the best level at every distance from the example;
- ``font-seeds``: the other seeds are the letter as fonts draw it (``seed_fonts``);
- ``font-seeds+iou-axis``: both.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.science_birds.audit import heldout_similarities
from domains.science_birds.distance import NEW_LETTER_IOU, example_distances
from domains.science_birds.render import gallery
from domains.science_birds.tesseract_judge import TesseractJudge, tesseract_available
from qd.runs import execute, load_archive, load_config, start
from qd.viz import save_figure

CONFIG = Path(__file__).with_name("levels_letters.toml")
METHODS = {
    "today": [],
    "iou-axis": ['domain.descriptors=["width", "example_iou"]'],
    "font-seeds": ["domain.seed_fonts=true"],
    "font-seeds+iou-axis": [
        "domain.seed_fonts=true",
        'domain.descriptors=["width", "example_iou"]',
    ],
}
TOP = 5


def top_elites(method: str, letter: str, iterations: int, runs_dir: str, extra: list[str]):
    """One search; its domain and the ``TOP`` elites by objective."""
    overrides = [f'domain.letter="{letter}"', f'name="novel-{method}-{letter}"']
    overrides += [f"search.iterations={iterations}", *METHODS[method], *extra]
    run = start(load_config(CONFIG, overrides), runs_dir, force=True)
    execute(run)
    _, domain, archive, _ = load_archive(run)
    ranked = sorted(archive.elites(), key=lambda e: e.objective, reverse=True)
    return domain, ranked[:TOP], len(archive)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", default="AKSV")
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--runs-dir", default="runs/novel")
    parser.add_argument("--gallery", default="runs/novel/gallery.png")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    if unknown := sorted(set(methods) - set(METHODS)):
        parser.error(f"--methods: unknown {unknown}; choose from {list(METHODS)}")
    reader = TesseractJudge() if tesseract_available() else None
    if reader is None:
        print("(no tesseract binary: the Tesseract column is '-')")
    print(
        f"{'method':<20} {'letter':<6} {'elites':>6} {'glyph>=.5':>9} {'tesseract':>9} "
        f"{'IoU<.5':>6} {'far+read':>8} {'mean IoU':>8} {'prog dist':>9}"
    )
    sheet: dict[str, list] = {}
    totals: dict[str, np.ndarray] = {}
    for method in methods:
        for letter in args.letters.upper():
            domain, top, size = top_elites(method, letter, args.iterations, args.runs_dir, args.set)
            glyph = heldout_similarities(domain, top)
            distance = example_distances(domain, top)
            kinds = [[b.block_type for b in domain.level(e.candidate).blocks] for e in top]
            reads = [
                reader.read(e.info["poses"], k)[0] if reader else None
                for e, k in zip(top, kinds, strict=True)
            ]
            by_glyph = glyph >= 0.5
            by_ocr = np.array([r == letter for r in reads])
            far = distance[:, 0] < NEW_LETTER_IOU
            counts = np.array(
                [by_glyph.sum(), by_ocr.sum(), far.sum(), (far & (by_glyph | by_ocr)).sum()]
            )
            totals[method] = totals.get(method, np.zeros(4, int)) + counts
            print(
                f"{method:<20} {letter:<6} {size:>6} {counts[0]:>9} "
                f"{counts[1] if reader else '-':>9} {counts[2]:>6} {counts[3]:>8} "
                f"{distance[:, 0].mean():>8.2f} {distance[:, 1].mean():>9.2f}",
                flush=True,
            )
            sheet[f"{letter} {method}"] = [
                (k, e.info["poses"], f"g {g:.2f} t {r or '-'} IoU {d[0]:.2f} pd {d[1]:.2f}")
                for e, k, g, r, d in zip(top, kinds, glyph, reads, distance, strict=True)
            ]
    print(
        f"\ntotals over {len(args.letters)} letters x top {TOP} (glyph, tesseract, far, far+read):"
    )
    for method, counts in totals.items():
        print(f"{method:<20} {' '.join(str(int(c)) for c in counts)}")
    print(f"\ngallery: {save_figure(gallery(sheet, columns=TOP), args.gallery)}")


if __name__ == "__main__":
    main()
