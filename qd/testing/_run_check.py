"""``check_run``: the same config and seed give the same archive, however the run is made.

``check_domain`` proves a domain's own promises with seeded generators; a run adds the
evaluation backends (worker processes, Dask), checkpoints and resume, and the LM's
replies. This check runs a config for real, several ways, and compares the archives
element by element: candidates (as encoded), objectives, measures and ``info``, exactly.
For a domain that uses an LM, every run after the first starts with a copy of the first
run's reply cache, so the comparison is of the engine, not of the model's sampling.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import tomli_w

from qd.runs.config import ExperimentConfig, parse_config
from qd.runs.directory import LM_CACHE, RunDirectory
from qd.runs.lifecycle import execute, start
from qd.runs.lineage import lineage_records
from qd.testing._compare import json_diff
from qd.testing._report import CheckFailed, CheckSkipped, DomainCheckError, DomainCheckReport

__all__ = ["RUN_CHECKS", "check_run"]

RUN_CHECKS = ("same_seed", "backend_process", "backend_dask", "kill_and_resume")
"""The named checks of :func:`check_run`, in the order they run."""

KILL_TIMEOUT = 300.0
"""Seconds the killed run may take to write its first checkpoint."""


def check_run(
    config: ExperimentConfig,
    *,
    checks: Iterable[str] | None = None,
    workers: int = 2,
    workdir: str | Path | None = None,
) -> DomainCheckReport:
    """Run ``config`` several ways and require the same archive from each.

    - ``same_seed``: a second run in process equals the first.
    - ``backend_process``, ``backend_dask``: the run with its batches scored in a process
      pool, and on a Dask LocalCluster, equals the in-process run (skipped for a domain
      whose evaluation asks the LM: it always evaluates in process).
    - ``kill_and_resume``: ``qd run`` in a child process, killed with SIGKILL once it
      has a checkpoint, then resumed from its oldest checkpoint, ends equal too.

    Keep the config small (a few iterations of a few candidates): every check is a
    whole run. The run checkpoints every iteration here, so a resume has work to do.

    Args:
        config: The experiment (its ``evaluation`` table is replaced per check).
        checks: Names from :data:`RUN_CHECKS`; all by default.
        workers: Worker processes for the pool and the LocalCluster.
        workdir: Where the runs go; a temporary directory (deleted after) by default.

    Returns:
        The report of passed and skipped checks.

    Raises:
        DomainCheckError: A check failed; its message names the first difference.
        ValueError: An unknown check name.
    """
    selected = list(RUN_CHECKS if checks is None else checks)
    unknown = sorted(set(selected) - set(RUN_CHECKS))
    if unknown:
        raise ValueError(f"unknown run check(s) {unknown}; the checks are {list(RUN_CHECKS)}")
    base = config.to_dict()
    base["search"]["checkpoint_every"] = 1
    base["evaluation"] = {"backend": "inprocess"}
    with tempfile.TemporaryDirectory(prefix="qd-check-run-") as scratch:
        runs = Path(workdir) if workdir is not None else Path(scratch)
        runner = _Runner(base, runs)
        reference = runner.records("reference", base)
        name = f"run of {config.domain['name']!r}"
        passed: list[str] = []
        skipped: dict[str, str] = {}
        failed: dict[str, str] = {}
        for check in (c for c in RUN_CHECKS if c in selected):
            try:
                _CHECKS[check](runner, reference, workers)
            except CheckSkipped as why:
                skipped[check] = str(why)
            except CheckFailed as error:
                failed[check] = str(error)
            except Exception as error:  # a crash is that check's failure
                failed[check] = f"raised {type(error).__name__}: {error}"
            else:
                passed.append(check)
    report = DomainCheckReport(name, tuple(passed), skipped, failed)
    if failed:
        raise DomainCheckError(report)
    return report


class _Runner:
    """Makes runs of one config under ``runs/`` and reads back their final archives."""

    def __init__(self, base: dict[str, Any], runs: Path) -> None:
        self.base = base
        self.runs = runs
        self.domain = parse_config(base).build_domain()

    def variant(self, name: str, **evaluation: Any) -> dict[str, Any]:
        data = json.loads(json.dumps(self.base))
        data["name"] = name
        data["evaluation"] = {"backend": "inprocess", **evaluation}
        return data

    def seed_cache(self, name: str) -> None:
        """Give run ``name`` the reference run's LM replies before it starts."""
        if not self.domain.uses_lm:
            return
        for item in (self.runs / "reference").glob(f"{LM_CACHE}*"):
            target = self.runs / name / item.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if item.is_dir():
                shutil.copytree(item, target, dirs_exist_ok=True)
            else:
                shutil.copy2(item, target)

    def records(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        data = {**data, "name": name}
        if name != "reference":
            self.seed_cache(name)
        run = start(parse_config(data), self.runs, force=True)
        execute(run)
        return final_archive(run)


SEARCH_METRICS = (
    "iteration",
    "evaluations",
    "num_elites",
    "coverage",
    "qd_score",
    "obj_max",
    "obj_mean",
    "added",
    "invalid",
)
"""What every metrics line says of the search; timings and LM usage (requests against
cache hits) legitimately differ between runs."""


def final_archive(run: RunDirectory) -> dict[str, Any]:
    """The newest checkpoint's iteration, evaluations and elite records (with their
    lineage ids), the search's metrics line by line, and the lineage file."""
    checkpoint = run.latest_checkpoint()
    if checkpoint is None:
        raise CheckFailed(f"{run.path} wrote no checkpoint")
    return {
        "iteration": checkpoint.iteration,
        "evaluations": checkpoint.evaluations,
        "records": checkpoint.records,
        "metrics": [{k: row.get(k) for k in SEARCH_METRICS} for row in run.metrics()],
        "lineage": list(lineage_records(run.path)),
    }


def _require_equal(reference: dict[str, Any], other: dict[str, Any], how: str) -> None:
    if json.dumps(reference, sort_keys=True) == json.dumps(other, sort_keys=True):
        return
    # The archive and metrics first: where a run first went another way is said best
    # there; the lineage (which differs as soon as anything does) only if they agree.
    first = {k: v for k, v in reference.items() if k != "lineage"}
    where = json_diff(first, {k: v for k, v in other.items() if k != "lineage"}, "run", exact=True)
    where = where or json_diff(reference, other, "run", exact=True) or "somewhere"
    raise CheckFailed(
        f"the run {how} differs from the reference run at {where}: draw every random "
        "choice from the rng a call is given, keep no state between calls, and make "
        "evaluate a function of the candidate alone"
    )


def _same_seed(runner: _Runner, reference: dict[str, Any], workers: int) -> None:
    """A second run in process equals the first."""
    again = runner.records("again", runner.variant("again"))
    _require_equal(reference, again, "of a second run with the same seed")


def _backend(kind: str) -> Callable[[_Runner, dict[str, Any], int], None]:
    def check(runner: _Runner, reference: dict[str, Any], workers: int) -> None:
        domain = runner.domain
        if domain.uses_lm and domain.evaluate_uses_lm:
            raise CheckSkipped("its evaluate asks the run's LM, so it always evaluates in process")
        name = f"backend-{kind}"
        other = runner.records(name, runner.variant(name, backend=kind, workers=workers))
        _require_equal(reference, other, f"evaluated on the {kind!r} backend")

    check.__doc__ = f"The run evaluated on the {kind!r} backend equals the in-process run."
    return check


def _kill_and_resume(runner: _Runner, reference: dict[str, Any], workers: int) -> None:
    """``qd run`` killed with SIGKILL after a checkpoint, then resumed, ends equal."""
    name = "killed"
    data = runner.variant(name)
    if data["search"]["iterations"] < 2:
        raise CheckSkipped("one iteration leaves nothing to resume; give the config two or more")
    config_file = runner.runs / "killed.toml"
    config_file.write_text(tomli_w.dumps(data))
    runner.seed_cache(name)
    run = RunDirectory(runner.runs / name)
    command = [
        sys.executable,
        "-m",
        "qd.cli",
        "run",
        str(config_file),
        "--runs-dir",
        str(runner.runs),
        "--force",
        "--quiet",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
    log = runner.runs / "killed.stderr"
    with log.open("w") as stderr:
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + KILL_TIMEOUT
        while not run.checkpoints() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # polling a file another process writes: no event to wait on
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    kept = run.checkpoints()
    if not kept:
        raise CheckFailed(
            f"the child run wrote no checkpoint (exit {child.returncode}): {log.read_text()[-500:]}"
        )
    for newer in kept[1:]:  # resume from the oldest, wherever the kill fell
        newer.unlink()
    resumed_from = run.read_checkpoint(kept[0]).iteration
    execute(run, resume=True)
    _require_equal(
        reference, final_archive(run), f"killed and resumed from iteration {resumed_from}"
    )


_CHECKS: dict[str, Callable[[_Runner, dict[str, Any], int], None]] = {
    "same_seed": _same_seed,
    "backend_process": _backend("process"),
    "backend_dask": _backend("dask"),
    "kill_and_resume": _kill_and_resume,
}
