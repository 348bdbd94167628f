"""``check_run``: the same config and seed give the same archive on every backend and
after a kill and resume, for every registered domain that needs no LM (the LM ones are
in ``tests/lm/test_check_lm_domains.py``)."""

from __future__ import annotations

import pytest

from qd.runs import parse_config
from qd.testing import RUN_CHECKS, DomainCheckError, check_run

SMALL_RUNS = {
    # constant tuning on: SciPy's MINPACK made this map differ between two fits
    "symbolic_regression": {"benchmark": "nguyen-7", "tune_constants": 10, "max_size": 20},
    "science_birds": {"letter": "L", "trials": 1},
}


def config(domain: dict, *, iterations: int = 3, batch_size: int = 8, seed: int = 3):
    return parse_config(
        {
            "name": "check",
            "seed": seed,
            "domain": domain,
            "search": {"iterations": iterations, "batch_size": batch_size, "emitters": 2},
        }
    )


@pytest.mark.parametrize("name", sorted(SMALL_RUNS))
def test_a_registered_domain_gives_the_same_archive_every_way(name, tmp_path) -> None:
    report = check_run(config({"name": name, **SMALL_RUNS[name]}), workdir=tmp_path)
    assert report.passed == RUN_CHECKS
    runs = {p.name for p in tmp_path.iterdir() if p.is_dir()}
    assert runs == {"reference", "again", "backend-process", "backend-dask", "killed"}


def test_state_that_outlives_a_run_fails_the_check_by_name() -> None:
    leaky = config({"name": "run_check_domains:Leaky"}, iterations=2, batch_size=4)
    with pytest.raises(DomainCheckError) as caught:
        check_run(leaky, checks=["same_seed", "backend_process"])
    failed = caught.value.report.failed
    assert set(failed) == {"same_seed", "backend_process"}
    assert "run['metrics'][0]" in failed["same_seed"]  # from the first iteration on


def test_an_unknown_check_is_named() -> None:
    with pytest.raises(ValueError, match="'same_sed'"):
        check_run(config({"name": "symbolic_regression"}), checks=["same_sed"])
