"""The ``gsocseq`` command line: one module per command (``gsocseq.cli.run``, ...), the options
they share in :mod:`gsocseq.cli.options`. Nothing outside this package imports click."""

from __future__ import annotations

import click

from gsocseq import __version__
from gsocseq.cli import (
    assemble,
    calibrate,
    demo,
    evaluate,
    export,
    init,
    prepare,
    report,
    run,
    site,
    validate,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gsocseq")
def main() -> None:
    """GSOCseq soil organic carbon sequestration potential maps (FAO methodology, RothC)."""


for _module in (
    init,
    run,
    assemble,
    validate,
    demo,
    site,
    evaluate,
    calibrate,
    prepare,
    report,
    export,
):
    main.add_command(_module.command)

__all__ = ["main"]
