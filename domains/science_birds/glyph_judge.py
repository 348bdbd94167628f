"""The held-out letter judge: chamfer matching against font glyphs, no learning.

A search optimises its judge's blind spots: the classifier that scores levels during a
search (:mod:`~domains.science_birds.classifier`) ends up calling towers and rubble an
``A``. This judge never runs inside a search and shares no training with it, so the
numbers we report (and the exploit rate: search judge says yes, this one says no) use
it. It is a different family: it stretches a few font glyphs over the level's bounding
box and asks two questions per letter:

* **precision**: is the level's ink on the letter? (the share of ink pixels within a
  small distance of the glyph's ink);
* **recall**: are the letter's strokes there? (the share of the glyph's skeleton within
  that distance of the level's ink).

Their harmonic mean, times a penalty when the level's aspect ratio is far from the
glyph's (stretching a tower over an ``A`` would otherwise fit it), is the letter's
match; the best font counts. A softmax over the 26 matches and a fixed "not a letter"
score turns matches into probabilities. Its two numbers (temperature and the
not-a-letter score) are fitted by :func:`fit_calibration` on glyphs drawn in blocks
against random settled levels, never on the search judge's data or verdicts.

Example:
    >>> from domains.science_birds.level import Block, Level
    >>> from domains.science_birds.raster import grid_poses
    >>> level = Level(tuple(Block("b11", 0, r) for r in range(8)))
    >>> poses, kinds = grid_poses(level)
    >>> judge = GlyphJudge.load()
    >>> round(judge.similarity(poses, kinds, "I", degrees=True), 2) > 0.5
    True
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.path import Path as MplPath
from scipy import ndimage, optimize

from domains.science_birds.classifier import LETTERS
from domains.science_birds.glyphs import glyph_polygons, thin
from domains.science_birds.raster import block_quads

__all__ = ["DEFAULT_PARAMS", "TEMPLATE_FONTS", "GlyphJudge", "fit_calibration", "level_mask"]

TEMPLATE_FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "cmss10.ttf",
    "STIXGeneralBol.ttf",
)
"""The glyphs a level is matched against: sans and monospace (block letters are built
like them; the slab serifs of a mono ``I`` or ``J`` are how people build those letters),
and one bold serif."""

DEFAULT_PARAMS = Path(__file__).with_name("glyph_judge.json")
"""The fitted temperature and not-a-letter score (``python -m
domains.science_birds.fit_glyph_judge`` writes it)."""

CANVAS = 40
"""Side of the square both the level and the glyphs are stretched over, in pixels."""

TOLERANCE = 2.0
"""How far (pixels of the canvas) ink may be from the other shape and still count."""

ASPECT_SLACK = math.log(1.6)
"""Aspect ratios within a factor of 1.6 of the glyph's cost nothing."""

ASPECT_SCALE = 0.5
"""Beyond the slack, the match decays by ``e`` per ``ASPECT_SCALE`` of log-ratio."""


@dataclass(frozen=True)
class _Template:
    aspect: float  # width / height of the glyph
    distance: np.ndarray  # (CANVAS, CANVAS) distance of each pixel to the glyph's ink
    skeleton: tuple[np.ndarray, np.ndarray]  # rows, cols of the glyph's skeleton


def _fill(polygons: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Pixels (row 0 at the top) whose centres lie inside the even-odd union of polygons
    given in ``[0, 1] x [0, 1]`` coordinates (y up)."""
    centres = (np.arange(n) + 0.5) / n
    uu, vv = np.meshgrid(centres, 1.0 - centres)
    points = np.column_stack([uu.ravel(), vv.ravel()])
    inside = np.zeros(len(points), dtype=bool)
    for polygon in polygons:
        if len(polygon) >= 3:
            inside ^= MplPath(polygon).contains_points(points)
    return inside.reshape(n, n)


@functools.cache
def _template(font_file: str, letter: str) -> _Template:
    polygons = glyph_polygons(font_file, letter)
    width = max(float(np.concatenate(polygons)[:, 0].max()), 1e-6)
    stretched = [p / np.array([width, 1.0]) for p in polygons]
    ink = _fill(stretched, CANVAS)
    rows, cols = np.nonzero(thin(ink))
    distance = ndimage.distance_transform_edt(~ink)
    return _Template(aspect=width, distance=distance, skeleton=(rows, cols))


def level_mask(
    poses: Sequence[Sequence[float]], block_types: Sequence[str], *, degrees: bool = False
) -> tuple[np.ndarray, float]:
    """The level's blocks stretched over the square canvas, and its aspect ratio.

    Args:
        poses: ``(x, y, angle)`` block centres in world units (settled or on the grid).
        block_types: one of ``b11``, ``b31``, ``b13`` per pose.
        degrees: angles in degrees (``grid_poses``, XML) rather than radians (Box2D).

    Returns:
        ``(mask, aspect)``: a boolean ``(CANVAS, CANVAS)`` picture, row 0 at the top, and
        the bounding box's width / height.
    """
    quads = block_quads(poses, block_types, degrees=degrees)
    if not quads:
        return np.zeros((CANVAS, CANVAS), dtype=bool), 1.0
    everything = np.concatenate(quads)
    lo, hi = everything.min(axis=0), everything.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    return _fill([(q - lo) / span for q in quads], CANVAS), float(span[0] / span[1])


class GlyphJudge:
    """Letter probabilities for a level by template matching (see the module docstring).

    Args:
        temperature: softmax temperature over match scores (which lie in ``[0, 1]``).
        none_score: the match score of the "not a letter" option: a level whose best
            match is below it is more likely not a letter.
        fonts: template fonts.
    """

    def __init__(
        self,
        temperature: float = 0.05,
        none_score: float = 0.6,
        fonts: Sequence[str] = TEMPLATE_FONTS,
    ) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.temperature = float(temperature)
        self.none_score = float(none_score)
        self.fonts = tuple(fonts)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PARAMS) -> GlyphJudge:
        """The judge with the fitted calibration in ``path`` (JSON)."""
        data = json.loads(Path(path).read_text())
        return cls(data["temperature"], data["none_score"], data.get("fonts", TEMPLATE_FONTS))

    def save(self, path: str | Path, **extra: object) -> None:
        """Write the calibration (and ``extra`` facts, e.g. how it was fitted) as JSON."""
        data = {
            "temperature": self.temperature,
            "none_score": self.none_score,
            "fonts": list(self.fonts),
            **extra,
        }
        Path(path).write_text(json.dumps(data, indent=2) + "\n")

    def matches(self, mask: np.ndarray, aspect: float) -> np.ndarray:
        """Match score in ``[0, 1]`` of one level mask with each letter (best font)."""
        ink = np.asarray(mask, dtype=bool)
        if not ink.any():
            return np.zeros(len(LETTERS))
        to_level = ndimage.distance_transform_edt(~ink)
        scores = np.zeros(len(LETTERS))
        for i, letter in enumerate(LETTERS):
            for font in self.fonts:
                template = _template(font, letter)
                precision = float(np.mean(template.distance[ink] <= TOLERANCE))
                recall = float(np.mean(to_level[template.skeleton] <= TOLERANCE))
                if precision + recall == 0:
                    continue
                f1 = 2 * precision * recall / (precision + recall)
                excess = max(0.0, abs(math.log(aspect / template.aspect)) - ASPECT_SLACK)
                scores[i] = max(scores[i], f1 * math.exp(-excess / ASPECT_SCALE))
        return scores

    def proba_from_matches(self, matches: np.ndarray) -> np.ndarray:
        """``(n, 27)`` probabilities: A-Z, then "not a letter"."""
        matches = np.atleast_2d(np.asarray(matches, dtype=float))
        none = np.full((len(matches), 1), self.none_score)
        logits = np.hstack([matches, none]) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)

    def predict_proba(
        self,
        levels: Sequence[tuple[Sequence[Sequence[float]], Sequence[str]]],
        *,
        degrees: bool = False,
    ) -> np.ndarray:
        """``(n, 27)`` probabilities for ``(poses, block_types)`` pairs: A-Z, not a letter."""
        matches = [self.matches(*level_mask(p, k, degrees=degrees)) for p, k in levels]
        return self.proba_from_matches(np.array(matches).reshape(-1, len(LETTERS)))

    def similarity(
        self,
        poses: Sequence[Sequence[float]],
        block_types: Sequence[str],
        letter: str,
        *,
        degrees: bool = False,
    ) -> float:
        """Probability that the level shows ``letter``."""
        row = self.predict_proba([(poses, block_types)], degrees=degrees)[0]
        return float(row[LETTERS.index(letter.upper())])


def fit_calibration(matches: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Temperature and not-a-letter score minimising the log-loss on labelled matches.

    Args:
        matches: ``(n, 26)`` match scores.
        labels: ``n`` class indices, 0-25 for letters, 26 for not a letter.

    Returns:
        ``(temperature, none_score)``.
    """
    labels = np.asarray(labels, dtype=int)

    def loss(params: np.ndarray) -> float:
        judge = GlyphJudge(math.exp(params[0]), params[1])
        proba = judge.proba_from_matches(matches)
        return -float(np.mean(np.log(proba[np.arange(len(labels)), labels] + 1e-12)))

    found = optimize.minimize(loss, x0=np.array([math.log(0.05), 0.6]), method="Nelder-Mead")
    return math.exp(float(found.x[0])), float(found.x[1])
