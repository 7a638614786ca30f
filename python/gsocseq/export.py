"""``gsocseq export --fao ISO3``: a run's layers as the GSP Secretariat receives them (METHOD.md
7, "FAO delivery"; manual ch. 13 and Annex II).

- The 29 mandatory products named ``{ISO3}_GSOCseq_{product}.tif`` on the GSP template grid
  (EPSG:4326, 1/120 degree, cells aligned to whole multiples of 1/120 degree from -180/90). A run
  already on that grid is copied value for value; any other grid is resampled bilinearly (the
  resampling of the Secretariat's own mosaic script), each pixel keeping a value only where the
  run's pixel nearest to its centre has one, so that no pixel the run left without a value (not
  modelled, or masked by the QA step) gets one from its neighbours.
- One continuous surface: pixels the national layers leave out by an exclusion rule (SOC > 200
  t C/ha, sand > 90 %, EC > 4 dS/m) are delivered with values where the run kept them, and
  ``{ISO3}_GSOCseq_ExclusionMask.tif`` says which rule excluded which pixel (bit 1 SOC, 2 sand,
  4 EC; 0 none).
- An area across the antimeridian is wrapped into -180..180: where one grid would have to span
  the globe, each layer is two files, ``..._east.tif`` (the eastern hemisphere, up to 180) and
  ``..._west.tif`` (from -180).
- The Annex II QA protocol (:mod:`gsocseq.qa_protocol`) on the delivered files, as a CSV table;
  the land-use layer (nearest neighbour) for its step 3; a manifest (file list, sizes, SHA-256
  checksums, CRS, grid, gsocseq version, the run's options, the protocol) and ``SHA256SUMS``
  (``sha256sum -c``); and one zip of it all, flat, as the Secretariat's mosaic script expects.

Everything is written into a staging folder and renamed into place once complete and checked.
Memory is bounded by the window, not by the map.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import json
import math
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window

from gsocseq import __version__, products, writing
from gsocseq.checkpoint import check_finished
from gsocseq.classes import DEFAULT_MODELLED
from gsocseq.config import Config
from gsocseq.errors import InputError, OutputError
from gsocseq.folder import run_config, run_folder, run_summary, write_errors
from gsocseq.gdalcache import cache_env
from gsocseq.qa_protocol import (
    GRID_TOLERANCE,
    TEMPLATE_RES,
    Protocol,
    fao_layers,
    protocol,
    template_grid_problem,
)
from gsocseq.rasters import windows

__all__ = ["Export", "Part", "export_fao", "template_parts", "verify"]

#: template cells in 360 degrees of longitude and 180 of latitude
GLOBE_COLS = 360 * 120
GLOBE_ROWS = 180 * 120
NODATA = products.NODATA
LAND_USE_NODATA = products.LAND_USE_NODATA
#: the exclusion mask's nodata (pixels the run did not model)
EXCLUSION_NODATA = products.EXCLUSION_NODATA
BLOCK = 512
#: errors of a full disk (or a file size limit)
_FULL = (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC))
#: the lock file of the folder that receives a delivery (one export at a time writes there)
EXPORT_LOCK_NAME = ".gsocseq-export.lock"
#: GDAL's block cache (MiB) of the passes over all layers at once (filling in the excluded
#: pixels, the QA protocol): each tile is read (written) whole in one window and not wanted
#: again; GDAL's default (5 % of the RAM) filled up with them, growing with the map
WINDOW_CACHE_MIB = 8
MANIFEST_FORMAT = "gsocseq FAO GSOCseq submission 1"
TEMPLATE_CRS = CRS.from_epsg(4326)


@dataclass(frozen=True)
class Part:
    """One file grid of the delivery on the template: ``cols`` template columns from
    ``col`` (0 at -180 degrees), ``rows`` rows from ``row`` (0 at 90 degrees); ``shift``: the
    multiple of 360 degrees between the part's longitudes and the source's (a source in
    EPSG:4326 given in 0..360); ``suffix``: "" or "_east"/"_west"."""

    col: int
    row: int
    cols: int
    rows: int
    shift: int = 0
    suffix: str = ""

    @property
    def transform(self) -> Affine:
        """The part's transform on the template (longitudes in -180..180)."""
        r = TEMPLATE_RES
        return Affine(r, 0.0, -180.0 + self.col * r, 0.0, -r, 90.0 - self.row * r)

    @property
    def source_frame(self) -> Affine:
        """The same grid with the longitudes of the source (``shift`` x 360 degrees)."""
        t = self.transform
        return Affine(t.a, 0.0, t.c + 360.0 * self.shift, 0.0, t.e, t.f)


def template_parts(ds: rasterio.io.DatasetReader) -> tuple[str, list[Part]]:
    """How a run's grid goes onto the template: ("copied" | "resampled", parts). A grid whose
    longitudes run past 180 (or -180) is wrapped; two parts where it crosses the antimeridian."""
    r = TEMPLATE_RES
    geographic = ds.crs is not None and ds.crs.to_epsg() == 4326
    if geographic and template_grid_problem(ds) is None:
        method = "copied"
        t = ds.transform
        c0 = round((t.c + 180.0) / r)
        r0 = round((90.0 - t.f) / r)
        c1, r1 = c0 + ds.width, r0 + ds.height
    else:
        method = "resampled"
        if ds.crs is None:
            raise InputError(
                f"{ds.name}: the layers have no CRS; they cannot be put on the template"
            )
        left, bottom, right, top = ds.bounds
        if geographic:
            west, south, east, north = left, bottom, right, top
        else:
            west, south, east, north = transform_bounds(
                ds.crs, CRS.from_epsg(4326), left, bottom, right, top, densify_pts=21
            )
            if west > east:  # the bounds cross the antimeridian (GDAL's convention)
                east += 360.0
        tol = GRID_TOLERANCE
        c0 = math.floor((west + 180.0) / r + tol)
        c1 = math.ceil((east + 180.0) / r - tol)
        r0 = math.floor((90.0 - north) / r + tol)
        r1 = math.ceil((90.0 - south) / r - tol)
    r0, r1 = max(r0, 0), min(r1, GLOBE_ROWS)
    if c1 - c0 > GLOBE_COLS:
        raise InputError(f"{ds.name}: the layers span more than 360 degrees of longitude")
    if r1 <= r0 or c1 <= c0:
        raise InputError(f"{ds.name}: the layers lie outside -90..90 degrees of latitude")
    # wrap: the first column into 0..GLOBE_COLS (the source's frame shifted by k x 360)
    k = math.floor(c0 / GLOBE_COLS)
    start = c0 - k * GLOBE_COLS
    width = c1 - c0
    if not geographic:
        k = 0  # a projected source is sampled at longitudes in -180..180 directly
    if start + width <= GLOBE_COLS:
        return method, [Part(start, r0, width, r1 - r0, k)]
    east_cols = GLOBE_COLS - start
    return method, [
        Part(start, r0, east_cols, r1 - r0, k, products.EAST),
        Part(0, r0, width - east_cols, r1 - r0, k + 1 if geographic else 0, products.WEST),
    ]


def part_name(file_name: str, part: Part) -> str:
    """``file_name`` (``...tif``) of a layer in ``part``."""
    return products.part_file(file_name, part.suffix)


# ----------------------------------------------------------------------------- writing


def _profile(part: Part, dtype: str, nodata: float) -> dict[str, Any]:
    return {
        "driver": "GTiff",
        "width": part.cols,
        "height": part.rows,
        "count": 1,
        "dtype": dtype,
        "crs": CRS.from_epsg(4326),
        "transform": part.transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        # a temporary (converted to the COG): compressed fast, as the run's temporaries
        **writing.temporary_compression(),
        "BIGTIFF": "IF_SAFER",
    }


def _copy_windows(src: rasterio.io.DatasetReader, part: Part) -> Iterator[tuple[Window, Window]]:
    """(window of the part, window of the source) pairs of a copied part."""
    t = src.transform
    r = TEMPLATE_RES
    src_c0 = round((t.c + 180.0) / r) - part.shift * GLOBE_COLS
    src_r0 = round((90.0 - t.f) / r)
    for w in windows(part.rows, part.cols, BLOCK):
        yield (
            w,
            Window(part.col + w.col_off - src_c0, part.row + w.row_off - src_r0, w.width, w.height),
        )


def _values(
    src: rasterio.io.DatasetReader,
    part: Part,
    method: str,
    categorical: bool,
    nodata: float,
) -> Iterator[tuple[Window, np.ndarray]]:
    """The part's values window by window: copied, or resampled (bilinear, kept only where the
    nearest source pixel has a value; nearest for categorical layers)."""
    if method == "copied":
        for w, sw in _copy_windows(src, part):
            yield w, src.read(1, window=sw, boundless=True, fill_value=nodata)
        return
    src_nodata = src.nodata if src.nodata is not None else nodata
    frame = part.source_frame
    for w in windows(part.rows, part.cols, BLOCK):
        transform = Affine(
            frame.a, 0.0, frame.c + w.col_off * frame.a, 0.0, frame.e, frame.f + w.row_off * frame.e
        )
        shape = (int(w.height), int(w.width))
        out = _warp(src, transform, shape, src_nodata, Resampling.nearest)
        if not categorical:
            near = out
            out = _warp(src, transform, shape, src_nodata, Resampling.bilinear)
            out[near == src_nodata] = src_nodata
        if src_nodata != nodata:
            out = np.where(out == src_nodata, nodata, out)
        yield w, out


def _warp(
    src: rasterio.io.DatasetReader,
    transform: Affine,
    shape: tuple[int, int],
    nodata: float,
    resampling: Resampling,
) -> np.ndarray:
    """Band 1 of ``src`` onto a window of the template (``transform``, ``shape``). GDAL reads
    the source windows it needs; a WarpedVRT gave other bilinear values in a projected CRS
    across the antimeridian than this (and than the interpolation computed by hand)."""
    out = np.full(shape, nodata, dtype=src.dtypes[0])
    reproject(
        rasterio.band(src, 1),
        out,
        src_nodata=nodata,
        dst_transform=transform,
        dst_crs=TEMPLATE_CRS,
        dst_nodata=nodata,
        resampling=resampling,
    )
    return out


def _write_layer(
    src_path: Path,
    target: Path,
    part: Part,
    method: str,
    *,
    dtype: str = "float32",
    nodata: float = NODATA,
    categorical: bool = False,
    description: str = "",
    units: str = "",
    tags: Optional[dict[str, str]] = None,
    legend: bool = False,
) -> None:
    """One layer of one part as a Cloud Optimized GeoTIFF ``target`` (a tiled temporary
    converted to COG and checked whole); ``legend``: the land use's description and class
    names (:func:`gsocseq.writing.set_land_use_legend`)."""
    tmp = target.with_name(f".{target.name}.part.tif")
    with rasterio.open(src_path) as src, writing.gdal_writes(tmp):
        with rasterio.open(tmp, "w", **_profile(part, dtype, nodata)) as dst:
            for w, values in _values(src, part, method, categorical, nodata):
                dst.write(values.astype(dtype), 1, window=w)
            if legend:
                writing.set_land_use_legend(dst)
            if description:
                dst.set_band_description(1, description)
            if units:
                dst.units = (units,)
            dst.update_tags(**(tags or {}))
    writing.check_written(tmp)
    with rasterio.Env(GDAL_NUM_THREADS=1), writing.gdal_writes(target):
        writing.to_cog(tmp, target, predictor="3" if dtype == "float32" else "2")
    writing.check_written(target)
    tmp.unlink()


def _bands_by_key(path: Path) -> dict[str, int]:
    """Band (1-based) of each layer key in the excluded values' file of a run."""
    with rasterio.open(path) as ds:
        return {d: b for b, d in enumerate(ds.descriptions, start=1) if d}


def _band_description(path: Path) -> str:
    with rasterio.open(path) as ds:
        return ds.descriptions[0] or ""


def _fill(layers: dict[str, tuple[Path, Path]], excluded: Path, bands: dict[str, int]) -> None:
    """For each layer key, ``(national, target)``: ``target`` is the layer ``national`` with
    the values of the excluded pixels (band ``bands[key]`` of ``excluded``) where it has none:
    the continuous surface, on the run's grid. One pass over the windows: the excluded values'
    file (a COG with pixel-interleaved tiles, every band in each) is opened once and each of
    its tiles decoded once for all layers, not once per layer (29 times the whole file);
    memory: every band of one window and a tile of each target being written."""
    keys = list(layers)
    with ExitStack() as stack, writing.gdal_writes(layers[keys[0]][1].parent):
        stack.enter_context(rasterio.Env(**cache_env(WINDOW_CACHE_MIB)))
        ex = stack.enter_context(rasterio.open(excluded))
        srcs = {k: stack.enter_context(rasterio.open(layers[k][0])) for k in keys}
        dsts: dict[str, rasterio.io.DatasetWriter] = {}
        compression = writing.temporary_compression()
        for k in keys:
            src = srcs[k]
            profile = dict(src.profile, driver="GTiff", tiled=True, blockxsize=256, blockysize=256)
            profile.update(compression, BIGTIFF="IF_SAFER")
            dsts[k] = stack.enter_context(rasterio.open(layers[k][1], "w", **profile))
        first = srcs[keys[0]]
        indexes = [bands[k] for k in keys]
        for w in windows(first.height, first.width, BLOCK):
            every = ex.read(indexes, window=w)  # each tile decoded once, for all layers
            for i, k in enumerate(keys):
                src = srcs[k]
                v = src.read(1, window=w)
                e = every[i]
                hole = (v == src.nodata) & (e != ex.nodata)
                v[hole] = e[hole]
                dsts[k].write(v, 1, window=w)
        for k in keys:
            dsts[k].update_tags(**srcs[k].tags())
            dsts[k].set_band_description(1, srcs[k].descriptions[0] or "")
    for k in keys:  # a full disk may leave a tile unwritten with only GDAL's message
        writing.check_written(layers[k][1])


# ----------------------------------------------------------------------------- the run


@dataclass
class _Run:
    dir: Path
    name: str
    summary: dict[str, Any]

    @property
    def options(self) -> dict[str, Any]:
        return self.summary.get("options") or {}

    def layer(self, file_name: str) -> Path:
        return self.dir / file_name


def _load_run(run_dir: Path) -> _Run:
    _, name, summary = run_summary(run_dir)
    return _Run(run_dir, name, summary)


# ----------------------------------------------------------------------------- export


@dataclass
class Export:
    """What :func:`export_fao` wrote."""

    folder: Path
    zip: Path
    files: list[Path]
    method: str  # "copied" or "resampled"
    parts: list[Part]
    protocol: Protocol
    warnings: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _file_entry(path: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": path.name,
        "bytes": path.stat().st_size,
        "sha256": _sha256(path),
    }
    if path.suffix == ".tif":
        with rasterio.open(path) as ds:
            entry.update(
                crs=f"EPSG:{ds.crs.to_epsg()}" if ds.crs and ds.crs.to_epsg() else str(ds.crs),
                width=ds.width,
                height=ds.height,
                bounds=[round(v, 9) for v in ds.bounds],
                resolution_degrees=[ds.res[0], ds.res[1]],
                dtype=ds.dtypes[0],
                nodata=ds.nodata,
                description=ds.descriptions[0] or "",
                units=(ds.units[0] if ds.units else "") or "",
            )
    return entry


def export_fao(
    run: Union[str, os.PathLike],
    iso3: str,
    *,
    output: Optional[Union[str, os.PathLike]] = None,
    overwrite: bool = False,
    wait: bool = False,
) -> Export:
    """Export the run in ``run`` (its output folder or its configuration) for the GSP
    Secretariat under the ISO 3166-1 alpha-3 code ``iso3`` into ``output`` (default
    ``{run folder}/FAO_{ISO3}``): see the module's description. An existing ``output`` is
    replaced only with ``overwrite``. The run folder is held shared meanwhile (a run writing it
    makes this wait with ``wait``, else raises :class:`~gsocseq.folder.FolderInUse`)."""
    from gsocseq.folder import FolderLock

    iso = iso3.strip().upper()
    if not (len(iso) == 3 and iso.isalpha() and iso.isascii()):
        raise InputError(
            f"--fao {iso3!r}: expected the ISO 3166-1 alpha-3 code of the country (three "
            "letters, e.g. KEN)"
        )
    config = run_config(run)
    run_dir = config.output_dir if config is not None else run_folder(run)
    out = Path(output) if output is not None else run_dir / products.fao_folder(iso)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{out.parent}: cannot create it ({exc.strerror}); choose another folder"
        ) from None
    # one export at a time into a folder's deliveries: two at once into one ``out`` both found
    # no delivery there, and the second to finish failed on the first's folder (exit 1) or,
    # as its replacement, took it away without --overwrite
    into = FolderLock(out.parent, wait=wait, what="export", name=EXPORT_LOCK_NAME)
    with FolderLock(run_dir, shared=True, wait=wait, what="export"), into:
        # a full disk (or a file size limit): exit 2 naming the folder and the space needed
        # (a traceback before); the hidden stage removed, an earlier delivery untouched
        with write_errors(out.parent, lambda: _export_bytes(run_dir), "the export", ""):
            return _export(run_dir, iso, out, overwrite, config)


def _export_bytes(run_dir: Path) -> int:
    """About the space an export needs at most: the run's rasters three times over (the
    temporaries, the COGs and the zip)."""
    return 3 * sum(p.stat().st_size for p in Path(run_dir).glob("*.tif"))


def _export(
    run_dir: Path, iso: str, out: Path, overwrite: bool, config: Optional[Config] = None
) -> Export:
    run = _load_run(run_dir)
    try:
        out.resolve()  # a symlink loop: RuntimeError (Python < 3.13), before any work
    except (OSError, RuntimeError) as exc:
        raise OutputError(f"{out}: cannot be resolved ({exc}); choose another folder") from None
    if out.exists() and not overwrite:
        raise InputError(f"{out}: exists already (use --overwrite to replace it)")
    if out.exists():
        _check_replaceable(out)
    layers = fao_layers()
    missing = [
        lay.file_name(run.name) for lay in layers if not run.layer(lay.file_name(run.name)).exists()
    ]
    if missing:
        raise InputError(
            f"{run_dir}: the run has no {missing[0]}"
            + (f" (and {len(missing) - 1} more of the 29 FAO products)" if len(missing) > 1 else "")
            + "; FAO asks for all 29: run with the default scenarios (SSM1-3) and uncertainty "
            '= "minmax"'
        )
    land_use = run.layer(products.land_use_file(run.name))
    if not land_use.exists():
        raise InputError(f"{land_use}: not found (the run's land-use layer)")
    # the layers as the run wrote them; given the configuration, the run of it as it is now
    shipped = [lay.file_name(run.name) for lay in layers] + [
        products.land_use_file(run.name),
        products.exclusion_mask_file(run.name),
        products.excluded_values_file(run.name),
    ]
    check_finished(run_dir, run.name, shipped, "export", config)
    warnings: list[str] = []
    counts = run.summary.get("counts") or {}
    excluded = {k: v for k, v in counts.items() if k.startswith("excluded:") and v}
    mask = run.layer(products.exclusion_mask_file(run.name))
    excluded_values = run.layer(products.excluded_values_file(run.name))
    if excluded and not excluded_values.exists():
        total = sum(excluded.values())
        warnings.append(
            f"{total} pixels excluded by the run ({', '.join(k[9:] for k in excluded)}) have no "
            "value in its layers and none here; FAO asks one continuous surface (the "
            "Secretariat masks exclusions itself): run it again with this version of gsocseq "
            "(which models excluded pixels) or with [exclusions] enabled = false"
        )
    bands = _bands_by_key(excluded_values) if excluded and excluded_values.exists() else {}
    with rasterio.open(run.layer(layers[0].file_name(run.name))) as ds:
        method, parts = template_parts(ds)
        for lay in layers[1:]:
            with rasterio.open(run.layer(lay.file_name(run.name))) as other:
                if (other.crs, other.transform, other.shape) != (ds.crs, ds.transform, ds.shape):
                    raise InputError(f"{other.name}: not on the grid of the run's other layers")
    options = run.options
    tags = {
        "producer": f"gsocseq {__version__}",
        "gsocseq_mode": str(run.summary.get("mode", "")),
        "gsocseq_run": run.name,
        "gsocseq_grid": f"GSP template, {method}",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(writing.new_folder(out.parent, f".{out.name}.part-"))
    try:
        files: list[Path] = []
        by_part: list[dict[str, Optional[Path]]] = [{} for _ in parts]
        land_use_parts: list[Path] = []
        filled = {  # the excluded pixels' values filled in, every layer in one pass
            lay.key: (run.layer(lay.file_name(run.name)), stage / f".{lay.key}")
            for lay in layers
            if lay.key in bands
        }
        if filled:
            _fill(filled, excluded_values, bands)
        for k, part in enumerate(parts):
            for lay in layers:
                target = stage / part_name(lay.file_name(iso), part)
                source = run.layer(lay.file_name(run.name))
                if lay.key in bands:
                    source = stage / f".{lay.key}"
                _write_layer(
                    source,
                    target,
                    part,
                    method,
                    description=lay.description,
                    units=lay.units,
                    tags=tags,
                )
                by_part[k][lay.key] = target
                files.append(target)
            target = stage / part_name(products.land_use_file(iso), part)
            _write_layer(
                land_use,
                target,
                part,
                method,
                dtype=products.LAND_USE_DTYPE,
                nodata=LAND_USE_NODATA,
                legend=True,
                categorical=True,
                description="FAO land-use class of the forward runs (modelled pixels)",
                tags=tags,
            )
            land_use_parts.append(target)
            files.append(target)
            if mask.exists():
                target = stage / part_name(products.exclusion_mask_file(iso), part)
                _write_layer(
                    mask,
                    target,
                    part,
                    method,
                    dtype="uint8",
                    nodata=EXCLUSION_NODATA,
                    categorical=True,
                    description=_band_description(mask),
                    tags=tags,
                )
                files.append(target)
        for key in bands:
            (stage / f".{key}").unlink(missing_ok=True)
        modelled = options.get("modelled_classes") or list(DEFAULT_MODELLED)
        with rasterio.Env(**cache_env(WINDOW_CACHE_MIB)):
            result = protocol(
                by_part,
                land_use_parts,
                iso,
                [int(c) for c in modelled],
                template=True,
                years=options.get("years"),
                depth=options.get("depth"),
            )
        qa_csv = result.write_csv(stage / products.qa_protocol_file(iso))
        files.append(qa_csv)
        manifest = {
            "format": MANIFEST_FORMAT,
            "iso3": iso,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "gsocseq_version": __version__,
            "run": {
                "name": run.name,
                "mode": run.summary.get("mode"),
                "gsocseq_version": run.summary.get("version"),
                "years": options.get("years"),
                "spinup": options.get("spinup"),
                "uncertainty": options.get("uncertainty"),
                "scenarios": options.get("scenarios"),
                "modelled_classes": modelled,
                "exclusions_in_the_run": excluded,
            },
            "grid": {
                "crs": "EPSG:4326",
                "resolution_degrees": TEMPLATE_RES,
                "template": "GSP 30 arc-second grid, cells aligned to multiples of 1/120 "
                "degree from -180/90",
                "method": "values copied from the run's grid"
                if method == "copied"
                else "bilinear resampling of the run's layers (a pixel keeps a value only "
                "where the run's pixel nearest to its centre has one)",
                "parts": [{"suffix": p.suffix, "bounds": list(_bounds(p))} for p in parts],
            },
            "qa_protocol": result.to_dict(),
            "warnings": warnings,
            "files": [_file_entry(p) for p in files],
        }
        manifest_path = stage / products.manifest_file(iso)
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        files.append(manifest_path)
        sums = stage / products.checksums_file(iso)
        sums.write_text(
            "".join(f"{_sha256(p)}  {p.name}\n" for p in files), encoding="utf-8", newline="\n"
        )
        files.append(sums)
        zip_path = stage / products.submission_file(iso)
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
            for p in files:
                z.write(p, arcname=p.name)
        problems = verify(zip_path)
        if problems:  # pragma: no cover - a defect of export itself
            raise InputError(f"{zip_path}: the export does not verify: {problems[0]}")
        _publish(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return Export(
        folder=out,
        zip=out / zip_path.name,
        files=[out / p.name for p in files],
        method=method,
        parts=parts,
        protocol=result,
        warnings=warnings,
    )


def _bounds(part: Part) -> tuple[float, float, float, float]:
    t = part.transform
    return (
        round(t.c, 9),
        round(t.f - part.rows * TEMPLATE_RES, 9),
        round(t.c + part.cols * TEMPLATE_RES, 9),
        round(t.f, 9),
    )


def _check_replaceable(out: Path) -> None:
    """Raise an :class:`OutputError` unless ``out`` holds an earlier delivery and nothing else
    (the files of its manifest, the manifest, checksums and zip), or nothing: ``--overwrite``
    replaces the folder whole, and must not remove what the user keeps there (a folder of
    other deliveries given as ``-o``, notes, a file)."""
    if not out.is_dir() or out.is_symlink():
        raise OutputError(
            f"{out}: not a folder of an earlier delivery; --overwrite replaces a delivery, "
            "nothing else: choose another folder (-o)"
        )
    ours: set[str] = set()
    for manifest in out.glob(products.MANIFEST_GLOB):
        try:
            listed = json.loads(manifest.read_text(encoding="utf-8"))
            if listed.get("format") == MANIFEST_FORMAT:
                ours |= {manifest.name, *(str(f["name"]) for f in listed.get("files", []))}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # not one of ours: its name stays foreign below
    for glob in (products.CHECKSUMS_GLOB, products.SUBMISSION_GLOB):
        ours |= {p.name for p in out.glob(glob) if p.is_file()}
    foreign = sorted(
        p.name + ("/" if p.is_dir() else "") for p in out.iterdir() if p.name not in ours
    )
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise OutputError(
            f"{out}: holds what an earlier delivery did not write ({shown}); --overwrite "
            "replaces a delivery folder whole and would remove them: move them, or choose "
            "another folder (-o)"
        )


def _publish(stage: Path, out: Path) -> None:
    """``stage`` renamed to ``out`` (an earlier ``out`` moved aside first, removed after)."""
    old: Optional[Path] = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        os.replace(stage, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def verify(path: Union[str, os.PathLike]) -> list[str]:
    """Check a delivery (the zip, or the folder) against its manifest: every file listed
    present with its size and SHA-256, on the CRS and grid listed, and nothing else but the
    manifest and SHA256SUMS. Returns the problems found (empty: it verifies)."""
    path = Path(path)
    problems: list[str] = []
    with ExitStack() as stack:
        if path.is_dir():
            folder = path
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            try:
                with zipfile.ZipFile(path) as z:
                    names = z.namelist()
                    bad = [n for n in names if "/" in n or "\\" in n or n.startswith(".")]
                    if bad:
                        return [f"{bad[0]}: not at the top of the zip"]
                    needed = sum(i.file_size for i in z.infolist())
                    try:
                        z.extractall(folder)
                    except OSError as exc:
                        if exc.errno not in _FULL:
                            raise
                        # the temporary folder, not the delivery: "does not verify" misled
                        raise OutputError(
                            f"{folder.parent}: no room to unpack {path.name} for checking "
                            f"({exc.strerror}; it needs {needed / 2**20:.0f} MiB): free some, "
                            "or set TMPDIR to a folder with room"
                        ) from None
            except (OSError, zipfile.BadZipFile) as exc:
                return [f"{path}: not a readable zip ({exc})"]
        manifests = sorted(folder.glob(products.MANIFEST_GLOB))
        if len(manifests) != 1:
            return [f"{path}: expected one {products.MANIFEST_GLOB}, found {len(manifests)}"]
        try:
            manifest = json.loads(manifests[0].read_text(encoding="utf-8"))
        except ValueError as exc:
            return [f"{manifests[0].name}: not JSON ({exc})"]
        if manifest.get("format") != MANIFEST_FORMAT:
            problems.append(f"{manifests[0].name}: unknown format {manifest.get('format')!r}")
        listed = {f["name"]: f for f in manifest.get("files", [])}
        for name, entry in listed.items():
            p = folder / name
            if not p.is_file():
                problems.append(f"{name}: listed in the manifest, missing")
                continue
            if p.stat().st_size != entry.get("bytes"):
                problems.append(
                    f"{name}: {p.stat().st_size} bytes, the manifest says {entry.get('bytes')}"
                )
            if _sha256(p) != entry.get("sha256"):
                problems.append(f"{name}: SHA-256 differs from the manifest")
            if "crs" in entry:
                with rasterio.open(p) as ds:
                    crs = f"EPSG:{ds.crs.to_epsg()}" if ds.crs and ds.crs.to_epsg() else str(ds.crs)
                    if crs != entry["crs"] or (ds.width, ds.height) != (
                        entry["width"],
                        entry["height"],
                    ):
                        problems.append(f"{name}: CRS or size differs from the manifest")
                    grid = template_grid_problem(ds)
                    if grid:
                        problems.append(f"{name}: not on the template grid ({grid})")
        extra = (
            {p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".zip"}
            - set(listed)
            - {manifests[0].name}
            - {n for n in (p.name for p in folder.glob(products.CHECKSUMS_GLOB))}
        )
        problems += [f"{name}: in the delivery but not in the manifest" for name in sorted(extra)]
    return problems
