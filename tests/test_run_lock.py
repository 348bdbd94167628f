"""One live process per run directory: a second `run --force` or `resume` is refused.

The other process is real (a Python subprocess holding the lock), and the tests wait
for it by reading its "held" line, never by sleeping.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from qd.cli import USAGE_ERROR, app
from qd.runs import RunDirectory, execute, parse_config, start
from qd.runs.lock import RunLockedError, hold_run_lock

ROOT = Path(__file__).resolve().parents[1]
HOLDER = """
import sys
from qd.runs.lock import hold_run_lock
with hold_run_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""
TRY_LOCK = """
import sys
from qd.runs.lock import RunLockedError, hold_run_lock
try:
    with hold_run_lock(sys.argv[1]):
        print("got it")
except RunLockedError as error:
    print("refused:", error)
"""


def python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, text=True, stdout=subprocess.PIPE, **kwargs
    )


@contextmanager
def held_elsewhere(directory: Path) -> Iterator[subprocess.Popen]:
    """Another process owning ``directory`` until the block ends."""
    holder = python(HOLDER, str(directory), stdin=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        if holder.poll() is None:
            holder.stdin.close()
        holder.wait(timeout=30)


def sr_run(tmp_path: Path, iterations: int = 3) -> RunDirectory:
    config = parse_config(
        {
            "name": "sr",
            "seed": 1,
            "domain": {"name": "symbolic_regression", "max_depth": 4, "max_size": 16},
            "search": {"iterations": iterations, "batch_size": 6, "checkpoint_every": 2},
        }
    )
    return start(config, tmp_path)


@pytest.fixture
def qd(monkeypatch) -> Iterator:
    stderr = io.StringIO()
    monkeypatch.setattr("qd.cli.err", Console(file=stderr, width=400))

    def invoke(*args: str):
        stderr.seek(0)
        stderr.truncate()
        result = CliRunner().invoke(app, [*args, "--quiet"], catch_exceptions=False)
        return result.exit_code, stderr.getvalue()

    return invoke


def test_resume_of_a_live_run_is_refused_naming_the_owner(tmp_path: Path) -> None:
    run = sr_run(tmp_path)
    execute(run)
    metrics = run.metrics_path.read_text()
    with held_elsewhere(run.path) as holder:
        with pytest.raises(RunLockedError, match=rf"in use by process {holder.pid} on ") as caught:
            execute(run, resume=True, iterations=6)
        assert "wait for it to finish or stop it" in str(caught.value)
        assert run.metrics_path.read_text() == metrics  # nothing appended
    assert execute(run, resume=True, iterations=6).iteration == 6  # free once it has gone


def test_force_on_a_live_run_is_refused_and_deletes_nothing(tmp_path: Path) -> None:
    run = sr_run(tmp_path)
    execute(run)
    before = sorted(p.name for p in run.path.iterdir())
    with held_elsewhere(run.path) as holder:
        with pytest.raises(RunLockedError, match=str(holder.pid)):
            start(run.load_config(), tmp_path, force=True)
        assert sorted(p.name for p in run.path.iterdir()) == before


def test_a_run_holds_its_lock_while_it_runs(tmp_path: Path) -> None:
    run = sr_run(tmp_path, iterations=2)
    answers: list[str] = []

    def ask_another_process(search, result) -> None:
        probe = python(TRY_LOCK, str(run.path))
        answers.append(probe.communicate(timeout=60)[0].strip())

    execute(run, callbacks=[ask_another_process])
    assert len(answers) == 2
    assert all(a.startswith(f"refused: run directory {run.path}") for a in answers)
    assert all(f"process {os.getpid()} on " in a for a in answers)


def test_the_lock_of_a_killed_process_is_no_obstacle(tmp_path: Path) -> None:
    run = sr_run(tmp_path)
    execute(run, iterations=2)
    with held_elsewhere(run.path) as holder:
        holder.kill()  # SIGKILL: no clean-up ran; the lock file still names it
        holder.wait(timeout=30)
        assert str(holder.pid) in (run.path / "lock").read_text()
        assert execute(run, resume=True, iterations=3).iteration == 3


def test_the_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    with hold_run_lock(tmp_path), hold_run_lock(tmp_path):
        pass
    probe = python(TRY_LOCK, str(tmp_path))
    assert probe.communicate(timeout=60)[0].strip() == "got it"


def test_cli_resume_and_force_on_a_live_run_exit_2_and_say_what_to_do(tmp_path: Path, qd) -> None:
    run = sr_run(tmp_path)
    execute(run)
    config = tmp_path / "sr.toml"
    config.write_text(
        'name = "sr"\n[domain]\nname = "symbolic_regression"\n[search]\niterations = 2\n'
        "batch_size = 6\n"
    )
    metrics = run.metrics_path.read_text()
    with held_elsewhere(run.path) as holder:
        status, message = qd("resume", str(run.path), "--iterations", "5")
        assert status == USAGE_ERROR
        assert f"in use by process {holder.pid}" in message
        status, message = qd("run", str(config), "--runs-dir", str(tmp_path), "--force")
        assert status == USAGE_ERROR
        assert f"in use by process {holder.pid}" in message
        assert run.metrics_path.read_text() == metrics
    status, message = qd("resume", str(run.path), "--iterations", "5")
    assert status == 0, message


def test_orphaned_temp_files_are_removed_when_a_run_resumes(tmp_path: Path) -> None:
    run = sr_run(tmp_path)
    execute(run, iterations=2)
    orphans = [run.path / ".archive-000004.json.k1ll3d.tmp", run.path / ".metrics.jsonl.x.tmp"]
    for orphan in orphans:
        orphan.write_text('{"format": 1, "iter')
    execute(run, resume=True)
    assert not [p for p in run.path.iterdir() if p.name.endswith(".tmp")]
