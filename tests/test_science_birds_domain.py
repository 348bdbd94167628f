"""The Science Birds domain: levels scored by physics and the letter classifier."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from domains.science_birds.domain import ScienceBirdsLetters, example_program
from domains.science_birds.prompting import to_source
from domains.science_birds.score import score_folder
from qd.testing import check_domain

ROOT = Path(__file__).resolve().parents[1]


def test_the_domain_keeps_the_contract():
    check_domain(ScienceBirdsLetters(letter="L", trials=1), iterations=2, batch_size=6)


def test_a_hand_built_letter_scores_its_own_letter_higher_than_others():
    program = example_program("T")
    own = ScienceBirdsLetters(letter="T").evaluate([program])[0]
    other = ScienceBirdsLetters(letter="O").evaluate([program])[0]
    assert own.valid and other.valid
    assert own.info["stability"] == other.info["stability"]
    assert own.info["similarity"] > other.info["similarity"]
    assert own.objective == pytest.approx(own.info["stability"] * own.info["similarity"])
    assert sum(own.info["probabilities"]) == pytest.approx(1.0, abs=1e-3)
    assert len(own.info["poses"]) == own.info["blocks"]


def test_render_details_gives_both_judges_and_the_panel_on_one_level():
    from types import SimpleNamespace

    from domains.science_birds.audit import heldout_similarities

    domain = ScienceBirdsLetters(letter="T", trials=1)
    program = example_program("T")
    info = domain.evaluate([program])[0].info
    details = domain.render_details(program, info)
    heldout = heldout_similarities(domain, [SimpleNamespace(candidate=program, info=info)])[0]
    assert list(details) == [
        "search judge (letter classifier)",
        "held-out judge (glyphs)",
        "held-out panel",
    ]
    search = details["search judge (letter classifier)"]
    assert f"similarity {info['similarity']:.3f} to T (reads it as {info['predicted']})" in search
    assert f"stability {info['stability']:.3f}" in search
    assert details["held-out judge (glyphs)"].startswith(f"similarity {heldout:.3f} to T")
    # the plain T example: the glyph judge reads it, so the panel accepts it either way
    assert details["held-out panel"].startswith("accepts it as T: glyph reads T (yes)")
    assert "held-out panel, at least 1 of" in details["held-out panel"]


def test_programs_as_text_are_parsed_not_run_and_bad_ones_are_invalid():
    domain = ScienceBirdsLetters(letter="I")
    text = "for y in range(4):\n    drop_block('b11', 5)\n"
    escape = "import os\nos.system('echo pwned')\n"
    results = domain.evaluate([text, escape, (("b31", 0),), (), "drop_block('b11', 3)"])
    assert results[0].valid and results[0].info["blocks"] == 4
    assert not results[1].valid and "line 1" in results[1].invalid_reason
    assert not results[2].valid and "width boundary" in results[2].invalid_reason
    assert not results[3].valid and "no block" in results[3].invalid_reason
    assert results[4].valid


def test_measures_describe_the_structure():
    domain = ScienceBirdsLetters(letter="I", descriptors=("width", "height"))
    tower = domain.evaluate([(("b11", 3),) * 5])[0]
    beam = domain.evaluate([(("b31", 5),)])[0]
    assert tower.measures == (1, 5)
    assert beam.measures == (3, 1)


def test_variation_keeps_programs_buildable_in_range_and_is_seeded():
    domain = ScienceBirdsLetters(letter="H", max_drops=12)
    parents = [example_program("H")[:12], example_program("L")[:12]]
    children = [domain.variation()(parents, np.random.default_rng(i))[0] for i in range(200)]
    again = [domain.variation()(parents, np.random.default_rng(i))[0] for i in range(200)]
    assert children == again
    for child in children:
        assert 1 <= len(child) <= 12
        for kind, x in child:
            assert (1 <= x <= 18) if kind == "b31" else (0 <= x <= 19)


def test_encode_decode_and_bad_encodings():
    domain = ScienceBirdsLetters()
    program = example_program("A")
    assert domain.decode(json.loads(json.dumps(domain.encode(program)))) == program
    with pytest.raises(ValueError, match="not an encoded level program"):
        domain.decode([["b99", 1]])


@pytest.mark.parametrize("bad", [{"letter": "ab"}, {"letter": "1"}, {"descriptors": ["colour"]}])
def test_bad_options_are_refused(bad):
    with pytest.raises(ValueError):
        ScienceBirdsLetters(**bad)


def test_score_folder_scores_a_prompt_like_the_competition(tmp_path):
    for letter in "IL":
        (tmp_path / letter).mkdir()
        for trial in range(3):
            program = to_source(example_program(letter))
            reply = f"Here is my level:\n```python\n{program}\n```\n"
            (tmp_path / letter / f"{trial}.txt").write_text(reply)
    (tmp_path / "L" / "3.txt").write_text("no code here")
    judged = score_folder(tmp_path, trials=4)
    assert set(judged) == {"search", "held-out"}
    for per_letter in judged.values():
        assert set(per_letter) == {"I", "L"}
        assert per_letter["I"].trials_ok == 3 and per_letter["L"].trials_ok == 3
        # identical levels: no diversity, so the competition formula scores them 0
        assert per_letter["I"].diversity == pytest.approx(0.0, abs=1e-6)
        assert per_letter["I"].score == pytest.approx(0.0, abs=1e-6)
    # Same levels, same physics: the judges differ only in similarity.
    assert judged["search"]["L"].stability == judged["held-out"]["L"].stability
    assert judged["held-out"]["I"].similarity > 0.5  # a pillar is an I to the glyph judge


@pytest.mark.slow
def test_a_short_search_on_one_letter_through_the_cli(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "qd.cli", "run", str(ROOT / "experiments" / "levels_letters.toml"),
         "--set", 'domain.letter="T"', "--set", "search.iterations=3",
         "--set", "search.batch_size=12", "--set", 'evaluation.backend="inprocess"',
         "--runs-dir", "runs", "--quiet"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = subprocess.run(
        [sys.executable, "-m", "qd.cli", "report", "runs/levels_letters"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "runs" / "levels_letters" / "report.md").read_text()
    assert "report/elite-1.png" in page and "stability" in page
    # Both judges, the exploit rate and the galleries drawn at settled poses.
    assert "## Judged twice" in page and "held-out (glyphs)" in page
    assert "Exploit rate:" in page
    for name in ("gallery-search", "gallery-heldout"):
        assert f"report/{name}.png" in page
        assert (tmp_path / "runs" / "levels_letters" / "report" / f"{name}.png").stat().st_size


def test_a_search_starts_from_its_own_letter_standing():
    for letter in "UQ":
        domain = ScienceBirdsLetters(letter=letter)
        programs = domain.initial(8, np.random.default_rng(0))
        assert programs[0] == example_program(letter)
        assert domain.evaluate(programs[:1])[0].info["stability"] == 1.0
    assert ScienceBirdsLetters(letter="U", seed_examples=False).initial(
        4, np.random.default_rng(0)
    )[0] != example_program("U")
