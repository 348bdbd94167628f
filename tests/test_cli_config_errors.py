"""Bad configs are refused before anything is written.

For each mistake: `qd run` exits with status 2 and one line naming the key, leaves no
run directory behind, and the corrected config then runs under the same name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qd.cli import USAGE_ERROR
from qd.runs import parse_config, start

GOOD = """\
name = "exp"
seed = 2

[domain]
name = "symbolic_regression"
max_size = 16
max_depth = 4

[search]
iterations = 2
batch_size = 4
"""

Qd = Callable[..., tuple[int, str]]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(GOOD)
    return path


BAD = {
    "no-functions": (["domain.functions=[]"], "domain.functions"),
    "unknown-function": (['domain.functions=["add", "frobnicate"]'], "domain.functions"),
    "depth-a-word": (['domain.max_depth="deep"'], "domain.max_depth"),
    "lm-timeout": (["lm.timeout=-1"], "lm.timeout: must be > 0"),
    "lm-timeout-nan": (["lm.timeout=nan"], "lm.timeout: must be a finite number"),
    "lm-concurrency": (["lm.max_concurrency=0"], "lm.max_concurrency: must be at least 1"),
    "lm-retries": (["lm.max_retries=-1"], "lm.max_retries: must be at least 0"),
    "lm-breaker": (["lm.max_consecutive_failures=0"], "lm.max_consecutive_failures: must be"),
    "lm-restarts": (["lm.max_server_restarts=-2"], "lm.max_server_restarts: must be"),
    "lm-url-no-model": (['lm.base_url="http://127.0.0.1:9/v1"'], "lm.model: required"),
    "lm-url-not-a-url": (['lm.base_url="localhost:8000"', 'lm.model="m"'], "lm.base_url"),
    "lm-unknown-key": (["lm.temprature=0.5"], "lm.temprature: unknown key"),
    "offset-nan": (["archive.qd_score_offset=nan"], "archive.qd_score_offset: must be a finite"),
    "offset-inf": (["archive.qd_score_offset=-inf"], "archive.qd_score_offset"),
    "huge-batch": (["search.batch_size=100000000000"], "search.batch_size: must be at most"),
    "huge-product": (
        ["search.emitters=1000", "search.batch_size=1000"],
        "search.batch_size: emitters x batch_size",
    ),
    "unknown-parents": (['search.parents="curiosity"'], "search.parents"),
    "zero-workers": (
        ['evaluation.backend="process"', "evaluation.workers=0"],
        "evaluation.workers",
    ),
}


@pytest.mark.parametrize(("overrides", "key"), BAD.values(), ids=BAD.keys())
def test_a_bad_config_leaves_nothing_and_the_corrected_one_runs(
    tmp_path: Path, config: Path, qd: Qd, overrides: list[str], key: str
) -> None:
    runs = tmp_path / "runs"
    sets = [arg for override in overrides for arg in ("--set", override)]
    status, message = qd("run", str(config), "--runs-dir", str(runs), *sets)
    assert status == USAGE_ERROR, message
    assert message.startswith(f"error: {key}"), message
    assert "Traceback" not in message
    assert not (runs / "exp").exists()
    status, message = qd("run", str(config), "--runs-dir", str(runs))
    assert status == 0, message
    assert (runs / "exp" / "metrics.jsonl").exists()


LM_DOMAINS = {
    "cvt-over-labels": (
        ['domain.name="poetry"', 'archive.kind="cvt"', "archive.cells=20"],
        "archive.kind",
    ),
    "lm-judge-in-processes": (
        ['domain.name="creative_writing"', 'evaluation.backend="process"'],
        "evaluation.backend",
    ),
}


@pytest.mark.parametrize(("overrides", "key"), LM_DOMAINS.values(), ids=LM_DOMAINS.keys())
def test_a_bad_lm_domain_config_leaves_nothing(
    tmp_path: Path, qd: Qd, overrides: list[str], key: str
) -> None:
    path = tmp_path / "exp.toml"
    path.write_text('name = "exp"\n[domain]\nname = "poetry"\n')
    sets = [arg for override in overrides for arg in ("--set", override)]
    status, message = qd("run", str(path), "--runs-dir", str(tmp_path / "runs"), *sets)
    assert status == USAGE_ERROR, message
    assert message.startswith(f"error: {key}"), message
    assert not (tmp_path / "runs" / "exp").exists()


def test_resume_checks_a_changed_config_before_writing_it(tmp_path: Path, qd: Qd) -> None:
    run = start(parse_config({"name": "cw", "domain": {"name": "creative_writing"}}), tmp_path)
    before = run.config_path.read_bytes()
    status, message = qd("resume", str(run.path), "--dask-scheduler", "tcp://127.0.0.1:9")
    assert status == USAGE_ERROR, message
    assert message.startswith("error: evaluation.backend"), message
    assert run.config_path.read_bytes() == before
    status, message = qd("resume", str(run.path), "--iterations", "0")
    assert status == USAGE_ERROR
    assert message.startswith("error: search.iterations: must be at least 1")
    assert run.config_path.read_bytes() == before


def test_a_byte_order_mark_is_accepted(tmp_path: Path, qd: Qd) -> None:
    path = tmp_path / "exp.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    status, message = qd("run", str(path), "--runs-dir", str(tmp_path / "runs"))
    assert status == 0, message
