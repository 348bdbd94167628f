"""Archive: a pyribs archive whose cells hold candidate objects of any kind.

pyribs owns the cells (since 0.8 an archive takes ``solution_dim=()`` with
``solution_dtype=object``, so a solution can be a string, a tree or a level). This
wrapper adds what pyribs lacks: explicit bin edges and labelled axes mapped onto a
grid, ``stats`` with an explicit QD-score offset, and JSON records for checkpoints
(pyribs has no save API, and a pickle would not survive a code change).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from ribs.archives import ArchiveBase, CategoricalArchive, CVTArchive, GridArchive

from qd.domain import Domain, Evaluation, Measure

ArchiveKind = Literal["grid", "cvt"]

EXTRA_FIELDS = {"raw_measures": ((), object), "info": ((), object), "lineage_id": ((), object)}

FATES = ("new", "improved", "worse", "invalid", "novelty")
"""What became of an evaluated candidate (its lineage record's ``fate``): it took an
empty cell, beat the cell's elite, lost to it (or to a sibling of its batch), could not
be scored, or was skipped as a near-duplicate (an invalid reason that starts with
:data:`NOVELTY_REASON`)."""

NOVELTY_REASON = "near-duplicate"


@dataclass(frozen=True)
class Elite:
    """One occupied cell.

    Attributes:
        candidate: The candidate object itself.
        objective: Its quality (higher is better).
        measures: Raw measure values, as the domain returned them.
        bins: Bin index along each axis (for CVT archives, the centroid index alone).
        cell: pyribs' integer cell index.
        info: What the domain recorded when it evaluated the candidate.
        id: Its lineage id (``"<iteration>-<index in batch>"``), or None when it came
            from a checkpoint written before lineage was recorded.
    """

    candidate: Any
    objective: float
    measures: tuple[Any, ...]
    bins: tuple[int, ...]
    cell: int
    info: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class ArchiveStats:
    """Summary numbers of an archive, as logged each iteration.

    ``qd_score`` is the sum over elites of ``objective - qd_score_offset``; with a
    bounded objective and an offset at its floor, every elite adds a non-negative
    amount, so a bigger map never scores lower.
    """

    num_elites: int
    cells: int
    coverage: float
    qd_score: float
    qd_score_offset: float
    obj_max: float | None
    obj_mean: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "num_elites": self.num_elites,
            "cells": self.cells,
            "coverage": self.coverage,
            "qd_score": self.qd_score,
            "obj_max": self.obj_max,
            "obj_mean": self.obj_mean,
        }


def object_array(items: Sequence[Any]) -> np.ndarray:
    """A 1-D object array of ``items``, filled element by element.

    ``np.array`` would broadcast a list of equal-length tuples into a 2-D array.
    """
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    return array


def sample_from(
    pool: Sequence[Any], k: int, rng: np.random.Generator, *, replace: bool = True
) -> list[Any]:
    """``k`` items of ``pool`` drawn uniformly with ``rng``.

    Raises:
        ValueError: The pool is empty.
    """
    n = len(pool)
    if not n:
        raise ValueError("cannot sample from an empty archive")
    if replace or k > n:  # the draws rng.choice makes, without its overhead (hot path)
        return [pool[i] for i in rng.integers(0, n, size=k).tolist()]
    return [pool[i] for i in rng.choice(n, size=k, replace=False).tolist()]


class _ExactSum:
    """An exact sum of floats, kept as an integer count of 2**-1074 (the smallest
    subnormal), so adding and removing terms in any order gives the same total, and
    :meth:`value` is that total correctly rounded: what ``math.fsum`` of the terms gives.
    """

    _EXPONENT = 1074

    def __init__(self) -> None:
        self.total = 0
        self.count = 0

    @classmethod
    def of(cls, values: np.ndarray) -> _ExactSum:
        result = cls()
        result.replace(np.empty(0), values)
        return result

    @classmethod
    def _units(cls, values: np.ndarray) -> int:
        total = 0
        for value in values.tolist():
            numerator, denominator = value.as_integer_ratio()  # denominator: a power of 2
            total += numerator << (cls._EXPONENT + 1 - denominator.bit_length())
        return total

    def replace(self, old: np.ndarray, new: np.ndarray) -> None:
        """Take the terms ``old`` out and put the terms ``new`` in (finite floats)."""
        self.total += self._units(new) - self._units(old)
        self.count += len(new) - len(old)

    def value(self) -> float:
        try:
            return self.total / (1 << self._EXPONENT)  # int / int: correctly rounded
        except OverflowError:
            return math.copysign(math.inf, self.total)


class Archive:
    """A MAP-Elites archive of arbitrary candidates over the domain's measures.

    Args:
        measures: The descriptor axes.
        kind: ``"grid"`` (default; pyribs GridArchive, or CategoricalArchive when every
            axis is categorical) or ``"cvt"`` (pyribs CVTArchive, for many uniform
            measures).
        cells: Number of centroids for ``kind="cvt"``.
        centroids: Explicit CVT centroids (restored from a checkpoint).
        qd_score_offset: Subtracted from each objective in the QD score; set it to the
            objective's lowest possible value.
        seed: Seeds the CVT centroid computation.

    Raises:
        ValueError: No measures, or a CVT archive asked for non-uniform axes.
    """

    def __init__(
        self,
        measures: Sequence[Measure],
        *,
        kind: ArchiveKind = "grid",
        cells: int | None = None,
        centroids: Sequence[Sequence[float]] | None = None,
        qd_score_offset: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.measures = tuple(measures)
        if not self.measures:
            raise ValueError("an archive needs at least one measure; the domain declared none")
        self.kind = kind
        self.qd_score_offset = float(qd_score_offset)
        self._categorical = all(m.kind == "categorical" for m in self.measures)
        self._uniform = all(m.kind == "uniform" for m in self.measures)
        self._lows = np.array([m.low for m in self.measures], dtype=float)
        self._highs = np.array([m.high for m in self.measures], dtype=float)
        common: dict[str, Any] = {
            "solution_dim": (),
            "solution_dtype": object,
            "qd_score_offset": self.qd_score_offset,
            "extra_fields": EXTRA_FIELDS,
        }
        if kind == "cvt":
            if any(m.kind != "uniform" for m in self.measures):
                raise ValueError(
                    "archive kind 'cvt' needs uniform measures; use kind 'grid' for "
                    "explicit edges or categorical axes"
                )
            if centroids is not None:
                layout: np.ndarray | int = np.asarray(centroids)
            elif cells:
                layout = int(cells)
            else:
                raise ValueError("archive kind 'cvt' needs 'cells' (number of centroids)")
            self._archive: CVTArchive | CategoricalArchive | GridArchive = CVTArchive(
                centroids=layout,
                ranges=[(m.low, m.high) for m in self.measures],
                seed=seed,
                **common,
            )
        elif kind == "grid" and self._categorical:
            self._archive = CategoricalArchive(
                categories=[list(m.labels) for m in self.measures], **common
            )
        elif kind == "grid":
            self._archive = GridArchive(
                dims=[m.bins for m in self.measures],
                ranges=[m.grid_range for m in self.measures],
                **common,
            )
        else:
            raise ValueError(f"unknown archive kind {kind!r}; use 'grid' or 'cvt'")
        # Exact running sums of the elites' objectives (and of objective - offset), kept
        # as integers in units of 2**-1074 so that they do not depend on the order
        # elites arrived; see :attr:`stats`. ``_version`` counts changes (for caches).
        self._objective_sum = _ExactSum()
        self._score_sum = _ExactSum()
        self._version = 0
        self._pool: tuple[int, np.ndarray] | None = None
        # id(candidate) -> (candidate, lineage id) of every elite, and each cell's
        # candidate: kept up to date by adds that carry ids, built in full on first use
        # otherwise (None). The candidate in the value keeps its id() from being reused.
        self._id_table: dict[int, tuple[Any, Any]] | None = None
        self._cell_candidate = np.empty(self.cells, dtype=object)
        # Each cell's objective (NaN where empty), by pyribs' cell index: what an add
        # changed is known without reading the archive back.
        self._cell_objective = np.full(self.cells, np.nan)

    # --- what pyribs sees -------------------------------------------------------

    @property
    def pyribs(self) -> ArchiveBase:
        """The underlying pyribs archive (for a pyribs Scheduler or ribs.visualize).

        Add through :meth:`add`: it keeps the exact QD-score sums and each cell's
        objective up to date. An elite added to this archive directly is noticed by
        :attr:`stats` only when it changes the number of elites."""
        return self._archive

    @property
    def centroids(self) -> np.ndarray | None:
        return self._archive.centroids if isinstance(self._archive, CVTArchive) else None

    def coordinates(self, measures: Sequence[Sequence[Any]]) -> np.ndarray:
        """Raw measure tuples -> the coordinates the pyribs archive indexes by.

        Uniform axes are converted a column at a time (the hot path of every add).
        """
        if self._categorical:
            rows = [
                tuple(m.labels[m.bin_of(v)] for m, v in zip(self.measures, row, strict=True))
                for row in measures
            ]
            array = np.empty((len(rows), len(self.measures)), dtype=object)
            for i, row in enumerate(rows):
                array[i, :] = row
            return array
        if self._uniform or self.kind == "cvt":
            values = np.asarray(measures, dtype=float).reshape(len(measures), len(self.measures))
            return values if self.kind == "cvt" else np.clip(values, self._lows, self._highs)
        return np.array(
            [[m.to_grid(v) for m, v in zip(self.measures, row, strict=True)] for row in measures],
            dtype=float,
        ).reshape(len(measures), len(self.measures))

    # --- adding and reading -------------------------------------------------------

    def add(self, candidates: Sequence[Any], evaluations: Sequence[Evaluation]) -> np.ndarray:
        """Insert valid evaluations; returns pyribs' status per candidate (0 = not added).

        Invalid evaluations are skipped (status 0): they belong in the event log.
        """
        return self._add(candidates, evaluations)[0]

    def contenders(self, evaluations: Sequence[Evaluation]) -> list[int]:
        """Positions of the valid evaluations whose objective beats their cell's elite,
        or whose cell is empty: the candidates an :meth:`add` of this batch may keep."""
        keep = [i for i, e in enumerate(evaluations) if e.valid]
        if not keep:
            return []
        measures = self.coordinates([evaluations[i].measures for i in keep])
        cells = np.asarray(self._archive.index_of(measures))
        held = self._cell_objective[cells]
        objectives = np.array([evaluations[i].objective for i in keep], dtype=float)
        wins = np.isnan(held) | (objectives > held)
        return [i for i, win in zip(keep, wins.tolist(), strict=True) if win]

    def add_counting(
        self,
        candidates: Sequence[Any],
        evaluations: Sequence[Evaluation],
        *,
        contenders: Sequence[int] | None = None,
    ) -> int:
        """:meth:`add`, returning how many cells are new or now hold a better elite.

        Counted on the cells, not on pyribs' per-row status, which would count twice two
        children that raced for one cell; only the batch's cells are read, not the map.
        ``contenders`` is :meth:`contenders` of the same batch against the archive as it
        is now, when the caller already has it.
        """
        return self._add(candidates, evaluations, count=True, contenders=contenders)[1]

    def add_with_fates(
        self,
        candidates: Sequence[Any],
        evaluations: Sequence[Evaluation],
        ids: Sequence[str],
        *,
        contenders: Sequence[int] | None = None,
    ) -> tuple[int, list[str]]:
        """:meth:`add_counting` for candidates with lineage ids, which the elites keep;
        also returns each candidate's fate (one of :data:`FATES`).

        Which row won a cell is read back from the cell's stored id (only the batch's
        changed cells are read), not guessed from pyribs' per-row status: two rows
        racing for one cell may both report "added".
        """
        fates = [
            "worse"
            if e.valid
            else ("novelty" if (e.invalid_reason or "").startswith(NOVELTY_REASON) else "invalid")
            for e in evaluations
        ]
        _, added = self._add(
            candidates, evaluations, count=True, ids=ids, fates=fates, contenders=contenders
        )
        return added, fates

    def _add(
        self,
        candidates: Sequence[Any],
        evaluations: Sequence[Evaluation],
        *,
        count: bool = False,
        ids: Sequence[str | None] | None = None,
        fates: list[str] | None = None,
        contenders: Sequence[int] | None = None,
    ) -> tuple[np.ndarray, int]:
        if len(candidates) != len(evaluations):
            raise ValueError(f"got {len(candidates)} candidates but {len(evaluations)} evaluations")
        status = np.zeros(len(candidates), dtype=np.int32)
        # Only rows that beat their cell can change it (pyribs' rule with threshold_min
        # -inf: objective > the cell's elite, or an empty cell), so only those are copied
        # into pyribs' arrays: a search keeps a few of every hundred children.
        keep = self.contenders(evaluations) if contenders is None else list(contenders)
        if not keep:
            return status, 0
        fields = self.fields(
            [candidates[i] for i in keep],
            [evaluations[i] for i in keep],
            ids=None if ids is None else [ids[i] for i in keep],
        )
        cells = np.asarray(self._archive.index_of(fields["measures"]))
        touched, where = np.unique(cells, return_inverse=True)
        before = self._cell_objective[touched]
        status[keep] = self._archive.add(**fields)["status"]
        # MAP-Elites' rule, as pyribs applies it (learning rate 1, no threshold): a cell
        # takes the batch's best there when it beats the cell's elite (or the cell is empty).
        best = np.full(len(touched), -np.inf)
        np.maximum.at(best, where.ravel(), fields["objective"])
        after = np.where(np.isnan(before) | (best > before), best, before)
        self._cell_objective[touched] = after
        changed = ~((before == after) | (np.isnan(before) & np.isnan(after)))
        if ids is None:
            self._id_table = None  # rebuilt in full when next asked for
        elif changed.any():
            self._note_winners(
                keep, ids, fates, fields, status[keep], changed, touched, where.ravel(), before
            )
        if changed.any():
            self._version += 1
            old, new = before[changed], after[changed]
            old = old[~np.isnan(old)]
            self._objective_sum.replace(old, new)
            self._score_sum.replace(old - self.qd_score_offset, new - self.qd_score_offset)
        return status, int(np.count_nonzero(changed)) if count else 0

    def _note_winners(self, keep, ids, fates, fields, status, changed, touched, where, before):
        """After an add with lineage ids: each changed cell's new elite gives its row the
        fate ``new`` or ``improved`` and replaces the cell's old elite in the identity
        table of :meth:`lineage_ids_of`.

        A changed cell with one row that pyribs reports added has that row as its elite;
        only cells where several rows of the batch report added (pyribs' status says a
        row beat the old elite, not that it won the cell) are read back from the archive.
        """
        rows = np.flatnonzero(changed[where] & (status > 0))  # kept rows, changed cells
        cells = touched[where[rows]]
        unique, counts = np.unique(cells, return_counts=True)
        raced = unique[counts > 1]
        read: dict[int, tuple[Any, Any]] = {}
        if len(raced):
            which = rows[np.isin(cells, raced)]
            _, stored = self._archive.retrieve(fields["measures"][which])
            for cell, winner, solution in zip(
                touched[where[which]].tolist(),
                stored["lineage_id"],
                stored["solution"],
                strict=True,
            ):
                read[cell] = (winner, solution)
        was_empty = np.isnan(before[where[rows]]).tolist()
        table = self._id_table
        for row, cell, empty in zip(rows.tolist(), cells.tolist(), was_empty, strict=True):
            i = keep[row]
            winner, solution = read.get(cell) or (ids[i], fields["solution"][row])
            if winner != ids[i]:
                continue
            if fates is not None:
                fates[i] = "new" if empty else "improved"
            if table is not None and self._cell_candidate[cell] is not solution:
                old = self._cell_candidate[cell]
                if old is not None:
                    table.pop(id(old), None)
                table[id(solution)] = (solution, winner)
                self._cell_candidate[cell] = solution

    def _resync(self) -> None:
        """Rebuild what :meth:`_add` keeps up to date from the pyribs archive itself, for
        elites that reached it some other way (``archive.pyribs.add``)."""
        data = self._archive.data(["index", "objective"])
        self._cell_objective[:] = np.nan
        self._cell_objective[data["index"]] = data["objective"]
        self._objective_sum = _ExactSum.of(data["objective"])
        self._score_sum = _ExactSum.of(data["objective"] - self.qd_score_offset)
        self._version += 1
        self._id_table = None

    def fields(
        self,
        candidates: Sequence[Any],
        evaluations: Sequence[Evaluation],
        *,
        ids: Sequence[str | None] | None = None,
    ) -> dict:
        """The keyword arrays pyribs' ``add`` (and a Scheduler's ``tell``) take; ``ids``
        are the candidates' lineage ids (None each when not given)."""
        return {
            "solution": object_array(list(candidates)),
            "objective": np.array([e.objective for e in evaluations], dtype=float),
            "measures": self.coordinates([e.measures for e in evaluations]),
            "raw_measures": object_array([tuple(e.measures) for e in evaluations]),
            "info": object_array([dict(e.info) for e in evaluations]),
            "lineage_id": np.full(len(evaluations), None, dtype=object)
            if ids is None
            else np.array(list(ids), dtype=object).reshape(len(evaluations)),
        }

    def __len__(self) -> int:
        return len(self._archive)

    @property
    def empty(self) -> bool:
        return self._archive.empty

    @property
    def cells(self) -> int:
        return int(self._archive.cells)

    def elites(self) -> list[Elite]:
        """Every elite, ordered by cell index (stable across checkpoint and resume)."""
        data = self._archive.data()
        order = np.argsort(data["index"], kind="stable")
        return [
            Elite(
                candidate=data["solution"][i],
                objective=float(data["objective"][i]),
                measures=tuple(data["raw_measures"][i]),
                bins=self._bins(tuple(data["raw_measures"][i]), int(data["index"][i])),
                cell=int(data["index"][i]),
                info=dict(data["info"][i]),
                id=data["lineage_id"][i],
            )
            for i in order
        ]

    def _bins(self, raw: tuple[Any, ...], cell: int) -> tuple[int, ...]:
        if self.kind == "cvt":
            return (cell,)
        return tuple(m.bin_of(v) for m, v in zip(self.measures, raw, strict=True))

    def cell_objectives(self) -> dict[int, float]:
        """Objective of each occupied cell, cheaply (no Elite objects)."""
        data = self._archive.data(["index", "objective"])
        return dict(zip(data["index"].tolist(), data["objective"].tolist(), strict=True))

    def best(self) -> Elite | None:
        """The elite with the highest objective, or None when empty."""
        elites = self.elites()
        return max(elites, key=lambda e: e.objective) if elites else None

    def sample(self, k: int, rng: np.random.Generator, *, replace: bool = True) -> list[Any]:
        """``k`` candidates drawn uniformly from the elites with our seeded ``rng``.

        pyribs' ``sample_elites`` draws from the archive's own generator, whose state
        would not survive a checkpoint; drawing here keeps resumed runs identical.

        Raises:
            ValueError: The archive is empty.
        """
        return sample_from(self.candidates(), k, rng, replace=replace)

    def candidates(self) -> list[Any]:
        """The elites' candidates alone, ordered by cell (cheaper than :meth:`elites`)."""
        return self.candidate_array().tolist()  # an object array's items, as they are

    def candidate_array(self) -> np.ndarray:
        """:meth:`candidates` as a 1-D object array, for drawing a batch's parents with
        one fancy index (``pool[rng.integers(...)]``) instead of a Python loop.

        Read it, do not write to it: it is cached until the archive next changes, so
        every emitter of an iteration shares one copy.
        """
        if self._pool is None or self._pool[0] != self._version:
            data = self._archive.data(["index", "solution"])
            order = np.argsort(data["index"], kind="stable")
            self._pool = (self._version, data["solution"][order])
        return self._pool[1]

    def lineage_ids_of(self, groups: Sequence[Sequence[Any]]) -> list[list[str | None]]:
        """The lineage ids of parent candidates drawn from this archive, group by group.

        Parents are found by identity (the archive hands out the very objects it holds),
        so any parent selection works unchanged; the lookup table is
        kept up to date by each add (only the cells it changed), so a big archive costs
        nothing per iteration. A parent that is not an elite here gets None.
        """
        if self._id_table is None:
            data = self._archive.data(["index", "solution", "lineage_id"])
            self._cell_candidate[:] = None
            self._cell_candidate[data["index"]] = data["solution"]
            self._id_table = {
                id(solution): (solution, lineage_id)
                for solution, lineage_id in zip(data["solution"], data["lineage_id"], strict=True)
            }
        table = self._id_table
        return [
            [None if (entry := table.get(id(parent))) is None else entry[1] for parent in group]
            for group in groups
        ]

    @property
    def stats(self) -> ArchiveStats:
        """num_elites, coverage, qd_score (with the explicit offset), obj_max, obj_mean.

        The QD score and mean come from exactly rounded sums of the elites' objectives
        (what ``math.fsum`` over the archive gives), not pyribs' running float totals:
        those depend on the order elites arrived, so a resumed run (its archive rebuilt
        from a checkpoint) logged a QD score a few ulps from the uninterrupted run's with
        the identical archive. The exact sums are kept up to date on every add (only the
        cells an add changed are read), so this costs nothing per elite.
        """
        s = self._archive.stats

        def number(value: Any) -> float | None:
            return None if value is None or not math.isfinite(float(value)) else float(value)

        if self._objective_sum.count != s.num_elites:  # elites added behind our back
            self._resync()
        n = int(s.num_elites)
        return ArchiveStats(
            num_elites=n,
            cells=self.cells,
            coverage=float(s.coverage),
            qd_score=self._score_sum.value(),
            qd_score_offset=self.qd_score_offset,
            obj_max=number(s.obj_max) if n else None,
            obj_mean=number(self._objective_sum.value() / n) if n else None,
        )

    # --- checkpoints ----------------------------------------------------------------

    def to_records(self, domain: Domain) -> list[dict[str, Any]]:
        """JSON-able records of every elite, through the domain's ``encode``."""
        return [
            {
                "candidate": domain.encode(e.candidate),
                "objective": e.objective,
                "measures": list(e.measures),
                "info": e.info,
                **({"id": e.id} if e.id is not None else {}),
            }
            for e in self.elites()
        ]

    def add_records(self, records: Sequence[dict[str, Any]], domain: Domain) -> None:
        """Re-insert elites saved by :meth:`to_records` (decoded by the domain).

        Raises:
            ValueError: A record is missing a field or holds a bad value; the message
                names the record.
        """
        candidates, evaluations, ids = [], [], []
        for i, record in enumerate(records):
            try:
                objective = float(record["objective"])
                measures = tuple(record["measures"])
                if not math.isfinite(objective):
                    raise ValueError(f"objective {objective} is not finite")
                if len(measures) != len(self.measures):
                    raise ValueError(
                        f"{len(measures)} measures for an archive of {len(self.measures)}"
                    )
                for measure, value in zip(self.measures, measures, strict=True):
                    if problem := measure.check(value):
                        raise ValueError(problem)
                lineage_id = record.get("id")
                if lineage_id is not None and not isinstance(lineage_id, str):
                    raise ValueError(f"id {lineage_id!r} is not a string")
                candidates.append(domain.decode(record["candidate"]))
                ids.append(lineage_id)
                evaluations.append(
                    Evaluation(
                        objective=objective, measures=measures, info=dict(record.get("info", {}))
                    )
                )
            except Exception as error:  # whatever decode raises (OverflowError ...): malformed
                raise ValueError(
                    f"archive record {i} is malformed: {type(error).__name__}: {error}"
                ) from error
        before = len(self)
        self._add(candidates, evaluations, ids=ids)
        if len(self) - before != len(records):
            lost = len(records) - (len(self) - before)
            raise ValueError(
                f"{lost} of {len(records)} records did not land in a cell of their own; "
                "the checkpoint does not match this archive's measures"
            )
