"""The MAP-Elites loop, its emitters and the evaluators, on tiny in-test domains."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from domains.symbolic_regression import SymbolicRegression
from qd.archive import Archive
from qd.domain import Evaluation, Operator
from qd.search import IterationResult, Search
from qd.search.emitters import OperatorEmitter
from qd.search.evaluation import InProcessEvaluator, checked_evaluate, make_evaluator

METRIC_KEYS = {
    "iteration",
    "evaluations",
    "num_elites",
    "cells",
    "coverage",
    "qd_score",
    "obj_max",
    "obj_mean",
    "added",
    "invalid",
    "seconds",
}


def run_search(domain, *, seed: int = 0, iterations: int = 10, **kwargs) -> Search:
    archive = Archive(domain.measures)
    search = Search(domain, archive, rng=np.random.default_rng(seed), **kwargs)
    search.run(iterations)
    return search


# --- the loop ------------------------------------------------------------------------


def test_a_few_iterations_fill_the_archive(words) -> None:
    search = run_search(words, iterations=10, batch_size=8)
    archive = search.archive
    assert search.iteration == 10
    assert search.evaluations == 80
    assert len(archive) >= 10  # 32 cells; random words of length 1-3 alone fill < 10
    assert {len(e.candidate) for e in archive.elites()} > {1, 2, 3}  # variation grew words
    for elite in archive.elites():
        assert isinstance(elite.candidate, str)
        # Every elite is what the domain says about it.
        (fresh,) = words.evaluate([elite.candidate])
        assert (elite.objective, elite.measures) == (fresh.objective, fresh.measures)


def test_same_seed_same_archive_different_seed_different_archive(words) -> None:
    first = run_search(words, seed=4, batch_size=8).archive.to_records(words)
    again = run_search(words, seed=4, batch_size=8).archive.to_records(words)
    other = run_search(words, seed=5, batch_size=8).archive.to_records(words)
    assert first == again
    assert first != other


def test_tuple_candidates_stay_tuples_with_several_emitters(pairs) -> None:
    search = run_search(pairs, iterations=8, batch_size=4, emitters=3)
    assert search.evaluations == 8 * 4 * 3
    elites = search.archive.elites()
    assert len(elites) >= 10
    for elite in elites:
        assert type(elite.candidate) is tuple
        assert len(elite.candidate) == 2
        assert elite.measures == elite.candidate
    # Determinism holds with several emitters sharing the run's generator.
    again = run_search(pairs, iterations=8, batch_size=4, emitters=3)
    assert again.archive.to_records(pairs) == search.archive.to_records(pairs)


def test_run_counts_total_iterations_and_continues(words) -> None:
    search = run_search(words, iterations=3, batch_size=4)
    search.run(5)
    assert (search.iteration, search.evaluations) == (5, 20)
    search.run(2)  # already past: nothing to do
    assert search.iteration == 5


def test_callbacks_see_every_iteration(words) -> None:
    seen: list[tuple[int, int]] = []

    def callback(search: Search, result: IterationResult) -> None:
        assert result.stats.num_elites == len(search.archive)
        seen.append((result.iteration, result.evaluations))

    search = Search(
        words,
        Archive(words.measures),
        rng=np.random.default_rng(0),
        batch_size=5,
        callbacks=[callback],
    )
    search.run(4)
    assert seen == [(1, 5), (2, 10), (3, 15), (4, 20)]


def test_metrics_keys_and_values(words) -> None:
    archive = Archive(words.measures, qd_score_offset=-1)
    search = Search(words, archive, rng=np.random.default_rng(0), batch_size=6)
    results = [search.step() for _ in range(5)]
    metrics = results[-1].metrics()
    assert set(metrics) == METRIC_KEYS
    assert json.loads(json.dumps(metrics)) == metrics
    assert (metrics["iteration"], metrics["evaluations"]) == (5, 30)
    assert metrics["num_elites"] == len(archive)
    assert metrics["cells"] == 32
    assert metrics["coverage"] == pytest.approx(len(archive) / 32)
    assert metrics["qd_score"] == pytest.approx(sum(e.objective + 1 for e in archive.elites()))
    assert metrics["obj_max"] == max(e.objective for e in archive.elites())
    assert metrics["invalid"] == 0
    assert metrics["seconds"] >= 0
    assert all(0 <= r.added <= 6 for r in results)


def test_added_counts_the_candidates_that_entered(words) -> None:
    archive = Archive(words.measures)
    search = Search(words, archive, rng=np.random.default_rng(0), batch_size=16)
    result = search.step()  # the archive was empty: every entry is a new elite
    assert result.added == len(archive)


def test_an_operator_can_be_passed_instead_of_the_domain_default(words) -> None:
    def append_b(parents, rng):
        return [parents[0] + "b"] if len(parents[0]) < 8 else [parents[0]]

    search = run_search(
        words, iterations=6, batch_size=4, operator=Operator(append_b, name="append_b")
    )
    initial = set(words.initial(4, np.random.default_rng(0)))
    # Every elite is a seed word followed only by appended b's.
    for elite in search.archive.elites():
        word = elite.candidate
        assert any(word.startswith(w) and set(word[len(w) :]) <= {"b"} for w in initial)
    assert any(len(e.candidate) > 3 for e in search.archive.elites())


def test_bad_search_settings_raise(words) -> None:
    archive = Archive(words.measures)
    with pytest.raises(ValueError, match="emitters"):
        Search(words, archive, rng=np.random.default_rng(0), emitters=0)
    with pytest.raises(ValueError, match="batch_size"):
        Search(words, archive, rng=np.random.default_rng(0), batch_size=0)


def test_emitter_starts_from_initial_then_varies_elites(words) -> None:
    archive = Archive(words.measures)
    emitter = OperatorEmitter(
        archive,
        operator=words.variation(),
        initial=words.initial,
        batch_size=5,
        rng=np.random.default_rng(0),
    )
    first = emitter.ask()
    assert first.shape == (5,)
    assert list(first) == words.initial(5, np.random.default_rng(0))
    archive.add(["aaaa"], words.evaluate(["aaaa"]))
    children = list(emitter.ask())
    assert len(children) == 5
    for child in children:  # "aaaa" plus one letter, or with one letter replaced
        assert len(child) in (4, 5)
        assert child.startswith("aaaa") or sum(c != "a" for c in child) == 1 or child == "aaaa"


# --- invalid candidates ----------------------------------------------------------------


def test_a_domain_that_raises_gives_invalid_results_and_the_run_goes_on(domains) -> None:
    domain = domains["words"](fail_on="dd")
    invalid: list[tuple[object, Evaluation]] = []
    search = Search(
        domain,
        Archive(domain.measures),
        rng=np.random.default_rng(0),
        batch_size=8,
        callbacks=[lambda s, r: invalid.extend(r.invalid)],
    )
    search.run(20)
    assert search.iteration == 20
    assert invalid, "the seed should produce words with 'dd'"
    for candidate, evaluation in invalid:
        assert "dd" in candidate
        assert not evaluation.valid
        assert "RuntimeError" in evaluation.invalid_reason
        assert f"cannot score {candidate!r}" in evaluation.invalid_reason
        assert "Traceback" in evaluation.info["traceback"]
    elites = search.archive.elites()
    assert len(elites) >= 10
    assert not any("dd" in e.candidate for e in elites)


def test_invalid_evaluations_are_reported_and_never_archived(poems) -> None:
    archive = Archive(poems.measures)
    search = Search(poems, archive, rng=np.random.default_rng(1), batch_size=10)
    reasons: list[str] = []
    for _ in range(12):
        result = search.step()
        assert result.metrics()["invalid"] == len(result.invalid)
        for candidate, evaluation in result.invalid:
            assert poems.is_bad(candidate)
            reasons.append(evaluation.invalid_reason)
    assert any(r == "ends with e" for r in reasons)  # Evaluation.invalid from the domain
    assert any("objective nan is not finite" in r for r in reasons)
    assert any("tone='angry' is not one of" in r for r in reasons)
    elites = archive.elites()
    assert len(elites) >= 5
    assert not any(poems.is_bad(e.candidate) for e in elites)


def test_a_batch_of_only_invalid_candidates_leaves_the_archive_empty(words) -> None:
    def never(batch):
        return [Evaluation.invalid("nothing scores") for _ in batch]

    words.evaluate = never
    search = run_search(words, iterations=3, batch_size=4)
    assert search.archive.empty
    assert search.evaluations == 12


# --- evaluators ---------------------------------------------------------------------------


def test_checked_evaluate_guards_against_domain_mistakes(words, poems) -> None:
    words.evaluate = lambda batch: [Evaluation(0.5, (1, 0.5))]  # one result for two
    results = checked_evaluate(words, ["a", "b"])
    assert [r.valid for r in results] == [False, False]
    assert "returned 1 results for 2 candidates" in results[0].invalid_reason

    poems.evaluate = lambda batch: ["nope" for _ in batch]
    (result,) = checked_evaluate(poems, ["abc"])
    assert result.invalid_reason == "evaluate returned str, not Evaluation"

    poems.evaluate = lambda batch: [Evaluation(0.5, ("haiku",)) for _ in batch]
    (result,) = checked_evaluate(poems, ["abc"])
    assert "1 measures returned, the domain declares 2" in result.invalid_reason


def test_in_process_evaluator_matches_the_domain(words) -> None:
    evaluator = make_evaluator(words)
    assert isinstance(evaluator, InProcessEvaluator)
    batch = ["ab", "bbb", "", "abcd"]
    assert evaluator.evaluate(batch) == words.evaluate(batch)
    evaluator.close()


def test_unknown_backend_raises(words) -> None:
    with pytest.raises(ValueError, match="unknown evaluation backend 'gpu'"):
        make_evaluator(words, "gpu")


def _same(a: Evaluation, b: Evaluation) -> bool:
    objectives = a.objective == b.objective or (math.isnan(a.objective) and math.isnan(b.objective))
    return objectives and (a.measures, a.info, a.invalid_reason) == (
        b.measures,
        b.info,
        b.invalid_reason,
    )


def test_process_pool_gives_the_same_evaluations_as_in_process() -> None:
    domain = SymbolicRegression(max_depth=5, max_size=24, pole_check=False)
    rng = np.random.default_rng(1)
    batch = domain.initial(21, rng)
    batch += [*domain.variation()(batch[:2], rng), None, "not a tree"]
    expected = make_evaluator(domain, "inprocess").evaluate(batch)
    evaluator = make_evaluator(domain, "process", 2)
    try:
        got = evaluator.evaluate(batch)
        assert evaluator.evaluate([]) == []
    finally:
        evaluator.close()
    assert len(got) == len(batch)
    assert all(_same(a, b) for a, b in zip(got, expected, strict=True))
    assert sum(e.valid for e in got) == 22
