"""Adversarial rounds: make the search judge (letter classifier) hard to fool.

    python experiments/harden_letter_judge.py [--rounds 3] [--iterations 20] \\
        [--letters ABC...] [--out runs/harden] [--train-arg=--epochs=30] [--ship]

Round k searches every letter against judge k (round 0: the judge given by
``--start``, the shipped one by default), then takes the elites judge k scores
>= 0.5 that the held-out glyph judge reads as no letter at all (every letter < 0.5)
as "not a letter" examples, and
trains judge k+1 on the letters, random settled levels and every such example so far.
After the last training round a fresh search against the final judge measures what
is left. Each round prints (and writes to ``rounds.json`` / ``rounds.md``): the judge's
held-out letter accuracy and calibration error, and the fresh search's exploit rate
(search judge >= 0.9, held-out < 0.5), mean similarities under both judges, and a
gallery PNG of the top-5 elites per letter with both similarities.

Everything follows from ``--seed``; ``--ship`` copies the final weights and examples to
``domains/science_birds/classifier_weights.npz`` and ``not_letters.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.science_birds import train_classifier
from domains.science_birds.audit import exploit_rate, heldout_probabilities
from domains.science_birds.classifier import DEFAULT_WEIGHTS, LETTERS
from domains.science_birds.glyph_judge import GlyphJudge
from domains.science_birds.not_letters import DEFAULT_NOT_LETTERS, save_not_letters
from domains.science_birds.render import gallery, gallery_entries
from qd.runs import execute, load_archive, load_config, start
from qd.viz import save_figure

CONFIG = Path(__file__).with_name("levels_letters.toml")
PER_LETTER = 40
"""Most adversarial examples taken per letter and round (the highest search scores)."""


def search_all(args, weights: Path, round_dir: Path, judge: GlyphJudge) -> dict:
    """One search per letter against ``weights``; what both judges say of the elites."""
    found, shown = [], {}
    search_sims, heldout_sims = [], []
    for letter in args.letters:
        overrides = [
            f'domain.letter="{letter}"',
            f'domain.judge_weights="{weights}"',
            f'name="{letter}"',
            f"search.iterations={args.iterations}",
            f"seed={args.seed}",
        ]
        run = start(load_config(CONFIG, overrides), round_dir, force=True)
        execute(run)
        _, domain, archive, _ = load_archive(run)
        elites = sorted(archive.elites(), key=lambda e: e.objective, reverse=True)
        heldout_proba = heldout_probabilities(domain, elites, judge)
        heldout = heldout_proba[:, LETTERS.index(letter)]
        # A level the held-out judge reads as another letter is not "not a letter".
        no_letter = heldout_proba[:, : len(LETTERS)].max(axis=1) < 0.5
        search = np.array([e.info["similarity"] for e in elites])
        search_sims += list(search)
        heldout_sims += list(heldout)
        shown[letter] = gallery_entries(domain, elites[:5], heldout[:5])
        fooled = [i for i in range(len(elites)) if search[i] >= 0.5 and no_letter[i]]
        found += [
            {
                "letter": letter,
                "program": [[k, int(x)] for k, x in elites[i].candidate],
                "search_similarity": round(float(search[i]), 4),
                "heldout_similarity": round(float(heldout[i]), 4),
            }
            for i in fooled[:PER_LETTER]
        ]
        print(
            f"  {letter}: {len(elites)} elites, exploit rate "
            f"{exploit_rate(search, heldout):.2f}, {len(fooled)} fooled",
            flush=True,
        )
    return {
        "found": found,
        "gallery": shown,
        "exploit_rate": exploit_rate(search_sims, heldout_sims),
        "search_similarity": float(np.mean(search_sims)),
        "heldout_similarity": float(np.mean(heldout_sims)),
        "elites": len(search_sims),
    }


def train_round(args, not_letters: Path, out: Path) -> dict:
    """The next judge: letters, random levels and the adversarial examples so far."""
    options = [
        f"--seed={args.seed}",
        f"--out={out}",
        f"--not-letters={not_letters}",
        *args.train_arg,
    ]
    return train_classifier.fit_and_report(train_classifier.parse_args(options))


def table(rows: list[dict]) -> str:
    lines = [
        "| round | judge | held-out letter acc. | ECE | not-letter examples | exploit rate "
        "| search sim. | held-out sim. |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['round']} | {r['judge']} | {r.get('heldout_letter_accuracy', float('nan')):.3f} "
            f"| {r.get('calibration_error', float('nan')):.3f} | {r['not_letter_examples']} "
            f"| {r['exploit_rate']:.3f} | {r['search_similarity']:.3f} "
            f"| {r['heldout_similarity']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument(
        "--train-arg",
        action="append",
        default=[],
        metavar="--OPTION=VALUE",
        help="passed to train_classifier (e.g. --train-arg=--epochs=10)",
    )
    parser.add_argument("--letters", default=LETTERS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--out", type=Path, default=Path("runs/harden"))
    parser.add_argument("--ship", action="store_true")
    args = parser.parse_args()
    if bad := sorted(set(args.letters) - set(LETTERS)):
        parser.error(f"--letters: {''.join(bad)!r} are not uppercase letters A-Z")
    args.out.mkdir(parents=True, exist_ok=True)
    judge = GlyphJudge.load()
    weights = args.out / "judge-0.npz"
    shutil.copyfile(args.start, weights)
    examples: list[dict] = []
    rows: list[dict] = []
    stats: dict = {}
    for k in range(args.rounds + 1):
        print(f"round {k}: searching against {weights.name}", flush=True)
        result = search_all(args, weights, args.out / f"round-{k}", judge)
        for record in result["found"]:
            record["round"] = k
        examples += result["found"]
        save_figure(gallery(result["gallery"]), args.out / f"gallery-{k}.png")
        rows.append(
            {
                "round": k,
                "judge": weights.name,
                **stats,
                "not_letter_examples": len(examples) - len(result["found"]),
                **{key: v for key, v in result.items() if key not in ("found", "gallery")},
            }
        )
        print(table(rows), flush=True)
        if k == args.rounds:
            break
        not_letters = args.out / "not_letters.json"
        save_not_letters(examples, not_letters)
        weights = args.out / f"judge-{k + 1}.npz"
        stats = train_round(args, not_letters, weights)
    (args.out / "rounds.json").write_text(json.dumps(rows, indent=2))
    (args.out / "rounds.md").write_text(table(rows) + "\n")
    if args.ship:
        shutil.copyfile(weights, DEFAULT_WEIGHTS)
        shutil.copyfile(args.out / "not_letters.json", DEFAULT_NOT_LETTERS)
        print(f"shipped {weights} and its not-letter examples")


if __name__ == "__main__":
    main()
