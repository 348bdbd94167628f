"""The architecture page names every module, so a new module comes with its line there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_architecture_names_every_module() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    modules = [
        path
        for package in ("qd", "domains")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "__init__.py" and "examples" not in path.parts  # level programs: data
    ]
    assert len(modules) > 80
    missing = [
        str(path.relative_to(ROOT))
        for path in modules
        if path.name not in page and path.stem not in page
    ]
    assert missing == [], f"name these in docs/architecture.md: {missing}"


SKIP_MARK = "<!-- snippet not run: "


def _snippets() -> list[tuple[str, int, str, str | None]]:
    """(file, index, code, why not run) of every ```python block in the README and docs."""
    import re

    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text()
        for index, match in enumerate(re.finditer(r"```python\n(.*?)```", text, re.S)):
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            why = before[len(SKIP_MARK) : -len(" -->")] if before.startswith(SKIP_MARK) else None
            found.append((str(page.relative_to(ROOT)), index, match.group(1), why))
    return found


SNIPPETS = _snippets()


@pytest.mark.parametrize(
    ("page", "index", "code", "why"), SNIPPETS, ids=[f"{p}#{i}" for p, i, _, _ in SNIPPETS]
)
def test_every_python_snippet_runs_as_written(page, index, code, why, tmp_path) -> None:
    """A snippet a reader copies runs in a fresh process with its own imports, or says
    above it why it is not meant to run alone."""
    if why is not None:
        assert len(why) > 10, f"{page}#{index}: say why the snippet is not run"
        pytest.skip(why)
    if "qd.lm" in code:
        pytest.importorskip("llama_cpp", reason="the snippet starts the embedded model")
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")  # data paths as in a checkout
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    env = {k: v for k, v in env.items() if not k.startswith(("QD_LM_", "QD_EMBED_"))}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{page}#{index} failed:\n{done.stderr[-2000:]}"


def test_snippets_that_do_not_run_are_few_and_said() -> None:
    runnable = [s for s in SNIPPETS if s[3] is None]
    assert len(runnable) >= 5 and len(SNIPPETS) - len(runnable) <= 15


def test_report_screenshots_are_shown_and_small() -> None:
    """docs/screenshots.py shoots one report.html per domain it runs; each PNG is in
    docs/images, shown by a page of the docs, and under 300 KB."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "docs" / "screenshots.py")
    assert spec is not None and spec.loader is not None
    screenshots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshots)
    assert set(screenshots.RUNS) == {"symbolic_regression", "science_birds", "creative_writing"}
    pages = "".join(page.read_text() for page in (ROOT / "docs").glob("*.md"))
    for name, (config, _) in screenshots.RUNS.items():
        assert (ROOT / config).is_file(), config
        image = ROOT / "docs" / "images" / f"report_{name}.png"
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
        assert image.stat().st_size < screenshots.MAX_BYTES == 300_000
        assert f"](images/{image.name})" in pages, f"no docs page shows {image.name}"
