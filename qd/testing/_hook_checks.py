"""Checks of the optional ``Domain`` hooks, one per hook, run when a domain overrides it.

A hook left at its default is skipped (the default is the engine's and keeps its own
promise); an overridden one must give what the loop, the run log or the report will
take from it.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qd.domain import Domain
from qd.search.evaluation import checked_evaluate
from qd.testing._compare import fingerprint, short
from qd.testing._context import CheckContext
from qd.testing._report import CheckFailed, CheckSkipped


def _require_override(ctx: CheckContext, hook: str) -> None:
    if getattr(type(ctx.domain), hook) is getattr(Domain, hook):
        raise CheckSkipped(f"{ctx.name} keeps the default {hook}")


def _valid_with_results(ctx: CheckContext) -> tuple[list[Any], list[Any]]:
    """The valid initial candidates (a population) and their evaluations."""
    valid = {id(c) for c in ctx.valid}
    pairs = [(c, r) for c, r in zip(ctx.first, ctx.results, strict=True) if id(c) in valid]
    return [c for c, _ in pairs], [r for _, r in pairs]


def _json_numbers(value: Any, what: str, goes_into: str = "metrics.jsonl") -> None:
    if not isinstance(value, Mapping):
        raise CheckFailed(f"{what} returned {short(value)}, not a dict")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise CheckFailed(
            f"{what} must return JSON (it goes into {goes_into}): {error}; convert numpy "
            "values with float(...) and use None for inf or nan"
        ) from error


def check_parent_selections(ctx: CheckContext) -> None:
    """``parent_selections()`` maps new names to selections whose picks draw the
    operator's arity of parents from the archive's elites."""
    _require_override(ctx, "parent_selections")
    selections = ctx.call(f"{ctx.name}.parent_selections()", ctx.domain.parent_selections)
    if not isinstance(selections, Mapping) or not selections:
        raise CheckFailed(f"{ctx.name}.parent_selections() returned {short(selections)}")
    clash = sorted(set(selections) & {"uniform", "fitness"})
    if clash:
        raise CheckFailed(f"parent selection names {clash} hide the engine's own: rename them")
    ctx.valid  # noqa: B018 (fills the archive)
    elites = {fingerprint(ctx.domain, c) for c in ctx.archive.candidates()}
    for name, selection in selections.items():
        pick = ctx.call(f"parent selection {name!r}", selection, ctx.archive)
        groups = ctx.call(
            f"parent selection {name!r} pick", pick, 3, ctx.operator.arity, ctx.rng(4)
        )
        if len(groups) != 3:
            raise CheckFailed(
                f"parent selection {name!r} drew {len(groups)} groups of parents when asked "
                "for 3 (pick(n, arity, rng) gives n groups)"
            )
        parents = [p for group in groups for p in group]
        if any(len(group) != ctx.operator.arity for group in groups):
            raise CheckFailed(
                f"parent selection {name!r} drew {[len(g) for g in groups]} parents for "
                f"an operator of arity {ctx.operator.arity}"
            )
        strangers = [p for p in parents if fingerprint(ctx.domain, p) not in elites]
        if strangers:
            raise CheckFailed(
                f"parent selection {name!r} drew {short(strangers[0], 80)}, which is no "
                "elite of the archive"
            )


def check_breed(ctx: CheckContext) -> None:
    """``breed(population, evaluations, n, rng)`` gives ``n`` children that evaluate and
    encode, the same ones for an equally seeded rng, leaving the population as it was."""
    _require_override(ctx, "breed")
    population, results = _valid_with_results(ctx)
    watch = [fingerprint(ctx.domain, c) for c in population]
    n = ctx.batch_size

    def bred() -> list[Any]:
        return list(
            ctx.call(f"{ctx.name}.breed", ctx.domain.breed, population, results, n, ctx.rng(5))
        )

    children = bred()
    if len(children) != n:
        raise CheckFailed(f"{ctx.name}.breed(..., n={n}, rng) gave {len(children)} children")
    if [fingerprint(ctx.domain, c) for c in population] != watch:
        raise CheckFailed(
            f"{ctx.name}.breed changed a parent: copy it (copy.deepcopy) before changing it"
        )
    again = [fingerprint(ctx.domain, c) for c in bred()]
    if again != [fingerprint(ctx.domain, c) for c in children]:
        raise CheckFailed(
            f"{ctx.name}.breed is not deterministic for a seeded rng: draw every random "
            "choice from the rng argument"
        )
    scored = ctx.call(f"{ctx.name}.evaluate", checked_evaluate, ctx.domain, children)
    for child, result in zip(children, scored, strict=True):
        if result.valid:
            try:
                json.dumps(ctx.domain.encode(child))
            except (TypeError, ValueError) as error:
                raise CheckFailed(f"{ctx.name}.encode cannot take a bred child: {error}") from error


def check_population_metrics(ctx: CheckContext) -> None:
    """``population_metrics(population, evaluations)`` returns a dict of JSON values."""
    _require_override(ctx, "population_metrics")
    population, results = _valid_with_results(ctx)
    numbers = ctx.call(
        f"{ctx.name}.population_metrics", ctx.domain.population_metrics, population, results
    )
    _json_numbers(numbers, f"{ctx.name}.population_metrics")


def check_features(ctx: CheckContext) -> None:
    """``features(candidate, info)`` gives None or finite vectors of one length."""
    _require_override(ctx, "features")
    lengths = set()
    for candidate, result in zip(ctx.first, ctx.results, strict=True):
        if not result.valid:
            continue
        vector = ctx.call(f"{ctx.name}.features", ctx.domain.features, candidate, result.info)
        if vector is None:
            continue
        try:
            values = [float(v) for v in vector]
        except (TypeError, ValueError) as error:
            raise CheckFailed(f"{ctx.name}.features gave {short(vector)}: {error}") from error
        if not values or not all(math.isfinite(v) for v in values):
            raise CheckFailed(
                f"{ctx.name}.features gave {short(vector)}: give finite numbers, or None "
                "when a candidate has no such vector"
            )
        lengths.add(len(values))
    if len(lengths) > 1:
        raise CheckFailed(f"{ctx.name}.features gave vectors of lengths {sorted(lengths)}")


def check_annotate(ctx: CheckContext) -> None:
    """``annotate(candidate, info)`` gives a dict of JSON values that names no key the
    evaluation already set (it adds to ``info``; it does not rewrite the score's)."""
    _require_override(ctx, "annotate")
    for candidate, result in zip(ctx.first, ctx.results, strict=True):
        if not result.valid:
            continue
        extra = ctx.call(f"{ctx.name}.annotate", ctx.domain.annotate, candidate, result.info)
        _json_numbers(extra, f"{ctx.name}.annotate", "the elite's info and the checkpoints")
        clash = sorted(set(extra) & set(result.info))
        if clash:
            raise CheckFailed(
                f"{ctx.name}.annotate returned keys {clash} that evaluate already set in "
                "info: annotate adds to info, it does not rewrite it"
            )


def check_run_metrics(ctx: CheckContext) -> None:
    """``run_metrics()`` returns a dict of JSON values (after the domain has evaluated)."""
    _require_override(ctx, "run_metrics")
    ctx.results  # noqa: B018 (the domain has done some work)
    _json_numbers(ctx.call(f"{ctx.name}.run_metrics()", ctx.domain.run_metrics), "run_metrics")


def check_report_section(ctx: CheckContext) -> None:
    """``report_section(elites, figures)`` returns markdown lines, and every figure it
    links exists in ``figures``."""
    _require_override(ctx, "report_section")
    ctx.valid  # noqa: B018 (fills the archive)
    with tempfile.TemporaryDirectory() as folder:
        figures = Path(folder) / "report"
        figures.mkdir()
        lines = ctx.call(
            f"{ctx.name}.report_section",
            ctx.domain.report_section,
            ctx.archive.elites(),
            figures,
        )
        if not isinstance(lines, Sequence) or not all(isinstance(line, str) for line in lines):
            raise CheckFailed(f"{ctx.name}.report_section returned {short(lines)}, not lines")
        text = "\n".join(lines)
        missing = []
        for token in text.split(f"({figures.name}/")[1:]:
            name = token.split(")", 1)[0]
            if not (figures / name).is_file():
                missing.append(name)
        if missing:
            raise CheckFailed(
                f"{ctx.name}.report_section links {missing} but did not save them in figures"
            )


def check_checkpoint_files(ctx: CheckContext) -> None:
    """``checkpoint_files(elites)`` returns ``{name: text}`` with plain ``.csv`` names, as
    the run directory writes them."""
    from qd.runs.directory import DOMAIN_FILE

    _require_override(ctx, "checkpoint_files")
    ctx.valid  # noqa: B018 (fills the archive)
    files = ctx.call(
        f"{ctx.name}.checkpoint_files", ctx.domain.checkpoint_files, ctx.archive.elites()
    )
    if not isinstance(files, Mapping):
        raise CheckFailed(f"{ctx.name}.checkpoint_files returned {short(files)}, not a dict")
    for name, text in files.items():
        if not isinstance(name, str) or not DOMAIN_FILE.fullmatch(name):
            raise CheckFailed(
                f"{ctx.name}.checkpoint_files names {name!r}: give a plain file name "
                "ending in .csv (letters, digits, '_', '-', '.'; no folders)"
            )
        if not isinstance(text, str):
            raise CheckFailed(
                f"{ctx.name}.checkpoint_files gave {short(text)} for {name!r}, not text"
            )


def check_render(ctx: CheckContext) -> None:
    """``render(candidate, info)`` returns text or a matplotlib Figure."""
    _require_override(ctx, "render")
    candidate = ctx.valid[0]
    info = next(r.info for c, r in zip(ctx.first, ctx.results, strict=True) if c is candidate)
    shown = ctx.call(f"{ctx.name}.render", ctx.domain.render, candidate, info)
    if isinstance(shown, str):
        return
    from matplotlib.figure import Figure

    if not isinstance(shown, Figure):
        raise CheckFailed(
            f"{ctx.name}.render returned {type(shown).__name__}: return a str or a "
            "matplotlib.figure.Figure"
        )


def check_render_details(ctx: CheckContext) -> None:
    """``render_details(candidate, info)`` gives label -> text, and every value written
    as LaTeX math (``$...$``) can be drawn by matplotlib's mathtext, as the report will."""
    _require_override(ctx, "render_details")
    from qd.viz._math import is_math, math_svg

    candidate = ctx.valid[0]
    info = next(r.info for c, r in zip(ctx.first, ctx.results, strict=True) if c is candidate)
    shown = ctx.call(f"{ctx.name}.render_details", ctx.domain.render_details, candidate, info)
    if not isinstance(shown, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in shown.items()
    ):
        raise CheckFailed(
            f"{ctx.name}.render_details returned {short(shown)}: return a dict of label -> text"
        )
    for label, value in shown.items():
        if is_math(value):
            try:
                math_svg(value)
            except ValueError as error:
                raise CheckFailed(f"{ctx.name}.render_details[{label!r}]: {error}") from error


HOOK_CHECKS = (
    check_parent_selections,
    check_breed,
    check_population_metrics,
    check_features,
    check_annotate,
    check_run_metrics,
    check_report_section,
    check_checkpoint_files,
    check_render,
    check_render_details,
)
