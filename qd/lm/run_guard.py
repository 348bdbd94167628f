"""What a run does about LM faults, kept out of the run loop (``qd.runs.lifecycle``).

- LM faults go to the run's ``events.jsonl``: restarts of the embedded server, the
  circuit breaker opening, iterations that did not count. These rows carry ``time`` and
  ``during_iteration`` (not ``iteration``), so a resume, which cuts the logs back to the
  checkpoint, keeps them: they are the history of the server, not output to redo.
- An iteration whose candidates *all* failed for LM reasons (every invalid evaluation
  has ``info["lm_error"]``: a failed request, not a bad text) is not counted: its
  callbacks (metrics line, checkpoint, progress bar) are skipped and the search's
  counters are put back, so the loop runs it again. After ``max_failed_iterations`` of
  them in a row the run stops with :class:`~qd.lm.errors.LMUnavailableError`, as it does
  when the LM's circuit breaker opens.
- When the run stops on :class:`~qd.lm.errors.LMUnavailableError`, :meth:`RunGuard.stopped`
  puts the generator and the LM's occurrence counters back to the end of the last counted
  iteration, so the checkpoint written then is that iteration's, and ``qd resume``
  continues from it once the server is back.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeGuard

from qd.lm.errors import LMUnavailableError

__all__ = ["RunGuard", "fault_of"]


def fault_of(error: dict[str, Any]) -> str:
    """The ``Usage.faults`` label of an ``LMError.to_dict()``: ``http_500``, ``timeout``..."""
    if error.get("kind") == "status" and error.get("status_code") is not None:
        return f"http_{error['status_code']}"
    return str(error.get("kind", "error"))


class RunGuard:
    """Watches a run's iterations for LM faults; see the module docstring.

    Args:
        lm: The run's ``qd.lm.LM``.
        search: The search (``Search`` or ``PopulationSearch``): its ``iteration``,
            ``evaluations`` and ``rng`` are read, and put back for an iteration that
            does not count.
        log: Appends one row to ``events.jsonl``.
        max_failed_iterations: Iterations in a row, all of whose candidates failed for
            LM reasons, after which the run stops.
    """

    def __init__(
        self,
        lm: Any,
        search: Any,
        *,
        log: Callable[[dict[str, Any]], None],
        max_failed_iterations: int = 5,
    ) -> None:
        self.lm = lm
        self.search = search
        self.max_failed_iterations = int(max_failed_iterations)
        self.failed_in_a_row = 0
        self.not_counted = 0
        lm.events.callback = log
        self._forward: list[Callable[[Any, Any], None]] = []
        self._mark()

    def _mark(self) -> None:
        """Remember the state at the end of a counted iteration."""
        self._evaluations = self.search.evaluations
        self._rng_state = copy.deepcopy(self.search.rng.bit_generator.state)
        self._lm_state = self.lm.state()

    def callback(self, forward: Sequence[Callable[[Any, Any], None]]) -> Callable[[Any, Any], None]:
        """The one search callback: ``forward`` runs only for iterations that count."""
        self._forward = list(forward)
        return self._after_iteration

    def _after_iteration(self, search: Any, result: Any) -> None:
        candidates = result.evaluations - self._evaluations
        errors = [e.info["lm_error"] for _, e in result.invalid if "lm_error" in e.info]
        if candidates > 0 and len(errors) == candidates:
            self._not_counted(search, result, errors)
            return
        self.failed_in_a_row = 0
        for callback in self._forward:
            callback(search, result)
        self._mark()

    def _not_counted(self, search: Any, result: Any, errors: list[dict[str, Any]]) -> None:
        self.failed_in_a_row += 1
        self.not_counted += 1
        search.iteration = result.iteration - 1
        search.evaluations = self._evaluations
        faults = Counter(fault_of(e) for e in errors)
        self.lm.events.emit(
            {
                "event": "lm_iteration_not_counted",
                "during_iteration": result.iteration,
                "candidates": len(errors),
                "faults": dict(sorted(faults.items())),
                "first_error": errors[0],
                "in_a_row": self.failed_in_a_row,
            }
        )
        if self.failed_in_a_row >= self.max_failed_iterations:
            raise LMUnavailableError(
                f"{self.failed_in_a_row} iterations in a row had every candidate fail for "
                f"LM reasons ({', '.join(f'{k} {v}' for k, v in sorted(faults.items()))}; "
                f"the last: {errors[-1].get('message')}). Check the server, then continue",
                failures=len(errors),
                last_errors=errors[-5:],
            )

    @staticmethod
    def ends_run(error: BaseException) -> TypeGuard[LMUnavailableError]:
        """Whether ``error`` is the LM giving up (the run stops, checkpointed)."""
        return isinstance(error, LMUnavailableError)

    def stopped(self, error: LMUnavailableError) -> None:
        """The run stops on ``error``: log it and go back to the last counted iteration."""
        self.search.rng.bit_generator.state = self._rng_state
        self.search.evaluations = self._evaluations
        self.lm.restore_state({"seen": self._lm_state.get("seen", {})})
        self.lm.events.emit(
            {
                "event": "lm_run_stopped",
                "during_iteration": self.search.iteration + 1,
                "checkpoint_iteration": self.search.iteration,
                "reason": str(error),
                "last_errors": error.last_errors,
            }
        )
