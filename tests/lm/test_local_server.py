"""The embedded model, for real: llama.cpp's server with SmolLM2-135M on a loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from lm_helpers import needs_llama_cpp, port_is_open

from qd.lm import (
    LM,
    Completion,
    LMError,
    LMSettings,
    LocalServer,
    LocalServerError,
    local_server,
    open_lm,
)
from qd.lm.local import free_port

pytestmark = [pytest.mark.lm, needs_llama_cpp]

JUDGE = (
    "Here is a short movie review.\n"
    "Review: I loved every minute of it, the acting was superb.\n"
    "Question: Is this review positive? Answer yes or no.\n"
    "Answer:"
)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_stopped(pid: int, port: int) -> None:
    deadline = time.monotonic() + 10
    while (pid_alive(pid) or port_is_open("127.0.0.1", port)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid), f"server process {pid} still runs"
    assert not port_is_open("127.0.0.1", port), f"port {port} still accepts connections"


@pytest.fixture
def lm(lm_server: LocalServer) -> LM:
    return LM(lm_server.settings(timeout=60, max_retries=1))


def test_completion_returns_text(lm):
    reply = lm.complete("The capital of France is", max_tokens=8, temperature=0)
    assert isinstance(reply, Completion)
    assert reply.text.strip()
    assert reply.finish_reason in {"stop", "length"}
    assert reply.usage["completion_tokens"] > 0
    assert reply.usage["prompt_tokens"] > 0
    assert lm.usage.snapshot()["requests"] == 1


def test_completion_logprobs_are_top_logprobs_dicts(lm):
    reply = lm.complete(JUDGE, max_tokens=2, temperature=0, logprobs=5)
    assert reply.top_logprobs is not None
    assert len(reply.top_logprobs) == len(reply.tokens) >= 1
    first = reply.top_logprobs[0]
    assert isinstance(first, dict) and 1 <= len(first) <= 5
    assert all(isinstance(t, str) and lp <= 0.0 for t, lp in first.items())
    assert reply.tokens[0] in first


def test_chat_returns_text_and_logprobs(lm):
    reply = lm.chat(
        [{"role": "user", "content": "Say hello."}], max_tokens=6, temperature=0, logprobs=3
    )
    assert isinstance(reply, Completion) and reply.text.strip()
    assert reply.top_logprobs and isinstance(reply.top_logprobs[0], dict)


def test_complete_many_keeps_order(lm):
    prompts = ["One, two, three,", "Monday, Tuesday,", "Red, green,", "A, B, C,"]
    replies = lm.complete_many(prompts, max_tokens=5, temperature=0)
    assert len(replies) == 4
    assert all(isinstance(r, Completion) and r.text for r in replies)
    # Each slot answers its own prompt: the same prompt alone gives the same greedy text.
    assert lm.complete(prompts[2], max_tokens=5, temperature=0).text == replies[2].text


def test_cache_makes_a_repeat_cost_no_request(lm_server, tmp_path):
    cache = tmp_path / "lm-cache"
    first = LM(lm_server.settings(), cache=cache)
    a = first.complete_many([JUDGE], max_tokens=3, temperature=0, logprobs=5)[0]
    assert first.usage.snapshot()["requests"] == 1
    rerun = LM(lm_server.settings(), cache=cache)  # a rerun of the same config
    b = rerun.complete_many([JUDGE], max_tokens=3, temperature=0, logprobs=5)[0]
    usage = rerun.usage.snapshot()
    assert usage["requests"] == 0 and usage["cache_hits"] == 1
    assert b.cached and not a.cached
    assert (b.text, b.top_logprobs) == (a.text, a.top_logprobs)
    # A different sampling parameter is a different request.
    rerun.complete(JUDGE, max_tokens=4, temperature=0)
    assert rerun.usage.snapshot()["requests"] == 1


def test_unseeded_samples_are_cached_apart_and_replayed(lm_server, tmp_path):
    cache = tmp_path / "lm-cache"
    sampling = {"max_tokens": 6, "temperature": 1.0}
    run = LM(lm_server.settings(), cache=cache).complete_many(["Once upon a time"] * 3, **sampling)
    rerun_lm = LM(lm_server.settings(), cache=cache)
    rerun = rerun_lm.complete_many(["Once upon a time"] * 3, **sampling)
    assert [r.text for r in rerun] == [r.text for r in run]
    assert rerun_lm.usage.snapshot() | {"latency_s": 0} == {
        "requests": 0,
        "errors": 0,
        "retries": 0,
        "cache_hits": 3,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "latency_s": 0,
    }


def test_server_stops_after_normal_exit():
    with local_server() as server:
        pid, port = server.process.pid, server.port
        assert port_is_open("127.0.0.1", port)
        assert "127.0.0.1" in server.base_url
    assert not server.running
    assert_stopped(pid, port)


def test_server_stops_on_exception_and_keyboard_interrupt():
    for error in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)), LocalServer() as server:
            pid, port = server.process.pid, server.port
            raise error
        assert_stopped(pid, port)


def default_sigint() -> None:
    """Give the child Python's usual Ctrl-C handling.

    A shell starts background jobs (a CI script under nohup, say) with SIGINT ignored,
    and children inherit that; then Python never installs its KeyboardInterrupt handler
    and the Ctrl-C tests would test nothing.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_server_stops_when_the_run_gets_ctrl_c(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        from qd.lm import local_server
        with local_server() as server:
            print(server.process.pid, server.port, flush=True)
            time.sleep(120)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        preexec_fn=default_sigint,
    )
    try:
        pid, port = (int(v) for v in child.stdout.readline().split())
        child.send_signal(signal.SIGINT)
        child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert_stopped(pid, port)


def test_server_stops_when_the_run_is_killed(tmp_path):
    script = textwrap.dedent(
        """
        import time
        from qd.lm import LocalServer
        server = LocalServer().start()
        print(server.process.pid, server.port, flush=True)
        time.sleep(120)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        pid, port = (int(v) for v in child.stdout.readline().split())
        child.kill()  # SIGKILL: no finally runs; the server's parent-death signal does
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux only")
    assert_stopped(pid, port)


def test_startup_failure_names_the_cause(tmp_path):
    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(b"this is not a GGUF file")
    with pytest.raises(LocalServerError, match="exited with status") as info:
        LocalServer(model=bad).start()
    assert "last output" in str(info.value)


def test_startup_timeout_stops_the_server():
    server = LocalServer(startup_timeout=0.2)
    with pytest.raises(LocalServerError, match="did not answer"):
        server.start()
    assert server.process is None


def test_a_stopped_server_gives_errors_in_place():
    with local_server() as server:
        settings = server.settings(max_retries=1, timeout=2.0)
    replies = LM(settings).complete_many(["x", "y"], max_tokens=2)
    assert all(isinstance(r, LMError) for r in replies)


def test_open_lm_starts_the_embedded_model_only_when_none_is_configured():
    with open_lm(LMSettings(timeout=30, max_retries=0)) as lm:
        port = int(lm.settings.base_url.rsplit(":", 1)[1].split("/")[0])
        assert lm.settings.timeout == 30 and lm.settings.max_retries == 0
        assert isinstance(lm.complete("Hello", max_tokens=2, temperature=0), Completion)
    assert not port_is_open("127.0.0.1", port)


def test_serve_runs_in_the_foreground_until_ctrl_c(tmp_path):
    port = free_port()
    script = f"import sys; from qd.lm import serve; sys.exit(serve(port={port}))"
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        preexec_fn=default_sigint,
    )
    try:
        # The server's own access log shares stdout; read until the settings line.
        lines: list[str] = []
        while len(lines) < 20 and not any("QD_LM_BASE_URL" in x for x in lines):
            lines.append(child.stdout.readline())
        assert f"QD_LM_BASE_URL=http://127.0.0.1:{port}/v1" in lines[-1], lines
        assert port_is_open("127.0.0.1", port)
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=20) == 0
    finally:
        if child.poll() is None:
            child.kill()
    assert not port_is_open("127.0.0.1", port)


def test_a_busy_port_is_a_clear_error_or_a_retry(monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with pytest.raises(LocalServerError, match="already in use"):
            LocalServer(port=taken).start()
        # A free port that someone takes before the server binds it: try another one.
        ports = iter([taken, free_port()])
        monkeypatch.setattr("qd.lm.local.free_port", lambda host: next(ports))
        with LocalServer() as server:
            assert server.port != taken and port_is_open("127.0.0.1", server.port)


def test_the_loopback_server_ignores_proxy_variables(lm_server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    reply = LM(lm_server.settings(max_retries=0)).complete("Hi", max_tokens=1, temperature=0)
    assert isinstance(reply, Completion)


def test_a_run_seed_fixes_samples_without_a_cache_and_another_seed_changes_them(lm_server):
    sampling = {"max_tokens": 12, "temperature": 1.0}
    prompts = ["Once upon a time"] * 3

    def texts(seed):
        replies = LM(lm_server.settings(), seed=seed).complete_many(prompts, **sampling)
        return [r.text for r in replies]

    first = texts(7)
    assert texts(7) == first  # same run seed, no cache: the same samples
    assert len(set(first)) > 1  # repeats of one prompt still differ within a run
    assert texts(8) != first


def test_derived_seeds_are_part_of_the_cache_key(lm_server, tmp_path):
    cache = tmp_path / "lm-cache"
    sampling = {"max_tokens": 6, "temperature": 1.0}
    LM(lm_server.settings(), cache=cache, seed=1).complete_many(["Hello"] * 2, **sampling)
    same = LM(lm_server.settings(), cache=cache, seed=1)
    same.complete_many(["Hello"] * 2, **sampling)
    assert same.usage.snapshot()["cache_hits"] == 2
    other = LM(lm_server.settings(), cache=cache, seed=2)
    other.complete_many(["Hello"] * 2, **sampling)
    assert other.usage.snapshot()["requests"] == 2
