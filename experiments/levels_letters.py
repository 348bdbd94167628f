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

Every number is given under both judges: the letter classifier the search optimises,
and the held-out glyph judge it never saw (the one to report); the summary adds the
exploit rate (search judge >= 0.9, held-out < 0.5), and the same under the held-out
panel (``domains/science_birds/panel.py``: search judge >= 0.9, panel rejects) with the
picks the panel accepts. Prints one table per method (held-out
judge) and a summary per judge, and writes a gallery of the best levels captioned with
both similarities.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.science_birds.audit import (
    EXPLOIT_HELDOUT,
    EXPLOIT_SEARCH,
    JUDGES,
    exploit_rate,
    judged_trials,
)
from domains.science_birds.classifier import LETTERS
from domains.science_birds.distance import NEW_LETTER_IOU, example_distances
from domains.science_birds.domain import ScienceBirdsLetters
from domains.science_birds.generate import ask_letters, write_replies
from domains.science_birds.panel import Panel, panel_exploit_rate
from domains.science_birds.prompting import MODES
from domains.science_birds.render import gallery, gallery_entries
from domains.science_birds.score import JUDGE_NAMES, score_trials
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
from qd.lm import open_lm
from qd.runs import execute, load_archive, load_config, start
from qd.runs.preflight import lm_settings
from qd.viz import save_figure

CONFIG = Path(__file__).with_name("levels_letters.toml")
BASELINES = ("random", "zero-shot")
PANEL = Panel()
"""The held-out panel every table reports (reduced, and saying so, without Tesseract)."""


def random_baseline(
    letter: str, n: int, seed: int
) -> tuple[dict[str, list[TrialResult]], np.ndarray]:
    """``n`` random programs (no hand-built seeds), scored like the search's picks, and
    the held-out panel's verdict on each."""
    domain = ScienceBirdsLetters(letter=letter, seed_examples=False)
    programs = domain.initial(n, np.random.default_rng([seed, ord(letter)]))
    evaluations = domain.evaluate(programs)
    levels = [
        SimpleNamespace(candidate=p, info=e.info)
        for p, e in zip(programs, evaluations, strict=True)
    ]
    return judged_trials(domain, programs, evaluations), PANEL.judge_elites(domain, levels).accepted


def zero_shot_baseline(
    config, letters: str, trials: int, folder: Path, max_tokens: int
) -> dict[str, dict[str, LetterScore]]:
    """The competition's zero-shot prompt, ``trials`` replies per letter, scored by both
    judges: ``{judge: {letter: score}}``."""
    with open_lm(lm_settings(config), cache=folder / "lm-cache", seed=config.seed) as lm:
        replies = ask_letters(lm, letters, trials=trials, max_tokens=max_tokens, progress=True)
    write_replies(folder, replies)
    scores: dict[str, dict[str, LetterScore]] = {name: {} for name in JUDGES}
    for letter, texts in replies.items():
        for name, judged in score_trials(letter, texts).items():
            scores[name][letter] = letter_score(judged, trials_expected=trials)
    return scores


def search_letter(args, letter: str):
    """One QD run for ``letter``: its scores under both judges, the archive's exploit
    rate counts, gallery entries of the picked elites, the held-out panel's counts, and the
    picks' ``(n, 2)`` mask IoU and program distance from the letter's standing example."""
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
    everything = judged_trials(domain, [e.candidate for e in elites], elites)
    # The picks are what a user of the search would take: chosen by the search judge.
    picked = select_for_score(everything["search"], args.top)
    scores = {
        name: letter_score([judged[i] for i in picked], trials_expected=args.top)
        for name, judged in everything.items()
    }
    search = [t.similarity for t in everything["search"]]
    heldout = [t.similarity for t in everything["held-out"]]
    exploits = exploit_counts(search, heldout)
    accepted = PANEL.judge_elites(domain, elites).accepted
    panel = panel_counts(search, accepted, picked)
    best = [elites[i] for i in picked]
    shown = gallery_entries(domain, best[:5], [heldout[i] for i in picked[:5]])
    distances = example_distances(domain, best)
    if best:
        print(
            f"{letter}: {len(archive)} elites, best {best[0].objective:.3f} "
            f"(stability {best[0].info['stability']:.2f}, similarity search "
            f"{best[0].info['similarity']:.2f} / held-out {heldout[picked[0]]:.2f}), "
            f"exploit rate {exploit_rate(search, heldout):.2f}, under the panel "
            f"{panel_exploit_rate(search, accepted):.2f}; the panel accepts {panel[2]} of "
            f"the {len(picked)} picks",
            flush=True,
        )
    else:
        print(f"{letter}: empty", flush=True)
    return scores, exploits, shown, panel, distances


def panel_counts(
    search: list[float], accepted: np.ndarray, picked: list[int]
) -> tuple[int, int, int, int]:
    """The held-out panel's counts: ``(rejected, called, accepted picks, picks)``: of
    the elites the search judge scores >= 0.9, how many the panel rejects; of the
    ``picked`` ones, how many it accepts."""
    called = np.asarray(search) >= EXPLOIT_SEARCH
    return (
        int(np.sum(called & ~accepted)),
        int(called.sum()),
        int(accepted[picked].sum()) if picked else 0,
        len(picked),
    )


def exploit_counts(search: list[float], heldout: list[float]) -> tuple[int, int]:
    """``(exploits, called)``: elites the search judge calls the letter (>= 0.9), and
    how many of them the held-out judge rejects (< 0.5)."""
    called = [h for s, h in zip(search, heldout, strict=True) if s >= EXPLOIT_SEARCH]
    return sum(h < EXPLOIT_HELDOUT for h in called), len(called)


def _four(counts: np.ndarray) -> tuple[int, int, int, int]:
    a, b, c, d = (int(n) for n in counts)
    return a, b, c, d


def summary(
    results: dict[str, dict[str, LetterScore]],
    letters: str,
    exploits: dict[str, tuple[int, int]],
    panel: dict[str, tuple[int, int, int, int]],
) -> str:
    """One line per method: unweighted score, competition-weighted and normalised scores
    (weights need every method at once), the means over letters, the exploit rate, and
    under the held-out panel the exploit rate and the picks it accepts."""
    weighted = weighted_prompt_scores(results, letters=letters)
    normalised = normalized_prompt_scores(weighted)
    lines = [
        f"{'method':<24} {'score':>7} {'weighted':>8} {'share %':>7} "
        f"{'stability':>9} {'similarity':>10} {'diversity':>9} {'exploit':>13} "
        f"{'panel exploit':>14} {'panel accepts':>13}"
    ]
    for name, scores in results.items():
        mean = {
            field: float(np.mean([getattr(scores[letter], field) for letter in letters]))
            for field in ("stability", "similarity", "diversity")
        }
        bad, called = exploits.get(name, (0, 0))
        exploit = f"{bad / called:.2f} ({bad}/{called})" if called else "-"
        rejected, panel_called, accepted, picks = panel.get(name, (0, 0, 0, 0))
        panel_exploit = (
            f"{rejected / panel_called:.2f} ({rejected}/{panel_called})" if panel_called else "-"
        )
        panel_accepts = f"{accepted}/{picks}" if picks else "-"
        lines.append(
            f"{name:<24} {prompt_score(scores, letters=letters):>7.4f} {weighted[name]:>8.4f} "
            f"{normalised[name]:>7.1f} {mean['stability']:>9.3f} {mean['similarity']:>10.3f} "
            f"{mean['diversity']:>9.3f} {exploit:>13} {panel_exploit:>14} {panel_accepts:>13}"
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

    results: dict[str, dict[str, dict[str, LetterScore]]] = {name: {} for name in JUDGES}
    exploits: dict[str, tuple[int, int]] = {}
    shown = {}
    method = "QD search" + ("" if args.lm == "none" else f" + {args.lm} LM")
    for name in JUDGES:
        results[name][method] = {}
    panel: dict[str, tuple[int, int, int, int]] = {}
    bad = called = 0
    panel_total = np.zeros(4, dtype=int)
    distances = {}
    for letter in letters:
        scores, (letter_bad, letter_called), shown[letter], counts, distances[letter] = (
            search_letter(args, letter)
        )
        for name in JUDGES:
            results[name][method][letter] = scores[name]
        bad, called = bad + letter_bad, called + letter_called
        panel_total += counts
    exploits[method] = (bad, called)
    panel[method] = _four(panel_total)
    if "random" in baselines:
        name = "random programs"
        for judge in JUDGES:
            results[judge][name] = {}
        bad = called = 0
        panel_total = np.zeros(4, dtype=int)
        for letter in letters:
            judged, accepted = random_baseline(letter, args.top, 0)
            search = [t.similarity for t in judged["search"]]
            panel_total += panel_counts(search, accepted, list(range(len(search))))
            for judge in JUDGES:
                results[judge][name][letter] = letter_score(judged[judge], trials_expected=args.top)
            counts = exploit_counts(
                [t.similarity for t in judged["search"]], [t.similarity for t in judged["held-out"]]
            )
            bad, called = bad + counts[0], called + counts[1]
        exploits[name] = (bad, called)
        panel[name] = _four(panel_total)
    if "zero-shot" in baselines:
        config = load_config(CONFIG)
        folder = Path(args.runs_dir) / "zero-shot"
        scored = zero_shot_baseline(config, letters, args.top, folder, args.zero_shot_max_tokens)
        for judge in JUDGES:
            results[judge]["zero-shot prompt"] = scored[judge]

    for name, scores in results["held-out"].items():
        print(
            f"\n{name}, top {args.top} per letter, held-out judge:\n"
            + format_table(scores, letters=letters)
        )
    for judge in JUDGES:
        print(f"\n{judge} judge ({JUDGE_NAMES[judge]}):")
        print(summary(results[judge], letters, exploits, panel))
    print(
        f"\nexploit: of the elites (trials) the search judge scores >= {EXPLOIT_SEARCH}, "
        f"the share the held-out judge scores < {EXPLOIT_HELDOUT}; panel exploit: the share "
        f"the {PANEL.note} rejects; panel accepts: the picks it accepts as their letter"
    )
    print(f"\n{distance_summary(distances)}")
    print(f"\ngallery: {save_figure(gallery(shown), args.gallery)}")


def distance_summary(distances: dict[str, np.ndarray]) -> str:
    """Per letter, the search's picks against the standing example it started from:
    mean mask IoU, picks far from it (IoU < 0.5) and mean program distance."""
    lines = [
        "distance of the picks from the standing example (IoU 1 / distance 0: a copy):",
        f"{'letter':<6} {'picks':>5} {'mean IoU':>8} {'far':>4} {'program distance':>16}",
    ]
    for letter, rows in distances.items():
        if len(rows) == 0:
            lines.append(f"{letter:<6} {0:>5}")
            continue
        far = int(np.sum(rows[:, 0] < NEW_LETTER_IOU))
        lines.append(
            f"{letter:<6} {len(rows):>5} {rows[:, 0].mean():>8.2f} {far:>4} "
            f"{rows[:, 1].mean():>16.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
