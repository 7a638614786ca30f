"""``gsocseq prepare PREPARE_TOML``: raw downloads to model-ready rasters and a run
configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from gsocseq.cli.options import config_argument, fail, stoppable
from gsocseq.errors import GsocseqError


@click.command("prepare")
@config_argument("prepare_toml")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@click.option("--overwrite", is_flag=True, help="Replace earlier prepared files.")
@click.option(
    "--tile-size",
    type=int,
    default=None,
    metavar="N",
    help="Tiles of the rasters written, N x N pixels (a multiple of 16; default 256, or "
    "[prepare] tile_size). 64 or 128 for runs under --memory 256M (docs/scaling.md).",
)
@stoppable("nothing prepared (the earlier files are kept)")
def command(prepare_toml: Path, quiet: bool, overwrite: bool, tile_size: Optional[int]) -> None:
    """Prepare the rasters and the run configuration from the raw inputs of PREPARE_TOML."""
    from gsocseq.prepare import prepare

    try:
        path = prepare(prepare_toml, overwrite=overwrite, quiet=quiet, tile_size=tile_size)
    except GsocseqError as exc:
        fail(exc)
    if not quiet:
        click.echo(f"run configuration: {path} (gsocseq run {path})", err=True)
