"""The plug-in contract: what the engine asks of a domain, and nothing more.

A domain is one class. The engine asks it for its descriptor axes (``measures``), for
seed candidates (``initial``), for a way to make children (``variation``), and for a
score (``evaluate``). Everything else (archives, emitters, checkpoints, reports) is
the engine's job, so a new domain stays a few dozen lines.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

MeasureKind = Literal["uniform", "edges", "categorical"]


@dataclass(frozen=True)
class Measure:
    """One descriptor axis of the archive.

    Three kinds exist because real studies need all three: uniform bins over a range
    (tree size), explicit bin edges (QDAIF's 20 bins that are fine near 0 and 1, where
    an LM judge's probabilities pile up), and categorical labels (poetry genre).

    Build one with :meth:`uniform`, :meth:`with_edges` or :meth:`categorical` rather
    than the constructor.

    Attributes:
        name: Identifier used in configs, metrics and plots.
        kind: ``"uniform"``, ``"edges"`` or ``"categorical"``.
        bounds: For numeric kinds, every bin boundary from low to high (``bins + 1``
            values); empty for categorical axes.
        labels: For categorical axes, the allowed values (the categories) in display
            order.
        title: Human title of the axis in plots (the name when not given).
    """

    name: str
    kind: MeasureKind
    bounds: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    title: str = ""

    @classmethod
    def uniform(
        cls,
        name: str,
        low: float,
        high: float,
        bins: int,
        *,
        title: str = "",
    ) -> Measure:
        """An axis cut into ``bins`` equal bins over ``[low, high]``.

        ``title`` is the axis title in plots.
        """
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"measure {name!r}: need finite low < high, got {low}, {high}")
        if int(bins) != bins or bins < 1:
            raise ValueError(f"measure {name!r}: bins must be a positive integer, got {bins}")
        edges = tuple(float(v) for v in np.linspace(low, high, int(bins) + 1))
        return cls(name, "uniform", edges, (), title or name)

    @classmethod
    def with_edges(cls, name: str, edges: Sequence[float], *, title: str = "") -> Measure:
        """An axis with explicit, possibly non-uniform bin boundaries.

        Args:
            name: Axis identifier.
            edges: All boundaries in increasing order, ends included: ``[0, 0.005, ...,
                0.995, 1]`` gives QDAIF's 20 bins on ``[0, 1]``.
            title: Human title of the axis in plots.

        Raises:
            ValueError: Fewer than two edges, or edges not strictly increasing.
        """
        values = tuple(float(v) for v in edges)
        if len(values) < 2:
            raise ValueError(f"measure {name!r}: give at least two edges (low and high)")
        if any(not math.isfinite(v) for v in values) or any(
            b <= a for a, b in itertools.pairwise(values)
        ):
            raise ValueError(f"measure {name!r}: edges must be finite and strictly increasing")
        return cls(name, "edges", values, (), title or name)

    @classmethod
    def categorical(cls, name: str, labels: Sequence[str], *, title: str = "") -> Measure:
        """An axis of named categories (``labels``, one bin each) titled ``title``."""
        values = tuple(str(v) for v in labels)
        if not values or len(set(values)) != len(values):
            raise ValueError(f"measure {name!r}: labels must be non-empty and unique")
        return cls(name, "categorical", (), values, title or name)

    @property
    def bins(self) -> int:
        """Number of cells along this axis."""
        return len(self.labels) if self.kind == "categorical" else len(self.bounds) - 1

    @property
    def low(self) -> float:
        return 0.0 if self.kind == "categorical" else self.bounds[0]

    @property
    def high(self) -> float:
        return float(self.bins) if self.kind == "categorical" else self.bounds[-1]

    def bin_of(self, value: Any) -> int:
        """Index of the bin holding ``value``; values outside the range are clipped.

        Raises:
            ValueError: A categorical value that is not one of the labels.
        """
        if self.kind == "categorical":
            try:
                return self.labels.index(str(value))
            except ValueError:
                raise ValueError(
                    f"measure {self.name!r}: {value!r} is not one of {list(self.labels)}"
                ) from None
        if self.kind == "uniform":
            # pyribs' GridArchive rule (with its epsilon), so bins and cells always agree.
            scaled = (float(value) - self.low) * self.bins / (self.high - self.low)
            index = int(np.floor(scaled + 1e-6))
        else:
            index = int(np.searchsorted(self.bounds, float(value), side="right")) - 1
        return min(max(index, 0), self.bins - 1)

    def to_grid(self, value: Any) -> float:
        """Map a raw value to a coordinate on a uniform grid of ``bins`` unit cells.

        Explicit edges and categories become the centre of their unit cell, so pyribs'
        GridArchive holds every kind of axis without a home-made archive (the raw
        value is kept beside the elite).
        """
        if self.kind == "uniform":
            return float(np.clip(float(value), self.low, self.high))
        return self.bin_of(value) + 0.5

    @property
    def grid_range(self) -> tuple[float, float]:
        """The range of :meth:`to_grid` values, as given to a GridArchive."""
        return (self.low, self.high) if self.kind == "uniform" else (0.0, float(self.bins))

    def check(self, value: Any) -> str | None:
        """Why ``value`` cannot be a measure on this axis, or None if it can."""
        if self.kind == "categorical":
            return (
                None
                if str(value) in self.labels
                else (f"{self.name}={value!r} is not one of {list(self.labels)}")
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"{self.name}={value!r} is not a number"
        return None if math.isfinite(number) else f"{self.name}={value!r} is not finite"


@dataclass(frozen=True)
class Evaluation:
    """What a domain says about one candidate.

    Attributes:
        objective: Quality, higher is better. Keep it bounded (for example in [0, 1])
            so QD scores compare across runs.
        measures: One value per measure axis: a number, or a label for categorical axes.
        info: Anything worth keeping (raw LM answers, error on data). Must be JSON-able:
            it is written to checkpoints with the elite.
        invalid_reason: Set for candidates that cannot be scored; such a candidate is
            logged to ``events.jsonl`` and never enters the archive.
        candidate: A better version of the candidate that the evaluation found, such as
            a formula with tuned constants (local search, "Lamarckian" evaluation); the
            archive keeps it instead of the one submitted. ``None`` keeps the submitted
            one. It travels back from worker processes with the scores, so it works on
            every evaluation backend.
        cost: Evaluations this one used (1, plus the function calls of any local
            search), so budgets compare with tools that count them, as pyoperon does.
    """

    objective: float = float("nan")
    measures: tuple[Any, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)
    invalid_reason: str | None = None
    candidate: Any = None
    cost: int = 1

    @classmethod
    def invalid(cls, reason: str, **info: Any) -> Evaluation:
        """A candidate that could not be scored, and why."""
        return cls(info=dict(info), invalid_reason=str(reason) or "invalid")

    @property
    def valid(self) -> bool:
        return self.invalid_reason is None


@dataclass(frozen=True)
class Operator:
    """A variation operator: a plain function from parents to children.

    As in DEAP, an operator is a documented function, not a class hierarchy: ``fn``
    takes ``arity`` parents and a ``numpy.random.Generator`` and returns a list of
    children. The emitter samples the parents and keeps the first child (a parent
    itself when ``fn`` returns none).

    Attributes:
        fn: ``fn(parents, rng) -> list of children``.
        arity: How many parents ``fn`` takes.
        name: Shown in logs and metrics.
        batch: Optional ``batch(n, rng) -> n children`` that picks its own parents
            from the archive; emitters prefer it, so an LM operator sends one batch of
            requests per iteration instead of one at a time. A child may be None (a
            malformed LM reply): it is evaluated, logged as invalid, and skipped.
        many: Optional ``many(groups, rng) -> one child per group``: ``fn`` over a whole
            batch of parent groups in one call, for operators that vectorise (Gaussian
            noise on stacked vectors draws every child's noise at once, as pyribs'
            ``GaussianEmitter`` does). Emitters prefer it to calling ``fn`` per child.
    """

    fn: Callable[[Sequence[Any], np.random.Generator], list[Any]]
    arity: int = 1
    name: str = "variation"
    batch: Callable[[int, np.random.Generator], list[Any]] | None = None
    many: Callable[[Sequence[Sequence[Any]], np.random.Generator], Sequence[Any]] | None = None

    def __call__(self, parents: Sequence[Any], rng: np.random.Generator) -> list[Any]:
        return self.fn(parents, rng)

    def children(self, groups: Sequence[Sequence[Any]], rng: np.random.Generator) -> list[Any]:
        """One child per group of parents: :attr:`many` in one call when the operator
        has it, else :attr:`fn` per group (its first child, or the first parent).

        Raises:
            ValueError: ``many`` returned another number of children than groups.
        """
        if self.many is not None:
            children = list(self.many(groups, rng))
            if len(children) != len(groups):
                raise ValueError(
                    f"operator {self.name!r}: many() made {len(children)} children for "
                    f"{len(groups)} parent groups; it must make one per group"
                )
            return children
        fn = self.fn
        result = []
        for parents in groups:
            offspring = fn(parents, rng)
            result.append(offspring[0] if offspring else parents[0])
        return result


class Domain:
    """Base class of every domain plug-in.

    Subclasses set ``name`` and ``measures`` (usually in ``__init__``, from their
    keyword arguments, which come from the ``[domain]`` table of an experiment config)
    and implement :meth:`initial`, :meth:`variation` and :meth:`evaluate`. Override
    :meth:`encode` / :meth:`decode` when candidates are not JSON values already, and
    :meth:`render` to show an elite in reports. ``qd.testing.check_domain`` proves a
    subclass keeps the contract.
    """

    name: ClassVar[str] = "domain"
    measures: Sequence[Measure] = ()
    uses_lm: bool = False
    """True to have the run open a language model and call :meth:`connect`: set it on
    the class, or on the instance in ``__init__`` when LM use depends on parameters."""
    evaluate_uses_lm: bool = True
    """Whether :meth:`evaluate` asks the LM (AI feedback). Such a domain evaluates in the
    run's process, where the LM is connected; set False when the LM only writes
    children, so evaluation keeps its process pool (the domain is rebuilt in workers
    without an LM)."""

    def connect(self, *, lm: Any, archive: Any) -> None:
        """Receive the run's LM (a ``qd.lm.LM``) and archive before the search starts.

        Only called when ``uses_lm`` is True. The run owns both: it starts (and stops)
        the embedded server when no LM is configured, and LMX operators draw their
        few-shot examples from the archive.
        """

    def features(self, candidate: Any, info: dict[str, Any]) -> Sequence[float] | None:
        """A vector of what an elite *does* or *means*, for diversity beyond the grid.

        Optional. Reports compute the Vendi score (cosine similarity of these vectors)
        over the elites, which counts effectively different elites however the map bins
        them. Examples: a formula's outputs on the data, a classifier's softmax, a text
        embedding. ``info`` is what :meth:`evaluate` kept. None (the default) means the
        domain has no such vector.
        """
        return None

    def annotate(self, candidate: Any, info: dict[str, Any]) -> dict[str, Any]:
        """More ``info`` for a candidate about to enter the archive, computed only then.

        Optional. For what costs more than the score itself and is worth keeping only
        for elites, such as a formula's text: the search calls it on the candidates of
        each batch whose objective beats their cell's elite (or fills an empty cell),
        just before adding them, and merges the returned dict into their ``info``. A
        search scores thousands of candidates for every one that enters the map.
        Returns JSON values; the default adds nothing.
        """
        return {}

    def run_metrics(self) -> dict[str, Any]:
        """Counters of the domain's own work for each ``metrics.jsonl`` line.

        Optional; e.g. judge calls saved by novelty rejection. Running totals since the
        domain was built, JSON-able.
        """
        return {}

    def report_section(self, elites: Sequence[Any], figures: Path) -> list[str]:
        """Markdown lines of the domain's own for ``qd report`` (figures saved in ``figures``,
        linked as ``figures.name/<file>``).

        Optional. For what only the domain can say about its elites: a gallery, or a
        second, held-out judge's verdict on what the search judge scored.
        """
        return []

    def checkpoint_files(self, elites: Sequence[Any]) -> Mapping[str, str]:
        """Files of the domain's own, rewritten in the run directory at each checkpoint.

        Optional. ``{file name: text}`` from the archive's elites; each file is written
        atomically into the run directory's ``domain/`` folder at each checkpoint (and
        at the run's end), so a user can read a run's results while it goes: symbolic
        regression writes ``hall_of_fame.csv``, its accuracy-size front, as PySR does.
        Names are plain file names ending in ``.csv``; the run owns ``domain/``, so
        ``qd run --force`` replaces it. No files by default.
        """
        return {}

    def parent_selections(self) -> Mapping[str, Callable[..., Any]]:
        """Parent selections the domain adds to MAP-Elites', by name (``search.parents``).

        Optional. Each is ``selection(archive) -> pick`` with ``pick(n, arity, rng) ->
        n lists of parents`` (see :mod:`qd.search.parents`); mate choice by ideal mate
        (``pimp``) comes from the mate-choice domain this way. None by default.
        """
        return {}

    def breed(
        self,
        population: Sequence[Any],
        evaluations: Sequence[Evaluation],
        n: int,
        rng: np.random.Generator,
    ) -> list[Any]:
        """``n`` children of a population, for the generational loop (``loop =
        "population"``).

        Optional: without it the loop draws each parent by a tournament on the objective
        and applies :meth:`variation`. Override it when selection is part of the method
        being studied (mate choice picks the second parent by the first one's taste).
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not breed; the population loop uses tournaments"
        )

    def population_metrics(
        self, population: Sequence[Any], evaluations: Sequence[Evaluation]
    ) -> dict[str, Any]:
        """The domain's numbers about a generation, added to its ``metrics.jsonl`` line.

        Optional (generational loop only); e.g. genotypic and phenotypic diversity.
        JSON-able numbers; none by default.
        """
        return {}

    def initial(self, n: int, rng: np.random.Generator) -> list[Any]:
        """``n`` seed candidates (random trees, seed texts, random levels)."""
        raise NotImplementedError(f"{type(self).__name__} must implement initial(n, rng)")

    def variation(self) -> Operator:
        """The default operator that turns parents into children."""
        raise NotImplementedError(f"{type(self).__name__} must implement variation()")

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        """One :class:`Evaluation` per candidate, in order; never raise for bad input."""
        raise NotImplementedError(f"{type(self).__name__} must implement evaluate(batch)")

    def encode(self, candidate: Any) -> Any:
        """Candidate -> JSON value, for checkpoints that outlive a code change."""
        return candidate

    def decode(self, data: Any) -> Any:
        """Inverse of :meth:`encode`."""
        return data

    def render(self, candidate: Any, info: dict[str, Any] | None = None) -> Any:
        """A matplotlib Figure or a string showing the candidate; text by default."""
        return str(candidate)
