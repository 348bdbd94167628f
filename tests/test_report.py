"""Report helpers: which elites a reader sees besides the best ones."""

from __future__ import annotations

from qd.archive import Elite
from qd.viz.report import spread_elites


def elite(bins, objective):
    return Elite(
        candidate=str(bins), objective=objective, measures=bins, bins=bins, cell=0, info={}
    )


def test_spread_starts_at_the_best_and_then_takes_the_farthest_cells():
    elites = [
        elite((0, 0), 0.2),
        elite((9, 9), 0.1),
        elite((1, 1), 0.9),  # best: first
        elite((9, 0), 0.3),
        elite((0, 9), 0.4),
        elite((5, 5), 0.5),
    ]
    picked = [e.bins for e in spread_elites(elites, 4)]
    assert picked[0] == (1, 1)
    assert picked[1] == (9, 9)  # farthest from (1, 1)
    assert set(picked[2:]) == {(9, 0), (0, 9)}  # the two far corners, before the centre
    assert len(spread_elites(elites, 10)) == 6 and spread_elites([], 3) == []
