"""The QDAIF creative-writing domain: options, measures and plumbing without a server.

The end-to-end run with the real embedded model is in tests/e2e/test_qdaif.py.
"""

from __future__ import annotations

import pytest

from domains.creative_writing import QDAIF_EDGES_10, QDAIF_EDGES_20, CreativeWriting


def test_axes_use_qdaif_bins():
    one = CreativeWriting(task="stories", descriptors=["genre"])
    two = CreativeWriting(task="stories")
    opinions = CreativeWriting(task="opinions")
    assert one.measures[0].bounds == QDAIF_EDGES_20 and one.measures[0].bins == 20
    assert [m.bins for m in two.measures] == [10, 10]
    assert two.measures[1].bounds == QDAIF_EDGES_10
    assert [m.name for m in opinions.measures] == ["sentiment"]
    assert opinions.max_tokens == 50 and two.max_tokens == 100


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"task": "poems"}, "task"),
        ({"task": "opinions", "descriptors": ["genre"]}, "descriptors"),
        ({"lmx": "nearest"}, "lmx"),
    ],
)
def test_bad_options_name_the_option(options, key):
    with pytest.raises(ValueError, match=rf"^{key}:"):
        CreativeWriting(**options)


def test_without_an_lm_the_domain_says_how_to_get_one():
    domain = CreativeWriting()
    with pytest.raises(RuntimeError, match="qd run"):
        domain.initial(2, None)
    with pytest.raises(RuntimeError, match="connect"):
        domain.evaluate(["A long enough story about a spy and a politician."])


def test_malformed_replies_are_invalid_without_calling_the_judge():
    results = CreativeWriting().evaluate([None, "short", 42])
    assert [r.valid for r in results] == [False, False, False]
    assert "malformed" in results[0].invalid_reason
    assert "shorter than" in results[1].invalid_reason


def test_poetry_is_a_five_by_five_categorical_map_and_needs_an_lm():
    from domains.creative_writing.poetry import GENRES, TONES, Poetry, rewrite_prompt

    poetry = Poetry()
    assert [m.labels for m in poetry.measures] == [GENRES, TONES]
    assert rewrite_prompt("a poem", "haiku", "dark").startswith(
        "Rewrite this poem as a dark haiku."
    )
    results = poetry.evaluate([None, "tiny"])
    assert [r.valid for r in results] == [False, False]
    with pytest.raises(RuntimeError, match="qd run"):
        poetry.initial(1, None)


def test_axes_take_the_measured_judges_and_any_axis_can_come_from_anchors():
    from domains.creative_writing.judging import DEFAULT_JUDGES

    stories = CreativeWriting()
    assert stories.judge_specs == {"genre": DEFAULT_JUDGES["genre"], "ending": "probe-last"}
    assert stories.quality_judge == "probe"
    assert CreativeWriting(task="opinions").quality_judge == "lm"  # no labelled quality set
    paper = CreativeWriting(judges="lm", quality_judge="lm")
    assert set(paper.judge_specs.values()) == {"lm"}
    mood = {"anchors": [["a calm story", "a quiet tale"], "a frantic chase"]}
    custom = CreativeWriting(descriptors=["genre", "mood"], judges={"mood": mood})
    assert custom.measures[1].name == "mood"
    assert custom.measures[1].title == "mood: 'a calm story' to 'a frantic chase'"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"judges": "oracle"}, "judges: 'oracle' is not one of"),
        ({"judges": {"tone": "lm"}}, r"judges: \['tone'\] are not among the descriptors"),
        ({"judges": {"genre": "vibes"}}, "judges: genre = 'vibes'"),
        ({"descriptors": ["mood"]}, "descriptors:"),
        ({"task": "opinions", "quality_judge": "probe"}, "quality_judge: 'probe'"),
        ({"novelty_threshold": 1.5}, "novelty_threshold: 1.5"),
    ],
)
def test_bad_judge_options_say_what_is_allowed(options, match):
    with pytest.raises(ValueError, match=match):
        CreativeWriting(**options)


def test_a_probe_judge_without_fitted_weights_says_how_to_fit_them(monkeypatch):
    from domains.creative_writing import judging

    monkeypatch.setattr(judging, "fitted", dict)
    with pytest.raises(ValueError, match=r"experiments/judges\.py --write"):
        judging.build_judge(None, "genre", "probe")


def test_validation_sets_are_balanced_and_flawed_texts_are_made_by_fixed_rules():
    from domains.creative_writing.judging import flawed_texts, validation_set

    for axis, n in (("genre", 96), ("ending", 96), ("sentiment", 48), ("quality", 192)):
        texts, labels = validation_set(axis)
        assert len(texts) == n and sum(labels) == n // 2
    assert validation_set("genre", limit=3)[1].count(1) == 3
    flawed = flawed_texts()
    assert flawed == flawed_texts()  # seeded: the same set every time
    kinds = [row["id"].split("-", 1)[1] for row in flawed]
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "off-topic": 24, "repetition": 24, "shuffle": 24, "title-url": 24
    }  # fmt: skip
    with pytest.raises(ValueError, match="no labelled set"):
        validation_set("tone")
