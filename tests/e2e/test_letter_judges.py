"""experiments/letter_judges.py: the letter judges scored on labelled levels."""

from __future__ import annotations

import re
import shutil

import pytest
from e2e_helpers import ROOT, python

from domains.science_birds.classifier import LETTERS
from domains.science_birds.easyocr_judge import easyocr_available
from domains.science_birds.rapidocr_judge import rapidocr_available

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
    # each OCR judge installed here adds accuracy, accepted and ECE, its reads and its time
    ocr = [
        name
        for name, installed in [
            ("Tesseract", shutil.which("tesseract") is not None),
            ("RapidOCR", rapidocr_available()),
            ("EasyOCR", easyocr_available()),
        ]
        if installed
    ]
    assert len(cells) == 8 + 3 * len(ocr), cells
    for name in ocr:
        pattern = rf"^{name} reads the 26 standing examples A-Z as: ([A-Z-]{{26}}) \((\d+) of 26\)$"
        reads = re.search(pattern, result.stdout, re.M)
        assert reads is not None, result.stdout
        right = sum(a == b for a, b in zip(reads[1], LETTERS, strict=True))
        assert right == int(reads[2]) and right >= 9
        assert re.search(rf"^{name}: \d+\.\d{{3}} s per level$", result.stdout, re.M)
