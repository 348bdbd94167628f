"""Rasterise levels into small grey-scale images for the letter classifier.

One convention throughout: an image is a ``float32`` array of shape ``(size, size)``
with values in ``[0, 1]``, where **1 is ink** (a block) and 0 is background. Row 0 of
the array is the top of the picture. Shown with ``cmap="gray_r"`` it is black blocks on
white, the way ChatGPT4PCG renders a level.

Every raster is cropped to the structure's bounding box, scaled uniformly (aspect ratio
kept) so its longer side spans ``size * (1 - 2 * margin)`` pixels, and centred on a
square canvas. Edges are anti-aliased by supersampling: each pixel is the fraction of
its ``supersample x supersample`` sub-pixel centres that fall inside a block.

Two entry points draw the same picture from two descriptions of a level:

* :func:`rasterize_level` -- the grid :class:`~domains.science_birds.level.Level`
  (before physics).
* :func:`rasterize_poses` -- block centres and angles in Science Birds world units
  (after physics has settled the level). With :func:`grid_poses` an unsettled level
  round-trips to the same image.

Example:
    >>> from domains.science_birds.level import Block, Level
    >>> level = Level((Block("b13", 0, 0), Block("b31", 1, 3)))
    >>> img = rasterize_level(level)
    >>> img.shape, img.dtype.name, float(img.max())
    ((32, 32), 'float32', 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from matplotlib.path import Path

from domains.science_birds.level import BLOCK_SIZE, Level

__all__ = [
    "BLOCK_WORLD_SIZE",
    "CELL_SIZE",
    "block_quads",
    "grid_poses",
    "rasterize_cells",
    "rasterize_level",
    "rasterize_mask",
    "rasterize_paths",
    "rasterize_poses",
]

CELL_SIZE = 0.2401
"""Width of one grid cell in Science Birds world units."""

BLOCK_WORLD_SIZE: dict[str, tuple[float, float]] = {
    "b11": (0.22, 0.21),
    "b31": (0.70, 0.22),
    "b13": (0.22, 0.70),
}
"""True width and height of each block in world units (``b13`` is ``b31`` turned 90°)."""

DEFAULT_SIZE = 32
DEFAULT_MARGIN = 0.1
DEFAULT_SUPERSAMPLE = 4

_AXIS_EPS = 1e-6


def _check_args(size: int, margin: float, supersample: int) -> None:
    if not isinstance(size, (int, np.integer)) or size < 4:
        raise ValueError(f"size must be an integer >= 4, got {size!r}")
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin is a fraction of the image side in [0, 0.5), got {margin!r}")
    if not isinstance(supersample, (int, np.integer)) or supersample < 1:
        raise ValueError(f"supersample must be a positive integer, got {supersample!r}")


def _fit(
    xmin: float, xmax: float, ymin: float, ymax: float, size: int, margin: float
) -> tuple[float, float, float]:
    """Scale and offsets mapping world ``(x, y)`` to pixel ``(u, v)`` (v grows downwards)."""
    span = max(xmax - xmin, ymax - ymin, 1e-12)
    scale = size * (1.0 - 2.0 * margin) / span
    cx, cy = (xmin + xmax) / 2.0, (ymin + ymax) / 2.0
    return scale, size / 2.0 - cx * scale, size / 2.0 + cy * scale


def _pool(canvas: np.ndarray, size: int, supersample: int) -> np.ndarray:
    pooled = canvas.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return pooled.astype(np.float32)


def _fill_rect(canvas: np.ndarray, u0: float, u1: float, v0: float, v1: float, k: int) -> None:
    """Set the sub-pixels of ``canvas`` whose centres lie in ``[u0, u1) x [v0, v1)``.

    ``u``/``v`` are pixel coordinates; the canvas has ``k`` sub-pixels per pixel.
    """
    n = canvas.shape[0]
    c0 = max(0, math.ceil(u0 * k - 0.5))
    c1 = min(n, math.ceil(u1 * k - 0.5))
    r0 = max(0, math.ceil(v0 * k - 0.5))
    r1 = min(n, math.ceil(v1 * k - 0.5))
    if c1 > c0 and r1 > r0:
        canvas[r0:r1, c0:c1] = True


def _fill_path(canvas: np.ndarray, path: Path, k: int) -> None:
    """Set the sub-pixels of ``canvas`` whose centres lie inside ``path`` (pixel units).

    Curves are flattened and the sub-paths combined with the even-odd rule, so glyph
    holes stay open.
    """
    n = canvas.shape[0]
    ext = path.get_extents()
    c0 = max(0, math.floor(ext.x0 * k - 0.5))
    c1 = min(n, math.ceil(ext.x1 * k + 0.5))
    r0 = max(0, math.floor(ext.y0 * k - 0.5))
    r1 = min(n, math.ceil(ext.y1 * k + 0.5))
    if c1 <= c0 or r1 <= r0:
        return
    cols = (np.arange(c0, c1) + 0.5) / k
    rows = (np.arange(r0, r1) + 0.5) / k
    uu, vv = np.meshgrid(cols, rows)
    points = np.column_stack([uu.ravel(), vv.ravel()])
    inside = np.zeros(len(points), dtype=bool)
    for outline in path.to_polygons(closed_only=False):
        polygon = np.asarray(outline)  # already an (k, 2) array; matplotlib types ArrayLike
        if len(polygon) >= 3:
            inside ^= Path(polygon).contains_points(points)
    canvas[r0:r1, c0:c1] |= inside.reshape(len(rows), len(cols))


def _sample_indices(n_sub: int, k: int, offset: float, scale: float) -> np.ndarray:
    """Source cell index under each sub-pixel centre along one axis (may be out of range)."""
    centres = (np.arange(n_sub) + 0.5) / k
    return np.floor((centres - offset) / scale).astype(np.int64)


def rasterize_mask(
    mask: np.ndarray,
    *,
    size: int = DEFAULT_SIZE,
    margin: float = DEFAULT_MARGIN,
    supersample: int = DEFAULT_SUPERSAMPLE,
) -> np.ndarray:
    """Rasterise a boolean picture whose ``True`` entries are unit squares of ink.

    ``mask[i, j]`` is the square in row ``i`` (counted from the **top**) and column ``j``.
    The picture is cropped to its ``True`` entries and fitted exactly like
    :func:`rasterize_cells`, which calls this.

    Args:
        mask: 2-D boolean (or 0/1) array.
        size: side of the square output image in pixels.
        margin: blank border on each side, as a fraction of ``size``.
        supersample: sub-pixels per pixel side used for anti-aliasing.

    Returns:
        ``float32`` array ``(size, size)`` in ``[0, 1]``, 1 = ink; all zeros for an empty
        mask.

    Raises:
        ValueError: for a mask that is not 2-D or bad raster arguments.
    """
    _check_args(size, margin, supersample)
    mask = np.asarray(mask).astype(bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be a 2-D array, got shape {mask.shape}")
    k = supersample
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return np.zeros((size, size), dtype=np.float32)
    crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    # World frame: x = column, y = -row (so y grows upwards like everywhere else).
    scale, ox, oy = _fit(0.0, float(width), -float(height), 0.0, size, margin)
    col_idx = _sample_indices(size * k, k, ox, scale)
    # Row i covers y in [-(i + 1), -i): a sub-pixel at v lies in row floor((v - oy) / scale).
    row_idx = _sample_indices(size * k, k, oy, scale)
    col_ok = (col_idx >= 0) & (col_idx < width)
    row_ok = (row_idx >= 0) & (row_idx < height)
    canvas = np.zeros((size * k, size * k), dtype=bool)
    canvas[np.ix_(row_ok, col_ok)] = crop[np.ix_(row_idx[row_ok], col_idx[col_ok])]
    return _pool(canvas, size, k)


def rasterize_cells(
    cells: Iterable[tuple[int, int]],
    *,
    size: int = DEFAULT_SIZE,
    margin: float = DEFAULT_MARGIN,
    supersample: int = DEFAULT_SUPERSAMPLE,
) -> np.ndarray:
    """Rasterise a set of occupied grid cells ``(col, row)`` (row 0 at the bottom).

    Args:
        cells: occupied cells; duplicates are fine.
        size: side of the square output image in pixels.
        margin: blank border on each side, as a fraction of ``size``.
        supersample: sub-pixels per pixel side used for anti-aliasing.

    Returns:
        ``float32`` array ``(size, size)`` in ``[0, 1]``, 1 = ink. All zeros when
        ``cells`` is empty.

    Raises:
        ValueError: for a bad ``size``, ``margin`` or ``supersample``.
    """
    _check_args(size, margin, supersample)
    occupied = np.array(sorted(set(cells)), dtype=np.int64).reshape(-1, 2)
    if len(occupied) == 0:
        return np.zeros((size, size), dtype=np.float32)
    occupied -= occupied.min(axis=0)
    width, height = occupied.max(axis=0) + 1
    mask = np.zeros((height, width), dtype=bool)
    mask[height - 1 - occupied[:, 1], occupied[:, 0]] = True
    return rasterize_mask(mask, size=size, margin=margin, supersample=supersample)


def rasterize_level(
    level: Level,
    *,
    size: int = DEFAULT_SIZE,
    margin: float = DEFAULT_MARGIN,
    supersample: int = DEFAULT_SUPERSAMPLE,
) -> np.ndarray:
    """Rasterise a grid level: every cell a block covers is ink.

    Args:
        level: the level (blocks on the 20 x 16 grid).
        size: side of the square output image in pixels.
        margin: blank border on each side, as a fraction of ``size``.
        supersample: sub-pixels per pixel side used for anti-aliasing.

    Returns:
        ``float32`` array ``(size, size)`` in ``[0, 1]``, 1 = ink; all zeros for a level
        with no blocks.

    Raises:
        ValueError: for a bad ``size``, ``margin`` or ``supersample``.
    """
    cells = [cell for block in level.blocks for cell in block.cells()]
    return rasterize_cells(cells, size=size, margin=margin, supersample=supersample)


def grid_poses(level: Level, *, cell: float = CELL_SIZE) -> tuple[np.ndarray, list[str]]:
    """World poses of a level's blocks as placed on the grid (before any physics).

    Args:
        level: the grid level.
        cell: world size of one grid cell.

    Returns:
        ``(poses, block_types)``: ``poses`` is ``(n, 3)`` of ``(x, y, angle_degrees)``
        block centres, with the ground at ``y = 0`` and column 0 starting at ``x = 0``;
        ``block_types`` the matching type names.
    """
    poses = [((b.col + 0.5) * cell, (b.row + b.height / 2.0) * cell, 0.0) for b in level.blocks]
    return np.array(poses, dtype=float).reshape(-1, 3), [b.block_type for b in level.blocks]


def _block_corners(x: float, y: float, angle: float, w: float, h: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    local = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2.0
    rot = np.array([[c, -s], [s, c]])
    return local @ rot.T + np.array([x, y])


def block_quads(
    poses: np.ndarray | Sequence[Sequence[float]],
    block_types: Sequence[str],
    *,
    degrees: bool = False,
    cell: float = CELL_SIZE,
    true_size: bool = False,
) -> list[np.ndarray]:
    """Each block's four corners in world units: the one place blocks become polygons.

    Every picture of a level (this module's rasters, the glyph judge's mask, the OCR
    judges' images) starts from these rectangles, so they all agree on where a block is.

    Args:
        poses: ``(x, y, angle)`` block centres in world units (y up), turned
            counter-clockwise.
        block_types: one of ``b11``, ``b31``, ``b13`` per pose.
        degrees: angles in degrees (``grid_poses``, XML) rather than radians (Box2D).
        cell: world size of one grid cell.
        true_size: real Science Birds block sizes instead of grid footprints.

    Returns:
        One ``(4, 2)`` array of corners per block, in the order of ``poses``.

    Raises:
        ValueError: for mismatched lengths or an unknown block type.
    """
    if len(poses) != len(block_types):
        raise ValueError(
            f"got {len(poses)} poses but {len(block_types)} block types: pass one type per pose"
        )
    quads = []
    for (x, y, angle), block_type in zip(poses, block_types, strict=True):
        if block_type not in BLOCK_SIZE:
            raise ValueError(
                f"unknown block type {block_type!r}: expected one of {sorted(BLOCK_SIZE)}"
            )
        if true_size:
            w, h = BLOCK_WORLD_SIZE[block_type]
        else:
            w, h = (n * cell for n in BLOCK_SIZE[block_type])
        theta = math.radians(angle) if degrees else float(angle)
        quads.append(_block_corners(float(x), float(y), theta, w, h))
    return quads


def rasterize_poses(
    poses: np.ndarray | Sequence[Sequence[float]],
    block_types: Sequence[str],
    *,
    size: int = DEFAULT_SIZE,
    margin: float = DEFAULT_MARGIN,
    supersample: int = DEFAULT_SUPERSAMPLE,
    degrees: bool = True,
    cell: float = CELL_SIZE,
    true_size: bool = False,
) -> np.ndarray:
    """Rasterise blocks given by world poses, e.g. a level after physics settled it.

    Each block is a (possibly rotated) rectangle. By default it is drawn with its grid
    footprint (``b31`` = 3 x 1 cells of ``cell`` world units), so an unsettled level looks
    exactly like :func:`rasterize_level`'s picture of it; ``true_size=True`` draws the
    real, slightly smaller Science Birds block sizes instead (thin gaps between blocks).

    Args:
        poses: ``(n, 3)`` rows of ``(x, y, angle)``: block centre in world units (y up)
            and rotation, counter-clockwise.
        block_types: ``n`` names among ``"b11"``, ``"b31"``, ``"b13"``.
        size: side of the square output image in pixels.
        margin: blank border on each side, as a fraction of ``size``.
        supersample: sub-pixels per pixel side used for anti-aliasing.
        degrees: angles are in degrees (Science Birds XML); ``False`` for radians (Box2D).
        cell: world size of one grid cell.
        true_size: draw real block sizes instead of grid footprints.

    Returns:
        ``float32`` array ``(size, size)`` in ``[0, 1]``, 1 = ink; all zeros for no blocks.

    Raises:
        ValueError: for mismatched lengths, an unknown block type or bad raster arguments.
    """
    _check_args(size, margin, supersample)
    arr = np.asarray(poses, dtype=float).reshape(-1, 3) if len(poses) else np.zeros((0, 3))
    corners = block_quads(arr, block_types, degrees=degrees, cell=cell, true_size=true_size)
    angles = [math.radians(a) if degrees else float(a) for a in arr[:, 2]]
    k = supersample
    canvas = np.zeros((size * k, size * k), dtype=bool)
    if not corners:
        return _pool(canvas, size, k)
    everything = np.concatenate(corners)
    xmin, ymin = everything.min(axis=0)
    xmax, ymax = everything.max(axis=0)
    scale, ox, oy = _fit(xmin, xmax, ymin, ymax, size, margin)
    for quad, theta in zip(corners, angles, strict=True):
        u = ox + quad[:, 0] * scale
        v = oy - quad[:, 1] * scale
        if abs(math.sin(2.0 * theta)) < _AXIS_EPS:
            _fill_rect(canvas, u.min(), u.max(), v.min(), v.max(), k)
        else:
            _fill_path(canvas, Path(np.column_stack([u, v]), closed=False), k)
    return _pool(canvas, size, k)


def rasterize_paths(
    paths: Sequence[Path],
    *,
    size: int = DEFAULT_SIZE,
    margin: float = DEFAULT_MARGIN,
    supersample: int = DEFAULT_SUPERSAMPLE,
) -> np.ndarray:
    """Rasterise filled matplotlib paths (e.g. glyph outlines), cropped like a level.

    Paths are in world coordinates (y up); compound paths with holes (``"O"``) are filled
    with the even-odd rule of :meth:`matplotlib.path.Path.contains_points`.

    Args:
        paths: filled outlines.
        size: side of the square output image in pixels.
        margin: blank border on each side, as a fraction of ``size``.
        supersample: sub-pixels per pixel side used for anti-aliasing.

    Returns:
        ``float32`` array ``(size, size)`` in ``[0, 1]``, 1 = ink.
    """
    _check_args(size, margin, supersample)
    k = supersample
    canvas = np.zeros((size * k, size * k), dtype=bool)
    vertices = [np.asarray(p.vertices) for p in paths]  # matplotlib types them ArrayLike
    extents = [p.get_extents() for p, v in zip(paths, vertices, strict=True) if len(v)]
    if not extents:
        return _pool(canvas, size, k)
    xmin, ymin = min(e.x0 for e in extents), min(e.y0 for e in extents)
    xmax, ymax = max(e.x1 for e in extents), max(e.y1 for e in extents)
    scale, ox, oy = _fit(xmin, xmax, ymin, ymax, size, margin)
    for path, v in zip(paths, vertices, strict=True):
        if len(v) == 0:
            continue
        pix = np.column_stack([ox + v[:, 0] * scale, oy - v[:, 1] * scale])
        _fill_path(canvas, Path(pix, path.codes), k)
    return _pool(canvas, size, k)
