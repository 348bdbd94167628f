"""Run control: start a run, execute or resume its search, load its archive.

The files of a run (``config.toml``, ``metrics.jsonl``, ``events.jsonl``,
``archive-<iter>.json``) are :mod:`qd.runs.directory`'s job, and what a search writes to them
each iteration is :mod:`qd.runs.log`'s. This module decides what runs: ``start`` makes
the directory, ``execute`` builds the domain, archive, LM and evaluator and drives the
loop under the run's lock, and a resume rebuilds the archive from the newest checkpoint
that reads whole, cuts the logs back to it and goes on: an interrupted run ends in the
same archive as an uninterrupted one with the same seed.
"""

from __future__ import annotations

import fnmatch
import json
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from qd.archive import Archive
from qd.domain import Domain
from qd.runs.checkpoints import Checkpoint, CheckpointError
from qd.runs.config import ConfigError, ExperimentConfig, apply_override, parse_config
from qd.runs.directory import LM_CACHE, RunDirectory, RunError
from qd.runs.log import RunLogger
from qd.runs.preflight import build_archive, check_evaluation, lm_settings, preflight
from qd.search.evaluation import make_evaluator
from qd.search.loop import Loop
from qd.search.map_elites import Search
from qd.search.population import PopulationSearch

__all__ = ["execute", "lm_metrics", "load_archive", "open_run_lm", "start"]


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
        RunError: The run exists (and not ``force``), or the path is no run directory
            (a user's folder, a file, a link), which is never written to.
        RunLockedError: The run is live in another process.
    """
    preflight(config)  # every mistake a ConfigError before anything is written
    config = config.with_domain_defaults()
    run = RunDirectory(Path(runs_dir) / config.name)
    run.refuse_to_replace()  # before the lock file: a folder that is no run stays untouched
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
    overrides: Sequence[str] = (),
    notify: Callable[[str], None] | None = None,
) -> Loop:
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
        overrides: ``key=value`` changes for this and later legs, limited to
            :data:`RESUMABLE_KEYS`; checked whole before the config is rewritten, and
            recorded in ``events.jsonl`` (``config_changed``).
        notify: Called with a line for the user, e.g. that a checkpoint was skipped.

    Raises:
        RunError: Not a run directory, or checkpoints of which none can be resumed from.
        ConfigError: An override that may not change, or a changed config that does
            not check out (nothing is written then).
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
            overrides=overrides,
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
    found = newest_restorable(run, config, domain)
    if found is None:
        return None, None
    checkpoint, archive, problems = found
    resumed_from = f"archive-{checkpoint.iteration:06d}.json"
    for problem in problems:
        row = {"event": "checkpoint_skipped", "time": time.time(), "reason": problem}
        run.append(run.events_path, [{**row, "resumed_from": resumed_from}])
        notify(f"skipped checkpoint {problem}; resuming from {resumed_from}")
    return checkpoint, archive


def newest_restorable(
    run: RunDirectory, config: ExperimentConfig, domain: Domain
) -> tuple[Checkpoint, Archive, list[str]] | None:
    """The newest checkpoint whose archive rebuilds, that archive, and why each newer
    one was skipped; None when there is no checkpoint at all. Writes nothing.

    Raises:
        RunError: Checkpoints exist and none rebuilds; the message lists why.
    """
    problems: list[str] = []
    for path in reversed(run.checkpoints()):
        try:
            checkpoint = run.read_checkpoint(path)
            archive = _restored_archive(path, config, domain, checkpoint)
        except CheckpointError as error:
            problems.append(str(error))
            continue
        return checkpoint, archive, problems
    if problems:
        raise RunError(
            f"{run.path}: no checkpoint can be resumed from: {'; '.join(problems)}. "
            f"Put a good checkpoint back, or start the run over with "
            f"`qd resume {run.path} --restart` (which deletes them)"
        )
    return None


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


RESUMABLE_KEYS = ("search.iterations", "search.checkpoint_every", "evaluation.*", "lm.*")
"""Config keys ``qd resume --set`` may change: how the run goes on, never what its
archive means (the domain, the archive, the seed and the search's shape stay)."""


def changed_config(
    config: ExperimentConfig, overrides: Sequence[str]
) -> tuple[ExperimentConfig, dict[str, list[Any]]]:
    """``config`` with resume's ``key=value`` overrides, and ``{key: [old, new]}``.

    Setting ``evaluation.backend`` to anything but ``dask`` drops a configured
    scheduler, so a run given an address that no longer answers can go back.

    Raises:
        ConfigError: A key outside :data:`RESUMABLE_KEYS` or a value the schema refuses.
    """
    data = config.to_dict()
    for override in overrides:
        key = override.partition("=")[0].strip()
        if not any(fnmatch.fnmatchcase(key, pattern) for pattern in RESUMABLE_KEYS):
            raise ConfigError(
                f"--set {key}: cannot change between legs of a run (it would change what "
                f"the archive means); resume may set {', '.join(RESUMABLE_KEYS)}. Start a "
                "new run for anything else"
            )
        apply_override(data, override)
    if data.get("evaluation", {}).get("backend") != "dask":
        data.get("evaluation", {}).pop("scheduler", None)
    new = parse_config(data)
    before, after = _flat(config.to_dict()), _flat(new.to_dict())
    changes = {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }
    return new, changes


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _execute_locked(
    run, *, iterations, callbacks, resume, restart, dask_scheduler, overrides, notify
):
    config = run.load_config()
    changes: dict[str, list[Any]] = {}
    wanted = list(overrides)
    if iterations is not None:
        wanted.append(f"search.iterations={iterations}")
    if dask_scheduler:
        wanted += [
            'evaluation.backend="dask"',
            f"evaluation.scheduler={json.dumps(dask_scheduler)}",
        ]
    if wanted:
        # Checked whole (the scheduler reached) before anything is written or deleted.
        config, changes = changed_config(config, wanted)
        preflight(config)
    domain = config.build_domain()
    checkpoint, archive = None, None
    if resume:
        checkpoint, archive = _restore(run, config, domain, restart=restart, notify=notify)
    done = checkpoint.iteration if checkpoint is not None else 0
    if changes and config.search.iterations < done:
        raise RunError(
            f"search.iterations {config.search.iterations} is below the {done} iterations "
            "already done"
        )
    if changes:
        run.write_config(config)
        row = {"event": "config_changed", "time": time.time(), "iteration": done}
        run.append(run.events_path, [{**row, "changes": changes}])
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


def _search(run, config, domain, archive, rng, checkpoint, callbacks, lm) -> Loop:
    budget = None
    if lm is not None:  # cost per iteration and the run's LM budgets (qd.lm.budget)
        from qd.lm.budget import Budget

        budget = Budget(
            lm,
            prices=config.lm.prices,
            max_cost=config.lm.max_cost,
            max_tokens=config.lm.max_tokens,
        )
    logger = RunLogger(
        run,
        domain,
        checkpoint_every=config.search.checkpoint_every,
        extra_metrics=(lambda: {**lm_metrics(lm), **budget.metrics()}) if budget else None,
        lm_state=lm.state if lm is not None else None,
        lineage=config.search.lineage,
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
                if budget is not None and (why := budget.spent()):
                    _stop_for_budget(run, logger, search, why)
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


def _stop_for_budget(run: RunDirectory, logger: RunLogger, search: Loop, why: str) -> None:
    """Checkpoint the last whole iteration, log a ``budget_spent`` event and stop.

    Raises:
        LMBudgetSpent: Always; its message says how to go on.
    """
    from qd.lm.budget import LMBudgetSpent

    if search.iteration:
        logger.checkpoint(search)
    row = {"event": "budget_spent", "time": time.time(), "iteration": search.iteration}
    run.append(run.events_path, [{**row, "reason": why}])
    raise LMBudgetSpent(
        f"{why} after iteration {search.iteration}, which is checkpointed; to go on, raise "
        f"the budget: qd resume {run.path} --set lm.max_cost=... (or lm.max_tokens=...)"
    )


def _make_search(config, domain, archive, rng, checkpoint, evaluator) -> Loop:
    """The configured loop (MAP-Elites, or the generational population loop), restored
    to the checkpoint's state when resuming."""
    iteration = checkpoint.iteration if checkpoint else 0
    evaluations = checkpoint.evaluations if checkpoint else 0
    search: Loop
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
            lineage=config.search.lineage != "off",
        )
    else:
        try:
            search = Search(
                domain,
                archive,
                rng=rng,
                batch_size=config.search.batch_size,
                emitters=config.search.emitters,
                evaluator=evaluator,
                parents=config.search.parents,
                iteration=iteration,
                evaluations=evaluations,
                lineage=config.search.lineage != "off",
            )
        except ValueError as error:
            raise ConfigError(f"search.parents: {error}") from None
    if checkpoint is not None:
        try:
            search.restore_state(checkpoint.state)
        except ValueError as error:
            raise RunError(
                f"cannot resume from the checkpoint of iteration {checkpoint.iteration}: "
                f"{error}; start the run again with --force"
            ) from None
    return search


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


def load_archive(
    run: RunDirectory, *, notify: Callable[[str], None] | None = None
) -> tuple[ExperimentConfig, Domain, Archive, Checkpoint]:
    """The run's config, domain and archive at its newest checkpoint that rebuilds.

    A newer checkpoint that is unreadable or does not fit the archive is skipped, as
    ``qd resume`` skips it, and ``notify`` is told why.

    Raises:
        RunError: No checkpoint yet, or none that rebuilds (each one's problem named).
    """
    config = run.load_config()
    domain = config.build_domain()
    found = newest_restorable(run, config, domain)
    if found is None:
        raise RunError(f"{run.path} has no checkpoint yet; run it with `qd run` first")
    checkpoint, archive, problems = found
    for problem in problems:
        (notify or (lambda message: None))(
            f"skipped checkpoint {problem}; reporting iteration {checkpoint.iteration}"
        )
    return config, domain, archive, checkpoint
