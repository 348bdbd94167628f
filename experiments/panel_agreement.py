"""The held-out panel against levels labelled by eye: fit its rule, measure agreement.

    python experiments/panel_agreement.py [--by-eye experiments/data/letters_by_eye.jsonl]

Each labelled level is rebuilt from its program, settled in Box2D and judged by every
judge: the search classifier (which the panel must not include: the search optimises
it), and the panel's voters (:data:`domains.science_birds.panel.VOTERS`). The question
is binary, "does it read as its target letter?", and the label's answer is yes when
the letter read by eye is the target.

Prints, for each judge alone, its agreement with the labels at the panel's threshold
and at its own best threshold; then the rule fitted on all levels (every threshold on
the grid and every k), its agreement, and its leave-one-out agreement (the rule refitted
without each level, then applied to it): the number to quote. Then the panel as
shipped (:data:`VOTERS`, :data:`K`) and the reduced panel without Tesseract, and the
levels the shipped panel gets wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.science_birds.by_eye import (
    DEFAULT_BY_EYE,
    agreement,
    fit_rule,
    leave_one_out,
    load_by_eye,
    settle,
)
from domains.science_birds.classifier import LETTERS, LetterClassifier
from domains.science_birds.panel import VOTERS, Panel
from domains.science_birds.raster import rasterize_poses

GRID = [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
"""Thresholds tried for every voter (for a ``"read"`` voter 0 means "reads it at all")."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--by-eye", type=Path, default=DEFAULT_BY_EYE)
    args = parser.parse_args()
    labelled = load_by_eye(args.by_eye)
    levels = [settle(level) for level in labelled]
    targets = [level.target for level in labelled]
    truth = np.array([level.is_target for level in labelled])
    clear = np.array([not level.borderline for level in labelled])
    panel = Panel()
    verdicts = panel.judge(levels, targets)
    classifier = LetterClassifier.load()
    images = np.stack([rasterize_poses(p, k, degrees=False) for p, k in levels])
    search = classifier.predict_proba(images)[
        np.arange(len(levels)), [LETTERS.index(t) for t in targets]
    ]
    print(
        f"{len(labelled)} levels ({int(truth.sum())} read as their target, "
        f"{int((~clear).sum())} borderline); {verdicts.note}\n"
    )
    grids = {v.name: GRID for v in panel.voters}
    print("| judge | threshold | agreement | clear only | best threshold | agreement |")
    print("|---|---|---:|---:|---|---:|")
    for name, at in (("search classifier", 0.9), ("search classifier", 0.5)):
        vote = search >= at
        print(
            f"| {name} (not in the panel) | p >= {at} | {agreement(vote, truth):.3f} | "
            f"{agreement(vote[clear], truth[clear]):.3f} | - | - |"
        )
    for voter in panel.voters:
        vote = verdicts.votes[voter.name]
        alone, _, best = fit_rule(
            {voter.name: verdicts.scores[voter.name]}, truth, {voter.name: grids[voter.name]}
        )
        print(
            f"| {voter.name} | {panel.thresholds[voter.name]:g} | {agreement(vote, truth):.3f} | "
            f"{agreement(vote[clear], truth[clear]):.3f} | {alone[voter.name]:g} | {best:.3f} |"
        )
    thresholds, k, fitted = fit_rule(verdicts.scores, truth, grids)
    held_out = leave_one_out(verdicts.scores, truth, grids)
    print(
        f"\nfitted on all {len(truth)}: at least {k} of {len(thresholds)}, thresholds "
        f"{thresholds}: agreement {fitted:.3f}; leave-one-out {agreement(held_out, truth):.3f}"
    )
    shipped = verdicts.accepted
    print(
        f"shipped panel ({panel.rule}): agreement {agreement(shipped, truth):.3f} "
        f"({int(np.sum(shipped == truth))} of {len(truth)}), clear only "
        f"{agreement(shipped[clear], truth[clear]):.3f} ({int(clear.sum())} levels)"
    )
    if "tesseract" in panel.judges:
        reduced = Panel([v for v in VOTERS if v.name != "tesseract"], judges=panel.judges)
        alone = reduced.judge(levels, targets).accepted
        print(
            f"reduced panel without Tesseract ({reduced.rule}): agreement "
            f"{agreement(alone, truth):.3f}, clear only {agreement(alone[clear], truth[clear]):.3f}"
        )
    called = search >= 0.9
    print(
        f"exploit rate on this set: search >= 0.9 on {int(called.sum())}; the panel rejects "
        f"{int(np.sum(called & ~shipped))}, the labels reject {int(np.sum(called & ~truth))}, "
        f"both {int(np.sum(called & ~shipped & ~truth))}"
    )
    standing = [
        i for i, level in enumerate(labelled) if level.source.get("kind") == "standing example"
    ]
    print(
        "standing examples the panel accepts: "
        + " ".join(f"{labelled[i].target}{'+' if shipped[i] else '-'}" for i in standing)
    )
    print("\nlevels the shipped panel gets wrong:")
    for i in np.flatnonzero(shipped != truth):
        level = labelled[i]
        reads = ", ".join(
            f"{v.name} {verdicts.reads[v.name][i] or '-'} {verdicts.scores[v.name][i]:.2f}"
            for v in panel.voters
        )
        print(
            f"  #{level.id} target {level.target}, by eye {level.label}"
            f"{' (borderline)' if level.borderline else ''}: panel "
            f"{'accepts' if shipped[i] else 'rejects'} ({reads}; search {search[i]:.2f}) "
            f"[{level.source.get('kind')}]"
        )


if __name__ == "__main__":
    main()
