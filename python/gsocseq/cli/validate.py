"""``gsocseq validate CONFIG``: every check of a run, nothing computed."""

from __future__ import annotations

from pathlib import Path

import click

from gsocseq.cli.options import config_argument, fail, quiet_option
from gsocseq.errors import GsocseqError


@click.command("validate")
@config_argument()
@quiet_option
def command(config: Path, quiet: bool) -> None:
    """Check CONFIG and its inputs (grids, band counts, value ranges) without running."""
    from gsocseq.validate import validate

    try:
        report = validate(config)
    except GsocseqError as exc:
        fail(exc)
    if not quiet:
        click.echo(report)
