"""How a batch of candidates is scored: in this process or in a process pool.

Both backends return one :class:`~qd.domain.Evaluation` per candidate, in order, and
turn a domain that raises into invalid evaluations that say why, so one bad candidate
never ends a run. (Dask comes as a third backend behind the same ``Evaluator``
interface.)
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

import numpy as np

from qd.domain import Domain, Evaluation

BACKENDS = ("inprocess", "process")


class Evaluator(Protocol):
    """Scores batches; ``close`` frees workers."""

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]: ...

    def close(self) -> None: ...


def checked_evaluate(domain: Domain, batch: Sequence[Any]) -> list[Evaluation]:
    """``domain.evaluate(batch)``, with a crash or a bad reply turned into invalid rows.

    A batch that raises is retried candidate by candidate, so only the culprits are
    marked invalid, with the exception as their reason.
    """
    try:
        results = list(domain.evaluate(batch))
    except Exception:  # a domain bug must not end the run
        if len(batch) == 1:
            return [_crash(traceback.format_exc())]
        return [item for candidate in batch for item in checked_evaluate(domain, [candidate])]
    if len(results) != len(batch):
        reason = (
            f"{type(domain).__name__}.evaluate returned {len(results)} results "
            f"for {len(batch)} candidates"
        )
        return [Evaluation.invalid(reason) for _ in batch]
    return [_checked(domain, result) for result in results]


def _crash(trace: str) -> Evaluation:
    last = trace.strip().splitlines()[-1] if trace.strip() else "unknown error"
    return Evaluation.invalid(f"evaluate raised {last}", traceback=trace[-2000:])


def _checked(domain: Domain, result: Any) -> Evaluation:
    if not isinstance(result, Evaluation):
        return Evaluation.invalid(f"evaluate returned {type(result).__name__}, not Evaluation")
    if not result.valid:
        return result
    if not np.isfinite(result.objective):
        return Evaluation.invalid(f"objective {result.objective!r} is not finite", **result.info)
    if len(result.measures) != len(domain.measures):
        return Evaluation.invalid(
            f"{len(result.measures)} measures returned, the domain declares {len(domain.measures)}",
            **result.info,
        )
    for measure, value in zip(domain.measures, result.measures, strict=True):
        problem = measure.check(value)
        if problem:
            return Evaluation.invalid(problem, **result.info)
    return result


class InProcessEvaluator:
    """Scores batches in the calling process: no start-up cost, no pickling."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        return checked_evaluate(self.domain, batch)

    def close(self) -> None:
        pass


_worker_domain: Domain | None = None


def _init_worker(domain: Domain) -> None:
    global _worker_domain
    _worker_domain = domain


def _evaluate_chunk(chunk: Sequence[Any]) -> list[Evaluation]:
    assert _worker_domain is not None, "worker started without a domain"
    return checked_evaluate(_worker_domain, chunk)


class ProcessPoolEvaluator:
    """Scores chunks of a batch in worker processes, for CPU-heavy evaluations.

    The domain is sent to each worker once, at start-up; chunks keep the order of the
    batch, so results are the same as in process.

    Args:
        domain: Must pickle (its class importable by module path).
        workers: Worker processes; defaults to the number of CPUs.
    """

    def __init__(self, domain: Domain, *, workers: int | None = None) -> None:
        self.domain = domain
        self.workers = int(workers or os.cpu_count() or 1)
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
            initargs=(domain,),
        )

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        if not batch:
            return []
        size = -(-len(batch) // self.workers)
        chunks = [list(batch[i : i + size]) for i in range(0, len(batch), size)]
        return [e for part in self._pool.map(_evaluate_chunk, chunks) for e in part]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_evaluator(
    domain: Domain, backend: str = "inprocess", workers: int | None = None
) -> Evaluator:
    """The evaluator named by an experiment's ``[evaluation] backend``.

    Raises:
        ValueError: Unknown backend name.
    """
    if backend == "inprocess":
        return InProcessEvaluator(domain)
    if backend == "process":
        return ProcessPoolEvaluator(domain, workers=workers)
    raise ValueError(f"unknown evaluation backend {backend!r}; use one of {list(BACKENDS)}")
