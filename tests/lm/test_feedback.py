"""AI feedback (qd.lm.feedback): label parsing on recorded replies, and the real server.

The ``fixtures/feedback_*.json`` files are real replies of the embedded model
(SmolLM2-135M-Instruct on llama.cpp), one-token completions with ``temperature=0`` and
``logprobs=5`` (10 for the genre case). Each holds the instruction, the labels and, per
text, the answer and ``top_logprobs``. They were captured with::

    from qd.lm import LM, LocalServer
    from qd.lm.feedback import judge_prompt

    with LocalServer() as server:
        lm = LM(server.settings())
        prompts = [judge_prompt(instruction, text) for text in texts]
        replies = lm.complete_many(prompts, max_tokens=1, temperature=0, logprobs=5)
        cases = [{"text": t, "answer": r.text, "top_logprobs": r.top_logprobs}
                 for t, r in zip(texts, replies)]
        # json.dump({"model": ..., "instruction": ..., "labels": ..., "cases": cases}, f)

with these cases:

- ``yes_no``: "Is the input text a positive opinion about eating vegetables? Answer yes
  or no." (``"Yes"``/``"No"`` in the top-5);
- ``yes_no_space``: the same prompt without the newline after ``### Response:``
  (``" No"``, with a leading space, behind ``"\\n"``);
- ``horror_romance``: "Classify the story as Horror or Romance." (``"Hor"``/``"Rom"``:
  prefixes of multi-token labels);
- ``genre``: "What genre is this poem? Answer Haiku, Sonnet, Ballad or Limerick."
  (``"Ha"``, ``"Son"``, one-letter ``"L"`` and ``"S"``);
- ``no_label``: "Translate the input to French." asked as a yes/no question (no label
  in the top-k);
- ``rating`` and ``rating_follow_up``: "Rate the quality of the input story from 1 to
  10. Answer with a number.", and the same prompt followed by ``"1"`` (is ``"0"`` next?).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from qd.lm import LM, Completion, LMError
from qd.lm.feedback import (
    NO_LABEL,
    NO_LOGPROBS,
    PROMPT_TEMPLATE,
    AIFeedback,
    FeedbackError,
    check_logprobs,
    judge_prompt,
    label_distribution,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"feedback_{name}.json").read_text())


def first_top(name: str, case: int = 0) -> dict[str, float]:
    return fixture(name)["cases"][case]["top_logprobs"][0]


def softmax_pair(a: float, b: float) -> float:
    return math.exp(a) / (math.exp(a) + math.exp(b))


# -- label parsing on recorded replies ------------------------------------------------


def test_yes_no_from_recorded_reply() -> None:
    top = first_top("yes_no")
    probs, info = label_distribution(top, ["yes", "no"])
    assert probs["yes"] == pytest.approx(softmax_pair(top["Yes"], top["No"]))
    assert probs["yes"] + probs["no"] == pytest.approx(1.0)
    assert info["matched"] == {"No": "no", "Yes": "yes"}
    assert "fallback" not in info
    assert info["mass"] == pytest.approx(math.exp(top["Yes"]) + math.exp(top["No"]))
    assert [t for t, _ in info["top"]] == sorted(top, key=lambda t: -top[t])


def test_label_variants_are_summed() -> None:
    top = dict(first_top("yes_no"))  # recorded "Yes" and "No", plus variants added here
    top.update({" yes": -4.0, "YES": -5.0, " Yes.": -6.0, " no": -4.5})
    probs, info = label_distribution(top, ["Yes", "No"])
    yes = sum(math.exp(top[t]) for t in ("Yes", " yes", "YES", " Yes."))
    no = sum(math.exp(top[t]) for t in ("No", " no"))
    assert probs["Yes"] == pytest.approx(yes / (yes + no))
    assert set(info["matched"]) == {"Yes", " yes", "YES", " Yes.", "No", " no"}


def test_leading_space_variant_recorded() -> None:
    top = first_top("yes_no_space")
    assert " No" in top and "No" not in top
    probs, info = label_distribution(top, ["yes", "no"])
    # "yes" is outside the top-k: it gets the k-th token's probability as a bound
    floor = math.exp(min(top.values()))
    no = sum(math.exp(lp) for t, lp in top.items() if t.strip().lower() == "no")
    assert info["floored"] == {"labels": ["yes"], "floor": floor}
    assert probs["yes"] == pytest.approx(floor / (floor + no))
    assert probs["no"] == pytest.approx(no / (floor + no)) and probs["no"] > 0.5
    assert info["matched"] == {" No": "no"}


def test_prefix_tokens_of_multi_token_labels() -> None:
    for case in fixture("horror_romance")["cases"]:
        top = case["top_logprobs"][0]
        probs, info = label_distribution(top, ["horror", "romance"])
        assert info["matched"] == {"Hor": "horror", "Rom": "romance"}
        assert probs["horror"] == pytest.approx(softmax_pair(top["Hor"], top["Rom"]))


def test_genre_prefixes_and_one_letter_tokens() -> None:
    top = first_top("genre")
    labels = ["haiku", "sonnet", "ballad", "limerick"]
    probs, info = label_distribution(top, labels)
    assert info["matched"] == {"Ha": "haiku", "Son": "sonnet"}  # not "L" nor "S"
    assert probs["haiku"] == pytest.approx(softmax_pair(top["Ha"], top["Son"]))
    assert probs["ballad"] == probs["limerick"] == 0.0
    assert sum(probs.values()) == pytest.approx(1.0)
    # With min_prefix=1 the one-letter tokens count too.
    _, loose = label_distribution(top, labels, min_prefix=1)
    assert loose["matched"]["L"] == "limerick" and loose["matched"]["S"] == "sonnet"


def test_ambiguous_prefix_counts_for_no_label() -> None:
    top = first_top("genre")
    probs, info = label_distribution(top, ["haiku", "happy", "sonnet"])
    assert info["ambiguous"] == ["Ha"]
    assert info["matched"] == {"Son": "sonnet"}
    assert probs == {"haiku": 0.0, "happy": 0.0, "sonnet": 1.0}


def test_no_label_in_top_k_falls_back_to_uniform() -> None:
    top = first_top("no_label")
    probs, info = label_distribution(top, ["yes", "no"])
    assert probs == {"yes": 0.5, "no": 0.5}
    assert info["fallback"] == NO_LABEL
    assert [t for t, _ in info["top"]] == ["Bon", "Je", "B", "L", "La"]
    probs, info = label_distribution(top, ["w", "x", "y", "z"])
    assert probs == dict.fromkeys("wxyz", 0.25)


def test_no_logprobs_falls_back() -> None:
    for missing in (None, {}):
        probs, info = label_distribution(missing, ["yes", "no"])
        assert probs == {"yes": 0.5, "no": 0.5}
        assert info["fallback"] == NO_LOGPROBS


def test_bad_labels_are_refused() -> None:
    for labels in (["yes"], ["Yes", " yes"], ["yes", ""]):
        with pytest.raises(ValueError, match="distinct"):
            label_distribution({"yes": 0.0}, labels)


# -- AIFeedback against a scripted LM (recorded replies) ----------------------------


class ScriptedLM:
    """Answers with recorded first-token logprobs; records every request."""

    def __init__(self, tops: list[Any], *, logprobs: bool = True) -> None:
        self.tops = list(tops)
        self.logprobs = logprobs
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def complete_many(self, prompts: list[str], **sampling: Any) -> list[Any]:
        self.calls.append((list(prompts), sampling))
        out: list[Any] = []
        for _ in prompts:
            top = self.tops.pop(0) if self.tops else {"Yes": -0.1}
            if isinstance(top, Exception):
                out.append(top)
            elif isinstance(top, str):  # a sampled answer
                out.append(Completion(text=top))
            else:
                lp = [top] if self.logprobs else None
                out.append(Completion(text=next(iter(top), ""), top_logprobs=lp))
        return out


def test_quality_sends_one_token_greedy_requests_instruction_first() -> None:
    lm = ScriptedLM([{"Yes": -0.1}, first_top("yes_no", 0), first_top("yes_no", 1)])
    feedback = AIFeedback(lm, top_logprobs=5)
    results = feedback.quality(["text one", "text two"], "Good? Answer yes or no.")
    assert feedback.mode == "logprobs"
    prompts, sampling = lm.calls[1]  # calls[0] is check_logprobs
    assert sampling == {"max_tokens": 1, "temperature": 0, "logprobs": 5}
    assert prompts[0] == PROMPT_TEMPLATE.format(
        instruction="Good? Answer yes or no.", text="text one"
    )
    assert prompts[0].index("Good?") < prompts[0].index("text one")
    for value, info in results:
        assert 0.0 <= value <= 1.0
        assert value == info["probs"]["yes"]


def test_errors_stay_in_their_slot() -> None:
    lm = ScriptedLM([{"Yes": -0.1}, LMError("boom", kind="timeout"), first_top("yes_no")])
    results = AIFeedback(lm).quality(["a", "b"], "Good?")
    assert results[0] == (
        None,
        {"error": LMError("boom", kind="timeout").to_dict(), "mode": "logprobs"},
    )
    assert results[1][0] is not None
    choices = AIFeedback(ScriptedLM([{"Yes": -0.1}, LMError("x")])).choice(["a"], "?", ["p", "q"])
    assert choices[0][0] is None and choices[0][1] == {} and "error" in choices[0][2]


def test_choice_off_list_answer_falls_back() -> None:
    lm = ScriptedLM([{"Yes": -0.1}, first_top("genre"), first_top("no_label")])
    labels = ["haiku", "sonnet", "ballad", "limerick"]
    (label, probs, _), (none, uniform, info) = AIFeedback(lm, top_logprobs=10).choice(
        ["poem", "Good morning."], "Genre?", labels
    )
    assert label == "haiku" and probs["haiku"] > probs["sonnet"] > 0
    assert none is None and uniform == dict.fromkeys(labels, 0.25)
    assert info["fallback"] == NO_LABEL


def test_rating_splits_one_into_one_and_ten() -> None:
    top = first_top("rating")
    follow = first_top("rating_follow_up")
    lm = ScriptedLM([{"Yes": -0.1}, top, follow])
    ((value, info),) = AIFeedback(lm).rating(["story"], "Rate 1-10.")
    # "1" is the only rating in the top-5; after it "0" has probability q.
    q = math.exp(follow["0"])
    assert info["probs"]["10"] == pytest.approx(q)
    assert info["probs"]["1"] == pytest.approx(1 - q)
    assert value == pytest.approx(1 * (1 - q) + 10 * q)
    assert info["normalized"] == pytest.approx((value - 1) / 9)
    assert lm.calls[2][0][0].endswith("### Response:\n1")
    assert "follow_up" in info


def test_rating_needs_no_follow_up_when_ten_is_one_token() -> None:
    lm = ScriptedLM(
        [{"Yes": -0.1}, {"10": math.log(0.5), "1": math.log(0.25), "5": math.log(0.25)}]
    )
    ((value, info),) = AIFeedback(lm).rating(["story"], "Rate 1-10.")
    assert value == pytest.approx(0.5 * 10 + 0.25 * 1 + 0.25 * 5)
    assert len(lm.calls) == 2 and "follow_up" not in info


def test_missing_logprobs_raise_a_clear_error() -> None:
    lm = ScriptedLM([], logprobs=False)
    with pytest.raises(FeedbackError, match=r"logprobs.*sampling_fallback"):
        check_logprobs(lm)
    with pytest.raises(FeedbackError, match="top_logprobs"):
        AIFeedback(ScriptedLM([], logprobs=False)).quality(["a"], "Good?")
    failing = ScriptedLM([LMError("HTTP 400: logprobs not supported", kind="status")])
    with pytest.raises(FeedbackError, match="not supported"):
        check_logprobs(failing)


def test_sampling_fallback_counts_labels() -> None:
    answers = ["No", "Yes.", " yes", "Hmm", "Yes", "no", "no", "???"]
    lm = ScriptedLM([{}, *answers], logprobs=False)
    results = AIFeedback(lm, sampling_fallback=4).quality(["a", "b"], "Good?")
    assert lm.calls[1][1] == {"max_tokens": 3, "temperature": 1.0}
    assert len(lm.calls[1][0]) == 8
    (va, ia), (vb, ib) = results
    assert va == pytest.approx(2 / 3) and ia["counts"] == {"yes": 2, "no": 1}
    assert vb == pytest.approx(1 / 3) and ib["mode"] == "sampling"


# -- the real server ----------------------------------------------------------------

TEXTS = [
    "Vegetables are delicious and keep me healthy.",
    "I hate broccoli, it is disgusting.",
    "The ghost crept up the stairs and blood dripped from the walls.",
]


class RecordingLM:
    """A real LM whose requests are recorded, and whose logprobs can be dropped."""

    def __init__(self, lm: LM, *, drop_logprobs: bool = False) -> None:
        self.lm = lm
        self.drop_logprobs = drop_logprobs
        self.sampling: list[dict[str, Any]] = []

    def complete_many(self, prompts: list[str], **sampling: Any) -> list[Any]:
        self.sampling.append(sampling)
        replies = self.lm.complete_many(prompts, **sampling)
        if self.drop_logprobs:
            replies = [
                r if isinstance(r, LMError) else replace(r, top_logprobs=None) for r in replies
            ]
        return replies


@pytest.mark.lm
def test_real_quality_and_descriptor(lm_server: Any) -> None:
    began = time.perf_counter()
    lm = RecordingLM(LM(lm_server.settings()))
    feedback = AIFeedback(lm, top_logprobs=10)
    quality = feedback.quality(TEXTS, "Is the input text a positive opinion? Answer yes or no.")
    descriptor = feedback.descriptor(
        TEXTS, "Classify the story as Horror or Romance.", "horror", "romance"
    )
    assert feedback.mode == "logprobs"
    for value, info in [*quality, *descriptor]:
        assert value is not None and 0.0 <= value <= 1.0, info
        assert info["top"] and info["mode"] == "logprobs" and "probs" in info
    assert all(s["max_tokens"] == 1 and s["temperature"] == 0 for s in lm.sampling)
    assert lm.lm.usage.snapshot()["completion_tokens"] <= len(lm.sampling) * len(TEXTS)
    assert time.perf_counter() - began < 30


@pytest.mark.lm
def test_real_choice_never_crashes_on_off_list_answers(lm_server: Any) -> None:
    feedback = AIFeedback(LM(lm_server.settings()))
    results = feedback.choice(["Good morning."], "Translate the input to French.", ["x", "y"])
    label, probs, info = results[0]
    assert label is None and probs == {"x": 0.5, "y": 0.5} and info["fallback"] == NO_LABEL


@pytest.mark.lm
def test_real_sampling_fallback(lm_server: Any) -> None:
    lm = RecordingLM(LM(lm_server.settings()), drop_logprobs=True)
    with pytest.raises(FeedbackError):
        AIFeedback(lm).quality(TEXTS[:1], "Good? Answer yes or no.")
    feedback = AIFeedback(lm, sampling_fallback=4)
    results = feedback.quality(TEXTS[:2], "Is the input text a positive opinion? Answer yes or no.")
    assert feedback.mode == "sampling"
    assert lm.sampling[-1]["temperature"] == 1.0
    for value, info in results:
        assert 0.0 <= value <= 1.0
        assert len(info["samples"]) == 4 and sum(info["counts"].values()) <= 4


def test_judge_prompt_puts_the_instruction_first() -> None:
    prompt = judge_prompt("Q?", "T")
    assert prompt == "### Instruction:\nQ?\n\n### Input:\nT\n\n### Response:\n"
