"""The ``qd`` command: run, resume, report, view and list domains.

Mistakes a user can fix (a bad config key, an unknown domain, a missing run) print
one line on stderr and exit with status 2; they never show a traceback. A run stopped
because the LM server keeps failing (the circuit breaker) says why and how to resume,
and exits with status 75 (``EX_TEMPFAIL``: try again later); one stopped at its LM
budget (``lm.max_cost``, ``lm.max_tokens``) is checkpointed and exits with status 3.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from qd.registry import load_domain_class, registered_domains
from qd.runs.config import ConfigError, load_config
from qd.runs.directory import DISK_FULL, RunDirectory, RunError
from qd.runs.lifecycle import changed_config, execute, start
from qd.runs.lock import RunLockedError
from qd.viz.explorer import FIGURES
from qd.viz.progress import ProgressBar

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Quality-diversity search: a map of many good and different candidates.",
)
err = Console(file=sys.stderr)
USAGE_ERROR = 2
LM_UNAVAILABLE = 75  # sysexits' EX_TEMPFAIL: the run is checkpointed; resume later
BUDGET_SPENT = 3  # lm.max_cost or lm.max_tokens reached: checkpointed; resume with a raised one


def fail(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(USAGE_ERROR)


def _execute(
    run: RunDirectory,
    *,
    resume: bool,
    iterations: int | None,
    quiet: bool,
    restart: bool = False,
    dask_scheduler: str | None = None,
    overrides: list[str] | None = None,
) -> None:
    config = run.load_config()
    if overrides:  # read-only here: for the progress bar's total (execute checks again)
        config, _ = changed_config(config, overrides)
    total = iterations or config.search.iterations
    checkpoint = run.latest_checkpoint() if resume and not restart else None
    done = checkpoint.iteration if checkpoint else 0
    bar = None if quiet else ProgressBar(total, start=done, console=err)
    try:
        search = execute(
            run,
            iterations=iterations,
            resume=resume,
            restart=restart,
            callbacks=[bar] if bar else [],
            dask_scheduler=dask_scheduler,
            overrides=overrides or (),
            notify=_warn,
        )
    except KeyboardInterrupt:
        if bar:
            bar.close()
        err.print(f"interrupted; continue with: qd resume {run.path}")
        raise typer.Exit(130) from None
    except OSError as error:
        if error.errno not in DISK_FULL:
            raise
        if bar:
            bar.close()
        raise fail(
            f"cannot write {error.filename or 'a run file'}: {error.strerror}. The run's "
            "checkpoints are whole (each is written to a temporary file, then renamed); "
            f"free some space, then continue with: qd resume {run.path}"
        ) from None
    except Exception as error:
        if _budget_spent(error):
            if bar:
                bar.close()
            err.print(f"stopped: {error}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(BUDGET_SPENT) from None
        if not _lm_unavailable(error):
            raise
        if bar:
            bar.close()
        kept = run.latest_checkpoint()
        where = f"iteration {kept.iteration} is checkpointed" if kept else "no iteration finished"
        err.print(
            f"error: the run stopped because the LM server keeps failing: {error}\n"
            f"{where}; once the server answers, continue with: qd resume {run.path}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(LM_UNAVAILABLE) from None
    finally:
        if bar:
            bar.close()
    s = search.archive.stats
    best = "-" if s.obj_max is None else f"{s.obj_max:.4g}"
    typer.echo(
        f"{run.path}: {search.iteration} iterations, {search.evaluations} evaluations, "
        f"{s.num_elites} elites, coverage {s.coverage:.1%}, QD score {s.qd_score:.4g}, "
        f"best {best}"
    )


@app.command()
def run(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.toml", help="Experiment file.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key, e.g. --set search.iterations=30."),
    ] = None,
    runs_dir: Annotated[Path, typer.Option(help="Where run directories go.")] = Path("runs"),
    name: Annotated[str | None, typer.Option(help="Run name (default: the config's).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing run of that name.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
    dask_scheduler: Annotated[
        str | None,
        typer.Option(help="Evaluate on the Dask cluster at this address (tcp://host:8786)."),
    ] = None,
) -> None:
    """Start a run: runs/<name>/ gets the config, logs and checkpoints."""
    try:
        overrides = list(set_ or []) + ([f'name="{name}"'] if name else [])
        if dask_scheduler:
            overrides += [
                'evaluation.backend="dask"',
                f"evaluation.scheduler={json.dumps(dask_scheduler)}",
            ]
        config = load_config(config_path, overrides)
        with ExitStack() as held:  # the new run stays ours from creation to the end
            directory = start(config, runs_dir, force=force, hold=held)
            _execute(directory, resume=False, iterations=None, quiet=quiet)
    except (ConfigError, RunError, RunLockedError) as error:
        raise fail(str(error)) from None


@app.command()
def resume(
    run_path: Annotated[Path, typer.Argument(metavar="RUN", help="A run directory.")],
    iterations: Annotated[
        int | None, typer.Option(help="New total iterations (extends a finished run).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
    dask_scheduler: Annotated[
        str | None,
        typer.Option(help="Evaluate on the Dask cluster at this address (tcp://host:8786)."),
    ] = None,
    restart: Annotated[
        bool,
        typer.Option(help="Delete the checkpoints and start over (when none can be resumed)."),
    ] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Change how the run goes on: lm.*, evaluation.*, search.iterations, "
            "search.checkpoint_every; e.g. --set lm.timeout=60.",
        ),
    ] = None,
) -> None:
    """Continue a run from its newest checkpoint, every elite and the RNG restored."""
    try:
        _execute(
            RunDirectory(run_path),
            resume=True,
            restart=restart,
            iterations=iterations,
            quiet=quiet,
            dask_scheduler=dask_scheduler,
            overrides=set_,
        )
    except (ConfigError, RunError, RunLockedError) as error:
        raise fail(str(error)) from None


@app.command()
def report(
    run_paths: Annotated[
        list[Path],
        typer.Argument(metavar="RUN...", help="A run directory, or several with --html."),
    ],
    top: Annotated[int, typer.Option(help="How many top elites to show.")] = 5,
    figures: Annotated[
        int, typer.Option(help="How many of the best elites get their picture in report.html.")
    ] = FIGURES,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write one page comparing the runs here (e.g. compare.html) instead of "
            "each run's reports; nothing is written into the runs.",
        ),
    ] = None,
) -> None:
    """Write RUN/report.md (heatmap, curves, top elites) and RUN/report.html (the explorer);
    with --html, one page comparing the runs (a map each, curves overlaid, a table)."""
    from qd.viz.explorer import write_comparison
    from qd.viz.report import write_report

    if html is None and len(run_paths) > 1:
        raise fail(
            f"{len(run_paths)} runs given: several runs are compared on one page, so name it "
            "with --html (e.g. --html compare.html)"
        )
    try:
        if html is not None:
            page = write_comparison(run_paths, html, figures=0, notify=_warn)
        else:
            page = write_report(run_paths[0], top=top, html_figures=figures, notify=_warn)
    except (ConfigError, RunError) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"cannot write {error.filename or html}: {error.strerror}") from None
    typer.echo(f"wrote {page}")


@app.command()
def view(
    run_path: Annotated[Path, typer.Argument(metavar="RUN", help="A run directory.")],
    port: Annotated[
        int, typer.Option(help="Port on 127.0.0.1 (default 0: a free one, printed).")
    ] = 0,
    figures: Annotated[
        int, typer.Option(help="How many of the best elites get their picture.")
    ] = FIGURES,
) -> None:
    """Serve RUN's explorer page live on 127.0.0.1, refreshed as the run writes (read-only)."""
    from qd.viz.live import serve_run

    def announce(line: str) -> None:
        typer.echo(line)
        sys.stdout.flush()

    try:
        serve_run(run_path, port=port, figures=figures, announce=announce)
    except (ConfigError, RunError) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"cannot serve on 127.0.0.1:{port}: {error.strerror or error}") from None


@app.command()
def domains() -> None:
    """List registered domains and their measures (with default options)."""
    table = Table("domain", "class", "measures (defaults)")
    for name, target in sorted(registered_domains().items()):
        try:
            measures = "; ".join(
                f"{m.name}: {_axis(m)}" for m in load_domain_class(name)().measures
            )
        except Exception as error:  # one broken plug-in must not hide the others
            measures = f"(cannot load: {error})"
        table.add_row(name, target, measures)
    Console().print(table)


lm_app = typer.Typer(no_args_is_help=True, help="Language models: the embedded server.")
app.add_typer(lm_app, name="lm")


@lm_app.command("serve")
def lm_serve(
    port: Annotated[int, typer.Option(help="Loopback port to listen on.")] = 8080,
    model: Annotated[
        Path | None, typer.Option(help="A GGUF file (default: the embedded SmolLM2-135M).")
    ] = None,
    n_threads: Annotated[int | None, typer.Option(help="CPU threads (default: all).")] = None,
    n_ctx: Annotated[int, typer.Option(help="Context length in tokens.")] = 2048,
    embedding_port: Annotated[
        int,
        typer.Option(help="Port of the embedded all-MiniLM-L6-v2 embeddings; 0: do not serve it."),
    ] = 8081,
) -> None:
    """Serve the embedded models (llama.cpp, OpenAI-compatible) in the foreground."""
    from qd.lm.local import LocalServerError
    from qd.lm.minilm import EmbeddingModelError
    from qd.lm.serve import serve

    try:
        status = serve(
            model=model,
            port=port,
            n_threads=n_threads,
            n_ctx=n_ctx,
            embedding_port=embedding_port or None,
        )
    except (LocalServerError, EmbeddingModelError) as error:
        raise fail(str(error)) from None
    raise typer.Exit(status)


def _warn(message: str) -> None:
    err.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)


def _lm_unavailable(error: BaseException) -> bool:
    """Whether ``error`` is the LM's open circuit breaker (no import if no LM was used)."""
    errors = sys.modules.get("qd.lm.errors")
    return errors is not None and isinstance(error, errors.LMUnavailableError)


def _budget_spent(error: BaseException) -> bool:
    """Whether ``error`` is a run stopped at its LM budget (``qd.lm.budget``)."""
    budget = sys.modules.get("qd.lm.budget")
    return budget is not None and isinstance(error, budget.LMBudgetSpent)


def _axis(measure) -> str:
    if measure.kind == "categorical":
        return f"{len(measure.labels)} labels {list(measure.labels)}"
    kind = "bins" if measure.kind == "uniform" else "explicit bins"
    return f"{measure.bins} {kind} on [{measure.low:g}, {measure.high:g}]"


def main() -> None:
    app()


if __name__ == "__main__":
    main()
