"""Polygons from vector files: one reader for ``gsocseq prepare`` (the area of interest) and
``gsocseq report`` (the administrative units).

GeoJSON is read as it is (``json``; its CRS is the legacy ``crs`` member when present, else
WGS84 longitude/latitude, RFC 7946); every other format GDAL reads (Shapefile, GeoPackage, ...)
with pyogrio (``pip install 'gsocseq[prepare]'``), its geometries decoded by shapely.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
from rasterio.crs import CRS

from gsocseq.errors import InputError

#: endings of the files read as GeoJSON
GEOJSON = (".geojson", ".json")


def read_features(
    path: Union[str, os.PathLike], layer: Optional[str] = None, what: str = "vector file"
) -> tuple[list[dict[str, Any]], Optional[CRS]]:
    """GeoJSON-like features (``geometry``, ``properties``) of ``path`` and its CRS (None when
    the file states none; a GeoJSON file's is WGS84 unless it names one). ``layer``: the layer
    of a multi-layer file (GeoPackage). Errors name ``what`` the file is for."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found ({what})")
    if path.suffix.lower() in GEOJSON:
        return _geojson(path)
    try:
        import pyogrio.raw
    except ImportError:
        raise InputError(
            f"{path}: reading a {what} other than GeoJSON needs pyogrio "
            "(pip install 'gsocseq[prepare]'); or convert it to GeoJSON (ogr2ogr -f GeoJSON)"
        ) from None
    import shapely
    from shapely.geometry import mapping

    try:
        meta, _, wkbs, values = pyogrio.raw.read(path, layer=layer, force_2d=True)
    except Exception as exc:  # pyogrio raises its own DataSourceError / DataLayerError
        raise InputError(f"{path}: cannot read the {what} ({exc})") from None
    fields = [str(f) for f in meta.get("fields", [])]
    geoms = shapely.from_wkb(np.asarray(wkbs, dtype=object))
    features = []
    for i, geom in enumerate(geoms):
        props = {f: _plain(values[j][i]) for j, f in enumerate(fields)}
        shape = None if geom is None else dict(mapping(geom))
        features.append({"type": "Feature", "properties": props, "geometry": shape})
    crs = meta.get("crs")
    return features, CRS.from_user_input(crs) if crs else None


def read_polygons(
    path: Union[str, os.PathLike], layer: Optional[str] = None, what: str = "area of interest"
) -> tuple[list[dict[str, Any]], CRS]:
    """The (Multi)Polygon geometries of ``path`` (2D, GeoJSON-like) and their CRS; a geometry
    of another type or a file without a CRS is an error naming ``what``."""
    from shapely import force_2d
    from shapely.geometry import mapping, shape

    features, crs = read_features(path, layer, what)
    if crs is None:
        raise InputError(f"{path}: the {what} has no CRS")
    geoms = []
    for f in features:
        g = f.get("geometry")
        if not g:
            continue
        kind = g.get("type") if isinstance(g, dict) else type(g).__name__
        if kind not in ("Polygon", "MultiPolygon"):
            raise InputError(f"{path}: {what} geometry {kind} is not a polygon")
        try:
            geoms.append(dict(mapping(force_2d(shape(g)))))
        except Exception as exc:
            raise InputError(f"{path}: {what}: not a readable polygon ({exc})") from None
    return geoms, crs


def polygon(geom: Any, label: str, notes: list[str]) -> dict[str, Any]:
    """A feature's geometry as a valid (Multi)Polygon mapping: refused (naming ``label``) when
    it is no polygon, cannot be read or has a vertex that is not a finite number (the unit
    would vanish from the statistics); repaired with shapely's make_valid when invalid (a
    self-intersection, say), with a note."""
    import shapely
    from shapely.geometry import mapping, shape

    kind = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
    if kind not in ("Polygon", "MultiPolygon"):
        raise InputError(f"{label}: a {kind} geometry, expected a Polygon or MultiPolygon")
    try:
        with np.errstate(invalid="ignore"):  # NaN vertices: refused below
            g = shape(geom)
        coords = shapely.get_coordinates(g)
    except (RecursionError, Exception) as exc:
        raise InputError(f"{label}: not a readable polygon ({exc})") from None
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{label}: vertex {k + 1} is ({coords[k, 0]:g}, {coords[k, 1]:g}); every vertex needs "
            "finite coordinates (the unit would vanish from the statistics)"
        )
    if g.is_empty:
        raise InputError(f"{label}: an empty polygon")
    if not g.is_valid:
        reason = shapely.is_valid_reason(g)
        fixed = shapely.make_valid(g)
        parts = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
        polygons = [q for p in parts for q in shapely.get_parts(p)]
        if not polygons or shapely.MultiPolygon(polygons).area == 0:
            raise InputError(f"{label}: an invalid polygon ({reason}) without area")
        g = polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
        note = f"{label}: invalid polygon ({reason}) repaired with make_valid"
        if note not in notes:
            notes.append(note)
    return dict(mapping(g))


def _plain(value: Any) -> Any:
    """A field value as a plain Python value (numpy scalars from pyogrio)."""
    return value.item() if isinstance(value, np.generic) else value


def _geojson(path: Path) -> tuple[list[dict[str, Any]], Optional[CRS]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as GeoJSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: cannot be read as GeoJSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a GeoJSON FeatureCollection, Feature or geometry")
    crs = CRS.from_epsg(4326)
    member = data.get("crs")
    props = member.get("properties") if isinstance(member, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if name:
        try:
            crs = CRS.from_user_input(name)
        except Exception as exc:
            raise InputError(f"{path}: unknown crs {name!r} ({exc})") from None
    if data.get("type") == "FeatureCollection":
        features = data.get("features") or []
        if not isinstance(features, list):
            raise InputError(f"{path}: 'features' is not a list")
    elif data.get("type") == "Feature":
        features = [data]
    elif "coordinates" in data or data.get("type") == "GeometryCollection":
        features = [{"type": "Feature", "properties": {}, "geometry": data}]
    else:
        raise InputError(f"{path}: not a GeoJSON FeatureCollection, Feature or geometry")
    return features, crs
