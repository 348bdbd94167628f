"""Which judge reads each creative-writing axis, and the labelled texts that measure them.

Each axis (genre, ending, sentiment, or one a user defines by anchor texts) can be read
by several judges (:mod:`qd.lm.judges`). ``experiments/judges.py`` measures them all on
the labelled sets in ``validation/`` and writes the fitted parameters (anchor
temperatures and biases, probe weights, Platt scalings) to ``judges.json`` beside this
file; the defaults below are the judges that scored best offline there.

Judge names a config may give per axis (``[domain.judges]``):

- ``"lm"``: QDAIF's LM judge (P(label) from logprobs), as the paper.
- ``"lm-contextual"``: the same, divided by the label prior on content-free inputs.
- ``"anchors"``: cosine similarity to the axis's built-in anchor texts, calibrated.
- ``"probe"``: a logistic regression on embeddings fitted on the labelled set.
- ``"anchors-last"``, ``"probe-last"``: the same, reading only the last sentence.
- a table ``{anchors = ["low-end text", "high-end text"], temperature = .., bias = ..}``:
  an anchored axis of your own (any name in ``descriptors``).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from qd.lm.anchors import AnchoredAxis
from qd.lm.judges import AnchorJudge, LMLabelJudge, ProbeJudge, TextJudge

__all__ = [
    "ANCHORS",
    "DEFAULT_JUDGES",
    "FITTED_PATH",
    "JUDGE_NAMES",
    "LABELS",
    "build_judge",
    "fitted",
    "validation_set",
]

VALIDATION_DIR = Path(__file__).with_name("validation")
FITTED_PATH = Path(__file__).with_name("judges.json")
JUDGE_NAMES = ("lm", "lm-contextual", "anchors", "probe", "anchors-last", "probe-last")

# Each axis's labels in the validation files, (low end, high end), and which file.
LABELS: dict[str, tuple[str, str, str]] = {
    "genre": ("stories", "horror", "romance"),
    "ending": ("stories", "tragic", "happy"),
    "sentiment": ("opinions", "negative", "positive"),
    "quality": ("stories", "flawed", "good"),
}

ANCHORS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "genre": (
        ("a scary horror story", "a horror story full of dread, monsters and death"),
        ("a romantic love story", "a tender romance about two people falling in love"),
    ),
    "ending": (
        ("a story with a tragic ending", "in the end everything is lost and they die"),
        ("a story with a happy ending", "in the end they are safe and live happily ever after"),
    ),
    "sentiment": (
        ("I hate eating vegetables", "a negative opinion about eating plant-based food"),
        ("I love eating vegetables", "a positive opinion about eating plant-based food"),
    ),
    "quality": (
        ("repetitive, garbled or off-topic text", "a title and a web link"),
        (
            "a well-written short story about a suspicious spy and a rich politician",
            "a short story with a clear plot and a spy and a politician",
        ),
    ),
}

DEFAULT_JUDGES = {"genre": "probe", "ending": "probe-last", "sentiment": "anchors-last"}


def _rows(task: str) -> list[dict[str, Any]]:
    path = VALIDATION_DIR / f"{task}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def flawed_texts() -> list[dict[str, Any]]:
    """Texts a quality judge must reject, made from the labelled ones by fixed rules.

    QDAIF's quality question asks for a story about a spy and a politician with "good
    flow, interesting plot", without "repeated similar sentences or undesired items such
    as titles and URLs". One flawed text per story, in turn: an opinion on vegetables
    (off topic), the story's first sentence three times (repetition), its words in a
    seeded shuffle (no flow), or a title and a URL before its first half (cut off).
    """
    stories, opinions = _rows("stories"), _rows("opinions")
    rng = random.Random(20261202)
    out = []
    for i, row in enumerate(stories):
        text = row["text"]
        first = re.split(r"(?<=[.!?])\s+", text)[0]
        words = text.split()
        kind = ("off-topic", "repetition", "shuffle", "title-url")[i % 4]
        if kind == "off-topic":
            flawed = opinions[(i // 4) % len(opinions)]["text"]
        elif kind == "repetition":
            flawed = " ".join([first] * 3)
        elif kind == "shuffle":
            flawed = " ".join(rng.sample(words, len(words)))
        else:
            flawed = f"Chapter {i}: The Spy\nhttps://stories.example.com/{row['id']}\n" + " ".join(
                words[: len(words) // 2]
            )
        out.append({"id": f"{row['id']}-{kind}", "text": flawed, "quality": "flawed"})
    return out


def validation_set(axis: str, *, limit: int | None = None) -> tuple[list[str], list[int]]:
    """The labelled texts of an axis: texts, and 1 for the high end (romance, happy, ...).

    Args:
        axis: ``genre``, ``ending``, ``sentiment`` or ``quality`` (the labelled stories
            against :func:`flawed_texts`).
        limit: Keep the first ``limit`` of each label (small subsets for tests).

    Raises:
        ValueError: An axis without a labelled set.
    """
    if axis not in LABELS:
        raise ValueError(f"axis {axis!r} has no labelled set; labelled axes: {sorted(LABELS)}")
    task, low, high = LABELS[axis]
    rows = _rows(task)
    if axis == "quality":
        rows = [
            item
            for pair in zip([{**r, "quality": "good"} for r in rows], flawed_texts(), strict=True)
            for item in pair
        ]
    texts: list[str] = []
    labels: list[int] = []
    kept = {low: 0, high: 0}
    for row in rows:
        label = row[axis]
        if label not in kept:
            raise ValueError(f"{task}.jsonl {row.get('id')}: {axis} {label!r} is not {low}/{high}")
        if limit is not None and kept[label] >= limit:
            continue
        kept[label] += 1
        texts.append(row["text"])
        labels.append(int(label == high))
    return texts, labels


@cache
def fitted() -> dict[str, Any]:
    """The parameters ``experiments/judges.py --write`` fitted (empty if never run)."""
    if not FITTED_PATH.is_file():
        return {}
    return json.loads(FITTED_PATH.read_text())


def anchored_axis(axis: str, judge: str = "anchors") -> AnchoredAxis:
    """The built-in anchored axis, with the temperature and bias fitted for ``judge``."""
    table: dict[str, Any] = {"anchors": [list(pole) for pole in ANCHORS[axis]]}
    table.update(fitted().get(judge, {}).get(axis, {}))
    return AnchoredAxis.from_config(table)


def build_judge(
    lm: Any,
    axis: str,
    spec: str | Mapping[str, Any],
    *,
    instruction: str | None = None,
    labels: tuple[str, str] | None = None,
    top_logprobs: int = 20,
) -> TextJudge:
    """The judge for one axis from its config value.

    Args:
        lm: The run's LM (completions and embeddings).
        axis: The axis name.
        spec: A judge name (see the module docstring) or an anchored-axis table.
        instruction: The LM judge's question (for ``lm`` judges).
        labels: The LM judge's ``(low, high)`` labels.
        top_logprobs: For ``lm`` judges.

    Raises:
        ValueError: An unknown judge, or one this axis lacks (no anchors, no probe).
    """
    if isinstance(spec, Mapping):
        return AnchorJudge(lm, AnchoredAxis.from_config(spec))
    if spec in {"lm", "lm-contextual"}:
        if instruction is None or labels is None:
            raise ValueError(f"judges.{axis}: {spec!r} needs an LM question for this axis")
        calibration = "contextual" if spec == "lm-contextual" else "none"
        return LMLabelJudge(
            lm,
            instruction=instruction,
            labels=labels,
            calibration=calibration,
            top_logprobs=top_logprobs,
        )
    view = "last-sentence" if spec.endswith("-last") else "text"
    if spec in {"anchors", "anchors-last"}:
        if axis not in ANCHORS:
            raise ValueError(
                f"judges.{axis}: no built-in anchors; give a table "
                '{anchors = ["low-end text", "high-end text"]}'
            )
        return AnchorJudge(lm, anchored_axis(axis, spec), view=view)
    if spec in {"probe", "probe-last"}:
        probe = fitted().get(spec, {}).get(axis)
        if probe is None:
            raise ValueError(
                f"judges.{axis}: no fitted probe; run `python experiments/judges.py --write` "
                "or pick another judge"
            )
        return ProbeJudge.from_config(lm, probe)
    raise ValueError(
        f"judges.{axis}: {spec!r} is not one of {list(JUDGE_NAMES)} or an anchors table"
    )
