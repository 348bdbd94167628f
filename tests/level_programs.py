"""Hypothesis strategies for ``drop_block`` programs: valid, invalid and hostile.

Shared by ``tests/test_science_birds_fuzz.py`` (a few thousand examples in the default
suite) and ``bench/fuzz_levels.py`` (100,000). Importable by name: tests/ is on sys.path.

Three families, drawn in about equal shares by :func:`programs`:

- *valid*: programs of the language (literal calls, nested ``for`` loops over ``range``
  or literal lists, top-level constants, integer arithmetic), rendered as bare code or as
  a chat reply with fenced blocks. Most read into drops; some fail honestly (division by
  zero, too many drops, slots out of range are the converter's business, not ours).
- *invalid*: the same programs with one line swapped for a construct the language
  refuses (imports, ``while``, attribute access, ``exec``, ``open``, lambdas, ...).
- *hostile*: inputs built to hurt the parser: huge hex and decimal literals, deep
  parentheses and unary chains, thousands of empty loops inside a big loop, power towers,
  huge literal lists, long lines, NUL bytes, lone surrogates, byte-order marks, invalid
  escapes (a SyntaxWarning in newer Pythons), unterminated fences, plus arbitrary text.

Every program that could do harm if it were run names :data:`MARKER`, a file it would
create: the fuzz asserts the file never appears.
"""

from __future__ import annotations

import os
import random
import tempfile

from hypothesis import strategies as st

MARKER = os.path.join(tempfile.gettempdir(), f"qd-fuzz-executed-{os.getpid()}")
"""A file that a hostile program would create if anything ran it."""

BLOCKS = ("b11", "b31", "b13")
NAMES = ("i", "j", "k", "row", "col", "x")

# -- valid programs --------------------------------------------------------------------
# Built by a seeded random.Random from one drawn integer: Hypothesis draws are about 50 us
# each, and a program of nested loops and expressions needs hundreds, which made the
# valid family 20 times slower to draw than to parse. The seed still shrinks, and the
# failing program is printed by the tests.


def _expr(rng: random.Random, names: tuple[str, ...], depth: int) -> str:
    roll = rng.random()
    if depth >= 3 or roll < 0.45:
        if names and rng.random() < 0.5:
            return rng.choice(names)
        return str(rng.randint(-30, 30))
    if roll < 0.9:
        op = rng.choice(["+", "-", "*", "//", "%", "**"])
        return f"({_expr(rng, names, depth + 1)} {op} {_expr(rng, names, depth + 1)})"
    return f"-{_expr(rng, names, depth + 1)}"


def _iterable(rng: random.Random, names: tuple[str, ...]) -> str:
    if rng.random() < 0.25:
        return "[" + ", ".join(str(rng.randint(-5, 25)) for _ in range(rng.randint(0, 6))) + "]"
    args = [_expr(rng, names, 2) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.5:  # mostly small literal bounds, so most programs read
        args = [str(rng.randint(0, 12)), *args[1:2]]
    return "range(" + ", ".join(args) + ")"


def _block(rng: random.Random, names: tuple[str, ...], depth: int, indent: str) -> list[str]:
    lines: list[str] = []
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.5 or depth >= 3:
            block, quote = rng.choice(BLOCKS), rng.choice("'\"")
            lines.append(f"{indent}drop_block({quote}{block}{quote}, {_expr(rng, names, 1)})")
        elif roll < 0.65:
            lines.append(f"{indent}pass" if rng.random() < 0.5 else f"{indent}# a comment")
        else:
            var = rng.choice([n for n in NAMES if n not in names])
            lines.append(f"{indent}for {var} in {_iterable(rng, names)}:")
            lines += _block(rng, (*names, var), depth + 1, indent + "    ")
    return lines


def valid_program(seed: int) -> str:
    """A program of the language, bare or inside a chat reply's fenced block."""
    rng = random.Random(seed)
    lines = []
    constants: tuple[str, ...] = ()
    for name in rng.sample(["base", "width", "top"], rng.randint(0, 3)):
        lines.append(f"{name} = {_expr(rng, constants, 2)}")
        constants = (*constants, name)
    lines += _block(rng, constants, 0, "")
    code = "\n".join(lines) + "\n"
    wrap = rng.randint(0, 3)
    if wrap == 0:
        return code
    if wrap == 1:
        return f"Here is the level:\n\n```python\n{code}```\n\nIt should stand."
    if wrap == 2:
        return f"A sketch:\n```\ndrop_block('b11', 1)\n```\nThe final one:\n```py\n{code}```"
    return f"Sure:\n```python\n{code}"  # cut off inside its only block


def valid_programs() -> st.SearchStrategy[str]:
    """Programs of the language (see :func:`valid_program`)."""
    return st.integers(0, 2**32 - 1).map(valid_program)


# -- invalid programs ------------------------------------------------------------------

REFUSED = (
    "import os",
    "from os import system",
    f"__import__('os').system('touch {MARKER}')",
    f"open({MARKER!r}, 'w').write('x')",
    f"exec(\"open({MARKER!r}, 'w')\")",
    "eval('1 + 1')",
    "while True:\n    pass",
    "if 1:\n    drop_block('b11', 1)",
    "os.system('true')",
    "drop_block.__globals__",
    "f = lambda: drop_block('b11', 1)",
    "xs = [i for i in range(3)]",
    "def build():\n    drop_block('b11', 1)",
    "class A:\n    pass",
    "with open('x') as f:\n    pass",
    "try:\n    pass\nexcept Exception:\n    pass",
    "global g",
    "del x",
    "assert False",
    "raise SystemExit(1)",
    "drop_block('b11', 7 / 2)",
    "drop_block('b11', 2.5)",
    "drop_block(block_type='b11', x=1)",
    "drop_block('b12', 1)",
    "drop_block(f'b{1}1', 1)",
    "drop_block('b11', [1][0])",
    "drop_block('b11', 1 if True else 2)",
    "drop_block('b11', (x := 3))",
    "print('hello')",
    "x = 1\nx = 2",
    "for i in range(2):\n    y = i",
    "drop_block('b11', 1 < 2)",
    "async def f():\n    await g()",
    "match x:\n    case 1:\n        pass",
    "@decorator\ndef f():\n    pass",
    "yield 1",
    "drop_block('b11', *[1])",
    "breakpoint()",
    "help()",
)


@st.composite
def invalid_programs(draw: st.DrawFn) -> str:
    """A valid program with one refused construct put somewhere at the top level."""
    code = draw(valid_programs()).split("\n")
    at = draw(st.integers(0, 40)) % (len(code) + 1)
    code.insert(at, draw(st.sampled_from(REFUSED)))
    return "\n".join(code)


# -- hostile programs ------------------------------------------------------------------


def _nested_parens(n: int) -> str:
    return "drop_block('b11', " + "(" * n + "1" + ")" * n + ")\n"


def _many_empty_loops(n: int) -> str:
    body = "".join("    for j in range(0):\n        pass\n" for _ in range(n))
    return "for i in range(9999):\n" + body + "drop_block('b11', 1)\n"


def _nested_loops(n: int) -> str:
    lines = [f"{'    ' * d}for v{d} in range(9):" for d in range(n)]
    return "\n".join(lines) + "\n" + "    " * n + "drop_block('b11', 1)\n"


def _balanced(n: int, leaf: str = "i") -> str:
    if n <= 1:
        return leaf
    return f"({_balanced(n // 2, leaf)}+{_balanced(n - n // 2, leaf)})"


HOSTILE_MAKERS = (
    lambda n: "drop_block('b11', 0x" + "f" * (n * 40) + ")\n",
    lambda n: "drop_block('b11', " + "9" * (n * 40) + ")\n",
    lambda n: "```\ndrop_block('b11', " + "9" * (n * 40) + ")\n```\n",
    lambda n: "base = 0x" + "7" * (n * 30) + "\ndrop_block('b11', base)\n",
    lambda n: _nested_parens(n),
    lambda n: "drop_block('b11', " + "-" * (n * 20) + "1)\n",
    lambda n: "drop_block('b11', " + "+".join(["1"] * (n * 10)) + ")\n",
    lambda n: _many_empty_loops(n * 10),
    lambda n: _nested_loops(n % 40),
    lambda n: "drop_block('b11', " + "**".join(["2"] * (n % 30 + 2)) + ")\n",
    lambda n: "for i in range(" + "**".join(["9"] * (n % 8 + 2)) + "):\n    pass\n",
    lambda n: "for i in [" + ",".join(["1"] * (n * 50)) + "]:\n    drop_block('b11', i)\n",
    lambda n: f"for i in range(800):\n    for j in range({_balanced(n * 5)}):\n        pass\n",
    lambda n: f"for i in range(150):\n    drop_block('b11', {_balanced(n * 5)})\n",
    lambda n: "drop_block('b11', 1)\n" * (n * 5),
    lambda n: "#" + "x" * (n * 300) + "\ndrop_block('b11', 1)\n",
    lambda n: "drop_block('b11', 1)\x00\n" * (n % 5 + 1),
    lambda n: "drop_block('\ud800', 1)\n",
    lambda n: "\ufeffdrop_block('b11', 1)\n",
    lambda n: "x = '\\d'\ndrop_block('b11', 1)\n",
    lambda n: "drop_block('b11', 5(3))\n",
    lambda n: "drop_block('b11', 1 is 1)\n",
    lambda n: "```" * (n + 1) + "drop_block('b11', 1)",
    lambda n: "`" * (n * 7) + "\n```python\n" + "drop_block('b11', 1)\n" * 3,
    lambda n: "\t" * (n % 120) + "drop_block('b11', 1)\n",
    lambda n: "for i in range(2):\n" + "  \t" * (n % 9 + 1) + "drop_block('b11', 1)\n",
    lambda n: "drop_block('b11', '" + "a" * (n * 100) + "')\n",
    lambda n: "drop_block('b11', b'" + "\\x00" * (n * 10) + "')\n",
    lambda n: "drop_block('b11', 1e" + "9" * (n % 6 + 1) + ")\n",
    lambda n: "drop_block('b11', 1j)\n",
    lambda n: "x = " + "[" * (n * 3) + "]" * (n * 3) + "\n",
    lambda n: "for i in range(10**9):\n    for j in range(10**9):\n        drop_block('b11', i)\n",
    lambda n: "drop_block('b11', 1 // 0)\ndrop_block('b11', 1 % 0)\n",
    lambda n: "for i in range(5, 0, 0):\n    drop_block('b11', 1)\n",
    lambda n: "a = 10**9\nb = a * a\ndrop_block('b11', b)\n",
    lambda n: "drop_block('b11', 1)\n" * 3 + "\\\n" * (n % 50),
    lambda n: "drop_block('b11', 1)  # " + "\u202e" * (n % 50) + "\n",
    lambda n: "drop_block(\n" + "\n" * (n * 10) + "'b11', 1)\n",
)


@st.composite
def hostile_programs(draw: st.DrawFn) -> str:
    """One of the hostile makers at a drawn size, sometimes inside a chat reply."""
    make = draw(st.sampled_from(HOSTILE_MAKERS))
    code = make(draw(st.integers(1, 1000)))
    if draw(st.booleans()):
        code = f"Here you go:\n```python\n{code}\n```\n"
    return code


def programs() -> st.SearchStrategy[str]:
    """Valid, invalid, hostile and arbitrary texts, in about equal shares."""
    return st.one_of(
        valid_programs(),
        invalid_programs(),
        hostile_programs(),
        st.text(max_size=400),
    )
