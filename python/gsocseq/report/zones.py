"""Administrative units of the report: polygons (:mod:`gsocseq.vectors`) reprojected to the
run's grid, grouped by a property, rasterized window by window."""

from __future__ import annotations

import csv
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import rasterio
from rasterio.crs import CRS

from gsocseq.csvsafe import control_character
from gsocseq.errors import InputError
from gsocseq.rasters import windows
from gsocseq.vectors import polygon, read_features


@dataclass
class Zones:
    """Administrative units: names and geometries in the raster CRS (zone id = index + 1)."""

    field: str
    names: list[str]
    shapes: list[tuple[dict[str, Any], int]]
    # geometries repaired or left out (dataclasses.field: ``field`` is the admin field here)
    notes: list[str] = dataclasses.field(default_factory=list)
    # a categorical raster instead of polygons: its path and the code of each zone
    raster: Optional[Path] = None
    codes: list[int] = dataclasses.field(default_factory=list)


def read_zone_raster(
    path: str | os.PathLike[str], names: Optional[str | os.PathLike[str]], grid: Any
) -> Zones:
    """Zones from a categorical raster (an IPCC climate zone or agro-ecological zone map, any
    grid and CRS: taken at the run's pixels by the nearest neighbour): a zone per code found
    over the run's grid (``grid``: its land-use dataset), named by the CSV ``names``
    (``code,name`` rows) or by the code."""
    path = Path(path)
    labels: dict[int, str] = {}
    if names is not None:
        try:
            with open(names, encoding="utf-8-sig", newline="") as f:
                for row in csv.reader(f):
                    if not row or not row[0].strip().lstrip("-").isdigit():
                        continue  # a header, an empty line
                    label = row[1].strip() if len(row) > 1 else row[0].strip()
                    bad = control_character(label)
                    if bad is not None:
                        raise InputError(
                            f"{names}: the name of zone {row[0].strip()} ({label!r}) holds a "
                            f"control character ({bad}): fix the name in the file"
                        )
                    labels[int(row[0])] = label
        except OSError as exc:
            raise InputError(f"{names}: cannot read the zone names ({exc})") from None
    found: set[int] = set()
    try:
        with rasterio.open(path) as src, _on_grid(src, grid) as vrt:
            if src.count != 1 or not np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
                raise InputError(
                    f"{path}: expected one band of integer zone codes, found {src.count} "
                    f"{src.dtypes[0]} band(s)"
                )
            for window in windows(grid.height, grid.width, 512):
                raw = vrt.read(1, window=window)
                valid = raw != vrt.nodata if vrt.nodata is not None else np.ones_like(raw, bool)
                found.update(int(c) for c in np.unique(raw[valid]))
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{path}: cannot be read as a raster ({exc})") from None
    if not found:
        raise InputError(f"{path}: no zone code over the run's area")
    codes = sorted(found)
    return Zones(
        field=path.stem,
        names=[labels.get(c, str(c)) for c in codes],
        shapes=[],
        raster=path,
        codes=codes,
    )


def _on_grid(src: Any, grid: Any) -> Any:
    """``src`` read on the grid of ``grid`` (nearest neighbour; itself when already on it)."""
    from contextlib import nullcontext

    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    if src.crs == grid.crs and src.transform == grid.transform and src.shape == grid.shape:
        return nullcontext(src)
    return WarpedVRT(
        src,
        crs=grid.crs,
        transform=grid.transform,
        width=grid.width,
        height=grid.height,
        resampling=Resampling.nearest,
    )


def read_admin(path: str | os.PathLike[str], admin_field: Optional[str], dst_crs: CRS) -> Zones:
    """Read administrative polygons (:mod:`gsocseq.vectors`: GeoJSON natively, other formats
    with pyogrio) and reproject them to ``dst_crs``.

    A GeoJSON file's CRS is its legacy ``crs`` member when present, else WGS84 longitude /
    latitude (RFC 7946). Features with the same ``admin_field`` value form one unit; without
    ``admin_field`` the first of name/NAME/NAME_1/ADM1_EN/shapeName/admin found in the
    properties is used, else the feature number.
    """
    from rasterio.warp import transform_geom

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: admin file not found")
    features, crs = read_features(path, what="admin file")
    if crs is None:
        crs = CRS.from_epsg(4326)
    for i, f in enumerate(features):
        if not isinstance(f, dict) or not isinstance(f.get("properties") or {}, dict):
            raise InputError(f"{path}: feature {i + 1} is not a GeoJSON feature object")
    notes = [
        f"{path}: feature {i + 1} has no geometry: left out of the statistics"
        for i, f in enumerate(features)
        if not f.get("geometry")
    ]
    numbered = [(i, f) for i, f in enumerate(features) if f.get("geometry")]
    if not numbered:
        raise InputError(f"{path}: no features with a geometry")
    props0 = numbered[0][1].get("properties") or {}
    if admin_field is None:
        for cand in ("name", "NAME", "NAME_1", "ADM1_EN", "shapeName", "admin"):
            if cand in props0:
                admin_field = cand
                break
    names: list[str] = []
    index: dict[str, int] = {}
    shapes: list[tuple[dict[str, Any], int]] = []
    for i, feat in numbered:
        props = feat.get("properties") or {}
        if admin_field is None:
            value = f"feature {i + 1}"
        elif admin_field not in props:
            fields = ", ".join(sorted(props)) or "none"
            raise InputError(
                f"{path}: feature {i + 1} has no field {admin_field!r} (fields: {fields})"
            )
        else:
            value = str(props[admin_field])
            bad = control_character(value)
            if bad is not None:
                raise InputError(
                    f"{path}: feature {i + 1}: its {admin_field} {value!r} holds a control "
                    f"character ({bad}), which cannot be written into the statistics: fix the "
                    "name in the file, or group by another field (--admin-field)"
                )
        if value not in index:
            index[value] = len(names) + 1
            names.append(value)
        label = f"{path}: feature {i + 1} ({value!r})"
        geom = polygon(feat["geometry"], label, notes)
        if crs.is_geographic:
            _longitudes_latitudes(geom, label)
        try:
            if crs != dst_crs:
                geom = transform_geom(crs, dst_crs, geom)
        except Exception as exc:
            raise InputError(f"{label} cannot be reprojected ({exc})") from None
        shapes.append((polygon(geom, label, notes), index[value]))
    return Zones(field=admin_field or "feature", names=names, shapes=shapes, notes=notes)


def _longitudes_latitudes(geom: dict[str, Any], label: str) -> None:
    """Refuse (naming ``label``) a vertex that is no longitude/latitude (1e308 broke the
    rasterization of every unit: another unit vanished from the statistics)."""
    import shapely
    from shapely.geometry import shape

    coords = shapely.get_coordinates(shape(geom))
    bad = (np.abs(coords[:, 0]) > 540) | (np.abs(coords[:, 1]) > 90)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{label}: vertex {k + 1} is ({coords[k, 0]:g}, {coords[k, 1]:g}), no longitude/"
            "latitude (the file's CRS is geographic: give its crs if it is projected)"
        )


def missing_units(
    zones: Zones, present: set[str], zone_pixels: np.ndarray, grid_bounds: Any, admin: Any
) -> list[str]:
    """A note for every admin unit without a row in the statistics (``present``: the units
    with one), saying why: it covers no pixel centre of the grid (``zone_pixels``: the grid
    pixels of each zone, "(outside)" first) because it lies outside the grid, is smaller than
    a pixel or lies under the features after it (a pixel in two polygons counts for the
    last), or it covers only pixels without a value in the layers."""
    import shapely
    from shapely.geometry import shape

    geoms = [(shape(g), z) for g, z in zones.shapes]
    grid = shapely.box(*grid_bounds)
    notes = []
    for z, name in enumerate(zones.names, start=1):
        if name in present:
            continue
        pixels = int(zone_pixels[z])
        if pixels:
            why = f"covers {pixels:,} pixels, none with a value in the run's layers"
        elif not any(k == z for _, k in geoms):  # a zone raster's code
            why = "covers no pixel of the run's grid"
        else:
            mine = shapely.union_all([g for g, k in geoms if k == z])
            last = max(i for i, (_, k) in enumerate(geoms) if k == z)
            later = [(g, zones.names[k - 1]) for g, k in geoms[last + 1 :] if k != z]
            under = sorted({n for g, n in later if g.intersects(mine)})
            if not mine.intersects(grid):
                why = "lies outside the run's grid"
            elif under and shapely.union_all([g for g, n in later]).contains(mine):
                why = f"is covered by the unit(s) after it ({', '.join(map(repr, under))}: a "
                why += "pixel in two polygons counts for the last)"
            else:
                why = "covers no pixel centre (smaller than a pixel?)"
        notes.append(f"{admin}: unit {name!r} {why}: not in the statistics")
    return notes


def rasterize_zones(zones: Zones, window_transform: Any, shape: tuple[int, int]) -> np.ndarray:
    from rasterio.features import rasterize

    return rasterize(
        zones.shapes, out_shape=shape, transform=window_transform, fill=0, dtype="int32"
    )
