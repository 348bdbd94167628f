"""Score a folder of level programs as ChatGPT4PCG 2 does: one table per prompt.

``python -m domains.science_birds.score FOLDER`` reads ``FOLDER/<LETTER>/*`` (one file
per trial: an LM reply with a code block, or a bare ``drop_block`` program), builds,
settles and classifies each level, and prints stability, similarity, diversity and the
score per letter, then the prompt score. A user scores their own prompt's outputs with
it, offline, with our letter classifier in place of the competition's ViT.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from domains.science_birds.classifier import LETTERS
from domains.science_birds.domain import ScienceBirdsLetters
from domains.science_birds.language import LevelParseError, competition_drops, extract_code
from domains.science_birds.scoring import (
    LetterScore,
    TrialResult,
    format_table,
    letter_score,
    prompt_score,
)

SUFFIXES = (".txt", ".py", ".md")


def score_trials(letter: str, replies: Sequence[str], *, competition: bool = False) -> list:
    """One :class:`TrialResult` per reply; a reply that fails to build is a failed trial.

    Args:
        letter: Target letter.
        replies: LM replies or programs.
        competition: Extract calls with the competition's regex instead of our parser
            (loops and arithmetic then count as the competition counts them: not at all).
    """
    domain = ScienceBirdsLetters(letter=letter, max_drops=200)
    trials: list[TrialResult | None] = [None] * len(replies)
    programs, slots = [], []
    for i, reply in enumerate(replies):
        if not competition:
            programs.append(extract_code(reply))
            slots.append(i)
            continue
        try:
            programs.append(tuple((d.block_type, d.x) for d in competition_drops(reply)))
            slots.append(i)
        except LevelParseError as error:  # the competition finds no code: a failed trial
            trials[i] = TrialResult.failure(str(error))
    for i, evaluation in zip(slots, domain.evaluate(programs), strict=True):
        if not evaluation.valid:
            trials[i] = TrialResult.failure(evaluation.invalid_reason or "invalid")
            continue
        trials[i] = TrialResult(
            stability=float(evaluation.info["stability"]),
            similarity=float(evaluation.info["similarity"]),
            probabilities=np.asarray(evaluation.info["probabilities"], dtype=float),
        )
    return trials


def score_folder(
    folder: str | Path, *, trials: int | None = None, competition: bool = False
) -> dict[str, LetterScore]:
    """Score ``folder/<LETTER>/*`` per letter.

    Raises:
        FileNotFoundError: The folder or every letter folder is missing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of <LETTER>/ subfolders")
    results = {}
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
        results[letter] = letter_score(
            score_trials(letter, replies, competition=competition), trials_expected=expected
        )
    if not results:
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
        per_letter = score_folder(folder, trials=trials, competition=competition)
    except FileNotFoundError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(format_table(per_letter))
    typer.echo(f"prompt score (unweighted, 26 letters): {prompt_score(per_letter):.4f}")


if __name__ == "__main__":
    typer.run(main)
