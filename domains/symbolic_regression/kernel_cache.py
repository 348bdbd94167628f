"""numba's disk cache of the compiled kernels, kept in step with their sources.

numba stamps a cached kernel with its own file's time and size, not with those of the
kernels it calls and compiles into itself. After an edit of ``compiled._execute`` alone
(a ``git pull`` in an editable install), a cached ``batch_tuning.fit_many`` would go on
running the old ``_execute``: formulas scored with the old semantics, without a word (it
happened here when ``sqrt`` got its opcode). So a digest of every kernel module's source
is kept beside the cache, and when it changes the cached kernels of all of them are
dropped before any is loaded. A fresh install or a read-only one has nothing to drop.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["KERNEL_MODULES", "drop_stale_kernels"]

KERNEL_MODULES = ("batch_kernels", "batch_tuning", "compiled", "intervals")
"""The modules whose ``numba`` kernels call each other's (``cache=True`` in each)."""
STAMP = "kernels.sha256"


def drop_stale_kernels(package: Path | None = None, cache: Path | None = None) -> bool:
    """Delete the cached kernels of :data:`KERNEL_MODULES` when any of their sources
    changed since the cache was stamped; returns whether it deleted (or restamped).

    Args:
        package: Folder of the kernel modules (default: this package).
        cache: numba's cache folder for them (default: ``__pycache__`` in ``package``,
            where numba keeps it for a writable checkout).
    """
    package = Path(__file__).parent if package is None else package
    cache = package / "__pycache__" if cache is None else cache
    digest = hashlib.sha256()
    for name in KERNEL_MODULES:
        try:
            digest.update((package / f"{name}.py").read_bytes())
        except OSError:
            return False  # no sources beside us (a zipped install): numba decides alone
    stamp = cache / STAMP
    try:
        if stamp.read_text() == digest.hexdigest():
            return False
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for name in KERNEL_MODULES:
            for path in [*cache.glob(f"{name}.*.nbi"), *cache.glob(f"{name}.*.nbc")]:
                path.unlink(missing_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        return False  # read-only: numba keeps its cache elsewhere, or none
    return True
