"""``gsocseq run CONFIG``: the whole chain on the rasters of a configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import click

from gsocseq.cli.options import (
    check_threads,
    config_argument,
    fail,
    notify,
    output_folder_option,
    quiet_option,
    report_summary,
    stopped_by_signals,
    wait_option,
    with_progress,
)
from gsocseq.errors import GsocseqError


@click.command("run")
@config_argument()
@output_folder_option
@click.option("-j", "--threads", type=click.IntRange(min=0), help="Threads (0 = all cores).")
@click.option("--no-qa-mask", is_flag=True, help="Skip the QA step (keep out-of-range values).")
@click.option(
    "--flags",
    is_flag=True,
    help="Also write {name}_GSOCseq_Flags.tif: the warnings each pixel raised (bits).",
)
@click.option("--overwrite", is_flag=True, help="Replace existing output layers.")
@click.option(
    "--block-size",
    type=int,
    help="Largest side of the blocks read and computed at a time, pixels (multiple of 16; "
    "default [run] block_size, 256; the memory budget may choose smaller). Every pixel of a "
    "block holds its monthly warm-up series and its results; smaller blocks mean more, smaller "
    "reads.",
)
@click.option(
    "--memory",
    help="Memory budget of the run, e.g. 256M or 2G (default [run] memory, 512M): sets the "
    "block size and reading ahead (docs/scaling.md).",
)
@click.option("--tile", help="Compute only tile i of N (e.g. 2/8), then run gsocseq assemble.")
@click.option(
    "--scheduler",
    help="Run the blocks on Dask: local:N (N worker processes) or a scheduler address.",
)
@click.option(
    "--calibration",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Calibration table of gsocseq calibrate (multipliers per class or zone).",
)
@wait_option
@quiet_option
def command(
    config: Path,
    output: Optional[Path],
    threads: Optional[int],
    no_qa_mask: bool,
    flags: bool,
    overwrite: bool,
    block_size: Optional[int],
    memory: Optional[str],
    tile: Optional[str],
    scheduler: Optional[str],
    calibration: Optional[Path],
    wait: bool,
    quiet: bool,
) -> None:
    """Run spin-up, warm-up and forward scenarios on the rasters of CONFIG (TOML).

    Running a finished run again does nothing; an interrupted run (Ctrl-C, SIGTERM, a full
    disk) continues where it stopped. One run at a time uses an output folder; a folder
    holding a run of another configuration or other inputs is refused without --overwrite.
    """
    from gsocseq.pipeline import run

    check_threads(threads)
    overrides: dict[str, Any] = {
        "threads": threads,
        "block_size": block_size,
        "memory": memory,
        "tile": tile,
        "scheduler": scheduler,
        "calibration": calibration,
    }
    if output is not None:
        overrides["output"] = output  # resolved (and checked) with the configuration
    if no_qa_mask:
        overrides["qa_mask"] = False
    if flags:
        overrides["flags"] = True
    if overwrite:
        overrides["overwrite"] = True
    try:
        with stopped_by_signals():
            summary = with_progress(
                lambda progress: run(
                    config, quiet=quiet, progress=progress, wait=wait, notify=notify, **overrides
                ),
                quiet,
            )
    except GsocseqError as exc:
        fail(exc)
    report_summary(summary, quiet)
