"""Science Birds children in the lineage: an LM level's parents are the elites whose
programs its prompt showed (its record names the reply's cache key), an edited level's
the level it edited.

The prompt plumbing is checked with a fake LM that keeps every request; a short run goes
against the fault server (an OpenAI-compatible stub) through the real client and cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fault_server import FaultServer

from domains.science_birds.domain import ScienceBirdsLetters, example_program
from domains.science_birds.prompting import SEPARATOR, LevelPrompter, task_for, to_source
from qd.archive import Archive
from qd.domain import Brood
from qd.runs import execute, parse_config, start
from qd.runs.lineage import read_lineage

REPLY = "drop_block('b11', 9)"


@dataclass
class Reply:
    text: str
    key: str


class KeyedLM:
    """Answers every request with one small program and a made-up cache key; keeps the
    requests (completion prompts or chat messages) in order."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def _answer(self, requests: list[Any]) -> list[Reply]:
        start = len(self.requests)
        self.requests += requests
        return [Reply(REPLY, f"key-{start + i}") for i in range(len(requests))]

    def complete_many(self, prompts: list[str], **sampling: Any) -> list[Reply]:
        return self._answer(prompts)

    def chat_many(self, conversations: list[Any], **sampling: Any) -> list[Reply]:
        return self._answer(conversations)


def archive_of(domain: ScienceBirdsLetters, letters: str = "ATHLOE") -> tuple[Archive, dict]:
    """An archive of the shipped letters, with lineage ids, and each elite's program
    text -> its id (the letters' levels fill different cells)."""
    archive = Archive(domain.measures)
    programs = [example_program(letter) for letter in letters]
    ids = [f"1-{i}" for i in range(len(programs))]
    archive.add_with_fates(programs, domain.evaluate(programs), ids)
    id_of = {to_source(e.candidate): e.id for e in archive.elites()}
    assert len(id_of) >= 4
    return archive, id_of


def lmx_parts(prompt: str, letter: str) -> tuple[list[str], str]:
    """The example programs of a level LMX prompt, in order, and the prefix it opens."""
    header = task_for(
        letter, "# A stable Science Birds structure shaped like the letter <OBJECT>\n"
    )
    *examples, opened = prompt.split(header)[1:]
    return [e.removesuffix(f"\n{SEPARATOR}\n") for e in examples], opened


def test_an_lmx_level_names_the_elites_its_prompt_showed_and_its_reply_key() -> None:
    domain = ScienceBirdsLetters(letter="T")
    archive, id_of = archive_of(domain)
    lm = KeyedLM()
    prompter = LevelPrompter(lm, letter="T", mode="lmx", archive=archive, max_drops=40)
    brood = prompter.children(12, np.random.default_rng(3))

    assert isinstance(brood, Brood) and len(brood) == 12
    assert brood.notes == [{"prompt_key": f"key-{i}"} for i in range(12)]
    continued = 0
    for prompt, parents in zip(lm.requests, brood.parents, strict=True):
        examples, opened = lmx_parts(prompt, "T")
        assert len(examples) == 3
        shown = [id_of[code] for code in examples]
        if not opened:  # no prefix: the examples alone, in prompt order
            assert parents == shown
            continue
        # the prefix shows the parent's first drops: it comes last, after the examples
        continued += 1
        *first, parent = parents
        assert first == shown and parent not in shown
        program = next(code for code, i in id_of.items() if i == parent)
        assert program.startswith(opened)
    assert continued  # the default continue_parent opened most prompts with a prefix


def test_a_few_shot_level_names_its_examples_and_a_zero_shot_level_none() -> None:
    domain = ScienceBirdsLetters(letter="A")
    archive, id_of = archive_of(domain)
    lm = KeyedLM()
    few = LevelPrompter(lm, letter="A", mode="few-shot", archive=archive, k=2)
    brood = few.children(5, np.random.default_rng(1))
    for conversation, parents in zip(lm.requests, brood.parents, strict=True):
        content = conversation[0]["content"].split("Here are stable structures")[1]
        examples = re.findall(r"```python\n(.*?)\n```", content, flags=re.DOTALL)
        assert len(examples) == 2 and parents == [id_of[code] for code in examples]
    assert brood.notes == [{"prompt_key": f"key-{i}"} for i in range(5)]

    zero = LevelPrompter(lm, letter="A", mode="zero-shot").children(3, np.random.default_rng(0))
    assert zero.parents == [[], [], []]  # the competition's prompt shows no level
    assert zero.notes == [{"prompt_key": f"key-{i}"} for i in range(5, 8)]
    assert LevelPrompter(lm, letter="A").children(0, np.random.default_rng(0)) == Brood([], [])


def one_edit_apart(child: tuple, parent: tuple) -> bool:
    """Whether one add, remove, move or retype of a drop (or none) turns parent into child."""
    if len(child) == len(parent):
        return sum(a != b for a, b in zip(child, parent, strict=True)) <= 1
    long, short = (child, parent) if len(child) > len(parent) else (parent, child)
    return len(long) == len(short) + 1 and any(
        long[:i] + long[i + 1 :] == short for i in range(len(long))
    )


def spliced(child: tuple, first: tuple, second: tuple) -> bool:
    """Whether child is a start of first followed by an end of second."""
    return any(
        child[:cut] == first[:cut]
        and (cut == len(child) or second[-(len(child) - cut) :] == child[cut:])
        for cut in range(min(len(child), len(first)) + 1)
    )


def test_an_edited_level_names_the_level_it_edited_and_a_crossover_both() -> None:
    program_of: dict[str, tuple] = {}
    for p_crossover in (0.0, 1.0):
        domain = ScienceBirdsLetters(
            letter="T", lm_variation="lmx", lm_share=0.0, p_crossover=p_crossover, max_drops=200
        )
        archive, _ = archive_of(domain)
        program_of = {i: e.candidate for e in archive.elites() if (i := e.id) is not None}
        domain.connect(lm=KeyedLM(), archive=archive)
        brood = domain.variation().batch(40, np.random.default_rng(7))
        assert isinstance(brood, Brood) and brood.notes == [{}] * 40
        for child, parents in zip(brood, brood.parents, strict=True):
            if p_crossover == 0.0:
                (parent,) = parents
                assert one_edit_apart(child, program_of[parent])
            else:
                first, second = parents
                assert spliced(child, program_of[first], program_of[second])
    assert len(program_of) >= 4


def test_a_mixed_batch_keeps_the_lm_levels_parents_and_keys_then_the_edits() -> None:
    domain = ScienceBirdsLetters(letter="T", lm_variation="lmx", lm_share=0.5)
    archive, id_of = archive_of(domain)
    lm = KeyedLM()
    domain.connect(lm=lm, archive=archive)
    brood = domain.variation().batch(30, np.random.default_rng(2))
    from_lm = len(lm.requests)
    assert 0 < from_lm < 30 and len(brood) == 30
    assert brood.notes[:from_lm] == [{"prompt_key": f"key-{i}"} for i in range(from_lm)]
    assert brood.notes[from_lm:] == [{}] * (30 - from_lm)
    for prompt, parents in zip(lm.requests, brood.parents[:from_lm], strict=True):
        examples, _ = lmx_parts(prompt, "T")
        assert parents[:3] == [id_of[code] for code in examples]
    ids = set(id_of.values())
    assert all(1 <= len(p) <= 2 and set(p) <= ids for p in brood.parents[from_lm:])


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with FaultServer() as server:
        monkeypatch.setenv("QD_LM_BASE_URL", server.base_url)
        monkeypatch.setenv("QD_LM_MODEL", "fault-model")
        yield server


def test_a_run_records_parents_for_every_lm_and_edited_level(
    tmp_path: Path, server: FaultServer
) -> None:
    config = parse_config(
        {
            "name": "levels",
            "seed": 3,
            "domain": {
                "name": "science_birds",
                "letter": "T",
                "trials": 1,
                "lm_variation": "lmx",
                "lm_share": 0.5,
            },
            "search": {"iterations": 4, "batch_size": 8, "checkpoint_every": 2},
            "lm": {"timeout": 30.0},
        }
    )
    run = start(config, tmp_path)
    execute(run)
    records = read_lineage(run.path)
    assert len(records) == 4 * 8
    later = [r for r in records.values() if r["iteration"] > 1]
    assert {r["operator"] for r in later} == {"lmx+edit"}
    for record in later:  # every child names its parents, each an earlier record
        assert record["parents"] and all(p in records for p in record["parents"])
        assert all(records[p]["iteration"] < record["iteration"] for p in record["parents"])
    from_lm = [r for r in later if "prompt_key" in r]
    edits = [r for r in later if "prompt_key" not in r]
    assert from_lm and edits
    assert all(1 <= len(r["parents"]) <= 2 for r in edits)
    assert all(len(r["parents"]) >= 3 for r in from_lm)  # k = 3 examples (and the parent)
