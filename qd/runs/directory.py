"""A run's files: paths, the resolved config, atomic writes, logs and checkpoint files.

``runs/<name>/`` holds ``config.toml`` (as resolved), ``metrics.jsonl`` (one line per
iteration), ``events.jsonl`` (invalid candidates and why) and ``archive-<iter>.json``
checkpoints. Everything here is file handling and knows nothing of the search, so
reports, batch studies and the run loop (:mod:`qd.runs.lifecycle`) share one reading of a run
directory. Every rewrite goes through :func:`atomic_write` (temporary file, fsync,
rename), so a crash at any instant leaves the previous file whole.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from qd.runs.checkpoints import Checkpoint, CheckpointError
from qd.runs.config import ExperimentConfig, load_config
from qd.runs.lock import LOCK_NAME, hold_run_lock

__all__ = [
    "CHECKPOINTS_KEPT",
    "DISK_FULL",
    "LM_CACHE",
    "RunDirectory",
    "RunError",
    "atomic_write",
]

CHECKPOINTS_KEPT = 3
LM_CACHE = "lm-cache"
RUN_FILES = (
    "config.toml",
    "metrics.jsonl",
    "events.jsonl",
    "lineage.jsonl",
    "archive-*.json",
    f"{LM_CACHE}*",
    LOCK_NAME,
    ".*.tmp",
    "report.md",
    "report.html",
)
"""What a run directory may hold (names or patterns), besides its report figures; ``*.csv``
are the domain's own tables (``Domain.checkpoint_files``)."""
DOMAIN_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.csv")
"""The names a domain's own files may take (plain names, no folders)."""
REPORT_DIR = "report"
DOMAIN_DIR = "domain"
"""The folder of the domain's own files (``Domain.checkpoint_files``): a folder of its
own, so a file a person put beside a run's files is never taken for one of them."""
"""The folder of report figures (``qd report``); it holds image files only."""


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

    @property
    def lineage_path(self) -> Path:
        """Every evaluated candidate's id, parents, operator and fate (qd.runs.lineage)."""
        return self.path / "lineage.jsonl"

    def create(self, config: ExperimentConfig, *, force: bool = False) -> None:
        """Make the directory and write the resolved config.

        Call it holding the run's lock (:meth:`lock`): ``force`` deletes files, which
        must not happen under a live run. Check :meth:`refuse_to_replace` before taking
        the lock, so that a folder that is no run never even gets a lock file.

        Raises:
            RunError: The path is not a run directory qd made, or the run exists and
                ``force`` is false.
        """
        self.refuse_to_replace()
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
                if item.is_dir() and not item.is_symlink():
                    shutil.rmtree(item)  # the report folder, checked to hold images only
                else:
                    item.unlink()  # a file, or a link (never what it points to)
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_config(config)

    def refuse_to_replace(self) -> None:
        """Raise unless the path is free, or a run directory qd may replace.

        ``qd run --force`` deletes what a run made; it must never delete anything
        else. So the path must be missing, empty, a real directory (no link) holding
        a ``config.toml`` and nothing but the files a run makes (:data:`RUN_FILES`,
        and images in ``report/``), or one holding only an LM reply cache put there to
        be replayed (``lm-cache*``).

        Raises:
            RunError: What is there instead, and what to do.
        """
        parent = self.path.parent
        for folder in (parent, *parent.parents):
            if folder.exists() and not folder.is_dir():
                raise RunError(
                    f"{folder} is a file, not a folder: give --runs-dir a folder "
                    "(it is made if missing)"
                )
        if self.path.is_symlink():
            raise RunError(
                f"{self.path} is a symbolic link; qd writes runs only into real "
                "directories: give --runs-dir the folder it points to, or another --name"
            )
        if not self.path.exists():
            return
        if not self.path.is_dir():
            raise RunError(f"{self.path} is a file, not a run directory: choose another --name")
        entries = [p for p in self.path.iterdir() if p.name != LOCK_NAME]
        if not entries:
            return
        strangers = [p.name for p in entries if not _made_by_a_run(p)]
        seeded = all(p.name.startswith(LM_CACHE) for p in entries)  # a reply cache put first
        if strangers or not ((self.path / "config.toml").is_file() or seeded):
            what = f"it holds {_listed(strangers)}" if strangers else "it has no config.toml"
            raise RunError(
                f"{self.path} is not a run directory ({what}); qd will not write into it "
                "or delete anything there, even with --force: choose another --name or "
                "--runs-dir"
            )

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

    def write_domain_files(self, files: Mapping[str, str]) -> None:
        """Rewrite the domain's own files (``{name: text}``) in ``domain/``, each atomically.

        Raises:
            ValueError: A name that is not a plain ``.csv`` file name (:data:`DOMAIN_FILE`).
        """
        for name in files:
            if not DOMAIN_FILE.fullmatch(name):
                raise ValueError(
                    f"checkpoint_files: {name!r} is not a plain file name ending in .csv "
                    "(letters, digits, '_', '-', '.'; no folders)"
                )
        if files:
            (self.path / DOMAIN_DIR).mkdir(exist_ok=True)
        for name, text in files.items():
            atomic_write(self.path / DOMAIN_DIR / name, text)

    def append(self, path: Path, rows: list[dict[str, Any]], *, compact: bool = False) -> None:
        """Append rows as JSON lines; ``compact`` drops the spaces after separators (the
        lineage file, one line per evaluated candidate, is the big one)."""
        if rows:
            separators = (",", ":") if compact else None
            try:
                with path.open("a") as handle:
                    handle.writelines(
                        json.dumps(row, default=_json_default, separators=separators) + "\n"
                        for row in rows
                    )
            except OSError as error:
                raise _naming(error, path) from error

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
        """Drop log rows written after ``iteration`` (they will be written again).

        The lineage file too: its ids are ``"<iteration>-<index>"``, so the iterations
        run again after a resume write the same ids, and cutting the file back to the
        checkpoint is what keeps every id once (a kill may have left rows of later
        iterations). Its lines are kept as they are, not parsed and dumped again.
        """
        for path in (self.metrics_path, self.events_path):
            rows = [r for r in self.read_jsonl(path) if r.get("iteration", 0) <= iteration]
            atomic_write(path, "".join(json.dumps(r) + "\n" for r in rows))
        if self.lineage_path.exists():
            kept = []
            for line in self.lineage_path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # torn by the kill
                if isinstance(row, dict) and row.get("iteration", 0) <= iteration:
                    kept.append(line + "\n")
            atomic_write(self.lineage_path, "".join(kept))


DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
"""Write errors that mean "no room": the disk, a quota, or a file-size limit."""


def _naming(error: OSError, path: Path) -> OSError:
    """``error`` with the file it was writing (a failed write() names none)."""
    if error.filename is not None:
        return error
    return type(error)(error.errno, error.strerror or str(error), str(path))


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (a moment's race with threads)
    os.umask(mask)
    return mask


def _made_by_a_run(entry: Path) -> bool:
    """Whether ``entry`` (in a run directory) is something a run writes."""
    if entry.name == REPORT_DIR and entry.is_dir() and not entry.is_symlink():
        return all(
            p.is_file() and not p.is_symlink() and p.suffix in (".png", ".svg")
            for p in entry.iterdir()
        )
    if entry.name == DOMAIN_DIR and entry.is_dir() and not entry.is_symlink():
        return all(
            p.is_file() and not p.is_symlink() and DOMAIN_FILE.fullmatch(p.name)
            for p in entry.iterdir()
        )
    if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith(LM_CACHE):
        return False
    return any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in RUN_FILES)


def _listed(names: list[str], shown: int = 4) -> str:
    names = sorted(names)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(repr(n) for n in names[:shown]) + more


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file, fsync and rename: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, 0o666 & ~_umask())  # mkstemp makes 0600; files honour the umask
        with os.fdopen(handle, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise _naming(error, path) from error
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
