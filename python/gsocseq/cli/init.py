"""``gsocseq init FOLDER``: a commented run configuration for an FAO GSOCseq v1.2 folder or a
``gsocseq prepare`` output."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from gsocseq.cli.options import fail, mode_option, quiet_option, stoppable
from gsocseq.errors import GsocseqError


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--name",
    metavar="ISO3",
    help="ISO 3166-1 alpha-3 code of the country, e.g. KEN (names every layer; default: the "
    "prefix of the FAO stacks' file names, with a warning).",
)
@mode_option
@click.option(
    "-o",
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration to write (default: {name}_gsocseq.toml in the project folder, the "
    "parent of INPUTS; in FOLDER itself if it holds STACK under another name).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing configuration.")
@quiet_option
@stoppable("nothing written (an earlier configuration is kept)")
def command(
    folder: Path,
    name: Optional[str],
    mode: Optional[str],
    config: Optional[Path],
    overwrite: bool,
    quiet: bool,
) -> None:
    """Write a commented run configuration for FOLDER: an FAO GSOCseq v1.2 folder (INPUTS/STACK,
    TERRA_CLIMATE, NPP_TERRA, AOI_POLYGON) or the output of gsocseq prepare.

    Scales are checked against the data (the warm-up series against the forward stack);
    series off the grid of the stacks are resampled onto it, as FAO script 12 does. --mode:
    rothamsted by default (docs/fao-submission.md: which mode to submit)."""
    from gsocseq.init import init

    try:
        path, found = init(folder, name=name, mode=mode, config=config, overwrite=overwrite)
    except GsocseqError as exc:
        fail(exc)
    for w in found.warnings:
        click.echo(f"warning: {w}", err=True)
    if not quiet:
        kind = "FAO GSOCseq v1.2 folder" if found.kind == "fao" else "gsocseq prepare output"
        click.echo(f"{kind}: {len(found.inputs)} inputs, {found.years} warm-up years", err=True)
        for note in found.notes:
            click.echo(f"  {note}", err=True)
        click.echo(f"configuration: {path}", err=True)
        click.echo(f"next: gsocseq validate {path}", err=True)
