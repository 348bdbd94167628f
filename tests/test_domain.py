"""The plug-in contract's value types: Measure, Evaluation, Operator, Domain defaults."""

from __future__ import annotations

import math

import numpy as np
import pytest
from axes import GENRES, QDAIF_EDGES, TONES

from qd.domain import Domain, Evaluation, Measure, Operator

# --- uniform axes -------------------------------------------------------------------


def test_uniform_axis_has_equal_bins_over_its_range() -> None:
    m = Measure.uniform("size", 0, 1, 4, title="tree size")
    assert m.kind == "uniform"
    assert m.bins == 4
    assert (m.low, m.high) == (0.0, 1.0)
    assert m.bounds == pytest.approx((0.0, 0.25, 0.5, 0.75, 1.0))
    assert m.title == "tree size"
    assert Measure.uniform("size", 0, 1, 4).title == "size"  # defaults to the name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, 0),  # the low end
        (0.1, 0),
        (0.25, 1),  # exactly on an inner boundary: the upper bin
        (0.5, 2),
        (0.75, 3),
        (0.7499, 2),
        (1.0, 3),  # the high end belongs to the last bin
        (-0.01, 0),  # below low: clipped
        (-1e9, 0),
        (1.01, 3),  # above high: clipped
        (1e9, 3),
    ],
)
def test_uniform_bin_of_at_edges_and_outside(value: float, expected: int) -> None:
    assert Measure.uniform("x", 0, 1, 4).bin_of(value) == expected


@pytest.mark.parametrize(("low", "high", "bins"), [(-0.3, 0.7, 7), (1, 65, 32), (0, 1, 10)])
def test_uniform_every_boundary_starts_its_bin(low: float, high: float, bins: int) -> None:
    m = Measure.uniform("x", low, high, bins)
    for i, boundary in enumerate(m.bounds[:-1]):
        assert m.bin_of(boundary) == i
    assert m.bin_of(m.bounds[-1]) == bins - 1


def test_uniform_to_grid_clips_to_the_range() -> None:
    m = Measure.uniform("x", 0, 10, 5)
    assert m.to_grid(3.5) == 3.5
    assert m.to_grid(-2) == 0.0
    assert m.to_grid(12) == 10.0
    assert m.grid_range == (0.0, 10.0)


@pytest.mark.parametrize(
    ("low", "high", "bins"),
    [
        (1, 1, 4),  # empty range
        (2, 1, 4),  # reversed
        (0, math.inf, 4),
        (math.nan, 1, 4),
        (0, 1, 0),
        (0, 1, -3),
        (0, 1, 2.5),
    ],
)
def test_uniform_bad_constructions_raise(low: float, high: float, bins: float) -> None:
    with pytest.raises(ValueError, match="'x'"):
        Measure.uniform("x", low, high, bins)


# --- explicit edges (QDAIF) -----------------------------------------------------------


def test_qdaif_edges_give_twenty_bins() -> None:
    m = Measure.with_edges("quality", QDAIF_EDGES)
    assert m.kind == "edges"
    assert m.bins == 20
    assert (m.low, m.high) == (0.0, 1.0)
    assert m.grid_range == (0.0, 20.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.003, 0),
        (0.0, 0),
        (0.004999, 0),
        (0.005, 1),  # on a boundary: the upper bin
        (0.012, 2),
        (0.1, 8),
        (0.5, 10),
        (0.97, 15),
        (0.99, 18),
        (0.995, 19),
        (0.9999, 19),
        (1.0, 19),  # the top edge belongs to the last bin
        (-0.2, 0),  # clipped below
        (1.7, 19),  # clipped above
    ],
)
def test_qdaif_edges_bin_of(value: float, expected: int) -> None:
    assert Measure.with_edges("quality", QDAIF_EDGES).bin_of(value) == expected


def test_qdaif_every_edge_starts_its_bin_and_maps_to_the_cell_centre() -> None:
    m = Measure.with_edges("quality", QDAIF_EDGES)
    for i, edge in enumerate(QDAIF_EDGES[:-1]):
        assert m.bin_of(edge) == i
        assert m.to_grid(edge) == i + 0.5
        assert m.bin_of(np.nextafter(QDAIF_EDGES[i + 1], -1.0)) == i


@pytest.mark.parametrize(
    "edges",
    [
        [],
        [0.5],  # one edge is no bin
        [0, 0.5, 0.5, 1],  # repeated
        [0, 0.6, 0.4, 1],  # not increasing
        [1, 0],
        [0, math.nan, 1],
        [0, math.inf],
    ],
)
def test_bad_edges_raise(edges: list[float]) -> None:
    with pytest.raises(ValueError, match="'q'"):
        Measure.with_edges("q", edges)


# --- categorical axes ------------------------------------------------------------------


def test_categorical_axes_genre_by_tone() -> None:
    genre = Measure.categorical("genre", GENRES)
    tone = Measure.categorical("tone", TONES)
    assert genre.kind == "categorical"
    assert (genre.bins, tone.bins) == (5, 5)
    assert genre.labels == GENRES
    assert [genre.bin_of(g) for g in GENRES] == [0, 1, 2, 3, 4]
    assert tone.bin_of("mysterious") == 2
    assert tone.to_grid("reflective") == 4.5
    assert tone.grid_range == (0.0, 5.0)


def test_categorical_unknown_label_names_the_axis_and_the_labels() -> None:
    tone = Measure.categorical("tone", TONES)
    with pytest.raises(ValueError, match="tone") as caught:
        tone.bin_of("angry")
    assert "'angry'" in str(caught.value)
    assert "romantic" in str(caught.value)


@pytest.mark.parametrize("labels", [[], ["happy", "dark", "happy"]])
def test_bad_categories_raise(labels: list[str]) -> None:
    with pytest.raises(ValueError, match="'tone'"):
        Measure.categorical("tone", labels)


# --- check ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 0.5, -3, 1e9, "0.25", np.float32(0.5), np.int64(4)])
def test_check_accepts_finite_numbers(value: object) -> None:
    # Out-of-range numbers are fine too: bin_of clips them.
    assert Measure.uniform("x", 0, 1, 4).check(value) is None
    assert Measure.with_edges("q", QDAIF_EDGES).check(value) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "not a number"),
        ("abc", "not a number"),
        ([0.5], "not a number"),
        (math.nan, "not finite"),
        (math.inf, "not finite"),
        (-math.inf, "not finite"),
    ],
)
def test_check_explains_bad_numbers(value: object, problem: str) -> None:
    message = Measure.uniform("x", 0, 1, 4).check(value)
    assert message is not None
    assert message.startswith("x=")
    assert problem in message


def test_check_on_categorical_axis() -> None:
    tone = Measure.categorical("tone", TONES)
    assert tone.check("dark") is None
    message = tone.check("angry")
    assert message is not None
    assert "tone='angry'" in message
    assert "happy" in message
    assert tone.check(None) is not None


# --- Evaluation, Operator, Domain ---------------------------------------------------------


def test_evaluation_invalid_keeps_reason_and_info() -> None:
    bad = Evaluation.invalid("LM reply was not a story", raw="???")
    assert not bad.valid
    assert bad.invalid_reason == "LM reply was not a story"
    assert bad.info == {"raw": "???"}
    assert not Evaluation.invalid("").valid  # an empty reason is still invalid
    good = Evaluation(objective=0.5, measures=(1, "dark"))
    assert good.valid
    assert good.invalid_reason is None


def test_operator_is_a_plain_function_of_parents_and_rng() -> None:
    def swap(parents, rng):
        return [parents[1], parents[0]]

    op = Operator(swap, arity=2, name="swap")
    assert op(["a", "b"], np.random.default_rng(0)) == ["b", "a"]
    assert (op.arity, op.name) == (2, "swap")


def test_domain_base_says_what_to_implement() -> None:
    class Half(Domain):
        pass

    half = Half()
    with pytest.raises(NotImplementedError, match=r"Half must implement initial"):
        half.initial(3, np.random.default_rng(0))
    with pytest.raises(NotImplementedError, match=r"Half must implement variation"):
        half.variation()
    with pytest.raises(NotImplementedError, match=r"Half must implement evaluate"):
        half.evaluate(["x"])
    candidate = {"text": "a poem", "lines": [1, 2]}
    assert half.decode(half.encode(candidate)) == candidate
    assert half.render("a poem") == "a poem"


def test_an_operator_makes_one_child_per_parent_group() -> None:
    rng = np.random.default_rng(0)
    groups = [["a", "b"], ["c", "d"], ["e", "f"]]
    crossover = Operator(lambda parents, rng: [parents[1] + parents[0]], arity=2)
    assert crossover.children(groups, rng) == ["ba", "dc", "fe"]
    barren = Operator(lambda parents, rng: [], arity=2)
    assert barren.children(groups, rng) == ["a", "c", "e"]  # no child: the first parent
    vectorised = Operator(
        lambda parents, rng: ["unused"],
        arity=2,
        many=lambda groups, rng: [g[0].upper() for g in groups],
    )
    assert vectorised.children(groups, rng) == ["A", "C", "E"]
    short = Operator(lambda parents, rng: [], arity=2, many=lambda groups, rng: ["x"])
    with pytest.raises(ValueError, match=r"many\(\) made 1 children for 3 parent groups"):
        short.children(groups, rng)
