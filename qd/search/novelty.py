"""Novelty rejection: skip a child too close to what the archive already holds.

OpenEvolve and ShinkaEvolve embed each LM-written child and drop it when its cosine
similarity to an existing program passes a threshold, before the expensive evaluation.
For QDAIF the expensive part is the LM judge, so a rejected near-duplicate saves its
judge calls; the filter counts them for ``metrics.jsonl``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["NoveltyFilter"]


class NoveltyFilter:
    """Accept a vector only if no elite and no earlier accepted vector is too similar.

    Args:
        threshold: The cosine similarity (of unit vectors) at which a child counts as a
            near-duplicate, in (0, 1].

    Attributes:
        rejected: Children rejected so far.
        saved_calls: Judge calls not made because of them (the domain adds these).
    """

    def __init__(self, threshold: float) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be a cosine in (0, 1], got {threshold!r}")
        self.threshold = float(threshold)
        self.rejected = 0
        self.saved_calls = 0

    def check(
        self,
        vectors: Sequence[np.ndarray],
        elites: Sequence[Sequence[float] | None],
    ) -> list[tuple[bool, float]]:
        """``(novel, highest cosine)`` per vector, in order.

        Args:
            vectors: Unit vectors of the children of one batch.
            elites: The archive elites' unit vectors (None for elites without one).

        Returns:
            Whether each child is novel, and its highest cosine to an elite or an
            earlier accepted child (-1.0 when there was nothing to compare with).
        """
        known = [np.asarray(e, dtype=np.float64) for e in elites if e is not None]
        accepted = np.stack(known) if known else np.zeros((0, 0))
        verdicts: list[tuple[bool, float]] = []
        for vector in vectors:
            v = np.asarray(vector, dtype=np.float64)
            closest = float((accepted @ v).max()) if accepted.size else -1.0
            novel = closest < self.threshold
            if novel:
                accepted = v[None, :] if not accepted.size else np.vstack([accepted, v])
            else:
                self.rejected += 1
            verdicts.append((novel, closest))
        return verdicts
