"""LM prompts for levels: the plumbing, with a scripted LM (the real one is in tests/e2e)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from domains.science_birds.domain import ScienceBirdsLetters, example_program
from domains.science_birds.generate import ask_letters, main, write_replies
from domains.science_birds.prompting import (
    COMPETITION_TASK,
    LMX_STOP,
    LevelPrompter,
    few_shot_task,
    lmx_prompt,
    read_reply,
    task_for,
    to_source,
)
from domains.science_birds.score import score_folder
from qd.archive import Archive
from qd.lm.errors import LMError
from qd.testing import check_domain

TOWER = "drop_block('b31', 5)\ndrop_block('b13', 5)"
LOOP_REPLY = "Sure!\n```python\nfor i in range(3):\n    drop_block('b11', 4 + i)\n```\nDone."


@dataclass
class Reply:
    text: str


@dataclass
class ScriptedLM:
    """Records every batch and answers from ``answers`` in turn (cycled)."""

    answers: list[Any] = field(default_factory=lambda: [TOWER])
    calls: list[tuple[str, list[Any], dict[str, Any]]] = field(default_factory=list)

    def _answer(self, kind: str, requests, sampling) -> list[Any]:
        self.calls.append((kind, list(requests), dict(sampling)))
        start = sum(len(c[1]) for c in self.calls[:-1])
        picked = [self.answers[(start + i) % len(self.answers)] for i in range(len(requests))]
        return [a if isinstance(a, LMError) else Reply(a) for a in picked]

    def complete_many(self, prompts, **sampling):
        return self._answer("complete", prompts, sampling)

    def chat_many(self, conversations, **sampling):
        return self._answer("chat", conversations, sampling)


def filled_archive(domain: ScienceBirdsLetters, letters: str = "ATH") -> Archive:
    archive = Archive(domain.measures)
    programs = [example_program(letter) for letter in letters]
    archive.add(programs, domain.evaluate(programs))
    return archive


def test_the_task_names_the_letter_and_refuses_a_prompt_without_a_placeholder():
    assert "uppercase letter K" in task_for("K")
    assert "<OBJECT>" not in task_for("K")
    with pytest.raises(ValueError, match="<OBJECT>"):
        task_for("K", "Build a letter with drop_block.")


def test_few_shot_task_shows_each_example_in_a_code_block_and_asks_for_a_new_one():
    text = few_shot_task("T", ["drop_block('b11', 1)", "drop_block('b13', 2)"])
    assert text.startswith(task_for("T"))
    assert "Example 1:\n```python\ndrop_block('b11', 1)\n```" in text
    assert "Example 2:\n```python\ndrop_block('b13', 2)\n```" in text
    assert text.endswith("different from the examples.")


def test_lmx_prompt_lists_examples_under_the_letter_header_and_opens_a_new_one():
    prompt = lmx_prompt("A", ["drop_block('b11', 1)", "drop_block('b11', 2)"], prefix="x\n")
    header = "# A stable Science Birds structure shaped like the letter A\n"
    assert prompt == (
        f"{header}drop_block('b11', 1)\n###\n{header}drop_block('b11', 2)\n###\n{header}x\n"
    )


def test_a_reply_that_parses_becomes_drops_and_one_that_does_not_stays_text():
    assert read_reply(LOOP_REPLY, max_drops=40) == (("b11", 4), ("b11", 5), ("b11", 6))
    bad = read_reply("```python\nimport os\ndrop_block('b11', 3)\n```", max_drops=40)
    assert bad == "import os\ndrop_block('b11', 3)"
    too_long = read_reply("for i in range(50):\n    drop_block('b11', 3)", max_drops=40)
    assert isinstance(too_long, str)


def test_an_unparsable_child_is_an_invalid_evaluation_that_names_the_line():
    domain = ScienceBirdsLetters(letter="A")
    child = read_reply("drop_block('b11', 3)\nimport os", max_drops=40)
    (evaluation,) = domain.evaluate([child])
    assert not evaluation.valid
    assert "line 2" in evaluation.invalid_reason and "import" in evaluation.invalid_reason
    (none,) = domain.evaluate([None])
    assert not none.valid and "LM request failed" in none.invalid_reason


def test_lmx_continues_a_prefix_of_a_parent_and_cuts_the_reply_at_the_separator():
    domain = ScienceBirdsLetters(letter="T")
    archive = filled_archive(domain)
    lm = ScriptedLM(answers=["drop_block('b11', 9)\n###junk"])
    prompter = LevelPrompter(lm, letter="T", mode="lmx", archive=archive, max_drops=40)
    children = prompter.children(4, np.random.default_rng(0))
    ((kind, prompts, sampling),) = lm.calls
    assert kind == "complete" and len(prompts) == 4
    assert sampling["stop"] == list(LMX_STOP)
    parents = {to_source(c) for c in archive.candidates()}
    for prompt, child in zip(prompts, children, strict=True):
        assert prompt.count("###") == 3  # k = 3 examples
        opened = prompt.rsplit("letter T\n", 1)[1]  # the parent prefix the LM continues
        assert opened and any(p.startswith(opened) for p in parents)
        assert to_source(child) == opened + "drop_block('b11', 9)"


def test_chat_modes_send_the_competition_task_and_failed_requests_give_none():
    domain = ScienceBirdsLetters(letter="A")
    archive = filled_archive(domain)
    lm = ScriptedLM(answers=[LOOP_REPLY, LMError("boom", kind="timeout")])
    zero = LevelPrompter(lm, letter="A", mode="zero-shot")
    assert zero.children(2, np.random.default_rng(0)) == [
        (("b11", 4), ("b11", 5), ("b11", 6)),
        None,
    ]
    kind, conversations, sampling = lm.calls[-1]
    assert kind == "chat" and "stop" not in sampling
    assert conversations[0] == [{"role": "user", "content": task_for("A")}]

    few = LevelPrompter(lm, letter="A", mode="few-shot", archive=archive, k=2)
    few.children(1, np.random.default_rng(1))
    (message,) = lm.calls[-1][1][0]
    assert message["content"].count("```python") == 2 + COMPETITION_TASK.count("```python")
    with pytest.raises(ValueError, match="archive; it is empty"):
        LevelPrompter(lm, letter="A", mode="few-shot", archive=Archive(domain.measures)).children(
            1, np.random.default_rng(0)
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lm_variation": "sonnet"}, "lm_variation"),
        ({"lm_variation": "lmx", "lm_share": 1.5}, "lm_share"),
    ],
)
def test_bad_lm_settings_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ScienceBirdsLetters(**kwargs)


def test_the_lm_writes_about_lm_share_of_each_batch_and_edits_make_the_rest():
    domain = ScienceBirdsLetters(letter="T", lm_variation="lmx", lm_share=0.5)
    assert domain.uses_lm and not ScienceBirdsLetters().uses_lm
    operator = domain.variation()
    with pytest.raises(RuntimeError, match="connect"):
        operator.batch(4, np.random.default_rng(0))
    archive = filled_archive(domain)
    lm = ScriptedLM()
    domain.connect(lm=lm, archive=archive)
    children = operator.batch(200, np.random.default_rng(0))
    from_lm = sum(len(c[1]) for c in lm.calls)
    assert len(children) == 200 and 70 < from_lm < 130
    for share, expected in ((0.0, 0), (1.0, 10)):
        lm.calls.clear()
        only = ScienceBirdsLetters(letter="T", lm_variation="lmx", lm_share=share)
        only.connect(lm=lm, archive=archive)
        only.variation().batch(10, np.random.default_rng(0))
        assert sum(len(c[1]) for c in lm.calls) == expected


def test_text_candidates_round_trip_through_encode_and_decode():
    domain = ScienceBirdsLetters()
    assert domain.decode(domain.encode(TOWER)) == TOWER
    program = example_program("A")
    assert domain.decode(domain.encode(program)) == program


def test_generated_replies_are_written_in_the_layout_the_scorer_reads(tmp_path):
    lm = ScriptedLM(answers=[LOOP_REPLY, "no code at all"])
    replies = ask_letters(lm, "IL", trials=2)
    assert replies == {"I": [LOOP_REPLY, "no code at all"], "L": [LOOP_REPLY, "no code at all"]}
    assert [c[1][0][0]["content"] for c in lm.calls] == [task_for("I"), task_for("L")]
    write_replies(tmp_path, replies)
    assert sorted(p.name for p in (tmp_path / "L").iterdir()) == ["trial-01.txt", "trial-02.txt"]
    for scores in score_folder(tmp_path).values():
        assert set(scores) == {"I", "L"}
        assert all(s.trials_ok == 1 and s.trials_expected == 2 for s in scores.values())
    # The competition's regex finds no call it accepts in either reply (the loop's x is
    # not plain digits): both are failed trials, not a crash.
    for strict in score_folder(tmp_path, competition=True).values():
        assert all(s.trials_ok == 0 and s.score == 0 for s in strict.values())


def test_generate_refuses_a_prompt_file_without_a_placeholder(tmp_path, capsys):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Build a letter with drop_block.")
    import typer

    with pytest.raises(typer.Exit) as exit_info:
        main(tmp_path / "out", prompt=prompt, trials=1, letters="A", max_tokens=8)
    assert exit_info.value.exit_code == 2
    assert "<OBJECT>" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_check_domain_connects_an_lm_domain_to_the_lm_it_is_given():
    domain = ScienceBirdsLetters(letter="L", trials=1, lm_variation="lmx", lm_share=0.5)
    with pytest.raises(ValueError, match="uses an LM: pass one"):
        check_domain(domain, iterations=2, batch_size=6)
    lm = ScriptedLM()
    check_domain(domain, iterations=2, batch_size=6, lm=lm)
    assert lm.calls  # the variation and the search asked the LM


def test_features_are_the_classifier_softmax_the_competition_compares():
    domain = ScienceBirdsLetters(letter="T")
    (evaluation,) = domain.evaluate([example_program("T")])
    features = domain.features(example_program("T"), evaluation.info)
    # A-Z and "not a letter", as the shipped (hardened) classifier outputs them
    assert len(features) == 27 and sum(features) == pytest.approx(1.0, abs=1e-3)
    assert max(range(27), key=features.__getitem__) == 19  # the standing T reads as T
