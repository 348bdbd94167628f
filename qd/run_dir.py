"""A run's files: paths, the resolved config, atomic writes, logs and checkpoint files.

``runs/<name>/`` holds ``config.toml`` (as resolved), ``metrics.jsonl`` (one line per
iteration), ``events.jsonl`` (invalid candidates and why) and ``archive-<iter>.json``
checkpoints. Everything here is file handling and knows nothing of the search, so
reports, batch studies and the run loop (:mod:`qd.runs`) share one reading of a run
directory. Every rewrite goes through :func:`atomic_write` (temporary file, fsync,
rename), so a crash at any instant leaves the previous file whole.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from qd.checkpoints import Checkpoint, CheckpointError
from qd.config import ExperimentConfig, load_config
from qd.run_lock import LOCK_NAME, hold_run_lock

__all__ = [
    "CHECKPOINTS_KEPT",
    "LM_CACHE",
    "RunDirectory",
    "RunError",
    "atomic_write",
]

CHECKPOINTS_KEPT = 3
LM_CACHE = "lm-cache"


class RunError(RuntimeError):
    """A run directory that cannot be started or resumed; the message says why."""


class RunDirectory:
    """Paths and file operations of one run; knows nothing of the search itself."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    def create(self, config: ExperimentConfig, *, force: bool = False) -> None:
        """Make the directory and write the resolved config.

        Call it holding the run's lock (:meth:`lock`): ``force`` deletes files, which
        must not happen under a live run.

        Raises:
            RunError: The run exists and ``force`` is false.
        """
        contents = [p for p in self.path.iterdir() if p.name != LOCK_NAME]
        if contents:
            if not force:
                raise RunError(
                    f"run directory {self.path} already exists; continue it with "
                    f"`qd resume {self.path}`, or pass --force to start it again"
                )
            for item in contents:
                if item.name.startswith(LM_CACHE):
                    continue  # a rerun of the same config replays LM replies for free
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_config(config)

    def lock(self) -> AbstractContextManager[None]:
        """Own the directory (made if missing) while the ``with`` block runs.

        Raises:
            RunLockedError: Another live process owns it; the message names its pid.
        """
        return hold_run_lock(self.path)

    def remove_orphaned_temp_files(self) -> list[Path]:
        """Delete the temporary files of writes a killed process never finished.

        Only safe while holding the lock: a live writer's temp file looks the same.
        """
        orphans = sorted(self.path.glob(".*.tmp"))
        for orphan in orphans:
            orphan.unlink(missing_ok=True)
        return orphans

    def write_config(self, config: ExperimentConfig) -> None:
        atomic_write(self.config_path, tomli_w.dumps(config.to_dict()))

    def load_config(self) -> ExperimentConfig:
        if not self.config_path.exists():
            raise RunError(f"{self.path} is not a run directory (no config.toml)")
        return load_config(self.config_path)

    def checkpoints(self) -> list[Path]:
        """Checkpoint files, oldest first."""
        return sorted(self.path.glob("archive-*.json"))

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest checkpoint that reads whole (older ones are the fallback)."""
        for path in reversed(self.checkpoints()):
            try:
                return self.read_checkpoint(path)
            except CheckpointError:
                continue
        return None

    def read_checkpoint(self, path: Path) -> Checkpoint:
        """One checkpoint file, checked in itself and against the run's metrics log.

        Raises:
            CheckpointError: Unreadable, a bad field, or an iteration that disagrees
                with the file name or lies beyond the metrics log; the message names
                the file and the field.
        """
        try:
            checkpoint = Checkpoint.from_json(json.loads(path.read_text()))
        except CheckpointError as error:
            raise CheckpointError(f"{path.name}: {error}") from None
        except (OSError, ValueError) as error:  # ValueError: not JSON, not UTF-8
            raise CheckpointError(f"{path.name}: unreadable ({error})") from None
        named = path.stem.removeprefix("archive-")
        if named.isdigit() and int(named) != checkpoint.iteration:
            raise CheckpointError(
                f"{path.name}: iteration: {checkpoint.iteration} does not match the file name"
            )
        logged = [r["iteration"] for r in self.metrics() if isinstance(r.get("iteration"), int)]
        if self.metrics_path.exists() and checkpoint.iteration > max(logged, default=0):
            raise CheckpointError(
                f"{path.name}: iteration: {checkpoint.iteration} is beyond the metrics log, "
                f"which ends at iteration {max(logged, default=0)}"
            )
        return checkpoint

    def write_checkpoint(self, checkpoint: Checkpoint) -> Path:
        path = self.path / f"archive-{checkpoint.iteration:06d}.json"
        atomic_write(path, json.dumps(checkpoint.to_json()))
        for old in self.checkpoints()[:-CHECKPOINTS_KEPT]:
            old.unlink(missing_ok=True)
        return path

    def append(self, path: Path, rows: list[dict[str, Any]]) -> None:
        if rows:
            with path.open("a") as handle:
                handle.writelines(json.dumps(row, default=_json_default) + "\n" for row in rows)

    def read_jsonl(self, path: Path) -> list[dict[str, Any]]:
        """Rows of a log; a torn line (a crash mid-write) or one that is no object is skipped."""
        if not path.exists():
            return []
        rows = []
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):  # valid JSON but not a row is as broken as a torn line
                rows.append(row)
        return rows

    def metrics(self) -> list[dict[str, Any]]:
        return self.read_jsonl(self.metrics_path)

    def events(self) -> list[dict[str, Any]]:
        return self.read_jsonl(self.events_path)

    def truncate_logs(self, iteration: int) -> None:
        """Drop log rows written after ``iteration`` (they will be written again)."""
        for path in (self.metrics_path, self.events_path):
            rows = [r for r in self.read_jsonl(path) if r.get("iteration", 0) <= iteration]
            atomic_write(path, "".join(json.dumps(r) + "\n" for r in rows))


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file, fsync and rename: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return repr(value)
