"""A run's life on disk: its config, directory, lock, log, checkpoints and resume.

An experiment config (:mod:`qd.runs.config`, checked whole by :mod:`qd.schema`
and :mod:`qd.runs.preflight` before anything is written) becomes a run directory
(:mod:`qd.runs.directory`) that one process owns at a time (:mod:`qd.runs.lock`).
:mod:`qd.runs.lifecycle` builds the loop, runs it and resumes it from the newest
checkpoint (:mod:`qd.runs.checkpoints`); :mod:`qd.runs.log` writes the metrics line,
events, lineage and checkpoints as the loop calls back, and :mod:`qd.runs.lineage`
reads the lineage back (an elite's ancestors). :mod:`qd.runs.batch` runs a study's
many runs on Dask, each one resumable the same way.
"""

from qd.runs.config import ConfigError, ExperimentConfig, load_config, parse_config
from qd.runs.directory import RunDirectory, RunError
from qd.runs.lifecycle import execute, load_archive, start

__all__ = [
    "ConfigError",
    "ExperimentConfig",
    "RunDirectory",
    "RunError",
    "execute",
    "load_archive",
    "load_config",
    "parse_config",
    "start",
]
