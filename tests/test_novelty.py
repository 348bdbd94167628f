"""Novelty rejection: near-duplicates of elites or of earlier children are dropped."""

from __future__ import annotations

import numpy as np
import pytest

from qd.search.novelty import NoveltyFilter


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v / np.linalg.norm(v)


def test_children_close_to_an_elite_or_to_each_other_are_rejected():
    novelty = NoveltyFilter(0.95)
    elites = [unit(1, 0, 0).tolist(), None]  # an elite without an embedding is ignored
    children = [unit(1, 0.05, 0), unit(0, 1, 0), unit(0, 1, 0.01), unit(0, 0, 1)]
    verdicts = novelty.check(children, elites)
    assert [novel for novel, _ in verdicts] == [False, True, False, True]
    assert verdicts[0][1] == pytest.approx(float(unit(1, 0.05, 0) @ unit(1, 0, 0)))
    assert verdicts[3][1] == pytest.approx(0.0, abs=1e-12)
    assert novelty.rejected == 2


def test_an_empty_archive_compares_nothing_and_bad_thresholds_are_refused():
    assert NoveltyFilter(0.9).check([unit(1, 1)], []) == [(True, -1.0)]
    for bad in (0, 1.5, -0.1):
        with pytest.raises(ValueError, match="threshold"):
            NoveltyFilter(bad)
