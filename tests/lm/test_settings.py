"""Settings, errors and the client's failure paths: no server needed."""

from __future__ import annotations

import pickle
import time

import pytest

from qd.lm import LM, Completion, LMError, LMSettings, open_lm, settings_from_env
from qd.lm.local import free_port

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


def test_settings_from_env():
    env = {
        "QD_LM_BASE_URL": "http://gpu-box:8000/v1",
        "QD_LM_MODEL": "Qwen/Qwen2.5-7B-Instruct",
        "QD_LM_API_KEY": SECRET,
    }
    settings = settings_from_env(environ=env)
    assert settings.base_url == "http://gpu-box:8000/v1"
    assert settings.model == "Qwen/Qwen2.5-7B-Instruct"
    assert settings.api_key == SECRET
    assert settings.configured


def test_env_overrides_config_only_where_set():
    config = LMSettings(base_url="http://a/v1", model="m", max_concurrency=3)
    merged = settings_from_env(config, environ={"QD_LM_MODEL": "n", "QD_LM_BASE_URL": ""})
    assert (merged.base_url, merged.model, merged.max_concurrency) == ("http://a/v1", "n", 3)
    assert not settings_from_env(environ={}).configured


def test_api_key_is_masked_and_never_in_to_dict():
    settings = LMSettings(base_url="https://api.openai.com/v1", model="gpt", api_key=SECRET)
    for text in (repr(settings), str(settings), f"{settings}", repr(LM(settings))):
        assert SECRET not in text
        assert "abcdefghijklmnop" not in text
    assert "sk-...6789" in repr(settings)
    assert "api_key" not in settings.to_dict()
    assert "***" in repr(LMSettings(api_key="short"))


def test_from_dict_names_unknown_keys():
    assert LMSettings.from_dict({"model": "m", "timeout": 5}).timeout == 5
    with pytest.raises(ValueError, match=r"unknown LM setting.*modle"):
        LMSettings.from_dict({"modle": "m"})


def test_openai_key_goes_only_to_openai(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert LMSettings(base_url="https://api.openai.com/v1").resolved_api_key() == SECRET
    assert LMSettings(base_url="http://my-vllm:8000/v1").resolved_api_key() == "EMPTY"


def test_lm_needs_a_server():
    with pytest.raises(ValueError, match="QD_LM_BASE_URL"):
        LM(LMSettings())


def test_reserved_and_multi_choice_parameters_are_refused():
    lm = LM(LMSettings(base_url="http://127.0.0.1:9/v1", model="m"))
    with pytest.raises(ValueError, match="stream"):
        lm.complete_many(["x"], stream=True)
    with pytest.raises(ValueError, match="n must be 1"):
        lm.complete_many(["x"], n=3)


def test_error_values_pickle_and_serialise():
    error = LMError("boom", kind="status", status_code=503)
    back = pickle.loads(pickle.dumps(error))
    assert (back.message, back.kind, back.status_code) == ("boom", "status", 503)
    assert error.to_dict() == {"kind": "status", "status_code": 503, "message": "boom"}


def test_completion_round_trips_through_dict():
    completion = Completion(text="yes", finish_reason="length", top_logprobs=[{"yes": -0.2}])
    assert Completion.from_dict(completion.to_dict()) == completion


def test_closed_port_gives_errors_in_place_after_retries():
    settings = LMSettings(
        base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", timeout=2.0, max_retries=1
    )
    lm = LM(settings)
    began = time.perf_counter()
    replies = lm.complete_many(["a", "b", "c"], max_tokens=4)
    elapsed = time.perf_counter() - began
    assert len(replies) == 3
    assert all(isinstance(r, LMError) and r.kind == "connection" for r in replies)
    assert 0.3 < elapsed < 10  # one retry, with backoff (0.5 s less up to 25% jitter)
    assert lm.usage.snapshot()["errors"] == 3
    with pytest.raises(LMError):
        lm.complete("a", max_tokens=4)
    with pytest.raises(LMError):
        lm.chat([{"role": "user", "content": "a"}], max_tokens=4)


def test_open_lm_uses_a_configured_server_as_is(tmp_path):
    settings = LMSettings(base_url="http://127.0.0.1:9/v1", model="m", api_key=SECRET)
    with open_lm(settings, cache=tmp_path / "lm-cache") as lm:
        assert lm.settings is settings
        assert lm.cache is not None and lm.cache.path == tmp_path / "lm-cache"
