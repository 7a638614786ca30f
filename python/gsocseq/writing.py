"""Writing a run's layers: each layer block by block into a tiled temporary GeoTIFF, then
converted to a Cloud Optimized GeoTIFF and renamed into place once checked whole; and any
other raster written under a temporary name (:func:`atomic_raster`).

Values arrive as float64 (the layers of :mod:`gsocseq.chain`) and are rounded to float32
once, here: no layer is derived from another float32 layer.
"""

from __future__ import annotations

import errno
import functools
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import numpy as np
import rasterio
import rasterio.shutil
from rasterio._err import CPLE_BaseError
from rasterio.errors import RasterioError
from rasterio.windows import Window

from gsocseq import classes, products
from gsocseq.errors import OutputError
from gsocseq.gdalcache import cache_env
from gsocseq.products import (
    EXCLUSION_NODATA,
    LAND_USE_DTYPE,
    LAND_USE_NODATA,
    NODATA,
    POOLS,
    Layer,
)

#: COG conversions at the same time at most (one per core up to this)
COG_WORKERS = 4
#: rows of a tile of the multi-band temporaries (the 32-band excluded values, the pools):
#: GDAL builds a COG's overviews from whole rows of tiles of every band, which with no block
#: cache are decoded again and again; with 256-row tiles that cost the excluded values 13 s
#: at 10^6 pixels and grew with the map's width (a 64 MiB cache: 5.7 s), with 16-row tiles
#: 4.5 s with no cache. The same COG bytes either way. (A multiple of 16: every block's rows.)
MULTIBAND_TILE_ROWS = 16
#: pixels a side of the tiles of the excluded values' COG (every other COG: 512). Its tiles are
#: pixel-interleaved, every band in each: GDAL holds about three copies of a decoded tile while
#: converting (the tile read, the tile encoded, libtiff's buffer), 32 MiB each at 512 pixels and
#: 32 bands: converting took 100 MiB over the run's base (160 MiB where a layer's values fill
#: the file; `--memory 256M` peaked at 263-293 MiB at 10^6 pixels), 27-29 MiB (60) with
#: 256-pixel tiles, and 10-30 % less CPU time (docs/scaling.md). The same values: `gsocseq
#: export --fao` reads the file by windows whatever its tiles.
EXCLUDED_BLOCK = 256
#: the TIFF predictor of the temporary layers: none (1). A run's layers are float32 values
#: of full precision, which the floating-point predictor (3) hardly shrinks under ZSTD (8 %
#: at 10^6 pixels; the excluded values, mostly nodata, are 3 times smaller without it), while
#: libtiff applies it byte by byte twice, writing the temporary and again reading it for the
#: COG: 20 % of the conversion's CPU time. The COGs (DEFLATE with their own predictor) are the
#: same bytes from either temporary: they are made of the values.
TEMPORARY_PREDICTOR = 1
#: keys of the files a writer writes besides the layers
LAND_USE, EXCLUSION, EXCLUDED, FLAGS = "landuse", "exclusion", "excluded", "flags"


@functools.cache
def temporary_compression() -> dict[str, object]:
    """Creation options of the temporary tiled layers: ZSTD level 1 where GDAL writes ZSTD
    (the rasterio wheels do; checked once on a one-pixel file in memory), else DEFLATE."""
    from affine import Affine
    from rasterio.io import MemoryFile

    profile = {
        "driver": "GTiff",
        "width": 1,
        "height": 1,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": Affine(1.0, 0.0, 0.0, 0.0, -1.0, 1.0),
        "compress": "zstd",
    }
    try:
        with MemoryFile() as mem:
            with mem.open(**profile) as ds:
                ds.write(np.zeros((1, 1, 1), dtype=np.float32))
            with mem.open() as ds:
                zstd = "ZSTD" in str(ds.compression).upper()
    except Exception:  # pragma: no cover - a GDAL without ZSTD
        zstd = False
    return {"compress": "zstd", "zstd_level": 1} if zstd else {"compress": "deflate"}


@contextmanager
def _gdal_writes(path: Path) -> Iterator[None]:
    """GDAL's errors while writing ``path`` as the OSError of a failed write (GDAL reports a
    full disk as its own error, not the system's)."""
    try:
        yield
    except (CPLE_BaseError, RasterioError) as exc:
        raise OSError(errno.EIO, f"GDAL: {exc}", str(path)) from None


#: for the writes of other modules (the FAO export)
gdal_writes = _gdal_writes


def check_written(path: Path) -> None:
    """Raise OSError (EIO) unless every tile of the GeoTIFF ``path`` (every band, every
    overview) lies inside the file: a write that failed without an error (GDAL reports some
    failures of a full disk only on stderr; a tile never written reads as nodata) is found
    here, before the file gets its final name. The file is synced to disk first (a full disk
    may show only then)."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())
        size = os.fstat(f.fileno()).st_size
    try:
        with rasterio.open(path) as ds:
            levels = len(ds.overviews(1))
            interleaved = (ds.interleaving is None) or ds.interleaving.name != "BAND"
            bands = [1] if interleaved else list(range(1, ds.count + 1))
        for level in [None, *range(levels)]:
            kw = {} if level is None else {"overview_level": level}
            with rasterio.open(path, **kw) as ds:
                for b in bands:
                    for (row, col), _ in ds.block_windows(b):
                        offset = ds.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=b)
                        count = ds.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=b)
                        if not offset or not count or int(offset) + int(count) > size:
                            raise OSError(
                                errno.EIO,
                                f"incomplete after writing (tile {row},{col} of band {b} "
                                "missing or past the end of the file)",
                                str(path),
                            )
    except (CPLE_BaseError, RasterioError) as exc:
        raise OSError(errno.EIO, f"unreadable after writing ({exc})", str(path)) from None


def set_land_use_legend(ds: rasterio.io.DatasetWriter) -> None:
    """The land-use layer's band description and class names (tags ``class_1`` ... and
    ``classes``). Its colours are in the QGIS style beside it (gsocseq.styles): the layer is
    int16 (METHOD.md section 7), and GeoTIFF colour tables exist only for unsigned bytes and
    16-bit integers."""
    ds.set_band_description(1, "FAO land-use class of the forward runs (modelled pixels)")
    ds.update_tags(
        1,
        classes="; ".join(f"{code} {name}" for code, name in sorted(classes.NAMES.items())),
        **{f"class_{code}": name for code, name in classes.NAMES.items()},
    )


def to_cog(source: Path, target: Path, predictor: str, blocksize: int = 512) -> None:
    """``source`` copied to the Cloud Optimized GeoTIFF ``target`` the way every layer is
    written: DEFLATE with ``predictor`` ("3" floating point, "2" integers), ``blocksize``-pixel
    blocks (512 but for the excluded values: :data:`EXCLUDED_BLOCK`), nearest-neighbour
    overviews."""
    rasterio.shutil.copy(
        source,
        target,
        driver="COG",
        compress="DEFLATE",
        predictor=predictor,
        overview_resampling="nearest",
        blocksize=blocksize,
    )


class LayerWriter:
    """Writes each layer block by block to a tiled temporary GeoTIFF, then converts it to a
    Cloud Optimized GeoTIFF under a bounded GDAL cache and renames it into place."""

    def __init__(
        self,
        out_dir: Path,
        prefix: str,
        master: rasterio.io.DatasetReader,
        layer_list: list[Layer],
        land_use: bool = True,
        tile: int = 256,
        exclusion: Optional[str] = None,
        excluded_layers: Sequence[Layer] = (),
        tags: Optional[dict[str, str]] = None,
        flags: Optional[str] = None,
        gdal_cache_mib: int = 256,
    ) -> None:
        """``exclusion``: the description of the exclusion mask to write (None: none);
        ``excluded_layers``: the layers whose values at the excluded pixels are written into
        the one file of :func:`~gsocseq.products.excluded_values_file`, a band each;
        ``tags``: the GeoTIFF tags of every file (provenance); ``flags``: the description of
        the per-pixel flags layer to write (None: none); ``gdal_cache_mib``: GDAL's block
        cache of the conversions to COGs (the run's memory budget)."""
        # tiles of the temporary files match the processing blocks: each tile written once
        tile = tile if tile <= 512 else 256
        self.gdal_cache_mib = gdal_cache_mib  # GDAL_CACHEMAX of the COG conversions
        self.out_dir = out_dir
        self.prefix = prefix
        self.layers = list(layer_list)
        self.excluded_layers = list(excluded_layers)
        self.tmp: dict[str, Path] = {}
        self.pixel_bytes: dict[str, int] = {}  # of each file, all bands: the larger converted first
        self.handles: dict[str, rasterio.io.DatasetWriter] = {}
        # held while a block is written: abort() never closes a file under a write
        self._writing = threading.Lock()
        base = {
            "driver": "GTiff",
            "width": master.width,
            "height": master.height,
            "crs": master.crs,
            "transform": master.transform,
            "tiled": True,
            "blockxsize": tile,
            "blockysize": tile,
            # temporaries only: ZSTD level 1 writes ~4x faster than DEFLATE at the same size
            # (the COGs themselves are DEFLATE); no predictor (:data:`TEMPORARY_PREDICTOR`)
            **temporary_compression(),
            "predictor": TEMPORARY_PREDICTOR,
            # a band's tiles hold that band only: the conversion to COG reads the bands one at
            # a time (the overviews), and a pixel-interleaved tile of the 32-band excluded
            # values would be decoded once for every band that a small cache cannot keep
            # (60-80 s for that file alone at 10^6 pixels, 5 s band-interleaved; the COGs
            # are the same bytes either way)
            "interleave": "band",
            "BIGTIFF": "IF_SAFER",
        }
        self.targets: dict[str, Path] = {}
        entries: list[tuple[str, str, Optional[Layer]]] = [
            (layer.key, layer.file_name(prefix), layer) for layer in self.layers
        ]
        if land_use:
            entries.append((LAND_USE, products.land_use_file(prefix), None))
        if exclusion is not None:
            entries.append((EXCLUSION, products.exclusion_mask_file(prefix), None))
        if self.excluded_layers:
            entries.append((EXCLUDED, products.excluded_values_file(prefix), None))
        if flags is not None:
            entries.append((FLAGS, products.flags_file(prefix), None))
        try:
            for key, name, layer in entries:
                tmp = out_dir / f".{name}.part.tif"
                self.tmp[key] = tmp
                self.targets[key] = out_dir / name
                if key == LAND_USE:
                    profile = dict(base, dtype=LAND_USE_DTYPE, nodata=LAND_USE_NODATA, count=1)
                elif key == EXCLUSION:
                    profile = dict(base, dtype="uint8", nodata=EXCLUSION_NODATA, count=1)
                elif key == FLAGS:
                    profile = dict(base, dtype="uint16", nodata=products.FLAGS_NODATA, count=1)
                elif key == EXCLUDED:
                    count = len(self.excluded_layers)
                    profile = dict(base, dtype="float32", nodata=NODATA, count=count)
                else:
                    assert layer is not None
                    profile = dict(base, dtype="float32", nodata=NODATA, count=layer.bands)
                if int(profile["count"]) > 1:
                    profile["blockysize"] = min(tile, MULTIBAND_TILE_ROWS)
                self.pixel_bytes[key] = int(profile["count"]) * np.dtype(profile["dtype"]).itemsize
                # a run killed while writing leaves a truncated temporary, which GDAL cannot
                # open to replace it: removed first
                tmp.unlink(missing_ok=True)
                with _gdal_writes(tmp):
                    ds = rasterio.open(tmp, "w", **profile)
                self.handles[key] = ds  # (closed by abort() if what follows fails)
                if key == LAND_USE:
                    set_land_use_legend(ds)
                elif key == EXCLUSION:
                    ds.set_band_description(1, exclusion or "")
                elif key == FLAGS:
                    ds.set_band_description(1, flags or "")
                elif key == EXCLUDED:
                    for b, lay in enumerate(self.excluded_layers, start=1):
                        ds.set_band_description(b, lay.key)
                    ds.units = tuple(lay.units for lay in self.excluded_layers)
                else:
                    assert layer is not None
                    if layer.bands == 5:
                        for b, pool in enumerate(POOLS, start=1):
                            ds.set_band_description(b, f"{pool}: {layer.description}")
                    else:
                        ds.set_band_description(1, layer.description or layer.product)
                    ds.units = tuple([layer.units] * layer.bands)
                ds.update_tags(**(tags or {"producer": "gsocseq"}))
        except BaseException:  # a signal (KeyboardInterrupt) too: no temporary left behind
            self.abort()
            raise

    def write(
        self,
        window: Window,
        rows: np.ndarray,
        cols: np.ndarray,
        values: dict[str, np.ndarray],
        land_use: np.ndarray,
        exclusion: Optional[np.ndarray] = None,
        masked: Optional[np.ndarray] = None,
        flags: Optional[np.ndarray] = None,
    ) -> None:
        """The values of the modelled pixels (``rows``, ``cols``) of ``window``, by layer
        key; ``exclusion``: their exclusion bits; ``masked``: those the national layers leave
        out (their values go to the excluded values' file); ``flags``: their flag bits."""
        with self._writing:
            if not self.handles:  # a write queued before abort() (or finish()) ran
                raise OutputError(f"{self.out_dir}: the layers are no longer open for writing")
            self._write(window, rows, cols, values, land_use, exclusion, masked, flags)

    def _write(
        self,
        window: Window,
        rows: np.ndarray,
        cols: np.ndarray,
        values: dict[str, np.ndarray],
        land_use: np.ndarray,
        exclusion: Optional[np.ndarray] = None,
        masked: Optional[np.ndarray] = None,
        flags: Optional[np.ndarray] = None,
    ) -> None:
        h, w = int(window.height), int(window.width)
        if masked is not None and not masked.any():
            masked = None
        excluded = (
            np.full((len(self.excluded_layers), h, w), NODATA, dtype=np.float32)
            if self.excluded_layers
            else None
        )
        band_of = {lay.key: b for b, lay in enumerate(self.excluded_layers)}
        for layer in self.layers:
            ds = self.handles[layer.key]
            v = values.get(layer.key)
            block = np.full((layer.bands, h, w), NODATA, dtype=np.float32)
            if v is not None and len(rows):
                vv = v.reshape(len(rows), -1).T  # (bands, n)
                f32 = vv.astype(np.float32)
                f32[~np.isfinite(vv)] = NODATA
                if masked is not None:
                    b = band_of.get(layer.key)
                    if excluded is not None and b is not None:
                        excluded[b, rows[masked], cols[masked]] = f32[0, masked]
                    f32[:, masked] = NODATA
                block[:, rows, cols] = f32
            with _gdal_writes(self.tmp[layer.key]):
                ds.write(block, window=window)
        if LAND_USE in self.handles:
            with _gdal_writes(self.tmp[LAND_USE]):
                self.handles[LAND_USE].write(
                    land_use[None, :, :].astype(LAND_USE_DTYPE), window=window
                )
        if EXCLUSION in self.handles:
            mask = np.full((1, h, w), EXCLUSION_NODATA, dtype=np.uint8)
            mask[0, rows, cols] = 0 if exclusion is None else exclusion
            with _gdal_writes(self.tmp[EXCLUSION]):
                self.handles[EXCLUSION].write(mask, window=window)
        if FLAGS in self.handles:
            bits = np.full((1, h, w), products.FLAGS_NODATA, dtype=np.uint16)
            bits[0, rows, cols] = 0 if flags is None else flags
            with _gdal_writes(self.tmp[FLAGS]):
                self.handles[FLAGS].write(bits, window=window)
        if excluded is not None:
            with _gdal_writes(self.tmp[EXCLUDED]):
                self.handles[EXCLUDED].write(excluded, window=window)

    def finish(self) -> list[Path]:
        """Close the temporary files, convert them to COG and rename them into place.

        The conversions run side by side (each single-threaded, so that every COG is written
        exactly as a sequential conversion writes it; GDAL releases the GIL). Each file is
        checked whole (:func:`check_written`) before it is converted and before it is renamed:
        a layer exists under its final name only when complete."""
        for key, ds in list(self.handles.items()):
            with _gdal_writes(self.tmp[key]):
                ds.close()
            del self.handles[key]

        def convert(key: str) -> Path:
            tmp, target = self.tmp[key], self.targets[key]
            check_written(tmp)
            cog = target.with_name(f".{target.name}.cog.part.tif")
            cog.unlink(missing_ok=True)  # (as above)
            with _gdal_writes(cog):
                to_cog(
                    tmp,
                    cog,
                    predictor="2" if key in (LAND_USE, EXCLUSION, FLAGS) else "3",
                    blocksize=EXCLUDED_BLOCK if key == EXCLUDED else 512,
                )
            check_written(cog)
            os.replace(cog, target)
            tmp.unlink()
            return target

        keys = list(self.tmp)
        # the files of most bands first (the excluded values: a band per layer, the longest
        # conversion, a quarter of the CPU time of all: 12 of 60 s at 10^7 pixels): started
        # last, one would run alone while the other workers have nothing left
        order = sorted(keys, key=lambda k: -self.pixel_bytes[k])
        workers = max(1, min(COG_WORKERS, os.cpu_count() or 1, len(keys)))
        with rasterio.Env(**cache_env(self.gdal_cache_mib), GDAL_NUM_THREADS=1):
            if workers == 1:
                done = dict(zip(order, map(convert, order)))
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    done = dict(zip(order, pool.map(convert, order)))
        self.tmp.clear()
        return [done[k] for k in keys]

    def abort(self) -> None:
        """Remove every temporary file (an interrupted or failed run leaves no partial layer);
        a block being written is finished first."""
        with self._writing:
            self._abort()

    def _abort(self) -> None:
        for ds in self.handles.values():
            try:
                ds.close()
            except Exception:  # pragma: no cover - closing a broken handle
                pass
        self.handles.clear()
        for key, tmp in self.tmp.items():
            for p in (tmp, self.targets[key].with_name(f".{self.targets[key].name}.cog.part.tif")):
                p.unlink(missing_ok=True)
        self.tmp.clear()


def new_file(folder: Path, prefix: str, suffix: str) -> str:
    """A new empty file in ``folder`` with a unique name, created with mode 0666 less the
    user's umask like any other file (``tempfile.mkstemp`` gives 0600, which the final file
    would keep after the rename: outputs unreadable by the user's group)."""
    while True:
        name = os.path.join(folder, f"{prefix}{secrets.token_hex(6)}{suffix}")
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        os.close(fd)
        return name


def new_folder(parent: Path, prefix: str) -> str:
    """A new empty folder in ``parent`` with a unique name, created with mode 0777 less the
    user's umask like any other folder (``tempfile.mkdtemp`` gives 0700, which a folder
    renamed into place keeps: a delivery unreadable by the user's group)."""
    while True:
        name = os.path.join(parent, f"{prefix}{secrets.token_hex(6)}")
        try:
            os.mkdir(name, 0o777)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        return name


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path`` (hidden, the same suffix: writers that choose the
    format by it choose the same), renamed to ``path`` once written whole and removed on
    error: an earlier file of that name (the last report's figure) is never left half
    overwritten by a write that failed (a full disk)."""
    tmp = Path(new_file(path.parent, f".{path.stem}.part-", path.suffix))  # two at once
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_raster(path: Path, profile: dict) -> Iterator[rasterio.io.DatasetWriter]:
    """A temporary GeoTIFF beside ``path``, renamed to ``path`` once complete (removed on
    error, so that nothing half-written carries a final name). The file gets the user's
    umask (:func:`new_file`)."""
    tmp = new_file(path.parent, f".{path.stem}.", ".tmp.tif")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            yield dst
        os.replace(tmp, path)
    except BaseException:
        for leftover in (tmp, tmp + ".aux.xml"):
            if os.path.exists(leftover):
                os.remove(leftover)
        raise
