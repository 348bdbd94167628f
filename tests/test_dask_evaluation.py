"""The Dask backend on a real ``distributed`` cluster (LocalCluster, or one by address)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from dask_domains import Fragile  # noqa: E402

from domains.symbolic_regression import SymbolicRegression  # noqa: E402
from qd.runs.config import ConfigError, load_config  # noqa: E402
from qd.search.evaluation import DaskEvaluator, make_evaluator  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    """One two-worker cluster, reached by address like a remote one."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None, processes=True
    ) as local:
        yield local


def test_dask_scores_a_batch_exactly_as_in_process(cluster):
    domain = SymbolicRegression(max_depth=5, max_size=24)
    batch = [*domain.initial(40, np.random.default_rng(0)), None, "not a tree"]
    evaluator = make_evaluator(domain, "dask", scheduler=cluster.scheduler_address)
    try:
        remote = evaluator.evaluate(batch)
    finally:
        evaluator.close()
    local = make_evaluator(domain).evaluate(batch)

    def rows(results):
        return [
            (e.valid, e.objective, e.measures) if e.valid else e.invalid_reason for e in results
        ]

    assert rows(remote) == rows(local)
    assert not remote[-1].valid and remote[-1].invalid_reason
    with distributed.Client(cluster.scheduler_address) as client:  # not ours to stop
        assert len(client.nthreads()) == 2


def test_a_lost_worker_costs_its_chunk_not_the_run():
    import dask

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as own,
    ):
        evaluator = DaskEvaluator(Fragile(), scheduler=own.scheduler_address)
        try:
            lost = evaluator.evaluate([-1])  # kills the worker that runs it
            after = evaluator.evaluate([3, 7])  # the nanny restarted the worker
        finally:
            evaluator.close()
    assert not lost[0].valid and "dask task failed" in lost[0].invalid_reason
    assert [e.objective for e in after] == pytest.approx([0.3, 0.7])


def test_an_unreachable_scheduler_is_an_os_error_naming_it():
    with pytest.raises(OSError, match=r"127\.0\.0\.1:9"):
        DaskEvaluator(Fragile(), scheduler="tcp://127.0.0.1:9", connect_timeout=2)


def test_a_scheduler_needs_the_dask_backend(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        'name = "x"\n[domain]\nname = "symbolic_regression"\n'
        '[evaluation]\nbackend = "process"\nscheduler = "tcp://h:8786"\n'
    )
    with pytest.raises(ConfigError, match=r"evaluation\.scheduler"):
        load_config(config)


@pytest.mark.slow
def test_a_run_on_a_dask_cluster_reaches_the_same_archive_as_in_process(tmp_path, cluster):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    common = [
        sys.executable, "-m", "qd.cli", "run", str(ROOT / "experiments" / "koza1.toml"),
        "--set", "search.iterations=4", "--set", "search.batch_size=32",
        "--runs-dir", "runs", "--quiet",
    ]  # fmt: skip
    for name, extra in (
        ("local", []),
        ("dask", ["--dask-scheduler", cluster.scheduler_address]),
        ("dask-local", ["--set", 'evaluation.backend="dask"', "--set", "evaluation.workers=2"]),
    ):
        done = subprocess.run(
            [*common, "--name", name, *extra],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    def records(name: str) -> list:
        (newest,) = sorted((tmp_path / "runs" / name).glob("archive-*.json"))[-1:]
        return json.loads(newest.read_text())["archive"]

    assert records("dask") == records("local") == records("dask-local")
    config = (tmp_path / "runs" / "dask" / "config.toml").read_text()
    assert 'backend = "dask"' in config and cluster.scheduler_address in config
