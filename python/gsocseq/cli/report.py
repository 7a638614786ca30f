"""``gsocseq report RUN``: the national report of a run (its output folder or configuration)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from gsocseq.cli.options import fail, stoppable
from gsocseq.errors import GsocseqError


@click.command("report")
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder (default: report in the run's output folder).",
)
@click.option(
    "--admin",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Administrative polygons (GeoJSON; any CRS) to group the statistics by.",
)
@click.option("--admin-field", help="Property naming the units of --admin (default: name).")
@click.option(
    "--zones",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A categorical raster to group the statistics by instead of --admin (IPCC climate "
    "zones, agro-ecological zones; any grid: taken at the run's pixels, nearest neighbour).",
)
@click.option(
    "--zone-names",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV of code,name rows naming the codes of --zones.",
)
@click.option(
    "--emissions",
    type=float,
    metavar="MT_CO2E",
    help="National agricultural emissions, Mt CO2e/yr (e.g. FAOSTAT): the report gives the "
    "share the sequestration of each scenario would offset.",
)
@click.option(
    "--evaluation",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of gsocseq evaluate -o FOLDER: its statistics and 1:1 plot as a section.",
)
@click.option(
    "--wait", is_flag=True, help="If a run is writing the folder, wait for it instead of stopping."
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors and warnings.")
@stoppable("the report not finished (each of its files is the earlier one or a whole new one)")
def command(
    run: Path,
    output: Optional[Path],
    admin: Optional[Path],
    admin_field: Optional[str],
    zones: Optional[Path],
    zone_names: Optional[Path],
    emissions: Optional[float],
    evaluation: Optional[Path],
    wait: bool,
    quiet: bool,
) -> None:
    """National report of RUN (its output folder or its configuration): methods, pixel counts,
    warnings, the Annex II QA protocol, statistics (CSV), maps and plots; one HTML file with
    its figures embedded, a PDF, the figures (PNG) and a STAC item."""
    from gsocseq.report import report

    if admin_field is not None and admin is None:
        fail(click.UsageError("--admin-field needs --admin"))
    if zone_names is not None and zones is None:
        fail(click.UsageError("--zone-names needs --zones"))
    try:
        path = report(
            run,
            output=output,
            admin=admin,
            admin_field=admin_field,
            wait=wait,
            emissions=emissions,
            zones=zones,
            zone_names=zone_names,
            evaluation=evaluation,
        )
    except GsocseqError as exc:
        fail(exc)
    if not quiet:
        click.echo(f"report: {path}")
        pdf = path.with_name("report.pdf")
        if pdf.exists():
            click.echo(f"as PDF: {pdf}")
        click.echo(f"statistics and STAC item in {path.parent}")
