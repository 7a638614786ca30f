"""``gsocseq demo OUTDIR``: a synthetic area and the whole chain on it."""

from __future__ import annotations

from pathlib import Path

import click

from gsocseq.cli.options import (
    fail,
    notify,
    quiet_option,
    report_summary,
    stopped_by_signals,
    with_progress,
)
from gsocseq.errors import GsocseqError


@click.command("demo")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic area.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier demo in OUTDIR.")
@quiet_option
def command(outdir: Path, seed: int, overwrite: bool, quiet: bool) -> None:
    """Generate a synthetic area into OUTDIR/inputs and run the full chain into OUTDIR."""
    from gsocseq.demo import generate_inputs
    from gsocseq.errors import OutputError
    from gsocseq.folder import FolderLock
    from gsocseq.pipeline import run

    try:
        with stopped_by_signals():
            existing = outdir / "inputs" / "gsocseq.toml"
            if existing.exists() and not overwrite:
                raise OutputError(
                    f"{outdir}: holds a demo already ({existing}); use --overwrite to replace "
                    "it, or choose another folder"
                )
            try:
                outdir = outdir.resolve()  # a symlink loop: RuntimeError (Python < 3.13)
                outdir.mkdir(parents=True, exist_ok=True)
            except (OSError, RuntimeError) as exc:
                raise OutputError(f"{outdir}: cannot create the output folder ({exc})") from None
            with FolderLock(outdir, what="demo"):  # the inputs too are this process's
                config = generate_inputs(outdir, seed=seed)
                summary = with_progress(
                    lambda progress: run(
                        config, quiet=quiet, progress=progress, overwrite=overwrite, notify=notify
                    ),
                    quiet,
                )
    except GsocseqError as exc:
        fail(exc)
    report_summary(summary, quiet)
    if not quiet:
        click.echo(f"inputs and configuration: {config.parent}", err=True)
