"""Ask an LM for levels with a prompt, as ChatGPT4PCG 2 does, and save the replies.

``python -m domains.science_birds.generate OUT [--prompt FILE] [--trials 10]`` sends the
prompt (default :data:`~domains.science_birds.prompting.COMPETITION_TASK`; a file of
your own must contain ``<OBJECT>`` where the letter goes) once per trial per letter to
the LM (``QD_LM_BASE_URL`` / ``QD_LM_MODEL``, or the embedded model) and writes each
reply to ``OUT/<LETTER>/trial-NN.txt``, the layout ``domains.science_birds.score``
reads. Generation and scoring are separate so replies from any source, a competition
submission included, score the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import track

from domains.science_birds.classifier import LETTERS
from domains.science_birds.prompting import COMPETITION_TASK, task_for


def ask_letters(
    lm: Any,
    letters: Sequence[str] = LETTERS,
    *,
    trials: int = 10,
    task: str = COMPETITION_TASK,
    max_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 0.95,
    progress: bool = False,
) -> dict[str, list[str]]:
    """``trials`` replies per letter, one batch of chat requests per letter.

    A failed request becomes an empty reply: a failed trial, as in the competition.

    Args:
        lm: A ``qd.lm.LM``.
        letters: Target letters.
        trials: Replies per letter.
        task: The prompt, with ``<OBJECT>`` for the letter.
        max_tokens, temperature, top_p: Sampling.
        progress: Show a progress bar on stderr (letters done).

    Raises:
        ValueError: The task has no ``<OBJECT>`` placeholder, or ``trials`` < 1.
    """
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    task_for("A", task)
    sampling = {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p}
    shown: Iterable[str] = letters
    if progress:
        shown = track(letters, description="asking the LM", console=Console(stderr=True))
    replies = {}
    for letter in shown:
        messages = [{"role": "user", "content": task_for(letter, task)}]
        answers = lm.chat_many([messages] * trials, **sampling)
        replies[letter] = [
            r.text if isinstance(getattr(r, "text", None), str) else "" for r in answers
        ]
    return replies


def write_replies(folder: str | Path, replies: dict[str, list[str]]) -> Path:
    """Write ``folder/<LETTER>/trial-NN.txt``; returns the folder."""
    folder = Path(folder)
    for letter, texts in replies.items():
        directory = folder / letter
        directory.mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(texts, 1):
            (directory / f"trial-{i:02d}.txt").write_text(text)
    return folder


def main(
    out: Annotated[Path, typer.Argument(help="Folder to write <LETTER>/trial-NN.txt into.")],
    prompt: Annotated[
        Path | None, typer.Option(help="Prompt file with <OBJECT> for the letter.")
    ] = None,
    trials: Annotated[int, typer.Option(help="Replies per letter.")] = 10,
    letters: Annotated[str, typer.Option(help="Letters to ask for.")] = LETTERS,
    max_tokens: Annotated[int, typer.Option(help="Longest reply.")] = 512,
    seed: Annotated[int, typer.Option(help="Seeds the samples (same seed, same replies).")] = 0,
) -> None:
    """Ask the LM for every letter and save the replies for scoring."""
    from qd.lm import open_lm, settings_from_env

    task = prompt.read_text() if prompt else COMPETITION_TASK
    chosen = letters.upper()
    bad = sorted(set(chosen) - set(LETTERS))
    try:
        if bad:
            raise ValueError(f"--letters: {''.join(bad)!r} are not uppercase letters A-Z")
        task_for("A", task)
        with open_lm(settings_from_env(), seed=seed) as lm:
            replies = ask_letters(
                lm, chosen, trials=trials, task=task, max_tokens=max_tokens, progress=True
            )
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    write_replies(out, replies)
    typer.echo(f"wrote {sum(map(len, replies.values()))} replies to {out}/; score them with")
    typer.echo(f"  python -m domains.science_birds.score {out} --trials {trials}")


if __name__ == "__main__":
    typer.run(main)
