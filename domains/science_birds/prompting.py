"""Language models that write levels: the competition's prompts, and LMX over programs.

Three ways to ask an LM for a level, one class (:class:`LevelPrompter`):

- ``zero-shot``: the ChatGPT4PCG 2 set-up. A chat prompt describes the map, the three
  blocks and ``drop_block``, and asks for a structure shaped like the letter; the code is
  read from the reply's last fenced block. This is the baseline a competitor's prompt is.
  The task text is :data:`COMPETITION_TASK`, with ``<OBJECT>`` where the letter goes, as
  the competition's prompt files have; a user can pass their own.
- ``few-shot``: the same chat prompt followed by ``k`` elites of the archive as examples
  (drawn near a random elite, as LMX-near draws them) and a request for a new,
  different structure.
- ``lmx``: Language Model Crossover over level programs, for base or small models. A
  completion prompt lists ``k`` elites near a parent, each introduced by a comment line
  (``# A stable Science Birds structure shaped like the letter A``) and ended by ``###``,
  then opens a new one. With ``continue_parent`` (the default) the new one starts with a
  random prefix of the parent's drops and the LM writes the rest: small models copy a
  line or two and stop, so without it children are tiny; with it a child keeps the
  parent's foundation and the LM varies the upper part, like ELM's diff mutation.

A reply becomes a child program: a tuple of ``(block_type, x)`` drops when it parses
(loops expanded, nothing executed), or else the code text itself, so that evaluation
records it as invalid with the parser's reason (line and construct). A failed request
is a None child. Randomness comes only from the ``rng`` argument.

Children come as a :class:`~qd.domain.Brood`, as LMX's do: each child's parents are
the lineage ids of the elites whose programs its prompt showed (the examples in prompt
order, then, for ``lmx`` with a prefix, the parent the new program continues; none for
``zero-shot``), and its note ``prompt_key`` is its reply's key in the LM cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from domains.science_birds.extract import extract_code
from domains.science_birds.language import parse_program
from domains.science_birds.level import LevelParseError
from qd.domain import Brood
from qd.lm.lmx import lineage_ids, near_examples, prompt_notes

PromptMode = Literal["zero-shot", "few-shot", "lmx"]
MODES: tuple[str, ...] = ("zero-shot", "few-shot", "lmx")
OBJECT = "<OBJECT>"
"""Where the target letter goes in a task text (the competition's placeholder)."""

Program = tuple[tuple[str, int], ...]

COMPETITION_TASK = """\
Use the `drop_block()` function to build a stable structure that looks like the \
uppercase letter <OBJECT>. The order and the positions of the drops matter.

1. Definitions
Slots: the map's width is split into W = 20 slots; slot 0 is the leftmost and slot 19 \
the rightmost.
Layers: the map's height is split into H = 16 layers; layer 0 is the bottom (the base) \
and layer 15 the top.

2. Blocks
b11: a square block, 1 slot wide and 1 layer high.
b31: a horizontal block, 3 slots wide and 1 layer high.
b13: a vertical block, 1 slot wide and 3 layers high.

3. Tool
drop_block(block_type, x) drops a block of type block_type from the top of the map with \
its centre at slot x. It falls until it rests on the base or on another block. Drop the \
blocks of the lower parts first.

4. Rules
The structure must stand still under gravity, so support every block from below.
A b31 needs x from 1 to 18 to fit on the map.

Answer with Python code that only calls drop_block (for loops over range are allowed), \
in one ```python code block."""
"""The zero-shot task, in the competition's layout (our wording)."""

LMX_TEMPLATE = "# A stable Science Birds structure shaped like the letter <OBJECT>\n"
SEPARATOR = "###"
LMX_STOP: tuple[str, ...] = ("###", "\n#", "```")


def to_source(program: Sequence[tuple[str, int]]) -> str:
    """The program as ``drop_block`` calls, one per line, as an LM would write it."""
    return "\n".join(f"drop_block('{kind}', {int(x)})" for kind, x in program)


def task_for(letter: str, task: str = COMPETITION_TASK) -> str:
    """``task`` with the letter in place of ``<OBJECT>``.

    Raises:
        ValueError: The task has no ``<OBJECT>`` placeholder (the prompt would not say
            which letter to build).
    """
    if OBJECT not in task:
        raise ValueError(f"the task text has no {OBJECT} placeholder for the target letter")
    return task.replace(OBJECT, letter)


def few_shot_task(letter: str, examples: Sequence[str], task: str = COMPETITION_TASK) -> str:
    """The task, then ``examples`` (program texts) and a request for a different one."""
    shown = "\n\n".join(
        f"Example {i}:\n```python\n{code}\n```" for i, code in enumerate(examples, 1)
    )
    return (
        f"{task_for(letter, task)}\n\n"
        f"Here are stable structures that look like the letter {letter}:\n\n{shown}\n\n"
        f"Write a new structure shaped like the letter {letter}, different from the examples."
    )


def lmx_prompt(letter: str, examples: Sequence[str], prefix: str = "") -> str:
    """LMX over programs: each example under the comment line, ``###`` between them."""
    header = task_for(letter, LMX_TEMPLATE)
    shown = "".join(f"{header}{code}\n{SEPARATOR}\n" for code in examples)
    return f"{shown}{header}{prefix}"


def read_reply(text: str, *, max_drops: int) -> Program | str:
    """The child in a reply: its drops when the code parses, else the code text.

    The text is returned (not None) so evaluation records the parser's reason.
    """
    code = extract_code(text).strip()
    try:
        drops = parse_program(code, max_drops=max_drops)
    except LevelParseError:
        return code
    return tuple((d.block_type, d.x) for d in drops)


class LevelPrompter:
    """Asks an LM for level programs shaped like ``letter``, one batch of requests per call.

    Args:
        lm: A ``qd.lm.LM`` (``chat_many`` for the chat modes, ``complete_many`` for lmx).
        letter: The target letter.
        mode: ``zero-shot``, ``few-shot`` or ``lmx`` (see the module docstring).
        archive: Where examples come from (``qd.archive.Archive``, anything with
            ``elites()``); unused by ``zero-shot``.
        task: The chat task text with ``<OBJECT>`` for the letter.
        k: Examples per prompt.
        max_tokens: Longest reply.
        temperature: Sampling temperature.
        top_p: Nucleus sampling.
        max_drops: Longest program accepted; longer replies are invalid children.
        continue_parent: ``lmx`` only: start the new program with a random prefix of
            the parent's drops.

    Raises:
        ValueError: Unknown mode, a task without ``<OBJECT>``, or a non-positive ``k``,
            ``max_tokens`` or ``max_drops``.
    """

    def __init__(
        self,
        lm: Any,
        *,
        letter: str,
        mode: PromptMode | str = "lmx",
        archive: Any = None,
        task: str = COMPETITION_TASK,
        k: int = 3,
        max_tokens: int = 256,
        temperature: float = 0.8,
        top_p: float = 0.95,
        max_drops: int = 200,
        continue_parent: bool = True,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: {mode!r} is not one of {list(MODES)}")
        if min(k, max_tokens, max_drops) < 1:
            raise ValueError("k, max_tokens and max_drops must be at least 1")
        task_for(letter, task)
        self.lm = lm
        self.letter = letter
        self.mode = str(mode)
        self.archive = archive
        self.task = task
        self.k = int(k)
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.max_drops = int(max_drops)
        self.continue_parent = bool(continue_parent)

    @property
    def sampling(self) -> dict[str, Any]:
        """The request parameters sent with every prompt."""
        sampling: dict[str, Any] = {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }
        if self.mode == "lmx":
            sampling["stop"] = list(LMX_STOP)
        return sampling

    def prompts(self, n: int, rng: np.random.Generator) -> tuple[list[Any], list[str]]:
        """``n`` requests (chat messages or completion prompts) and each one's prefix."""
        requests, prefixes, _ = self._prompts(n, rng)
        return requests, prefixes

    def _prompts(
        self, n: int, rng: np.random.Generator
    ) -> tuple[list[Any], list[str], list[list[Any]]]:
        """:meth:`prompts`, and the elites each request showed, in prompt order."""
        if self.mode == "zero-shot":
            messages = [{"role": "user", "content": task_for(self.letter, self.task)}]
            return [messages] * n, [""] * n, [[] for _ in range(n)]
        elites = list(self.archive.elites()) if self.archive is not None else []
        if not elites:
            raise ValueError(f"{self.mode} prompts need elites in the archive; it is empty")
        requests: list[list[dict[str, str]] | str] = []
        prefixes: list[str] = []
        shown: list[list[Any]] = []
        for _ in range(n):
            parent = elites[int(rng.integers(len(elites)))]
            picked = near_examples(elites, parent, self.k, rng=rng)
            examples = [_code(e.candidate) for e in picked]
            if self.mode == "few-shot":
                content = few_shot_task(self.letter, examples, self.task)
                requests.append([{"role": "user", "content": content}])
                prefixes.append("")
                shown.append(picked)
                continue
            prefix = self._prefix(parent.candidate, rng) if self.continue_parent else ""
            requests.append(lmx_prompt(self.letter, examples, prefix))
            prefixes.append(prefix)
            # the prefix shows the parent's first drops: the child continues its program
            shown.append(
                [*picked, parent] if prefix and all(e is not parent for e in picked) else picked
            )
        return requests, prefixes, shown

    def _prefix(self, candidate: Any, rng: np.random.Generator) -> str:
        lines = _code(candidate).splitlines()
        if len(lines) < 2:
            return ""
        keep = int(rng.integers(1, len(lines)))
        return "\n".join(lines[:keep]) + "\n"

    def children(self, n: int, rng: np.random.Generator) -> Brood:
        """``n`` children from one batch of requests; None where a request failed.

        Returns:
            A :class:`~qd.domain.Brood` (see the module docstring): each child's parents
            are the elites its prompt showed, its note the reply's cache key.
        """
        if n <= 0:
            return Brood([], [])
        requests, prefixes, shown = self._prompts(n, rng)
        if self.mode == "lmx":
            replies = self.lm.complete_many(requests, **self.sampling)
        else:
            replies = self.lm.chat_many(requests, **self.sampling)
        if len(replies) != n:
            raise RuntimeError(f"the LM returned {len(replies)} replies for {n} prompts")
        children: list[Program | str | None] = []
        for prefix, reply in zip(prefixes, replies, strict=True):
            text = getattr(reply, "text", None)
            if isinstance(reply, BaseException) or not isinstance(text, str):
                children.append(None)
                continue
            if self.mode == "lmx":
                text = prefix + text.split(SEPARATOR, 1)[0]
            children.append(read_reply(text, max_drops=self.max_drops))
        return Brood(children, [lineage_ids(s) for s in shown], prompt_notes(replies))


def _code(candidate: Any) -> str:
    """An elite as program text: drops written out, or the text it already is."""
    if isinstance(candidate, str):
        return extract_code(candidate).strip()
    return to_source(candidate)
