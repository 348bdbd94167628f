"""Anchored axes and judge plumbing, without a server (a stand-in LM for the prompts)."""

from __future__ import annotations

import numpy as np
import pytest

from qd.lm.anchors import AnchoredAxis, fit_calibration
from qd.lm.feedback import PROMPT_TEMPLATE
from qd.lm.judges import CONTENT_FREE, LMLabelJudge, ProbeJudge, few_shot_template


def test_axis_value_is_the_expected_pole_position():
    axis = AnchoredAxis(poles=("cold", "warm"), temperature=0.1)
    values = axis.values(np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.6]]))
    assert values[0] < 0.01 and values[1] == pytest.approx(0.5) and values[2] > 0.97
    three = AnchoredAxis(poles=("a", "b", "c"), temperature=0.01)
    assert three.values(np.array([[0.0, 0.9, 0.0]]))[0] == pytest.approx(0.5)


def test_poles_average_their_phrasings():
    axis = AnchoredAxis(poles=(("x", "y"), "z"))
    poles = axis.pole_vectors(np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]))
    assert axis.texts == ["x", "y", "z"]
    np.testing.assert_allclose(poles[0], [2**-0.5, 2**-0.5, 0])


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"anchors": ["only one"]}, "two or more"),
        ({"anchors": ["a", ""]}, "non-empty"),
        ({"anchors": ["a", "b"], "temperature": 0}, "temperature"),
        ({"anchors": ["a", "b"], "bias": [1, 2, 3]}, "bias"),
        ({"anchors": ["a", "b"], "temp": 1}, "unknown anchored-axis key"),
        ({"poles": ["a", "b"]}, "unknown"),
    ],
)
def test_bad_axis_tables_name_the_problem(table, match):
    with pytest.raises(ValueError, match=match):
        AnchoredAxis.from_config(table)


def test_calibration_recovers_the_temperature_and_bias_of_synthetic_labels():
    rng = np.random.default_rng(0)
    gap = rng.normal(0, 0.1, 4000)
    sims = np.stack([np.zeros_like(gap), gap], axis=1)
    p_true = 1 / (1 + np.exp(-(gap / 0.04 + 0.5)))
    labels = (rng.uniform(size=gap.size) < p_true).astype(int)
    fitted = fit_calibration(AnchoredAxis(poles=("a", "b")), sims, labels)
    assert fitted.temperature == pytest.approx(0.04, rel=0.15)
    assert fitted.bias[1] == pytest.approx(0.5, abs=0.15)
    table = fitted.to_config()
    assert AnchoredAxis.from_config(table) == fitted


def test_few_shot_template_puts_answered_examples_before_the_text():
    template = few_shot_template([("A {braced} tale", "horror"), ("Love", "romance")])
    prompt = template.format(instruction="Which genre?", text="New story")
    assert prompt == (
        "### Instruction:\nWhich genre?\n\n"
        "### Input:\nA {braced} tale\n\n### Response:\nhorror\n\n"
        "### Input:\nLove\n\n### Response:\nromance\n\n"
        "### Input:\nNew story\n\n### Response:\n"
    )
    assert few_shot_template([]).format(instruction="I", text="T") == PROMPT_TEMPLATE.format(
        instruction="I", text="T"
    )


class FixedLogprobs:
    """Answers every judge prompt with fixed label log-probabilities; records prompts."""

    def __init__(self, by_text: dict[str, dict[str, float]]):
        self.by_text = by_text
        self.prompts: list[str] = []

    def complete_many(self, prompts, **sampling):
        from qd.lm.replies import Completion

        self.prompts += prompts
        out = []
        for prompt in prompts:
            text = prompt.split("### Input:\n")[-1].split("\n\n### Response:")[0]
            probs = self.by_text.get(text, {"romance": 0.5, "horror": 0.5})
            top = {label: float(np.log(p)) for label, p in probs.items()}
            out.append(Completion(text=max(probs, key=probs.get), top_logprobs=[top]))
        return out


def test_contextual_calibration_divides_by_the_content_free_prior():
    # The model says "horror" 80% of the time on empty inputs: a biased judge.
    biased = {"horror": 0.8, "romance": 0.2}
    lm = FixedLogprobs({**{t: biased for t in CONTENT_FREE}, "story": biased})
    raw = LMLabelJudge(lm, instruction="Genre?", labels=("horror", "romance"))
    calibrated = LMLabelJudge(
        lm, instruction="Genre?", labels=("horror", "romance"), calibration="contextual"
    )
    assert raw.score(["story"])[0][0] == pytest.approx(0.2)
    value, info = calibrated.score(["story"])[0]
    assert value == pytest.approx(0.5)  # exactly as biased as on no content: undecided
    assert info["prior"] == pytest.approx({"horror": 0.8, "romance": 0.2})
    calibrated.score(["story"])
    assert sum(p.count("### Input:\nN/A\n") for p in lm.prompts) == 1  # prior asked once


def test_platt_judges_need_their_parameters_and_probes_their_dimensions():
    with pytest.raises(ValueError, match="platt=\\(a, b\\)"):
        LMLabelJudge(None, instruction="q", labels=("a", "b"), calibration="platt")
    with pytest.raises(ValueError, match="calibration"):
        LMLabelJudge(None, instruction="q", labels=("a", "b"), calibration="isotonic")
    probe = ProbeJudge(None, weights=(1.0, -1.0), bias=0.0)
    assert probe.score(["t"], np.array([[0.0, 0.0]]))[0][0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="refit"):
        probe.score(["t"], np.zeros((1, 3)))
