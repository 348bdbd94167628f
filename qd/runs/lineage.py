"""Reading a run's lineage: where every evaluated candidate (and so every elite) came from.

A run writes ``lineage.jsonl`` (:class:`qd.runs.log.RunLogger`), one compact JSON line
per evaluated candidate::

    {"id":"12-5","iteration":12,"parents":["9-3","11-40"],"operator":"gp","fate":"new"}

``id`` is ``"<iteration>-<index in the iteration's batch>"``: deterministic (the same
seed writes the same file) and never reused, with no counter to checkpoint. Each elite
in the archive (and in every checkpoint) keeps its id (:attr:`qd.archive.Elite.id`).
``parents`` are ids (``[]`` for initial candidates; null when an operator picked its own
parents and did not say which: a batch operator that returns a plain list rather than a
:class:`qd.domain.Brood`); ``fate`` is one of :data:`qd.archive.FATES`, and invalid or
novelty-rejected candidates have a ``reason``. An operator's notes join the record: an
LMX child's ``prompt_key`` is its reply's key in the run's ``lm-cache``, and its
parents are the elites its prompt showed.

JSON lines rather than SQLite: the file is only appended to while the run goes, is cut
back to the checkpoint on resume like ``metrics.jsonl``, and a reader (a report page)
loads it once and follows parent links in a dict (the 100,000 records of a Koza-1 run
load in about a second on a busy 2-core machine). Parents that later left the archive
keep their records, so an ancestry never ends in a node that is not in the file.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["ancestors", "lineage_records", "read_lineage"]

LINEAGE_FILE = "lineage.jsonl"


def lineage_records(run_dir: str | Path) -> Iterator[dict[str, Any]]:
    """The records of ``run_dir/lineage.jsonl`` in file order; a torn line (the run was
    killed mid-write) is skipped. No file: no records."""
    path = Path(run_dir) / LINEAGE_FILE
    if not path.exists():
        return
    with path.open() as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                yield record


def read_lineage(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Every record of a run's lineage, by id."""
    return {record["id"]: record for record in lineage_records(run_dir)}


def ancestors(
    run_dir: str | Path, elite_id: str, *, records: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The record of ``elite_id`` and those of all its ancestors, nearest first.

    Breadth-first over parent links, each ancestor once (crossover makes a lineage a
    graph, not a chain), ending at initial candidates (``parents == []``) or at parents
    the run did not record (null parents, or ids missing from the file: a run with
    ``search.lineage = "off"`` for a while).

    Args:
        run_dir: The run directory.
        elite_id: An id, e.g. ``archive.best().id``.
        records: :func:`read_lineage`'s result, to query many elites of one run
            without reading the file each time.

    Raises:
        KeyError: ``elite_id`` is not in the lineage file.
    """
    table = records if records is not None else read_lineage(run_dir)
    if elite_id not in table:
        raise KeyError(
            f"{elite_id!r} is not in {Path(run_dir) / LINEAGE_FILE}; take ids from the "
            "archive (Elite.id) or from the file itself"
        )
    found, seen, queue = [], {elite_id}, deque([elite_id])
    while queue:
        record = table.get(queue.popleft())
        if record is None:
            continue
        found.append(record)
        for parent in record.get("parents") or ():
            if parent is not None and parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return found
