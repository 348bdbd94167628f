"""Writing figures to files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

if TYPE_CHECKING:
    pass


# --- files --------------------------------------------------------------------------


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Save a figure (PNG unless the path says otherwise), creating parent folders.

    Closes nothing: the figure is not registered with pyplot, so it is freed when the
    caller drops it, and no other figure is touched.

    Args:
        fig: The figure to save.
        path: Target file; ``.png`` is appended when it has no suffix.
        dpi: Resolution in dots per inch.

    Returns:
        The path written.
    """
    target = Path(path)
    if not target.suffix:
        target = target.with_suffix(".png")
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=dpi, bbox_inches="tight")
    return target
