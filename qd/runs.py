"""Run control: start a run, execute or resume its search, load its archive.

The files of a run (``config.toml``, ``metrics.jsonl``, ``events.jsonl``,
``archive-<iter>.json``) are :mod:`qd.run_dir`'s job, and what a search writes to them
each iteration is :mod:`qd.run_log`'s. This module decides what runs: ``start`` makes
the directory, ``execute`` builds the domain, archive, LM and evaluator and drives the
loop under the run's lock, and a resume rebuilds the archive from the newest checkpoint
that reads whole, cuts the logs back to it and goes on: an interrupted run ends in the
same archive as an uninterrupted one with the same seed.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qd.archive import Archive
from qd.checkpoints import Checkpoint, CheckpointError
from qd.config import ConfigError, ExperimentConfig, parse_config
from qd.domain import Domain
from qd.evaluation import make_evaluator
from qd.population import PopulationSearch
from qd.preflight import build_archive, check_evaluation, lm_settings, preflight
from qd.run_dir import CHECKPOINTS_KEPT, LM_CACHE, RunDirectory, RunError, atomic_write
from qd.run_lock import RunLockedError
from qd.run_log import RunLogger
from qd.search import Search

# Files and logging moved to qd.run_dir and qd.run_log; re-exported where they always were.
__all__ = [
    "CHECKPOINTS_KEPT",
    "LM_CACHE",
    "Checkpoint",
    "RunDirectory",
    "RunError",
    "RunLockedError",
    "RunLogger",
    "atomic_write",
    "build_archive",
    "execute",
    "lm_metrics",
    "lm_settings",
    "load_archive",
    "open_run_lm",
    "start",
]


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
) -> Search | PopulationSearch:
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


def _search(
    run, config, domain, archive, rng, checkpoint, callbacks, lm
) -> Search | PopulationSearch:
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
    iteration = checkpoint.iteration if checkpoint else 0
    evaluations = checkpoint.evaluations if checkpoint else 0
    if config.search.loop == "population":
        search = PopulationSearch(
            domain,
            archive,
            rng=rng,
            population_size=config.search.batch_size,
            elitism=config.search.elitism,
            evaluator=evaluator,
            iteration=iteration,
            evaluations=evaluations,
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
            iteration=iteration,
            evaluations=evaluations,
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
