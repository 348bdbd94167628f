"""Pictures of levels: one settled level, and a gallery per letter for reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import Affine2D

from domains.science_birds.physics import PhysicsParams

COLOURS = {"b11": "#c0843d", "b31": "#8b5a2b", "b13": "#a0522d"}


def draw_level(ax, block_types: Sequence[str], poses: Sequence[Sequence[float]]) -> None:
    """Draw blocks at world poses ``(x, y, angle in radians)`` on ``ax``."""
    params = PhysicsParams()
    for kind, (x, y, angle) in zip(block_types, poses, strict=True):
        w, h = params.collider(kind)
        patch = Rectangle(
            (-w / 2, -h / 2), w, h, facecolor=COLOURS[kind], edgecolor="black", linewidth=0.6
        )
        patch.set_transform(Affine2D().rotate(angle).translate(x, y) + ax.transData)
        ax.add_patch(patch)
    xs = [p[0] for p in poses] or [2.0]
    ax.axhline(params.ground_y, color="0.3", linewidth=2)
    ax.set_xlim(min(xs) - 0.6, max(max(xs) + 0.6, min(xs) + 3.0))
    top = max([p[1] for p in poses] or [params.ground_y]) + 0.6
    ax.set_ylim(params.ground_y - 0.2, max(top, params.ground_y + 2.0))
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def level_figure(domain: Any, candidate: Any, info: dict | None = None) -> Figure:
    """A settled level with its stability, similarity and predicted letter."""
    if not info or "poses" not in info:
        info = domain.evaluate([candidate])[0].info
    figure = Figure(figsize=(3.2, 3.4))
    ax = figure.add_subplot()
    try:
        kinds = [b.block_type for b in domain.level(candidate).blocks]
    except ValueError:
        kinds = []
    if kinds and "poses" in info:
        draw_level(ax, kinds, info["poses"])
    ax.set_title(
        f"target {domain.letter}: stability {info.get('stability', 0):.2f}, "
        f"similarity {info.get('similarity', 0):.2f}\nlooks like {info.get('predicted', '?')}",
        fontsize=8,
    )
    figure.tight_layout()
    return figure


def gallery(levels: dict[str, list[tuple[list[str], list, str]]], *, columns: int = 5) -> Figure:
    """A grid: one row per letter, up to ``columns`` levels each.

    Args:
        levels: letter -> list of ``(block_types, poses, caption)``.
        columns: Levels shown per letter.
    """
    rows = max(1, len(levels))
    figure = Figure(figsize=(2.0 * columns, 2.1 * rows))
    axes = np.atleast_2d(figure.subplots(rows, columns, squeeze=False))
    for r, (letter, entries) in enumerate(sorted(levels.items())):
        for c in range(columns):
            ax = axes[r, c]
            if c < len(entries):
                kinds, poses, caption = entries[c]
                draw_level(ax, kinds, poses)
                ax.set_title(caption, fontsize=7)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(letter, fontsize=14, rotation=0, labelpad=14)
    figure.tight_layout()
    return figure


def gallery_entries(
    domain: Any, elites: Sequence[Any], heldout: Sequence[float] | None = None
) -> list[tuple[list[str], list, str]]:
    """Gallery entries for ``elites`` (``qd.archive.Elite``) of a ScienceBirdsLetters run:
    each drawn at its settled poses, captioned with its similarity under the search
    judge (``s``) and, given ``heldout``, under the held-out judge (``h``)."""
    entries = []
    for i, e in enumerate(elites):
        caption = f"s {e.info.get('similarity', 0):.2f}"
        if heldout is not None:
            caption += f" / h {heldout[i]:.2f}"
        entries.append(
            (
                [b.block_type for b in domain.level(e.candidate).blocks],
                e.info["poses"],
                f"{caption} ({e.info.get('predicted', '?')})",
            )
        )
    return entries
