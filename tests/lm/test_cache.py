"""The cache key and the SQLite store: no server needed."""

from __future__ import annotations

import threading

import pytest

from qd.lm import LMCache, cache_key

BASE = {
    "model": "m",
    "kind": "completion",
    "payload": "Q: 1+1?\nA:",
    "sampling": {"max_tokens": 8, "temperature": 0.7, "seed": 1, "stop": ["\n"]},
}


def key(**changes):
    args = {**BASE, **changes}
    return cache_key(**args)


def test_key_is_stable_and_ignores_parameter_order():
    reordered = dict(reversed(list(BASE["sampling"].items())))
    assert key() == key() == key(sampling=reordered)


@pytest.mark.parametrize(
    "param, value",
    [
        ("max_tokens", 9),
        ("temperature", 0.8),
        ("seed", 2),
        ("stop", ["\n\n"]),
        ("top_p", 0.9),
        ("logprobs", 5),
        ("extra_body", {"top_k": 40}),
    ],
)
def test_key_changes_with_any_sampling_parameter(param, value):
    assert key(sampling={**BASE["sampling"], param: value}) != key()


def test_key_changes_with_model_kind_payload_and_occurrence():
    assert key(model="other") != key()
    assert key(kind="chat") != key()
    assert key(payload="Q: 2+2?\nA:") != key()
    assert key(occurrence=1) != key()
    chat = [{"role": "user", "content": "hi"}]
    assert key(kind="chat", payload=chat) != key(
        kind="chat", payload=[{"role": "system", "content": "hi"}]
    )


def test_cache_round_trip_persists(tmp_path):
    path = tmp_path / "run" / "lm-cache"
    cache = LMCache(path)
    assert cache.get("k") is None
    cache.put("k", {"text": "é", "top_logprobs": [{"yes": -0.1}]})
    cache.close()
    again = LMCache(path)
    assert again.get("k") == {"text": "é", "top_logprobs": [{"yes": -0.1}]}
    assert len(again) == 1


def test_cache_is_usable_from_threads(tmp_path):
    cache = LMCache(tmp_path / "lm-cache")

    def write(i: int) -> None:
        for j in range(20):
            cache.put(f"{i}-{j}", {"v": j})

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 80
    assert cache.get("3-19") == {"v": 19}
