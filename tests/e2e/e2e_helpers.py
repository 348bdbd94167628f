"""Helpers of the end-to-end tests (importable as ``e2e_helpers``: tests/ has no package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python ARGS`` in ``cwd`` as a user runs it from a checkout: the embedded models
    (any ``QD_LM_*`` or ``QD_EMBED_*`` of the developer's shell removed), the checkout on
    ``PYTHONPATH``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QD_LM_", "QD_EMBED_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def read_lines(path: Path) -> list[dict]:
    """The records of a ``.jsonl`` log; none when the file does not exist."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
