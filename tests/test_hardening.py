"""Round 2 of trying qd as a careless or hostile user would: each test failed before
its fix (issue "Hardening, round 2"), through the real CLI in this process."""

from __future__ import annotations

import json
import os
import resource
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qd.archive import Archive
from qd.cli import USAGE_ERROR, app
from qd.registry import UnknownDomainError, load_domain_class

ROOT = Path(__file__).resolve().parents[1]
SR = """\
name = "sr"
seed = 2
[domain]
name = "symbolic_regression"
max_size = 16
max_depth = 4
[search]
iterations = 3
batch_size = 4
checkpoint_every = 1
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sr.toml"
    path.write_text(SR)
    return path


def one_line(message: str) -> bool:
    return message.startswith("error: ") and message.count("\n") == 1


def tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): p.read_text() if p.is_file() else "<dir>"
        for p in sorted(path.rglob("*"))
    }


# --- 1. --force replaces runs only -----------------------------------------------------


def test_force_refuses_a_folder_that_is_no_run_and_touches_nothing(tmp_path, qd, config) -> None:
    folder = tmp_path / "notarun"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.tex").write_text("chapter 1")
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")
    before = tree(folder)
    for force in (["--force"], []):
        status, message = qd("run", str(config), "--runs-dir", ".", "--name", "notarun", *force)
        assert status == USAGE_ERROR and one_line(message), message
        assert "is not a run directory" in message and "'thesis.tex'" in message
        assert "qd resume" not in message  # no advice to resume what is no run
        assert tree(folder) == before  # not even a lock file


def test_force_refuses_the_folder_that_holds_the_runs(tmp_path, qd, config) -> None:
    assert qd("run", str(config), "--runs-dir", "runs")[0] == 0
    status, message = qd("run", str(config), "--runs-dir", ".", "--name", "runs", "--force")
    assert status == USAGE_ERROR and "it holds 'sr'" in message, message
    assert sorted(p.name for p in (tmp_path / "runs" / "sr").glob("archive-*")) != []


def test_force_replaces_a_run_and_unlinks_links_without_following_them(
    tmp_path, qd, config
) -> None:
    assert qd("run", str(config), "--runs-dir", "runs")[0] == 0
    run = tmp_path / "runs" / "sr"
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    (run / "archive-000099.json").symlink_to(precious)  # a link named like a run file
    status, message = qd("run", str(config), "--runs-dir", "runs", "--force")
    assert status == 0, message
    assert (precious / "keep.txt").read_text() == "mine"
    assert not (run / "archive-000099.json").exists()
    (run / "linked").symlink_to(precious)  # a link a run never makes: not a run any more
    status, message = qd("run", str(config), "--runs-dir", "runs", "--force")
    assert status == USAGE_ERROR and "'linked'" in message, message
    assert (run / "config.toml").exists() and (precious / "keep.txt").exists()


def test_a_run_directory_that_is_a_link_is_refused(tmp_path, qd, config) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "runs" / "sr").symlink_to(tmp_path / "elsewhere")
    status, message = qd("run", str(config), "--runs-dir", "runs", "--force")
    assert status == USAGE_ERROR and "symbolic link" in message, message
    assert list((tmp_path / "elsewhere").iterdir()) == []


# --- 2. nothing written before the scheduler answers -----------------------------------


def test_an_unreachable_scheduler_writes_nothing_new_or_old(tmp_path, qd, config) -> None:
    status, message = qd("run", str(config), "--dask-scheduler", "tcp://127.0.0.1:9")
    assert status == USAGE_ERROR and message.startswith("error: evaluation.scheduler"), message
    assert not (tmp_path / "runs").exists()  # the corrected rerun is not refused
    assert qd("run", str(config))[0] == 0
    run = tmp_path / "runs" / "sr"
    before = (run / "config.toml").read_bytes()
    status, message = qd(
        "resume", str(run), "--iterations", "5", "--dask-scheduler", "tcp://127.0.0.1:9"
    )
    assert status == USAGE_ERROR and "cannot reach the Dask scheduler" in message, message
    assert (run / "config.toml").read_bytes() == before


# --- 3. resume --set --------------------------------------------------------------------


def test_resume_set_changes_how_a_run_goes_on_and_logs_it(tmp_path, qd, config) -> None:
    assert qd("run", str(config))[0] == 0
    run = tmp_path / "runs" / "sr"
    status, message = qd(
        "resume", str(run), "--set", "lm.timeout=7", "--set", "search.iterations=4"
    )
    assert status == 0, message
    text = (run / "config.toml").read_text()
    assert "timeout = 7" in text and "iterations = 4" in text
    changed = [e for e in map(json.loads, (run / "events.jsonl").read_text().splitlines())
               if e.get("event") == "config_changed"]  # fmt: skip
    assert changed[-1]["changes"] == {"lm.timeout": [120.0, 7.0], "search.iterations": [3, 4]}
    assert changed[-1]["iteration"] == 3
    before = (run / "config.toml").read_bytes()
    for bad, expected in [
        ("domain.max_depth=9", "--set domain.max_depth: cannot change between legs"),
        ("seed=5", "--set seed: cannot change"),
        ("lm.timeout=-1", "lm.timeout: must be > 0"),
        ("search.iterations=2", "below the 4 iterations already done"),
    ]:
        status, message = qd("resume", str(run), "--set", bad)
        assert status == USAGE_ERROR and one_line(message) and expected in message, message
        assert (run / "config.toml").read_bytes() == before


def test_resume_set_backend_back_from_a_dead_scheduler(tmp_path, qd, config) -> None:
    assert qd("run", str(config))[0] == 0
    run = tmp_path / "runs" / "sr"
    text = (
        (run / "config.toml")
        .read_text()
        .replace('backend = "inprocess"', 'backend = "dask"\nscheduler = "tcp://127.0.0.1:9"')
    )
    (run / "config.toml").write_text(text)  # as an older qd left it
    assert qd("resume", str(run))[0] == USAGE_ERROR
    status, message = qd(
        "resume", str(run), "--set", 'evaluation.backend="inprocess"', "--iterations", "4"
    )
    assert status == 0, message
    assert "scheduler" not in (run / "config.toml").read_text()


# --- 4, 5. report falls back as resume does; every decode error is a bad record --------


def test_report_skips_bad_newest_checkpoints_and_names_them(tmp_path, qd, config) -> None:
    assert qd("run", str(config))[0] == 0
    run = tmp_path / "runs" / "sr"
    newest, middle, oldest = sorted(run.glob("archive-*.json"), reverse=True)
    data = json.loads(newest.read_text())
    data["archive"][0]["measures"].append(1)  # 3 measures for a 2-measure archive
    newest.write_text(json.dumps(data))
    data = json.loads(middle.read_text())
    data["archive"][0]["candidate"] = ["add", 10**400, "x1"]  # no float holds it
    middle.write_text(json.dumps(data))
    status, message = qd("report", str(run))
    assert status == 0, message
    assert "3 measures for an archive of 2" in message and "too large for a float" in message
    assert f"reporting iteration {json.loads(oldest.read_text())['iteration']}" in message
    assert qd("resume", str(run), "--iterations", "4")[0] == 0  # resume agrees
    for path in run.glob("archive-*.json"):
        path.write_text("{not json")
    status, message = qd("report", str(run))
    assert status == USAGE_ERROR and one_line(message), message
    assert "no checkpoint can be resumed from" in message and "has no checkpoint yet" not in message


def test_any_decode_error_of_a_record_is_a_malformed_record() -> None:
    from domains.symbolic_regression import SymbolicRegression

    domain = SymbolicRegression(max_size=16, max_depth=4)
    record = {"candidate": ["add", 10**400, "x1"], "objective": 0.5, "measures": [3, 1], "info": {}}
    with pytest.raises(ValueError, match="archive record 0 is malformed"):
        Archive(domain.measures).add_records([record], domain)


# --- 6. data whose squares overflow -------------------------------------------------------


def test_data_near_the_float_limit_is_refused_with_what_to_do(tmp_path, qd, config) -> None:
    rows = "".join(
        f"{a}e306,{b}e306,{4 * (a + b) / 10}e306\n"
        for a, b in [(1, 2), (2, 3), (3, 1), (4, 4), (1, 1)] * 4
    )
    (tmp_path / "big.csv").write_text("a,b,y\n" + rows)
    status, message = qd("run", str(config), "--set", 'domain.data="big.csv"')
    assert status == USAGE_ERROR and one_line(message), message
    assert message.startswith("error: domain.data") and "'big.csv'" in message
    assert "divide the column by a power of ten" in message
    import numpy as np

    from domains.symbolic_regression.estimator import QDSymbolicRegressor

    X = np.linspace(1, 2, 20)[:, None] * 1e306
    with pytest.raises(ValueError, match="overflow"):
        QDSymbolicRegressor(max_evaluations=10).fit(X, X[:, 0] * 2)


# --- 7. one line for the last tracebacks ------------------------------------------------


def test_bad_paths_names_and_files_are_one_line(tmp_path, qd, config) -> None:
    (tmp_path / "binary.csv").write_bytes(b"a,b\n1,2\n\x89PNG\r\n\x1a\n\xff\xfe")
    (tmp_path / "afile").write_text("")
    cases = [
        (["--set", 'domain.data="binary.csv"'],
         "error: domain.data (symbolic_regression): 'binary.csv' is not a text CSV: "
         "byte 0x89 at offset 8"),
        (["--set", 'name="a\\u0000b"'],
         "error: name: contains the control character '\\x00' at position 1"),
        (["--name", "x" * 300], "error: name: 'xxxx"),
        (["--runs-dir", ".", "--name", "afile"], "afile is a file, not a run directory"),
        (["--runs-dir", "afile"], "afile is a file, not a folder"),
    ]  # fmt: skip
    for args, expected in cases:
        status, message = qd("run", str(config), *args)
        assert status == USAGE_ERROR and one_line(message), message
        assert message.startswith(expected) or expected in message, message


def test_a_full_disk_is_one_line_and_the_run_resumes(tmp_path, config) -> None:
    # A file-size limit stands in for a full disk: the OS refuses the write (EFBIG) as
    # it would with ENOSPC, mid-run, with no mock in the way.
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "qd.cli", "run", str(config), "--quiet",
               "--set", "search.iterations=6", "--set", "search.batch_size=64"]  # fmt: skip
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, preexec_fn=limit
    )
    assert done.returncode == USAGE_ERROR, done.stderr
    assert one_line(done.stderr) and "File too large" in done.stderr, done.stderr
    assert "checkpoints are whole" in done.stderr and "qd resume runs/sr" in done.stderr
    resumed = subprocess.run(
        [sys.executable, "-m", "qd.cli", "resume", "runs/sr", "--quiet"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert resumed.returncode == 0 and "6 iterations" in resumed.stdout, resumed.stderr


# --- 8. lm serve binds first --------------------------------------------------------------


def test_lm_serve_on_a_taken_port_fails_before_announcing(qd) -> None:
    pytest.importorskip("llama_cpp", reason="qd lm serve needs llama-cpp-python")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["lm", "serve", "--port", str(port)])
    assert result.exit_code == USAGE_ERROR
    assert "QD_LM_BASE_URL" not in result.output


# --- 9. files honour the umask ----------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_run_files_honour_the_umask(tmp_path, config, umask) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "qd.cli", "run", str(config), "--quiet"]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True,
        preexec_fn=lambda: os.umask(umask),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    checked = 0
    for path in (tmp_path / "runs" / "sr").rglob("*"):
        if path.name != "lock":  # folders (domain/) as mkdir makes them, files as open does
            mode = 0o777 if path.is_dir() else 0o666
            assert stat.S_IMODE(path.stat().st_mode) == mode & ~umask, path.name
            checked += 1
    assert checked >= 4


# --- 10. a class path is read before it is imported --------------------------------------


def test_a_class_path_to_a_module_without_that_class_is_never_imported(
    tmp_path, monkeypatch
) -> None:
    (tmp_path / "noisy.py").write_text("open('ran', 'w').close()\nX = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for target in ("noisy:X", "this:s", "sys:X"):
        with pytest.raises(UnknownDomainError):
            load_domain_class(target)
    assert not (tmp_path / "ran").exists() and "noisy" not in sys.modules
    assert load_domain_class("run_check_domains:Leaky").__name__ == "Leaky"
