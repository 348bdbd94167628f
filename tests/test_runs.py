"""The run directory: atomic files, checkpoints, logs, and resume that loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qd.runs import ConfigError, ExperimentConfig, execute, load_archive, parse_config, start
from qd.runs.checkpoints import Checkpoint
from qd.runs.directory import RunDirectory, RunError, atomic_write


def sr_config(name: str = "sr", **search) -> ExperimentConfig:
    return parse_config(
        {
            "name": name,
            "seed": 3,
            "domain": {"name": "symbolic_regression", "max_depth": 5, "max_size": 24},
            "archive": {"qd_score_offset": 0.0},
            "search": {"iterations": 20, "batch_size": 12, "checkpoint_every": 5, **search},
        }
    )


def checkpoint(iteration: int) -> Checkpoint:
    return Checkpoint(
        iteration=iteration,
        evaluations=10 * iteration,
        rng_state=np.random.default_rng(iteration).bit_generator.state,
        records=[{"candidate": f"c{iteration}", "objective": 0.5, "measures": [1], "info": {}}],
    )


# --- files -------------------------------------------------------------------------------


def test_atomic_write_replaces_content_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "config.toml"
    atomic_write(path, "first")
    assert path.read_text() == "first"
    atomic_write(path, "second, longer text")
    assert path.read_text() == "second, longer text"
    atomic_write(path, "")
    assert path.read_text() == ""
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "archive.json"
    atomic_write(path, "old")
    with pytest.raises(TypeError):
        atomic_write(path, 12345)  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["archive.json"]


def test_domain_files_are_plain_csv_names_written_whole(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path)
    run.write_domain_files({"front.csv": "size,error\n1,0.5\n"})
    assert (tmp_path / "domain" / "front.csv").read_text() == "size,error\n1,0.5\n"
    for name in ("../escape.csv", "notes.txt", "sub/front.csv", ".hidden.csv"):
        with pytest.raises(ValueError, match=r"not a plain file name ending in \.csv"):
            run.write_domain_files({name: "x"})
    assert sorted(p.name for p in (tmp_path / "domain").iterdir()) == ["front.csv"]


def test_a_csv_a_person_put_in_a_run_directory_is_not_the_runs(tmp_path: Path) -> None:
    from qd.runs.directory import _made_by_a_run

    (tmp_path / "domain").mkdir()
    (tmp_path / "domain" / "hall_of_fame.csv").write_text("size\n1\n")
    (tmp_path / "my_data.csv").write_text("x,y\n")
    assert _made_by_a_run(tmp_path / "domain")
    assert not _made_by_a_run(tmp_path / "my_data.csv")


def test_only_the_newest_three_checkpoints_are_kept(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path)
    for iteration in (5, 10, 15, 20, 25):
        written = run.write_checkpoint(checkpoint(iteration))
        assert written.name == f"archive-{iteration:06d}.json"
    assert [p.name for p in run.checkpoints()] == [
        "archive-000015.json",
        "archive-000020.json",
        "archive-000025.json",
    ]
    assert run.latest_checkpoint() == checkpoint(25)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_checkpoints_sort_by_iteration_not_by_text(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path)
    for iteration in (9, 10, 100):
        run.write_checkpoint(checkpoint(iteration))
    latest = run.latest_checkpoint()
    assert latest is not None
    assert latest.iteration == 100


@pytest.mark.parametrize(
    "garbage",
    [
        "garbage",
        "",
        '{"format": 1, "iteration": 30, "evaluations"',  # torn mid-write
        "\x00" * 64,
        '{"format": 1, "iteration": 30}',  # fields missing
    ],
    ids=["text", "empty", "torn", "zeros", "incomplete"],
)
def test_latest_checkpoint_skips_a_corrupted_newest_file(tmp_path: Path, garbage: str) -> None:
    run = RunDirectory(tmp_path)
    run.write_checkpoint(checkpoint(10))
    run.write_checkpoint(checkpoint(20))
    (tmp_path / "archive-000030.json").write_text(garbage)
    assert run.latest_checkpoint() == checkpoint(20)


@pytest.mark.parametrize("garbage", ["null", "[]", "0"])
def test_latest_checkpoint_skips_a_newest_file_that_is_not_an_object(
    tmp_path: Path, garbage: str
) -> None:
    run = RunDirectory(tmp_path)
    run.write_checkpoint(checkpoint(10))
    (tmp_path / "archive-000030.json").write_text(garbage)
    assert run.latest_checkpoint() == checkpoint(10)


def test_no_checkpoint_at_all(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path)
    assert run.latest_checkpoint() is None
    (tmp_path / "archive-000005.json").write_text("garbage")
    assert run.latest_checkpoint() is None


def test_checkpoint_json_round_trip() -> None:
    original = checkpoint(7)
    data = json.loads(json.dumps(original.to_json()))
    assert data["format"] == 1
    assert Checkpoint.from_json(data) == original
    with pytest.raises(ValueError, match="format"):
        Checkpoint.from_json({**data, "format": 99})


def test_truncate_logs_drops_rows_after_the_checkpoint(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path)
    run.append(run.metrics_path, [{"iteration": i, "qd_score": i / 10} for i in range(1, 8)])
    run.append(run.events_path, [{"iteration": i, "event": "invalid"} for i in (2, 5, 6, 7)])
    run.truncate_logs(5)
    assert [r["iteration"] for r in run.metrics()] == [1, 2, 3, 4, 5]
    assert [r["iteration"] for r in run.events()] == [2, 5]
    run.truncate_logs(0)
    assert run.metrics() == []
    assert run.events() == []


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path)
    run.append(run.metrics_path, [{"iteration": 1}, {"iteration": 2}])
    with run.metrics_path.open("a") as handle:
        handle.write('{"iteration": 3, "qd_sc')  # the crash came mid-write
    assert run.metrics() == [{"iteration": 1}, {"iteration": 2}]
    run.truncate_logs(2)  # resuming cuts the torn line away, so appends start clean
    run.append(run.metrics_path, [{"iteration": 3}])
    assert run.metrics() == [{"iteration": 1}, {"iteration": 2}, {"iteration": 3}]


def test_logs_of_a_new_run_are_empty(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "fresh")
    assert run.metrics() == []
    assert run.events() == []


# --- start and execute ---------------------------------------------------------------------


def test_start_writes_the_resolved_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    config = sr_config("exp")
    run = start(config, tmp_path)
    assert run.path == tmp_path / "exp"
    resolved = run.load_config()
    assert resolved == config.with_domain_defaults()
    assert resolved.domain["max_depth"] == 5  # given options win over defaults
    assert resolved.domain["benchmark"] == "koza-1"  # defaults are written down too
    with pytest.raises(RunError, match="already exists"):
        start(config, tmp_path)
    (run.path / "metrics.jsonl").write_text('{"iteration": 1}\n')
    run = start(config, tmp_path, force=True)
    assert sorted(p.name for p in run.path.iterdir()) == ["config.toml", "lock"]


def test_start_fails_on_a_bad_domain_before_touching_the_disk(tmp_path: Path) -> None:
    config = parse_config({"name": "bad", "domain": {"name": "symbolic_regression", "x": 1}})
    with pytest.raises(ConfigError, match=r"^domain\.x"):
        start(config, tmp_path)
    assert not (tmp_path / "bad").exists()


def test_execute_writes_metrics_and_checkpoints(tmp_path: Path) -> None:
    run = start(sr_config(iterations=12), tmp_path)
    search = execute(run)
    assert search.iteration == 12
    metrics = run.metrics()
    assert [m["iteration"] for m in metrics] == list(range(1, 13))
    assert [m["evaluations"] for m in metrics] == [12 * i for i in range(1, 13)]
    assert metrics[-1]["num_elites"] == len(search.archive)
    # Every 5 iterations, and once more at the end.
    assert [p.name for p in run.checkpoints()] == [
        "archive-000005.json",
        "archive-000010.json",
        "archive-000012.json",
    ]
    _, domain, archive, saved = load_archive(run)
    assert saved.iteration == 12
    assert saved.evaluations == 144
    assert archive.to_records(domain) == search.archive.to_records(domain)


def test_resume_with_more_iterations_continues_from_the_checkpoint(tmp_path: Path) -> None:
    run = start(sr_config(iterations=6), tmp_path)
    first = execute(run)
    before = {e.cell: e.objective for e in first.archive.elites()}
    starts: list[int] = []
    resumed = execute(
        run, resume=True, iterations=12, callbacks=[lambda s, r: starts.append(r.iteration)]
    )
    assert starts == list(range(7, 13))  # no iteration repeated
    assert resumed.iteration == 12
    assert resumed.evaluations == 12 * 12
    assert run.load_config().search.iterations == 12  # the new total is saved
    assert [m["iteration"] for m in run.metrics()] == list(range(1, 13))
    after = {e.cell: e.objective for e in resumed.archive.elites()}
    assert all(cell in after and after[cell] >= objective for cell, objective in before.items())


def test_resume_from_a_mid_run_checkpoint_repeats_the_uninterrupted_run(tmp_path: Path) -> None:
    whole = start(sr_config("whole"), tmp_path)
    reference = execute(whole)
    expected = whole.latest_checkpoint()
    assert expected is not None
    assert expected.iteration == 20
    assert len(expected.records) >= 10

    split = start(sr_config("split"), tmp_path)
    execute(split, iterations=10)
    assert [m["iteration"] for m in split.metrics()] == list(range(1, 11))
    # Work after the checkpoint that a crash lost: log rows and a torn line.
    split.append(split.metrics_path, [{**split.metrics()[-1], "iteration": 11}])
    with split.metrics_path.open("a") as handle:
        handle.write('{"iteration": 12, "eval')
    resumed = execute(split, resume=True, iterations=20)

    got = split.latest_checkpoint()
    assert got is not None
    assert got.records == expected.records
    assert got.rng_state == expected.rng_state
    assert got.evaluations == expected.evaluations
    assert resumed.archive.to_records(resumed.domain) == reference.archive.to_records(
        reference.domain
    )
    metrics = split.metrics()
    assert [m["iteration"] for m in metrics] == list(range(1, 21))
    for a, b in zip(whole.metrics(), metrics, strict=True):
        assert (a["num_elites"], a["evaluations"], a["added"]) == (
            b["num_elites"],
            b["evaluations"],
            b["added"],
        )
        assert a["qd_score"] == pytest.approx(b["qd_score"])


def test_resume_from_a_checkpoint_between_intervals(tmp_path: Path) -> None:
    whole = start(sr_config("whole", iterations=12), tmp_path)
    execute(whole)
    split = start(sr_config("split", iterations=12), tmp_path)
    execute(split, iterations=7)  # stops between checkpoints; the end writes one at 7
    assert split.latest_checkpoint().iteration == 7
    execute(split, resume=True, iterations=12)
    assert split.latest_checkpoint().records == whole.latest_checkpoint().records
    assert [m["iteration"] for m in split.metrics()] == list(range(1, 13))


def test_resume_without_a_checkpoint_starts_over(tmp_path: Path) -> None:
    run = start(sr_config(iterations=3), tmp_path)
    run.append(run.metrics_path, [{"iteration": 1}, {"iteration": 2}])  # a crash before 5
    search = execute(run, resume=True)
    assert search.iteration == 3
    assert [m["iteration"] for m in run.metrics()] == [1, 2, 3]


def test_not_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="not a run directory"):
        execute(RunDirectory(tmp_path / "nothing"))
    run = start(sr_config(), tmp_path)
    with pytest.raises(RunError, match="no checkpoint"):
        load_archive(run)


def test_a_cvt_run_saves_its_centroids_and_resumes_exactly(tmp_path: Path) -> None:
    def cvt(name: str) -> ExperimentConfig:
        data = sr_config(name, iterations=10).to_dict()
        data["archive"] = {"kind": "cvt", "cells": 20}
        return parse_config(data)

    whole = start(cvt("whole"), tmp_path)
    reference = execute(whole)
    saved = whole.latest_checkpoint()
    assert saved is not None
    assert saved.centroids == reference.archive.centroids.tolist()
    split = start(cvt("split"), tmp_path)
    execute(split, iterations=5)
    resumed = execute(split, resume=True, iterations=10)
    assert split.latest_checkpoint().records == saved.records
    assert resumed.archive.centroids.tolist() == saved.centroids
