"""Progress display for long searches: a rich bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from qd.search.loop import IterationResult, Loop


class ProgressBar:
    """Callback showing iterations with elites, coverage, QD score and best objective.

    On a terminal it draws a live rich bar; in a log (CI, a pipe) it prints one
    metrics line every ``log_every`` iterations instead, so logs stay readable.

    Args:
        total: Iterations the run will reach.
        start: Iterations already done (resumed runs).
        console: Where to draw; stderr by default, keeping stdout for results.
        log_every: Line interval when not on a terminal; 0 picks about 20 lines a run.
    """

    def __init__(
        self, total: int, *, start: int = 0, console: Console | None = None, log_every: int = 0
    ) -> None:
        self.console = console or Console(file=sys.stderr)
        self.total = total
        self.live = self.console.is_terminal
        self.log_every = log_every or max(1, (total - start) // 20)
        self._progress: Progress | None = None
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[summary]}"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._task = self._progress.add_task("search", total=total, completed=start, summary="")
            self._progress.start()

    def __call__(self, search: Loop, result: IterationResult) -> None:
        s = result.stats
        best = "-" if s.obj_max is None else f"{s.obj_max:.4g}"
        summary = (
            f"elites {s.num_elites}  coverage {s.coverage:.1%}  QD {s.qd_score:.4g}  best {best}"
        )
        if self._progress is not None:
            self._progress.update(self._task, completed=result.iteration, summary=summary)
        elif result.iteration % self.log_every == 0 or result.iteration == self.total:
            invalid = f"  invalid {len(result.invalid)}" if result.invalid else ""
            self.console.print(
                f"iter {result.iteration}/{self.total}  {summary}{invalid}", highlight=False
            )

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
