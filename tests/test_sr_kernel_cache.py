"""numba's cached kernels are dropped when any kernel module's source changes.

numba checks a cached kernel against its own file only; a kernel that compiled another
module's kernel into itself would otherwise outlive an edit of that module.
"""

from __future__ import annotations

from pathlib import Path

from domains.symbolic_regression.kernel_cache import KERNEL_MODULES, STAMP, drop_stale_kernels


def _package(tmp_path: Path) -> tuple[Path, Path]:
    package = tmp_path / "package"
    cache = package / "__pycache__"
    cache.mkdir(parents=True)
    for name in KERNEL_MODULES:
        (package / f"{name}.py").write_text(f"# {name}\n")
    return package, cache


def _cached(cache: Path) -> set[str]:
    return {p.name for p in cache.iterdir() if p.suffix in (".nbi", ".nbc")}


def test_an_edit_of_any_kernel_module_drops_every_kernel_modules_cache(tmp_path) -> None:
    package, cache = _package(tmp_path)
    kept = {"other.run-12.py311.nbi", "other.run-12.py311.1.nbc"}  # not a kernel module
    fitted = {"batch_tuning.fit_many-193.py311.nbi", "batch_tuning.fit_many-193.py311.1.nbc"}
    for name in kept | fitted:
        (cache / name).write_bytes(b"x")
    assert drop_stale_kernels(package, cache)  # never stamped: whatever is there may be old
    assert _cached(cache) == kept
    assert (cache / STAMP).is_file()

    for name in fitted:  # numba compiles and caches again
        (cache / name).write_bytes(b"y")
    assert not drop_stale_kernels(package, cache)  # nothing changed: the cache stays
    assert _cached(cache) == kept | fitted

    (package / "compiled.py").write_text("# compiled, with a new opcode\n")
    assert drop_stale_kernels(package, cache)  # fit_many calls compiled._execute
    assert _cached(cache) == kept
    assert not drop_stale_kernels(package, cache)


def test_missing_sources_or_a_read_only_cache_change_nothing(tmp_path) -> None:
    package, cache = _package(tmp_path)
    (package / "intervals.py").unlink()
    (cache / "compiled._execute-98.py311.nbi").write_bytes(b"x")
    assert not drop_stale_kernels(package, cache)
    assert _cached(cache) == {"compiled._execute-98.py311.nbi"}
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    assert not drop_stale_kernels(_package(tmp_path / "second")[0], blocked)


def test_this_package_is_stamped_once_imported() -> None:
    import domains.symbolic_regression as package

    folder = Path(package.__file__).parent
    assert not drop_stale_kernels(folder)  # the import stamped the current sources
