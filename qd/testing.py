"""``check_domain``: prove a domain keeps the plug-in contract, as scikit-learn's
``check_estimator`` does for estimators.

Run it in your domain's tests. It fails with an ``AssertionError`` that says which
promise was broken and how to fix it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from qd.archive import Archive
from qd.domain import Domain, Evaluation, Measure, Operator
from qd.evaluation import checked_evaluate
from qd.search import Search


class _Unscorable:
    """A candidate no domain can know: evaluate must answer invalid, not raise."""

    def __repr__(self) -> str:
        return "<unscorable candidate>"


def check_domain(
    domain: Domain, *, iterations: int = 3, batch_size: int = 8, seed: int = 0, lm: Any = None
) -> None:
    """Check every promise of the contract on ``domain``.

    1. ``measures`` is a non-empty sequence of :class:`~qd.domain.Measure`.
    2. ``initial(n, rng)`` gives ``n`` candidates, the same ones for the same seed.
    3. ``evaluate`` gives one :class:`~qd.domain.Evaluation` per candidate, with finite
       objectives and measures that fit the axes.
    4. ``encode`` gives JSON, and ``decode(encode(c))`` scores like ``c``.
    5. ``evaluate`` on junk (``None``, an unknown object) answers ``Evaluation.invalid``
       and does not raise.
    6. ``variation()`` is an :class:`~qd.domain.Operator` whose children can be scored.
    7. A short search fills an archive whose records survive a checkpoint round trip.

    A domain with ``uses_lm`` is connected to ``lm`` and to the archive of step 7 (which
    then starts with the valid initial candidates) before its variation runs.

    Args:
        domain: The domain to check.
        iterations: Iterations of the short search.
        batch_size: Candidates per batch.
        seed: Seeds every generator.
        lm: For a domain with ``uses_lm``: a ``qd.lm.LM`` (``with qd.lm.open_lm() as
            lm``), or a stand-in with the methods the domain calls.

    Raises:
        AssertionError: The first broken promise, with what to do.
    """
    name = type(domain).__name__
    measures = list(getattr(domain, "measures", ()))
    assert measures, f"{name}.measures is empty: declare at least one Measure"
    for m in measures:
        assert isinstance(m, Measure), f"{name}.measures holds {m!r}, not a qd.domain.Measure"

    first = domain.initial(batch_size, np.random.default_rng(seed))
    again = domain.initial(batch_size, np.random.default_rng(seed))
    assert len(first) == batch_size, f"{name}.initial({batch_size}, rng) gave {len(first)}"
    assert [_json(domain, c) for c in first] == [_json(domain, c) for c in again], (
        f"{name}.initial is not deterministic for a seeded rng: draw every random choice "
        "from the rng argument"
    )

    results = domain.evaluate(first)
    _check_results(domain, first, results)
    assert any(r.valid for r in results), f"{name}: no initial candidate evaluated as valid"

    for candidate, result in zip(first, results, strict=True):
        decoded = domain.decode(json.loads(_json(domain, candidate)))
        again_result = domain.evaluate([decoded])[0]
        assert again_result.valid == result.valid and (
            not result.valid or np.isclose(again_result.objective, result.objective)
        ), f"{name}: decode(encode(c)) scores differently from c; encode must keep everything"

    try:
        junk = domain.evaluate([None, _Unscorable()])
    except Exception as error:
        raise AssertionError(
            f"{name}.evaluate raised {type(error).__name__}: {error} on bad input; return "
            "Evaluation.invalid(reason) for candidates you cannot score"
        ) from error
    _check_results(domain, [None, None], junk)
    assert not any(r.valid for r in junk), (
        f"{name}.evaluate called junk (None, an unknown object) valid; return "
        "Evaluation.invalid(reason)"
    )

    archive = Archive(domain.measures)
    if domain.uses_lm:
        assert lm is not None, (
            f"{name} uses an LM: pass one, check_domain(domain, lm=lm), e.g. inside "
            "`with qd.lm.open_lm() as lm:`"
        )
        archive.add(first, results)
        domain.connect(lm=lm, archive=archive)
    operator = domain.variation()
    assert isinstance(operator, Operator), f"{name}.variation() must return a qd.domain.Operator"
    rng = np.random.default_rng(seed)
    valid = [c for c, r in zip(first, results, strict=True) if r.valid]
    parents = [valid[i % len(valid)] for i in range(operator.arity)]
    children = operator(parents, rng)
    assert children, f"{name}: operator {operator.name!r} returned no children"
    _check_results(domain, children, checked_evaluate(domain, children))

    search = Search(domain, archive, rng=np.random.default_rng(seed), batch_size=batch_size)
    search.run(iterations)
    assert len(archive) > 0, f"{name}: a {iterations}-iteration search left the archive empty"
    records = json.loads(json.dumps(archive.to_records(domain)))
    restored = Archive(domain.measures)
    restored.add_records(records, domain)
    assert len(restored) == len(archive), f"{name}: archive records do not round-trip"


def _json(domain: Domain, candidate: Any) -> str:
    encoded = domain.encode(candidate)
    try:
        return json.dumps(encoded, sort_keys=True)
    except TypeError as error:
        raise AssertionError(
            f"{type(domain).__name__}.encode must return JSON values: {error}"
        ) from error


def _check_results(domain: Domain, batch: list, results: Any) -> None:
    name = type(domain).__name__
    results = list(results)
    assert len(results) == len(batch), (
        f"{name}.evaluate returned {len(results)} results for {len(batch)} candidates"
    )
    for result in results:
        assert isinstance(result, Evaluation), f"{name}.evaluate returned {result!r}"
        if not result.valid:
            continue
        assert np.isfinite(result.objective), f"{name}: objective {result.objective} not finite"
        assert len(result.measures) == len(domain.measures), (
            f"{name}: {len(result.measures)} measures for {len(domain.measures)} axes"
        )
        for measure, value in zip(domain.measures, result.measures, strict=True):
            problem = measure.check(value)
            assert problem is None, f"{name}: {problem}"
        try:
            json.dumps(result.info)
        except TypeError as error:
            raise AssertionError(
                f"{name}: Evaluation.info must be JSON (it goes into checkpoints): {error}"
            ) from error
