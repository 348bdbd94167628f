"""An evaluation may improve its candidate (local search): the archive keeps the improved
one, and the budget counts every call the local search made."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from qd.archive import Archive
from qd.domain import Evaluation
from qd.search import PopulationSearch, Search
from qd.search.evaluation import make_evaluator
from tests.conftest import Words

LOCAL_CALLS = 3


class PolishedWords(Words):
    """Words whose evaluation turns every ``c`` into a ``b`` (a better word) in 3 calls."""

    name = "polished_words"

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        polished = [w.replace("c", "b") if isinstance(w, str) else w for w in batch]
        results = super().evaluate(polished)
        return [
            Evaluation(
                objective=e.objective,
                measures=e.measures,
                info=e.info,
                candidate=word if word != original else None,
                cost=1 + LOCAL_CALLS if word != original else 1,
            )
            if e.valid
            else e
            for e, word, original in zip(results, polished, batch, strict=True)
        ]


@pytest.mark.parametrize("backend", ["inprocess", "process"])
def test_the_archive_keeps_improved_candidates_and_counts_their_calls(backend) -> None:
    domain = PolishedWords()
    evaluator = make_evaluator(domain, backend, 2) if backend == "process" else None
    search = Search(
        domain,
        Archive(domain.measures),
        rng=np.random.default_rng(3),
        batch_size=16,
        evaluator=evaluator,
    )
    try:
        asked = 0
        for _ in range(4):
            before = search.evaluations
            search.step()
            asked += 16
            assert search.evaluations - before >= 16
    finally:
        search.evaluator.close()
    elites = search.archive.elites()
    assert elites and all("c" not in e.candidate for e in elites)  # the polished words
    assert all(e.objective == e.candidate.count("b") / len(e.candidate) for e in elites)
    assert search.evaluations > asked  # local-search calls are part of the budget


def test_the_population_loop_keeps_improved_candidates_too() -> None:
    domain = PolishedWords()
    search = PopulationSearch(
        domain, Archive(domain.measures), rng=np.random.default_rng(0), population_size=12
    )
    search.run(3)
    assert all("c" not in word for word in search.population)
    assert search.evaluations > 36
