"""Reading an LM's reply: where its code is, and what the competition would take from it.

Two readers of the same reply, kept apart from the interpreter
(:mod:`domains.science_birds.language`) because neither runs or checks a program:

* :func:`extract_code` finds the code our interpreter reads: the last fenced block
  (or the code after an opening fence cut off by ``max_tokens``), dedented.
* :func:`competition_drops` is the competition's own extractor (``extractCode`` in the
  ``chatgpt4pcg`` npm package, src/index.ts), transcribed: it keeps only literal calls
  matched by a regular expression in the last fenced code block, one per textual
  occurrence, and skips every other line, so a loop body counts once and a call in a
  comment counts too. It is reproduced exactly, quirks and all, for comparisons.

Only :class:`~domains.science_birds.level.LevelParseError` leaves either: one bad reply
is one failed trial, never a crash of the batch or folder it came in.
"""

from __future__ import annotations

import re
import textwrap
from typing import cast

from domains.science_birds.level import BLOCK_SIZE, BLOCK_TYPES, BlockType, Drop, LevelParseError

__all__ = ["MAX_REPLY_CHARS", "check_reply_size", "competition_drops", "extract_code"]

MAX_REPLY_CHARS = 200_000
"""Longest reply searched for a code block (the regular expressions are linear, but a
multi-megabyte reply is no level)."""


# The competition's extractor, transcribed: the last ```...``` block, then each literal
# call. The odd character classes (['|"], [1|3]) are theirs and kept on purpose.
_FENCE = re.compile(r"```([^`]+)```")
_COMPETITION_CALL = re.compile(r"drop_block\(['|\"](b[1|3][1|3])['|\"], *(\d*)\)")
_INFO_STRING = re.compile(r"[\w+#.-]*")


def extract_code(reply: str) -> str:
    """The code in an LLM reply: its last fenced code block, or the whole text if none.

    The competition reads only the last ```` ``` ```` block, so we do too (same pattern:
    a block cannot contain a backtick). A language tag on the opening fence (``python``)
    is dropped, and the block is dedented because replies often indent code under a list
    item. A reply cut off inside its only block (no closing fence, as when ``max_tokens``
    runs out) gives the code after the opening fence, where the competition would find
    none. Text without any fence is taken to be bare code and returned unchanged.

    Args:
        reply: a whole model reply, or bare code.

    Returns:
        The code to parse. Line numbers in parse errors count from its first line.
    """
    blocks = _FENCE.findall(reply)
    if blocks:
        body = blocks[-1]
    elif reply.count("```") == 1:  # cut off inside the block
        body = reply.split("```", 1)[1]
    else:
        return reply
    first, newline, rest = body.partition("\n")
    if newline and _INFO_STRING.fullmatch(first.strip()):
        body = rest
    return textwrap.dedent(body)


def check_reply_size(reply: str) -> None:
    """Refuse a reply that is no text or too long to search (before any regex runs)."""
    if not isinstance(reply, str):
        raise LevelParseError(
            f"a program is text, not {type(reply).__name__}", construct="not text"
        )
    if len(reply) > MAX_REPLY_CHARS:
        raise LevelParseError(
            f"the reply is {len(reply)} characters long; keep it under {MAX_REPLY_CHARS}",
            construct="program too long",
        )


def competition_drops(reply: str) -> list[Drop]:
    """The drops the competition's own extractor would take from a reply, quirks and all.

    A transcription of ``extractCode`` and the line parsing in the ``chatgpt4pcg`` npm
    package (v1.4.1, used by the 2024 evaluation scripts): take the last fenced block,
    then every literal ``drop_block('bXY', digits)`` that a regular expression finds in
    it, in textual order. Loops are not expanded (their body's call counts once), calls
    in comments and strings count, and a call whose x is not plain digits (a variable, a
    negative number, a float, spaces before the comma) is silently skipped. Use it to see
    how far :func:`parse_program`'s reading of a reply is from the competition's.

    Args:
        reply: a whole model reply.

    Returns:
        The drops, each with the line (within the code block) where its call appears.
        An empty ``x`` (``drop_block('b11', )``, which the regular expression accepts)
        becomes x = -1: the competition then fails with a height boundary error, and so
        does :func:`~domains.science_birds.converter.build_level` for any x off the grid.

    Raises:
        LevelParseError: when the reply has no fenced code block or no matching call
            (the competition reports "Code not found."), or a matched block type does not
            exist (such as ``b33``, which the regular expression lets through).
    """
    try:
        return _competition_drops(reply)
    except LevelParseError:
        raise
    except Exception as error:  # a bug here must cost one trial, not the folder
        raise LevelParseError(
            f"the reply could not be read ({type(error).__name__})",
            construct="unreadable program",
        ) from None


def _competition_drops(reply: str) -> list[Drop]:
    check_reply_size(reply)
    blocks = _FENCE.findall(reply)
    if not blocks:
        raise LevelParseError(
            "the reply has no ``` fenced code block, so the competition finds no code; "
            "put the drop_block calls in one",
            construct="no code block",
        )
    code = blocks[-1]
    first, newline, _ = code.partition("\n")
    offset = 1 if newline and _INFO_STRING.fullmatch(first.strip()) else 0  # as extract_code
    drops: list[Drop] = []
    line, counted = 1 - offset, 0  # lines counted as we go: a recount per call is quadratic
    for match in _COMPETITION_CALL.finditer(code):
        line += code.count("\n", counted, match.start())
        counted = match.start()
        block_type, digits = match.group(1), match.group(2)
        if block_type not in BLOCK_SIZE:
            raise LevelParseError(
                f"block type {block_type!r} does not exist; use one of {BLOCK_TYPES}",
                line=line,
                construct="bad block type",
            )
        # JavaScript reads any digit string (a huge one as a float): x is then off the
        # grid, as -1 is, and the level fails the same way. Python refuses to convert
        # more than 4,300 digits, so long ones are not converted at all.
        x = (int(digits) if len(digits) <= 18 else 10**18) if digits else -1
        drops.append(Drop(cast(BlockType, block_type), x, line))
    if not drops:
        raise LevelParseError(
            "the last code block has no drop_block('bXY', x) call the competition's "
            "pattern accepts (x must be written as plain digits)",
            construct="no drops",
        )
    return drops
