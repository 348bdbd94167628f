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
