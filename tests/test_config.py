"""Experiment configs: TOML plus overrides in, one ConfigError naming the key out."""

from __future__ import annotations

from pathlib import Path

import pytest

from domains.symbolic_regression import SymbolicRegression
from qd.registry import UnknownDomainError, load_domain_class, registered_domains
from qd.runs import ConfigError, ExperimentConfig, load_config, parse_config

BASE = """\
seed = 7

[domain]
name = "symbolic_regression"
max_size = 32

[search]
iterations = 5
batch_size = 16
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "koza.toml"
    path.write_text(BASE)
    return path


def error_of(path: Path, *overrides: str) -> str:
    """The ConfigError message of loading (and building the domain of) ``path``."""
    with pytest.raises(ConfigError) as caught:
        load_config(path, list(overrides)).build_domain()
    return str(caught.value)


# --- what a good config gives ---------------------------------------------------------


def test_load_config_reads_the_file_and_fills_defaults(config_file: Path) -> None:
    config = load_config(config_file)
    assert config.name == "koza"  # from the file name
    assert config.seed == 7
    assert config.domain == {"name": "symbolic_regression", "max_size": 32}
    assert (config.search.iterations, config.search.batch_size) == (5, 16)
    assert (config.search.emitters, config.search.checkpoint_every) == (1, 10)
    assert config.archive.kind == "grid"
    assert config.evaluation.backend == "inprocess"
    domain = config.build_domain()
    assert isinstance(domain, SymbolicRegression)
    assert domain.max_size == 32


def test_overrides_are_parsed_as_toml(config_file: Path) -> None:
    config = load_config(
        config_file,
        [
            "search.iterations=30",
            'domain.benchmark="nguyen-7"',
            'domain.descriptors=["size", "nonlinear"]',
            "domain.init_depth=[1, 3]",
            "archive.qd_score_offset=-1",  # an integer where a float is expected
            "evaluation.workers=2",
            "name=renamed",
            "domain.functions=[]",
        ],
    )
    assert config.search.iterations == 30
    assert config.domain["benchmark"] == "nguyen-7"
    assert config.domain["descriptors"] == ["size", "nonlinear"]
    assert config.domain["init_depth"] == [1, 3]
    assert config.archive.qd_score_offset == -1.0
    assert isinstance(config.archive.qd_score_offset, float)
    assert config.evaluation.workers == 2
    assert config.name == "renamed"
    assert config.domain["functions"] == []


def test_overrides_build_the_domain_they_describe(config_file: Path) -> None:
    config = load_config(
        config_file, ['domain.benchmark="nguyen-7"', 'domain.descriptors=["size", "nonlinear"]']
    )
    domain = config.build_domain()
    assert domain.benchmark.name == "nguyen-7"
    assert [m.name for m in domain.measures] == ["size", "nonlinear"]


def test_a_bare_word_override_is_a_string(config_file: Path) -> None:
    config = load_config(config_file, ["domain.benchmark=nguyen-7", "evaluation.backend=process"])
    assert config.domain["benchmark"] == "nguyen-7"
    assert config.evaluation.backend == "process"


def test_resolved_config_round_trips(config_file: Path) -> None:
    config = load_config(config_file, ["archive.kind=cvt", "archive.cells=50"])
    assert parse_config(config.to_dict()) == config
    assert "workers" not in config.to_dict()["evaluation"]  # None is left out of TOML


def test_parse_config_defaults() -> None:
    config = parse_config({"domain": {"name": "symbolic_regression"}})
    assert config == ExperimentConfig(domain={"name": "symbolic_regression"})


# --- every mistake is one ConfigError naming the key -------------------------------------


def test_unknown_top_level_key(config_file: Path) -> None:
    message = error_of(config_file, "serach.iterations=3")
    assert message.startswith("serach: unknown key")
    assert "did you mean 'search'" in message


def test_misspelt_search_key_suggests_the_right_one(config_file: Path) -> None:
    message = error_of(config_file, "search.iteratons=30")
    assert message.startswith("search.iteratons: unknown key")
    assert "did you mean 'iterations'" in message


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        ('search.batch_size="x"', "search.batch_size", "an integer"),
        ("search.iterations=2.5", "search.iterations", "an integer"),
        ("search.iterations=true", "search.iterations", "an integer"),
        ('archive.qd_score_offset="low"', "archive.qd_score_offset", "a number"),
        ("archive.kind=3", "archive.kind", "a string"),
        ("evaluation.workers=[2]", "evaluation.workers", "an integer"),
        ("search=3", "search", "a table"),
        ('seed="seven"', "seed", "an integer"),
    ],
)
def test_wrong_types(config_file: Path, override: str, key: str, expected: str) -> None:
    message = error_of(config_file, override)
    assert message.startswith(f"{key}: expected {expected}")


@pytest.mark.parametrize("override", ["seed=true", "seed=-1"])
def test_a_seed_must_be_a_non_negative_integer(config_file: Path, override: str) -> None:
    assert error_of(config_file, override).startswith("seed: ")


@pytest.mark.parametrize(
    "override",
    ["search.iterations=-5", "search.iterations=0", "search.batch_size=0", "search.emitters=-1"],
)
def test_counts_must_be_positive(config_file: Path, override: str) -> None:
    key, _, value = override.partition("=")
    assert error_of(config_file, override).startswith(f"{key}: must be at least 1, got {value}")


def test_unknown_backend(config_file: Path) -> None:
    message = error_of(config_file, 'evaluation.backend="dask-gpu"')
    assert message.startswith("evaluation.backend: 'dask-gpu' is not one of")
    assert "inprocess" in message


def test_other_bad_values(config_file: Path) -> None:
    assert error_of(config_file, "archive.kind=hex").startswith("archive.kind:")
    assert error_of(config_file, "archive.kind=cvt").startswith("archive.cells: required")
    assert error_of(config_file, "evaluation.workers=0").startswith("evaluation.workers:")
    assert error_of(config_file, 'name="a/b"').startswith("name:")


def test_missing_domain_name(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[search]\niterations = 3\n")
    assert error_of(path).startswith("domain.name: missing")
    with pytest.raises(ConfigError, match=r"^domain\.name: missing"):
        parse_config({"domain": {"name": ""}})


def test_unknown_domain_lists_the_registered_ones(config_file: Path) -> None:
    message = error_of(config_file, "domain.name=symbolic_regresion")
    assert message.startswith("domain.name: unknown domain 'symbolic_regresion'")
    assert "did you mean 'symbolic_regression'" in message
    assert "registered domains: " in message
    assert "symbolic_regression" in message.split("registered domains: ")[1]


def test_unknown_domain_option_suggests_the_right_one(config_file: Path) -> None:
    message = error_of(config_file, "domain.benchmrk=nguyen-7")
    assert message.startswith("domain.benchmrk: not an option of domain 'symbolic_regression'")
    assert "did you mean 'benchmark'" in message
    assert "max_depth" in message  # the options are listed


def test_a_value_the_domain_refuses_is_a_config_error(config_file: Path) -> None:
    message = error_of(config_file, 'domain.benchmark="nguyen-77"')
    assert "symbolic_regression" in message
    assert "'nguyen-77'" in message
    message = error_of(config_file, 'domain.descriptors=["size", "colour"]')
    assert "colour" in message


def test_a_value_the_domain_refuses_names_the_key(config_file: Path) -> None:
    assert error_of(config_file, 'domain.benchmark="nguyen-77"').startswith("domain.benchmark")


def test_malformed_toml(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[search\niterations = "')
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(path)
    assert str(path) in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found") as caught:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in str(caught.value)


@pytest.mark.parametrize("kind", ["directory", "binary"])
def test_unreadable_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "exp.toml"
    if kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"\xff\xfe\x00name = 1")
    with pytest.raises(ConfigError, match=r"exp\.toml"):
        load_config(path)


@pytest.mark.parametrize("override", ["search.iterations", "=3", "search.iterations.x=3"])
def test_malformed_overrides(config_file: Path, override: str) -> None:
    with pytest.raises(ConfigError, match="--set"):
        load_config(config_file, [override])


# --- registry ------------------------------------------------------------------------------


def test_registry_finds_shipped_and_path_domains() -> None:
    assert registered_domains()["symbolic_regression"] == (
        "domains.symbolic_regression:SymbolicRegression"
    )
    assert load_domain_class("symbolic_regression") is SymbolicRegression
    path = "domains.symbolic_regression.domain:SymbolicRegression"
    assert load_domain_class(path) is SymbolicRegression
    with pytest.raises(UnknownDomainError, match="cannot load domain"):
        load_domain_class("domains.symbolic_regression:Nope")
    with pytest.raises(UnknownDomainError, match="not a subclass"):
        load_domain_class("qd.runs.config:ConfigError")


def test_lm_section_takes_settings_but_never_an_api_key():
    config = parse_config(
        {
            "domain": {"name": "symbolic_regression"},
            "lm": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "cache": False},
        }
    )
    assert config.lm.cache is False and config.lm.model == "m"
    with pytest.raises(ConfigError, match=r"^lm\.api_key: set the key in the QD_LM_API_KEY"):
        parse_config({"domain": {"name": "symbolic_regression"}, "lm": {"api_key": "sk-x"}})
    with pytest.raises(ConfigError, match=r"^lm\.cache: expected true or false"):
        parse_config({"domain": {"name": "symbolic_regression"}, "lm": {"cache": "yes"}})


def test_lm_section_takes_the_circuit_breaker_and_restart_knobs(monkeypatch):
    from qd.runs.preflight import lm_settings

    for variable in ("QD_LM_BASE_URL", "QD_LM_MODEL", "QD_LM_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    config = parse_config(
        {
            "domain": {"name": "symbolic_regression"},
            "lm": {"max_consecutive_failures": 3, "max_server_restarts": 0, "timeout": 5},
        }
    )
    settings = lm_settings(config)
    assert (settings.max_consecutive_failures, settings.max_server_restarts) == (3, 0)
    assert settings.timeout == 5
    assert parse_config(config.to_dict()) == config


def test_the_lm_schema_is_one_for_configs_and_settings():
    from qd.lm import LMSettings
    from qd.lm.settings import LMOptions
    from qd.runs.config import LMConfig

    assert issubclass(LMConfig, LMOptions)
    with pytest.raises(ValueError) as direct:
        LMSettings(timeout=-1)
    with pytest.raises(ConfigError) as configured:
        parse_config({"domain": {"name": "symbolic_regression"}, "lm": {"timeout": -1}})
    assert str(configured.value) == f"lm.{direct.value}"


def test_a_utf8_byte_order_mark_is_no_statement(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_config(path).seed == 7


def test_domain_options_are_checked_against_the_signature(config_file: Path) -> None:
    assert error_of(config_file, 'domain.max_depth="deep"').startswith(
        "domain.max_depth: expected an integer, got 'deep'"
    )
    assert error_of(config_file, "domain.functions=[]").startswith("domain.functions")
