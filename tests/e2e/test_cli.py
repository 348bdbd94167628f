"""End to end through the `qd` command, in subprocesses, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QD = [sys.executable, "-m", "qd.cli"]
pytestmark = pytest.mark.slow


def qd(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*QD, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def records(run: Path) -> list[dict]:
    newest = sorted(run.glob("archive-*.json"))[-1]
    return json.loads(newest.read_text())["archive"]


def test_run_fills_archive_and_report_has_pngs(tmp_path):
    result = qd(
        "run", str(ROOT / "experiments" / "koza1.toml"),
        "--set", "search.iterations=30", "--set", "search.batch_size=32",
        "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "runs" / "koza1"
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["iteration"] for m in metrics] == list(range(1, 31))
    assert metrics[-1]["num_elites"] > 30
    assert metrics[-1]["qd_score"] > metrics[0]["qd_score"]
    assert len(records(run)) == metrics[-1]["num_elites"]
    assert "elites" in result.stdout and "coverage" in result.stdout

    report = qd("report", str(run), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    page = (run / "report.md").read_text()
    images = [line.split("(")[1].rstrip(")") for line in page.splitlines() if line.startswith("![")]
    assert "report/archive.png" in images and "report/progress.png" in images
    assert any("elite-1" in image for image in images)
    vendi = next(line for line in page.splitlines() if line.startswith("Diversity: Vendi"))
    assert 1.0 <= float(vendi.split()[3].rstrip(",")) <= len(records(run))
    # the metrics log the same score every iteration, for the curve in the report
    assert metrics[-1]["vendi"] == pytest.approx(float(vendi.split()[3].rstrip(",")), abs=0.01)
    assert all(m["vendi"] >= 1.0 for m in metrics[1:])
    assert "## Elites from across the map" in page
    for image in images:
        data = (run / image).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert "hit" in page  # the domain's hit flag is reported


def test_sigkill_mid_run_resumes_to_the_same_archive(tmp_path):
    config = tmp_path / "sr.toml"
    config.write_text(
        "seed = 7\n"
        '[domain]\nname = "symbolic_regression"\nbenchmark = "nguyen-7"\n'
        "[search]\niterations = 60\nbatch_size = 48\nemitters = 2\ncheckpoint_every = 5\n"
    )
    full = qd("run", str(config), "--name", "full", "--runs-dir", "runs", "--quiet", cwd=tmp_path)
    assert full.returncode == 0, full.stderr

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [*QD, "run", str(config), "--name", "killed", "--runs-dir", "runs", "--quiet"]
    process = subprocess.Popen(args, cwd=tmp_path, env=env)
    killed = tmp_path / "runs" / "killed"
    deadline = time.monotonic() + 120
    while not list(killed.glob("archive-00001*.json")) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    newest = sorted(killed.glob("archive-*.json"))[-1]
    assert json.loads(newest.read_text())["iteration"] < 60

    resumed = qd("resume", str(killed), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert records(killed) == records(tmp_path / "runs" / "full")
    iterations = [
        json.loads(line)["iteration"]
        for line in (killed / "metrics.jsonl").read_text().splitlines()
    ]
    assert iterations == list(range(1, 61))


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[domain]\nname = "symbolic_regression"\n[search]\niteratons = 3\n', "search.iteratons"),
        ('[domain]\nname = "symbolic_regresion"\n', "unknown domain 'symbolic_regresion'"),
        ('[domain]\nname = "symbolic_regression"\nbenchmark = "koza-9"\n', "koza-9"),
        ('[domain\nname = "x"\n', "not valid TOML"),
    ],
)
def test_bad_config_gives_one_line_and_exit_2(tmp_path, toml, expected):
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    result = qd("run", str(config), "--runs-dir", "runs", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and expected in lines[0]
    assert not (tmp_path / "runs").exists(), "a bad config must not create a run directory"


def test_resume_of_a_missing_run_is_a_clear_error(tmp_path):
    result = qd("resume", str(tmp_path / "nowhere"), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "not a run directory" in result.stderr and "Traceback" not in result.stderr


def test_domains_lists_symbolic_regression_with_measures(tmp_path):
    result = qd("domains", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "symbolic_regression" in result.stdout
    assert "size" in result.stdout and "depth" in result.stdout


def test_ctrl_c_finishes_the_iteration_checkpoints_and_resumes(tmp_path):
    config = tmp_path / "sr.toml"
    config.write_text(
        "seed = 3\n"
        '[domain]\nname = "symbolic_regression"\nbenchmark = "koza-2"\n'
        "[search]\niterations = 400\nbatch_size = 48\ncheckpoint_every = 100\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [*QD, "run", str(config), "--runs-dir", "runs", "--quiet"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    run = tmp_path / "runs" / "sr"
    deadline = time.monotonic() + 60
    while not (run / "metrics.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert f"qd resume {Path('runs') / 'sr'}" in stderr
    done = json.loads(sorted(run.glob("archive-*.json"))[-1].read_text())["iteration"]
    assert 0 < done < 400, "the checkpoint is written at the iteration where Ctrl-C came"
    rows = (run / "metrics.jsonl").read_text().splitlines()
    assert json.loads(rows[-1])["iteration"] == done

    resumed = qd("resume", str(run), "--iterations", str(done + 5), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done + 5} iterations" in resumed.stdout
