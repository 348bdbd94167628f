"""The generational loop (qd.search.population) in the run directory, the parent-selection seam
of MAP-Elites (qd.search.parents) with PIMP as one choice, many runs (qd.runs.batch) and the
statistics of a study (qd.metrics.stats)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from domains.symbolic_regression import SymbolicRegression
from domains.symbolic_regression.mate_choice import Individual
from domains.symbolic_regression.population import MateChoiceRegression, PimpParents
from domains.symbolic_regression.primitives import decode_tree, make_pset
from qd.archive import Archive, sample_from
from qd.metrics.stats import holm, mann_whitney, vargha_delaney_a
from qd.runs import ConfigError, RunDirectory, execute, load_archive, parse_config, start
from qd.runs.batch import RunSpec, result_path, run_all, run_spec
from qd.search import PopulationSearch, Search
from qd.search.evaluation import checked_evaluate
from qd.search.parents import fitness_parents, parent_selections, resolve_parents, uniform_parents

DOMAIN = "domains.symbolic_regression.population:MateChoiceRegression"
SMALL = {"name": DOMAIN, "max_depth": 6, "max_size": 40, "init_depth": [1, 3]}


def population_config(name: str = "pop", **search) -> dict:
    return {
        "name": name,
        "seed": 5,
        "domain": dict(SMALL),
        "search": {
            "loop": "population",
            "batch_size": 24,
            "iterations": 8,
            "checkpoint_every": 3,
            **search,
        },
    }


class Crash(Exception):
    pass


def crash_at(iteration: int):
    def callback(search, result):
        if result.iteration == iteration:
            raise Crash  # killed after the metrics line, before any checkpoint of its own

    return callback


def without_timings(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


# --- the population loop -----------------------------------------------------------------


def test_a_population_run_killed_mid_way_resumes_to_the_same_result(tmp_path: Path) -> None:
    whole = start(parse_config(population_config("whole")), tmp_path)
    execute(whole)
    broken = start(parse_config(population_config("broken")), tmp_path)
    with pytest.raises(Crash):
        execute(broken, callbacks=[crash_at(5)])
    assert len(broken.metrics()) == 5 and broken.latest_checkpoint().iteration == 3
    execute(broken, resume=True)

    assert without_timings(broken.metrics()) == without_timings(whole.metrics())
    assert [r["iteration"] for r in broken.metrics()] == list(range(1, 9))
    done, again = whole.latest_checkpoint(), broken.latest_checkpoint()
    assert done.iteration == again.iteration == 8 and done.evaluations == 8 * 24
    assert done.state == again.state and len(done.state["population"]) == 24
    assert done.records == again.records and done.rng_state == again.rng_state


def test_a_population_run_logs_the_study_numbers_and_reports(tmp_path: Path) -> None:
    run = start(parse_config(population_config(iterations=3)), tmp_path)
    execute(run)
    row = run.metrics()[-1]
    for key in (
        "best_train_error",
        "median_train_error",
        "test_error_of_best",
        "hits",
        "genotypic_diversity",
        "phenotypic_diversity",
        "phenotypic_entropy",
        "mean_size",
        "mean_depth",
        "mean_ideal_size",
        "population_best",
        "qd_score",
    ):
        assert row[key] is not None, key
    assert 0 < row["phenotypic_diversity"] <= row["genotypic_diversity"] <= 1
    assert row["best_train_error"] <= row["median_train_error"]
    _, _, archive, _ = load_archive(run)  # `qd report` reads the same archive
    assert len(archive) == row["num_elites"] > 0
    from qd.viz.report import write_report

    assert "Top elites" in write_report(run.path, top=1, spread=0).read_text()


def test_elitism_keeps_the_best_and_saves_their_evaluations() -> None:
    domain = MateChoiceRegression(
        benchmark="koza-1", **{k: v for k, v in SMALL.items() if k != "name"}
    )
    search = PopulationSearch(
        domain,
        Archive(domain.measures),
        rng=np.random.default_rng(0),
        population_size=20,
        elitism=2,
    )
    bests = [search.step().metrics()["population_best"] for _ in range(6)]
    assert bests == sorted(bests)  # never lost
    assert search.evaluations == 20 + 5 * 18


def test_any_domain_runs_in_the_population_loop_by_tournaments() -> None:
    domain = SymbolicRegression(max_depth=5, max_size=24)
    search = PopulationSearch(
        domain, Archive(domain.measures), rng=np.random.default_rng(1), population_size=16
    )
    search.run(4)
    assert search.iteration == 4 and search.evaluations == 64 and len(search.population) == 16
    assert search.archive.stats.num_elites > 0


@pytest.mark.parametrize(
    ("search", "key"),
    [
        ({"loop": "ring"}, "search.loop"),
        ({"loop": "population", "emitters": 2}, "search.emitters"),
        ({"loop": "population", "parents": "pimp"}, "search.parents"),
        ({"elitism": 1}, "search.elitism"),
        ({"loop": "population", "elitism": 24}, "search.elitism"),
    ],
)
def test_bad_loop_settings_name_the_key(search: dict, key: str) -> None:
    config = population_config()
    config["search"] = {"batch_size": 24, **search}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config(config)


def test_a_map_elites_checkpoint_cannot_resume_as_a_population(tmp_path: Path) -> None:
    config = population_config(iterations=2)
    config["search"]["loop"] = "map_elites"
    run = start(parse_config(config), tmp_path)
    execute(run)
    text = run.config_path.read_text().replace('loop = "map_elites"', 'loop = "population"')
    run.config_path.write_text(text)
    from qd.runs import RunError

    with pytest.raises(RunError, match="holds no population"):
        execute(run, resume=True)


# --- parent selection in MAP-Elites --------------------------------------------------------

PSET = make_pset(1)


def individuals() -> list[Individual]:
    """Four elites of different sizes; the first wants a mate computing x^2."""

    def tree(*tokens):
        return decode_tree(list(tokens), PSET)

    return [
        Individual(tree("cos", "x1"), tree("mul", "x1", "x1")),
        Individual(tree("mul", "x1", "add", "x1", 0.0), tree("sin", "x1")),  # x^2
        Individual(tree("add", "x1", "x1"), tree("sin", "x1")),
        Individual(tree("sin", "sin", "sin", "x1"), tree("sin", "x1")),
    ]


def filled_archive(domain) -> Archive:
    archive = Archive(domain.measures)
    pop = individuals()
    archive.add(pop, checked_evaluate(domain, pop))
    assert len(archive) == 4  # one cell each
    return archive


def test_uniform_parents_draw_as_the_archive_always_did() -> None:
    domain = MateChoiceRegression(benchmark="koza-1")
    archive = filled_archive(domain)
    ours = uniform_parents(archive)
    first, second = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(5):
        assert ours(2, first) == sample_from(archive.candidates(), 2, second)


def test_fitness_proportional_parents_never_draw_a_zero_weight_elite() -> None:
    domain = MateChoiceRegression(benchmark="koza-1")
    archive = filled_archive(domain)
    archive_offset = Archive(domain.measures, qd_score_offset=0.5)
    pop = individuals()
    archive_offset.add(pop, checked_evaluate(domain, pop))
    objectives = {id(e.candidate): e.objective for e in archive_offset.elites()}
    drawn = fitness_parents(archive_offset)(400, np.random.default_rng(0))
    assert all(objectives[id(c)] > 0.5 for c in drawn)
    assert len({id(c) for c in fitness_parents(archive)(400, np.random.default_rng(0))}) == 4


def test_pimp_parents_take_the_elite_nearest_the_first_parents_ideal() -> None:
    domain = MateChoiceRegression(benchmark="koza-1")
    archive = filled_archive(domain)
    pick = PimpParents(domain.similarity, pool=60)(archive)  # a pool of 60 sees every other
    rng = np.random.default_rng(0)
    by_tree = {str(c.tree): c for c in archive.candidates()}
    wanted = {str(c.tree): str(c.ideal) for c in archive.candidates()}
    chosen = [pick(2, rng) for _ in range(80)]
    assert {str(first.tree) for first, _ in chosen} == set(by_tree)  # first: uniform
    for first, second in chosen:
        assert second is not first
        if wanted[str(first.tree)] == "mul(x1, x1)":
            assert str(second.tree) == "mul(x1, add(x1, 0.0))"  # computes x^2


def test_parent_selections_by_name_include_the_domains_own() -> None:
    assert set(parent_selections(SymbolicRegression())) == {"uniform", "fitness"}
    assert set(parent_selections(MateChoiceRegression())) == {"uniform", "fitness", "pimp"}
    with pytest.raises(
        ValueError, match=r"unknown parent selection 'pimp'.*\['fitness', 'uniform'\]"
    ):
        resolve_parents("pimp", SymbolicRegression())


def test_map_elites_with_pimp_parents_runs_and_repeats(tmp_path: Path) -> None:
    config = {
        "name": "me",
        "seed": 2,
        "domain": dict(SMALL),
        "search": {"iterations": 4, "batch_size": 16, "parents": "pimp", "checkpoint_every": 2},
    }
    runs = []
    for name in ("a", "b"):
        run = start(parse_config({**config, "name": name}), tmp_path)
        execute(run)
        runs.append(run)
    a, b = (r.latest_checkpoint() for r in runs)
    assert a.records == b.records and len(a.records) > 0
    bad = {**config, "name": "bad", "domain": {"name": "symbolic_regression"}}
    with pytest.raises(ConfigError, match=r"search\.parents"):
        execute(start(parse_config(bad), tmp_path))


def test_search_takes_a_parent_selection_callable() -> None:
    domain = MateChoiceRegression(**{k: v for k, v in SMALL.items() if k != "name"})
    calls = []

    def counting(archive):
        calls.append(len(archive))
        return uniform_parents(archive)

    search = Search(
        domain, Archive(domain.measures), rng=np.random.default_rng(0), parents=counting
    )
    search.run(3)
    assert len(calls) == 2  # the first ask makes initial candidates, no parents


# --- many runs ----------------------------------------------------------------------------


def spec(key: str, seed: int) -> RunSpec:
    config = population_config(iterations=4, batch_size=12)
    config["seed"] = seed
    return RunSpec(key, config, {"seed": seed})


def test_a_finished_run_is_read_back_and_an_interrupted_one_resumes(tmp_path: Path) -> None:
    clean = run_spec(spec("clean", 1), tmp_path, ("phenotypic_diversity",))
    assert len(clean["curves"]["phenotypic_diversity"]) == 4 and "seconds" not in clean["final"]
    assert run_spec(spec("clean", 1), tmp_path) == clean  # read back, not rerun

    config = parse_config({**spec("cut", 1).config, "name": "cut"})
    with pytest.raises(Crash):  # a worker lost mid-run
        execute(start(config, tmp_path / "runs"), callbacks=[crash_at(3)])
    again = run_spec(spec("cut", 1), tmp_path, ("phenotypic_diversity",))
    assert again["final"] == {**clean["final"]} and again["curves"] == clean["curves"]
    assert len(RunDirectory(tmp_path / "runs" / "cut").checkpoints()) == 1  # newest kept


def test_run_all_skips_finished_runs_and_refuses_duplicate_keys(tmp_path: Path) -> None:
    specs = [spec("one", 1), spec("two", 2)]
    results, failures = run_all(specs, tmp_path, serial=True, progress=False)
    assert [r["key"] for r in results] == ["one", "two"] and not failures
    stamp = result_path(tmp_path, "one").stat().st_mtime_ns
    again, _ = run_all(specs, tmp_path, serial=True, progress=False)
    assert again == results and result_path(tmp_path, "one").stat().st_mtime_ns == stamp
    assert json.loads(result_path(tmp_path, "two").read_text())["labels"] == {"seed": 2}
    with pytest.raises(ValueError, match="repeated"):
        run_all([spec("one", 1), spec("one", 2)], tmp_path, serial=True)


# --- statistics ---------------------------------------------------------------------------


def test_vargha_delaney_a_and_mann_whitney() -> None:
    assert vargha_delaney_a([3, 4], [1, 2]) == 1.0
    assert vargha_delaney_a([1, 2], [1, 2]) == 0.5
    assert vargha_delaney_a([1], [1, 2]) == 0.25
    same = mann_whitney([0.0] * 5, [0.0] * 5)
    assert (same.p, same.a12, same.magnitude) == (1.0, 0.5, "negligible")
    apart = mann_whitney(range(10), range(10, 20))
    assert apart.p < 1e-3 and apart.a12 == 0.0 and apart.magnitude == "large"
    assert apart.rank_biserial == -1.0


def test_holm_adjusts_in_input_order() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, float("nan")])[0] == 0.5
