"""LM budgets: cost per iteration from a price table, and a run stopped at its budget.

Runs go against the fault server (an OpenAI-compatible stub whose every reply counts 5
prompt and 4 completion tokens), so the numbers are exact: the domain sends 4 requests
an iteration, 36 tokens.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fault_server import FaultServer
from typer.testing import CliRunner

from qd.cli import BUDGET_SPENT, app
from qd.lm.budget import Budget, Price
from qd.lm.usage import Usage
from qd.runs import ConfigError, parse_config


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qd.lm.faults.INITIAL_DELAY_S", 0.01)
    monkeypatch.setattr("qd.lm.faults.MAX_DELAY_S", 0.05)


def write_config(path: Path, **lm: Any) -> Path:
    lines = [
        f'name = "{path.stem}"',
        "seed = 7",
        "[domain]",
        'name = "fault_domain:Tales"',
        "[search]",
        "iterations = 4",
        "batch_size = 4",
        "checkpoint_every = 10",
        "[lm]",
        "timeout = 30.0",
        *(f"{k} = {json.dumps(v)}" for k, v in lm.items()),
        "[lm.prices.fault-model]",
        "prompt = 100000.0",  # $0.5 for 5 prompt tokens
        "completion = 250000.0",  # $1 for 4 completion tokens: $1.5 a request, $6 an iteration
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def qd(*args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--quiet"], catch_exceptions=False)


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_cost_and_tokens_from_usage_and_prices() -> None:
    class FakeLM:
        usage = Usage()
        settings = type("S", (), {"model": "m"})()
        embedder = type("E", (), {"usage": Usage(), "model_name": "e"})()

    lm = FakeLM()
    lm.usage.record(prompt_tokens=2_000_000, completion_tokens=1_000_000)
    lm.embedder.usage.record(prompt_tokens=1_000_000)
    prices = {"m": Price(prompt=0.5, completion=2.0), "*": Price(prompt=0.1)}
    budget = Budget(lm, prices=prices, max_cost=3.2, max_tokens=None)
    assert budget.cost() == pytest.approx(1.0 + 2.0 + 0.1)
    assert budget.tokens() == 4_000_000
    assert budget.spent() is None
    lm.usage.record(prompt_tokens=400_000)
    assert budget.metrics() == {
        "lm_cost": pytest.approx(3.3),
        "lm_cost_iteration": pytest.approx(0.2),
    }
    assert "lm.max_cost $3.2 reached" in budget.spent()
    assert Budget(lm, prices={}).cost() is None and Budget(lm, prices={}).metrics() == {}
    assert "lm.max_tokens 10 reached" in Budget(lm, prices={}, max_tokens=10).spent()


def test_max_cost_without_prices_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max_cost: needs a price table"):
        parse_config({"domain": {"name": "symbolic_regression"}, "lm": {"max_cost": 1.0}})


def test_a_run_stops_at_its_budget_and_resumes_with_a_raised_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    stderr = io.StringIO()
    monkeypatch.setattr("qd.cli.err", Console(file=stderr, width=400))
    with FaultServer() as server:
        monkeypatch.setenv("QD_LM_BASE_URL", server.base_url)
        monkeypatch.setenv("QD_LM_MODEL", "fault-model")
        config = write_config(tmp_path / "budget.toml", max_cost=10.0)
        result = qd("run", str(config), "--runs-dir", str(tmp_path))
        message = stderr.getvalue()
        assert result.exit_code == BUDGET_SPENT, message
        assert "lm.max_cost $10 reached ($12 spent) after iteration 2" in message
        assert f"qd resume {tmp_path / 'budget'} --set lm.max_cost=" in message
        run = tmp_path / "budget"
        metrics = rows(run / "metrics.jsonl")
        assert [m["lm_cost"] for m in metrics] == pytest.approx([6.0, 12.0])
        assert [m["lm_cost_iteration"] for m in metrics] == pytest.approx([6.0, 6.0])
        assert sorted(p.name for p in run.glob("archive-*.json")) == ["archive-000002.json"]
        assert [e["event"] for e in rows(run / "events.jsonl")][-1] == "budget_spent"
        assert server.requests == 8

        same = qd("resume", str(run))  # the same budget: stops at once, nothing sent
        assert same.exit_code == BUDGET_SPENT and server.requests == 8

        resumed = qd("resume", str(run), "--set", "lm.max_cost=20.0")
        assert resumed.exit_code == 0, resumed.output
        assert server.requests == 16
    metrics = rows(run / "metrics.jsonl")
    assert [m["iteration"] for m in metrics] == [1, 2, 3, 4]
    assert [m["lm_cost"] for m in metrics] == pytest.approx([6.0, 12.0, 18.0, 24.0])
    assert metrics[-1]["lm"]["prompt_tokens"] == 16 * 5

    report_run = CliRunner().invoke(app, ["report", str(run)], catch_exceptions=False)
    assert report_run.exit_code == 0, report_run.output
    report = (run / "report.md").read_text()
    assert "LM tokens (whole run): 144; cost $24.0000" in report
    assert "budget: max_cost $20" in report


def test_max_tokens_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultServer() as server:
        monkeypatch.setenv("QD_LM_BASE_URL", server.base_url)
        monkeypatch.setenv("QD_LM_MODEL", "fault-model")
        config = write_config(tmp_path / "tokens.toml", max_tokens=72)
        result = qd("run", str(config), "--runs-dir", str(tmp_path))
        assert result.exit_code == BUDGET_SPENT
        assert server.requests == 8  # 36 tokens an iteration: stopped after the second
