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
