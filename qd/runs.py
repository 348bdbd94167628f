"""The run directory: resolved config, metrics and event logs, checkpoints, resume.

``runs/<name>/`` holds ``config.toml`` (as resolved), ``metrics.jsonl`` (one line per
iteration), ``events.jsonl`` (invalid candidates and why) and ``archive-<iter>.json``
checkpoints. A checkpoint is JSON (elites through the domain's ``encode``, the RNG
state, counters), written to a temporary file, fsynced and renamed, so a crash at any
instant leaves the previous checkpoint whole. ``resume`` rebuilds the archive from the
newest checkpoint, cuts the logs back to it and goes on: an interrupted run ends in
the same archive as an uninterrupted one with the same seed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from qd.archive import Archive
from qd.checkpoints import Checkpoint, CheckpointError
from qd.config import ConfigError, ExperimentConfig, load_config, parse_config
from qd.domain import Domain
from qd.evaluation import make_evaluator
from qd.metrics import vendi_score_of_features
from qd.population import PopulationSearch
from qd.preflight import build_archive, check_evaluation, lm_settings, preflight
from qd.run_lock import LOCK_NAME, RunLockedError, hold_run_lock
from qd.search import IterationResult, Search

__all__ = [
    "Checkpoint",
    "RunDirectory",
    "RunError",
    "RunLockedError",
    "atomic_write",
    "build_archive",
    "execute",
    "lm_settings",
    "load_archive",
    "start",
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


# --- running ---------------------------------------------------------------------------


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
    ) -> None:
        self.run = run
        self.domain = domain
        self.checkpoint_every = checkpoint_every
        self.extra_metrics = extra_metrics
        self.lm_state = lm_state  # kept in checkpoints, so `qd resume` continues LM counters
        self.has_features = type(domain).features is not Domain.features
        # cell -> (candidate, its features): only new elites are asked for features,
        # which may be costly (symbolic regression evaluates the formula again).
        self._features: dict[int, tuple[Any, Any]] = {}

    def _vendi(self, search: Search) -> dict[str, float]:
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

    def __call__(self, search: Search, result: IterationResult) -> None:
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
        extra = self.extra_metrics() if self.extra_metrics else {}
        diversity = self._vendi(search) if self.has_features else {}
        own = self.domain.run_metrics()
        self.run.append(self.run.metrics_path, [{**result.metrics(), **diversity, **own, **extra}])
        if result.iteration % self.checkpoint_every == 0:
            self.checkpoint(search)

    def checkpoint(self, search: Search | PopulationSearch) -> Path:
        centroids = search.archive.centroids
        own_state = getattr(search, "checkpoint_state", None)
        return self.run.write_checkpoint(
            Checkpoint(
                iteration=search.iteration,
                evaluations=search.evaluations,
                rng_state=search.rng.bit_generator.state,
                records=search.archive.to_records(self.domain),
                centroids=None if centroids is None else centroids.tolist(),
                state=own_state() if callable(own_state) else None,
                lm=self.lm_state() if self.lm_state is not None else None,
            )
        )


def _encoded(domain: Domain, candidate: Any) -> Any:
    try:
        json.dumps(encoded := domain.encode(candidate))
        return encoded
    except Exception:  # an event is logged even for odd candidates
        return repr(candidate)[:2000]


def start(
    config: ExperimentConfig,
    runs_dir: str | Path = "runs",
    *,
    force: bool = False,
    hold: ExitStack | None = None,
) -> RunDirectory:
    """Create ``runs_dir/<config.name>`` for a new run (nothing is run yet).

    Args:
        config: The experiment.
        runs_dir: Where run directories go.
        force: Replace an existing run of that name (refused while it is live).
        hold: Keep the run's lock in this stack after returning, so no other process
            can take the new run before this one executes it.

    Raises:
        ConfigError: A bad config; nothing is written.
        RunError: The run exists (and not ``force``).
        RunLockedError: The run is live in another process.
    """
    preflight(config)  # every mistake a ConfigError before anything is written
    config = config.with_domain_defaults()
    run = RunDirectory(Path(runs_dir) / config.name)
    with ExitStack() as stack:
        stack.enter_context(run.lock())
        run.create(config, force=force)
        if hold is not None:
            hold.enter_context(run.lock())  # re-entrant: taken before this one is let go
    return run


def execute(
    run: RunDirectory,
    *,
    iterations: int | None = None,
    callbacks=(),
    resume: bool = False,
    restart: bool = False,
    dask_scheduler: str | None = None,
    notify: Callable[[str], None] | None = None,
) -> Search:
    """Run (or resume) the search in ``run`` until the configured iterations.

    Ctrl-C once finishes the current iteration, writes a checkpoint and stops; twice
    stops at once (the last checkpoint still holds).

    Args:
        run: A directory made by :func:`start`.
        iterations: New total (to extend a finished run); written to its config.
        callbacks: Extra ``callback(search, result)`` (progress bars).
        resume: Continue from the newest checkpoint that resumes; a bad newer one is
            skipped (logged in ``events.jsonl`` and passed to ``notify``).
        restart: With ``resume``: delete the checkpoints and start over (for when none
            can be resumed from).
        dask_scheduler: Evaluate on the Dask cluster at this address (backend ``dask``);
            written to the config, so a resume goes on with it unless told otherwise.
        notify: Called with a line for the user, e.g. that a checkpoint was skipped.

    Raises:
        RunError: Not a run directory, or checkpoints of which none can be resumed from.
        RunLockedError: The run is live in another process.
        KeyboardInterrupt: After a graceful stop on Ctrl-C.
    """
    if not run.config_path.exists():
        run.load_config()  # raises "not a run directory" before a lock file is made
    with run.lock():
        run.remove_orphaned_temp_files()
        return _execute_locked(
            run,
            iterations=iterations,
            callbacks=callbacks,
            resume=resume,
            restart=restart,
            dask_scheduler=dask_scheduler,
            notify=notify or (lambda message: None),
        )


def _restore(
    run: RunDirectory,
    config: ExperimentConfig,
    domain: Domain,
    *,
    restart: bool,
    notify: Callable[[str], None],
) -> tuple[Checkpoint | None, Archive | None]:
    """The newest checkpoint that resumes, with its archive rebuilt.

    A bad newest checkpoint falls back to an older good one (logged in
    ``events.jsonl`` and passed to ``notify``). When there are checkpoints and none is
    good, the run stops instead of silently starting over on top of them.

    Raises:
        RunError: Checkpoints exist and none can be resumed from (and not ``restart``).
    """
    files = run.checkpoints()
    if restart:
        for path in files:
            path.unlink(missing_ok=True)
        if files:
            run.append(
                run.events_path,
                [{"event": "restarted", "time": time.time(), "discarded": [p.name for p in files]}],
            )
        return None, None
    problems: list[str] = []
    for path in reversed(files):
        try:
            checkpoint = run.read_checkpoint(path)
            archive = _restored_archive(path, config, domain, checkpoint)
        except CheckpointError as error:
            problems.append(str(error))
            continue
        for problem in problems:
            message = f"skipped checkpoint {problem}; resuming from {path.name}"
            run.append(
                run.events_path,
                [
                    {
                        "event": "checkpoint_skipped",
                        "time": time.time(),
                        "reason": problem,
                        "resumed_from": path.name,
                    }
                ],
            )
            notify(message)
        return checkpoint, archive
    if problems:
        raise RunError(
            f"{run.path}: no checkpoint can be resumed from: {'; '.join(problems)}. "
            f"Put a good checkpoint back, or start the run over with "
            f"`qd resume {run.path} --restart` (which deletes them)"
        )
    return None, None


def _restored_archive(
    path: Path, config: ExperimentConfig, domain: Domain, checkpoint: Checkpoint
) -> Archive:
    try:
        archive = build_archive(config, domain, checkpoint.centroids)
    except ConfigError as error:
        if checkpoint.centroids is None:
            raise
        raise CheckpointError(f"{path.name}: centroids: {error}") from None
    try:
        archive.add_records(checkpoint.records, domain)
    except ValueError as error:
        raise CheckpointError(f"{path.name}: archive: {error}") from None
    return archive


def _execute_locked(run, *, iterations, callbacks, resume, restart, dask_scheduler, notify):
    config = run.load_config()
    domain = config.build_domain()
    checkpoint, archive = None, None
    if resume:
        checkpoint, archive = _restore(run, config, domain, restart=restart, notify=notify)
    if iterations is not None and checkpoint is not None and iterations < checkpoint.iteration:
        raise RunError(
            f"--iterations {iterations} is below the {checkpoint.iteration} iterations already done"
        )
    if iterations is not None or dask_scheduler:
        changed = config.to_dict()
        if iterations is not None:
            changed["search"]["iterations"] = iterations
        if dask_scheduler:
            changed["evaluation"].update(backend="dask", scheduler=dask_scheduler)
        config = parse_config(changed)
        preflight(config)  # the changed config is checked whole before it is written
        run.write_config(config)
    rng = np.random.default_rng(config.seed)
    if archive is None:
        archive = build_archive(config, domain)
    if checkpoint is not None:
        rng.bit_generator.state = checkpoint.rng_state
        run.truncate_logs(checkpoint.iteration)
    elif resume:
        run.truncate_logs(0)
    check_evaluation(config, domain)  # config.toml may have been edited by hand
    with ExitStack() as stack:
        lm = stack.enter_context(open_run_lm(run, config)) if domain.uses_lm else None
        if lm is not None:
            domain.connect(lm=lm, archive=archive)
            if checkpoint is not None and checkpoint.lm:
                lm.restore_state(checkpoint.lm)  # usage and occurrence counters go on
        return _search(run, config, domain, archive, rng, checkpoint, callbacks, lm)


def open_run_lm(run: RunDirectory, config: ExperimentConfig):
    """The run's LM: the configured server (config, then env), or the embedded one."""
    from qd.lm import open_lm
    from qd.lm.embeddings import embedding_settings_from_env

    cache = run.path / LM_CACHE if config.lm.cache else None
    settings = lm_settings(config)
    embedding = embedding_settings_from_env(
        settings, base_url=config.lm.embedding_base_url, model=config.lm.embedding_model
    )
    return open_lm(settings, cache=cache, seed=config.seed, embedding=embedding)


def lm_metrics(lm: Any) -> dict[str, Any]:
    """What a metrics line records of LM use: requests and tokens, and embeddings."""
    metrics: dict[str, Any] = {"lm": lm.usage.snapshot()}
    if lm.embedder is not None and (lm.embedder.usage.requests or lm.embedder.usage.cache_hits):
        metrics["embeddings"] = lm.embedder.usage.snapshot()
    return metrics


def _search(run, config, domain, archive, rng, checkpoint, callbacks, lm) -> Search:
    logger = RunLogger(
        run,
        domain,
        checkpoint_every=config.search.checkpoint_every,
        extra_metrics=(lambda: lm_metrics(lm)) if lm is not None else None,
        lm_state=lm.state if lm is not None else None,
    )
    settings = config.evaluation
    try:
        evaluator = make_evaluator(
            domain, settings.backend, settings.workers, scheduler=settings.scheduler
        )
    except OSError as error:  # Dask cannot reach the scheduler
        raise RunError(
            f"evaluation.scheduler: cannot reach the Dask scheduler {settings.scheduler!r}: {error}"
        ) from None
    try:
        search = _make_search(config, domain, archive, rng, checkpoint, evaluator)
    except BaseException:
        evaluator.close()
        raise
    search.callbacks = [logger, *callbacks]
    guard = None
    if lm is not None:  # LM faults: iterations that do not count, a clean stop (qd.lm.run_guard)
        from qd.lm.run_guard import RunGuard

        guard = RunGuard(lm, search, log=lambda row: run.append(run.events_path, [row]))
        search.callbacks = [guard.callback(search.callbacks)]
    try:
        with _graceful_interrupt() as stop_requested:
            while search.iteration < config.search.iterations:
                search.step()
                if stop_requested():
                    logger.checkpoint(search)
                    raise KeyboardInterrupt
        if search.iteration % config.search.checkpoint_every:
            logger.checkpoint(search)
    except Exception as error:
        if guard is None or not guard.ends_run(error):
            raise
        guard.stopped(error)  # back to the last whole iteration, which is checkpointed
        if search.iteration:
            logger.checkpoint(search)
        raise
    finally:
        evaluator.close()
    return search


def _make_search(config, domain, archive, rng, checkpoint, evaluator) -> Search | PopulationSearch:
    """The configured loop: MAP-Elites, or the generational population loop."""
    done = {
        "iteration": checkpoint.iteration if checkpoint else 0,
        "evaluations": checkpoint.evaluations if checkpoint else 0,
    }
    if config.search.loop == "population":
        search = PopulationSearch(
            domain,
            archive,
            rng=rng,
            population_size=config.search.batch_size,
            elitism=config.search.elitism,
            evaluator=evaluator,
            **done,
        )
        if checkpoint is not None:
            if not (checkpoint.state or {}).get("population"):
                raise RunError(
                    f"the checkpoint of iteration {checkpoint.iteration} holds no population "
                    "(was it written by a MAP-Elites run?); start the run again with --force"
                )
            try:
                search.restore_state(checkpoint.state)
            except ValueError as error:
                raise RunError(f"cannot restore the checkpoint's population: {error}") from None
        return search
    try:
        return Search(
            domain,
            archive,
            rng=rng,
            batch_size=config.search.batch_size,
            emitters=config.search.emitters,
            evaluator=evaluator,
            parents=config.search.parents,
            **done,
        )
    except ValueError as error:
        raise ConfigError(f"search.parents: {error}") from None


@contextmanager
def _graceful_interrupt() -> Iterator[Any]:
    """First SIGINT: ask the loop to stop after this iteration. Second: stop now."""
    requested = {"count": 0, "at": 0.0}

    def handler(signum, frame):
        requested["count"] += 1
        requested["at"] = time.monotonic()
        if requested["count"] > 1:
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield lambda: False
        return
    try:
        yield lambda: requested["count"] > 0
    finally:
        signal.signal(signal.SIGINT, previous)


def load_archive(run: RunDirectory) -> tuple[ExperimentConfig, Domain, Archive, Checkpoint]:
    """The run's config, domain and archive at its newest checkpoint.

    Raises:
        RunError: No checkpoint yet.
    """
    config = run.load_config()
    domain = config.build_domain()
    checkpoint = run.latest_checkpoint()
    if checkpoint is None:
        raise RunError(f"{run.path} has no checkpoint yet; run it with `qd run` first")
    archive = build_archive(config, domain, checkpoint.centroids)
    archive.add_records(checkpoint.records, domain)
    return config, domain, archive, checkpoint
