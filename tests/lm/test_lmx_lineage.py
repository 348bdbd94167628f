"""LMX children in the lineage: their parents are the elites their prompt showed, and
their record names the prompt's key in the LM reply cache.

The plumbing is checked with a fake LM; whole runs go against the fault server (an
OpenAI-compatible stub that writes a distinct text per prompt and remembers each
prompt), through the real client and its on-disk cache, killed and resumed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fault_server import FaultServer

from qd.archive import Elite
from qd.domain import Brood
from qd.lm.cache import LMCache
from qd.lm.lmx import SEPARATOR, LMXVariation, clean_reply
from qd.runs import execute, parse_config, start
from qd.runs.lineage import ancestors, read_lineage

TEMPLATE = "A story:\n"
SEEDS = ["seed one", "seed two", "seed three"]


@dataclass
class Reply:
    text: str
    key: str


class KeyedLM:
    """Answers each prompt with a numbered text and a made-up cache key; keeps prompts."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def complete_many(self, prompts: list[str], **sampling: Any) -> list[Reply]:
        start = len(self.prompts)
        self.prompts += prompts
        return [Reply(f"child {start + i}", f"key-{start + i}") for i in range(len(prompts))]


class Elites:
    def __init__(self, items: list[Elite]) -> None:
        self.items = items

    def elites(self) -> list[Elite]:
        return list(self.items)


def shown(prompt: str) -> list[str]:
    """The example texts of an LMX prompt, in order."""
    return [part.removeprefix(TEMPLATE) for part in prompt.split(f"\n{SEPARATOR}\n")[:-1]]


@pytest.mark.parametrize("mode", ["near", "replace", "quality", "shuffle"])
def test_each_child_names_the_elites_its_prompt_showed_and_its_reply_key(mode: str) -> None:
    elites = [
        Elite(f"story {i}", i / 10, (), (i % 4, i // 4), i, {}, id=f"3-{i}") for i in range(8)
    ]
    lm = KeyedLM()
    lmx = LMXVariation(
        lm, template=TEMPLATE, archive=Elites(elites), mode=mode, seeds=SEEDS, max_tokens=8
    )
    brood = lmx.children(6, np.random.default_rng(4))

    assert isinstance(brood, Brood) and brood == [f"child {i}" for i in range(6)]
    id_of = {e.candidate: e.id for e in elites}
    for prompt, parents in zip(lm.prompts, brood.parents, strict=True):
        texts = shown(prompt)
        assert len(texts) == 3
        # exactly the elites shown, in prompt order; a seed text is no lineage entry
        assert parents == [id_of[t] for t in texts if t in id_of]
        if mode in ("near", "quality"):  # replace's pool holds the seeds too
            assert all(t in id_of for t in texts)
    if mode == "shuffle":
        assert brood.parents == [[]] * 6  # seeds only
    else:
        assert any(brood.parents)
    assert brood.notes == [{"prompt_key": f"key-{i}"} for i in range(6)]


def test_a_text_that_left_the_archive_keeps_its_id_in_the_pools() -> None:
    archive = Elites([Elite("old story", 0.9, (), (0,), 0, {}, id="2-5")])
    lm = KeyedLM()
    lmx = LMXVariation(
        lm, template=TEMPLATE, archive=archive, mode="quality", seeds=SEEDS, max_tokens=8
    )
    lmx.children(1, np.random.default_rng(0))
    archive.items = [Elite("new story", 0.1, (), (1,), 1, {}, id="4-0")]
    brood = lmx.children(8, np.random.default_rng(1))
    for prompt, parents in zip(lm.prompts[1:], brood.parents, strict=True):
        expected = {"old story": "2-5", "new story": "4-0"}
        assert parents == [expected[t] for t in shown(prompt)]
    assert "2-5" in {p for group in brood.parents for p in group}


def test_brood_refuses_mismatched_parents_and_engine_fields() -> None:
    with pytest.raises(ValueError, match="2 children but 1 parent lists"):
        Brood(["a", "b"], [[]])
    with pytest.raises(ValueError, match=r"cannot set \['fate'\]"):
        Brood(["a"], [[]], [{"fate": "new"}])


def config(name: str, iterations: int) -> Any:
    return parse_config(
        {
            "name": name,
            "seed": 5,
            "domain": {"name": "fault_domain:Tales"},
            "search": {"iterations": iterations, "batch_size": 6, "checkpoint_every": 2},
            "lm": {"timeout": 30.0},
        }
    )


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with FaultServer() as server:
        monkeypatch.setenv("QD_LM_BASE_URL", server.base_url)
        monkeypatch.setenv("QD_LM_MODEL", "fault-model")
        yield server


def test_a_run_records_lmx_parents_and_prompt_keys(tmp_path: Path, server: FaultServer) -> None:
    run = start(config("lmx", 5), tmp_path)
    execute(run)
    records = read_lineage(run.path)
    cache = LMCache(run.path / "lm-cache")
    # every candidate's text is its cached reply: the key is the reply cache's
    text_of = {i: clean_reply(cache.get(r["prompt_key"])["text"]) for i, r in records.items()}
    assert len(text_of) == 5 * 6
    for record in records.values():
        prompt = server.prompts[cache.get(record["prompt_key"])["text"]]
        if record["operator"] == "initial":
            assert record["parents"] == []
            continue
        assert record["operator"] == "lmx"
        # the parents are exactly the elites the prompt showed, in its order
        assert [text_of[p] for p in record["parents"]] == shown(prompt)
        assert len(record["parents"]) == 3
        assert all(records[p]["fate"] in ("new", "improved") for p in record["parents"])
    best = run.latest_checkpoint().records
    elite_ids = [r["id"] for r in best]
    deepest = max(elite_ids, key=lambda i: len(ancestors(run.path, i)))
    assert {r["operator"] for r in ancestors(run.path, deepest)} == {"lmx", "initial"}


def test_a_resumed_lmx_run_writes_the_same_lineage(tmp_path: Path, server: FaultServer) -> None:
    reference = start(config("reference", 6), tmp_path)
    execute(reference)
    killed = start(config("killed", 5), tmp_path)
    execute(killed)
    # killed after iteration 5, before its checkpoint: resume from iteration 4's
    (killed.path / "archive-000005.json").unlink(missing_ok=True)
    execute(killed, iterations=6, resume=True)

    lines = killed.lineage_path.read_text().splitlines()
    assert lines == reference.lineage_path.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    ids = {r["id"] for r in records}
    assert len(ids) == len(records) == 6 * 6
    assert all(p in ids for r in records for p in r["parents"])
    later = [r for r in records if r["iteration"] > 4]
    assert later and all(r["parents"] and r["prompt_key"] for r in later)


def test_poetry_rewrites_name_the_poem_they_rewrote() -> None:
    from domains.creative_writing.poetry import Poetry
    from qd.archive import Archive
    from qd.domain import Evaluation

    domain = Poetry()
    archive = Archive(domain.measures)
    lm = KeyedLM()
    domain.connect(lm=lm, archive=archive)
    poems = ["the first poem, long enough", "the second poem, long enough"]
    archive.add_with_fates(
        poems,
        [Evaluation(0.5, ("haiku", "happy")), Evaluation(0.6, ("sonnet", "dark"))],
        ["1-0", "1-1"],
    )
    brood = domain.variation().batch(6, np.random.default_rng(0))
    assert isinstance(brood, Brood) and brood.notes == [
        {"prompt_key": f"key-{i}"} for i in range(6)
    ]
    ids = {"the first poem, long enough": "1-0", "the second poem, long enough": "1-1"}
    for prompt, parents in zip(lm.prompts, brood.parents, strict=True):
        assert parents == [next(i for poem, i in ids.items() if poem in prompt)]
