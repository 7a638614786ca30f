"""The ``gsocseq`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import click

from gsocseq import __version__
from gsocseq.config import ConfigError
from gsocseq.rasters import InputError

quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar or report.")


def _fail(exc: Exception) -> None:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    quiet: bool,
) -> None:
    """Run spin-up, warm-up and forward scenarios on the rasters of CONFIG (TOML).

    Running a finished run again does nothing; an interrupted run continues where it stopped.
    """
    from gsocseq.pipeline import run

    overrides: dict[str, Any] = {
        "threads": threads,
        "block_size": block_size,
        "tile": tile,
        "scheduler": scheduler,
    }
    if output is not None:
        overrides["output"] = output.resolve()
    if no_qa_mask:
        overrides["qa_mask"] = False
    if overwrite:
        overrides["overwrite"] = True
    try:
        summary = _with_progress(
            lambda progress: run(config, quiet=quiet, progress=progress, **overrides), quiet
        )
    except (ConfigError, InputError) as exc:
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
@quiet_option
def assemble_command(config: Path, output: Optional[Path], quiet: bool) -> None:
    """Build the layers of CONFIG once every tile (gsocseq run --tile i/N) is computed."""
    from gsocseq.pipeline import assemble_run

    try:
        summary = assemble_run(config, output=output.resolve() if output else None)
    except (ConfigError, InputError) as exc:
        _fail(exc)
        return
    if not quiet:
        _report(summary)


def _with_progress(job: Any, quiet: bool) -> Any:
    if quiet:
        return job(None)
    bar = click.progressbar(length=1, label="gsocseq", file=sys.stderr, show_eta=True)
    with bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

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
    except (ConfigError, InputError) as exc:
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
    from gsocseq.pipeline import run

    try:
        config = generate_inputs(outdir, seed=seed)
        summary = _with_progress(
            lambda progress: run(config, quiet=quiet, progress=progress, overwrite=overwrite), quiet
        )
    except (ConfigError, InputError) as exc:
        _fail(exc)
        return
    if not quiet:
        _report(summary)
        click.echo(f"inputs and configuration: {config.parent}", err=True)


def _register() -> None:
    from gsocseq.prepare import prepare_command
    from gsocseq.report import report_command
    from gsocseq.site import site_command

    main.add_command(site_command)
    main.add_command(prepare_command)
    main.add_command(report_command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
