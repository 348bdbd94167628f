"""LM server faults, injected by a loopback server (``fault_server.py``), counted, named.

Every test asserts contents and counts: what the server served against what the client
counted, the cause in the error, the rows in ``events.jsonl``. None asserts a duration:
that ``lm.timeout`` capped a hang or a drip is shown by the server seeing the client hang
up before it finished (``cut_off``) and by the number of attempts. Timeouts are tiny, so
the whole file runs in seconds.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fault_server import FAULTS, FaultServer
from lm_helpers import needs_llama_cpp, port_is_open
from typer.testing import CliRunner

from qd.cli import LM_UNAVAILABLE, app
from qd.lm import (
    LM,
    Completion,
    Embedder,
    FailedChild,
    LMError,
    LMSettings,
    LMUnavailableError,
    open_lm,
)
from qd.lm.local import free_port
from qd.lm.supervisor import ServerSupervisor

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff of 10-50 ms instead of 0.5-8 s: the retry logic is the same, the tests fast."""
    monkeypatch.setattr("qd.lm.faults.INITIAL_DELAY_S", 0.01)
    monkeypatch.setattr("qd.lm.faults.MAX_DELAY_S", 0.05)


@pytest.fixture(autouse=True, scope="module")
def warm_client() -> None:
    """One request first: the openai client builds its reply models on first use, which
    on a busy machine can outlast the tiny timeouts below."""
    with FaultServer() as server:
        lm_for(server, timeout=60.0).complete("warm up", max_tokens=1)
        lm_for(server, timeout=60.0).chat([{"role": "user", "content": "hi"}], max_tokens=1)
        Embedder(LMSettings(base_url=server.base_url, model="m", timeout=60.0)).embed(["x"])


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` (for state another thread or process reaches)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def lm_for(server: FaultServer, **settings: Any) -> LM:
    options = {"timeout": 2.0, "max_retries": 0, "max_concurrency": 1, **settings}
    return LM(LMSettings(base_url=server.base_url, model="fault-model", **options))


# -- one fault at a time: the real cause in the error -----------------------------------

EXPECTED = {
    "http_500": ("status", 500, "HTTP 500", "injected failure"),
    "http_429": ("status", 429, "HTTP 429", "slow down"),
    "hang": ("timeout", None, "lm.timeout = 0.3 s", None),
    "drip": ("timeout", None, "lm.timeout = 0.3 s", None),
    "truncated": ("malformed", None, "JSONDecodeError", '{"id": "x"'),
    "garbage": ("malformed", None, "it began: '<html>", "<html><body>502"),
    "shape": ("malformed", None, "no choices", "no choices here"),
    "killed": ("connection", None, "RemoteProtocolError", None),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_an_error_that_names_its_cause(fault: str) -> None:
    kind, status, words, body = EXPECTED[fault]
    with FaultServer(plan=[fault], retry_after=5.0) as server:
        # 0.3 s for the faults that must time out; 2 s for the rest (the first request of
        # a process also builds the openai client's models, which takes a while).
        lm = lm_for(server, timeout=0.3 if kind == "timeout" else 2.0)
        (reply,) = lm.complete_many(["a prompt"], max_tokens=4)
        assert isinstance(reply, LMError), reply
        assert (reply.kind, reply.status_code) == (kind, status)
        assert words in reply.message
        if body is not None:
            assert reply.body is not None and body in reply.body
        assert server.requests == 1  # no retries: one attempt, and the deadline was spent
        assert lm.usage.faults == Counter({reply.fault: 1})
        assert lm.usage.snapshot()["errors"] == 1
        if fault in {"hang", "drip"}:  # the client hung up at lm.timeout, not at the end
            assert wait_until(lambda: server.cut_off[fault] == 1)
        record = reply.to_dict()
        assert record["kind"] == kind and json.loads(json.dumps(record)) == record


def test_retries_get_through_every_kind_of_fault_and_count_each() -> None:
    plan = ["http_500", "http_429", "garbage", "killed", "truncated", "ok"]
    with FaultServer(plan=plan) as server:
        lm = lm_for(server, max_retries=5, timeout=30.0)
        reply = lm.complete("a prompt", max_tokens=4)
    assert isinstance(reply, Completion) and "a story" in reply.text
    usage = lm.usage.snapshot()
    assert usage["requests"] == 1 and usage["errors"] == 0 and usage["retries"] == 5
    assert usage["faults"] == {"connection": 1, "http_429": 1, "http_500": 1, "malformed": 2}
    assert server.requests == 6


def test_the_timeout_caps_the_whole_request_retries_included(monkeypatch) -> None:
    # A drip would take minutes; the one deadline leaves no time for a second attempt.
    with FaultServer(plan=["drip"], drip_interval=0.02) as server:
        (reply,) = lm_for(server, timeout=0.5, max_retries=4).complete_many(["x"], max_tokens=4)
        assert isinstance(reply, LMError) and reply.kind == "timeout"
        assert server.requests == 1
        assert wait_until(lambda: server.cut_off["drip"] == 1)
    # A 429 asking for more time than is left is not waited for.
    with FaultServer(plan=["http_429"], retry_after=30.0) as server:
        (reply,) = lm_for(server, timeout=1.0, max_retries=4).complete_many(["x"], max_tokens=4)
        assert isinstance(reply, LMError) and reply.status_code == 429
        assert server.requests == 1
    # Backoff (0.5 s, then 1 s) outlasts a 1 s deadline after at most two attempts.
    monkeypatch.setattr("qd.lm.faults.INITIAL_DELAY_S", 0.5)
    monkeypatch.setattr("qd.lm.faults.MAX_DELAY_S", 8.0)
    with FaultServer(plan=["http_500"]) as server:
        (reply,) = lm_for(server, timeout=1.0, max_retries=10).complete_many(["x"], max_tokens=4)
        assert isinstance(reply, LMError) and reply.status_code == 500
        assert server.requests == reply.attempts <= 2


def test_a_batch_at_a_fault_rate_accounts_for_every_fault() -> None:
    with FaultServer(rate=0.3, seed=1) as server:
        # 2 s: only a hang or a drip takes that long, so "timeout" means one of them.
        lm = lm_for(server, max_retries=2, max_concurrency=4, timeout=2.0)
        prompts = [f"prompt {i}" for i in range(40)]
        replies = lm.complete_many(prompts, max_tokens=4)
    failed = [r for r in replies if isinstance(r, LMError)]
    assert len(replies) == 40 and all(isinstance(r, Completion | LMError) for r in replies)
    usage = lm.usage.snapshot()
    assert usage["requests"] == 40 and usage["errors"] == len(failed)
    assert server.requests == usage["requests"] + usage["retries"]  # one attempt, one request
    assert (
        Counter(usage["faults"]) == server.faults_served()
    )  # each fault counted once, as what it was
    assert sum(server.faults_served().values()) >= 10  # the rate really injected faults


def test_embeddings_share_the_deadline_retries_and_accounting() -> None:
    with FaultServer(rate=0.4, seed=3, faults=("http_500", "garbage", "killed", "hang")) as server:
        settings = LMSettings(
            base_url=server.base_url, model="m", timeout=2.0, max_retries=2, max_concurrency=4
        )
        embedder = Embedder(settings, batch_size=2)
        rows = embedder.embed_many([f"text {i}" for i in range(30)])
    errors = [r for r in rows if isinstance(r, LMError)]
    assert all(isinstance(r, np.ndarray) for r in rows if not isinstance(r, LMError))
    usage = embedder.usage.snapshot()
    assert usage["requests"] == 15 and usage["errors"] == len({id(e) for e in errors})
    assert Counter(usage.get("faults", {})) == server.faults_served()
    assert server.requests == usage["requests"] + usage["retries"]


# -- the circuit breaker ----------------------------------------------------------------


def test_the_breaker_opens_after_n_failed_requests_in_a_row_and_stops_the_batch() -> None:
    with FaultServer(plan=["http_500"]) as server:
        lm = lm_for(server, max_consecutive_failures=3)
        with pytest.raises(LMUnavailableError) as caught:
            lm.complete_many([f"p{i}" for i in range(10)], max_tokens=4)
        assert server.requests == 3
        assert "3 requests in a row" in str(caught.value) and "HTTP 500" in str(caught.value)
        assert [e["status_code"] for e in caught.value.last_errors] == [500, 500, 500]
        with pytest.raises(LMUnavailableError):  # open: nothing more is sent
            lm.complete("again", max_tokens=4)
        assert server.requests == 3
    assert [row["event"] for row in lm.events.pending] == ["lm_unavailable"]


def test_a_success_between_failures_keeps_the_breaker_closed() -> None:
    with FaultServer(plan=["http_500", "http_500", "ok"]) as server:
        lm = lm_for(server, max_consecutive_failures=3)
        replies = lm.complete_many([f"p{i}" for i in range(12)], max_tokens=4)
        assert sum(isinstance(r, Completion) for r in replies) == 4
        assert server.requests == 12 and lm.breaker.opened is None


def test_failed_children_say_why_and_become_invalid_without_the_domain() -> None:
    from fault_domain import Tales

    from qd.lm.lmx import LMXVariation
    from qd.search.evaluation import checked_evaluate

    with FaultServer(plan=["ok", "http_500", "garbage", "ok"]) as server:
        lm = lm_for(server)
        variation = LMXVariation(
            lm, template="T: ", archive=None, mode="fixed", seeds=["a b c"], max_tokens=4
        )
        children = variation.children(4, np.random.default_rng(0))
    assert [type(c).__name__ for c in children] == ["str", "FailedChild", "FailedChild", "str"]
    evaluations = checked_evaluate(Tales(), children)
    assert [e.valid for e in evaluations] == [True, False, False, True]
    http, garbage = evaluations[1], evaluations[2]
    assert http.invalid_reason.startswith("LM request failed: the LM server answered HTTP 500")
    assert http.info["lm_error"]["status_code"] == 500
    assert "injected failure" in http.info["lm_error"]["body"]
    assert garbage.info["lm_error"]["kind"] == "malformed"
    assert garbage.info["lm_error"]["body"].startswith("<html>")
    assert isinstance(children[1], FailedChild) and children[1].lm_fault


# -- runs: finish or stop as specified, count each fault, resume ---------------------------


@pytest.fixture
def lm_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[FaultServer], None]:
    def point_at(server: FaultServer) -> None:
        monkeypatch.setenv("QD_LM_BASE_URL", server.base_url)
        monkeypatch.setenv("QD_LM_MODEL", "fault-model")

    return point_at


def write_config(path: Path, *, iterations: int, lmx: str = "near", **lm: Any) -> Path:
    table = {"timeout": 2.0, "max_retries": 1, "max_concurrency": 2, **lm}
    lines = [
        f'name = "{path.stem}"',
        "seed = 7",
        "[domain]",
        'name = "fault_domain:Tales"',
        f'lmx = "{lmx}"',
        "[search]",
        f"iterations = {iterations}",
        "batch_size = 4",
        "checkpoint_every = 1",
        "[lm]",
        *(f"{k} = {json.dumps(v)}" for k, v in table.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def qd(*args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--quiet"], catch_exceptions=False)


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_run_at_a_fault_rate_finishes_and_records_every_cause(tmp_path, lm_env) -> None:
    with FaultServer(rate=0.3, seed=5) as server:
        lm_env(server)
        config = write_config(tmp_path / "faulty.toml", iterations=5)
        result = qd("run", str(config), "--runs-dir", str(tmp_path))
        served = server.faults_served()
        attempts = server.requests
    assert result.exit_code == 0, result.output
    run = tmp_path / "faulty"
    metrics = rows(run / "metrics.jsonl")
    events = rows(run / "events.jsonl")
    assert [m["iteration"] for m in metrics] == list(range(1, 6))
    usage = metrics[-1]["lm"]
    assert Counter(usage["faults"]) == served  # every injected fault, counted as what it was
    assert attempts == usage["requests"] + usage["retries"]
    invalid = [e for e in events if e["event"] == "invalid"]
    skipped = [e for e in events if e["event"] == "lm_iteration_not_counted"]
    assert all(e["reason"].startswith("LM request failed: ") for e in invalid)
    assert all(e["info"]["lm_error"]["kind"] in {"status", "timeout", "malformed", "connection"}
               for e in invalid)  # fmt: skip
    assert usage["errors"] == len(invalid) + sum(e["candidates"] for e in skipped)
    assert sum(served.values()) >= 5


def test_an_iteration_whose_children_all_failed_is_not_counted(tmp_path, lm_env) -> None:
    plan = ["ok"] * 4 + ["http_500"] * 4 + ["ok"] * 400  # iteration 2's four requests fail
    with FaultServer(plan=plan) as server:
        lm_env(server)
        config = write_config(tmp_path / "gap.toml", iterations=4, max_retries=0)
        result = qd("run", str(config), "--runs-dir", str(tmp_path))
        assert server.requests == 4 * 5
    assert result.exit_code == 0, result.output
    metrics = rows(tmp_path / "gap" / "metrics.jsonl")
    assert [m["iteration"] for m in metrics] == [1, 2, 3, 4]
    assert [m["evaluations"] for m in metrics] == [4, 8, 12, 16]
    events = rows(tmp_path / "gap" / "events.jsonl")
    (skipped,) = [e for e in events if e["event"] == "lm_iteration_not_counted"]
    assert skipped["during_iteration"] == 2 and skipped["candidates"] == 4
    assert skipped["faults"] == {"http_500": 4}
    assert skipped["first_error"]["status_code"] == 500
    assert not [e for e in events if e["event"] == "invalid"]
    assert metrics[-1]["lm"]["errors"] == 4 and metrics[-1]["lm"]["requests"] == 20


def test_a_failing_server_stops_the_run_resumably_with_its_own_status(
    tmp_path, lm_env, monkeypatch
) -> None:
    from rich.console import Console

    stderr = io.StringIO()
    monkeypatch.setattr("qd.cli.err", Console(file=stderr, width=400))

    plan = ["ok"] * 8 + ["http_500"] * 100  # two good iterations, then the server breaks
    with FaultServer(plan=plan) as server:
        lm_env(server)
        config = write_config(
            tmp_path / "outage.toml",
            iterations=4,
            max_retries=0,
            max_concurrency=1,
            max_consecutive_failures=3,  # the circuit breaker, an [lm] key
        )
        result = qd("run", str(config), "--runs-dir", str(tmp_path))
        message = stderr.getvalue()
        assert result.exit_code == LM_UNAVAILABLE, message
        assert "LM server keeps failing" in message and "HTTP 500" in message
        assert "iteration 2 is checkpointed" in message
        assert f"qd resume {tmp_path / 'outage'}" in message
        assert server.requests == 8 + 3  # nothing sent once the breaker opened
        run = tmp_path / "outage"
        assert [m["iteration"] for m in rows(run / "metrics.jsonl")] == [1, 2]
        assert sorted(p.name for p in run.glob("archive-*.json"))[-1] == "archive-000002.json"
        events = rows(run / "events.jsonl")
        kinds = [e["event"] for e in events]
        assert "lm_unavailable" in kinds and "lm_run_stopped" in kinds
        stopped = events[kinds.index("lm_run_stopped")]
        assert stopped["checkpoint_iteration"] == 2
        assert [e["status_code"] for e in stopped["last_errors"]] == [500, 500, 500]

        server.plan = ["ok"]  # the server is back
        resumed = qd("resume", str(run))
        assert resumed.exit_code == 0, resumed.output
        total = server.requests
    metrics = rows(run / "metrics.jsonl")
    assert [m["iteration"] for m in metrics] == [1, 2, 3, 4]
    # Usage continued across the resume: every request of the run, the failed ones too.
    assert metrics[-1]["lm"]["requests"] == total and metrics[-1]["lm"]["errors"] == 3
    assert metrics[-1]["lm"]["faults"] == {"http_500": 3}
    kinds = [e["event"] for e in rows(run / "events.jsonl")]
    assert "lm_unavailable" in kinds and "lm_run_stopped" in kinds  # the resume kept them


def test_a_dead_server_stops_the_run_instead_of_finishing_with_no_elites(
    tmp_path, monkeypatch
) -> None:
    # Before: every candidate "no text: the LM reply was empty or malformed", exit 0.
    monkeypatch.setenv("QD_LM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("QD_LM_MODEL", "fault-model")
    config = write_config(tmp_path / "dead.toml", iterations=3)
    result = qd("run", str(config), "--runs-dir", str(tmp_path))
    assert result.exit_code == LM_UNAVAILABLE
    run = tmp_path / "dead"
    assert rows(run / "metrics.jsonl") == [] and not list(run.glob("archive-*.json"))
    events = rows(run / "events.jsonl")
    skipped = [e for e in events if e["event"] == "lm_iteration_not_counted"]
    # Four requests an iteration: the breaker (20 failures) and the iteration limit (5)
    # meet at the fifth iteration; either stops the run, naming the cause.
    assert len(skipped) in (4, 5) and all(e["faults"] == {"connection": 4} for e in skipped)
    assert skipped[0]["first_error"]["exception"] == "ConnectError"
    (stopped,) = [e for e in events if e["event"] == "lm_run_stopped"]
    assert "in a row" in stopped["reason"] and "ConnectError" in stopped["reason"]


def test_a_resumed_run_replays_cached_samples_exactly(tmp_path, lm_env) -> None:
    # lmx = "fixed" sends one prompt over and over: only the per-prompt occurrence counter
    # tells the k-th request from the first, in the cache and in the derived seed.
    with FaultServer() as server:
        lm_env(server)
        whole = qd("run", str(write_config(tmp_path / "whole.toml", iterations=4, lmx="fixed")),
                   "--runs-dir", str(tmp_path))  # fmt: skip
        part = write_config(tmp_path / "part.toml", iterations=2, lmx="fixed")
        first = qd("run", str(part), "--runs-dir", str(tmp_path))
        resumed = qd("resume", str(tmp_path / "part"), "--iterations", "4")
    assert whole.exit_code == first.exit_code == resumed.exit_code == 0

    def final(name: str) -> tuple[list, dict]:
        newest = sorted((tmp_path / name).glob("archive-*.json"))[-1]
        saved = json.loads(newest.read_text())
        return sorted(json.dumps(r, sort_keys=True) for r in saved["archive"]), saved["lm"]

    (whole_archive, whole_lm), (part_archive, part_lm) = final("whole"), final("part")
    assert part_archive == whole_archive
    assert part_lm["seen"] == whole_lm["seen"]
    assert part_lm["usage"]["requests"] == whole_lm["usage"]["requests"] == 16


# -- the embedded server dies: restarted, bounded, logged ------------------------------------


class ScriptServer:
    """The fault server as a child process, with what ``ServerSupervisor`` asks of a
    ``LocalServer``: a stand-in that starts in a fraction of a second."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> ScriptServer:
        script = str(HERE / "fault_server.py")
        self.process = subprocess.Popen(
            [sys.executable, script, "--port", str(self.port)], stdout=subprocess.DEVNULL
        )
        self.starts += 1
        assert wait_until(lambda: port_is_open("127.0.0.1", self.port), timeout=30)
        return self

    def restart(self) -> ScriptServer:
        self.stop()
        return self.start()

    def exit_status(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def log_tail(self, lines: int = 20) -> str:
        return ""

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def script_server() -> Iterator[ScriptServer]:
    server = ScriptServer().start()
    yield server
    server.stop()


def test_a_dead_server_is_restarted_a_bounded_number_of_times(script_server) -> None:
    settings = LMSettings(base_url=script_server.base_url, model="m", timeout=5.0, max_retries=0)
    lm = LM(settings)
    lm.supervisor = ServerSupervisor(script_server, max_restarts=1, events=lm.events)
    assert isinstance(lm.complete("before", max_tokens=4), Completion)
    script_server.kill()
    assert isinstance(lm.complete("after one death", max_tokens=4), Completion)
    assert script_server.starts == 2 and lm.supervisor.restarts == 1
    script_server.kill()
    with pytest.raises(LMError) as caught:
        lm.complete("after a second death", max_tokens=4)
    assert caught.value.kind == "connection" and script_server.starts == 2
    events = list(lm.events.pending)
    assert [e["event"] for e in events] == ["lm_server_restarted", "lm_server_not_restarted"]
    assert events[0]["exit_status"] == -signal.SIGKILL and events[0]["restart"] == 1
    assert "after 1 restart(s)" in events[1]["reason"]
    assert lm.usage.snapshot()["faults"] == {"connection": 2}


@pytest.mark.lm
@needs_llama_cpp
def test_the_embedded_server_killed_mid_run_is_restarted_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    from qd.runs import execute, parse_config, start

    config = parse_config(
        {
            "name": "killed",
            "seed": 1,
            "domain": {"name": "fault_domain:Tales"},
            "search": {"iterations": 2, "batch_size": 2, "checkpoint_every": 1},
            "lm": {"timeout": 60.0, "max_retries": 1, "cache": False},
        }
    )
    env = {k: os.environ.pop(k) for k in ("QD_LM_BASE_URL", "QD_LM_MODEL") if k in os.environ}
    killed: list[int] = []

    def kill_after_first(search: Any, result: Any) -> None:
        if result.iteration == 1:
            server = search.domain._lm.supervisor.server
            killed.append(server.process.pid)
            server.process.kill()
            server.process.wait()

    try:
        run = start(config, tmp_path)
        search = execute(run, callbacks=[kill_after_first])
    finally:
        os.environ.update(env)
    assert search.iteration == 2 and killed
    events = run.events()
    restarts = [e for e in events if e["event"] == "lm_server_restarted"]
    assert len(restarts) == 1 and restarts[0]["exit_status"] == -signal.SIGKILL
    assert restarts[0]["server"] == "completions"
    assert [m["iteration"] for m in run.metrics()] == [1, 2]
    # The requests in flight when it died failed once each (connection), then went through.
    assert set(run.metrics()[-1]["lm"]["faults"]) == {"connection"}
    assert run.metrics()[-1]["lm"]["errors"] == 0


def test_open_lm_shares_one_breaker_and_event_log(tmp_path: Path) -> None:
    settings = LMSettings(base_url="http://127.0.0.1:9/v1", model="m", max_consecutive_failures=2)
    embedding = LMSettings(base_url="http://127.0.0.1:9/v1", model="e")
    with open_lm(settings, embedding=embedding) as lm:
        assert lm.embedder.breaker is lm.breaker and lm.breaker.events is lm.events
        assert lm.breaker.limit == 2


def test_a_judged_domain_marks_its_own_lm_failures(tmp_path: Path) -> None:
    from domains.creative_writing import CreativeWriting

    with FaultServer(plan=["http_500"]) as server:
        settings = LMSettings(base_url=server.base_url, model="m", timeout=1.0, max_retries=0)
        with open_lm(settings, embedding=settings) as lm:
            domain = CreativeWriting()
            domain.connect(lm=lm, archive=None)
            (result,) = domain.evaluate(["A long story about a spy and a rich politician."])
    assert result.invalid_reason.startswith("the embedding request failed: ")
    assert "HTTP 500" in result.invalid_reason
    assert result.info["lm_error"]["status_code"] == 500
