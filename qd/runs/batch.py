"""Many independent runs of one study: serially, or as Dask tasks, resumable.

A study is a list of :class:`RunSpec` (a config and the labels it is analysed by). Each
run gets its own run directory (``<out>/runs/<key>``) and, when it finishes, its own
result file (``<out>/results/<key>.json``: the labels, the last metrics line and the
per-iteration curves asked for). So:

- a finished run is never redone: its result file is read back on restart;
- an interrupted run resumes from its newest checkpoint (``qd.runs.lifecycle.execute``), whether
  the study was stopped or Dask retried the task on another worker after losing one;
- a task that fails every retry costs that run (reported), not the study.

Runs are independent, so they are the unit of distribution: ``distributed.LocalCluster``
by default, or a running cluster by scheduler address. Results do not depend on where a
run ran: every run is seeded by its own config.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qd.runs.config import parse_config
from qd.runs.directory import RunDirectory, atomic_write
from qd.runs.lifecycle import execute, start
from qd.search.evaluation import import_distributed

TIMING_KEYS = ("seconds",)
"""Left out of results: wall times differ between two runs of the same seed."""


@dataclass(frozen=True)
class RunSpec:
    """One run of a study.

    Attributes:
        key: File-safe, unique name (the run directory's and the result file's).
        config: The experiment config as a dict (as TOML would give it).
        labels: What the analysis groups by (problem, method, seed ...), JSON-able.
    """

    key: str
    config: Mapping[str, Any]
    labels: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.key or "/" in self.key or self.key.startswith("."):
            raise ValueError(f"run key {self.key!r} must be a file name (no '/', no leading '.')")


def result_path(out: Path, key: str) -> Path:
    return Path(out) / "results" / f"{key}.json"


def run_spec(spec: RunSpec, out: str | Path, curves: Sequence[str] = ()) -> dict[str, Any]:
    """Run (or resume, or just read back) one run and return its result.

    Args:
        spec: The run.
        out: The study directory.
        curves: Metrics keys whose per-iteration values the result keeps.

    Returns:
        ``{"key", "labels", "final": last metrics line, "curves": {key: [values]}}``.
    """
    out = Path(out)
    done = result_path(out, spec.key)
    if done.exists():
        return json.loads(done.read_text())
    config = parse_config({**spec.config, "name": spec.key})
    runs_dir = out / "runs"
    run = RunDirectory(runs_dir / spec.key)
    if run.config_path.exists():  # an earlier attempt: go on from its newest checkpoint
        execute(run, resume=True)
    else:
        execute(start(config, runs_dir, force=True))
    metrics = run.metrics()
    for old in run.checkpoints()[:-1]:  # the newest is enough for `qd report`
        old.unlink(missing_ok=True)
    result = {
        "key": spec.key,
        "labels": dict(spec.labels),
        "final": {k: v for k, v in metrics[-1].items() if k not in TIMING_KEYS},
        "curves": {k: [row.get(k) for row in metrics] for k in curves},
    }
    atomic_write(done, json.dumps(result))
    return result


def finished(specs: Sequence[RunSpec], out: str | Path) -> list[dict[str, Any]]:
    """Results of the specs that have finished, in spec order (nothing is run).

    For a look at a study while it is still running (another process owns the runs).
    """
    paths = [result_path(Path(out), spec.key) for spec in specs]
    return [json.loads(path.read_text()) for path in paths if path.exists()]


def run_all(
    specs: Sequence[RunSpec],
    out: str | Path,
    *,
    curves: Sequence[str] = (),
    workers: int = 2,
    scheduler: str | None = None,
    serial: bool = False,
    retries: int = 2,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Run every spec whose result is missing; return all results and the failures.

    Args:
        specs: The study's runs (keys unique).
        out: The study directory.
        curves: Metrics keys kept per iteration in each result.
        workers: LocalCluster worker processes (one thread each).
        scheduler: Address of a running Dask scheduler; None starts a LocalCluster.
        serial: Run in this process, one after the other (no Dask).
        retries: Extra attempts Dask gives a run whose task failed.
        progress: Show a tqdm bar.

    Returns:
        ``(results in spec order, {key: error})`` for the runs that failed every attempt.

    Raises:
        ValueError: Duplicate keys.
    """
    from tqdm.auto import tqdm

    keys = [s.key for s in specs]
    if len(set(keys)) != len(keys):
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"run keys must be unique; repeated: {duplicated[:5]}")
    out = Path(out)
    results: dict[str, dict[str, Any]] = {}
    todo = []
    for spec in specs:
        path = result_path(out, spec.key)
        if path.exists():
            results[spec.key] = json.loads(path.read_text())
        else:
            todo.append(spec)
    failures: dict[str, str] = {}
    bar = tqdm(total=len(specs), initial=len(results), disable=not progress, desc="runs")
    try:
        if serial or not todo:
            for spec in todo:
                results[spec.key] = run_spec(spec, out, curves)
                bar.update()
        else:
            _distributed(todo, out, curves, workers, scheduler, retries, results, failures, bar)
    finally:
        bar.close()
    return [results[k] for k in keys if k in results], failures


def _distributed(todo, out, curves, workers, scheduler, retries, results, failures, bar) -> None:
    distributed = import_distributed()
    Client, LocalCluster, as_completed = (
        distributed.Client,
        distributed.LocalCluster,
        distributed.as_completed,
    )

    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        cluster = LocalCluster(
            n_workers=max(1, int(workers)),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.WARNING,
            # a run's own numpy must not start threads of its own next to the others
            env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        )
        client = Client(cluster)
    try:
        futures = {
            client.submit(
                run_spec, spec, str(out), tuple(curves), key=f"run-{spec.key}", retries=retries
            ): spec.key
            for spec in todo
        }
        for future in as_completed(futures):
            key = futures[future]
            try:
                results[key] = future.result()
            except Exception as error:  # a run Dask gave up on: report it, keep the study
                failures[key] = f"{type(error).__name__}: {error}"[:500]
            bar.update()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def default_workers() -> int:
    """Two, or fewer when the machine has fewer cores."""
    return max(1, min(2, os.cpu_count() or 1))
