"""Administrative units of the report: polygons (:mod:`gsocseq.vectors`) reprojected to the
run's grid, grouped by a property, rasterized window by window."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
from rasterio.crs import CRS

from gsocseq.errors import InputError
from gsocseq.vectors import polygon, read_features


@dataclass
class Zones:
    """Administrative units: names and geometries in the raster CRS (zone id = index + 1)."""

    field: str
    names: list[str]
    shapes: list[tuple[dict[str, Any], int]]
    # geometries repaired or left out (dataclasses.field: ``field`` is the admin field here)
    notes: list[str] = dataclasses.field(default_factory=list)


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
        if value not in index:
            index[value] = len(names) + 1
            names.append(value)
        label = f"{path}: feature {i + 1} ({value!r})"
        geom = polygon(feat["geometry"], label, notes)
        try:
            if crs != dst_crs:
                geom = transform_geom(crs, dst_crs, geom)
        except Exception as exc:
            raise InputError(f"{label} cannot be reprojected ({exc})") from None
        shapes.append((polygon(geom, label, notes), index[value]))
    return Zones(field=admin_field or "feature", names=names, shapes=shapes, notes=notes)


def rasterize_zones(zones: Zones, window_transform: Any, shape: tuple[int, int]) -> np.ndarray:
    from rasterio.features import rasterize

    return rasterize(
        zones.shapes, out_shape=shape, transform=window_transform, fill=0, dtype="int32"
    )
