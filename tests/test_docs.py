"""The architecture page names every module, so a new module comes with its line there."""

from __future__ import annotations

from pathlib import Path

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
