"""Draw the levels for the by-eye labelled set, and the contact sheets to label them on.

    python experiments/letters_by_eye.py sample RUN_DIR [RUN_DIR ...]
        [--out experiments/data/letters_by_eye.jsonl] [--sheets runs/by-eye]

Each ``RUN_DIR`` is a finished levels run (``qd run experiments/levels_letters.toml``).
From each archive it takes the 4 best elites by the search's objective, then elites
spread evenly over the rest of the ranking (the middle and the rubble), plus the
elites the search judge likes most (similarity >= 0.9) at the lowest stability. Then a
few levels from the existing sets: standing examples (the weak ones of issue 23 and
some plain ones), random programs, and adversarial elites of ``not_letters.json``.

It writes one JSON line per level with ``label`` empty, and contact sheets of the
settled levels drawn as the reports draw them, in a shuffled order and captioned with
a number only: whoever labels them sees neither the target letter nor any judge's
score. ``python experiments/panel_agreement.py`` measures the panel on the labels.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.science_birds.domain import example_program
from domains.science_birds.not_letters import load_not_letters, program_level, random_programs
from domains.science_birds.physics import simulate
from domains.science_birds.render import draw_level
from qd.runs import load_archive
from qd.runs.directory import RunDirectory

OUT = Path(__file__).with_name("data") / "letters_by_eye.jsonl"
EXAMPLES = "GKQRSVYACOT"
"""Standing examples in the set: the weak and poor ones issue 23 names, and a few plain."""


def from_run(path: Path, per_run: int) -> list[dict]:
    """Elites of one run across quality: top 4, spread over the rest, loved rubble."""
    run = RunDirectory(path)
    config, domain, archive, checkpoint = load_archive(run)
    elites = archive.elites()
    ranked = sorted(range(len(elites)), key=lambda i: -elites[i].objective)
    picked = ranked[:4]
    rest = ranked[4:]
    spread = np.linspace(0, len(rest) - 1, max(0, per_run - 6)).round().astype(int)
    picked += [rest[i] for i in spread if rest[i] not in picked]
    loved = [i for i in ranked if elites[i].info["similarity"] >= 0.9 and i not in picked]
    picked += sorted(loved, key=lambda i: elites[i].info["stability"])[:2]
    records = []
    for i in picked:
        e = elites[i]
        records.append(
            {
                "program": domain.encode(e.candidate),
                "target": domain.letter,
                "source": {
                    "kind": "search",
                    "config": "experiments/levels_letters.toml",
                    "overrides": {
                        "seed": config.seed,
                        "search.iterations": config.search.iterations,
                        "evaluation.workers": config.evaluation.workers,
                    },
                    "letter": domain.letter,
                    "elite": i,
                    "cell": e.cell,
                    "rank": ranked.index(i),
                    "iteration": checkpoint.iteration,
                },
                "search_similarity": round(float(e.info["similarity"]), 4),
                "stability": round(float(e.info["stability"]), 4),
            }
        )
    return records


def from_sets(seed: int) -> list[dict]:
    """Standing examples, random programs and adversarial elites (existing sets)."""
    records = [
        {
            "program": [list(d) for d in example_program(letter)],
            "target": letter,
            "source": {"kind": "standing example", "letter": letter},
        }
        for letter in EXAMPLES
    ]
    rng = np.random.default_rng(seed)
    letters = rng.choice(list("AKSVERTH"), size=6)
    for i, program in enumerate(random_programs(rng, 6)):
        records.append(
            {
                "program": [list(d) for d in program],
                "target": str(letters[i]),
                "source": {"kind": "random program", "seed": seed, "index": i},
            }
        )
    adversarial = load_not_letters()
    for i in range(0, len(adversarial), max(1, len(adversarial) // 6))[:6]:
        record = adversarial[i]
        records.append(
            {
                "program": record["program"],
                "target": record["letter"],
                "source": {"kind": "not_letters.json", "index": i, "round": record["round"]},
            }
        )
    return records


def sheets(records: list[dict], folder: Path, seed: int, per_sheet: int = 12) -> None:
    """Shuffled contact sheets captioned ``#n`` only (blind to target and judges)."""
    folder.mkdir(parents=True, exist_ok=True)
    order = np.random.default_rng(seed).permutation(len(records))
    for n, i in enumerate(order):
        records[i]["sheet_number"] = n
    for start in range(0, len(order), per_sheet):
        chunk = order[start : start + per_sheet]
        figure = Figure(figsize=(12, 9))
        axes = figure.subplots(3, 4, squeeze=False).ravel()
        for ax, i in zip(axes, chunk, strict=False):
            level = program_level(records[i]["program"])
            assert level is not None
            draw_level(ax, [b.block_type for b in level.blocks], simulate(level).poses)
            ax.set_title(f"#{records[i]['sheet_number']}", fontsize=11)
        for ax in axes[len(chunk) :]:
            ax.axis("off")
        figure.tight_layout()
        figure.savefig(folder / f"sheet-{start // per_sheet:02d}.png", dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample")
    sample.add_argument("runs", nargs="+", type=Path)
    sample.add_argument("--per-run", type=int, default=13)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", type=Path, default=OUT)
    sample.add_argument("--sheets", type=Path, default=Path("runs/by-eye"))
    sample.add_argument("--force", action="store_true", help="replace a labelled file")
    args = parser.parse_args()
    if args.out.exists() and not args.force and '"label": null' not in args.out.read_text():
        parser.error(f"{args.out} holds labels given by eye; pass --force to replace it")
    records = [r for path in args.runs for r in from_run(path, args.per_run)]
    records += from_sets(args.seed)
    sheets(records, args.sheets, args.seed)
    for n, record in enumerate(records):
        record["id"] = n
        record["label"] = None
        record["borderline"] = False
    args.out.write_text("".join(json.dumps(r) + "\n" for r in records))
    print(f"{len(records)} levels -> {args.out}; sheets in {args.sheets}/")


if __name__ == "__main__":
    main()
