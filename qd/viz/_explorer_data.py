"""What the explorer page shows of one run, gathered as plain JSON-able data.

The page (:mod:`qd.viz._explorer_page`) draws everything in the browser from this data,
so the same data serves the static ``report.html``, the comparison page and ``qd view``
(which sends it again when the run's files change). Nothing here writes anything.

What is gathered, and what is cut to keep the page small:

- every elite of the newest checkpoint: measures, bins, objective, ``info`` (scalars,
  strings cut to :data:`INFO_CHARS`) and a text (``Domain.render``'s string, else
  ``str(candidate)``, cut to :data:`TEXT_CHARS`); a rendered Figure as a PNG only for
  the ``figures`` best (a PNG is ~15 KB);
- the lineage records reachable from an elite, the texts of ancestors that older kept
  checkpoints still hold, and a word diff from each one's first parent;
- the older kept checkpoints' cells, compactly (``[id, objective, bins..., numeric
  info...]`` per cell) for the page's checkpoint slider, at most
  :data:`CHECKPOINT_CELLS` cells in all (the oldest checkpoints are dropped first);
- every numeric series of ``metrics.jsonl``, at most :data:`CURVE_POINTS` points each.
"""

from __future__ import annotations

import base64
import difflib
import io
import json
import math
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from qd.archive import Archive, Elite
from qd.domain import Domain, Measure
from qd.runs.checkpoints import Checkpoint, CheckpointError
from qd.runs.directory import RunDirectory
from qd.runs.lineage import read_lineage

__all__ = ["CHECKPOINT_CELLS", "CURVE_POINTS", "embed_json", "run_data", "series"]

TEXT_CHARS = 4000  # one elite's text, at most
INFO_CHARS = 300  # one info string, at most
DIFFS = 2000  # word diffs computed, at most (difflib is quadratic in the worst case)
CURVE_POINTS = 400  # points per curve, at most (every k-th iteration beyond that)
CHECKPOINT_CELLS = 50_000
"""Cells of older checkpoints embedded for the slider, at most, all checkpoints together
(about 30 bytes each: 1.5 MB). Past it the oldest checkpoints are left out, and the page
says so."""


def run_data(
    run: RunDirectory,
    domain: Domain,
    archive: Archive,
    *,
    name: str,
    iteration: int,
    evaluations: int,
    figures: int,
    lineage: bool = True,
) -> dict[str, Any]:
    """One run's data for the page.

    Args:
        run: The run directory (metrics, lineage and older checkpoints are read here).
        domain: The run's domain: renders elites, decodes older checkpoints' records.
        archive: The archive to draw (the newest checkpoint's).
        name: The run's name, as the page labels it.
        iteration: The newest checkpoint's iteration.
        evaluations: The newest checkpoint's evaluations.
        figures: How many of the best elites get their rendered Figure embedded.
        lineage: Whether to embed the lineage, older texts and diffs (the comparison
            page leaves them out and links each run's own page instead).
    """
    elites = archive.elites()
    renders_text = bool(elites) and isinstance(
        _render(domain, max(elites, key=lambda e: e.objective)), str
    )
    rows = _elite_rows(domain, elites, renders_text, figures)
    fields = sorted({k for row in rows for k, v in row["info"].items() if _number(v) is not None})
    older = _older_checkpoints(run, iteration)
    stats = archive.stats
    data: dict[str, Any] = {
        "name": name,
        "path": str(run.path),
        "domain": domain.name,
        "kind": archive.kind,
        "axes": [_axis(m) for m in domain.measures],
        "centroids": _centroids(archive),
        "fields": fields,
        "elites": rows,
        "stats": {
            "iteration": iteration,
            "evaluations": evaluations,
            "elites": stats.num_elites,
            "cells": stats.cells,
            "coverage": stats.coverage,
            "qd_score": stats.qd_score,
            "best": stats.obj_max,
        },
        "series": series(run.metrics()),
        "lineage": {},
        "texts": {},
        "diffs": {},
    }
    data["checkpoints"], data["checkpoint_note"] = _checkpoint_cells(older, archive, domain, fields)
    if lineage:
        records = read_lineage(run.path)
        reachable = _reachable(records, [e.id for e in elites if e.id is not None])
        data["lineage"] = {
            key: [r.get("iteration"), r.get("parents"), r.get("operator"), r.get("fate")]
            + ([str(r["reason"])[:INFO_CHARS]] if r.get("reason") else [])
            for key, r in records.items()
            if key in reachable
        }
        current = {e.id for e in elites}
        data["texts"] = _older_texts(older, domain, reachable, current, renders_text)
        texts_all = {**data["texts"], **{r["id"]: r["text"] for r in rows if r["id"]}}
        data["diffs"] = _diffs(data["lineage"], texts_all)
    return data


def embed_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: every ``<`` is written ``\\u003c``,
    so no string (``</script>``, ``<!--``) can end or change the element."""
    return json.dumps(plain(value), separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def plain(value: Any) -> Any:
    """A JSON value: numpy scalars as Python ones, non-finite floats as strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def series(metrics: list[dict[str, Any]]) -> dict[str, list[list[float]]]:
    """Every numeric field of ``metrics.jsonl`` (nested dicts one level deep, as
    ``lm.prompt_tokens``) as ``[iterations, values]``, every k-th point past
    :data:`CURVE_POINTS` (the last one always kept)."""
    found: dict[str, list[tuple[float, float]]] = {}
    for row in metrics:
        x = row.get("iteration")
        if not isinstance(x, int | float):
            continue
        flat: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, dict):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        for key, value in flat.items():
            if key != "iteration" and (number := _number(value)) is not None:
                found.setdefault(key, []).append((float(x), number))
    result = {}
    for key, points in found.items():
        if len(points) > CURVE_POINTS:
            step = math.ceil(len(points) / CURVE_POINTS)
            points = [*points[:-1:step], points[-1]]
        result[key] = [[p[0] for p in points], [_round(p[1]) for p in points]]
    return result


# --- elites -----------------------------------------------------------------------------


def _render(domain: Domain, elite: Elite) -> Any:
    try:
        return domain.render(elite.candidate, elite.info)
    except Exception as error:  # one bad rendering must not lose the page
        return f"(render failed: {type(error).__name__}: {error})"


def _elite_rows(
    domain: Domain, elites: list[Elite], renders_text: bool, figures: int
) -> list[dict[str, Any]]:
    objectives = np.asarray([e.objective for e in elites], dtype=float)
    best = set(np.argsort(-objectives, kind="stable")[:figures].tolist()) if elites else set()
    rows = []
    for i, elite in enumerate(elites):
        row: dict[str, Any] = {
            "id": elite.id,
            "obj": elite.objective,
            "m": list(elite.measures),
            "b": list(elite.bins),
            "info": _short_info(elite.info),
        }
        if renders_text:
            row["text"] = str(_render(domain, elite))[:TEXT_CHARS]
        else:
            row["text"] = str(elite.candidate)[:TEXT_CHARS]
            if i in best:
                shown = _render(domain, elite)
                if isinstance(shown, Figure):
                    row["png"] = _png(shown)
        rows.append(row)
    return rows


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=50)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _short_info(info: dict[str, Any]) -> dict[str, Any]:
    """Scalars as they are, strings cut short, anything else as a short repr."""
    short: dict[str, Any] = {}
    for key, value in info.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool | int | float) or value is None:
            short[str(key)] = value
        else:
            text = value if isinstance(value, str) else repr(value)
            short[str(key)] = text[:INFO_CHARS] + ("..." if len(text) > INFO_CHARS else "")
    return short


def _number(value: Any) -> float | None:
    """A finite int or float (not a bool) as a float, else None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _round(value: float) -> float:
    """Six significant digits: the page draws pixels, and digits cost bytes."""
    return float(f"{value:.6g}")


def _axis(measure: Measure) -> dict[str, Any]:
    axis: dict[str, Any] = {
        "name": measure.name,
        "title": measure.title or measure.name,
        "kind": measure.kind,
        "bins": measure.bins,
    }
    if measure.kind == "categorical":
        axis["labels"] = list(measure.labels)
    else:
        axis["edges"] = [_round(float(b)) for b in measure.bounds]
    return axis


def _centroids(archive: Archive) -> list[list[float]] | None:
    if archive.centroids is None:
        return None
    return [[_round(float(v)) for v in point] for point in archive.centroids]


# --- lineage ----------------------------------------------------------------------------


def _reachable(lineage: dict[str, dict[str, Any]], starts: Iterable[str]) -> set[str]:
    """Ids of the records reachable from ``starts`` through parent links: the union of
    :func:`qd.runs.lineage.ancestors` over the elites, in one walk instead of one each."""
    seen = {s for s in starts if s in lineage}
    queue = deque(seen)
    while queue:
        for parent in lineage[queue.popleft()].get("parents") or ():
            if parent in lineage and parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return seen


def _older_checkpoints(run: RunDirectory, newest: int) -> list[Checkpoint]:
    """The kept checkpoints before ``newest`` that read whole, oldest first."""
    found = []
    for path in run.checkpoints():
        try:
            checkpoint = run.read_checkpoint(path)
        except CheckpointError:
            continue
        if checkpoint.iteration < newest:
            found.append(checkpoint)
    return found


def _older_texts(
    older: list[Checkpoint],
    domain: Domain,
    wanted: set[str],
    current: set[str | None],
    renders_text: bool,
) -> dict[str, str]:
    """Texts of ancestors that are no longer elites but are in an older kept checkpoint."""
    texts: dict[str, str] = {}
    for checkpoint in reversed(older):
        for record in checkpoint.records:
            key = record.get("id")
            if key not in wanted or key in current or key in texts:
                continue
            try:
                candidate = domain.decode(record["candidate"])
                shown = domain.render(candidate, record.get("info") or {}) if renders_text else ""
            except Exception:  # an unreadable old record only loses its text
                continue
            texts[key] = str(shown if renders_text else candidate)[:TEXT_CHARS]
    return texts


def _diffs(lineage: dict[str, list[Any]], texts: dict[str, str]) -> dict[str, str]:
    """A word diff from each record's first parent, where both texts are known and differ:
    ``[-removed-]`` and ``{+added+}``, as ``git diff --word-diff`` writes them."""
    diffs: dict[str, str] = {}
    for key, row in lineage.items():
        parents = row[1] or []
        if len(diffs) >= DIFFS or not parents or key not in texts or parents[0] not in texts:
            continue
        before, after = texts[parents[0]], texts[key]
        if before == after:
            continue
        a, b = before.split(" "), after.split(" ")
        parts: list[str] = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                parts.append(" ".join(a[i1:i2]))
                continue
            if i2 > i1:
                parts.append("[-" + " ".join(a[i1:i2]) + "-]")
            if j2 > j1:
                parts.append("{+" + " ".join(b[j1:j2]) + "+}")
        diffs[key] = " ".join(parts)[:TEXT_CHARS]
    return diffs


# --- the checkpoint slider --------------------------------------------------------------


def _checkpoint_cells(
    older: list[Checkpoint], archive: Archive, domain: Domain, fields: list[str]
) -> tuple[list[dict[str, Any]], str]:
    """Each older checkpoint's cells as ``[id, objective, bins..., fields...]`` rows
    (a field an elite lacks is null), newest first until :data:`CHECKPOINT_CELLS`; and
    a sentence naming the checkpoints left out, if any."""
    kept: list[dict[str, Any]] = []
    total, dropped = 0, []
    for checkpoint in reversed(older):
        if total + len(checkpoint.records) > CHECKPOINT_CELLS:
            dropped.append(checkpoint.iteration)
            continue
        cells = _cells_of(checkpoint.records, archive, domain, fields)
        if cells is None:
            dropped.append(checkpoint.iteration)
            continue
        total += len(cells)
        kept.append({"iteration": checkpoint.iteration, "cells": cells})
    note = ""
    if dropped:
        note = (
            f"Left off the slider (unreadable, or past the page's cap of {CHECKPOINT_CELLS:,} "
            f"cells): the checkpoints of iterations {', '.join(map(str, sorted(dropped)))}."
        )
    return list(reversed(kept)), note


def _cells_of(
    records: list[dict[str, Any]], archive: Archive, domain: Domain, fields: list[str]
) -> list[list[Any]] | None:
    """Compact rows of one checkpoint's records; None if they do not fit the archive."""
    try:
        measures = [tuple(r["measures"]) for r in records]
        if archive.kind == "cvt":
            coords = archive.coordinates(measures) if measures else np.empty((0, 0))
            pyribs: Any = archive.pyribs  # a CVTArchive: nearest centroid, as add() finds it
            bins = [[int(c)] for c in np.asarray(pyribs.index_of(coords)).tolist()]
        else:
            bins = [
                [m.bin_of(v) for m, v in zip(domain.measures, row, strict=True)] for row in measures
            ]
    except (ValueError, TypeError, IndexError):
        return None
    cells = []
    for record, where in zip(records, bins, strict=True):
        info = record.get("info") or {}
        values = [_number(info.get(f)) for f in fields]
        cells.append(
            [record.get("id"), _round(float(record["objective"])), *where]
            + [None if v is None else _round(v) for v in values]
        )
    return cells
