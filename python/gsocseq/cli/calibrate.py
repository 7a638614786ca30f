"""``gsocseq calibrate SITES OBSERVATIONS -o TABLE``: multipliers fitted to measured SOC."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from gsocseq.cli.options import (
    fail,
    measurements_arguments,
    overwrite_option,
    site_config_option,
    stoppable,
)
from gsocseq.errors import GsocseqError


@click.command("calibrate")
@measurements_arguments
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Calibration table (CSV) that gsocseq run takes as [run] calibration or --calibration.",
)
@site_config_option
@click.option(
    "--parameter",
    type=click.Choice(["input", "rate"]),
    default="input",
    show_default=True,
    help="input: multiplier of the plant inputs after the spin-up; rate: of the "
    "decomposition rates in every phase.",
)
@click.option(
    "--by",
    type=click.Choice(["land_use", "zone", "all"]),
    default="land_use",
    show_default=True,
    help="One multiplier per class of the last warm-up year, per zone (the zone column of "
    "SITES; the zone raster of a run), or one for all.",
)
@overwrite_option
@click.option("-q", "--quiet", is_flag=True, help="No table on the terminal.")
@stoppable("no calibration table written")
def command(
    sites: Path,
    observations: Path,
    output: Path,
    config: Optional[Path],
    parameter: str,
    by: str,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Fit, per group of the sites of SITES (CSV, docs/sites.md), the multiplier of plant
    inputs or decomposition rates that brings the simulated SOC closest to the measured SOC in
    OBSERVATIONS (CSV: site, year, soc in t C/ha), with its standard error
    (docs/evaluation.md)."""
    from gsocseq.calibrate import calibrate, summary, write_table

    try:
        result = calibrate(sites, observations, config, parameter=parameter, by=by)
        write_table(result, output, overwrite=overwrite)
    except GsocseqError as exc:
        fail(exc)
    if not quiet:
        click.echo(summary(result), err=True)
        click.echo(
            f"table in {output}: gsocseq run CONFIG --calibration {output} (or [run] "
            "calibration) runs with these multipliers",
            err=True,
        )
