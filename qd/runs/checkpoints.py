"""Checkpoints: a run's state after a whole iteration, as JSON, checked field by field.

A checkpoint outlives the process that wrote it and may meet a disk fault, a hand
edit or a file from another run. Loading one therefore checks every field before the
run trusts it: a generator state numpy cannot take, an iteration that is not a
non-negative integer, or records that are not elites are each a
:class:`CheckpointError` naming the field, so a resume can fall back to the older
checkpoint instead of continuing from garbage (or crashing mid-restore).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CHECKPOINT_FORMAT", "Checkpoint", "CheckpointError"]

CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed from; the message names the field."""


@dataclass(frozen=True)
class Checkpoint:
    """A run's state after a whole iteration."""

    iteration: int
    evaluations: int
    rng_state: dict[str, Any]
    records: list[dict[str, Any]]
    centroids: list[list[float]] | None = None
    state: dict[str, Any] | None = None  # the loop's own state (a population); None for MAP-Elites
    lm: dict[str, Any] | None = None  # LM usage and occurrence counters (qd.lm.LM.state)

    def to_json(self) -> dict[str, Any]:
        data = {
            "format": CHECKPOINT_FORMAT,
            "iteration": self.iteration,
            "evaluations": self.evaluations,
            "rng": self.rng_state,
            "centroids": self.centroids,
            "archive": self.records,
        }
        if self.state is not None:
            data["state"] = self.state
        if self.lm is not None:
            data["lm"] = self.lm
        return data

    @classmethod
    def from_json(cls, data: Any) -> Checkpoint:
        """Read and check a checkpoint's JSON.

        Raises:
            CheckpointError: A missing or bad field, named (``rng: ...``, ``iteration: ...``).
        """
        if not isinstance(data, dict):
            raise CheckpointError(f"a checkpoint is a JSON object, not {type(data).__name__}")
        if data.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"format: {data.get('format')!r} is not {CHECKPOINT_FORMAT} "
                "(written by another version of qd?)"
            )
        for key in ("iteration", "evaluations", "rng", "archive"):
            if key not in data:
                raise CheckpointError(f"{key}: missing")
        for key in ("state", "lm"):
            if data.get(key) is not None and not isinstance(data[key], dict):
                raise CheckpointError(f"{key}: expected an object, got {_short(data[key])}")
        return cls(
            iteration=_count(data, "iteration"),
            evaluations=_count(data, "evaluations"),
            rng_state=_rng_state(data["rng"]),
            records=_records(data["archive"]),
            centroids=_centroids(data.get("centroids")),
            state=data.get("state"),
            lm=data.get("lm"),
        )


def _count(data: dict[str, Any], key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CheckpointError(f"{key}: expected a non-negative integer, got {_short(value)}")
    return value


def _rng_state(value: Any) -> dict[str, Any]:
    """The state if numpy's PCG64 (the run's generator) takes it."""
    if not isinstance(value, dict):
        raise CheckpointError(f"rng: expected a generator state object, got {_short(value)}")
    try:
        # numpy's stubs want its TypedDict; any dict is tried, and refused below if bad.
        np.random.PCG64().state = value  # type: ignore[assignment]
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise CheckpointError(f"rng: not a PCG64 generator state ({error})") from None
    return value


def _records(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise CheckpointError(f"archive: expected a list of elites, got {_short(value)}")
    for i, record in enumerate(value):
        where = f"archive[{i}]"
        if not isinstance(record, dict):
            raise CheckpointError(f"{where}: expected an object, got {_short(record)}")
        missing = [k for k in ("candidate", "objective", "measures") if k not in record]
        if missing:
            raise CheckpointError(f"{where}: missing {', '.join(missing)}")
        objective = record["objective"]
        if isinstance(objective, bool) or not isinstance(objective, int | float):
            raise CheckpointError(f"{where}.objective: expected a number, got {_short(objective)}")
        if not math.isfinite(objective):
            raise CheckpointError(f"{where}.objective: {objective} is not finite")
        if not isinstance(record["measures"], list):
            raise CheckpointError(
                f"{where}.measures: expected a list, got {_short(record['measures'])}"
            )
        if not isinstance(record.get("info", {}), dict):
            raise CheckpointError(f"{where}.info: expected an object")
    return list(value)


def _centroids(value: Any) -> list[list[float]] | None:
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype=float)
    except (ValueError, TypeError):
        array = None
    if array is None or array.ndim != 2 or not np.isfinite(array).all():
        raise CheckpointError("centroids: expected a table of finite numbers (or null)")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
