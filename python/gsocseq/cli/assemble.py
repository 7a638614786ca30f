"""``gsocseq assemble CONFIG``: the layers of a tiled run once every tile is computed."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from gsocseq.cli.options import (
    config_argument,
    fail,
    notify,
    output_folder_option,
    quiet_option,
    report_summary,
    stopped_by_signals,
    wait_option,
)
from gsocseq.errors import GsocseqError


@click.command("assemble")
@config_argument()
@output_folder_option
@wait_option
@quiet_option
def command(config: Path, output: Optional[Path], wait: bool, quiet: bool) -> None:
    """Build the layers of CONFIG once every tile (gsocseq run --tile i/N) is computed."""
    from gsocseq.pipeline import assemble_run

    try:
        with stopped_by_signals():
            summary = assemble_run(config, output=output, wait=wait, notify=notify)
    except GsocseqError as exc:
        fail(exc)
    report_summary(summary, quiet)
