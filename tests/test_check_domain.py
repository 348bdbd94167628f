"""qd.testing.check_domain: passes good domains, and names every check a broken one fails.

Toy domains defined inside a test cannot pickle (their class is not importable), so
those tests look for their own check among the failures rather than for it alone.
"""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from domains.symbolic_regression import SymbolicRegression
from qd.domain import Domain, Evaluation, Measure, Operator
from qd.testing import CHECK_NAMES, CHECKS, DomainCheckError, DomainCheckReport, check_domain

ROOT = Path(__file__).resolve().parents[1]
HOOKS = (
    "parent_selections", "breed", "population_metrics", "features", "annotate",
    "run_metrics", "report_section", "checkpoint_files", "render",
)  # fmt: skip


class Lists(Domain):
    """Candidates are lists of ints (mutable, so a careless operator changes its parent);
    objective = mean, measures = length and first value. Module level: it pickles."""

    name = "lists"

    def __init__(self) -> None:
        self.measures = (Measure.uniform("length", 1, 6, 5), Measure.uniform("first", 0, 9, 3))

    def initial(self, n: int, rng: np.random.Generator) -> list[list[int]]:
        return [[int(v) for v in rng.integers(0, 10, size=3)] for _ in range(n)]

    def variation(self) -> Operator:
        def mutate(parents: Sequence[list[int]], rng: np.random.Generator) -> list[list[int]]:
            child = list(parents[0])
            child[int(rng.integers(len(child)))] = int(rng.integers(10))
            return [child]

        return Operator(mutate, arity=1, name="mutate")

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        return [self.score(c) for c in batch]

    def score(self, candidate: Any) -> Evaluation:
        if not isinstance(candidate, list) or not all(type(v) is int for v in candidate):
            return Evaluation.invalid(f"not a list of ints: {type(candidate).__name__}")
        if not candidate:
            return Evaluation.invalid("empty")
        mean = sum(candidate) / len(candidate) / 9
        return Evaluation(mean, (len(candidate), candidate[0]), {"total": sum(candidate)})


class MutatesParent(Lists):
    def variation(self) -> Operator:
        def mutate(parents: Sequence[list[int]], rng: np.random.Generator) -> list[list[int]]:
            # In place: changes an elite (always: a new digit, never the same one).
            parents[0][0] = (parents[0][0] + 1 + int(rng.integers(9))) % 10
            return [parents[0]]

        return Operator(mutate, arity=1, name="in-place")


class LosesInfo(Lists):
    """decode keeps the first value only: objective, measures and info all change."""

    def decode(self, data: list[int]) -> list[int]:
        return data[:1]


class Unpicklable(Lists):
    def __init__(self) -> None:
        super().__init__()
        self.scale = lambda x: x  # a lambda does not pickle


class GlobalRandomInitial(Lists):
    def initial(self, n: int, rng: np.random.Generator) -> list[list[int]]:
        return [[random.randint(0, 9) for _ in range(3)] for _ in range(n)]


class GlobalRandomVariation(Lists):
    def variation(self) -> Operator:
        def mutate(parents: Sequence[list[int]], rng: np.random.Generator) -> list[list[int]]:
            child = list(parents[0])
            child[0] = random.randint(0, 9)
            return [child]

        return Operator(mutate, arity=1, name="global-random")


class ForgetsOptions(Lists):
    """Pickles, but the copy scores with a different option (__reduce__ drops it)."""

    def __init__(self, *, bonus: float = 0.0) -> None:
        super().__init__()
        self.bonus = bonus

    def __reduce__(self):
        return (type(self), ())

    def score(self, candidate: Any) -> Evaluation:
        result = super().score(candidate)
        if not result.valid:
            return result
        return Evaluation(result.objective + self.bonus, result.measures, result.info)


def failures_of(domain: Domain, **options: Any) -> dict[str, str]:
    """Failed check name -> reason."""
    with pytest.raises(DomainCheckError) as caught:
        check_domain(domain, **options)
    return dict(caught.value.report.failed)


# --- good domains ---------------------------------------------------------------------


def test_a_good_domain_passes_every_check_and_gets_a_report() -> None:
    report = check_domain(Lists())
    assert isinstance(report, DomainCheckReport) and report.ok
    assert report.passed == CHECK_NAMES[:13]  # the contract; every optional hook is default
    assert set(report.skipped) == set(HOOKS)
    assert all("keeps the default" in why for why in report.skipped.values())
    assert str(report).startswith("Lists passed 13 checks: measures, initial")


def test_the_checks_are_named_and_say_what_they_prove() -> None:
    assert (
        "measures", "initial", "evaluate_results", "info_is_json", "encode_json",
        "round_trip", "bad_input", "pickle", "deterministic_initial", "variation",
        "deterministic_variation", "parents_unchanged", "search", *HOOKS,
    ) == CHECK_NAMES  # fmt: skip
    assert all(check.promise for check in CHECKS)


def test_symbolic_regression_passes() -> None:
    check_domain(SymbolicRegression())


def test_symbolic_regression_passes_with_other_settings() -> None:
    check_domain(
        SymbolicRegression(benchmark="nguyen-7", descriptors=("size", "nonlinear"), max_size=24),
        iterations=2,
        batch_size=6,
        seed=5,
    )


def test_in_test_domains_pass(words, pairs) -> None:
    # Not pickle: conftest classes are not importable by module path once a second
    # conftest.py (tests/lm) has taken the name "conftest"; the toy domains above are.
    checks = [name for name in CHECK_NAMES if name != "pickle"]
    check_domain(words, checks=checks)
    check_domain(pairs, checks=checks)  # tuples encoded as lists, decoded back


def test_one_check_can_be_run_alone_and_unknown_names_are_refused() -> None:
    report = check_domain(Unpicklable(), checks=["round_trip", "measures"])
    assert report.passed == ("measures", "round_trip")  # in CHECKS order
    assert failures_of(Unpicklable(), checks=[CHECKS[7]]).keys() == {"pickle"}
    with pytest.raises(ValueError, match=r"unknown check.*'pickles'.*'pickle'"):
        check_domain(Lists(), checks=["pickles"])


# --- one broken promise each --------------------------------------------------------------


def test_variation_that_changes_its_parent() -> None:
    failed = failures_of(MutatesParent())
    assert set(failed) == {"parents_unchanged"}
    assert "operator 'in-place' changed parent" in failed["parents_unchanged"]
    assert "copy.deepcopy" in failed["parents_unchanged"]


def test_decode_that_loses_part_of_the_candidate() -> None:
    failed = failures_of(LosesInfo())
    assert {"round_trip", "search"} == set(failed)  # checkpoints lose it too
    assert "encode(decode(encode(c))) differs from encode(c)" in failed["round_trip"]
    assert "decode must rebuild everything encode wrote" in failed["round_trip"]


def test_decode_that_keeps_the_score_but_not_the_info() -> None:
    class DropsInfo(Lists):
        """Objective and measures survive decode; the info's total does not."""

        def decode(self, data):
            return _Tagged(data)

        def score(self, candidate):
            result = super().score(list(candidate))
            if isinstance(candidate, _Tagged) and result.valid:
                return Evaluation(result.objective, result.measures, {"total": None})
            return result

    failed = failures_of(DropsInfo(), checks=["round_trip"])
    assert "(info['total']: " in failed["round_trip"] and "!= None)" in failed["round_trip"]


class _Tagged(list):
    """A list that remembers it came out of decode."""


def test_unpicklable_domain() -> None:
    failed = failures_of(Unpicklable())
    assert set(failed) == {"pickle"}
    assert "does not pickle" in failed["pickle"] and "__reduce__" in failed["pickle"]


def test_unpickled_copy_that_scores_differently() -> None:
    failed = failures_of(ForgetsOptions(bonus=0.5))
    assert set(failed) == {"pickle"}
    assert "the unpickled domain scores" in failed["pickle"]
    assert "objective" in failed["pickle"]


def test_initial_that_uses_global_random() -> None:
    failed = failures_of(GlobalRandomInitial())
    assert set(failed) == {"deterministic_initial"}
    assert "GlobalRandomInitial.initial is not deterministic" in failed["deterministic_initial"]
    assert "from the rng argument" in failed["deterministic_initial"]


def test_variation_that_uses_global_random() -> None:
    failed = failures_of(GlobalRandomVariation())
    assert set(failed) == {"deterministic_variation"}
    assert "operator 'global-random' is not deterministic" in failed["deterministic_variation"]


def test_several_failures_are_reported_together() -> None:
    class Everything(MutatesParent):
        def __init__(self):
            super().__init__()
            self.scale = lambda x: x

        def initial(self, n, rng):
            return [[random.randint(0, 9) for _ in range(3)] for _ in range(n)]

        def encode(self, candidate):
            return set(candidate)

    with pytest.raises(DomainCheckError) as caught:
        check_domain(Everything())
    failed = caught.value.report.failed
    assert {"pickle", "deterministic_initial", "parents_unchanged", "encode_json"} <= set(failed)
    message = str(caught.value)
    assert message.startswith(f"Everything failed {len(failed)} of 13 checks:")
    for name in failed:
        assert f"\n  {name}: " in message
    assert isinstance(caught.value, ValueError)  # raised, not asserted: survives python -O


def test_failures_are_raised_under_python_dash_o(tmp_path) -> None:
    script = tmp_path / "o.py"
    script.write_text(
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from tests.test_check_domain import Unpicklable\n"
        "from qd.testing import DomainCheckError, check_domain\n"
        "try:\n    check_domain(Unpicklable(), checks=['pickle'])\n"
        "except DomainCheckError as e:\n    print('caught', list(e.failures))\n"
    )
    out = subprocess.run(
        [sys.executable, "-O", str(script), str(ROOT)], capture_output=True, text=True, check=True
    )
    assert "caught ['pickle']" in out.stdout


def test_evaluate_that_raises_on_junk(domains) -> None:
    class Raises(domains["words"]):
        def evaluate(self, batch):
            return [self._one(word) for word in batch]

        def _one(self, word):
            return Evaluation(word.count("b") / len(word), (len(word), word.count("a") / len(word)))

    failed = failures_of(Raises())
    assert failed["bad_input"].startswith("Raises.evaluate raised")
    assert "on bad input" in failed["bad_input"]
    assert "Evaluation.invalid(reason)" in failed["bad_input"]


def test_evaluate_that_calls_junk_valid(domains) -> None:
    class Lenient(domains["words"]):
        def evaluate(self, batch):
            return [Evaluation(0.5, (3, 0.5)) for _ in batch]

    failed = failures_of(Lenient())
    assert "Lenient.evaluate called junk (None) valid" in failed["bad_input"]


def test_junk_that_changes_a_good_candidates_score() -> None:
    class Crowded(Lists):
        def evaluate(self, batch):
            results = super().evaluate(batch)
            penalty = 0.1 * sum(not r.valid for r in results)
            return [
                Evaluation(r.objective - penalty, r.measures, r.info) if r.valid else r
                for r in results
            ]

    failed = failures_of(Crowded(), checks=["bad_input"])
    assert "changed a good one's score" in failed["bad_input"]


def test_initial_that_gives_the_wrong_count(domains) -> None:
    class Short(domains["words"]):
        def initial(self, n, rng):
            return super().initial(n - 1, rng)

    assert "Short.initial(8, rng) gave 7" in failures_of(Short())["initial"]


def test_encode_that_returns_a_non_json_object(domains) -> None:
    class Setty(domains["words"]):
        def encode(self, candidate):
            return set(candidate)

    failed = failures_of(Setty())
    assert "Setty.encode must return JSON values" in failed["encode_json"]
    assert "set" in failed["encode_json"]


def test_decode_that_loses_information(domains) -> None:
    class Lossy(domains["words"]):
        def decode(self, data):
            return data[:1]

    assert "round_trip" in failures_of(Lossy())


def test_measures_outside_the_labels(domains) -> None:
    class OffLabel(domains["poems"]):
        def evaluate(self, batch):
            return [
                Evaluation(0.5, ("haiku", "furious"))
                if isinstance(w, str)
                else Evaluation.invalid("junk")
                for w in batch
            ]

    failed = failures_of(OffLabel())["evaluate_results"]
    assert failed.startswith("OffLabel: tone='furious' is not one of")
    assert "happy" in failed


def test_non_finite_objective_and_wrong_measure_count(domains) -> None:
    class NaN(domains["words"]):
        def evaluate(self, batch):
            return [
                Evaluation(float("nan"), (1, 0.5))
                if isinstance(w, str)
                else Evaluation.invalid("junk")
                for w in batch
            ]

    class OneMeasure(domains["words"]):
        def evaluate(self, batch):
            return [
                Evaluation(0.5, (1,)) if isinstance(w, str) else Evaluation.invalid("junk")
                for w in batch
            ]

    assert "NaN: objective nan not finite" in failures_of(NaN())["evaluate_results"]
    assert "OneMeasure: 1 measures for 2 axes" in failures_of(OneMeasure())["evaluate_results"]


def test_missing_or_wrong_measures(domains) -> None:
    class NoMeasures(domains["words"]):
        def __init__(self):
            super().__init__()
            self.measures = ()

    class Tuples(domains["words"]):
        def __init__(self):
            super().__init__()
            self.measures = (("length", 1, 9),)

    class Twice(domains["words"]):
        def __init__(self):
            super().__init__()
            self.measures = (self.measures[0], self.measures[0])

    assert "NoMeasures.measures is empty" in failures_of(NoMeasures())["measures"]
    assert "not a qd.domain.Measure" in failures_of(Tuples())["measures"]
    assert "repeats a name" in failures_of(Twice())["measures"]


def test_variation_that_is_not_an_operator(domains) -> None:
    class BareFunction(domains["words"]):
        def variation(self):
            return lambda parents, rng: [parents[0]]

    failed = failures_of(BareFunction())
    assert (
        "BareFunction.variation() returned function, not a qd.domain.Operator"
        in (failed["variation"])
    )
    assert {"variation", "deterministic_variation", "parents_unchanged", "search"} <= set(failed)


def test_info_that_is_not_json(domains) -> None:
    class NumpyInfo(domains["words"]):
        def evaluate(self, batch):
            results = super().evaluate(batch)
            return [
                Evaluation(r.objective, r.measures, {"raw": np.arange(3)}) if r.valid else r
                for r in results
            ]

    assert "Evaluation.info must be JSON" in failures_of(NumpyInfo())["info_is_json"]


def test_measure_values_out_of_range_are_fine(domains) -> None:
    class Wide(domains["words"]):
        def __init__(self):
            super().__init__()
            self.measures = (Measure.uniform("length", 1, 3, 2), self.measures[1])

    check_domain(Wide(), checks=[c for c in CHECK_NAMES if c != "pickle"])


# --- LM domains: determinism given the same replies -------------------------------------


class CountingLM:
    """A stand-in LM whose every reply differs (as a real one's sampled replies do)."""

    def __init__(self) -> None:
        self.calls = 0

    def complete_many(self, prompts: list[str], **sampling: Any) -> list[str]:
        replies = []
        for prompt in prompts:
            self.calls += 1
            replies.append(f"{prompt}-{self.calls % 7}")
        return replies


class Echo(Lists):
    """An LM domain: initial asks the LM, and variation extends a parent's text."""

    uses_lm = True

    def __init__(self, *, use_global_random: bool = False) -> None:
        super().__init__()
        self.use_global_random = use_global_random
        self.lm = None

    def connect(self, *, lm: Any, archive: Any) -> None:
        self.lm = lm

    def initial(self, n: int, rng: np.random.Generator) -> list[list[int]]:
        if self.use_global_random:
            prompts = [str(random.randint(0, 9)) for _ in range(n)]
        else:
            prompts = [str(int(v)) for v in rng.integers(0, 10, size=n)]
        replies = self.lm.complete_many(prompts)
        return [[int(c) for c in r if c.isdigit()][:3] for r in replies]


def test_an_lm_domain_is_deterministic_given_the_same_replies() -> None:
    lm = CountingLM()
    report = check_domain(Echo(), lm=lm, checks=["deterministic_initial", "round_trip"])
    assert report.passed == ("round_trip", "deterministic_initial")
    assert lm.calls == 2 * 8  # the first batch and the recorded pass; the replay is free
    failed = failures_of(
        Echo(use_global_random=True), lm=CountingLM(), checks=["deterministic_initial"]
    )
    assert "Echo.initial is not deterministic" in failed["deterministic_initial"]


def test_an_lm_domain_needs_an_lm() -> None:
    with pytest.raises(ValueError, match="Echo uses an LM: pass one"):
        check_domain(Echo())


def test_copy_of_a_parent_is_enough() -> None:
    class Copies(MutatesParent):
        def variation(self):
            inner = super().variation()
            return Operator(lambda p, rng: inner(copy.deepcopy(p), rng), name="copies")

    check_domain(Copies(), checks=["parents_unchanged"])


# --- optional hooks: checked when overridden ------------------------------------------


class BadHooks(Lists):
    """Every optional hook overridden, each breaking its promise."""

    def parent_selections(self):
        return {"uniform": lambda archive: lambda arity, rng: [[1, 2, 3]] * arity}

    def breed(self, population, evaluations, n, rng):
        return [list(population[0]) for _ in range(n - 1)]

    def population_metrics(self, population, evaluations):
        return {"spread": np.float32(0.5)}

    def features(self, candidate, info):
        return [float("nan")] * len(candidate)

    def annotate(self, candidate, info):
        return {"objective": float("nan")}

    def run_metrics(self):
        return ["not", "a", "dict"]

    def report_section(self, elites, figures):
        return ["![gallery](report/gallery.png)"]

    def checkpoint_files(self, elites):
        return {"../front.csv": "size\n"}

    def render(self, candidate, info=None):
        return 42


def test_each_overridden_hook_is_checked_by_name() -> None:
    failed = failures_of(BadHooks())
    assert set(HOOKS) <= set(failed)
    assert "hide the engine's own" in failed["parent_selections"]
    assert "gave 7 children" in failed["breed"]
    assert "must return JSON" in failed["population_metrics"]
    assert "finite numbers" in failed["features"]
    assert "not a dict" in failed["run_metrics"]
    assert "must return JSON" in failed["annotate"]
    assert "['gallery.png']" in failed["report_section"]
    assert "'../front.csv': give a plain file name" in failed["checkpoint_files"]
    assert "return a str or a matplotlib.figure.Figure" in failed["render"]


def test_the_shipped_hooks_pass_their_checks() -> None:
    from domains.symbolic_regression.population import MateChoiceRegression

    report = check_domain(
        MateChoiceRegression(max_size=20, max_depth=6, init_depth=(1, 3)), checks=HOOKS
    )
    assert {"parent_selections", "breed", "population_metrics"} <= set(report.passed)
    report = check_domain(SymbolicRegression(max_size=16, max_depth=5), checks=HOOKS)
    passed = set(report.passed)
    assert {"features", "annotate", "report_section", "checkpoint_files", "render"} <= passed
