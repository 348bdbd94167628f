"""Letter outlines from the fonts matplotlib ships: the one source of letter shapes.

Both letter judges start from these glyphs, in different ways: the search judge
(:mod:`~domains.science_birds.train_classifier`) learns from augmented renders and block
art made from them; the held-out judge (:mod:`~domains.science_birds.glyph_judge`)
matches a level against a few of them directly, with no learning. Only fonts bundled
with matplotlib are used, so every machine sees the same outlines.
"""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath

__all__ = ["FONT_FILES", "glyph_polygons", "thin"]

FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "cmb10.ttf",
    "cmti10.ttf",
)
"""Fonts bundled with matplotlib (``matplotlib.get_data_path()/fonts/ttf``)."""


@functools.cache
def glyph_polygons(font_file: str, letter: str) -> tuple[np.ndarray, ...]:
    """Flattened outline polygons of one glyph, normalised to height 1 (cached)."""
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / font_file
    if not path.exists():
        raise FileNotFoundError(f"matplotlib does not ship {font_file} here ({path})")
    text = TextPath((0, 0), letter, size=1.0, prop=FontProperties(fname=str(path)))
    outlines = [np.asarray(p) for p in text.to_polygons(closed_only=False)]  # (k, 2) arrays
    polygons = [p for p in outlines if len(p) >= 3]
    allv = np.concatenate(polygons)
    lo, hi = allv.min(axis=0), allv.max(axis=0)
    height = max(hi[1] - lo[1], 1e-9)
    return tuple((p - lo) / height for p in polygons)


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning: reduce a binary picture to a one-pixel-wide skeleton."""
    img = np.pad(mask.astype(bool), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = img
            n = p[:-2, 1:-1]
            ne = p[:-2, 2:]
            e = p[1:-1, 2:]
            se = p[2:, 2:]
            s = p[2:, 1:-1]
            sw = p[2:, :-2]
            w = p[1:-1, :-2]
            nw = p[:-2, :-2]
            ring = [n, ne, e, se, s, sw, w, nw, n]
            b = sum(x.astype(np.int8) for x in ring[:8])
            a = sum((~ring[i] & ring[i + 1]).astype(np.int8) for i in range(8))
            if step == 0:
                c1, c2 = n & e & s, e & s & w
            else:
                c1, c2 = n & e & w, n & s & w
            kill = p[1:-1, 1:-1] & (b >= 2) & (b <= 6) & (a == 1) & ~c1 & ~c2
            if kill.any():
                img = img.copy()
                img[1:-1, 1:-1] &= ~kill
                changed = True
        if not changed:
            return img[1:-1, 1:-1]
