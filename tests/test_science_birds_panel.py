"""The held-out panel and the levels labelled by eye it was fitted on."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from domains.science_birds.by_eye import (
    DEFAULT_BY_EYE,
    NONE_LABEL,
    agreement,
    fit_rule,
    leave_one_out,
    load_by_eye,
    settle,
    vote_rule,
)
from domains.science_birds.classifier import LETTERS
from domains.science_birds.domain import ScienceBirdsLetters, example_program
from domains.science_birds.glyph_judge import GlyphJudge
from domains.science_birds.not_letters import program_level
from domains.science_birds.panel import (
    NOT_READ,
    VOTERS,
    K,
    Panel,
    panel_exploit_rate,
)
from domains.science_birds.physics import simulate
from domains.science_birds.tesseract_judge import tesseract_available

needs_tesseract = pytest.mark.skipif(
    not tesseract_available(),
    reason="the Tesseract voter needs the binary: apt-get install tesseract-ocr",
)


def _example(letter: str):
    level = program_level(example_program(letter))
    assert level is not None
    return list(simulate(level).poses), [b.block_type for b in level.blocks]


# --- the labelled set ---------------------------------------------------------------


def test_the_labelled_set_loads_with_a_label_and_a_source_for_every_level():
    levels = load_by_eye()
    assert len(levels) >= 100
    assert len({level.id for level in levels}) == len(levels)
    assert all(level.label == NONE_LABEL or level.label in LETTERS for level in levels)
    kinds = {level.source["kind"] for level in levels}
    assert {"search", "standing example", "random program", "not_letters.json"} <= kinds
    # both answers are well represented: letters read as their target, and not
    yes = sum(level.is_target for level in levels)
    assert 25 <= yes <= len(levels) - 25


def test_every_labelled_search_level_rescores_as_its_run_scored_it():
    """Rebuilt from its program and settled again, each search elite gets the stability
    and search-judge similarity its run stored: the file is the levels that were seen."""
    by_letter: dict[str, ScienceBirdsLetters] = {}
    levels = load_by_eye()
    for level in levels:
        poses, kinds = settle(level)
        assert len(poses) == len(kinds) > 0
    search = [json.loads(line) for line in DEFAULT_BY_EYE.read_text().splitlines()]
    search = [r for r in search if r["source"]["kind"] == "search"]
    assert len(search) >= 60
    for record in search:
        domain = by_letter.setdefault(
            record["target"], ScienceBirdsLetters(letter=record["target"])
        )
        program = domain.decode(record["program"])
        info = domain.evaluate([program])[0].info
        assert info["stability"] == pytest.approx(record["stability"], abs=1e-4), record["id"]
        assert info["similarity"] == pytest.approx(record["search_similarity"], abs=1e-4)


def test_an_unlabelled_line_is_refused_naming_it(tmp_path):
    path = tmp_path / "by_eye.jsonl"
    good = {"id": 0, "program": [["b11", 3]], "target": "I", "label": "I"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "label": None}) + "\n")
    with pytest.raises(ValueError, match=r"by_eye.jsonl:2: label None .*label it by eye"):
        load_by_eye(path)
    path.write_text(json.dumps({**good, "target": "i"}) + "\n")
    with pytest.raises(ValueError, match=r":1: target 'i' is not a letter"):
        load_by_eye(path)


# --- agreement and fitting on hand-made cases -----------------------------------------


def test_agreement_counts_matching_verdicts():
    assert agreement([True, False, True, False], [True, True, True, False]) == 0.75
    assert agreement(np.array([False]), np.array([False])) == 1.0
    with pytest.raises(ValueError, match="equal, non-empty"):
        agreement([True], [True, False])


def test_vote_rule_needs_k_votes_at_each_threshold():
    scores = {"a": np.array([0.9, 0.9, 0.1, 0.5]), "b": np.array([0.8, NOT_READ, 0.8, 0.0])}
    both = vote_rule(scores, {"a": 0.5, "b": 0.0}, 2)
    either = vote_rule(scores, {"a": 0.5, "b": 0.0}, 1)
    assert both.tolist() == [True, False, False, True]  # 0.5 >= 0.5 and 0.0 >= 0.0 count
    assert either.tolist() == [True, True, True, True]
    assert vote_rule(scores, {"a": 0.6, "b": 0.5}, 2).tolist() == [True, False, False, False]


def test_fit_rule_finds_the_rule_that_made_the_labels():
    """Labels made by "both say yes" with thresholds 0.4 and 0.2 are fitted back exactly,
    and leave-one-out on them agrees too."""
    rng = np.random.default_rng(0)
    scores = {"a": rng.uniform(0, 1, 60), "b": rng.uniform(0, 1, 60)}
    truth = (scores["a"] >= 0.4) & (scores["b"] >= 0.2)
    grids = {"a": [0.2, 0.4, 0.6], "b": [0.0, 0.2, 0.4]}
    thresholds, k, fitted = fit_rule(scores, truth, grids)
    assert (thresholds, k, fitted) == ({"a": 0.4, "b": 0.2}, 2, 1.0)
    assert agreement(leave_one_out(scores, truth, grids), truth) == 1.0
    # one voter alone: the ties go to the stricter threshold
    alone, k_alone, _ = fit_rule({"a": scores["a"]}, scores["a"] >= 0.5, {"a": [0.4, 0.5]})
    assert (alone, k_alone) == ({"a": 0.5}, 1)


def test_exploit_rate_under_the_panel_counts_rejected_high_scorers():
    search = [0.95, 0.99, 0.92, 0.4, 0.91]
    accepted = [True, False, False, False, True]
    assert panel_exploit_rate(search, accepted) == pytest.approx(0.5)  # 2 of 4
    assert np.isnan(panel_exploit_rate([0.1], [False]))


# --- the panel as shipped, on real judges ---------------------------------------------


@needs_tesseract
def test_the_shipped_rule_is_stated_in_its_note():
    panel = Panel()
    assert not panel.reduced
    assert panel.k == K
    for voter in VOTERS:
        assert voter.name in panel.rule
    assert panel.note.startswith("held-out panel, at least")


def test_without_tesseract_the_panel_is_reduced_and_says_so(monkeypatch):
    monkeypatch.setenv("PATH", "")
    panel = Panel()
    assert panel.reduced and [v.name for v in panel.voters] == ["glyph"]
    assert panel.k == 1  # capped at the voters left
    assert panel.note.startswith("REDUCED held-out panel, at least 1 of 1: glyph")
    assert "tesseract missing: install Tesseract: apt-get install tesseract-ocr" in panel.note
    verdicts = panel.judge([_example("L")], ["L"])
    assert verdicts.accepted.tolist() == [True]  # the glyph judge reads the plain L
    assert verdicts.note == panel.note


def test_a_panel_needs_one_voter_and_k_of_at_least_one(monkeypatch):
    with pytest.raises(ValueError, match="k must be >= 1"):
        Panel(k=0)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RuntimeError, match="no judge of the panel can run here"):
        Panel([v for v in VOTERS if v.name == "tesseract"])


def test_the_rule_counts_votes_per_level_on_real_judges():
    """Each voter votes by its own threshold (alone, its ``alone`` one); the panel
    accepts at k votes."""
    glyph_only = Panel([VOTERS[0]], k=1)
    assert glyph_only.thresholds == {"glyph": VOTERS[0].alone}
    levels = [_example("L"), _example("F"), _example("Y")]
    verdicts = glyph_only.judge(levels, ["L", "F", "Y"])
    proba = GlyphJudge.load().predict_proba(levels)
    similarity = proba[[0, 1, 2], [LETTERS.index(c) for c in "LFY"]]
    expected = similarity >= VOTERS[0].alone
    assert expected.tolist() == [True, True, False]  # Y: the glyph judge reads it as V
    assert verdicts.votes["glyph"].tolist() == expected.tolist()
    assert verdicts.accepted.tolist() == expected.tolist()
    assert verdicts.reads["glyph"][0] == "L"
    with pytest.raises(ValueError, match="3 levels but 1 targets"):
        glyph_only.judge(levels, ["L"])
    with pytest.raises(ValueError, match=r"uppercase letters A-Z, got \['l'\]"):
        glyph_only.judge(levels[:1], ["l"])


@needs_tesseract
def test_k_of_two_on_the_standing_examples():
    """The standing A: the glyph judge reads it, Tesseract does not; the T both read."""
    panel = Panel(k=2)
    verdicts = panel.judge([_example("A"), _example("T")], ["A", "T"])
    assert verdicts.votes["glyph"].tolist() == [True, True]
    assert verdicts.votes["tesseract"].tolist() == [False, True]
    assert verdicts.scores["tesseract"][0] == NOT_READ
    assert verdicts.accepted.tolist() == [False, True]
    assert Panel(k=1).judge([_example("A")], ["A"]).accepted.tolist() == [True]


def test_the_panel_judges_elites_from_their_kept_poses():
    domain = ScienceBirdsLetters(letter="L")
    program = example_program("L")
    elite = SimpleNamespace(candidate=program, info=domain.evaluate([program])[0].info)
    verdicts = Panel([VOTERS[0]]).judge_elites(domain, [elite])
    assert verdicts.targets == ("L",) and verdicts.accepted.tolist() == [True]


def test_score_counts_what_the_panel_accepts_among_replies():
    from domains.science_birds.score import panel_trials

    program = "\n".join(f"drop_block('{kind}', {x})" for kind, x in example_program("L"))
    replies = [f"```python\n{program}\n```", program, "no code here"]
    accepted, built, called, exploits = panel_trials("L", replies, Panel([VOTERS[0]]))
    assert (accepted, built) == (2, 2)
    assert exploits == 0 and called in (0, 2)  # what the panel accepts is no exploit


def test_the_report_gives_the_exploit_rate_under_the_panel():
    from domains.science_birds.report import panel_lines

    domain = ScienceBirdsLetters(letter="L")
    programs = [example_program("L"), (("b31", 3),)]
    elites = [
        SimpleNamespace(candidate=p, info=e.info)
        for p, e in zip(programs, domain.evaluate(programs), strict=True)
    ]
    # pretend the search judge called both the letter: the slab is the exploit
    text = "\n".join(panel_lines(domain, elites, np.array([0.95, 0.95])))
    assert "held-out panel, at least" in text
    assert "accepts 1 of 2 elites as L" in text
    assert "Exploit rate under the panel: **50.0%**: of 2 elites" in text
