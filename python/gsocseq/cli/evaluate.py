"""``gsocseq evaluate SITES OBSERVATIONS -o FOLDER``: simulated against observed SOC."""

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


@click.command("evaluate")
@measurements_arguments
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder of evaluation.csv, evaluation_statistics.csv and evaluation_1to1.png.",
)
@site_config_option
@click.option(
    "--by",
    help="Column whose values group the statistics (of OBSERVATIONS, else of SITES; "
    "land_use: the class of the last warm-up year). Default: the group column, if any.",
)
@overwrite_option
@click.option("-q", "--quiet", is_flag=True, help="No statistics on the terminal.")
@stoppable("stopped before the evaluation was written whole")
def command(
    sites: Path,
    observations: Path,
    output: Path,
    config: Optional[Path],
    by: Optional[str],
    overwrite: bool,
    quiet: bool,
) -> None:
    """Simulate the sites of the site table SITES (CSV, docs/sites.md) at the years of the
    measured SOC in OBSERVATIONS (CSV: site, year, soc in t C/ha) and compare: n, RMSE,
    relative RMSE, mean error, modelling efficiency and r per group (docs/evaluation.md)."""
    from gsocseq.evaluate import evaluate, summary, write

    try:
        result = evaluate(sites, observations, config, by=by)
        paths = write(result, output, overwrite=overwrite)
    except GsocseqError as exc:
        fail(exc)
    if not quiet:
        click.echo(summary(result), err=True)
        plot = "" if "plot" in paths else " (no 1:1 plot: install gsocseq[report] for matplotlib)"
        click.echo(f"results in {output}{plot}", err=True)
