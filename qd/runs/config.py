"""Experiment configs: TOML in, a validated ``ExperimentConfig`` out.

Every mistake in a config (a misspelt key, a wrong type, an unknown domain option)
becomes one :class:`ConfigError` that names the key, so the CLI can print one line
instead of a traceback.
"""

from __future__ import annotations

import inspect
import tomllib
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from qd.domain import Domain
from qd.lm.budget import Price
from qd.lm.settings import LMOptions
from qd.registry import UnknownDomainError, load_domain_class
from qd.schema import did_you_mean, explain


class ConfigError(ValueError):
    """A config that cannot be run; the message names the key and what to do."""


MAX_NAME_BYTES = 255  # NAME_MAX of Linux and macOS file systems: a directory name's limit
MAX_BATCH = 100_000  # candidates per iteration: more only eats memory before iteration 1
LOOPS = ("map_elites", "population")


class _Section(BaseModel):
    """A config table: unknown keys refused, no silent type conversions."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ArchiveConfig(_Section):
    kind: Literal["grid", "cvt"] = Field(
        "grid", description="'grid', or 'cvt' for many measures (needs cells)"
    )
    cells: int | None = Field(None, ge=1, description="the CVT archive's cells, e.g. 500")
    qd_score_offset: float = Field(
        0.0, allow_inf_nan=False, description="the objective's floor, e.g. 0 or -1"
    )

    @model_validator(mode="after")
    def _cvt_has_cells(self) -> ArchiveConfig:
        if self.kind == "cvt" and not self.cells:
            raise ValueError("cells: required when archive.kind is 'cvt', e.g. cells = 500")
        return self


class SearchConfig(_Section):
    """``loop = "population"`` runs a generational loop (``qd.search.population``) in which
    ``batch_size`` is the population size and ``iterations`` the generations;
    ``parents`` is MAP-Elites' parent selection (``qd.search.parents``)."""

    iterations: int = Field(100, ge=1)
    batch_size: int = Field(
        32,
        ge=1,
        le=MAX_BATCH,
        description="candidates per emitter and iteration, e.g. 32; for more, run more iterations",
    )
    emitters: int = Field(1, ge=1)
    checkpoint_every: int = Field(10, ge=1)
    loop: Literal["map_elites", "population"] = "map_elites"
    parents: str = "uniform"
    elitism: int = Field(0, ge=0, description="individuals kept per generation")
    lineage: Literal["all", "archive", "off"] = Field(
        "all",
        description='"all" (every evaluated candidate), "archive" (only those that '
        'entered the archive: every elite\'s ancestry, smaller) or "off"',
    )

    @model_validator(mode="after")
    def _consistent(self) -> SearchConfig:
        if self.emitters * self.batch_size > MAX_BATCH:
            raise ValueError(
                f"batch_size: emitters x batch_size = {self.emitters * self.batch_size} "
                f"candidates per iteration is above {MAX_BATCH}; run more iterations instead"
            )
        if self.loop == "population":
            if self.emitters != 1:
                raise ValueError(
                    "emitters: the population loop has no emitters; leave it at 1 "
                    "(batch_size is the population size)"
                )
            if self.parents != "uniform":
                raise ValueError(
                    "parents: MAP-Elites' parent selection; the population loop's "
                    "selection is the domain's (e.g. domain.method)"
                )
            if self.batch_size < 2:
                raise ValueError("batch_size: a population needs at least 2 individuals")
            if self.lineage == "archive":
                raise ValueError(
                    'lineage: "archive" keeps MAP-Elites ancestries whole, but a population\'s '
                    'parents need not be in the archive; use "all" or "off"'
                )
        if not self.elitism < self.batch_size:
            raise ValueError(f"elitism: must be in [0, batch_size), got {self.elitism}")
        if self.elitism and self.loop != "population":
            raise ValueError('elitism: only the population loop has elitism (loop = "population")')
        return self


class EvaluationConfig(_Section):
    backend: Literal["inprocess", "process", "dask"] = "inprocess"
    workers: int | None = Field(None, ge=1, description="worker processes, e.g. 4")
    scheduler: str | None = Field(None, description="a Dask scheduler, e.g. tcp://host:8786")

    @model_validator(mode="after")
    def _scheduler_needs_dask(self) -> EvaluationConfig:
        if self.scheduler is not None and not self.scheduler.strip():
            raise ValueError(
                f"scheduler: expected an address such as tcp://host:8786, got {self.scheduler!r}"
            )
        if self.scheduler and self.backend != "dask":
            raise ValueError(
                f'scheduler: a Dask scheduler address needs backend = "dask", not {self.backend!r}'
            )
        return self


class LMConfig(LMOptions):
    """Where the LM is (:class:`~qd.lm.settings.LMOptions`, the one LM schema) and how a
    run uses it; the API key only ever comes from ``QD_LM_API_KEY``."""

    cache: bool = True
    embedding_base_url: str = ""  # empty: the completion server's, if embedding_model is set
    embedding_model: str = ""  # empty: the embedded all-MiniLM-L6-v2
    prices: dict[str, Price] = Field(
        default_factory=dict,
        description='model name (or "*") -> {prompt, completion} USD per million tokens',
    )
    max_cost: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="US dollars at which the run stops, e.g. 2.5"
    )
    max_tokens: int | None = Field(
        None, ge=1, description="prompt + completion tokens at which the run stops, e.g. 1000000"
    )

    @model_validator(mode="after")
    def _priced(self) -> LMConfig:
        if self.max_cost is not None and not self.prices:
            raise ValueError(
                "max_cost: needs a price table, e.g. [lm.prices.my-model] prompt = 0.15, "
                'completion = 0.6 (USD per million tokens; "*" for any model)'
            )
        return self


class ExperimentConfig(_Section):
    """A whole experiment. ``domain`` holds ``name`` plus the domain's own options,
    which are checked by building the domain (:meth:`build_domain`)."""

    name: str = "experiment"
    seed: int = Field(0, ge=0, description="a non-negative integer")
    domain: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    archive: ArchiveConfig = Field(default_factory=ArchiveConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    lm: LMConfig = Field(default_factory=LMConfig)

    @field_validator("name")
    @classmethod
    def _a_directory_name(cls, value: str) -> str:
        if not value or "/" in value or value in (".", ".."):
            raise ValueError(f"{value!r} must be a non-empty name without '/'")
        if len(value.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise ValueError(
                f"{value[:40]!r}... is {len(value.encode('utf-8', 'surrogateescape'))} bytes "
                f"long; a run directory's name must fit in {MAX_NAME_BYTES} bytes"
            )
        return value

    @field_validator("domain")
    @classmethod
    def _names_a_domain(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("name"), str) or not value["name"]:
            raise ValueError("name: missing; set it to a domain from `qd domains`")
        return value

    def to_dict(self) -> dict[str, Any]:
        """The resolved config, as written to ``runs/<name>/config.toml``."""
        return _drop_none(self.model_dump())

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
        return self.model_copy(
            update={"domain": {"name": self.domain["name"], **defaults, **self.domain}}
        )

    def domain_options(self) -> dict[str, Any]:
        return {k: v for k, v in self.domain.items() if k != "name"}

    def build_domain(self) -> Domain:
        """Instantiate the configured domain.

        Options are first checked against the types in the domain's ``__init__``
        signature, so ``max_depth = "deep"`` is refused naming ``domain.max_depth``.

        Raises:
            ConfigError: Unknown domain, unknown option, or a value the domain refuses.
        """
        name = self.domain["name"]  # the validator made sure there is one
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
                        f"{did_you_mean(key, accepted)}; options: {', '.join(sorted(accepted))}"
                    )
        _check_option_types(cls, options)
        try:
            return cls(**options)
        except (TypeError, ValueError, KeyError, IndexError, OSError) as error:
            message = str(error.args[0] if error.args else error)
            raise ConfigError(f"{_blamed_key(message, options)} ({name}): {message}") from None


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
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM is no statement
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
        ConfigError: Every bad key, each named in full (``search.iterations: ...``).
    """
    lm = data.get("lm")
    if isinstance(lm, dict) and "api_key" in lm:
        raise ConfigError(
            "lm.api_key: set the key in the QD_LM_API_KEY environment variable instead; "
            "configs are copied into run directories and a key must never be"
        )
    _refuse_control_characters(data, "")
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(explain(error, ExperimentConfig)) from None


def _refuse_control_characters(value: Any, key: str) -> None:
    """A NUL (or other control character but tab and newline) in any text value is a
    ConfigError naming the key: paths and names end in the OS, which refuses them with
    a bare ``ValueError: embedded null byte``."""
    if isinstance(value, dict):
        for name, item in value.items():
            _refuse_control_characters(item, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_control_characters(item, f"{key}[{index}]")
    elif isinstance(value, str):
        bad = next((c for c in value if ord(c) < 32 and c not in "\t\n\r"), None)
        if bad is not None:
            raise ConfigError(
                f"{key or 'value'}: contains the control character {bad!r} at position "
                f"{value.index(bad)}; remove it"
            )


def _check_option_types(cls: type[Domain], options: dict[str, Any]) -> None:
    """Refuse options whose type the domain's ``__init__`` annotations rule out.

    TOML has lists where Python code says tuple, so a list also passes as a tuple.
    Annotations that cannot be resolved or checked are left to the domain itself.
    """
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # a forward reference only a type checker resolves
        return
    for key, value in options.items():
        if key not in hints:
            continue
        try:
            adapter = TypeAdapter(hints[key], config=ConfigDict(strict=True))
        except Exception:  # not a type pydantic can check (a numpy array, a callable)
            continue
        tries = [value, tuple(value)] if isinstance(value, list) else [value]
        errors = []
        for candidate in tries:
            try:
                adapter.validate_python(candidate)
                break
            except ValidationError as error:
                errors.append(error)
        else:
            raise ConfigError(f"{explain(errors[0], ExperimentConfig, prefix=f'domain.{key}')}")


def _blamed_key(message: str, options: dict[str, Any]) -> str:
    """The ``domain.<option>`` a domain's error message is about, or ``domain``."""
    for key, value in options.items():
        named = isinstance(value, str) and (
            repr(value) in message or repr(str(Path(value))) in message
        )
        if message.startswith(f"{key}:") or named:
            return f"domain.{key}"
    return "domain"


def _accepted_options(cls: type[Domain]) -> set[str] | None:
    parameters = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.name != "self"}


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
