"""The drop_block language: what it reads, what it refuses, and that refusals are cheap."""

import time
import warnings

import pytest

from domains.science_birds.extract import competition_drops, extract_code
from domains.science_birds.language import MAX_WORK, parse_program
from domains.science_birds.level import Drop, LevelParseError

LLM_REPLY = """\
Sure! To build the letter "T" we first make a stem and then a cap.

```python
# a sketch, not the answer
drop_block('b11', 1)
```

Here is the final program:

```python
# stem
for i in range(3):
    drop_block('b13', 9)

# cap
drop_block("b31", 8)
drop_block('b31', 10)  # right half
```

This should give a stable T.
"""


def drops(*items: tuple[str, int, int]) -> list[Drop]:
    return [Drop(t, x, line) for t, x, line in items]  # type: ignore[arg-type]


# --- acceptances -----------------------------------------------------------------------


def test_literal_calls_in_order_with_lines():
    source = "drop_block('b11', 3)\n\ndrop_block(\"b31\", 10)\ndrop_block('b13', 0)\n"
    assert parse_program(source) == drops(("b11", 3, 1), ("b31", 10, 3), ("b13", 0, 4))


def test_for_loop_with_arithmetic():
    source = "for i in range(1, 7, 2):\n    drop_block('b11', 2 * i - 1 + (i // 3) % 2)\n"
    # i = 1, 3, 5 -> 2i-1 = 1, 5, 9; (i // 3) % 2 = 0, 1, 1
    assert [d.x for d in parse_program(source)] == [1, 6, 10]
    assert {d.line for d in parse_program(source)} == {2}


def test_nested_loops_and_dependent_ranges():
    source = """\
for row in range(3):
    for col in range(row):
        drop_block('b11', 10 + col - row)
    drop_block('b31', -(-5))
"""
    got = [(d.block_type, d.x) for d in parse_program(source)]
    assert got == [
        ("b31", 5),  # row 0: inner loop empty
        ("b11", 9),  # row 1, col 0
        ("b31", 5),
        ("b11", 8),  # row 2, col 0
        ("b11", 9),  # row 2, col 1
        ("b31", 5),
    ]


def test_pass_docstrings_comments_constants_and_literal_lists():
    source = '''\
"""Builds an L."""
base = 4
width = base // 2 + 1  # 3
for x in [base, base + width]:
    pass
    drop_block('b11', x)
for k in range(2 ** 1):
    "a bare string is a comment too"
    drop_block('b13', base + k)
'''
    assert [d.x for d in parse_program(source)] == [4, 7, 4, 5]


def test_full_reply_uses_the_last_code_block():
    assert extract_code(LLM_REPLY).startswith("# stem\n")
    assert parse_program(LLM_REPLY) == drops(
        ("b13", 9, 3), ("b13", 9, 3), ("b13", 9, 3), ("b31", 8, 6), ("b31", 10, 7)
    )


def test_reply_with_indented_block_and_bare_code():
    reply = "Steps:\n1. Build it:\n   ```\n   drop_block('b11', 2)\n   ```\n"
    assert parse_program(reply) == drops(("b11", 2, 1))
    assert extract_code("drop_block('b11', 2)") == "drop_block('b11', 2)"


def test_a_reply_cut_off_inside_its_code_block_is_read_from_the_opening_fence():
    reply = "Here you go:\n```python\ndrop_block('b31', 5)\ndrop_block('b13', 5)\n"
    assert parse_program(reply) == drops(("b31", 5, 1), ("b13", 5, 2))
    cut_mid_line = "Sure.\n```python\ndrop_block('b11', 3)\ndrop_block('b1"
    with pytest.raises(LevelParseError, match="line 2: syntax error"):
        parse_program(cut_mid_line)


# --- refusals: each names the line and the construct --------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("drop_block('b11', 1)\nimport os\n", 2, "import"),
        ("from os import system\n", 1, "import"),
        ("drop_block('b11', 1)\nos.system('rm -rf /')\n", 2, "attribute access"),
        ("drop_block(__import__('os').getpid(), 1)\n", 1, "string literal"),
        ("i = 0\nwhile i < 3:\n    drop_block('b11', 1)\n", 2, "while loop"),
        ("drop_block('b11', 1)\nprint('hi')\n", 2, "call to print()"),
        ("drop_block('b11', abs(-3))\n", 1, "call to abs()"),
        ("drop_block('b11', 1)\ndrop_block('b11', y)\n", 2, "unknown name 'y'"),
        ("for i in range(2):\n    pass\ndrop_block('b11', i)\n", 3, "unknown name 'i'"),
        ("drop_block('b12', 1)\n", 1, "block type 'b12'"),
        ("drop_block('B11', 1)\n", 1, "block type 'B11'"),
        ("drop_block(kind, 1)\n", 1, "string literal"),
        ("drop_block('b11', 3.5)\n", 1, "float 3.5"),
        ("drop_block('b11', 3.0)\n", 1, "float 3.0"),
        ("drop_block('b11', 7 / 2)\n", 1, "true division"),
        ("drop_block('b11', True)\n", 1, "constant True"),
        ("drop_block(block_type='b11', x_position=1)\n", 1, "keyword arguments"),
        ("drop_block('b11')\n", 1, "1 argument"),
        ("def build():\n    drop_block('b11', 1)\n", 1, "function definition"),
        ("class A:\n    pass\n", 1, "class definition"),
        ("f = lambda: 1\n", 1, "lambda"),
        ("xs = [i for i in range(3)]\n", 1, "list comprehension"),
        ("with open('x') as f:\n    pass\n", 1, "with statement"),
        ("try:\n    pass\nexcept Exception:\n    pass\n", 1, "try statement"),
        ("if 1:\n    drop_block('b11', 1)\n", 1, "if statement"),
        ("for i in range(3):\n    x = i\n", 2, "assignment inside a loop"),
        ("a = 1\na = 2\n", 2, "assigning 'a' again"),
        ("for i in range(2):\n    for i in range(2):\n        pass\n", 2, "reusing the name"),
        ("for i in range(0, 5, 0):\n    drop_block('b11', 1)\n", 1, "step is zero"),
        ("drop_block('b11', 1 // 0)\n", 1, "by zero"),
        ("drop_block('b11', 2 ** 100)\n", 1, "exponent 100"),
        ("drop_block('b11', 1)\ndrop_block('b11',\n", 2, "syntax error"),
    ],
)
def test_refusals_name_line_and_construct(source, line, words):
    with pytest.raises(LevelParseError) as caught:
        parse_program(source)
    assert caught.value.line == line, str(caught.value)
    assert str(caught.value).startswith(f"line {line}:")
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_refusal_inside_a_loop_that_never_runs():
    with pytest.raises(LevelParseError, match="line 2: an import"):
        parse_program("for i in range(0):\n    import os\ndrop_block('b11', 1)\n")


@pytest.mark.parametrize(
    "source",
    [
        "for i in range(10**9):\n    drop_block('b11', 1)\n",
        "for i in range(1000000000):\n    for j in range(2):\n        drop_block('b11', j)\n",
        "for i in range(-10**9, 10**9):\n    pass\n",
        "for i in range(10**9):\n    for j in range(i):\n        drop_block('b11', 1)\n",
    ],
)
def test_huge_ranges_fail_fast(source):
    start = time.perf_counter()
    with pytest.raises(LevelParseError, match=r"^line 1: this loop .* (max_drops|max_iterations)"):
        parse_program(source)
    assert time.perf_counter() - start < 0.1


def test_max_drops_is_a_hard_cap():
    exactly = "for i in range(10):\n    drop_block('b11', i)\n"
    assert len(parse_program(exactly, max_drops=10)) == 10
    with pytest.raises(LevelParseError, match=r"at least 10 .* max_drops=9"):
        parse_program(exactly, max_drops=9)
    literal = "drop_block('b11', 1)\n" * 4
    with pytest.raises(LevelParseError, match=r"line 4: .*max_drops=3"):
        parse_program(literal, max_drops=3)


def test_huge_integers_and_empty_programs_are_refused():
    with pytest.raises(LevelParseError, match="beyond"):
        parse_program("drop_block('b11', 100000 * 100000)\n")
    with pytest.raises(LevelParseError, match="no drop_block calls"):
        parse_program("Sorry, I cannot help with that.\n```\n# nothing\n```")
    with pytest.raises(LevelParseError, match="characters long; keep it under"):
        parse_program("pass\n" * 30_000)


# --- the competition's own extractor, transcribed --------------------------------------


def test_competition_extractor_reads_literal_calls_only():
    # The loop body counts once, 'x' and a float are skipped, a comment counts, and lines
    # match parse_program's numbering.
    reply = LLM_REPLY.replace("# cap", "# cap: drop_block('b11', 4)\ndrop_block('b11', x)")
    reply = reply.replace("right half", "right half\ndrop_block('b11', 2.5)")
    assert competition_drops(reply) == drops(
        ("b13", 9, 3), ("b11", 4, 5), ("b31", 8, 7), ("b31", 10, 8)
    )


def test_competition_extractor_failures():
    with pytest.raises(LevelParseError, match="no ``` fenced code block"):
        competition_drops("drop_block('b11', 1)")
    with pytest.raises(LevelParseError, match="plain digits"):
        competition_drops("```\nfor i in range(3):\n    drop_block('b11', i)\n```")
    with pytest.raises(LevelParseError, match="line 1: block type 'b33' does not exist"):
        competition_drops("```\ndrop_block('b33', 1)\n```")
    assert competition_drops("```\ndrop_block('b11', )\n```") == drops(("b11", -1, 1))


# --- hostile programs stay bounded (issue 13) --------------------------------------------


def _thread_seconds(source: str) -> tuple[str, float]:
    began = time.thread_time()
    try:
        parse_program(source)
        outcome = "level"
    except LevelParseError as error:
        outcome = str(error)
    return outcome, time.thread_time() - began


def test_empty_loops_inside_a_big_loop_count_and_are_refused_at_once():
    # Empty inner loops used to cost nothing against max_iterations: 30 s of parsing.
    body = "".join("    for j in range(0):\n        pass\n" for _ in range(200))
    outcome, seconds = _thread_seconds("for i in range(9999):\n" + body + "drop_block('b11', 1)\n")
    assert "an empty loop counts once" in outcome and "max_iterations" in outcome
    assert seconds < 0.1
    # The issue's own program (thousands of them) is refused for its size before parsing.
    body = "".join("    for j in range(0):\n        pass\n" for _ in range(3000))
    outcome, seconds = _thread_seconds("for i in range(9999):\n" + body + "drop_block('b11', 1)\n")
    assert "characters long; keep it under" in outcome and seconds < 0.1


def test_every_step_is_charged_to_the_work_budget():
    # Big expressions inside a loop: each evaluation costs its nodes.
    big = " + ".join(["(i * 2 - i)"] * 40)
    source = f"for i in range(150):\n    for j in range({big} - ({big})):\n        pass\n"
    outcome, seconds = _thread_seconds(source + "drop_block('b11', 1)\n")
    assert f"more than {MAX_WORK} steps" in outcome and outcome.startswith("line 2:")
    assert seconds < 0.1


def test_huge_literals_are_parse_errors_not_crashes():
    # Building the message used to convert the int to text: a plain ValueError.
    with pytest.raises(LevelParseError, match=r"line 1: the integer of about 6021 digits"):
        parse_program("drop_block('b11', 0x" + "f" * 5000 + ")\n")
    with pytest.raises(LevelParseError, match="line 1: syntax error"):
        parse_program("drop_block('b11', " + "9" * 5000 + ")\n")
    # The competition's extractor reads any digits; a huge x is off the grid, like -1.
    reply = "```\ndrop_block('b11', " + "9" * 5000 + ")\n```"
    assert competition_drops(reply) == drops(("b11", 10**18, 1))


def test_only_level_parse_errors_leave_the_parser(monkeypatch):
    import domains.science_birds.language as language

    def broken(self, nodes):
        raise KeyError("a bug in the checker")

    monkeypatch.setattr(language._Checker, "program", broken)
    with pytest.raises(LevelParseError, match=r"could not be read \(KeyError\)"):
        parse_program("drop_block('b11', 1)\n")
    with pytest.raises(LevelParseError, match="a program is text, not NoneType"):
        parse_program(None)  # type: ignore[arg-type]
    with pytest.raises(LevelParseError, match="reply is 300000 characters long"):
        competition_drops("x" * 300_000)


def test_parser_warnings_stay_silent(capfd):
    sources = ["x = '\\d'\ndrop_block('b11', 1)\n", "drop_block('b11', 5(3))\n"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # `python -W error` must not turn them into errors
        for source in sources:
            with pytest.raises(LevelParseError) as caught:
                parse_program(source)
            assert "syntax error" not in str(caught.value)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for source in sources:
            with pytest.raises(LevelParseError):
                parse_program(source)
    assert not seen
    assert capfd.readouterr().err == ""


def test_one_bad_file_is_one_failed_trial_when_a_folder_is_scored(tmp_path):
    from domains.science_birds.score import score_folder

    letter = tmp_path / "A"
    letter.mkdir()
    (letter / "bad.py").write_text("drop_block('b11', 0x" + "f" * 5000 + ")\n")
    (letter / "worse.txt").write_text("```\ndrop_block('b11', " + "9" * 5000 + ")\n```\n")
    scores = score_folder(tmp_path)
    assert scores["search"]["A"].trials_expected == 2
    assert scores["search"]["A"].trials_ok == 0
    assert score_folder(tmp_path, competition=True)["search"]["A"].trials_ok == 0


def test_the_competition_extractor_reads_a_long_reply_in_linear_time():
    # Each call's line used to be counted from the top: 5,000 calls took 150 ms.
    reply = "```\n" + "drop_block('b11', 1)\n" * 5000 + "```"
    began = time.thread_time()
    found = competition_drops(reply)
    assert len(found) == 5000 and found[-1].line == 5000
    assert time.thread_time() - began < 0.1
