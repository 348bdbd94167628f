"""What a person sees of a run: plots, the report, the progress bar.

Every function builds on :class:`matplotlib.figure.Figure` objects, never on pyplot's
global state, so plots can be drawn from worker threads, in tests and on machines
without a display; nothing here calls ``plt.show``. Each returns its Figure: save it
with :func:`save_figure` or show it in a notebook. The modules are private, one job
each (``_heatmaps``, ``_curves``, ``_files``), and this package is the public surface,
as pyribs lays out ``ribs.visualize``. Two public modules read a run as it goes or
after it: :mod:`qd.viz.report` writes ``qd report``'s ``report.md`` from a run
directory, and :mod:`qd.viz.progress` is the progress-bar callback; neither is
imported here, so plotting an archive loads nothing of the run machinery.
"""

from qd.viz._curves import compare_curves, progress_curves
from qd.viz._files import save_figure
from qd.viz._heatmaps import EMPTY_COLOR, archive_heatmap

__all__ = ["EMPTY_COLOR", "archive_heatmap", "compare_curves", "progress_curves", "save_figure"]
