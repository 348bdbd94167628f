"""``report.html``: written by ``qd report``, one cell per elite, every elite and its
ancestry in the embedded data, nothing fetched from the network, strings escaped."""

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
    """A 3-iteration Koza-1 run whose first elite's info holds a string that would end
    the page's script element if it were embedded unescaped."""
    status, message = qd(
        "run", str(KOZA1), "--runs-dir", "runs", "--name", "sr",
        "--set", "search.iterations=3", "--set", "search.lineage=all",
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
    records = read_lineage(sr_run)
    saved = json.loads(sorted(sr_run.glob("archive-*.json"))[-1].read_text())["archive"]

    # One clickable rect per occupied cell (Koza-1 has two axes: nothing is collapsed).
    assert len(re.findall(r'<rect class="cell"', page)) == len(saved) == len(data["elites"])
    assert {(e["id"], e["obj"]) for e in data["elites"]} == {
        (r["id"], r["objective"]) for r in saved
    }
    assert sum("png" in e for e in data["elites"]) == 3  # --figures 3; the rest: text
    assert all(e["text"] for e in data["elites"])

    # The best elite's ancestry, walked in the embedded table as the page walks it, is
    # ancestors()'s, and ends at initial candidates.
    best = max(data["elites"], key=lambda e: e["obj"])
    walked, queue = [], [best["id"]]
    while queue:
        key = queue.pop(0)
        if key in walked:
            continue
        walked.append(key)
        queue += data["lineage"][key][1]
    assert set(walked) == {r["id"] for r in ancestors(sr_run, best["id"], records=records)}
    assert all(key in records for key in walked)
    assert any(data["lineage"][key][1] == [] for key in walked)
    assert all(data["lineage"][key][2] for key in walked)  # each step's operator

    # The curves: one chart per numeric series of metrics.jsonl.
    for name in ("qd_score", "coverage", "num_elites"):
        assert f"<figcaption>{name}:" in page


def test_the_page_fetches_nothing_and_escapes_what_it_embeds(sr_run):
    page = (sr_run / "report.html").read_text()
    assert not re.search(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', page, re.I)
    assert "default-src 'none'" in page  # and the browser is told to fetch nothing
    # The nasty string neither ends the data block nor opens a comment, and survives.
    assert page.count("</script>") == 2 and "<!--" not in page
    notes = [e["info"].get("note") for e in data_of(page)["elites"]]
    assert NASTY in notes
