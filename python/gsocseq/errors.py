"""The exceptions of gsocseq, one hierarchy: ``except GsocseqError`` catches every error a user can
fix, and the command line exits with its ``exit_code`` (2).

::

    GsocseqError(Exception)                    exit_code = 2
    +-- ConfigError(GsocseqError, ValueError)  a configuration or option that cannot be used
    |   +-- OptionError                        an option value the core does not know or accept
    +-- InputError(GsocseqError)               bad input data: file, band, pixel, what was expected
        +-- OutOfRangeError(.., ValueError)    a value outside the range the model accepts
        +-- ShapeError(.., ValueError)         arrays whose shapes or lengths disagree
        +-- OutputError                        the output folder cannot be used or written
            +-- FolderInUse                    another process holds the output folder

Arrows only point down: the compiled core raises the classes of its own errors and cannot
import Python modules, so the classes it raises (every one above but ``OutputError`` and
``FolderInUse``) are defined by the binding (``gsocseq._core``, named ``gsocseq.errors.*`` so
that they pickle and print as imported from here); this module adds the errors of the Python
floors. The errors of the array API (``gsocseq.rothc``, ``gsocseq.fao``) are ``ValueError``
subclasses, as they have always been. Importing this module imports nothing heavy (no numpy,
no rasterio).
"""

from __future__ import annotations

from gsocseq._core import (
    ConfigError,
    GsocseqError,
    InputError,
    OptionError,
    OutOfRangeError,
    ShapeError,
)

__all__ = [
    "ConfigError",
    "FolderInUse",
    "GsocseqError",
    "InputError",
    "OptionError",
    "OutOfRangeError",
    "OutputError",
    "ShapeError",
]


class OutputError(InputError):
    """The output folder cannot be used or written (exit 2 in the CLI)."""


class FolderInUse(OutputError):
    """Another process holds the output folder."""
