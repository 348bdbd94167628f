"""Property: any text gives a level's drops or a LevelParseError, fast, and runs nothing.

A few thousand generated programs (valid, invalid, hostile, arbitrary text; see
``level_programs.py``) per run; ``bench/fuzz_levels.py`` runs 100,000 and prints the
figures. Time is this thread's CPU time, so other jobs on the machine do not fail it.
"""

from __future__ import annotations

import gc
import os
import sys
import time
import warnings
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from level_programs import MARKER, programs

from domains.science_birds.extract import competition_drops
from domains.science_birds.language import parse_program
from domains.science_birds.level import BLOCK_TYPES, Drop, LevelParseError

LIMIT_S = 0.1
FUZZ = settings(
    max_examples=1500,
    deadline=None,
    derandomize=True,  # the same examples on every run: a red CI is reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Audit events that mean something was run, opened or imported (sys.addaudithook).
_DENIED = ("exec", "open", "import", "os.", "subprocess.", "socket.", "shutil.", "ctypes.")


class _Recorder:
    """An audit hook that notes denied events, only while a parse is in progress."""

    def __init__(self) -> None:
        self.active = False
        self.events: list[str] = []

    def __call__(self, event: str, args: tuple) -> None:
        if not self.active or not event.startswith(_DENIED):
            return
        if event == "open" and str(args[0]).startswith("<") and args[1] == "rb":
            # CPython looks for the source file of a SyntaxError to quote its line; the
            # parser's pseudo file name ("<unknown>") is read-only and never run.
            return
        self.events.append(f"{event} {args!r:.200}")


RECORDER = _Recorder()
sys.addaudithook(RECORDER)  # hooks cannot be removed; this one is idle outside a parse


def read_safely(read: Callable[[str], list[Drop]], source: str) -> tuple[list[Drop] | None, float]:
    """``read(source)``: drops or None for a LevelParseError, and the thread CPU seconds.

    Raises:
        AssertionError: Another exception, a warning, an audit event or a bad result.
    """
    RECORDER.events.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A collection of Hypothesis's own heap would be charged to whichever call
        # triggers it (100 ms and more); the parser's garbage is freed by refcounts.
        gc.disable()
        RECORDER.active = True
        began = time.thread_time()
        try:
            drops: list[Drop] | None = read(source)
        except LevelParseError:
            drops = None
        finally:
            elapsed = time.thread_time() - began
            RECORDER.active = False
            gc.enable()
    assert not caught, [str(w.message) for w in caught]
    assert not RECORDER.events, RECORDER.events
    if drops is not None:
        assert drops, "a program that reads must make drops"
        for drop in drops:
            assert isinstance(drop, Drop) and drop.block_type in BLOCK_TYPES
            assert type(drop.x) is int and type(drop.line) is int
    return drops, elapsed


@FUZZ
@given(programs())
def test_parse_program_gives_drops_or_a_parse_error_fast(source: str) -> None:
    _, elapsed = read_safely(parse_program, source)
    assert elapsed < LIMIT_S, f"{elapsed * 1000:.0f} ms for {source[:200]!r}"
    assert not os.path.exists(MARKER), "a fuzzed program was executed"


@settings(FUZZ, max_examples=500)
@given(programs())
def test_competition_extractor_gives_drops_or_a_parse_error_fast(source: str) -> None:
    _, elapsed = read_safely(competition_drops, source)
    assert elapsed < LIMIT_S, f"{elapsed * 1000:.0f} ms for {source[:200]!r}"
