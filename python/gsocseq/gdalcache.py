"""GDAL's block cache as rasterio sets it.

``rasterio.Env(GDAL_CACHEMAX=n)`` calls ``GDALSetCacheMax64(n)``: n is in **bytes** (GDAL's own
environment variable reads values below 100,000 as megabytes; rasterio's option does not).
Until 2026-12-06 the run passed MiB, so its "32 MiB" cache was 32 bytes: every tile was decoded
again for every band read from it (a 32-band pixel-interleaved temporary layer took 60-80 s to
convert to a COG instead of 5 s; docs/scaling.md).
"""

from __future__ import annotations

#: bytes in a MiB
MIB = 2**20


def cache_env(mib: int) -> dict[str, int]:
    """The rasterio.Env option of a GDAL block cache of ``mib`` MiB (a value in bytes)."""
    return {"GDAL_CACHEMAX": int(mib) * MIB}
