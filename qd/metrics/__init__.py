"""What a map and a judge are worth, in numbers.

:mod:`qd.metrics.scores` measures an archive (QD score, coverage, the Vendi family of
diversity scores); :mod:`qd.metrics.judges` measures a learned judge on labelled data
(accuracy, AUC, calibration); :mod:`qd.metrics.stats` compares methods across seeds
(Mann-Whitney U, Vargha-Delaney A, Fisher, Holm); :mod:`qd.search.novelty` keeps a
batch's near-duplicates out. Plain functions over arrays: nothing here imports the
rest of the engine.
"""

from qd.metrics.scores import (
    coverage,
    elites_vendi,
    qd_score,
    similarity_matrix,
    vendi_score,
    vendi_score_of_features,
    vendi_scores,
)

__all__ = [
    "coverage",
    "elites_vendi",
    "qd_score",
    "similarity_matrix",
    "vendi_score",
    "vendi_score_of_features",
    "vendi_scores",
]
