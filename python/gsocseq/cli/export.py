"""``gsocseq export RUN --fao ISO3``: a run as the GSP Secretariat receives it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from gsocseq.cli.options import fail, quiet_option, stoppable, wait_option
from gsocseq.errors import GsocseqError


@click.command("export")
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--fao",
    "iso3",
    required=True,
    metavar="ISO3",
    help="Deliver to the GSP Secretariat under this ISO 3166-1 alpha-3 code (e.g. KEN).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the delivery (default: FAO_{ISO3} in the run's output folder).",
)
@click.option("--overwrite", is_flag=True, help="Replace an earlier delivery in that folder.")
@wait_option
@quiet_option
@stoppable("no delivery written (an earlier one is kept)")
def command(
    run: Path, iso3: str, output: Optional[Path], overwrite: bool, wait: bool, quiet: bool
) -> None:
    """Export a run (its output folder or configuration) as FAO receives it: the 29 products on
    the GSP 30 arc-second template, the exclusion mask, the Annex II QA protocol, a manifest
    and one zip."""
    from gsocseq.export import export_fao

    try:
        result = export_fao(run, iso3, output=output, overwrite=overwrite, wait=wait)
    except GsocseqError as exc:
        fail(exc)
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(result.protocol.summary(), err=True)
    if not quiet:
        grid = "copied" if result.method == "copied" else "resampled bilinearly"
        parts = (
            "" if len(result.parts) == 1 else " (across the antimeridian: _east and _west files)"
        )
        click.echo(f"layers on the GSP template grid ({grid}){parts}", err=True)
        click.echo(f"send to FAO: {result.zip}", err=True)
