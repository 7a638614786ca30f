"""The ``gsocseq`` command line."""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Optional

import click

from gsocseq import __version__
from gsocseq.config import ConfigError

# Commands defined beside the code they drive, imported when they are run: they bring numpy,
# rasterio and matplotlib, which `gsocseq --help` does not need (about 0.3 s of start-up).
# name -> (module, attribute, short help as the command gives it; a test keeps the two equal)
LAZY_COMMANDS = {
    "prepare": (
        "gsocseq.prepare",
        "prepare_command",
        "Prepare the rasters and the run configuration from the raw inputs of PREPARE_TOML.",
    ),
    "report": (
        "gsocseq.report",
        "report_command",
        "National report of a run: statistics (CSV), maps and plots (HTML, PNG), STAC item.",
    ),
    "site": (
        "gsocseq.site",
        "site_command",
        "Run the GSOCseq phases for every row of the site table SITES (CSV).",
    ),
}


class _LazyGroup(click.Group):
    """The command group; LAZY_COMMANDS are imported on first use, not to list them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, attribute, _ = LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows: list[tuple[str, str]] = []
        for name in names:
            command = self.commands.get(name)
            if command is None:  # not imported: a stand-in shortens its help the same way
                command = click.Command(name, help=LAZY_COMMANDS[name][2])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _user_errors() -> tuple[type[Exception], ...]:
    # the raster stack comes with the commands that read rasters, not with `gsocseq --help`
    from gsocseq.rasters import InputError

    return (ConfigError, InputError)


quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar or report.")


wait_option = click.option(
    "--wait",
    is_flag=True,
    help="If another process is using the output folder, wait for it instead of stopping.",
)


def _fail(exc: Exception) -> None:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(2)


def _notify(text: str) -> None:
    click.echo(text, err=True)


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGTERM (batch schedulers, ``timeout``; SIGBREAK on Windows) stops a command as Ctrl-C
    does: the run removes its temporaries and says what it kept; exit 128 + the signal's
    number (130 for Ctrl-C, 143 for SIGTERM)."""
    from gsocseq.pipeline import Interrupted, RunInterrupted

    def stop(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    caught = [getattr(signal, name) for name in ("SIGTERM", "SIGBREAK") if hasattr(signal, name)]
    before = {sig: signal.signal(sig, stop) for sig in caught}
    try:
        yield
    except RunInterrupted as exc:
        click.echo(str(exc), err=True)
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else int(signal.SIGINT)
        click.echo("interrupted: nothing computed yet", err=True)
        sys.exit(128 + signum)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _check_threads(threads: Optional[int]) -> None:
    from gsocseq._core import max_threads

    if threads and threads > max_threads():
        click.echo(
            f"warning: --threads {threads}: more than {max_threads()} (4 per core of this "
            f"machine) would only wait on each other; using {max_threads()}",
            err=True,
        )


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gsocseq")
def main() -> None:
    """GSOCseq soil organic carbon sequestration potential maps (FAO methodology, RothC)."""


@main.command("run")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (overrides [run] output).",
)
@click.option("-j", "--threads", type=click.IntRange(min=0), help="Threads (0 = all cores).")
@click.option("--no-qa-mask", is_flag=True, help="Skip the QA step (keep out-of-range values).")
@click.option("--overwrite", is_flag=True, help="Replace existing output layers.")
@click.option("--block-size", type=int, help="Block size in pixels (multiple of 16).")
@click.option("--tile", help="Compute only tile i of N (e.g. 2/8), then run gsocseq assemble.")
@click.option(
    "--scheduler",
    help="Run the blocks on Dask: local:N (N worker processes) or a scheduler address.",
)
@wait_option
@quiet_option
def run_command(
    config: Path,
    output: Optional[Path],
    threads: Optional[int],
    no_qa_mask: bool,
    overwrite: bool,
    block_size: Optional[int],
    tile: Optional[str],
    scheduler: Optional[str],
    wait: bool,
    quiet: bool,
) -> None:
    """Run spin-up, warm-up and forward scenarios on the rasters of CONFIG (TOML).

    Running a finished run again does nothing; an interrupted run (Ctrl-C, SIGTERM, a full
    disk) continues where it stopped. One run at a time uses an output folder; a folder
    holding a run of another configuration or other inputs is refused without --overwrite.
    """
    from gsocseq.pipeline import run

    _check_threads(threads)
    overrides: dict[str, Any] = {
        "threads": threads,
        "block_size": block_size,
        "tile": tile,
        "scheduler": scheduler,
    }
    if output is not None:
        overrides["output"] = output  # resolved (and checked) with the configuration
    if no_qa_mask:
        overrides["qa_mask"] = False
    if overwrite:
        overrides["overwrite"] = True
    try:
        with _stopped_by_signals():
            summary = _with_progress(
                lambda progress: run(
                    config, quiet=quiet, progress=progress, wait=wait, notify=_notify, **overrides
                ),
                quiet,
            )
    except _user_errors() as exc:
        _fail(exc)
        return
    if not quiet:
        _report(summary)


@main.command("assemble")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (overrides [run] output).",
)
@wait_option
@quiet_option
def assemble_command(config: Path, output: Optional[Path], wait: bool, quiet: bool) -> None:
    """Build the layers of CONFIG once every tile (gsocseq run --tile i/N) is computed."""
    from gsocseq.pipeline import assemble_run

    try:
        with _stopped_by_signals():
            summary = assemble_run(config, output=output, wait=wait, notify=_notify)
    except _user_errors() as exc:
        _fail(exc)
        return
    if not quiet:
        _report(summary)


def _with_progress(job: Callable[[Any], Any], quiet: bool) -> Any:
    if quiet:
        return job(None)
    bar = click.progressbar(length=1, label="gsocseq", file=sys.stderr, show_eta=True)
    base: Optional[int] = None

    def progress(done: int, total: int) -> None:
        nonlocal base
        if base is None:  # the first call: blocks done before (a resumed run)
            base = done
            if done:
                click.echo(f"resuming: {done} of {total} blocks done", err=True)
            # the bar (and its ETA) over the blocks still to compute
            bar.length = max(total - done, 1)
        bar.update(done - base - bar.pos)

    with bar:
        return job(progress)


def _report(summary: Any) -> None:
    if summary.status != "complete":
        click.echo(f"{summary.name}: {summary.status} ({summary.output})", err=True)
        return
    click.echo(
        f"{summary.modelled} pixels modelled ({summary.mode}); "
        f"{len(summary.layers)} layers in {summary.output} "
        f"({summary.timings.get('total_s', 0):.1f} s)",
        err=True,
    )
    for w in summary.warnings:
        click.echo(f"warning: {w}", err=True)


@main.command("validate")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@quiet_option
def validate_command(config: Path, quiet: bool) -> None:
    """Check CONFIG and its inputs (grids, band counts, value ranges) without running."""
    from gsocseq.validate import validate

    try:
        report = validate(config)
    except _user_errors() as exc:
        _fail(exc)
        return
    if not quiet:
        click.echo(report)


@main.command("demo")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic area.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier demo in OUTDIR.")
@quiet_option
def demo_command(outdir: Path, seed: int, overwrite: bool, quiet: bool) -> None:
    """Generate a synthetic area into OUTDIR/inputs and run the full chain into OUTDIR."""
    from gsocseq.demo import generate_inputs
    from gsocseq.folder import FolderLock, OutputError
    from gsocseq.pipeline import run

    try:
        with _stopped_by_signals():
            existing = outdir / "inputs" / "gsocseq.toml"
            if existing.exists() and not overwrite:
                raise OutputError(
                    f"{outdir}: holds a demo already ({existing}); use --overwrite to replace "
                    "it, or choose another folder"
                )
            outdir.mkdir(parents=True, exist_ok=True)
            with FolderLock(outdir, what="demo"):  # the inputs too are this process's
                config = generate_inputs(outdir, seed=seed)
                summary = _with_progress(
                    lambda progress: run(
                        config, quiet=quiet, progress=progress, overwrite=overwrite
                    ),
                    quiet,
                )
    except _user_errors() as exc:
        _fail(exc)
        return
    if not quiet:
        _report(summary)
        click.echo(f"inputs and configuration: {config.parent}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
