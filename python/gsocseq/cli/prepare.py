"""``gsocseq prepare PREPARE_TOML``: raw downloads to model-ready rasters and a run
configuration."""

from __future__ import annotations

from pathlib import Path

import click

from gsocseq.cli.options import config_argument, fail
from gsocseq.errors import GsocseqError


@click.command("prepare")
@config_argument("prepare_toml")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@click.option("--overwrite", is_flag=True, help="Replace earlier prepared files.")
def command(prepare_toml: Path, quiet: bool, overwrite: bool) -> None:
    """Prepare the rasters and the run configuration from the raw inputs of PREPARE_TOML."""
    from gsocseq.prepare import prepare

    try:
        path = prepare(prepare_toml, overwrite=overwrite, quiet=quiet)
    except GsocseqError as exc:
        fail(exc)
    if not quiet:
        click.echo(f"run configuration: {path} (gsocseq run {path})", err=True)
