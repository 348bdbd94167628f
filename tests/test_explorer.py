"""``report.html``: written by ``qd report``, every elite, its ancestry and the older
checkpoints' cells in the embedded data, nothing fetched from the network, strings
escaped. (What the browser draws from it: ``tests/test_explorer_browser.py``.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qd.runs.lineage import ancestors, read_lineage

KOZA1 = Path(__file__).resolve().parents[1] / "experiments" / "koza1.toml"
NASTY = '</script><script>document.title="owned"</script><!-- & "quoted"'


def data_of(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert found, "no data block"
    return json.loads(found.group(1))


@pytest.fixture
def sr_run(qd, tmp_path) -> Path:
    """A 6-iteration Koza-1 run with a checkpoint every 2 iterations, whose newest
    checkpoint's first elite holds a string that would end the page's script element
    if it were embedded unescaped."""
    status, message = qd(
        "run", str(KOZA1), "--runs-dir", "runs", "--name", "sr",
        "--set", "search.iterations=6", "--set", "search.checkpoint_every=2",
        "--set", "search.lineage=all",
    )  # fmt: skip
    assert status == 0, message
    run = tmp_path / "runs" / "sr"
    checkpoint = sorted(run.glob("archive-*.json"))[-1]
    saved = json.loads(checkpoint.read_text())
    saved["archive"][0]["info"]["note"] = NASTY
    checkpoint.write_text(json.dumps(saved))
    status, message = qd("report", str(run), "--figures", "3")
    assert status == 0, message
    return run


def test_qd_report_writes_the_explorer_page(sr_run):
    page = (sr_run / "report.html").read_text()
    data = data_of(page)
    assert not data["compare"] and len(data["runs"]) == 1
    run = data["runs"][0]
    records = read_lineage(sr_run)
    files = sorted(sr_run.glob("archive-*.json"))
    saved = json.loads(files[-1].read_text())["archive"]

    # Every elite of the newest checkpoint, with its bins on each of Koza-1's two axes.
    assert {(e["id"], e["obj"]) for e in run["elites"]} == {
        (r["id"], r["objective"]) for r in saved
    }
    assert [a["name"] for a in run["axes"]] == ["size", "depth"]
    assert all(len(e["b"]) == 2 and len(e["m"]) == 2 for e in run["elites"])
    assert sum("png" in e for e in run["elites"]) == 3  # --figures 3; the rest: text
    assert all(e["text"] for e in run["elites"])
    # Numeric info fields to colour by (not the formula string, not the bool hit).
    assert "nrmse" in run["fields"] and "formula" not in run["fields"]
    assert "hit" not in run["fields"]

    # The slider's stops: the two older kept checkpoints, cell for cell.
    assert [c["iteration"] for c in run["checkpoints"]] == [2, 4]
    for stop, path in zip(run["checkpoints"], files[:2], strict=True):
        kept = json.loads(path.read_text())["archive"]
        assert sorted((c[0], c[1]) for c in stop["cells"]) == sorted(
            (r["id"], pytest.approx(r["objective"], rel=1e-5)) for r in kept
        )
        width = 2 + 2 + len(run["fields"])  # id, objective, 2 bins, the fields
        assert all(len(c) == width for c in stop["cells"])

    # The best elite's ancestry, walked in the embedded table as the page walks it, is
    # ancestors()'s, and ends at initial candidates.
    best = max(run["elites"], key=lambda e: e["obj"])
    walked, queue = [], [best["id"]]
    while queue:
        key = queue.pop(0)
        if key in walked:
            continue
        walked.append(key)
        queue += run["lineage"][key][1]
    assert set(walked) == {r["id"] for r in ancestors(sr_run, best["id"], records=records)}
    assert any(run["lineage"][key][1] == [] for key in walked)
    assert all(run["lineage"][key][2] for key in walked)  # each step's operator

    # The curves' data: every numeric series of metrics.jsonl, to the last iteration.
    for name in ("qd_score", "coverage", "num_elites"):
        assert run["series"][name][0][-1] == 6


def test_the_page_fetches_nothing_and_escapes_what_it_embeds(sr_run):
    page = (sr_run / "report.html").read_text()
    assert not re.search(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', page, re.I)
    assert "default-src 'none'" in page  # and the browser is told to fetch nothing
    assert "connect-src" not in page  # only qd view's page may fetch (its own origin)
    # The nasty string neither ends the data block nor opens a comment, and survives.
    assert page.count("</script>") == 2 and "<!--" not in page
    notes = [e["info"].get("note") for e in data_of(page)["runs"][0]["elites"]]
    assert NASTY in notes


def test_the_slider_cap_leaves_out_the_oldest_checkpoints(sr_run, monkeypatch):
    from qd.viz import _explorer_data
    from qd.viz.explorer import load_run_data

    older = [json.loads(p.read_text())["archive"] for p in sorted(sr_run.glob("archive-*"))]
    monkeypatch.setattr(_explorer_data, "CHECKPOINT_CELLS", len(older[1]))  # room for one
    _, run = load_run_data(sr_run, figures=0)
    assert [c["iteration"] for c in run["checkpoints"]] == [4]  # the newer one is kept
    assert run["checkpoint_note"] == (
        f"Left off the slider (unreadable, or past the page's cap of {len(older[1]):,} "
        "cells): the checkpoints of iterations 2."
    )


def test_comparing_runs_names_a_path_that_is_no_run(qd, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("not a run")
    status, message = qd("report", "missing", "--html", "compare.html")
    assert status == 2 and "missing is not a run directory (no such folder)" in message
    status, message = qd("report", "notes", "--html", "compare.html")
    assert status == 2 and "notes is not a run directory (no config.toml)" in message
    status, message = qd("report", "notes", "missing")
    assert status == 2 and "name it with --html" in message
    assert not (tmp_path / "compare.html").exists()
    assert [p.name for p in (tmp_path / "notes").iterdir()] == ["todo.txt"]


def test_qd_view_names_a_path_that_is_no_run(qd, tmp_path):
    status, message = qd("view", "missing")
    assert status == 2 and "missing is not a run directory (no config.toml)" in message
    assert not (tmp_path / "missing").exists()


def test_qd_view_gathers_the_data_again_only_when_the_run_changes(sr_run, tmp_path):
    """What ``qd view`` serves: the same version while the files stay, a new one (and
    new data) once the run writes; a run with no checkpoint yet says so and waits."""
    from qd.viz.live import LiveRun

    live = LiveRun(sr_run, figures=0)
    version, title, runs = live.data()
    assert live.version() == version and live.data()[2] is runs  # nothing re-read
    assert title.startswith("Run sr:") and runs[0]["series"]["qd_score"][0][-1] == 6
    with (sr_run / "metrics.jsonl").open("a") as handle:
        handle.write(json.dumps({"iteration": 7, "qd_score": 99.5}) + "\n")
    fresh, _, runs = live.data()
    assert fresh != version and runs[0]["series"]["qd_score"][1][-1] == 99.5
    assert '"live":true' in live.data_json() and "connect-src 'self'" in live.page()

    waiting = tmp_path / "waiting"
    waiting.mkdir()
    (waiting / "config.toml").write_text((sr_run / "config.toml").read_text())
    _, title, runs = LiveRun(waiting).data()
    assert runs == [] and "has no checkpoint yet" in title
