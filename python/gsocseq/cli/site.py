"""``gsocseq site SITES -o RESULTS``: the chain for every row of a site table."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import click

from gsocseq.cli.options import fail, mode_option, stoppable
from gsocseq.errors import GsocseqError


@click.command("site")
@click.argument("sites", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Result CSV.",
)
@click.option(
    "-c",
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration for [run] options, scenarios and classes.",
)
@mode_option
@click.option("-q", "--quiet", is_flag=True, help="No report.")
@stoppable("no results written")
def command(
    sites: Path, output: Path, config: Optional[Path], mode: Optional[str], quiet: bool
) -> None:
    """Run the GSOCseq phases for every row of the site table SITES (CSV)."""
    from gsocseq.site import results_path, run_sites, write_results

    options = {"mode": mode} if mode else {}
    if mode == "fao-v1.2":
        options["spinup"] = "analytical"
        options["numerical_pools"] = "weihermuller"
    try:
        output = results_path(output, keep=(sites, config))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            result = run_sites(sites, config, **options)
        for w in caught:  # what the user should look at, even with --quiet
            click.echo(f"warning: {w.message}", err=True)
        write_results(result, output)
    except GsocseqError as exc:
        fail(exc)
    if not quiet:
        click.echo(
            f"{int(result['modelled'].sum())} of {len(result['site'])} sites modelled; "
            f"results in {output}",
            err=True,
        )
