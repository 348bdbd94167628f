"""Lineage: every evaluated candidate's id, parents, operator and fate, kept across resume."""

from __future__ import annotations

import collections
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qd.archive import Archive
from qd.runs import ExperimentConfig, execute, load_archive, parse_config, start
from qd.runs.directory import RunDirectory
from qd.runs.lineage import ancestors, lineage_records, read_lineage
from qd.search import PopulationSearch, Search


def sr_config(name: str = "sr", **search) -> ExperimentConfig:
    return parse_config(
        {
            "name": name,
            "seed": 3,
            "domain": {"name": "symbolic_regression", "max_depth": 5, "max_size": 24},
            "search": {"iterations": 6, "batch_size": 12, "checkpoint_every": 2, **search},
        }
    )


def run(config: ExperimentConfig, runs: Path) -> RunDirectory:
    directory = start(config, runs)
    execute(directory)
    return directory


def test_search_records_ids_parents_operators_and_fates(words) -> None:
    archive = Archive(words.measures)
    search = Search(words, archive, rng=np.random.default_rng(0), batch_size=8, emitters=2)
    results = [search.step() for _ in range(4)]
    rows = [row for result in results for row in result.lineage.rows()]

    assert [r["id"] for r in rows[:3]] == ["1-0", "1-1", "1-2"]
    assert len({r["id"] for r in rows}) == len(rows) == 4 * 16
    first = [r for r in rows if r["iteration"] == 1]
    assert {r["operator"] for r in first} == {"initial"}
    assert all(r["parents"] == [] for r in first)
    later = [r for r in rows if r["iteration"] > 1]
    assert {r["operator"] for r in later} == {words.variation().name}
    fate = {r["id"]: r["fate"] for r in rows}
    for r in later:  # MAP-Elites parents are elites: earlier candidates that got a cell
        assert len(r["parents"]) == words.variation().arity
        for parent in r["parents"]:
            assert int(parent.split("-")[0]) < r["iteration"]
            assert fate[parent] in ("new", "improved")
    for result in results:  # one winner per changed cell
        winners = [f for f in result.lineage.fates if f in ("new", "improved")]
        assert len(winners) == result.added
    assert all(r["reason"] for r in rows if r["fate"] == "invalid")
    assert collections.Counter(fate.values())["worse"] > 0
    elites = archive.elites()
    assert all(fate[e.id] in ("new", "improved") for e in elites)
    assert search.ids == [f"4-{i}" for i in range(16)]


def test_lineage_off_records_nothing(words) -> None:
    search = Search(words, Archive(words.measures), rng=np.random.default_rng(0), lineage=False)
    result = search.step()
    assert result.lineage is None
    assert all(e.id is None for e in search.archive.elites())


def test_population_loop_records_parents_from_breed(words) -> None:
    search = PopulationSearch(
        words, Archive(words.measures), rng=np.random.default_rng(1), population_size=6, elitism=1
    )
    rows = [row for _ in range(3) for row in search.step().lineage.rows()]
    ids = {r["id"] for r in rows}
    assert [r["operator"] for r in rows[:6]] == ["initial"] * 6
    bred = rows[6:]
    assert len(bred) == 2 * 5 and {r["operator"] for r in bred} == {"breed"}
    assert all(r["parents"] and set(r["parents"]) <= ids for r in bred)
    assert all(int(p.split("-")[0]) == r["iteration"] - 1 for r in bred[:5] for p in r["parents"])
    state = search.checkpoint_state()
    assert [m["id"] for m in state["population"]] == search.population_ids
    assert search.population_ids[0] in ids  # the kept elite keeps its id


def test_a_run_writes_the_lineage_and_checkpoints_keep_elite_ids(tmp_path: Path) -> None:
    directory = run(sr_config(), tmp_path)
    records = list(lineage_records(directory.path))
    assert len(records) == 6 * 12
    assert [r["iteration"] for r in records] == sorted(r["iteration"] for r in records)
    by_id = read_lineage(directory.path)
    checkpoint = directory.latest_checkpoint()
    assert checkpoint is not None
    ids = [record["id"] for record in checkpoint.records]
    assert ids and all(by_id[i]["fate"] in ("new", "improved") for i in ids)
    _, _, archive, _ = load_archive(directory)
    assert sorted(e.id for e in archive.elites()) == sorted(ids)

    best = archive.best()
    chain = ancestors(directory.path, best.id)
    assert chain[0]["id"] == best.id
    assert any(r["operator"] == "initial" for r in chain)
    assert all(r["id"] in by_id for r in chain)
    for record in chain:  # no ghost nodes: every parent of an ancestor is in the file
        assert all(parent in by_id for parent in record["parents"])
    with pytest.raises(KeyError, match="not in"):
        ancestors(directory.path, "99-0")


def test_same_seed_same_lineage_file(tmp_path: Path) -> None:
    a = run(sr_config("a"), tmp_path)
    b = run(sr_config("b"), tmp_path)
    assert a.lineage_path.read_bytes() == b.lineage_path.read_bytes()


def test_resume_after_a_kill_continues_the_same_lineage(tmp_path: Path) -> None:
    reference = run(sr_config("reference"), tmp_path)
    killed = run(sr_config("killed", iterations=5), tmp_path)
    # A kill after iteration 5 and before its checkpoint: iteration 5's rows are in the
    # logs, the newest checkpoint is iteration 4's, and the last line is torn.
    (killed.path / "archive-000005.json").unlink()
    with killed.lineage_path.open("a") as handle:
        handle.write('{"id":"6-0","iteration":6,"par')
    execute(killed, iterations=6, resume=True)

    lines = killed.lineage_path.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == 6 * 12  # no duplicate, none lost
    assert all(p in set(ids) for r in records for p in r["parents"])  # none dangling
    assert killed.lineage_path.read_bytes() == reference.lineage_path.read_bytes()
    assert killed.latest_checkpoint().records == reference.latest_checkpoint().records


@pytest.mark.parametrize("mode", ["archive", "off"])
def test_lineage_modes(tmp_path: Path, mode: str) -> None:
    directory = run(sr_config(f"m-{mode}", lineage=mode), tmp_path)
    if mode == "off":
        assert not directory.lineage_path.exists()
        assert all("id" not in r for r in directory.latest_checkpoint().records)
        return
    by_id = read_lineage(directory.path)
    assert by_id and {r["fate"] for r in by_id.values()} <= {"new", "improved"}
    for record in by_id.values():  # every elite's ancestry is whole in "archive" mode
        assert all(parent in by_id for parent in record["parents"])


def test_archive_mode_is_refused_for_the_population_loop() -> None:
    with pytest.raises(Exception, match="lineage"):
        sr_config(loop="population", lineage="archive")


def test_copying_a_run_keeps_ids_reachable(tmp_path: Path) -> None:
    directory = run(sr_config("copied"), tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(directory.path, copy)
    _, _, archive, _ = load_archive(RunDirectory(copy))
    for elite in archive.elites():
        assert any(r["parents"] == [] for r in ancestors(copy, elite.id))


def test_the_parent_id_table_follows_every_add(words) -> None:
    archive = Archive(words.measures)
    search = Search(words, archive, rng=np.random.default_rng(2), batch_size=16)
    for _ in range(6):
        search.step()
        elites = archive.elites()
        kept = archive.lineage_ids_of([[e.candidate] for e in elites])  # kept up to date
        archive._id_table = None  # the same table built afresh
        assert kept == archive.lineage_ids_of([[e.candidate] for e in elites])
        assert kept == [[e.id] for e in elites]
    assert archive.lineage_ids_of([["not an elite"]]) == [[None]]
