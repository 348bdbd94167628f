"""The named checks of ``check_domain``: one function per promise of the plug-in contract.

Each takes the shared :class:`~qd.testing._context.CheckContext` and raises
:class:`~qd.testing.CheckFailed` with what to do, or :class:`~qd.testing.CheckSkipped`
when the promise does not apply. They run in the order of :data:`CHECKS`, which is
also the order a run meets them.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qd.archive import Archive
from qd.domain import Evaluation, Measure
from qd.search.map_elites import Search
from qd.testing._compare import encoded, evaluation_diff, fingerprint, json_diff, short
from qd.testing._context import CheckContext, result_problem
from qd.testing._hook_checks import HOOK_CHECKS
from qd.testing._report import CheckFailed, CheckSkipped


@dataclass(frozen=True)
class DomainCheck:
    """One promise of the contract, checked.

    Attributes:
        name: How reports and ``check_domain(checks=...)`` name it.
        fn: ``fn(context)``; raises ``CheckFailed`` or ``CheckSkipped``.
        promise: What a domain that passes it does (the function's first docstring line).
    """

    name: str
    fn: Callable[[CheckContext], None]

    @property
    def promise(self) -> str:
        return (self.fn.__doc__ or "").strip().splitlines()[0]


class _Unscorable:
    """A candidate no domain can know: evaluate must answer invalid, not raise."""

    def __repr__(self) -> str:
        return "<unscorable candidate>"


def check_measures(ctx: CheckContext) -> None:
    """``measures`` is a non-empty sequence of ``Measure`` with distinct names."""
    measures = getattr(ctx.domain, "measures", None)
    if not isinstance(measures, Sequence) or isinstance(measures, str | Measure):
        raise CheckFailed(
            f"{ctx.name}.measures is {short(measures)}: set a tuple of qd.domain.Measure"
        )
    if not measures:
        raise CheckFailed(f"{ctx.name}.measures is empty: declare at least one Measure")
    for m in measures:
        if not isinstance(m, Measure):
            raise CheckFailed(
                f"{ctx.name}.measures holds {m!r}, not a qd.domain.Measure: build it with "
                "Measure.uniform, Measure.with_edges or Measure.categorical"
            )
    names = [m.name for m in measures]
    if len(set(names)) != len(names):
        raise CheckFailed(f"{ctx.name}.measures repeats a name: {names}; names must differ")


def check_initial(ctx: CheckContext) -> None:
    """``initial(n, rng)`` returns a list of ``n`` candidates."""
    if len(ctx.first) != ctx.batch_size:
        raise CheckFailed(f"{ctx.name}.initial({ctx.batch_size}, rng) gave {len(ctx.first)}")


def check_evaluate_results(ctx: CheckContext) -> None:
    """``evaluate`` gives one ``Evaluation`` per candidate; a valid one has a finite
    objective and one fitting value per measure; some initial candidate is valid."""
    for result in ctx.results:
        if not isinstance(result, Evaluation):
            raise CheckFailed(
                f"{ctx.name}.evaluate returned {short(result)}, not a qd.domain.Evaluation"
            )
        if result.valid:
            problem = result_problem(ctx.domain, result)
            if problem:
                raise CheckFailed(f"{ctx.name}: {problem}")
    ctx.valid  # noqa: B018 (fails when no initial candidate is valid)


def check_info_is_json(ctx: CheckContext) -> None:
    """Every valid ``Evaluation.info`` is a dict of JSON values (it goes into checkpoints)."""
    for result in ctx.results:
        if not isinstance(result, Evaluation) or not result.valid:
            continue
        if not isinstance(result.info, dict):
            raise CheckFailed(f"{ctx.name}: Evaluation.info is {short(result.info)}, not a dict")
        try:
            json.dumps(result.info, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise CheckFailed(
                f"{ctx.name}: Evaluation.info must be JSON (it goes into checkpoints): "
                f"{error}; convert numpy values with float(...) and use None for inf or nan"
            ) from error


def check_encode_json(ctx: CheckContext) -> None:
    """``encode`` turns every valid candidate into JSON values."""
    for candidate in ctx.valid:
        try:
            encoded(ctx.domain, candidate)
        except (TypeError, ValueError) as error:
            raise CheckFailed(
                f"{ctx.name}.encode must return JSON values (dicts, lists, strings, "
                f"numbers, booleans, None): {error}"
            ) from error


def check_round_trip(ctx: CheckContext) -> None:
    """``decode(encode(c))`` encodes again to the same JSON and scores like ``c``: same
    objective, measures and info."""
    valid = {id(c) for c in ctx.valid}
    pairs = [(c, r) for c, r in zip(ctx.first, ctx.results, strict=True) if id(c) in valid]
    decoded = []
    for candidate, _ in pairs:
        text = ctx.call(f"{ctx.name}.encode", encoded, ctx.domain, candidate)
        back = ctx.call(f"{ctx.name}.decode", ctx.domain.decode, json.loads(text))
        again = ctx.call(f"{ctx.name}.encode", encoded, ctx.domain, back)
        found = json_diff(json.loads(text), json.loads(again), "encode")
        if found:
            raise CheckFailed(
                f"encode(decode(encode(c))) differs from encode(c) at {found}: decode must "
                "rebuild everything encode wrote"
            )
        decoded.append(back)
    references = [result for _, result in pairs]
    tape = ctx.tape
    try:
        if tape is not None:
            # An LM judge's numbers depend on what else is in its batch and cache, so
            # score the originals again on their own and the copies on those replies: a
            # copy that lost what evaluate reads asks the LM something else and differs.
            tape.record()
            references = list(
                ctx.call(f"{ctx.name}.evaluate", ctx.domain.evaluate, [c for c, _ in pairs])
            )
            tape.replay()
        scores = ctx.call(f"{ctx.name}.evaluate", ctx.domain.evaluate, decoded)
    finally:
        if tape is not None:
            tape.live()
    for (candidate, _), result, score in zip(pairs, references, scores, strict=True):
        found = evaluation_diff(result, score)
        if found:
            raise CheckFailed(
                f"decode(encode(c)) scores differently from c ({found}) for c = "
                f"{short(candidate, 80)}: encode must keep everything evaluate reads"
            )


def check_bad_input(ctx: CheckContext) -> None:
    """``evaluate`` on junk (``None``, unknown objects) answers ``Evaluation.invalid``
    with a reason, never raises, and leaves the good candidates of the batch alone."""
    junk = [None, _Unscorable(), [_Unscorable()]]
    try:
        results = list(ctx.domain.evaluate(junk))
    except Exception as error:
        raise CheckFailed(
            f"{ctx.name}.evaluate raised {type(error).__name__}: {error} on bad input; "
            "return Evaluation.invalid(reason) for candidates you cannot score"
        ) from error
    if len(results) != len(junk):
        raise CheckFailed(f"{ctx.name}.evaluate gave {len(results)} results for {len(junk)}")
    for candidate, result in zip(junk, results, strict=True):
        if not isinstance(result, Evaluation) or result.valid:
            raise CheckFailed(
                f"{ctx.name}.evaluate called junk ({short(candidate)}) valid: return "
                "Evaluation.invalid(reason)"
            )
    good = ctx.valid[0]
    alone = next(r for c, r in zip(ctx.first, ctx.results, strict=True) if c is good)
    mixed = list(ctx.call(f"{ctx.name}.evaluate", ctx.domain.evaluate, [None, good]))[-1]
    if ctx.domain.uses_lm and ctx.domain.evaluate_uses_lm:
        # An LM judge's log-probabilities move with the server's batch (llama.cpp batches
        # concurrent requests; we saw 2% on a poem's score), so only validity must hold.
        if mixed.valid != alone.valid:
            raise CheckFailed(
                "a junk candidate in the batch made a good one "
                f"{'valid' if mixed.valid else 'invalid'}; score each candidate on its own"
            )
        return
    found = evaluation_diff(alone, mixed)
    if found:
        raise CheckFailed(
            f"a junk candidate in the batch changed a good one's score ({found}); score "
            "each candidate on its own"
        )


def check_pickle(ctx: CheckContext) -> None:
    """The domain pickles, and the copy scores the first batch identically (the process
    and Dask backends send it to workers)."""
    if ctx.domain.uses_lm and ctx.domain.evaluate_uses_lm:
        raise CheckSkipped(
            "its evaluate asks the run's LM, so it is always evaluated in the run's process"
        )
    try:
        copy = pickle.loads(pickle.dumps(ctx.domain))
    except Exception as error:
        raise CheckFailed(
            f"{ctx.name} does not pickle ({type(error).__name__}: {error}), so the process "
            "and Dask backends cannot send it to workers: make its class importable by "
            "module path, and define __reduce__ to rebuild it from its options if an "
            "attribute (a client, an open file, DEAP's run-time classes) cannot pickle"
        ) from error
    scores = ctx.call(f"unpickled {ctx.name}.evaluate", copy.evaluate, ctx.first)
    for candidate, result, score in zip(ctx.first, ctx.results, scores, strict=True):
        found = evaluation_diff(result, score)
        if found:
            raise CheckFailed(
                f"the unpickled domain scores {short(candidate, 80)} differently ({found}): "
                "pickle every option evaluate reads"
            )


def _twice(ctx: CheckContext, what: str, fn: Callable[[], Any]) -> tuple[list, list, str | None]:
    """``fn()`` twice, the second time on the first's LM replies (an LM domain)."""
    tape = ctx.tape
    try:
        if tape is not None:
            tape.record()
        first = list(ctx.call(what, fn))
        if tape is not None:
            tape.replay()
        second = list(ctx.call(what, fn))
        divergence = tape.divergence if tape is not None else None
    finally:
        if tape is not None:
            tape.live()
    same = [fingerprint(ctx.domain, c) for c in first], [fingerprint(ctx.domain, c) for c in second]
    return same[0], same[1], divergence


def _differ(first: list[str], second: list[str]) -> str | None:
    if len(first) != len(second):
        return f"{len(first)} then {len(second)} candidates"
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        if a != b:
            return f"candidate {i}: {short(a, 80)} then {short(b, 80)}"
    return None


_RNG_ADVICE = (
    "draw every random choice from the rng argument (not random, np.random or a "
    "generator of your own; seed a library that uses random from rng at each call)"
)


def check_deterministic_initial(ctx: CheckContext) -> None:
    """``initial`` with equally seeded generators gives the same candidates (for an LM
    domain: given the same LM replies)."""
    _require_deterministic(
        ctx, f"{ctx.name}.initial", lambda: ctx.domain.initial(ctx.batch_size, ctx.rng())
    )


def _require_deterministic(ctx: CheckContext, label: str, fn) -> None:
    """Raise unless two calls of ``fn`` (each with freshly seeded generators) agree."""
    first, second, divergence = _twice(ctx, label, fn)
    found = _differ(first, second)
    if found or divergence:
        raise CheckFailed(
            f"{label} is not deterministic for a seeded rng ({found or divergence}): {_RNG_ADVICE}"
        )


def check_variation(ctx: CheckContext) -> None:
    """``variation()`` is an ``Operator`` whose children (and ``batch`` children) can be
    scored and encoded."""
    children = ctx.children + (ctx.batch_children or [])
    if ctx.batch_children is not None and len(ctx.batch_children) != ctx.batch_size:
        raise CheckFailed(
            f"operator {ctx.operator.name!r}.batch({ctx.batch_size}, rng) gave "
            f"{len(ctx.batch_children)} children"
        )
    results = ctx.child_results
    if len(results) != len(children):
        raise CheckFailed(f"{len(results)} results for {len(children)} children")
    for child, result in zip(children, results, strict=True):
        if result.valid:
            try:
                encoded(ctx.domain, child)
            except (TypeError, ValueError) as error:
                raise CheckFailed(
                    f"{ctx.name}.encode cannot take the child {short(child, 80)}: {error}"
                ) from error


def check_deterministic_variation(ctx: CheckContext) -> None:
    """The operator (and its ``batch``) with equally seeded generators gives the same
    children from the same parents and archive."""
    operator, parents = ctx.operator, ctx.parents()

    def repeated() -> list:
        # Several calls on one generator: a single child drawn from a global generator
        # would match by chance too often (1 in 10 for a digit).
        rng = ctx.rng(1)
        calls = [operator(parents, rng) for _ in range(max(ctx.batch_size, 4))]
        return [child for children in calls for child in children]

    runs = [(operator.name, repeated)]
    if operator.batch is not None:
        batch = operator.batch
        runs.append((f"{operator.name}.batch", lambda: batch(ctx.batch_size, ctx.rng(2))))
    for label, fn in runs:
        _require_deterministic(ctx, f"operator {label!r}", fn)


def check_parents_unchanged(ctx: CheckContext) -> None:
    """Variation leaves its parents and the archive's elites as they were (copy first)."""
    ctx.children  # noqa: B018 (the calls that are watched)
    ctx.batch_children  # noqa: B018
    if ctx.changed:
        raise CheckFailed(
            f"operator {ctx.operator.name!r} changed {ctx.changed[0]}; a parent is an "
            "elite in the archive: copy it (copy.deepcopy) before changing anything"
        )


def check_search(ctx: CheckContext) -> None:
    """A short search fills an archive whose records survive a JSON round trip."""
    archive = ctx.fresh_archive()
    search = Search(ctx.domain, archive, rng=ctx.rng(3), batch_size=ctx.batch_size)
    ctx.call(f"a {ctx.iterations}-iteration search", search.run, ctx.iterations)
    if len(archive) == 0:
        raise CheckFailed(f"a {ctx.iterations}-iteration search left the archive empty")
    records = ctx.call("archive.to_records", archive.to_records, ctx.domain)
    try:
        text = json.dumps(records)
    except (TypeError, ValueError) as error:
        raise CheckFailed(f"archive records are not JSON: {error}") from error
    restored = Archive(ctx.domain.measures)
    ctx.call("Archive.add_records", restored.add_records, json.loads(text), ctx.domain)
    found = json_diff(json.loads(text), json.loads(json.dumps(restored.to_records(ctx.domain))))
    if found:
        raise CheckFailed(f"archive records do not round-trip: {found}")


CHECKS: tuple[DomainCheck, ...] = tuple(
    DomainCheck(fn.__name__.removeprefix("check_"), fn)
    for fn in (
        check_measures,
        check_initial,
        check_evaluate_results,
        check_info_is_json,
        check_encode_json,
        check_round_trip,
        check_bad_input,
        check_pickle,
        check_deterministic_initial,
        check_variation,
        check_deterministic_variation,
        check_parents_unchanged,
        check_search,
        *HOOK_CHECKS,
    )
)
"""Every check, in the order ``check_domain`` runs them."""
