"""How a batch of candidates is scored: in this process, a process pool, or on Dask.

Every backend returns one :class:`~qd.domain.Evaluation` per candidate, in order, and
turns a domain that raises into invalid evaluations that say why, so one bad candidate
never ends a run. ``dask`` runs on a ``distributed`` LocalCluster started for the run,
or on a cluster you already have, by scheduler address; scheduling, retries and worker
loss are Dask's job, not ours.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import traceback
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

import numpy as np

from qd.domain import Domain, Evaluation

BACKENDS = ("inprocess", "process", "dask")


class Evaluator(Protocol):
    """Scores batches; ``close`` frees workers."""

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]: ...

    def close(self) -> None: ...


def import_distributed():
    """Dask's ``distributed``, or an ImportError that names the extra to install.

    Dask is optional (``pip install 'qd-engine[dask]'``; ``make`` installs it), so it is
    imported only where a Dask backend or study asks for it.
    """
    try:
        import distributed
    except ImportError as error:
        raise ImportError(
            f"Dask evaluation needs dask[distributed] ({error}): pip install 'qd-engine[dask]'"
        ) from error
    return distributed


def improved(candidates: Sequence[Any], evaluations: Sequence[Evaluation]) -> list[Any]:
    """The candidates as the archive should keep them: an evaluation's improved
    ``candidate`` (local search, tuned constants) where it returned one."""
    return [
        c if e.candidate is None else e.candidate
        for c, e in zip(candidates, evaluations, strict=True)
    ]


def cost(evaluations: Sequence[Evaluation]) -> int:
    """Evaluations a batch used, counting the function calls of any local search."""
    return sum(max(int(e.cost), 1) for e in evaluations)


def checked_evaluate(domain: Domain, batch: Sequence[Any]) -> list[Evaluation]:
    """``domain.evaluate(batch)``, with a crash or a bad reply turned into invalid rows.

    A batch that raises is retried candidate by candidate, so only the culprits are
    marked invalid, with the exception as their reason. A child an LM operator could not
    make (``qd.lm.FailedChild``) is invalid with the operator's reason and the LM error
    in ``info["lm_error"]``, without asking the domain. An open LM circuit breaker
    (``qd.lm.LMUnavailableError``) is no candidate's fault: it ends the iteration.
    """
    lm_errors = sys.modules.get("qd.lm.errors")  # no LM in this process: nothing to do
    if lm_errors is None or not any(isinstance(c, lm_errors.FailedChild) for c in batch):
        return _evaluate(domain, batch)
    rest = [c for c in batch if not isinstance(c, lm_errors.FailedChild)]
    scored = iter(_evaluate(domain, rest) if rest else [])
    return [
        Evaluation.invalid(c.reason, **c.info())
        if isinstance(c, lm_errors.FailedChild)
        else next(scored)
        for c in batch
    ]


def _ends_run(error: BaseException) -> bool:
    """Whether ``error`` stops the run rather than fails a candidate (an open breaker)."""
    lm_errors = sys.modules.get("qd.lm.errors")
    return lm_errors is not None and isinstance(error, lm_errors.LMUnavailableError)


def _evaluate(domain: Domain, batch: Sequence[Any]) -> list[Evaluation]:
    try:
        results = list(domain.evaluate(batch))
    except Exception as error:  # a domain bug must not end the run
        if _ends_run(error):
            raise
        if len(batch) == 1:
            return [_crash(traceback.format_exc())]
        return [item for candidate in batch for item in _evaluate(domain, [candidate])]
    if len(results) != len(batch):
        reason = (
            f"{type(domain).__name__}.evaluate returned {len(results)} results "
            f"for {len(batch)} candidates"
        )
        return [Evaluation.invalid(reason) for _ in batch]
    if _all_sound(domain, results):
        return results
    return [_checked(domain, result) for result in results]


def _all_sound(domain: Domain, results: list[Any]) -> bool:
    """Whether every result is an Evaluation, invalid or with a finite objective and one
    finite number per (numeric) axis: the usual batch, checked with two array conversions
    instead of a Python call per value. False sends the batch to :func:`_checked`, which
    finds and names each problem."""
    n_axes = len(domain.measures)
    if any(m.kind == "categorical" for m in domain.measures):
        return False
    valid = []
    for result in results:
        if not isinstance(result, Evaluation):
            return False
        if result.invalid_reason is None:  # an invalid one passes as it is
            valid.append(result)
    if not valid:
        return True
    try:
        objectives = np.array([r.objective for r in valid], dtype=float)
        measures = np.array([r.measures for r in valid], dtype=float)
    except (TypeError, ValueError):  # a non-number, or rows of different lengths
        return False
    return (
        measures.shape == (len(valid), n_axes)
        and bool(np.isfinite(objectives).all())
        and bool(np.isfinite(measures).all())
    )


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
        chunks = _chunks(batch, self.workers)
        return [e for part in self._pool.map(_evaluate_chunk, chunks) for e in part]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _chunks(batch: Sequence[Any], parts: int) -> list[list[Any]]:
    size = -(-len(batch) // max(1, parts))
    return [list(batch[i : i + size]) for i in range(0, len(batch), size)]


def _evaluate_on_worker(chunk: Sequence[Any], domain: Domain) -> list[Evaluation]:
    return checked_evaluate(domain, chunk)


class DaskEvaluator:
    """Scores chunks of a batch as Dask tasks, on a LocalCluster or a remote scheduler.

    Each batch is cut into about two chunks per worker thread, so a slow chunk does not
    hold the others back, and every task carries the (small) domain itself rather than a
    scattered copy: scattered data dies with the worker that holds it, while a task can
    be rerun anywhere, on a restarted worker or one that joined later. A chunk whose task
    fails outright (its worker died more often than Dask's ``allowed-failures``) comes
    back as invalid evaluations naming the error, so a lost machine costs a few
    candidates, not the run.

    Args:
        domain: Must pickle (its class importable on the workers).
        scheduler: A scheduler address (``tcp://host:8786``) of a running cluster; None
            starts a LocalCluster for this evaluator and stops it on :meth:`close`.
        workers: LocalCluster worker processes (one thread each); defaults to the
            number of CPUs. Ignored with ``scheduler``.
        connect_timeout: Seconds to wait for the scheduler.

    Raises:
        ImportError: ``dask[distributed]`` is not installed.
        OSError: The scheduler cannot be reached (Dask's own message, with the address).
    """

    def __init__(
        self,
        domain: Domain,
        *,
        scheduler: str | None = None,
        workers: int | None = None,
        connect_timeout: float = 30.0,
    ) -> None:
        distributed = import_distributed()
        Client, LocalCluster = distributed.Client, distributed.LocalCluster

        self.domain = domain
        self._cluster = None
        if scheduler:
            self.client = Client(scheduler, timeout=f"{connect_timeout}s")
        else:
            self._cluster = LocalCluster(
                n_workers=int(workers or os.cpu_count() or 1),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.WARNING,
            )
            self.client = Client(self._cluster)

    @property
    def threads(self) -> int:
        """Worker threads in the cluster now (workers may come and go)."""
        return max(1, sum(self.client.nthreads().values()))

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        if not batch:
            return []
        chunks = _chunks(batch, 2 * self.threads)
        futures = self.client.map(_evaluate_on_worker, chunks, domain=self.domain, pure=False)
        results: list[Evaluation] = []
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                results += future.result()
            except Exception as error:  # a lost worker, a task Dask gave up on
                reason = f"dask task failed: {type(error).__name__}: {error}"[:500]
                results += [Evaluation.invalid(reason) for _ in chunk]
        return results

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_evaluator(
    domain: Domain,
    backend: str = "inprocess",
    workers: int | None = None,
    *,
    scheduler: str | None = None,
) -> Evaluator:
    """The evaluator named by an experiment's ``[evaluation] backend``.

    Args:
        domain: The domain whose ``evaluate`` scores the batches.
        backend: ``inprocess``, ``process`` or ``dask``.
        workers: Worker processes for ``process`` and a local ``dask`` cluster.
        scheduler: For ``dask``: a running cluster's scheduler address.

    Raises:
        ValueError: Unknown backend name, or a scheduler for a backend other than dask.
    """
    if scheduler and backend != "dask":
        raise ValueError(f"a Dask scheduler address needs backend 'dask', not {backend!r}")
    if backend == "inprocess":
        return InProcessEvaluator(domain)
    if backend == "process":
        return ProcessPoolEvaluator(domain, workers=workers)
    if backend == "dask":
        return DaskEvaluator(domain, scheduler=scheduler, workers=workers)
    raise ValueError(f"unknown evaluation backend {backend!r}; use one of {list(BACKENDS)}")
