"""Levels that are not letters: what the search judge learns to say no to.

A classifier with only the 26 letters must call every tower and every heap of rubble
some letter, and a search finds the heaps it calls an ``A`` with certainty. Its 27th
class, "not a letter", is trained on two kinds of level:

* random programs settled in Box2D (what a search starts from, mostly collapsed);
* adversarial levels: elites of a search against an earlier judge that it scored high
  and the held-out glyph judge rejected (``experiments/harden_letter_judge.py`` collects
  them round by round into ``not_letters.json``).

Levels are stored as programs (drops), not pictures: the images are remade by the same
physics and rasteriser the search uses, so the file stays small and readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from domains.science_birds.converter import LevelBuildError, build_level
from domains.science_birds.level import BlockType, Drop, Level
from domains.science_birds.physics import simulate
from domains.science_birds.raster import rasterize_poses

__all__ = [
    "DEFAULT_NOT_LETTERS",
    "load_not_letters",
    "program_level",
    "random_programs",
    "save_not_letters",
    "settled_images",
]

DEFAULT_NOT_LETTERS = Path(__file__).with_name("not_letters.json")
"""The adversarial "not a letter" levels the shipped classifier was trained with."""

FORMAT = 1

Program = tuple[tuple[str, int], ...]


def program_level(program: Sequence[Sequence[Any]]) -> Level | None:
    """The level a drop list builds, or None when it does not build."""
    # build_level rejects a block type outside BlockType (ValueError).
    drops = [
        Drop(cast(BlockType, str(kind)), int(x), line) for line, (kind, x) in enumerate(program, 1)
    ]
    try:
        level = build_level(drops)
    except LevelBuildError:
        return None
    return level if level.blocks else None


def settled_images(programs: Iterable[Sequence[Sequence[Any]]], *, trials: int = 3) -> np.ndarray:
    """``(n, 32, 32)`` images of the programs' levels after physics, as the search sees
    them; programs that do not build are skipped."""
    images = []
    for program in programs:
        level = program_level(program)
        if level is None:
            continue
        result = simulate(level, trials=trials)
        kinds = [b.block_type for b in level.blocks]
        images.append(rasterize_poses(result.poses, kinds, degrees=False))
    return np.stack(images) if images else np.zeros((0, 32, 32), dtype=np.float32)


def random_programs(rng: np.random.Generator, n: int) -> list[Program]:
    """``n`` random programs that build: the search's random starts."""
    from domains.science_birds.domain import ScienceBirdsLetters

    domain = ScienceBirdsLetters(seed_examples=False)
    programs: list[Program] = []
    while len(programs) < n:
        program = domain.initial(1, rng)[0]
        if program_level(program) is not None:
            programs.append(program)
    return programs


def load_not_letters(path: str | Path = DEFAULT_NOT_LETTERS) -> list[dict[str, Any]]:
    """The records of a not-letters file: ``program``, ``round``, ``letter`` and both
    judges' similarities when it was collected. A missing file is an empty list."""
    path = Path(path)
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT or not isinstance(data.get("levels"), list):
        raise ValueError(f"{path} is not a not-letters file (format {FORMAT})")
    return data["levels"]


def save_not_letters(records: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Write records as :func:`load_not_letters` reads them, one level per line."""
    body = ",\n".join(json.dumps(r, separators=(",", ":")) for r in records)
    Path(path).write_text(f'{{"format": {FORMAT}, "levels": [\n{body}\n]}}\n')
