"""QD search for every letter, scored as ChatGPT4PCG 2 scores a prompt, against baselines.

    python experiments/levels_letters.py [--letters ABC] [--iterations 40] [--top 10]
        [--lm none|lmx|few-shot|zero-shot] [--baselines random,zero-shot]
        [--set domain.lm_share=0.25 ...]

For each letter: a run of experiments/levels_letters.toml with ``domain.letter`` set
(and ``domain.lm_variation`` from ``--lm``: the LM writes part of each batch), then
``--top`` elites of its archive (distinct cells, so distinct shapes) are picked greedily
to maximise the competition formula (stability x similarity x diversity) and scored
with it. Baselines, scored the same way with ``--top`` trials per letter:

- ``random``: random programs (what the search starts from besides the hand-built seeds);
- ``zero-shot``: the competition's set-up, the zero-shot prompt sent ``--top`` times per
  letter to the same LM the search uses (``[lm]`` in the config, ``QD_LM_*``, or the
  embedded model); the replies are saved under ``<runs-dir>/zero-shot/`` for
  ``python -m domains.science_birds.score``.

Prints one table per method and a summary, and writes a gallery of the best levels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.science_birds.classifier import LETTERS
from domains.science_birds.domain import ScienceBirdsLetters
from domains.science_birds.generate import ask_letters, write_replies
from domains.science_birds.prompting import MODES
from domains.science_birds.render import gallery, gallery_entries
from domains.science_birds.score import score_trials
from domains.science_birds.scoring import (
    LetterScore,
    TrialResult,
    format_table,
    letter_score,
    normalized_prompt_scores,
    prompt_score,
    select_for_score,
    weighted_prompt_scores,
)
from qd.config import load_config
from qd.lm import open_lm
from qd.runs import execute, lm_settings, load_archive, start
from qd.viz import save_figure

CONFIG = Path(__file__).with_name("levels_letters.toml")
BASELINES = ("random", "zero-shot")


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


def zero_shot_baseline(
    config, letters: str, trials: int, folder: Path, max_tokens: int
) -> dict[str, LetterScore]:
    """The competition's zero-shot prompt, ``trials`` replies per letter, scored."""
    with open_lm(lm_settings(config), cache=folder / "lm-cache", seed=config.seed) as lm:
        replies = ask_letters(lm, letters, trials=trials, max_tokens=max_tokens, progress=True)
    write_replies(folder, replies)
    return {
        letter: letter_score(score_trials(letter, texts), trials_expected=trials)
        for letter, texts in replies.items()
    }


def search_letter(args, letter: str):
    """One QD run for ``letter``; returns its score, the picked elites and the domain."""
    overrides = [f'domain.letter="{letter}"', f'name="levels-{letter}"']
    if args.iterations:
        overrides.append(f"search.iterations={args.iterations}")
    if args.lm != "none":
        overrides.append(f'domain.lm_variation="{args.lm}"')
    overrides += args.set
    config = load_config(CONFIG, overrides)
    run = start(config, args.runs_dir, force=True)
    execute(run)
    _, domain, archive, _ = load_archive(run)
    elites = archive.elites()
    picked = select_for_score([trial(e.info) for e in elites], args.top)
    best = [elites[i] for i in picked]
    score = letter_score([trial(e.info) for e in best], trials_expected=args.top)
    print(
        f"{letter}: {len(archive)} elites, best {best[0].objective:.3f} "
        f"(stability {best[0].info['stability']:.2f}, "
        f"similarity {best[0].info['similarity']:.2f})"
        if best
        else f"{letter}: empty",
        flush=True,
    )
    return score, best, domain


def summary(results: dict[str, dict[str, LetterScore]], letters: str) -> str:
    """One line per method: unweighted score, competition-weighted and normalised scores
    (weights need every method at once) and the means over letters."""
    weighted = weighted_prompt_scores(results, letters=letters)
    normalised = normalized_prompt_scores(weighted)
    lines = [
        f"{'method':<24} {'score':>7} {'weighted':>8} {'share %':>7} "
        f"{'stability':>9} {'similarity':>10} {'diversity':>9}"
    ]
    for name, scores in results.items():
        mean = {
            field: float(np.mean([getattr(scores[letter], field) for letter in letters]))
            for field in ("stability", "similarity", "diversity")
        }
        lines.append(
            f"{name:<24} {prompt_score(scores, letters=letters):>7.4f} {weighted[name]:>8.4f} "
            f"{normalised[name]:>7.1f} {mean['stability']:>9.3f} {mean['similarity']:>10.3f} "
            f"{mean['diversity']:>9.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", default=LETTERS)
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--lm", choices=("none", *MODES), default="none")
    parser.add_argument("--baselines", default=",".join(BASELINES))
    parser.add_argument("--zero-shot-max-tokens", type=int, default=512)
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="config override"
    )
    parser.add_argument("--runs-dir", default="runs/levels")
    parser.add_argument("--gallery", default="runs/levels/gallery.png")
    args = parser.parse_args()
    letters = args.letters.upper()
    baselines = [b for b in args.baselines.split(",") if b]
    if unknown := sorted(set(baselines) - set(BASELINES)):
        parser.error(f"--baselines: unknown {unknown}; choose from {list(BASELINES)}")
    if bad := sorted(set(letters) - set(LETTERS)):
        parser.error(f"--letters: {''.join(bad)!r} are not uppercase letters A-Z")

    searched, shown = {}, {}
    for letter in letters:
        searched[letter], best, domain = search_letter(args, letter)
        shown[letter] = gallery_entries(domain, best[:5])
    method = "QD search" + ("" if args.lm == "none" else f" + {args.lm} LM")
    results = {method: searched}
    if "random" in baselines:
        results["random programs"] = {
            letter: letter_score(random_baseline(letter, args.top, 0), trials_expected=args.top)
            for letter in letters
        }
    if "zero-shot" in baselines:
        config = load_config(CONFIG)
        folder = Path(args.runs_dir) / "zero-shot"
        results["zero-shot prompt"] = zero_shot_baseline(
            config, letters, args.top, folder, args.zero_shot_max_tokens
        )

    for name, scores in results.items():
        print(f"\n{name}, top {args.top} per letter:\n" + format_table(scores, letters=letters))
    print("\n" + summary(results, letters))
    print(f"\ngallery: {save_figure(gallery(shown), args.gallery)}")


if __name__ == "__main__":
    main()
