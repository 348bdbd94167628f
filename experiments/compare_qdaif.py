"""QDAIF against the paper's baselines, same judge, same archive layout, same budget.

    python experiments/compare_qdaif.py --domain stories2d --seeds 5 --iters 40

Methods (Bradley et al., ICLR 2024): QDAIF (LMX-near, seeded), Fixed-Few-Shot,
Shuffling-Few-Shot, Random-Search (few-shot from all outputs so far) and
LMX-Quality-Only (top-100 pool by quality). Prints final QD score, coverage and best
quality per method (mean and 95% bootstrap CI over seeds) and saves the QD-score
curves. QD score here is on the archive's own scale (sum of qualities over cells), and
the paper reports it normalised to 100, so compare ratios between methods, not levels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qd.runs import RunDirectory, execute, load_config, start
from qd.viz import compare_curves, save_figure

CONFIG = Path(__file__).with_name("qdaif_stories2d.toml")
METHODS = {
    "QDAIF": "near",
    "Fixed-Few-Shot": "fixed",
    "Shuffling-Few-Shot": "shuffle",
    "Random-Search": "random",
    "LMX-Quality-Only": "quality",
}
DOMAINS = {
    "stories2d": ['domain.task="stories"', 'domain.descriptors=["genre", "ending"]'],
    "stories-genre": ['domain.task="stories"', 'domain.descriptors=["genre"]'],
    "stories-ending": ['domain.task="stories"', 'domain.descriptors=["ending"]'],
    "opinions": ['domain.task="opinions"', 'domain.descriptors=["sentiment"]'],
}


def bootstrap_ci(values: list[float], *, rng: np.random.Generator, n: int = 2000) -> tuple:
    """Mean and 95% percentile-bootstrap interval (a point when there is one seed)."""
    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        return float(data.mean()), float(data.mean()), float(data.mean())
    means = rng.choice(data, size=(n, len(data)), replace=True).mean(axis=1)
    return float(data.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", choices=sorted(DOMAINS), default="stories2d")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--judges",
        default=None,
        help="the axes' judges for every method: 'lm' (the paper's LM judge) or another "
        "name of domains.creative_writing.judging; default: the domain's measured best",
    )
    parser.add_argument("--vendi", action="store_true", help="also print the final Vendi score")
    parser.add_argument(
        "--no-steer", action="store_true", help="QDAIF's plain template (the config steers)"
    )
    parser.add_argument("--runs-dir", default="runs/compare")
    args = parser.parse_args()

    curves: dict[str, list[list[dict]]] = {}
    finals: dict[str, list[dict]] = {}
    for method in args.methods.split(","):
        if method not in METHODS:
            parser.error(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        for seed in range(args.seeds):
            overrides = [
                *DOMAINS[args.domain],
                f'domain.lmx="{METHODS[method]}"',
                f"seed={seed}",
                f"search.iterations={args.iters}",
                f"search.batch_size={args.batch_size}",
                f'name="{args.domain}-{METHODS[method]}-{seed}"',
            ]
            if args.max_tokens:
                overrides.append(f"domain.max_tokens={args.max_tokens}")
            if args.judges:
                overrides.append(f'domain.judges="{args.judges}"')
            if args.no_steer:
                overrides.append("domain.steer=false")
            run = start(load_config(CONFIG, overrides), args.runs_dir, force=True)
            execute(run)
            metrics = RunDirectory(run.path).metrics()
            curves.setdefault(method, []).append(metrics)
            finals.setdefault(method, []).append(metrics[-1])
            print(f"{method} seed {seed}: QD {metrics[-1]['qd_score']:.3f}", flush=True)

    rng = np.random.default_rng(0)
    print(f"\n{args.domain}, {args.seeds} seeds x {args.iters} iterations x {args.batch_size}")
    keys = ["qd_score", "coverage", "obj_max"] + (["vendi"] if args.vendi else [])
    names = {"qd_score": "QD score", "coverage": "coverage", "obj_max": "best quality"}
    print(f"{'method':<20} " + " ".join(f"{names.get(k, k):>24}" for k in keys))
    for method, rows in finals.items():
        cells = []
        for key in keys:
            mean, low, high = bootstrap_ci([r.get(key) or 0.0 for r in rows], rng=rng)
            cells.append(f"{mean:8.3f} [{low:6.3f}, {high:6.3f}]")
        print(f"{method:<20} " + " ".join(f"{c:>24}" for c in cells))
    figure = save_figure(compare_curves(curves), Path(args.runs_dir) / "qd_score_curves.png")
    print(f"\ncurves: {figure}")


if __name__ == "__main__":
    main()
