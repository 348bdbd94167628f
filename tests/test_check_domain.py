"""qd.testing.check_domain: passes good domains, and tells authors what they broke."""

from __future__ import annotations

import random

import numpy as np
import pytest

from domains.symbolic_regression import SymbolicRegression
from qd.domain import Evaluation, Measure
from qd.testing import check_domain


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
    check_domain(words)
    check_domain(pairs)  # tuples encoded as lists, decoded back


def failure_of(domain) -> str:
    with pytest.raises(AssertionError) as caught:
        check_domain(domain)
    return str(caught.value)


def test_evaluate_that_raises_on_junk(domains) -> None:
    class Raises(domains["words"]):
        def evaluate(self, batch):
            return [self._one(word) for word in batch]

        def _one(self, word):
            return Evaluation(word.count("b") / len(word), (len(word), word.count("a") / len(word)))

    message = failure_of(Raises())
    assert message.startswith("Raises.evaluate raised")
    assert "on bad input" in message
    assert "Evaluation.invalid(reason)" in message


def test_evaluate_that_calls_junk_valid(domains) -> None:
    class Lenient(domains["words"]):
        def evaluate(self, batch):
            return [Evaluation(0.5, (3, 0.5)) for _ in batch]

    message = failure_of(Lenient())
    assert "Lenient.evaluate called junk" in message
    assert "valid" in message


def test_initial_that_uses_global_random(domains) -> None:
    class Global(domains["words"]):
        def initial(self, n, rng):
            return ["".join(random.choice("abcd") for _ in range(6)) for _ in range(n)]

    message = failure_of(Global())
    assert "Global.initial is not deterministic for a seeded rng" in message
    assert "from the rng argument" in message


def test_initial_that_gives_the_wrong_count(domains) -> None:
    class Short(domains["words"]):
        def initial(self, n, rng):
            return super().initial(n - 1, rng)

    assert "Short.initial(8, rng) gave 7" in failure_of(Short())


def test_encode_that_returns_a_non_json_object(domains) -> None:
    class Setty(domains["words"]):
        def encode(self, candidate):
            return set(candidate)

    message = failure_of(Setty())
    assert "Setty.encode must return JSON values" in message
    assert "set" in message


def test_decode_that_loses_information(domains) -> None:
    class Lossy(domains["words"]):
        def encode(self, candidate):
            return candidate

        def decode(self, data):
            return data[:1]

    assert "decode(encode(c)) scores differently" in failure_of(Lossy())


def test_measures_outside_the_labels(domains) -> None:
    class OffLabel(domains["poems"]):
        def evaluate(self, batch):
            return [
                Evaluation(0.5, ("haiku", "furious"))
                if isinstance(w, str)
                else Evaluation.invalid("junk")
                for w in batch
            ]

    message = failure_of(OffLabel())
    assert "OffLabel" in message
    assert "tone='furious' is not one of" in message
    assert "happy" in message


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

    assert "NaN: objective nan not finite" in failure_of(NaN())
    assert "OneMeasure: 1 measures for 2 axes" in failure_of(OneMeasure())


def test_missing_or_wrong_measures(domains) -> None:
    class NoMeasures(domains["words"]):
        def __init__(self):
            super().__init__()
            self.measures = ()

    class Tuples(domains["words"]):
        def __init__(self):
            super().__init__()
            self.measures = (("length", 1, 9),)

    assert "NoMeasures.measures is empty" in failure_of(NoMeasures())
    assert "not a qd.domain.Measure" in failure_of(Tuples())


def test_variation_that_is_not_an_operator(domains) -> None:
    class BareFunction(domains["words"]):
        def variation(self):
            return lambda parents, rng: [parents[0]]

    assert "BareFunction.variation() must return a qd.domain.Operator" in failure_of(BareFunction())


def test_info_that_is_not_json(domains) -> None:
    class NumpyInfo(domains["words"]):
        def evaluate(self, batch):
            results = super().evaluate(batch)
            return [
                Evaluation(r.objective, r.measures, {"raw": np.arange(3)}) if r.valid else r
                for r in results
            ]

    message = failure_of(NumpyInfo())
    assert "info" in message


def test_measure_values_out_of_range_are_fine(domains) -> None:
    class Wide(domains["words"]):
        def __init__(self):
            super().__init__()
            self.measures = (Measure.uniform("length", 1, 3, 2), self.measures[1])

    check_domain(Wide())  # long words are clipped into the last bin, not an error
