"""The explorer page itself: HTML, CSS and the inline JavaScript that draws it.

The page is drawn in the browser from one embedded JSON block
(:mod:`qd.viz._explorer_data`), so choosing the axes, the colour or a checkpoint only
redraws, and ``qd view`` refreshes by fetching new data, not a new page. Hand-written
SVG and vanilla JS, no vendored plotting library: the drawing is rectangles, circles and
polylines, and a library would weigh more than the data. Colours are matplotlib's
viridis, sampled here in Python, so the page and the PNG heatmaps agree.
"""

from __future__ import annotations

import html
from importlib.resources import files
from typing import Any

from matplotlib import colormaps
from matplotlib.colors import to_hex

from qd.viz._explorer_data import embed_json
from qd.viz._heatmaps import EMPTY_COLOR

__all__ = ["page_data", "page_html"]

VIRIDIS = [to_hex(colormaps["viridis"](k / 15)) for k in range(16)]


def page_html(title: str, runs: list[dict[str, Any]], *, live: str | None = None) -> str:
    """The whole page.

    Args:
        title: The page's title and heading.
        runs: :func:`qd.viz._explorer_data.run_data` of each run; with more than one
            the page compares them (maps side by side, curves overlaid, a table).
        live: ``qd view``'s data version: the page then asks the server for a newer one
            every 2 s (and may fetch from its own origin, nothing else). None: static.
    """
    data = page_data(title, runs, live=live)
    connect = "; connect-src 'self'" if live is not None else ""
    return _PAGE.format(
        title=html.escape(title), data=embed_json(data), script=_SCRIPT, connect=connect
    )


def page_data(title: str, runs: list[dict[str, Any]], *, live: str | None = None) -> dict:
    """The page's JSON block (:func:`page_html`'s arguments); ``qd view`` sends it again
    as ``data.json`` when the run changes."""
    return {
        "title": title,
        "compare": len(runs) > 1,
        "live": live is not None,
        "version": live,
        "viridis": VIRIDIS,
        "empty": EMPTY_COLOR,
        "runs": runs,
    }


_SCRIPT = (files("qd.viz") / "explorer.js").read_text(encoding="utf-8")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'{connect}">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
#top {{ display: flex; gap: 1.5em; align-items: flex-start; flex-wrap: wrap; }}
#maps {{ display: flex; gap: 1.5em; flex-wrap: wrap; }}
#panel {{ max-width: 46em; min-width: 20em; }}
.controls label {{ margin-right: 1em; font-size: 13px; }} .stop, .summary {{ font-size: 13px; }}
.cell {{ cursor: pointer; }} .cell:hover {{ stroke: #d62728; stroke-width: 2; }}
pre {{ white-space: pre-wrap; background: #f6f6f6; padding: .3em; margin: .2em 0; }}
.curve {{ display: inline-block; margin: .3em; }} figcaption {{ font-size: 12px; }}
dl {{ display: grid; grid-template-columns: auto 1fr; gap: 0 1em; font-size: 13px; }}
dd {{ margin: 0; word-break: break-all; }} .lineage li {{ font-size: 13px; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ padding: .2em .6em; text-align: right; }} td:first-child {{ text-align: left; }}
</style></head><body>
<h1>{title}</h1>
<p>Click a cell to see its elite and its ancestors; empty cells are grey. Choose the colour
(the objective or a numeric <code>info</code> field) and, with more than two measures, the
axes drawn (each cell then shows the best elite among those that share it); the slider
redraws the map at each checkpoint the run kept. <span id="live"></span></p>
<table id="runs"></table>
<div id="top"><div id="maps"></div><div id="panel"><p>No elite selected.</p></div></div>
<h2>Curves</h2>
<div id="curves"></div>
<script type="application/json" id="data">{data}</script>
<script>{script}</script>
</body></html>
"""
