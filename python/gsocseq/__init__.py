"""gsocseq: FAO GSOCseq soil organic carbon sequestration potential maps.

A Rust core runs the Rothamsted Carbon Model (RothC-26.3) on every pixel; this package reads
and writes the rasters, holds the configuration and the command line.

Submodules:
- :mod:`gsocseq.rothc`: the RothC model on numpy arrays (official Rothamsted numerics).
"""

from __future__ import annotations

from gsocseq._core import __version__

__all__ = ["__version__"]
