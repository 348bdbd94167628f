"""Everything a run builds from its config, built once before anything is written.

A mistake found after the run directory exists leaves a directory behind that blocks
the corrected rerun (``already exists``), and shows as a traceback. So ``qd run`` and
``qd resume --iterations/--dask-scheduler`` first build the domain, the archive, the
LM settings (environment included) and the evaluation backend here, and only then
write; every mistake becomes one :class:`~qd.runs.config.ConfigError` naming the key.
"""

from __future__ import annotations

import pickle
import socket
from urllib.parse import urlsplit

from qd.archive import Archive
from qd.domain import Domain
from qd.runs.config import ConfigError, ExperimentConfig
from qd.search.evaluation import make_evaluator
from qd.search.parents import resolve_parents

__all__ = ["build_archive", "lm_settings", "preflight"]


def preflight(config: ExperimentConfig) -> Domain:
    """Build what a run of ``config`` needs, writing nothing.

    Returns:
        The domain (not yet connected to an LM).

    Raises:
        ConfigError: The first thing that cannot be built, naming its key.
    """
    domain = config.build_domain()
    build_archive(config, domain)
    if config.search.loop == "map_elites":
        try:
            resolve_parents(config.search.parents, domain)
        except ValueError as error:
            raise ConfigError(f"search.parents: {error}") from None
    if domain.uses_lm or config.lm.base_url:
        lm_settings(config, domain=domain)
    check_evaluation(config, domain)
    return domain


def build_archive(config: ExperimentConfig, domain: Domain, centroids=None) -> Archive:
    """The configured archive over the domain's measures.

    Raises:
        ConfigError: The archive kind does not fit the measures (e.g. CVT over labels).
    """
    try:
        return Archive(
            domain.measures,
            kind=config.archive.kind,
            cells=config.archive.cells,
            centroids=centroids,
            qd_score_offset=config.archive.qd_score_offset,
            seed=config.seed,
        )
    except ValueError as error:
        raise ConfigError(f"archive.kind: {error}") from None


def lm_settings(config: ExperimentConfig, *, domain: Domain | None = None):
    """The LM settings of a config: its ``[lm]`` table, overridden by the environment.

    Raises:
        ConfigError: A server without a model (where the LM will be used), or a value
            the environment brought in that the schema refuses.
    """
    from qd.lm import LMSettings, settings_from_env
    from qd.lm.settings import LMOptions

    shared = config.lm.model_dump(include=set(LMOptions.model_fields))
    try:
        settings = settings_from_env(LMSettings(**shared))
    except ValueError as error:
        raise ConfigError(f"lm: {error} (after QD_LM_* environment variables)") from None
    uses_lm = domain is None or domain.uses_lm or bool(config.lm.base_url)
    if uses_lm and settings.configured and not settings.model:
        raise ConfigError(
            f"lm.model: required with lm.base_url ({settings.base_url}); set it to the "
            "model name the server expects, or set QD_LM_MODEL"
        )
    return settings


def reach_scheduler(address: str, *, timeout: float = 10.0) -> None:
    """Connect to a Dask scheduler and leave, so a run never starts (or rewrites its
    config) with an address nobody answers.

    A ``tcp://`` address is first probed with a plain socket: a refused connection is
    known at once, where Dask's client retries until its timeout (34 s seen).

    Raises:
        ConfigError: Naming ``evaluation.scheduler``, the address and the cause.
    """
    parsed = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        if parsed.scheme == "tcp" and parsed.hostname and parsed.port:
            socket.create_connection((parsed.hostname, parsed.port), timeout=timeout).close()
        from qd.search.evaluation import import_distributed

        import_distributed().Client(address, timeout=f"{timeout}s").close()
    except (OSError, ValueError) as error:  # ValueError: a malformed address or port
        raise ConfigError(
            f"evaluation.scheduler: cannot reach the Dask scheduler {address!r} ({error}); "
            "start it (dask scheduler), check the address, or leave the option out to "
            "run a LocalCluster"
        ) from None
    except ImportError as error:
        raise ConfigError(f"evaluation.scheduler: {error}") from None


def check_evaluation(config: ExperimentConfig, domain: Domain) -> None:
    """Whether the configured backend can evaluate this domain.

    Raises:
        ConfigError: An LM-judged domain off the main process, a domain that cannot
            be sent to worker processes, or a Dask scheduler that does not answer.
    """
    backend = config.evaluation.backend
    if domain.uses_lm and domain.evaluate_uses_lm and backend != "inprocess":
        raise ConfigError(
            "evaluation.backend: a domain whose evaluation asks the LM evaluates in process "
            "(the LM server does the heavy work); set it to 'inprocess'"
        )
    if config.evaluation.scheduler:
        reach_scheduler(config.evaluation.scheduler)
    if backend == "inprocess":
        return
    try:
        pickle.dumps(domain)
    except Exception as error:  # pickle raises many kinds for one meaning
        raise ConfigError(
            f"evaluation.backend: the domain cannot be sent to worker processes ({error}); "
            "make its class importable by module path, or set backend = 'inprocess'"
        ) from None
    if backend == "process":  # workers start on the first batch: building it is free
        try:
            make_evaluator(domain, backend, config.evaluation.workers).close()
        except (ValueError, OSError) as error:
            raise ConfigError(f"evaluation: {error}") from None
