"""The levels part of ``qd report``: what both judges say, and what was found."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from domains.science_birds.audit import (
    EXPLOIT_HELDOUT,
    EXPLOIT_SEARCH,
    exploit_rate,
    heldout_similarities,
)
from domains.science_birds.render import gallery, gallery_entries
from qd.viz import save_figure

GALLERY_SIZE = 5


def judges_on(domain: Any, candidate: Any, info: dict[str, Any]) -> dict[str, str]:
    """One level under both judges, as ``render_details`` label -> text."""
    from types import SimpleNamespace

    from domains.science_birds.audit import heldout_probabilities
    from domains.science_birds.classifier import LETTERS

    letter = domain.letter
    search = (
        f"similarity {info['similarity']:.3f} to {letter} (reads it as "
        f"{info.get('predicted', '?')}), stability {info['stability']:.3f}: objective "
        f"{info['similarity'] * info['stability']:.3f}"
    )
    elite = SimpleNamespace(candidate=candidate, info=info)
    row = heldout_probabilities(domain, [elite])[0]
    best = int(np.argmax(row))
    read = LETTERS[best] if best < len(LETTERS) else "not a letter"
    heldout = (
        f"similarity {row[LETTERS.index(letter)]:.3f} to {letter} (reads it as {read}); "
        "it never ran inside the search, so this is the number to trust"
    )
    return {
        "search judge (letter classifier)": search,
        "held-out judge (glyphs)": heldout,
        "held-out panel": panel_on(domain, elite),
    }


def panel_on(domain: Any, elite: Any) -> str:
    """One level under the held-out panel: each voter's reading and the verdict."""
    from domains.science_birds.panel import Panel

    panel = Panel()
    verdicts = panel.judge_elites(domain, [elite])
    reads = ", ".join(
        f"{v.name} reads {verdicts.reads[v.name][0] or 'no letter'} "
        f"({'yes' if verdicts.votes[v.name][0] else 'no'})"
        for v in panel.voters
    )
    verdict = "accepts" if verdicts.accepted[0] else "rejects"
    return f"{verdict} it as {domain.letter}: {reads}; {verdicts.note}"


def judged_twice(domain: Any, elites: Sequence[Any], figures: Path) -> list[str]:
    """Markdown: similarity under the search and held-out judges, the exploit rate, and
    galleries of the best elites by each judge, drawn at their settled poses."""
    if not elites:
        return []
    ranked = sorted(elites, key=lambda e: e.objective, reverse=True)
    heldout = heldout_similarities(domain, ranked)
    search = np.array([e.info["similarity"] for e in ranked])
    stability = np.array([e.info["stability"] for e in ranked])
    rate = exploit_rate(search, heldout)
    called = int(np.sum(search >= EXPLOIT_SEARCH))
    lines = [
        "## Judged twice",
        "",
        "The search optimised the letter classifier (search judge). The glyph judge "
        "(template matching against font glyphs) never ran inside it, so its numbers are "
        "the ones to trust.",
        "",
        "| judge | mean similarity | best similarity | elites >= 0.5 | mean objective |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in (("search (classifier)", search), ("held-out (glyphs)", heldout)):
        lines.append(
            f"| {name} | {values.mean():.3f} | {values.max():.3f} | "
            f"{int(np.sum(values >= 0.5))} of {len(values)} | "
            f"{float(np.mean(values * stability)):.3f} |"
        )
    rate_text = "n/a (no elite reaches it)" if np.isnan(rate) else f"**{rate:.1%}**"
    lines += [
        "",
        f"Exploit rate: {rate_text}: of {called} elites the search judge scores >= "
        f"{EXPLOIT_SEARCH}, the share the held-out judge scores < {EXPLOIT_HELDOUT}.",
        "",
        *panel_lines(domain, ranked, search),
    ]
    by_heldout = np.argsort(-heldout * stability, kind="stable")[:GALLERY_SIZE]
    for title, order, name in (
        ("Best by the search judge", range(min(GALLERY_SIZE, len(ranked))), "gallery-search"),
        ("Best by the held-out judge", by_heldout, "gallery-heldout"),
    ):
        picked = [ranked[i] for i in order]
        entries = gallery_entries(domain, picked, [float(heldout[i]) for i in order])
        save_figure(
            gallery({domain.letter: entries}, columns=len(entries)), figures / f"{name}.png"
        )
        lines += [
            f"### {title}",
            "",
            "Settled poses; captions: s = search-judge similarity, h = held-out similarity "
            "(the search judge's top class).",
            "",
            f"![{title.lower()}]({figures.name}/{name}.png)",
            "",
        ]
    return lines


def panel_lines(domain: Any, elites: Sequence[Any], search: np.ndarray) -> list[str]:
    """Markdown: what the held-out panel accepts among the elites, and the exploit rate
    under it (search judge >= 0.9, panel rejects)."""
    from domains.science_birds.panel import Panel, panel_exploit_rate

    panel = Panel()
    verdicts = panel.judge_elites(domain, elites)
    rate = panel_exploit_rate(search, verdicts.accepted)
    called = search >= EXPLOIT_SEARCH
    rate_text = "n/a (no elite reaches it)" if np.isnan(rate) else f"**{rate:.1%}**"
    return [
        f"Held-out panel ({verdicts.note}): accepts {int(verdicts.accepted.sum())} of "
        f"{len(elites)} elites as {domain.letter}. Exploit rate under the panel: "
        f"{rate_text}: of {int(called.sum())} elites the search judge scores >= "
        f"{EXPLOIT_SEARCH}, the share the panel rejects.",
        "",
    ]


def from_the_example(domain: Any, elites: Sequence[Any]) -> list[str]:
    """Markdown: how far the best elites are from the letter's standing example (mask
    IoU of the settled levels, program edit distance), so a reader sees whether the
    search found new letters or edits of the one it started from."""
    from domains.science_birds.distance import NEW_LETTER_IOU, example_distances

    if not elites:
        return []
    ranked = sorted(elites, key=lambda e: e.objective, reverse=True)
    distances = example_distances(domain, ranked)
    iou, program = distances[:, 0], distances[:, 1]
    far = iou < NEW_LETTER_IOU
    lines = [
        "## Distance from the standing example",
        "",
        f"Mask IoU of each settled elite with the settled example of {domain.letter} "
        "(1 = the same picture) and program edit distance (0 = the same drops). "
        f"{int(far.sum())} of {len(ranked)} elites are far from it (IoU < "
        f"{NEW_LETTER_IOU}); median IoU {np.median(iou):.2f}, mean program distance "
        f"{program.mean():.2f}.",
        "",
        "| rank | objective | mask IoU | program distance |",
        "|---:|---:|---:|---:|",
    ]
    for rank in range(min(GALLERY_SIZE, len(ranked))):
        lines.append(
            f"| {rank + 1} | {ranked[rank].objective:.3f} | {iou[rank]:.2f} | {program[rank]:.2f} |"
        )
    if far.any():
        best = int(np.flatnonzero(far)[0])
        lines += [
            "",
            f"Best far elite: rank {best + 1}, objective {ranked[best].objective:.3f}, "
            f"IoU {iou[best]:.2f}.",
        ]
    return [*lines, ""]
