"""A STAC 1.0 item describing the layers of a gsocseq run (written by hand: no dependency).

The item follows the STAC 1.0.0 item specification with the projection (v1.1.0) and raster
(v1.1.0) extensions: one asset per output layer (href relative to the item's folder, role
``data``, title = the band description, ``raster:bands`` with nodata, data type and unit), the
run summary as a ``metadata`` asset, ``bbox`` and ``geometry`` in WGS84 longitude/latitude from
the grid, ``proj:epsg`` / ``proj:shape`` / ``proj:transform`` / ``proj:bbox`` of the grid, and a
time range ``start_datetime`` (1 January of the t0 year) .. ``end_datetime`` (31 December of
the final year) with ``datetime`` null.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import rasterio
from rasterio.warp import transform_geom

from gsocseq import products, writing

STAC_VERSION = "1.0.0"
PROJECTION_EXT = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
RASTER_EXT = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
#: fields every STAC 1.0 item must have
REQUIRED_ITEM_FIELDS = (
    "type",
    "stac_version",
    "id",
    "geometry",
    "bbox",
    "properties",
    "links",
    "assets",
)


def _iso(year: int, end: bool) -> str:
    moment = _dt.datetime(year, 12, 31, 23, 59, 59) if end else _dt.datetime(year, 1, 1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _footprint(ds: rasterio.io.DatasetReader) -> dict[str, Any]:
    """The grid's outline as a GeoJSON polygon in EPSG:4326 (edges densified, 16 points)."""
    left, bottom, right, top = ds.bounds
    n = 16
    ring: list[tuple[float, float]] = []
    ring += [(left + (right - left) * i / n, bottom) for i in range(n)]
    ring += [(right, bottom + (top - bottom) * i / n) for i in range(n)]
    ring += [(right - (right - left) * i / n, top) for i in range(n)]
    ring += [(left, top - (top - bottom) * i / n) for i in range(n)]
    ring.append(ring[0])
    geom: dict[str, Any] = {"type": "Polygon", "coordinates": [ring]}
    if ds.crs is None:
        raise ValueError(f"{ds.name}: the grid has no CRS")
    epsg = ds.crs.to_epsg()
    if epsg != 4326:
        geom = transform_geom(ds.crs, "EPSG:4326", geom)
    coords = [[[round(float(x), 9), round(float(y), 9)] for x, y in geom["coordinates"][0]]]
    return {"type": "Polygon", "coordinates": coords}


def build_item(
    item_dir: str | os.PathLike[str],
    name: str,
    layers: Sequence[str | os.PathLike[str]],
    extra_assets: Optional[dict[str, dict[str, Any]]] = None,
    t0_year: Optional[int] = None,
    final_year: Optional[int] = None,
    properties: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """A STAC item (dict) for the raster ``layers`` (paths), hrefs relative to ``item_dir``.

    ``t0_year`` .. ``final_year`` (calendar years) give ``start_datetime``/``end_datetime``;
    without them the item's ``datetime`` is the newest layer's modification time.
    ``extra_assets`` (key -> asset dict with an absolute or relative ``href``) are added as
    they are, their hrefs made relative to ``item_dir``.
    """
    item_dir = Path(item_dir)
    if not layers:
        raise ValueError("no layers to describe")
    paths = [Path(p) for p in layers]
    with rasterio.open(paths[0]) as ds:
        geometry = _footprint(ds)
        epsg = ds.crs.to_epsg()
        grid = {
            "proj:epsg": epsg,
            "proj:shape": [ds.height, ds.width],
            "proj:transform": [
                ds.transform.a,
                ds.transform.b,
                ds.transform.c,
                ds.transform.d,
                ds.transform.e,
                ds.transform.f,
            ],
            "proj:bbox": [float(v) for v in ds.bounds],
        }
        if epsg is None:
            grid["proj:wkt2"] = ds.crs.to_wkt()
    xs = [c[0] for c in geometry["coordinates"][0]]
    ys = [c[1] for c in geometry["coordinates"][0]]
    bbox = [min(xs), min(ys), max(xs), max(ys)]

    assets: dict[str, dict[str, Any]] = {}
    newest = 0.0
    for path in paths:
        with rasterio.open(path) as ds:
            description = ds.descriptions[0] or path.stem
            units = ds.units[0] if ds.units else None
            band: dict[str, Any] = {"data_type": ds.dtypes[0]}
            if ds.nodata is not None:
                band["nodata"] = (
                    float(ds.nodata) if ds.dtypes[0].startswith("float") else int(ds.nodata)
                )
            if units:
                band["unit"] = units
            if ds.crs is None or ds.crs.to_epsg() != epsg or ds.shape != tuple(grid["proj:shape"]):
                raise ValueError(f"{path}: not on the grid of {paths[0].name}")
        newest = max(newest, path.stat().st_mtime)
        parsed = products.parse(path.name, name)
        key = parsed.stem if parsed is not None else path.stem
        assets[key] = {
            "href": Path(os.path.relpath(path, item_dir)).as_posix(),
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "title": description,
            "roles": ["data"],
            "raster:bands": [band],
        }
    for key, asset in (extra_assets or {}).items():
        asset = dict(asset)
        asset["href"] = Path(os.path.relpath(asset["href"], item_dir)).as_posix()
        assets[key] = asset

    props: dict[str, Any] = dict(properties or {})
    if t0_year is not None and final_year is not None:
        props["datetime"] = None
        props["start_datetime"] = _iso(t0_year, end=False)
        props["end_datetime"] = _iso(final_year, end=True)
    else:
        moment = _dt.datetime.fromtimestamp(newest, tz=_dt.timezone.utc)
        props["datetime"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    props.update(grid)
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [PROJECTION_EXT, RASTER_EXT],
        "id": products.stac_id(name),
        "geometry": geometry,
        "bbox": bbox,
        "properties": props,
        "links": [],
        "assets": assets,
    }


def check_item(item: dict[str, Any]) -> list[str]:
    """Structural problems of a STAC 1.0 item (empty list = none): the required fields, their
    types, the datetime rule, asset hrefs, and the bbox/geometry shapes."""
    problems = [f"missing field {f!r}" for f in REQUIRED_ITEM_FIELDS if f not in item]
    if problems:
        return problems
    if item["type"] != "Feature":
        problems.append("type is not 'Feature'")
    if not isinstance(item["id"], str) or not item["id"]:
        problems.append("id is not a non-empty string")
    bbox = item["bbox"]
    if not (isinstance(bbox, list) and len(bbox) in (4, 6)):
        problems.append("bbox is not a list of 4 or 6 numbers")
    elif bbox[0] > bbox[2] or bbox[1] > bbox[3]:
        problems.append("bbox is not (west, south, east, north)")
    geometry = item["geometry"]
    if not isinstance(geometry, dict) or "type" not in geometry or "coordinates" not in geometry:
        problems.append("geometry is not a GeoJSON geometry")
    props = item["properties"]
    if not isinstance(props, dict) or "datetime" not in props:
        problems.append("properties has no datetime")
    elif props["datetime"] is None and not (
        props.get("start_datetime") and props.get("end_datetime")
    ):
        problems.append("datetime is null without start_datetime and end_datetime")
    if not isinstance(item["links"], list):
        problems.append("links is not a list")
    if not isinstance(item["assets"], dict):
        problems.append("assets is not an object")
    else:
        for key, asset in item["assets"].items():
            if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
                problems.append(f"asset {key!r} has no href")
    return problems


def write_item(item: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``item`` as indented JSON; return the path."""
    path = Path(path)
    with writing.replacing(path) as tmp:
        tmp.write_text(json.dumps(item, indent=2) + "\n", encoding="utf-8")
    return path
