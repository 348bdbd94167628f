"""QD search for every letter, scored as ChatGPT4PCG 2 scores a prompt.

    python experiments/levels_letters.py [--letters ABC] [--iterations 40] [--top 10]

For each letter: a run of experiments/levels_letters.toml with ``domain.letter`` set,
then ``--top`` elites of its archive (distinct cells, so distinct shapes) are picked
greedily to maximise the competition formula (stability x similarity x diversity) and
scored with it. The baseline
is the same number of random programs per letter (what the search starts from), scored
the same way. Prints both tables and writes a gallery of the best levels per letter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.science_birds.classifier import LETTERS
from domains.science_birds.domain import ScienceBirdsLetters
from domains.science_birds.render import gallery
from domains.science_birds.scoring import (
    TrialResult,
    format_table,
    letter_score,
    prompt_score,
    select_for_score,
)
from qd.config import load_config
from qd.runs import execute, load_archive, start
from qd.viz import save_figure

CONFIG = Path(__file__).with_name("levels_letters.toml")


def trial(info: dict) -> TrialResult:
    return TrialResult(
        stability=float(info["stability"]),
        similarity=float(info["similarity"]),
        probabilities=np.asarray(info["probabilities"], dtype=float),
    )


def random_baseline(letter: str, n: int, seed: int) -> list[TrialResult]:
    """``n`` random programs (no hand-built seeds), scored like the search's picks."""
    domain = ScienceBirdsLetters(letter=letter, seed_examples=False)
    programs = domain.initial(n, np.random.default_rng([seed, ord(letter)]))
    return [
        trial(e.info) if e.valid else TrialResult.failure(e.invalid_reason or "")
        for e in domain.evaluate(programs)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", default=LETTERS)
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--runs-dir", default="runs/levels")
    parser.add_argument("--gallery", default="runs/levels/gallery.png")
    args = parser.parse_args()

    searched, baseline, shown = {}, {}, {}
    for letter in args.letters.upper():
        overrides = [f'domain.letter="{letter}"', f'name="levels-{letter}"']
        if args.iterations:
            overrides.append(f"search.iterations={args.iterations}")
        config = load_config(CONFIG, overrides)
        run = start(config, args.runs_dir, force=True)
        execute(run)
        _, domain, archive, _ = load_archive(run)
        elites = archive.elites()
        picked = select_for_score([trial(e.info) for e in elites], args.top)
        best = [elites[i] for i in picked]
        searched[letter] = letter_score([trial(e.info) for e in best], trials_expected=args.top)
        baseline[letter] = letter_score(
            random_baseline(letter, args.top, config.seed), trials_expected=args.top
        )
        shown[letter] = [
            (
                [b.block_type for b in domain._build(e.candidate).blocks],
                e.info["poses"],
                f"{e.objective:.2f} ({e.info['predicted']})",
            )
            for e in best[:5]
        ]
        print(
            f"{letter}: {len(archive)} elites, best {best[0].objective:.3f} "
            f"(stability {best[0].info['stability']:.2f}, "
            f"similarity {best[0].info['similarity']:.2f})"
            if best
            else f"{letter}: empty",
            flush=True,
        )
    print("\nQD search, top levels per letter:\n" + format_table(searched, letters=args.letters))
    print(f"prompt score: {prompt_score(searched, letters=args.letters):.4f}")
    print("\nRandom programs baseline:\n" + format_table(baseline, letters=args.letters))
    print(f"prompt score: {prompt_score(baseline, letters=args.letters):.4f}")
    print(f"\ngallery: {save_figure(gallery(shown), args.gallery)}")


if __name__ == "__main__":
    main()
