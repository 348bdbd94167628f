"""LMX: prompt plumbing with a fake LM, example selection, and one real-server call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from lm_helpers import needs_llama_cpp

from qd.archive import Elite
from qd.domain import Operator
from qd.lm import LM, FailedChild, LMError
from qd.lm.lmx import (
    LMXVariation,
    PromptPool,
    build_prompt,
    clean_reply,
    near_examples,
    near_weights,
    replace_examples,
)

T = "Here is a random example of a fantasy story about a suspicious spy and a rich politician:\n"
SEEDS = ["Seed story one.", "Seed story two.", "Seed story three.", "Seed story four."]


@dataclass
class Reply:
    text: str


@dataclass
class FakeLM:
    """Records every batch; answers from a list of canned replies (cycled)."""

    answers: list[Any] = field(default_factory=lambda: ["  A new story about a spy.  "])
    calls: list[tuple[list[str], dict[str, Any]]] = field(default_factory=list)

    def complete_many(self, prompts, **sampling):
        self.calls.append((list(prompts), dict(sampling)))
        out = []
        for i in range(len(prompts)):
            answer = self.answers[(len(self.calls) + i) % len(self.answers)]
            out.append(answer if isinstance(answer, LMError) else Reply(answer))
        return out


@dataclass
class FakeArchive:
    items: list[Elite] = field(default_factory=list)

    def elites(self) -> list[Elite]:
        return list(self.items)


def elite(text: str, bins: tuple[int, ...], objective: float = 0.5) -> Elite:
    cell = bins[0] * 100 + (bins[1] if len(bins) > 1 else 0)
    return Elite(text, objective, (), bins, cell, {})


def grid(n: int = 5) -> list[Elite]:
    return [elite(f"text {i}", (i,), objective=i / 10) for i in range(n)]


def variation(mode: str = "near", archive=None, lm=None, **kwargs) -> LMXVariation:
    return LMXVariation(
        lm or FakeLM(),
        template=T,
        archive=archive,
        mode=mode,
        seeds=SEEDS,
        max_tokens=kwargs.pop("max_tokens", 100),
        **kwargs,
    )


def examples_in(prompt: str) -> list[str]:
    parts = prompt.split("\n###\n")
    assert parts[-1] == T
    return [p.removeprefix(T) for p in parts[:-1]]


# -- prompt plumbing ------------------------------------------------------------------


def test_build_prompt_exact_format():
    assert build_prompt("T: ", ["a", "b", "c"]) == "T: a\n###\nT: b\n###\nT: c\n###\nT: "
    assert build_prompt("T: ", []) == "T: "


@pytest.mark.parametrize("raw", ["", "   ", "###", " ### more", "\n", "ab", None, 3])
def test_malformed_replies_are_none(raw):
    assert clean_reply(raw) is None


def test_clean_reply_strips_and_cuts_at_separator():
    assert clean_reply("  A spy story.\n###\nHere is") == "A spy story."
    assert clean_reply("abc", min_chars=3) == "abc"
    assert clean_reply("abc", min_chars=4) is None


def test_sampling_parameters_and_one_batch():
    lm = FakeLM()
    var = variation("near", FakeArchive(grid()), lm, max_tokens=50)
    children = var.children(4, np.random.default_rng(0))
    assert children == ["A new story about a spy."] * 4
    assert len(lm.calls) == 1
    prompts, sampling = lm.calls[0]
    assert len(prompts) == 4
    assert sampling == {"max_tokens": 50, "temperature": 0.8, "top_p": 0.95, "stop": ["###", "\n"]}
    texts = {e.candidate for e in grid()}
    for prompt in prompts:
        shown = examples_in(prompt)
        assert len(shown) == 3 and len(set(shown)) == 3 and set(shown) <= texts


def test_malformed_reply_and_lm_error_become_failed_children_that_say_why():
    error = LMError("HTTP 500: overloaded", kind="status", status_code=500, body="overloaded")
    lm = FakeLM(answers=["", "###", error, "A fine story here."])
    out = variation("fixed", lm=lm).children(4, np.random.default_rng(0))
    assert "A fine story here." in out
    failed = [c for c in out if isinstance(c, FailedChild)]
    assert len(failed) == 3
    faults = [c for c in failed if c.lm_fault]
    assert len(faults) == 1 and faults[0].reason == "LM request failed: HTTP 500: overloaded"
    assert faults[0].info()["lm_error"] == error.to_dict()
    empty = sorted(c.reason for c in failed if not c.lm_fault)
    assert [r.split(":")[0] for r in empty] == ["the LM reply had no usable text"] * 2
    assert "'###'" in empty[0] + empty[1] and "''" in empty[0] + empty[1]


def test_empty_archive_uses_seeds_and_fixed_always_seeds():
    rng = np.random.default_rng(1)
    for mode in ("near", "replace", "shuffle", "random", "quality"):
        lm = FakeLM()
        variation(mode, FakeArchive(), lm).children(3, rng)
        for prompt in lm.calls[0][0]:
            shown = examples_in(prompt)
            assert len(shown) == 3 and set(shown) <= set(SEEDS), mode
    lm = FakeLM()
    variation("fixed", FakeArchive(grid()), lm).children(3, rng)
    assert lm.calls[0][0] == [build_prompt(T, SEEDS[:3])] * 3


def test_shuffle_varies_order_and_subset_of_seeds():
    lm = FakeLM()
    variation("shuffle", FakeArchive(grid()), lm).children(30, np.random.default_rng(2))
    shown = [tuple(examples_in(p)) for p in lm.calls[0][0]]
    assert all(set(s) <= set(SEEDS) and len(set(s)) == 3 for s in shown)
    assert len(set(shown)) > 5


def test_determinism_for_a_seed():
    def run(seed: int) -> list[list[str]]:
        lm = FakeLM(answers=["Story alpha here.", "Story beta here.", ""])
        var = variation("replace", FakeArchive(grid()), lm)
        rng = np.random.default_rng(seed)
        for _ in range(3):
            var.children(5, rng)
        return [c[0] for c in lm.calls]

    for mode in ("near", "shuffle", "random", "quality"):
        a = variation(mode, FakeArchive(grid()), lm := FakeLM())
        a.children(6, np.random.default_rng(7))
        b = variation(mode, FakeArchive(grid()), lm2 := FakeLM())
        b.children(6, np.random.default_rng(7))
        assert lm.calls == lm2.calls, mode
    assert run(3) == run(3)
    assert run(3) != run(4)


# -- LMX-near -------------------------------------------------------------------------


def test_near_weights_are_normalised_inverse_cubic_distance():
    elites = [elite("a", (0, 0)), elite("b", (1, 0)), elite("c", (3, 4)), elite("d", (2, 2))]
    parent = elite("p", (0, 0))
    d = np.array([0.0, 1.0, 5.0, np.sqrt(8)])
    expected = 1 / (1 + d**3)
    np.testing.assert_allclose(near_weights(elites, parent), expected / expected.sum())


def test_near_selection_favours_near_bins():
    elites = grid(10)
    parent = elites[0]
    counts = np.zeros(10)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        for e in near_examples(elites, parent, 1, rng=rng):
            counts[e.bins[0]] += 1
    assert counts[0] == 0  # the parent is left out
    assert counts[1] > counts[2] > counts[3] > counts[5]
    others = elites[1:]
    expected = near_weights(others, parent) * 2000
    assert np.all(np.abs(counts[1:] - expected) <= 5 * np.sqrt(expected) + 5)


def test_near_without_replacement_and_few_elites():
    rng = np.random.default_rng(0)
    elites = grid(6)
    for _ in range(200):
        picked = near_examples(elites, elites[2], 3, rng=rng)
        cells = [e.cell for e in picked]
        assert len(set(cells)) == 3 and elites[2].cell not in cells
    two = grid(2)  # one other elite: all of it, then fill with replacement
    picked = near_examples(two, two[0], 3, rng=rng)
    assert len(picked) == 3 and picked[0] is two[1]
    assert near_examples([two[0]], two[0], 3, rng=rng) == [two[0]] * 3
    assert near_examples([], two[0], 3, rng=rng) == []


# -- LMX-replace ----------------------------------------------------------------------


def test_replace_swaps_exactly_one_slot():
    rng = np.random.default_rng(0)
    parent = ["a", "b", "c"]
    for _ in range(100):
        child = replace_examples(parent, ["x", "y", "a"], rng)
        assert len(child) == 3
        assert sum(p != c for p, c in zip(parent, child, strict=True)) == 1
        assert set(child) - set(parent) <= {"x", "y", "a"}
    assert parent == ["a", "b", "c"]


def test_pool_is_seeds_plus_top3_per_bin_capped():
    pool = PromptPool(["s1", "s2"], max_size=100)
    for i in range(5):
        pool.add(f"bin0-{i}", objective=i, bins=(0,))
    assert pool.items() == ["s1", "s2", "bin0-4", "bin0-3", "bin0-2"]
    pool.refresh([elite(f"t{i}", (i + 1,), objective=i) for i in range(200)])
    items = pool.items()
    assert len(items) == 100
    assert items[:2] == ["s1", "s2"]
    assert items[2:5] == ["t199", "t198", "t197"]  # best first
    assert "bin0-4" not in items  # objective 4 is beaten by 98 others


def test_replace_mode_child_prompt_is_parent_prompt_with_one_swap():
    archive = FakeArchive(grid(3))
    lm = FakeLM(answers=["The first child story."])
    var = variation("replace", archive, lm)
    rng = np.random.default_rng(0)
    [child] = var.children(1, rng)
    first = examples_in(lm.calls[0][0][0])
    archive.items.append(elite(child, (7,), objective=0.9))
    lm.answers = ["The second child story."]
    var.children(1, rng, parents=[child])
    second = examples_in(lm.calls[1][0][0])
    assert sum(a != b for a, b in zip(first, second, strict=True)) == 1
    assert set(second) <= set(var.pool.items())


# -- baselines ------------------------------------------------------------------------


def test_random_mode_history_grows():
    lm = FakeLM(answers=["Story one here.", "", "Story two here."])
    var = variation("random", FakeArchive(grid()), lm)
    rng = np.random.default_rng(0)
    var.children(3, rng)
    assert len(var.history) == 2
    var.children(3, rng)
    assert len(var.history) == 4
    pool = set(SEEDS) | set(var.history)
    var.children(10, rng)
    assert all(set(examples_in(p)) <= pool for p in lm.calls[-1][0])


def test_quality_mode_keeps_top_100_by_objective():
    archive = FakeArchive([elite(f"q{i}", (i,), objective=i) for i in range(150)])
    lm = FakeLM()
    var = variation("quality", archive, lm)
    var.children(20, np.random.default_rng(0))
    pool = var.quality_pool()
    assert pool == [f"q{i}" for i in range(149, 49, -1)]
    for prompt in lm.calls[0][0]:
        assert set(examples_in(prompt)) <= set(pool)
    # A text the archive later replaces stays in the pool while it is among the best.
    archive.items = [elite("low", (0,), objective=-1.0)]
    var.children(1, np.random.default_rng(0))
    assert var.quality_pool()[0] == "q149" and "low" not in var.quality_pool()


def test_as_operator_and_bad_arguments():
    lm = FakeLM()
    archive = FakeArchive(grid())
    op = variation("near", archive, lm).as_operator()
    assert isinstance(op, Operator) and op.arity == 1 and op.name == "lmx-near"
    assert op(["text 2"], np.random.default_rng(0)) == ["A new story about a spy."]
    assert len(lm.calls[0][0]) == 1
    assert op.batch(3, np.random.default_rng(0)) == ["A new story about a spy."] * 3
    with pytest.raises(ValueError, match="mode"):
        variation("best")
    with pytest.raises(ValueError, match="seeds"):
        LMXVariation(FakeLM(), template=T, archive=None, seeds=[], max_tokens=10)


# -- the real server ------------------------------------------------------------------


@pytest.mark.lm
@needs_llama_cpp
def test_children_from_real_server(lm_server):
    lm = LM(lm_server.settings(timeout=60, max_retries=1))
    var = variation("near", FakeArchive(grid(4)), lm, max_tokens=16)
    out = var.children(2, np.random.default_rng(0))
    assert len(out) == 2
    assert all(c is None or (isinstance(c, str) and c.strip()) for c in out)


def test_steering_changes_only_the_header_the_lm_continues():
    assert build_prompt("T: ", ["a"], final="Horror T: ") == "T: a\n###\nHorror T: "
    lm = FakeLM()
    var = variation("near", FakeArchive(grid()), lm, max_tokens=50)
    var.steer = lambda rng: f"Target {int(rng.integers(10))}: "
    var.children(3, np.random.default_rng(0))
    for prompt in lm.calls[0][0]:
        last = prompt.rsplit("###\n", 1)[1]
        assert last.startswith("Target ") and last.endswith(": ")
        assert prompt.count("Target") == 1  # the examples keep the domain's template


def test_creative_writing_steers_towards_either_end_of_each_mapped_axis():
    from domains.creative_writing import CreativeWriting

    domain = CreativeWriting(steer=True)
    rng = np.random.default_rng(0)
    headers = {domain.steer_header(rng) for _ in range(200)}
    assert len(headers) == 9  # {horror, romance, neither} x {tragic, happy, neither}
    assert all("spy" in h and h.endswith(":\n") for h in headers)
    one_axis = CreativeWriting(descriptors=["ending"], steer=True)
    assert not any("horror" in one_axis.steer_header(rng) for _ in range(50))
