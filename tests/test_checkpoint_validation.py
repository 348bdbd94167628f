"""Checkpoints are checked before a resume trusts them.

A bad newest checkpoint (corrupt generator state, an iteration that is not a count or
disagrees with the run, malformed elites) is named, field and file, and the run falls
back to the older good one, saying so in ``events.jsonl``. When none is good the run
stops instead of silently starting over on top of them; ``--restart`` starts over.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from qd.cli import USAGE_ERROR, app
from qd.runs import RunDirectory, RunError, execute, parse_config, start
from qd.runs.checkpoints import Checkpoint, CheckpointError


def finished_run(tmp_path: Path) -> RunDirectory:
    """Six iterations, checkpoints at 2, 4 and 6."""
    config = parse_config(
        {
            "name": "sr",
            "seed": 5,
            "domain": {"name": "symbolic_regression", "max_depth": 4, "max_size": 16},
            "search": {"iterations": 6, "batch_size": 8, "checkpoint_every": 2},
        }
    )
    run = start(config, tmp_path)
    execute(run)
    assert [p.name for p in run.checkpoints()] == [
        "archive-000002.json",
        "archive-000004.json",
        "archive-000006.json",
    ]
    return run


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def resumed_from(run: RunDirectory, **kwargs: Any) -> tuple[int, list[str]]:
    """Resume ``run``: the first iteration it ran and the notices it gave."""
    firsts: list[int] = []
    notices: list[str] = []
    execute(
        run,
        resume=True,
        callbacks=[lambda s, r: firsts.append(r.iteration)],
        notify=notices.append,
        **kwargs,
    )
    return (firsts[0] if firsts else None), notices


def _set(key: str, value: Any):
    return lambda data: data.__setitem__(key, value)


def _set_record(key: str, value: Any):
    return lambda data: data["archive"][0].__setitem__(key, value)


BAD_NEWEST = {
    "rng-garbage": (_set("rng", {"bit_generator": "PCG64", "state": {"state": "x"}}), "rng"),
    "rng-not-object": (_set("rng", [1, 2]), "rng"),
    "rng-other-generator": (_set("rng", {"bit_generator": "MT19937"}), "rng"),
    "iteration-negative": (_set("iteration", -6), "iteration"),
    "iteration-text": (_set("iteration", "6"), "iteration"),
    "iteration-float": (_set("iteration", 6.5), "iteration"),
    "iteration-not-the-file-name": (_set("iteration", 5), "iteration"),
    "evaluations-negative": (_set("evaluations", -1), "evaluations"),
    "archive-not-list": (_set("archive", {"a": 1}), "archive"),
    "record-not-object": (lambda d: d["archive"].__setitem__(0, 7), "archive[0]"),
    "record-objective-text": (_set_record("objective", "high"), "archive[0].objective"),
    "record-no-measures": (lambda d: d["archive"][0].pop("measures"), "archive[0]"),
    "record-measures-wrong-count": (_set_record("measures", [1.0]), "archive"),
    "state-not-object": (_set("state", 3), "state"),
}


@pytest.mark.parametrize(("change", "field"), BAD_NEWEST.values(), ids=BAD_NEWEST.keys())
def test_a_bad_newest_checkpoint_is_named_and_the_older_one_resumes(
    tmp_path: Path, change, field: str
) -> None:
    run = finished_run(tmp_path)
    newest = run.checkpoints()[-1]
    edit(newest, change)
    first, notices = resumed_from(run)
    assert first == 5  # from archive-000004.json
    assert [m["iteration"] for m in run.metrics()] == list(range(1, 7))
    (skipped,) = [e for e in run.events() if e.get("event") == "checkpoint_skipped"]
    assert skipped["reason"].startswith(f"{newest.name}: {field}")
    assert skipped["resumed_from"] == "archive-000004.json"
    assert len(notices) == 1 and newest.name in notices[0] and field in notices[0]


def test_an_iteration_beyond_the_metrics_log_is_refused(tmp_path: Path) -> None:
    run = finished_run(tmp_path)
    beyond = run.path / "archive-000008.json"
    beyond.write_text(run.checkpoints()[-1].read_text())
    edit(beyond, _set("iteration", 8))
    first, notices = resumed_from(run)
    assert first is None  # archive-000006.json holds the whole run already
    assert "archive-000008.json: iteration: 8 is beyond the metrics log" in notices[0]


def test_when_no_checkpoint_is_good_the_run_stops_naming_every_file(tmp_path: Path) -> None:
    run = finished_run(tmp_path)
    for path in run.checkpoints():
        path.write_text("\x00" * 32)
    files = {p: p.read_bytes() for p in run.checkpoints()}
    metrics = run.metrics_path.read_text()
    with pytest.raises(RunError) as caught:
        execute(run, resume=True, iterations=8)
    message = str(caught.value)
    for path in files:
        assert path.name in message
    assert f"qd resume {run.path} --restart" in message
    assert {p: p.read_bytes() for p in run.checkpoints()} == files  # nothing overwritten
    assert run.metrics_path.read_text() == metrics
    first, _ = resumed_from(run, restart=True)
    assert first == 1
    assert [m["iteration"] for m in run.metrics()] == list(range(1, 7))
    assert [e["event"] for e in run.events() if "time" in e] == ["restarted"]


def test_cli_resume_with_no_good_checkpoint_exits_2_and_restart_starts_over(
    tmp_path: Path, monkeypatch
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr("qd.cli.err", Console(file=stderr, width=400))
    run = finished_run(tmp_path)
    for path in run.checkpoints():
        edit(path, _set("rng", None))
    result = CliRunner().invoke(app, ["resume", str(run.path), "--quiet"])
    assert result.exit_code == USAGE_ERROR
    assert "archive-000006.json: rng" in stderr.getvalue()
    assert "--restart" in stderr.getvalue()
    result = CliRunner().invoke(app, ["resume", str(run.path), "--restart", "--quiet"])
    assert result.exit_code == 0, stderr.getvalue()
    assert run.latest_checkpoint().iteration == 6


def test_cli_resume_warns_when_it_falls_back(tmp_path: Path, monkeypatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr("qd.cli.err", Console(file=stderr, width=400))
    run = finished_run(tmp_path)
    edit(run.checkpoints()[-1], _set("iteration", -1))
    result = CliRunner().invoke(app, ["resume", str(run.path), "--quiet"])
    assert result.exit_code == 0, stderr.getvalue()
    assert "warning: skipped checkpoint archive-000006.json: iteration" in stderr.getvalue()


@pytest.mark.parametrize("line", ["[1, 2]", "3", "null", '"text"', "true"])
def test_a_metrics_line_that_is_json_but_not_an_object_is_skipped(
    tmp_path: Path, line: str
) -> None:
    run = finished_run(tmp_path)
    text = run.metrics_path.read_text().splitlines()
    text.insert(3, line)
    run.metrics_path.write_text("\n".join(text) + "\n")
    assert [m["iteration"] for m in run.metrics()] == list(range(1, 7))
    first, _ = resumed_from(run, iterations=7)
    assert first == 7
    assert [m["iteration"] for m in run.metrics()] == list(range(1, 8))


def test_checkpoint_from_json_names_the_field() -> None:
    with pytest.raises(CheckpointError, match=r"^iteration: expected a non-negative integer"):
        Checkpoint.from_json(
            {"format": 1, "iteration": True, "evaluations": 0, "rng": {}, "archive": []}
        )
    with pytest.raises(CheckpointError, match=r"^rng: missing"):
        Checkpoint.from_json({"format": 1, "iteration": 1, "evaluations": 0, "archive": []})
    with pytest.raises(CheckpointError, match=r"^format: 2 is not 1"):
        Checkpoint.from_json({"format": 2})
