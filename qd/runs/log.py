"""What a search leaves in its run directory: metrics lines, events, checkpoints.

:class:`RunLogger` is the callback the run loop (:mod:`qd.runs.lifecycle`) hands to the search;
it turns each iteration into rows of ``metrics.jsonl`` and ``events.jsonl`` and, every
``checkpoint_every`` iterations, a :class:`~qd.runs.checkpoints.Checkpoint` (with the
domain's own files, such as symbolic regression's ``hall_of_fame.csv``). Written against
the :class:`~qd.search.loop.Loop` contract, so every search shape logs the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from qd.domain import Domain
from qd.metrics.scores import vendi_score_of_features
from qd.runs.checkpoints import Checkpoint
from qd.runs.directory import RunDirectory
from qd.search.loop import IterationResult, Loop

__all__ = ["RunLogger"]


class RunLogger:
    """Callback that writes metrics, events and periodic checkpoints of a search."""

    def __init__(
        self,
        run: RunDirectory,
        domain: Domain,
        *,
        checkpoint_every: int,
        extra_metrics: Callable[[], dict[str, Any]] | None = None,
        lm_state: Callable[[], dict[str, Any]] | None = None,
        lineage: str = "all",
    ) -> None:
        self.run = run
        self.domain = domain
        self.checkpoint_every = checkpoint_every
        self.extra_metrics = extra_metrics
        self.lm_state = lm_state  # kept in checkpoints, so `qd resume` continues LM counters
        self.lineage = lineage  # "all", "archive" (entered the archive only) or "off"
        self.has_features = type(domain).features is not Domain.features
        # cell -> (candidate, its features): only new elites are asked for features,
        # which may be costly (symbolic regression evaluates the formula again).
        self._features: dict[int, tuple[Any, Any]] = {}

    def _vendi(self, search: Loop) -> dict[str, float]:
        """The elites' Vendi score for the curve in reports (cheap: d x d eigenvalues)."""
        known, self._features = self._features, {}
        for elite in search.archive.elites():
            hit = known.get(elite.cell)
            if hit is None or hit[0] is not elite.candidate:
                hit = (elite.candidate, self.domain.features(elite.candidate, elite.info))
            self._features[elite.cell] = hit
        vectors = [v for _, v in self._features.values() if v is not None]
        if len(vectors) < 2:
            return {}
        return {"vendi": round(vendi_score_of_features(np.asarray(vectors, dtype=float)), 6)}

    def __call__(self, search: Loop, result: IterationResult) -> None:
        self.run.append(
            self.run.events_path,
            [
                {
                    "iteration": result.iteration,
                    "event": "invalid",
                    "reason": evaluation.invalid_reason,
                    "candidate": _encoded(self.domain, candidate),
                    "info": evaluation.info,
                }
                for candidate, evaluation in result.invalid
            ],
        )
        if result.lineage is not None and self.lineage != "off":
            self._write_lineage(result)
        extra = self.extra_metrics() if self.extra_metrics else {}
        diversity = self._vendi(search) if self.has_features else {}
        own = self.domain.run_metrics()
        self.run.append(self.run.metrics_path, [{**result.metrics(), **diversity, **own, **extra}])
        if result.iteration % self.checkpoint_every == 0:
            self.checkpoint(search)

    def _write_lineage(self, result: IterationResult) -> None:
        """Append the iteration's lineage records, one compact JSON line each."""
        assert result.lineage is not None
        rows = result.lineage.rows()
        if self.lineage == "archive":
            rows = [r for r in rows if r["fate"] in ("new", "improved")]
        self.run.append(self.run.lineage_path, rows, compact=True)

    def checkpoint(self, search: Loop) -> Path:
        """Write a checkpoint of ``search``, and the domain's own files beside it
        (:meth:`~qd.domain.Domain.checkpoint_files`)."""
        if type(self.domain).checkpoint_files is not Domain.checkpoint_files:
            self.run.write_domain_files(self.domain.checkpoint_files(search.archive.elites()))
        centroids = search.archive.centroids
        return self.run.write_checkpoint(
            Checkpoint(
                iteration=search.iteration,
                evaluations=search.evaluations,
                rng_state=dict(search.rng.bit_generator.state),
                records=search.archive.to_records(self.domain),
                centroids=None if centroids is None else centroids.tolist(),
                state=search.checkpoint_state(),
                lm=self.lm_state() if self.lm_state is not None else None,
            )
        )


def _encoded(domain: Domain, candidate: Any) -> Any:
    try:
        json.dumps(encoded := domain.encode(candidate))
        return encoded
    except Exception:  # an event is logged even for odd candidates
        return repr(candidate)[:2000]
