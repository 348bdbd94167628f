"""`qd report` on a map of formulas: the accuracy-size front, simplified, and the best drawn."""

from __future__ import annotations

import re

import numpy as np

from domains.symbolic_regression.data import make_dataset
from domains.symbolic_regression.domain import SymbolicRegression
from domains.symbolic_regression.report import formula_front
from qd.archive import Archive
from qd.search import Search


def test_the_front_is_smaller_and_worse_or_larger_and_better(tmp_path) -> None:
    X = np.linspace(0.5, 2.0, 40)[:, None]
    data = make_dataset(X, 3.0 * X[:, 0] ** 2 + 1.0, test_size=0.25, seed=0)
    domain = SymbolicRegression(data=data, max_size=20, max_depth=5)
    archive = Archive(domain.measures)
    Search(domain, archive, rng=np.random.default_rng(0), batch_size=30).run(15)
    front = formula_front(domain, archive.elites())
    sizes = [row["size"] for row in front]
    errors = [row["train_error"] for row in front]
    assert sizes == sorted(sizes) and errors == sorted(errors, reverse=True)
    assert errors[-1] < 1e-9  # x1 * x1, scaled, is exact

    lines = domain.report_section(archive.elites(), tmp_path / "report")
    text = "\n".join(lines)
    assert text.startswith("## Formulas")
    rows = re.findall(r"^\| (\d+) \| ([\d.-]+) \| ([\d.-]+) \| `(.*)` \|$", text, re.M)
    assert [int(r[0]) for r in rows] == sizes
    assert float(rows[-1][1]) > 0.999999 and float(rows[-1][2]) > 0.999999
    assert "x1**2" in rows[-1][3]  # simplified: 3*x1**2 + 1, not (x1 * x1) scaled
    assert re.search(r"\$\$ y = .*x_\{1\}\^\{2\}", text)
    assert (tmp_path / "report" / "best_formula.png").stat().st_size > 1000


def test_a_run_rewrites_its_hall_of_fame_at_each_checkpoint(tmp_path) -> None:
    import csv
    import io

    from domains.symbolic_regression.hall_of_fame import FILE_NAME
    from qd.runs import execute, load_archive, parse_config, start

    config = parse_config(
        {
            "name": "sr",
            "seed": 3,
            "domain": {"name": "symbolic_regression", "max_depth": 5, "max_size": 24},
            "search": {"iterations": 7, "batch_size": 12, "checkpoint_every": 3},
        }
    )
    run = start(config, tmp_path)
    path = run.path / "domain" / FILE_NAME
    seen: dict[int, str | None] = {}

    def watch(search, result) -> None:  # called after the run's own logger
        seen[result.iteration] = path.read_text() if path.exists() else None

    execute(run, callbacks=[watch])
    assert seen[1] is None and seen[2] is None  # nothing before the first checkpoint
    assert seen[3] is not None and seen[3] == seen[4] == seen[5]  # written at 3, kept
    assert seen[6] is not None and path.read_text() != ""  # again at 6, and at the end (7)
    _, domain, archive, checkpoint = load_archive(run)
    assert checkpoint.iteration == 7
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    front = formula_front(domain, archive.elites())
    assert [int(r["size"]) for r in rows] == [row["size"] for row in front]
    assert [float(r["error"]) for r in rows] == [row["train_error"] for row in front]
    assert [r["formula"] for r in rows] == [str(row["formula"]) for row in front]
    assert [r["raw"] for r in rows] == [row["formula"].raw for row in front]
    # The file is the run's own: `qd run --force` may replace the directory.
    start(config, tmp_path, force=True)
    assert not path.exists()
