"""Measure every text judge on labelled data: accuracy, AUC, calibration and cost.

    python experiments/judges.py                       # all judges x genre, ending, sentiment
    python experiments/judges.py --axes genre --limit 8 --judges anchors,probe
    python experiments/judges.py --write               # also refit domains/.../judges.json

The labelled sets are ``domains/creative_writing/validation/`` (96 stories, 48 opinions,
written for this purpose; see the README there); ``quality`` sets the 96 stories
against 96 flawed texts made from them by fixed rules (off topic, repeated, shuffled,
title and URL; ``judging.flawed_texts``). Judges:

- ``lm``: QDAIF's LM judge as the domain asks it (zero-shot, P(label) from logprobs);
- ``lm-contextual``: divided by the label prior on content-free inputs (Zhao et al.);
- ``lm-platt``: its log-odds rescaled by a Platt fit (cross-fitted);
- ``lm-fewshot``: two labelled examples per label in the prompt (from other folds);
- ``anchors-raw``: cosine to the built-in anchor texts, T = 0.05, no fit;
- ``anchors``: the same with temperature and bias fitted (cross-fitted);
- ``probe``: logistic regression on the embeddings (cross-fitted);
- ``anchors-last``, ``probe-last``: the same on the last sentence only (the ending).

Fitted judges are scored on folds they were not fitted on (``--folds``, stratified), so
no number here is in-sample. Cost is wall seconds and tokens per 100 texts on this
machine (for the embedding judges, embedding the texts; for ``lm-*``, the judge calls).
LMs: the configured server (``QD_LM_BASE_URL``, ``QD_EMBED_BASE_URL``) or the embedded
SmolLM2-135M and all-MiniLM-L6-v2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.creative_writing.domain import TASKS
from domains.creative_writing.judging import (
    ANCHORS,
    FITTED_PATH,
    LABELS,
    validation_set,
)
from qd.lm import open_lm, settings_from_env
from qd.lm.anchors import AnchoredAxis, fit_calibration
from qd.lm.judges import LMLabelJudge, text_view
from qd.metrics.judges import score_judge, stratified_folds

LM_JUDGES = ("lm", "lm-contextual", "lm-platt", "lm-fewshot")
EMBEDDING_JUDGES = ("anchors-raw", "anchors", "probe", "anchors-last", "probe-last")
JUDGES = LM_JUDGES + EMBEDDING_JUDGES
PROBE_C = 10.0  # inverse L2 strength; 1, 10 and 100 gave AUCs within 0.02 of each other


def _cost(began: float, usage_before: dict, usage_after: dict, n: int) -> dict[str, float]:
    seconds = time.perf_counter() - began
    tokens = usage_after["prompt_tokens"] + usage_after.get("completion_tokens", 0)
    tokens -= usage_before["prompt_tokens"] + usage_before.get("completion_tokens", 0)
    return {"s_per_100": 100 * seconds / n, "tokens_per_100": 100 * tokens / n}


def fit_probe(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """L2 logistic regression (scikit-learn) with C = 10, chosen once on these data."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=PROBE_C, max_iter=2000).fit(x, y)
    return model.coef_[0], float(model.intercept_[0])


def fit_platt(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``sigmoid(a * logit(p) + b)`` fitted to labels (a 1-D logistic regression)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=100.0).fit(_logits(p).reshape(-1, 1), y)
    return float(model.coef_[0][0]), float(model.intercept_[0])


def cross_fit(
    y: np.ndarray, folds: list[np.ndarray], predict: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """Out-of-fold predictions: ``predict(train_idx, test_idx)`` for each fold."""
    out = np.full(len(y), np.nan)
    everything = np.arange(len(y))
    for test in folds:
        train = np.setdiff1d(everything, test)
        out[test] = predict(train, test)
    return out


def evaluate_axis(
    lm: Any, axis: str, judges: list[str], *, limit: int | None, k: int, seed: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every judge's scores on one axis, and the parameters fitted on all its texts."""
    texts, labels = validation_set(axis, limit=limit)
    y = np.asarray(labels)
    folds = stratified_folds(y, k, seed=seed)
    instruction, lm_labels = _lm_question(LABELS[axis][0], axis)
    rows: list[dict[str, Any]] = []
    fitted: dict[str, Any] = {}

    def report(judge: str, p: np.ndarray, cost: dict[str, float]) -> None:
        score = score_judge(p, y, seed=seed)
        rows.append({"axis": axis, "judge": judge, "n": score.n, **score.row(), **cost})
        print(f"  {axis:9s} {judge:14s} " + "  ".join(f"{k}={v}" for k, v in score.row().items()))

    for view, suffix in (("text", ""), ("last-sentence", "-last")):
        wanted = [
            j for j in judges if j in EMBEDDING_JUDGES and j.endswith("-last") == bool(suffix)
        ]
        if not wanted:
            continue
        before, began = lm.embedder.usage.snapshot(), time.perf_counter()
        vectors = lm.embed([text_view(t, view) for t in texts])
        embed_cost = _cost(began, before, lm.embedder.usage.snapshot(), len(texts))
        axis_spec = AnchoredAxis(poles=ANCHORS[axis])
        sims = axis_spec.similarities(vectors, lm.embed(axis_spec.texts))
        if f"anchors-raw{suffix}" in wanted:
            report(f"anchors-raw{suffix}", axis_spec.values(sims), embed_cost)
        if f"anchors{suffix}" in wanted:

            def anchors(
                train: np.ndarray, test: np.ndarray, sims=sims, spec=axis_spec
            ) -> np.ndarray:
                return fit_calibration(spec, sims[train], y[train]).values(sims[test])

            report(f"anchors{suffix}", cross_fit(y, folds, anchors), embed_cost)
            full = fit_calibration(axis_spec, sims, y)
            fitted.setdefault(f"anchors{suffix}", {})[axis] = {
                "temperature": round(full.temperature, 6),
                "bias": [round(b, 6) for b in full.bias],
            }
        if f"probe{suffix}" in wanted:

            def probe(train: np.ndarray, test: np.ndarray, vectors=vectors) -> np.ndarray:
                w, b = fit_probe(vectors[train], y[train])
                return 1.0 / (1.0 + np.exp(-(vectors[test] @ w + b)))

            report(f"probe{suffix}", cross_fit(y, folds, probe), embed_cost)
            w, b = fit_probe(vectors, y)
            fitted.setdefault(f"probe{suffix}", {})[axis] = {
                "weights": [round(float(v), 6) for v in w],
                "bias": round(b, 6),
                "view": view,
            }

    lm_kwargs = {"instruction": instruction, "labels": lm_labels}
    zero_shot: tuple[np.ndarray, dict[str, float]] | None = None
    for judge in [j for j in judges if j in LM_JUDGES]:
        before, began = lm.usage.snapshot(), time.perf_counter()
        if judge in {"lm", "lm-platt"} and zero_shot is not None:
            p, cost = zero_shot  # the same judge calls; Platt scaling costs nothing more
        elif judge == "lm-fewshot":
            p = np.full(len(y), np.nan)
            for test in folds:
                train = np.setdiff1d(np.arange(len(y)), test)
                rng = np.random.default_rng(seed)
                picks = [int(rng.choice(train[y[train] == c])) for c in (0, 1, 1, 0)]
                examples = [(texts[i], lm_labels[y[i]]) for i in picks]
                p[test] = _values(LMLabelJudge(lm, examples=examples, **lm_kwargs), texts, test)
        else:
            calibration = "contextual" if judge == "lm-contextual" else "none"
            judge_obj = LMLabelJudge(lm, calibration=calibration, **lm_kwargs)
            p = _values(judge_obj, texts, np.arange(len(y)))
        if judge not in {"lm", "lm-platt"} or zero_shot is None:
            cost = _cost(began, before, lm.usage.snapshot(), len(texts))
        if judge in {"lm", "lm-platt"} and zero_shot is None:
            zero_shot = (p, cost)
        if judge == "lm-platt":
            a, b = fit_platt(p, y)  # on the raw zero-shot values, as a run would apply it
            fitted.setdefault("lm-platt", {})[axis] = [round(a, 6), round(b, 6)]
            p = cross_fit(y, folds, lambda tr, te, p=p: _platt_predict(p, y, tr, te))
        report(judge, p, cost)
    return rows, fitted


def _lm_question(task: str, axis: str) -> tuple[str, tuple[str, str]]:
    """The domain's LM question for an axis, and its (low, high) answer labels."""
    if axis == "quality":
        return TASKS[task]["quality"], ("no", "yes")
    spec = TASKS[task]["axes"][axis]
    return spec.instruction, (spec.label_b, spec.label_a)


def _platt_predict(p: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    a, b = fit_platt(p[train], y[train])
    return 1.0 / (1.0 + np.exp(-(a * _logits(p[test]) + b)))


def _logits(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities, clipped away from 0 and 1."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _values(judge: LMLabelJudge, texts: list[str], idx: np.ndarray) -> np.ndarray:
    scores = judge.score([texts[i] for i in idx])
    return np.array([0.5 if v is None else v for v, _ in scores])


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a markdown table."""
    lines = [
        "| axis | judge | n | accuracy | AUC | ECE | s / 100 texts | tokens / 100 texts |",
        "|---|---|---:|---|---|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['axis']} | {r['judge']} | {r['n']} | {r['accuracy']} | {r['AUC']} | "
            f"{r['ECE']} | {r['s_per_100']:.1f} | {r['tokens_per_100']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--axes", default=",".join(LABELS), help="comma-separated axes")
    parser.add_argument("--judges", default=",".join(JUDGES), help="comma-separated judges")
    parser.add_argument("--limit", type=int, default=None, help="texts per label (subset)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help=f"refit {FITTED_PATH.name}")
    parser.add_argument("--out", default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    axes = [a for a in args.axes.split(",") if a]
    judges = [j for j in args.judges.split(",") if j]
    for name, known in (("axis", LABELS), ("judge", JUDGES)):
        for value in axes if name == "axis" else judges:
            if value not in known:
                parser.error(f"unknown {name} {value!r}; choose from {', '.join(known)}")
    rows: list[dict[str, Any]] = []
    fitted: dict[str, Any] = {}
    with open_lm(settings_from_env()) as lm:
        # Start the servers before any clock runs: cost is per text, not start-up.
        if any(j in EMBEDDING_JUDGES for j in judges):
            lm.embed(["warm-up"])
        if any(j in LM_JUDGES for j in judges):
            lm.complete("warm-up", max_tokens=1, temperature=0)
        for axis in axes:
            found_rows, found_fit = evaluate_axis(
                lm, axis, judges, limit=args.limit, k=args.folds, seed=args.seed
            )
            rows += found_rows
            for family, params in found_fit.items():
                fitted.setdefault(family, {}).update(params)
    print()
    print(markdown(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    if args.write:
        merged = json.loads(FITTED_PATH.read_text()) if FITTED_PATH.is_file() else {}
        for family, params in fitted.items():
            merged.setdefault(family, {}).update(params)
        FITTED_PATH.write_text(json.dumps(merged, indent=1) + "\n")
        print(f"\nwrote {FITTED_PATH}")
    return rows


if __name__ == "__main__":
    main()
