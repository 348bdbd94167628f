"""Score a folder of level programs as ChatGPT4PCG 2 does: one table per prompt.

``python -m domains.science_birds.score FOLDER`` reads ``FOLDER/<LETTER>/*`` (one file
per trial: an LM reply with a code block, or a bare ``drop_block`` program), builds,
settles and judges each level, and prints stability, similarity, diversity and the
score per letter, then the prompt score, once per judge: the letter classifier searches
use, and the held-out glyph judge (:mod:`~domains.science_birds.glyph_judge`); then the
held-out panel (:mod:`~domains.science_birds.panel`): the levels it accepts per letter
and the exploit rate under it, the numbers to report. A user scores their own prompt's
outputs with it, offline, with our judges in place of the competition's ViT.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import numpy as np
import typer

from domains.science_birds.audit import EXPLOIT_SEARCH, JUDGES, judged_trials
from domains.science_birds.classifier import LETTERS
from domains.science_birds.domain import ScienceBirdsLetters
from domains.science_birds.extract import competition_drops, extract_code
from domains.science_birds.level import LevelParseError
from domains.science_birds.panel import Panel
from domains.science_birds.scoring import (
    LetterScore,
    TrialResult,
    format_table,
    letter_score,
    prompt_score,
)
from qd.domain import Evaluation

SUFFIXES = (".txt", ".py", ".md")
JUDGE_NAMES = {
    "search": "the letter classifier searches use",
    "held-out": "glyph matching, never used in a search; one voter of the held-out panel",
}


def _evaluated(
    letter: str, replies: Sequence[str], *, competition: bool = False
) -> tuple[ScienceBirdsLetters, list, list[Evaluation]]:
    """The domain, each reply's program (or the error that stopped it) and evaluation."""
    domain = ScienceBirdsLetters(letter=letter, max_drops=200)
    programs: list = []
    for reply in replies:
        if not competition:
            programs.append(extract_code(reply))
            continue
        try:
            programs.append(tuple((d.block_type, d.x) for d in competition_drops(reply)))
        except LevelParseError as error:  # the competition finds no code: a failed trial
            programs.append(error)
    evaluations = domain.evaluate([p for p in programs if not isinstance(p, Exception)])
    ordered = iter(evaluations)
    merged = [
        Evaluation.invalid(str(p)) if isinstance(p, Exception) else next(ordered) for p in programs
    ]
    return domain, programs, merged


def score_trials(
    letter: str,
    replies: Sequence[str],
    *,
    competition: bool = False,
    distances: list[tuple[float, float]] | None = None,
) -> dict[str, list[TrialResult]]:
    """Trials of each reply under both judges (``search``, ``held-out``); a reply that
    fails to build is a failed trial.

    Args:
        letter: Target letter.
        replies: LM replies or programs.
        competition: Extract calls with the competition's regex instead of our parser
            (loops and arithmetic then count as the competition counts them: not at all).
        distances: A list to extend with ``(mask IoU, program distance)`` from the
            letter's standing example, one per trial that built
            (:mod:`~domains.science_birds.distance`).
    """
    domain, programs, merged = _evaluated(letter, replies, competition=competition)
    if distances is not None:
        from domains.science_birds.distance import example_distances

        built = [
            SimpleNamespace(candidate=p, info=e.info)
            for p, e in zip(programs, merged, strict=True)
            if e.valid
        ]
        distances.extend(tuple(row) for row in example_distances(domain, built).tolist())
    return judged_trials(domain, programs, merged)


def panel_trials(
    letter: str, replies: Sequence[str], panel: Panel, *, competition: bool = False
) -> tuple[int, int, int, int]:
    """The held-out panel on each reply's level: ``(accepted, built, called, exploits)``:
    levels it accepts as ``letter``, levels that built, levels the search judge scores
    >= 0.9, and how many of those the panel rejects."""
    domain, programs, merged = _evaluated(letter, replies, competition=competition)
    valid = [i for i, e in enumerate(merged) if e.valid]
    verdicts = panel.judge_elites(
        domain, [SimpleNamespace(candidate=programs[i], info=merged[i].info) for i in valid]
    )
    search = np.array([merged[i].info["similarity"] for i in valid])
    called = search >= EXPLOIT_SEARCH
    accepted = verdicts.accepted
    return int(accepted.sum()), len(valid), int(called.sum()), int(np.sum(called & ~accepted))


def score_folder(
    folder: str | Path,
    *,
    trials: int | None = None,
    competition: bool = False,
    distances: dict[str, list[tuple[float, float]]] | None = None,
) -> dict[str, dict[str, LetterScore]]:
    """Score ``folder/<LETTER>/*`` per letter, under each judge: ``{judge: {letter: score}}``.

    Given ``distances`` (a dict), it also fills ``{letter: [(mask IoU, program
    distance), ...]}`` from each letter's standing example, for the trials that built.

    Raises:
        FileNotFoundError: The folder or every letter folder is missing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of <LETTER>/ subfolders")
    results: dict[str, dict[str, LetterScore]] = {name: {} for name in JUDGES}
    for letter in LETTERS:
        directory = folder / letter
        files = (
            sorted(p for p in directory.glob("*") if p.suffix in SUFFIXES)
            if directory.is_dir()
            else []
        )
        if not files:
            continue
        replies = [p.read_text(errors="replace") for p in files]
        expected = max(trials or len(files), 2)
        found: list[tuple[float, float]] | None = None if distances is None else []
        judged = score_trials(letter, replies, competition=competition, distances=found)
        if distances is not None and found is not None:
            distances[letter] = found
        for name, letter_trials in judged.items():
            results[name][letter] = letter_score(letter_trials, trials_expected=expected)
    if not results["search"]:
        raise FileNotFoundError(f"no level files ({', '.join(SUFFIXES)}) under {folder}/A..Z/")
    return results


def main(
    folder: Annotated[Path, typer.Argument(help="Folder with one subfolder per letter.")],
    trials: Annotated[
        int | None, typer.Option(help="Trials expected per letter (missing ones score 0).")
    ] = None,
    competition: Annotated[
        bool, typer.Option(help="Extract calls with the competition's regex.")
    ] = False,
) -> None:
    """Print the per-letter table and the prompt score for FOLDER."""
    try:
        distances: dict[str, list[tuple[float, float]]] = {}
        per_letter = score_folder(
            folder, trials=trials, competition=competition, distances=distances
        )
    except FileNotFoundError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    for name, scores in per_letter.items():
        typer.echo(f"\n{name} judge ({JUDGE_NAMES[name]}):")
        typer.echo(format_table(scores))
        typer.echo(f"prompt score (unweighted, 26 letters): {prompt_score(scores):.4f}")
    panel = Panel()
    typer.echo(f"\n{panel.note}:")
    typer.echo("letter  accepted  built  search >= 0.9  panel rejects")
    total = np.zeros(4, dtype=int)
    for letter in per_letter["search"]:
        directory = Path(folder) / letter
        replies = [
            p.read_text(errors="replace")
            for p in sorted(directory.glob("*"))
            if p.suffix in SUFFIXES
        ]
        counts = panel_trials(letter, replies, panel, competition=competition)
        total += counts
        typer.echo(f"{letter:<7} {counts[0]:>8} {counts[1]:>6} {counts[2]:>14} {counts[3]:>14}")
    rate = f"{total[3] / total[2]:.2f}" if total[2] else "n/a"
    typer.echo(
        f"exploit rate under the panel: {rate} ({total[3]} of {total[2]} levels the search "
        f"judge scores >= {EXPLOIT_SEARCH} are rejected by the panel)"
    )
    typer.echo("\n" + distance_table(distances))


def distance_table(distances: dict[str, list[tuple[float, float]]]) -> str:
    """Per letter: trials that built, their mean mask IoU with the standing example, how
    many are far from it (IoU < 0.5) and the mean program distance."""
    from domains.science_birds.distance import NEW_LETTER_IOU

    lines = [
        "distance from the standing example (copies have IoU near 1, program distance near 0):",
        f"{'letter':<6} {'built':>5} {'mean IoU':>8} {'far':>4} {'program distance':>16}",
    ]
    for letter, rows in sorted(distances.items()):
        if not rows:
            lines.append(f"{letter:<6} {0:>5} {'-':>8} {'-':>4} {'-':>16}")
            continue
        iou = [r[0] for r in rows]
        far = sum(v < NEW_LETTER_IOU for v in iou)
        lines.append(
            f"{letter:<6} {len(rows):>5} {sum(iou) / len(iou):>8.2f} {far:>4} "
            f"{sum(r[1] for r in rows) / len(rows):>16.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    typer.run(main)
