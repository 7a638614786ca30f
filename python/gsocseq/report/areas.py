"""Pixel areas on the WGS84 ellipsoid (ha), row by row: exact for geographic grids (the
authalic latitude), the projected cell area otherwise."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rasterio.crs import CRS

from gsocseq.errors import InputError

#: WGS84 semi-major axis (m) and flattening
WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563


def _authalic_q(phi: np.ndarray, e: float) -> np.ndarray:
    s = np.sin(phi)
    return s / (1.0 - e * e * s * s) + np.log((1.0 + e * s) / (1.0 - e * s)) / (2.0 * e)


def row_areas_ha(transform: Any, crs: CRS, row_off: int, height: int) -> np.ndarray:
    """Area of one cell of each of the rows ``row_off .. row_off + height - 1``, ha.

    Geographic grids: the exact area of the cell on the WGS84 ellipsoid,
    ``dlon * b^2 / 2 * |q(phi2) - q(phi1)|`` with q the authalic-latitude function (dlon in
    radians, b the semi-minor axis). Projected grids: ``|a*e - b*d|`` of the affine transform
    in square metres (times the CRS's linear unit factor squared) / 1e4, the same on every row.
    """
    a, b, _c, d, e, f = (
        transform.a,
        transform.b,
        transform.c,
        transform.d,
        transform.e,
        transform.f,
    )
    if crs is None:
        raise InputError("the grid has no CRS: pixel areas cannot be computed")
    if crs.is_geographic:
        if b != 0.0 or d != 0.0:
            raise InputError("rotated geographic grids are not supported for pixel areas")
        ecc = math.sqrt(WGS84_F * (2.0 - WGS84_F))
        semi_minor = WGS84_A * (1.0 - WGS84_F)
        rows = np.arange(row_off, row_off + height, dtype=np.float64)
        lat1 = np.radians(np.clip(f + rows * e, -90.0, 90.0))
        lat2 = np.radians(np.clip(f + (rows + 1.0) * e, -90.0, 90.0))
        dq = np.abs(_authalic_q(lat2, ecc) - _authalic_q(lat1, ecc))
        return math.radians(abs(a)) * semi_minor**2 / 2.0 * dq / 1e4
    factor = 1.0
    try:
        factor = float(crs.linear_units_factor[1])
    except Exception:
        factor = 1.0
    return np.full(height, abs(a * e - b * d) * factor * factor / 1e4)
