"""The search loops and what feeds them: parents, operators, evaluation.

A loop (:mod:`qd.search.loop`) asks for candidates, has them evaluated and keeps the
good ones, then tells its callbacks. Two shapes implement that one contract: MAP-Elites
over an :class:`~qd.archive.Archive` (:mod:`qd.search.map_elites`, fed by
:mod:`qd.search.emitters` and the parent selections of :mod:`qd.search.parents`), and
the generational population loop of the mate-choice study
(:mod:`qd.search.population`). :mod:`qd.search.evaluation` runs a batch's evaluations
in process, in a process pool or on Dask, and is the only place that knows which;
:mod:`qd.search.novelty` drops near-duplicate children before they cost a judge call.
Every step also says where each candidate came from (:class:`~qd.search.loop.Lineage`:
ids, parents, operator, fate), which :mod:`qd.runs` writes as the run's lineage.
Nothing here knows about run directories: :mod:`qd.runs` builds a loop and records it.
"""

from qd.search.loop import Callback, IterationResult, Lineage, Loop, LoopOptions
from qd.search.map_elites import Search
from qd.search.population import Bred, PopulationSearch

__all__ = [
    "Bred",
    "Callback",
    "IterationResult",
    "Lineage",
    "Loop",
    "LoopOptions",
    "PopulationSearch",
    "Search",
]
