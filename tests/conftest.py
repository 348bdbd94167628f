"""Small in-test domains shared by the engine's unit tests.

They are a few lines each, score in microseconds and exercise what the engine must
handle: candidates that are strings, tuples of equal length (numpy's broadcasting
trap) and categorical measures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from qd.domain import Domain, Evaluation, Measure, Operator

ALPHABET = "abcd"
GENRES = ("haiku", "sonnet", "ballad", "limerick", "hymn")
TONES = ("happy", "dark", "mysterious", "romantic", "reflective")


class Words(Domain):
    """Strings over ``abcd``: objective = share of ``b``; measures = length, share of ``a``.

    ``fail_on``: evaluate raises for the whole batch when a candidate contains it.
    """

    name = "words"

    def __init__(self, fail_on: str | None = None) -> None:
        self.fail_on = fail_on
        self.measures = (
            Measure.uniform("length", 1, 9, 8),
            Measure.uniform("a_share", 0, 1, 4),
        )

    def initial(self, n: int, rng: np.random.Generator) -> list[str]:
        return [
            "".join(str(c) for c in rng.choice(list(ALPHABET), size=int(rng.integers(1, 4))))
            for _ in range(n)
        ]

    def variation(self) -> Operator:
        def mutate(parents: Sequence[str], rng: np.random.Generator) -> list[str]:
            word = parents[0]
            letter = str(rng.choice(list(ALPHABET)))
            if len(word) < 8 and rng.random() < 0.5:
                return [word + letter]
            i = int(rng.integers(len(word)))
            return [word[:i] + letter + word[i + 1 :]]

        return Operator(mutate, arity=1, name="mutate")

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        results = []
        for word in batch:
            if not isinstance(word, str) or not word:
                results.append(Evaluation.invalid(f"not a word: {word!r}"))
                continue
            if self.fail_on and self.fail_on in word:
                raise RuntimeError(f"cannot score {word!r}")
            results.append(
                Evaluation(
                    objective=word.count("b") / len(word),
                    measures=(len(word), word.count("a") / len(word)),
                    info={"length": len(word)},
                )
            )
        return results


class Pairs(Domain):
    """Candidates are ``(x, y)`` tuples of ints in 0..9: all the same length, so a
    careless ``np.array(candidates)`` would turn a batch into a 2-D int array."""

    name = "pairs"

    def __init__(self) -> None:
        self.measures = (Measure.uniform("x", 0, 10, 5), Measure.uniform("y", 0, 10, 5))

    def initial(self, n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
        return [(int(rng.integers(10)), int(rng.integers(10))) for _ in range(n)]

    def variation(self) -> Operator:
        def nudge(parents: Sequence[tuple[int, int]], rng: np.random.Generator) -> list:
            x, y = parents[0]
            dx, dy = (int(v) for v in rng.integers(-2, 3, size=2))
            return [(min(max(x + dx, 0), 9), min(max(y + dy, 0), 9))]

        return Operator(nudge, arity=1, name="nudge")

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        results = []
        for pair in batch:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                results.append(Evaluation.invalid(f"not a pair: {pair!r}"))
                continue
            x, y = pair
            results.append(Evaluation(objective=1.0 / (1 + abs(x - y)), measures=(x, y)))
        return results

    def encode(self, candidate: tuple[int, int]) -> list[int]:
        return list(candidate)

    def decode(self, data: Any) -> tuple[int, int]:
        return tuple(data)


class Poems(Domain):
    """Strings over ``abcde`` on a genre x tone map (both categorical).

    Invalid on purpose: a word ending in ``e`` answers ``Evaluation.invalid``; one with
    ``dd`` gets a NaN objective; one with ``cc`` a tone that is not a label.
    """

    name = "poems"

    def __init__(self) -> None:
        self.measures = (Measure.categorical("genre", GENRES), Measure.categorical("tone", TONES))

    def initial(self, n: int, rng: np.random.Generator) -> list[str]:
        return ["".join(str(c) for c in rng.choice(list("abcde"), size=3)) for _ in range(n)]

    def variation(self) -> Operator:
        def mutate(parents: Sequence[str], rng: np.random.Generator) -> list[str]:
            word = parents[0]
            letter = str(rng.choice(list("abcde")))
            if len(word) < 9 and rng.random() < 0.5:
                return [word + letter]
            i = int(rng.integers(len(word)))
            return [word[:i] + letter + word[i + 1 :]]

        return Operator(mutate, arity=1, name="mutate")

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        results = []
        for word in batch:
            if not isinstance(word, str) or not word:
                results.append(Evaluation.invalid("not a poem"))
            elif word.endswith("e"):
                results.append(Evaluation.invalid("ends with e", word=word))
            else:
                tone = "angry" if "cc" in word else TONES[len(word) % 5]
                objective = float("nan") if "dd" in word else word.count("a") / len(word)
                genre = GENRES["abcde".index(word[0])]
                results.append(Evaluation(objective=objective, measures=(genre, tone)))
        return results

    @staticmethod
    def is_bad(word: str) -> bool:
        return word.endswith("e") or "dd" in word or "cc" in word


@pytest.fixture
def words() -> Words:
    return Words()


@pytest.fixture
def pairs() -> Pairs:
    return Pairs()


@pytest.fixture
def poems() -> Poems:
    return Poems()


@pytest.fixture
def domains() -> dict[str, type[Domain]]:
    """The in-test domain classes, for tests that need to build variants."""
    return {"words": Words, "pairs": Pairs, "poems": Poems}


QdCli = Callable[..., tuple[int, str]]


@pytest.fixture
def qd(monkeypatch, tmp_path) -> QdCli:
    """``qd(*args)`` runs the real CLI in this process from ``tmp_path`` (no LM settings
    from the shell; ``--quiet`` for run and resume) and returns (exit status, stderr)."""
    import io

    from rich.console import Console
    from typer.testing import CliRunner

    from qd.cli import app

    for variable in ("QD_LM_BASE_URL", "QD_LM_MODEL", "QD_LM_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    stderr = io.StringIO()
    monkeypatch.setattr("qd.cli.err", Console(file=stderr, width=1000))

    def invoke(*args: str) -> tuple[int, str]:
        stderr.seek(0)
        stderr.truncate()
        quiet = ["--quiet"] if args[0] in ("run", "resume") else []
        result = CliRunner().invoke(app, [*args, *quiet])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        return result.exit_code, stderr.getvalue()

    return invoke
