"""The LM domains pass ``check_domain`` on the real embedded model (SmolLM2-135M on
llama.cpp, MiniLM for embeddings), with tiny budgets: batch 2, one iteration, few tokens.

``check_domain`` records the model's replies and replays them for the determinism
checks, so these prove the domains' own determinism, not the model's.
"""

from __future__ import annotations

import pytest
from lm_helpers import needs_llama_cpp

from domains.creative_writing import CreativeWriting
from domains.creative_writing.poetry import Poetry
from domains.science_birds.domain import ScienceBirdsLetters
from qd.lm import LMSettings, open_lm
from qd.runs import parse_config
from qd.testing import check_domain, check_run

pytestmark = [pytest.mark.lm, needs_llama_cpp]

LM_DOMAINS = {
    "creative_writing-stories": lambda: CreativeWriting(max_tokens=24, min_chars=10),
    "creative_writing-opinions": lambda: CreativeWriting(
        task="opinions", max_tokens=24, min_chars=10
    ),
    "poetry": lambda: Poetry(max_tokens=24, min_chars=10),
    "science_birds-lmx": lambda: ScienceBirdsLetters(
        letter="L", trials=1, lm_variation="lmx", lm_max_tokens=24
    ),
}


@pytest.mark.parametrize("name", sorted(LM_DOMAINS))
def test_lm_domain_keeps_the_contract(name, lm_server) -> None:
    settings = LMSettings(base_url=lm_server.base_url, model=lm_server.model_alias)
    with open_lm(settings, seed=0) as lm:
        report = check_domain(LM_DOMAINS[name](), iterations=1, batch_size=2, lm=lm)
    print(report)


@pytest.mark.parametrize("name", ["creative_writing", "poetry"])
def test_lm_domain_run_gives_the_same_archive_again_and_after_a_kill(name, tmp_path) -> None:
    # Each run starts the embedded model as a user's run does; the reference run's
    # replies are cached and every later run starts from a copy of that cache.
    config = parse_config(
        {
            "name": "check",
            "seed": 1,
            "domain": {"name": name, "max_tokens": 24, "min_chars": 10},
            "search": {"iterations": 2, "batch_size": 2},
        }
    )
    report = check_run(config, checks=["same_seed", "kill_and_resume"], workdir=tmp_path)
    assert report.passed == ("same_seed", "kill_and_resume")
    assert any((tmp_path / "again").glob("lm-cache*"))
