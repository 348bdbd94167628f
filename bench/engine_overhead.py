"""The engine's cost per evaluation against raw pyribs, side by side in one run.

Both sides run MAP-Elites on the same trivial problem (a 10-D sphere, measures = the
first two coordinates, a 50 x 50 grid), with Gaussian mutation of uniformly chosen
elites and the same batch sizes:

- **pyribs**: ``GridArchive`` + ``GaussianEmitter`` + ``Scheduler`` ask / tell.
- **qd-engine**: ``qd.search.Search`` over a ``Domain`` doing the same thing through
  our ``OperatorEmitter``, evaluator, ``Archive`` and callbacks (none), with the
  operator vectorised over the batch (``Operator(many=...)``), as GaussianEmitter is.
- **qd-no-lineage**: the same with ``lineage=False`` (no ids, parents or fates kept for
  ``lineage.jsonl``).
- **qd-per-child**: the same as qd-engine, with the operator called once per child
  (``fn`` only), as most domains' operators are (trees, texts).

The evaluation itself costs almost nothing, so the times are the loops' own overhead.
Rounds alternate between the two (the machine is noisy) and the ratio of medians is
printed. Target (docs/architecture.md): at most 2x raw pyribs per evaluation.

Usage::

    python bench/engine_overhead.py                    # 200 iterations x 2 emitters x 36
    python bench/engine_overhead.py --iterations 1000 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from ribs.archives import GridArchive
from ribs.emitters import GaussianEmitter
from ribs.schedulers import Scheduler

from qd.archive import Archive
from qd.domain import Domain, Evaluation, Measure, Operator
from qd.search import Search

DIM = 10
SIGMA = 0.1
BINS = 50


def sphere(solutions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Objectives (higher is better) and measures of a batch of vectors."""
    objectives = -np.sum(solutions**2, axis=1)
    return objectives, np.clip(solutions[:, :2], -1.0, 1.0)


class Sphere(Domain):
    """The same problem as a domain: candidates are numpy vectors."""

    name = "sphere"
    measures = (
        Measure.uniform("x1", -1.0, 1.0, BINS),
        Measure.uniform("x2", -1.0, 1.0, BINS),
    )

    def initial(self, n: int, rng: np.random.Generator) -> list[np.ndarray]:
        return list(np.zeros((n, DIM)))

    def __init__(self, *, vectorised: bool = True) -> None:
        self.vectorised = vectorised

    def variation(self) -> Operator:
        def mutate(parents: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
            return [parents[0] + rng.normal(0.0, SIGMA, DIM)]

        def mutate_many(
            groups: Sequence[Sequence[np.ndarray]], rng: np.random.Generator
        ) -> list[np.ndarray]:
            # every child's noise in one draw, as GaussianEmitter does
            parents = np.stack([group[0] for group in groups])
            return list(parents + rng.normal(0.0, SIGMA, parents.shape))

        many = mutate_many if self.vectorised else None
        return Operator(mutate, arity=1, name="gaussian", many=many)

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        objectives, measures = sphere(np.asarray(batch))
        return [
            Evaluation(o, tuple(m))
            for o, m in zip(objectives.tolist(), measures.tolist(), strict=True)
        ]

    def encode(self, candidate: np.ndarray) -> list[float]:
        return [float(v) for v in candidate]

    def decode(self, data: Any) -> np.ndarray:
        return np.asarray(data, dtype=float)


def run_pyribs(iterations: int, emitters: int, batch: int, seed: int) -> tuple[float, int]:
    archive = GridArchive(solution_dim=DIM, dims=[BINS, BINS], ranges=[(-1, 1), (-1, 1)])
    chosen = [
        GaussianEmitter(archive, sigma=SIGMA, x0=np.zeros(DIM), batch_size=batch, seed=seed + i)
        for i in range(emitters)
    ]
    scheduler = Scheduler(archive, chosen)
    started = time.perf_counter()
    for _ in range(iterations):
        solutions = scheduler.ask()
        objectives, measures = sphere(solutions)
        scheduler.tell(objectives, measures)
    return time.perf_counter() - started, len(archive)


def run_engine(
    iterations: int,
    emitters: int,
    batch: int,
    seed: int,
    *,
    vectorised: bool = True,
    lineage: bool = True,
) -> tuple[float, int]:
    domain = Sphere(vectorised=vectorised)
    archive = Archive(domain.measures)
    search = Search(
        domain,
        archive,
        rng=np.random.default_rng(seed),
        batch_size=batch,
        emitters=emitters,
        lineage=lineage,
    )
    started = time.perf_counter()
    search.run(iterations)
    return time.perf_counter() - started, len(archive)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--emitters", type=int, default=2)
    parser.add_argument("--batch", type=int, default=36)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    evaluations = args.iterations * args.emitters * args.batch
    names = ("pyribs", "qd-engine", "qd-no-lineage", "qd-per-child")
    times: dict[str, list[float]] = {name: [] for name in names}
    elites: dict[str, int] = {}

    def per_child(iterations: int, emitters: int, batch: int, seed: int) -> tuple[float, int]:
        return run_engine(iterations, emitters, batch, seed, vectorised=False)

    def no_lineage(iterations: int, emitters: int, batch: int, seed: int) -> tuple[float, int]:
        return run_engine(iterations, emitters, batch, seed, lineage=False)

    loops = (
        ("pyribs", run_pyribs),
        ("qd-engine", run_engine),
        ("qd-no-lineage", no_lineage),
        ("qd-per-child", per_child),
    )
    for round_ in range(args.rounds):
        for name, run in loops:
            seconds, elites[name] = run(args.iterations, args.emitters, args.batch, round_)
            times[name].append(seconds)
    print(
        f"{args.iterations} iterations x {args.emitters} emitters x {args.batch} = "
        f"{evaluations} evaluations per run, {args.rounds} rounds (median)"
    )
    print(f"{'loop':<13} {'us/eval':>9} {'evals/s':>10} {'elites':>7}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:<13} {1e6 * median / evaluations:>9.2f} {evaluations / median:>10,.0f} "
            f"{elites[name]:>7}"
        )
    base = statistics.median(times["pyribs"])
    ratio = statistics.median(times["qd-engine"]) / base
    print(f"qd-engine / pyribs per evaluation: {ratio:.2f}x (target <= 2x)")
    bare = statistics.median(times["qd-no-lineage"]) / base
    print(f"qd-no-lineage (lineage=False: no ids, parents or fates kept) / pyribs: {bare:.2f}x")
    slower = statistics.median(times["qd-per-child"]) / base
    print(f"qd-per-child (operator called once per child, no many=) / pyribs: {slower:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
