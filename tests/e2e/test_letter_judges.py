"""experiments/letter_judges.py: the letter judges scored on labelled levels."""

from __future__ import annotations

import re
import shutil

import pytest
from e2e_helpers import ROOT, python

from domains.science_birds.classifier import LETTERS

pytestmark = pytest.mark.slow


def test_both_judges_are_scored_on_every_labelled_set(tmp_path):
    result = python(
        str(ROOT / "experiments" / "letter_judges.py"), "--per-letter", "1", "--random", "6",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {
        line.split("|")[1].strip(): line
        for line in result.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| set")
    }
    assert {"glyph letters", "block-art letters", "standing examples", "random levels"} <= set(rows)
    # The shipped search judge reads the standing examples (all 26 settled letters).
    cells = [c.strip() for c in rows["standing examples"].split("|")[1:-1]]
    assert cells[1] == "26" and float(cells[2]) == 1.0
    assert all(re.fullmatch(r"\d\.\d{3}", c) for c in cells[2:])
    if shutil.which("tesseract"):  # a third judge: accuracy, accepted, ECE, and its reads
        assert len(cells) == 11
        reads = re.search(r"standing examples A-Z as: ([A-Z-]{26})$", result.stdout, re.M)
        assert reads is not None
        assert sum(a == b for a, b in zip(reads[1], LETTERS, strict=True)) >= 9
