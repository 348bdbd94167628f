"""``report.html``: one self-contained page to explore a run (the map, each elite, its
ancestors, the curves).

A run is understood by clicking through it: which cell holds what, how good, and where
it came from. The page is one file with no server and no network: hand-written SVG,
about 60 lines of vanilla JS inline, and the data embedded as one
``<script type="application/json">`` block. No plotting library is vendored because
the drawing is simple (rectangles, circles, polylines) and a vendored library would
cost more page weight than every elite's data together; colours are computed here in
Python with matplotlib's viridis, so the page and the PNG heatmap agree.

What is drawn, and what is not yet:

- Grid archives with 1 or 2 axes are drawn cell by cell (by bin index: equal widths,
  the bin edges on the ticks; categorical axes as labelled bins). With more axes the
  first two are drawn and each drawn cell shows the best elite among those that share
  it. CVT archives are drawn as points at their cells' centroids (first two measures).
  There is no choice of axes or of colouring by an ``info`` field yet, and no
  checkpoint slider.
- Every elite has its measures, ``info`` (scalars, strings cut short) and a text:
  ``Domain.render`` when it gives a string, else ``str(candidate)``. When ``render``
  gives a Figure, only the ``figures`` best elites get it as an embedded PNG (a PNG is
  ~15 KB; thousands would make the page too big to open).
- Lineage: every record reachable from an elite through parent links
  (:func:`qd.runs.lineage.ancestors` for each elite, walked once for all), which the
  page walks the same way on a click. Ancestors that are no longer elites show a text
  only when one of the run's kept checkpoints still holds them; each ancestor with a
  known text and a parent with a known text gets a short word diff (``difflib``).
"""

from __future__ import annotations

import base64
import difflib
import html
import io
import json
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from qd.archive import Archive, Elite
from qd.domain import Domain, Measure
from qd.runs.checkpoints import CheckpointError
from qd.runs.directory import RunDirectory
from qd.runs.lifecycle import load_archive
from qd.runs.lineage import read_lineage
from qd.viz._heatmaps import EMPTY_COLOR

__all__ = ["FIGURES", "PAGE", "explorer_page", "write_explorer"]

PAGE = "report.html"
FIGURES = 12
"""How many of the best elites get their rendered Figure as a PNG (the rest: text).
Each costs about 0.3 s to draw: 50 made ``qd report`` on a 98-elite SR run take 27 s
instead of 17 s; ``--figures`` asks for more."""

TEXT_CHARS = 4000  # one elite's text, at most
INFO_CHARS = 300  # one info string, at most
DIFFS = 2000  # word diffs computed, at most (difflib is quadratic in the worst case)
CURVE_POINTS = 400  # points per curve, at most (every k-th iteration beyond that)
MAP_SIZE = 480  # the map's plotting area in SVG pixels


def write_explorer(
    run_path: str | Path,
    *,
    figures: int = FIGURES,
    notify: Callable[[str], None] | None = None,
) -> Path:
    """Write ``report.html`` into the run directory; returns its path.

    Args:
        run_path: The run directory.
        figures: How many of the best elites get their rendered Figure embedded.
        notify: Told of each newer checkpoint skipped because it cannot be read.

    Raises:
        RunError: Not a run directory, or no checkpoint yet.
    """
    run = RunDirectory(run_path)
    config, domain, archive, checkpoint = load_archive(run, notify=notify)
    page = run.path / PAGE
    title = f"Run {config.name}: {domain.name}, {checkpoint.iteration} iterations"
    page.write_text(explorer_page(run, domain, archive, title=title, figures=figures))
    return page


def explorer_page(
    run: RunDirectory,
    domain: Domain,
    archive: Archive,
    *,
    title: str,
    figures: int = FIGURES,
) -> str:
    """The whole HTML page of a loaded run (:func:`write_explorer` without the loading,
    so ``qd report`` loads the archive once for both pages).

    Args:
        run: The run directory (metrics, lineage and older checkpoints are read here).
        domain: The run's domain: renders elites, decodes older checkpoints' records.
        archive: The archive to draw (the newest checkpoint's).
        title: The page's title and heading.
        figures: How many of the best elites get their rendered Figure embedded.
    """
    elites = archive.elites()
    renders_text = bool(elites) and isinstance(
        _render(domain, max(elites, key=lambda e: e.objective)), str
    )
    colours = _colours(np.asarray([e.objective for e in elites], dtype=float))
    lineage = read_lineage(run.path)
    reachable = _reachable(lineage, [e.id for e in elites if e.id is not None])
    texts = _older_texts(run, domain, reachable, {e.id for e in elites}, renders_text)
    data: dict[str, Any] = {
        "title": title,
        "axes": [{"name": m.name, "title": m.title or m.name} for m in domain.measures],
        "elites": _elite_rows(domain, elites, colours, renders_text, figures),
        "lineage": {
            key: [r.get("iteration"), r.get("parents"), r.get("operator"), r.get("fate")]
            + ([str(r["reason"])[:INFO_CHARS]] if r.get("reason") else [])
            for key, r in lineage.items()
            if key in reachable
        },
        "texts": texts,
    }
    texts_all = {**texts, **{e["id"]: e["text"] for e in data["elites"] if e["id"]}}
    data["diffs"] = _diffs(data["lineage"], texts_all)
    svg_map, note = _map_svg(archive, domain, elites, colours)
    curves = _curves_html(run.metrics())
    return _PAGE.format(
        title=html.escape(title),
        summary=html.escape(
            f"{len(elites)} elites of {archive.cells} cells; {len(data['lineage'])} lineage "
            f"records reach them. {note}"
        ),
        map=svg_map,
        curves=curves,
        data=embed_json(data),
        script=_SCRIPT,
        empty=EMPTY_COLOR,
    )


def embed_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: every ``<`` is written ``\\u003c``,
    so no string (``</script>``, ``<!--``) can end or change the element."""
    return json.dumps(_plain(value), separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


# --- data -------------------------------------------------------------------------------


def _render(domain: Domain, elite: Elite) -> Any:
    try:
        return domain.render(elite.candidate, elite.info)
    except Exception as error:  # one bad rendering must not lose the page
        return f"(render failed: {type(error).__name__}: {error})"


def _elite_rows(
    domain: Domain, elites: list[Elite], colours: list[str], renders_text: bool, figures: int
) -> list[dict[str, Any]]:
    objectives = np.asarray([e.objective for e in elites], dtype=float)
    best = set(np.argsort(-objectives, kind="stable")[:figures].tolist()) if elites else set()
    rows = []
    for i, elite in enumerate(elites):
        row: dict[str, Any] = {
            "id": elite.id,
            "obj": elite.objective,
            "m": list(elite.measures),
            "c": colours[i],
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


def _colours(values: np.ndarray) -> list[str]:
    """Viridis over the objectives' range (one colour when all are equal)."""
    if values.size == 0:
        return []
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.full(values.shape, 0.5)
    cmap = colormaps["viridis"]
    return [to_hex(cmap(float(v))) for v in scaled]


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=50)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _short_info(info: dict[str, Any]) -> dict[str, Any]:
    """Scalars as they are, strings cut short, anything else as a short repr."""
    short: dict[str, Any] = {}
    for key, value in info.items():
        if isinstance(value, bool | int | float) or value is None:
            short[str(key)] = value
        else:
            text = value if isinstance(value, str) else repr(value)
            short[str(key)] = text[:INFO_CHARS] + ("..." if len(text) > INFO_CHARS else "")
    return short


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


def _older_texts(
    run: RunDirectory,
    domain: Domain,
    wanted: set[str],
    current: set[str | None],
    renders_text: bool,
) -> dict[str, str]:
    """Texts of ancestors that are no longer elites but are in an older kept checkpoint."""
    texts: dict[str, str] = {}
    for path in reversed(run.checkpoints()):
        try:
            records = run.read_checkpoint(path).records
        except CheckpointError:
            continue
        for record in records:
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


def _plain(value: Any) -> Any:
    """A JSON value: numpy scalars as Python ones, non-finite floats as strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# --- the map ----------------------------------------------------------------------------


def _map_svg(
    archive: Archive, domain: Domain, elites: list[Elite], colours: list[str]
) -> tuple[str, str]:
    """The map as SVG (one ``rect.cell`` or ``circle.cell`` per drawn elite, ``data-i``
    its index in the page's elites) and a sentence on what is not drawn."""
    measures = list(domain.measures)
    pad, size = 60, MAP_SIZE
    if archive.kind == "cvt":
        return _cvt_svg(archive, measures, elites, colours, pad, size)
    shown = measures[:2]
    note = ""
    if len(measures) > 2:
        note = (
            f"The map shows the first two of {len(measures)} axes; each cell shows the best "
            "elite among those that share it."
        )
    nx = shown[0].bins
    ny = shown[1].bins if len(shown) > 1 else 1
    height = size if ny > 1 else 40
    best: dict[tuple[int, int], int] = {}
    for i, elite in enumerate(elites):
        key = (elite.bins[0], elite.bins[1] if ny > 1 else 0)
        if key not in best or elite.objective > elites[best[key]].objective:
            best[key] = i
    w, h = size / nx, height / ny
    parts = [
        f'<svg id="map" width="{size + pad + 10}" height="{height + pad + 10}">',
        f'<rect x="{pad}" y="10" width="{size}" height="{height}" fill="{EMPTY_COLOR}"/>',
    ]
    for (bx, by), i in sorted(best.items()):
        elite = elites[i]
        x, y = pad + bx * w, 10 + (ny - 1 - by) * h
        parts.append(
            f'<rect class="cell" data-i="{i}" x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" '
            f'height="{h:.2f}" fill="{colours[i]}"><title>{_hover(measures, elite)}'
            "</title></rect>"
        )
    parts += _ticks(shown[0], pad, 10 + height, size, horizontal=True)
    if ny > 1:
        parts += _ticks(shown[1], pad, 10, height, horizontal=False)
    parts.append("</svg>")
    return "\n".join(parts), note


def _cvt_svg(
    archive: Archive,
    measures: Sequence[Measure],
    elites: list[Elite],
    colours: list[str],
    pad: int,
    size: int,
) -> tuple[str, str]:
    centroids = archive.centroids
    assert centroids is not None  # a CVT archive always has them
    dims = min(2, centroids.shape[1])
    low, high = centroids[:, :dims].min(axis=0), centroids[:, :dims].max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    parts = [
        f'<svg id="map" width="{size + pad + 10}" height="{size + pad + 10}">',
        f'<rect x="{pad}" y="10" width="{size}" height="{size}" fill="#fafafa"/>',
    ]
    for point in centroids:
        x, y = _cvt_xy(point, low, span, dims, pad, size)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{EMPTY_COLOR}"/>')
    for i, elite in enumerate(elites):
        x, y = _cvt_xy(centroids[elite.bins[0]], low, span, dims, pad, size)
        parts.append(
            f'<circle class="cell" data-i="{i}" cx="{x:.1f}" cy="{y:.1f}" r="5" '
            f'fill="{colours[i]}"><title>{_hover(measures, elite)}</title></circle>'
        )
    names = " and ".join(html.escape(m.title or m.name) for m in measures[:dims])
    parts.append(
        f'<text x="{pad + size / 2}" y="{size + 40}" text-anchor="middle">'
        f"CVT centroids by {names}</text></svg>"
    )
    note = "CVT cells are drawn as points at their centroids (first two measures)."
    return "\n".join(parts), note


def _cvt_xy(
    point: np.ndarray, low: np.ndarray, span: np.ndarray, dims: int, pad: int, size: int
) -> tuple[float, float]:
    x = pad + (point[0] - low[0]) / span[0] * size
    y = 10 + size / 2 if dims < 2 else 10 + size - (point[1] - low[1]) / span[1] * size
    return float(x), float(y)


def _hover(measures: Sequence[Measure], elite: Elite) -> str:
    described = ", ".join(
        f"{m.name} {_fmt(v)}" for m, v in zip(measures, elite.measures, strict=False)
    )
    return html.escape(f"{described}; objective {_fmt(elite.objective)}")


def _ticks(measure: Measure, x0: float, y0: float, length: float, *, horizontal: bool) -> list[str]:
    """Bin labels along one axis: categorical labels, or a few bin edges."""
    if measure.kind == "categorical":
        labels = list(measure.labels)
        positions = [(k + 0.5) / len(labels) for k in range(len(labels))]
    else:
        step = max(1, math.ceil(measure.bins / 8))
        indices = list(range(0, measure.bins + 1, step))
        labels = [_fmt(measure.bounds[k]) for k in indices]
        positions = [k / measure.bins for k in indices]
    parts = []
    for label, where in zip(labels, positions, strict=True):
        text = html.escape(str(label)[:12])
        if horizontal:
            parts.append(
                f'<text x="{x0 + where * length:.1f}" y="{y0 + 14}" font-size="10" '
                f'text-anchor="middle">{text}</text>'
            )
        else:
            parts.append(
                f'<text x="{x0 - 4}" y="{y0 + (1 - where) * length + 3:.1f}" font-size="10" '
                f'text-anchor="end">{text}</text>'
            )
    title = html.escape(measure.title or measure.name)
    if horizontal:
        parts.append(
            f'<text x="{x0 + length / 2:.1f}" y="{y0 + 32}" text-anchor="middle">{title}</text>'
        )
    else:
        mid = y0 + length / 2
        parts.append(
            f'<text x="14" y="{mid:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 14 {mid:.1f})">{title}</text>'
        )
    return parts


# --- curves -----------------------------------------------------------------------------


def _series(metrics: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """Every numeric field of ``metrics.jsonl`` (nested dicts one level deep, as
    ``lm.prompt_tokens``) against the iteration."""
    series: dict[str, list[tuple[float, float]]] = {}
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
            if key == "iteration" or isinstance(value, bool):
                continue
            if isinstance(value, int | float) and math.isfinite(value):
                series.setdefault(key, []).append((float(x), float(value)))
    return series


def _curves_html(metrics: list[dict[str, Any]]) -> str:
    width, height, pad = 260, 90, 4
    charts = []
    for name, points in _series(metrics).items():
        if len(points) > CURVE_POINTS:
            step = math.ceil(len(points) / CURVE_POINTS)
            points = [*points[::step], points[-1]]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        sx = (width - 2 * pad) / (x1 - x0) if x1 > x0 else 0.0
        sy = (height - 2 * pad) / (y1 - y0) if y1 > y0 else 0.0
        middle = height / 2 - pad  # a flat series is drawn across the middle
        line = " ".join(
            f"{pad + (x - x0) * sx:.1f},{height - pad - ((y - y0) * sy if sy else middle):.1f}"
            for x, y in points
        )
        charts.append(
            f'<figure class="curve"><figcaption>{html.escape(name)}: {_fmt(ys[-1])} '
            f"<small>(min {_fmt(y0)}, max {_fmt(y1)}; iterations {_fmt(x0)}-{_fmt(x1)})</small>"
            f'</figcaption><svg width="{width}" height="{height}">'
            f'<rect width="{width}" height="{height}" fill="#fafafa"/>'
            f'<polyline fill="none" stroke="#3b528b" stroke-width="1.5" points="{line}"/>'
            "</svg></figure>"
        )
    return "\n".join(charts) or "<p>No metrics yet.</p>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --- the page ---------------------------------------------------------------------------

_SCRIPT = """
(function () {
  var D = JSON.parse(document.getElementById("data").textContent);
  var byId = {};
  D.elites.forEach(function (e, i) { if (e.id) byId[e.id] = i; });
  var panel = document.getElementById("panel");
  function el(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined) n.textContent = text;
    if (cls) n.className = cls;
    return n;
  }
  function textOf(id) {
    if (id in D.texts) return D.texts[id];
    return id in byId ? D.elites[byId[id]].text : null;
  }
  function fmt(v) { return typeof v === "number" ? String(+v.toPrecision(4)) : String(v); }
  function show(i) {
    var e = D.elites[i];
    panel.textContent = "";
    panel.appendChild(el("h2", "elite " + (e.id || "(no id)")));
    panel.appendChild(el("p", "objective " + fmt(e.obj)));
    var measures = D.axes.map(function (a, k) { return a.name + " " + fmt(e.m[k]); });
    panel.appendChild(el("p", measures.join(", ")));
    if (e.png) {
      var img = el("img"); img.src = e.png; img.alt = "rendering"; panel.appendChild(img);
    }
    panel.appendChild(el("pre", e.text, "text"));
    var info = el("dl");
    Object.keys(e.info).forEach(function (k) {
      info.appendChild(el("dt", k)); info.appendChild(el("dd", fmt(e.info[k])));
    });
    panel.appendChild(info);
    panel.appendChild(el("h3", "Ancestors"));
    if (!e.id || !(e.id in D.lineage)) {
      panel.appendChild(el("p", "not in the lineage file")); return;
    }
    var list = el("ol", undefined, "lineage"), seen = {}, queue = [e.id], shown = 0;
    seen[e.id] = true;
    while (queue.length && shown < 300) {
      var id = queue.shift(), r = D.lineage[id];
      if (!r) continue;
      var item = el("li");
      var parents = r[1] === null ? "parents not recorded"
        : (r[1].length ? "from " + r[1].join(", ") : "initial");
      item.appendChild(el("b", id));
      var why = r[4] ? " (" + r[4] + ")" : "";
      var step = " iteration " + r[0] + ", " + r[2] + ", " + r[3] + why + "; " + parents;
      item.appendChild(el("span", step));
      var t = textOf(id);
      if (D.diffs[id]) item.appendChild(el("pre", D.diffs[id], "diff"));
      else if (t !== null) item.appendChild(el("pre", t, "text"));
      list.appendChild(item); shown++;
      (r[1] || []).forEach(function (p) { if (!seen[p]) { seen[p] = true; queue.push(p); } });
    }
    panel.appendChild(list);
    if (queue.length) panel.appendChild(el("p", "and more ancestors (first 300 shown)"));
  }
  document.getElementById("map").addEventListener("click", function (ev) {
    var i = ev.target.getAttribute("data-i");
    if (i !== null) show(+i);
  });
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
#top {{ display: flex; gap: 1.5em; align-items: flex-start; }}
#panel {{ max-width: 46em; min-width: 20em; }}
.cell {{ cursor: pointer; }} .cell:hover {{ stroke: #d62728; stroke-width: 2; }}
pre {{ white-space: pre-wrap; background: #f6f6f6; padding: .3em; margin: .2em 0; }}
.curve {{ display: inline-block; margin: .3em; }} figcaption {{ font-size: 12px; }}
dl {{ display: grid; grid-template-columns: auto 1fr; gap: 0 1em; font-size: 13px; }}
dd {{ margin: 0; word-break: break-all; }} .lineage li {{ font-size: 13px; }}
</style></head><body>
<h1>{title}</h1>
<p>{summary} Click a cell to see its elite and its ancestors; empty cells are
<span style="background:{empty}">grey</span>, colour is the objective (viridis).</p>
<div id="top"><div>{map}</div><div id="panel"><p>No elite selected.</p></div></div>
<h2>Curves</h2>
{curves}
<script type="application/json" id="data">{data}</script>
<script>{script}</script>
</body></html>
"""
