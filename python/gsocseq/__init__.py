"""gsocseq: FAO GSOCseq soil organic carbon sequestration potential maps.

A Rust core runs the Rothamsted Carbon Model (RothC-26.3) on every pixel; this package reads
and writes the rasters, holds the configuration and the command line.

Entry points:
- :func:`gsocseq.run`: the whole GSOCseq chain on the rasters of a configuration.
- :mod:`gsocseq.rothc`: the RothC model on numpy arrays (official Rothamsted numerics).
- :mod:`gsocseq.fao`: the numerics of the FAO GSOCseq v1.2 R scripts.
- :mod:`gsocseq.site`: the chain for a table of sites.
"""

from __future__ import annotations

from typing import Any

from gsocseq._core import __version__

__all__ = ["Config", "RunSummary", "__version__", "load_config", "run"]


def __getattr__(name: str) -> Any:
    # the raster stack (rasterio) is imported on first use, not by `import gsocseq`
    if name in ("run", "RunSummary"):
        from gsocseq import pipeline

        return getattr(pipeline, name)
    if name == "Config":
        from gsocseq.config import Config

        return Config
    if name == "load_config":
        from gsocseq.config import load

        return load
    raise AttributeError(f"module 'gsocseq' has no attribute {name!r}")
