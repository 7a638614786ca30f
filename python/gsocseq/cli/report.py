"""``gsocseq report RUN_OUTPUT_DIR``: the national report of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from gsocseq.cli.options import fail
from gsocseq.errors import GsocseqError


@click.command("report")
@click.argument("run_output_dir", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder (default RUN_OUTPUT_DIR/report).",
)
@click.option(
    "--admin",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Administrative polygons (GeoJSON; any CRS) to group the statistics by.",
)
@click.option("--admin-field", help="Property naming the units of --admin (default: name).")
@click.option(
    "--wait", is_flag=True, help="If a run is writing the folder, wait for it instead of stopping."
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors and warnings.")
def command(
    run_output_dir: Path,
    output: Optional[Path],
    admin: Optional[Path],
    admin_field: Optional[str],
    wait: bool,
    quiet: bool,
) -> None:
    """National report of a run: statistics (CSV), maps and plots (HTML, PNG), STAC item."""
    from gsocseq.report import report

    if admin_field is not None and admin is None:
        fail(click.UsageError("--admin-field needs --admin"))
    try:
        path = report(
            run_output_dir, output=output, admin=admin, admin_field=admin_field, wait=wait
        )
    except GsocseqError as exc:
        fail(exc)
    if not quiet:
        click.echo(f"report: {path}")
        click.echo(f"statistics and STAC item in {path.parent}")
