"""Pixel areas on the WGS84 ellipsoid (ha): exact row by row for geographic grids (the
authalic latitude); for projected grids the ground area of each cell, which is the nominal
``|a*e - b*d|`` only in an equal-area projection (UTM: up to ~0.2 % off; Mercator at 60
degrees: 4x)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rasterio.crs import CRS
from rasterio.warp import transform as warp_transform

from gsocseq.errors import InputError

#: WGS84 semi-major axis (m) and flattening
WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563


def _authalic_q(phi: np.ndarray, e: float) -> np.ndarray:
    s = np.sin(phi)
    return s / (1.0 - e * e * s * s) + np.log((1.0 + e * s) / (1.0 - e * s)) / (2.0 * e)


def row_areas_ha(transform: Any, crs: CRS, row_off: int, height: int) -> np.ndarray:
    """Area of one cell of each of the rows ``row_off .. row_off + height - 1``, ha.

    Geographic grids only: the exact area of the cell on the WGS84 ellipsoid,
    ``dlon * b^2 / 2 * |q(phi2) - q(phi1)|`` with q the authalic-latitude function (dlon in
    radians, b the semi-minor axis). Projected grids: :func:`window_areas_ha`.
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
    raise InputError(
        "row_areas_ha: a projected grid's cell areas vary along the row too: use window_areas_ha"
    )


def window_areas_ha(
    transform: Any,
    crs: CRS,
    row_off: int,
    col_off: int,
    height: int,
    width: int,
    grid_shape: tuple[int, int],
) -> np.ndarray:
    """Area (ha) of every cell of the window ``height`` x ``width`` at ``row_off``,
    ``col_off`` of a grid of ``grid_shape`` (rows, cols), as an array (height, width).

    Geographic grids: :func:`row_areas_ha` on every column. Projected grids: the area on the
    WGS84 ellipsoid of the cell's footprint, its four corners projected into a Lambert
    azimuthal equal-area projection of the WGS84 ellipsoid centred on the grid (any centre
    gives the same areas; one per grid keeps a cell's area independent of the window) and
    the quadrilateral's area there. The nominal ``|a*e - b*d|`` of the transform is the ground
    area only in an equal-area projection: a conformal one (UTM, Mercator) scales areas by
    1/k^2 (UTM k = 0.9996..1.001; Mercator k = 1/cos(latitude))."""
    if crs is None:
        raise InputError("the grid has no CRS: pixel areas cannot be computed")
    if crs.is_geographic:
        rows = row_areas_ha(transform, crs, row_off, height)
        return np.broadcast_to(rows[:, None], (height, width))
    t = transform
    rows_n, cols_n = grid_shape
    cx = t.c + t.a * cols_n / 2.0 + t.b * rows_n / 2.0
    cy = t.f + t.d * cols_n / 2.0 + t.e * rows_n / 2.0
    try:
        (lon0,), (lat0,) = warp_transform(crs, CRS.from_epsg(4326), [cx], [cy])
    except Exception as exc:
        raise InputError(
            f"the grid's centre cannot be put into longitude/latitude ({exc}): pixel areas "
            "cannot be computed"
        ) from None
    laea = CRS.from_proj4(
        f"+proj=laea +lat_0={lat0!r} +lon_0={lon0!r} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )
    c, r = np.meshgrid(
        np.arange(col_off, col_off + width + 1, dtype=np.float64),
        np.arange(row_off, row_off + height + 1, dtype=np.float64),
    )
    xs = t.c + t.a * c + t.b * r
    ys = t.f + t.d * c + t.e * r
    try:
        ex, ey = warp_transform(crs, laea, xs.ravel(), ys.ravel())
    except Exception as exc:
        raise InputError(f"the grid's cells cannot be projected ({exc}): no pixel areas") from None
    x = np.asarray(ex, dtype=np.float64).reshape(xs.shape)
    y = np.asarray(ey, dtype=np.float64).reshape(ys.shape)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError(
            f"cells of rows {row_off}..{row_off + height - 1} lie outside the domain of the "
            f"grid's projection ({crs}): their areas cannot be computed"
        )
    # the quadrilateral (r, c), (r, c+1), (r+1, c+1), (r+1, c): half the cross product of
    # its diagonals
    d1x = x[1:, 1:] - x[:-1, :-1]
    d1y = y[1:, 1:] - y[:-1, :-1]
    d2x = x[:-1, 1:] - x[1:, :-1]
    d2y = y[:-1, 1:] - y[1:, :-1]
    return np.abs(d1x * d2y - d1y * d2x) / 2.0 / 1e4
