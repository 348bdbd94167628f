"""Experiment configs: TOML in, a validated ``ExperimentConfig`` out.

Every mistake in a config (a misspelt key, a wrong type, an unknown domain option)
becomes one :class:`ConfigError` that names the key, so the CLI can print one line
instead of a traceback.
"""

from __future__ import annotations

import difflib
import inspect
import tomllib
import typing
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from qd.domain import Domain
from qd.evaluation import BACKENDS
from qd.registry import UnknownDomainError, load_domain_class


class ConfigError(ValueError):
    """A config that cannot be run; the message names the key and what to do."""


@dataclass
class ArchiveConfig:
    kind: str = "grid"
    cells: int | None = None
    qd_score_offset: float = 0.0


LOOPS = ("map_elites", "population")


@dataclass
class SearchConfig:
    """``loop = "population"`` runs a generational loop (``qd.population``) in which
    ``batch_size`` is the population size and ``iterations`` the generations;
    ``parents`` is MAP-Elites' parent selection (``qd.parents``)."""

    iterations: int = 100
    batch_size: int = 32
    emitters: int = 1
    checkpoint_every: int = 10
    loop: str = "map_elites"
    parents: str = "uniform"
    elitism: int = 0


@dataclass
class EvaluationConfig:
    backend: str = "inprocess"
    workers: int | None = None
    scheduler: str | None = None


@dataclass
class LMConfig:
    """Where the LM is; the API key only ever comes from ``QD_LM_API_KEY``."""

    base_url: str = ""
    model: str = ""
    max_concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 4
    cache: bool = True
    embedding_base_url: str = ""  # empty: the completion server's, if embedding_model is set
    embedding_model: str = ""  # empty: the embedded all-MiniLM-L6-v2


@dataclass
class ExperimentConfig:
    """A whole experiment. ``domain`` holds ``name`` plus the domain's own options."""

    name: str = "experiment"
    seed: int = 0
    domain: dict[str, Any] = field(default_factory=dict)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    lm: LMConfig = field(default_factory=LMConfig)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config, as written to ``runs/<name>/config.toml``."""
        return _drop_none(asdict(self))

    def with_domain_defaults(self) -> ExperimentConfig:
        """A copy whose ``domain`` table also lists the options left at their defaults.

        Written to the run directory, so a default changed in code later cannot change
        what a resumed run does.
        """
        cls = load_domain_class(self.domain["name"])
        defaults = {
            p.name: _toml_value(p.default)
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.default is not inspect.Parameter.empty and _toml_value(p.default) is not None
        }
        return replace(self, domain={"name": self.domain["name"], **defaults, **self.domain})

    def domain_options(self) -> dict[str, Any]:
        return {k: v for k, v in self.domain.items() if k != "name"}

    def build_domain(self) -> Domain:
        """Instantiate the configured domain.

        Raises:
            ConfigError: Unknown domain, unknown option, or a value the domain refuses.
        """
        name = self.domain.get("name")
        try:
            cls = load_domain_class(name)
        except UnknownDomainError as error:
            raise ConfigError(f"domain.name: {error}") from None
        options = self.domain_options()
        accepted = _accepted_options(cls)
        if accepted is not None:
            for key in options:
                if key not in accepted:
                    raise ConfigError(
                        f"domain.{key}: not an option of domain {name!r}"
                        f"{_did_you_mean(key, accepted)}; options: {', '.join(sorted(accepted))}"
                    )
        try:
            return cls(**options)
        except (TypeError, ValueError, KeyError) as error:
            message = str(error.args[0] if error.args else error)
            raise ConfigError(f"{_blamed_key(message, options)} ({name}): {message}") from None


SECTIONS = {
    "archive": ArchiveConfig,
    "search": SearchConfig,
    "evaluation": EvaluationConfig,
    "lm": LMConfig,
}
TOP_LEVEL = {"name": str, "seed": int, "domain": dict, **dict.fromkeys(SECTIONS, dict)}


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Read a TOML experiment file and apply ``key=value`` overrides.

    Args:
        path: The TOML file.
        overrides: Strings like ``search.iterations=30``; values are parsed as TOML
            (``30``, ``0.5``, ``"text"``, ``[1, 2]``), bare words as strings.

    Raises:
        ConfigError: Missing or unreadable file, TOML syntax error, or a bad key/value.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    data.setdefault("name", path.stem)
    for override in overrides:
        apply_override(data, override)
    return parse_config(data)


def apply_override(data: dict[str, Any], override: str) -> None:
    """Set ``a.b=value`` in a nested dict, parsing the value as TOML."""
    key, sep, raw = override.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {override!r}: expected key=value, e.g. search.iterations=30")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {part!r} is not a table")
    node[leaf] = value


def parse_config(data: dict[str, Any]) -> ExperimentConfig:
    """Validate a config dict (as read from TOML) into an ExperimentConfig.

    Raises:
        ConfigError: The first bad key, named in full (``search.iterations``).
    """
    for key, value in data.items():
        if key not in TOP_LEVEL:
            raise ConfigError(
                f"{key}: unknown key{_did_you_mean(key, TOP_LEVEL)}; "
                f"top-level keys are {', '.join(TOP_LEVEL)}"
            )
        if not isinstance(value, TOP_LEVEL[key]):
            raise ConfigError(f"{key}: expected {_kind(TOP_LEVEL[key])}, got {value!r}")
    domain = dict(data.get("domain", {}))
    if not isinstance(domain.get("name"), str) or not domain["name"]:
        raise ConfigError("domain.name: missing; set it to a domain from `qd domains`")
    sections = {name: _section(name, cls, data.get(name, {})) for name, cls in SECTIONS.items()}
    config = ExperimentConfig(
        name=data.get("name", "experiment"), seed=data.get("seed", 0), domain=domain, **sections
    )
    _check_values(config)
    return config


def _section(name: str, cls: type, values: dict[str, Any]) -> Any:
    if name == "lm" and "api_key" in values:
        raise ConfigError(
            "lm.api_key: set the key in the QD_LM_API_KEY environment variable instead; "
            "configs are copied into run directories and a key must never be"
        )
    defaults = cls()
    fields = asdict(defaults)
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(
                f"{name}.{key}: unknown key{_did_you_mean(key, fields)}; "
                f"[{name}] takes {', '.join(fields)}"
            )
        expected = _field_type(cls, key)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise ConfigError(f"{name}.{key}: expected {_kind(expected)}, got {value!r}")
        setattr(defaults, key, value)
    return defaults


def _field_type(cls: type, key: str) -> type:
    """The type a section's key holds: ``int`` for ``int | None``, and so on."""
    hint = typing.get_type_hints(cls)[key]
    options = [t for t in typing.get_args(hint) if t is not type(None)] or [hint]
    return options[0]


def _check_values(config: ExperimentConfig) -> None:
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        raise ConfigError(f"seed: expected a non-negative integer, got {config.seed!r}")
    search = config.search
    for key in ("iterations", "batch_size", "emitters", "checkpoint_every"):
        if getattr(search, key) < 1:
            raise ConfigError(f"search.{key}: must be at least 1, got {getattr(search, key)}")
    if search.loop not in LOOPS:
        raise ConfigError(f"search.loop: {search.loop!r} is not one of {list(LOOPS)}")
    if search.loop == "population":
        if search.emitters != 1:
            raise ConfigError(
                "search.emitters: the population loop has no emitters; leave it at 1 "
                "(batch_size is the population size)"
            )
        if search.parents != "uniform":
            raise ConfigError(
                "search.parents: MAP-Elites' parent selection; the population loop's "
                "selection is the domain's (e.g. domain.method)"
            )
        if search.batch_size < 2:
            raise ConfigError("search.batch_size: a population needs at least 2 individuals")
    if not 0 <= search.elitism < search.batch_size:
        raise ConfigError(f"search.elitism: must be in [0, batch_size), got {search.elitism}")
    if search.elitism and search.loop != "population":
        raise ConfigError(
            'search.elitism: only the population loop has elitism (loop = "population")'
        )
    if config.archive.kind not in ("grid", "cvt"):
        raise ConfigError(f"archive.kind: {config.archive.kind!r} is not 'grid' or 'cvt'")
    if config.archive.kind == "cvt" and not config.archive.cells:
        raise ConfigError("archive.cells: required when archive.kind is 'cvt'")
    if config.evaluation.backend not in BACKENDS:
        raise ConfigError(
            f"evaluation.backend: {config.evaluation.backend!r} is not one of {list(BACKENDS)}"
        )
    if config.evaluation.workers is not None and config.evaluation.workers < 1:
        raise ConfigError("evaluation.workers: must be at least 1")
    scheduler = config.evaluation.scheduler
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ConfigError(f"evaluation.scheduler: expected an address, got {scheduler!r}")
    if scheduler and config.evaluation.backend != "dask":
        raise ConfigError(
            'evaluation.scheduler: a Dask scheduler address needs backend = "dask", '
            f"not {config.evaluation.backend!r}"
        )
    if not config.name or "/" in config.name:
        raise ConfigError(f"name: {config.name!r} must be a non-empty name without '/'")


def _blamed_key(message: str, options: dict[str, Any]) -> str:
    """The ``domain.<option>`` a domain's error message is about, or ``domain``."""
    for key, value in options.items():
        if message.startswith(f"{key}:") or (isinstance(value, str) and repr(value) in message):
            return f"domain.{key}"
    return "domain"


def _accepted_options(cls: type) -> set[str] | None:
    parameters = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.name != "self"}


def _did_you_mean(key: str, options) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind(cls: type) -> str:
    kinds = {int: "an integer", float: "a number", str: "a string", dict: "a table"}
    return {**kinds, bool: "true or false"}.get(cls, cls.__name__)


def _toml_value(value: Any) -> Any:
    """``value`` as TOML can hold it (tuples become lists), or None if it cannot."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        items = [_toml_value(v) for v in value]
        return None if any(v is None for v in items) else items
    return None


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value
