"""Output layers (METHOD.md section 7): names, per-pixel computation in float64 from the
unrounded stocks, the QA step, and writing Cloud Optimized GeoTIFFs block by block.

Every layer is computed from the core's float64 stocks and rounded to float32 once, when
written: no layer is derived from another float32 layer.
"""

from __future__ import annotations

import errno
import functools
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio._err import CPLE_BaseError
from rasterio.errors import RasterioError
from rasterio.windows import Window

from gsocseq.config import Config

NODATA = -999.0
UNITS_STOCK = "t C/ha"
UNITS_RATE = "t C/ha/yr"
UNITS_PERCENT = "%"
#: COG conversions at the same time at most (one per core up to this)
COG_WORKERS = 4
#: final stocks outside this range are nodata before differences (script 13)
FINAL_RANGE = (0.0, 300.0)


@dataclass(frozen=True)
class Layer:
    """One output layer."""

    product: str  # e.g. "ASR_SSM1", "T0", "Ceq"
    uncertainty: bool = False
    year: int | None = None  # final year of a horizon other than the main one
    description: str = ""
    units: str = ""
    bands: int = 1
    # named {prefix}_GSOCseq_{product}.tif and outside the QA ranges (intermediate layers,
    # Monte Carlo statistics, years to steady state)
    intermediate: bool = False

    def file_name(self, prefix: str) -> str:
        if self.intermediate:
            return f"{prefix}_GSOCseq_{self.product}.tif"
        year = f"_{self.year}" if self.year is not None else ""
        kind = "UncertaintyMap030" if self.uncertainty else "Map030"
        return f"{prefix}_GSOCseq_{self.product}{year}_{kind}.tif"

    @property
    def key(self) -> str:
        return self.file_name("")


def qa_range(layer: Layer) -> tuple[float, float, bool, bool] | None:
    """(low, high, low included, high included) of the script-15 QA, None for no check."""
    if layer.intermediate:
        return None
    if layer.uncertainty:
        return (0.0, 200.0, True, True)
    p = layer.product
    if p == "T0" or p.startswith("finalSOC"):
        return (0.0, 800.0, True, True)
    if p.startswith("AbsDiff"):
        return (-80.0, 80.0, False, False)
    if p.startswith("RelDiff"):
        return (0.0, 80.0, True, False)
    if p.startswith("ASR"):
        return (-4.0, 4.0, False, True)
    if p.startswith("RSR"):
        return (0.0, 4.0, True, True)
    return None


def layers(config: Config, scenarios: list[str], t0_year: int) -> list[Layer]:
    """Every layer the run writes, in a stable order."""
    fao = config.run.mode == "fao-v1.2"
    minmax = config.run.uncertainty != "none"
    ssms = scenarios[1:]
    out: list[Layer] = []
    for years in config.all_horizons:
        main = years == config.run.years
        year = None if main else t0_year + years
        span = f"{t0_year}-{t0_year + years}"
        if main:
            out.append(
                Layer("T0", description=f"SOC stock at t0 ({t0_year}), 0-30 cm", units=UNITS_STOCK)
            )
        stock = f"SOC stock {t0_year + years}"
        for product, names, what, units in (
            ("finalSOC", scenarios, stock, UNITS_STOCK),
            ("AbsDiff", scenarios, f"SOC change {span}", UNITS_STOCK),
            ("RelDiff", ssms, f"SOC minus BAU, {span}", UNITS_STOCK),
            ("ASR", scenarios, f"absolute sequestration rate {span}", UNITS_RATE),
            ("RSR", ssms, f"relative sequestration rate vs BAU, {span}", UNITS_RATE),
        ):
            for s in names:
                out.append(
                    Layer(f"{product}_{s}", year=year, description=f"{what}, {s}", units=units)
                )
        if not minmax:
            continue

        def unc(product: str, what: str, year: int | None = year) -> Layer:
            return Layer(
                product,
                uncertainty=True,
                year=year,
                description=f"uncertainty of {what}",
                units=UNITS_PERCENT,
            )

        if main:
            out.append(unc("T0", "the t0 stock"))
        out.append(unc("BAU", "the final BAU stock"))
        if "SSM2" in scenarios or fao:
            out.append(unc("SSM", "the final SSM2 stock (FAO name)"))
        if not fao:
            for s in ssms:
                out.append(unc(s, f"the final {s} stock"))
        for s in scenarios:
            out.append(unc(f"ASR_{s}", f"ASR {s}"))
        for s in ssms:
            out.append(unc(f"RSR_{s}", f"RSR {s}"))
    out += extra_layers(config, scenarios)
    if config.run.intermediate:
        for product, what, units, bands in (
            ("Ceq", "equilibrium carbon input of the spin-up", UNITS_RATE, 1),
            ("Cin_t0", "carbon input of the last warm-up year", UNITS_RATE, 1),
            ("Cin_mean", "mean warm-up carbon input (BAU input)", UNITS_RATE, 1),
            ("Pools2000", "pools at the end of the spin-up", UNITS_STOCK, 5),
            (f"Pools{t0_year}", f"pools at t0 ({t0_year})", UNITS_STOCK, 5),
        ):
            out.append(
                Layer(product, description=what, units=units, bands=bands, intermediate=True)
            )
    return out


MC_STATS = ("Mean", "P2.5", "P97.5", "U")


def mc_products(scenarios: list[str]) -> list[tuple[str, str]]:
    """(product, units) of the Monte Carlo statistics, in the core's order."""
    out = [("T0", UNITS_STOCK)]
    out += [(f"finalSOC_{s}", UNITS_STOCK) for s in scenarios]
    out += [(f"ASR_{s}", UNITS_RATE) for s in scenarios]
    out += [(f"RSR_{s}", UNITS_RATE) for s in scenarios[1:]]
    return out


def extra_layers(config: Config, scenarios: list[str]) -> list[Layer]:
    """Monte Carlo statistics and years to steady state, when requested."""
    out: list[Layer] = []
    if config.run.uncertainty == "montecarlo":
        n = config.run.samples
        for product, units in mc_products(scenarios):
            for stat in MC_STATS:
                out.append(
                    Layer(
                        f"{product}_{stat}_MC030",
                        description=f"{product}, Monte Carlo {stat} of {n} samples",
                        units=UNITS_PERCENT if stat == "U" else units,
                        intermediate=True,
                    )
                )
    if config.run.steady_state:
        for s in scenarios:
            out.append(
                Layer(
                    f"YearsToSteadyState_{s}",
                    description=f"years after t0 until the year-end SOC stays within 5 % of "
                    f"the distance to the {s} steady state",
                    units="years",
                    intermediate=True,
                )
            )
    return out


def _rel_unc(hi: np.ndarray, lo: np.ndarray, central: np.ndarray) -> np.ndarray:
    return 100.0 * np.abs(hi - lo) / (2.0 * np.abs(central))


def compute(
    config: Config, scenarios: list[str], uncertain: int, sim: dict, t0_year: int, counts: Counter
) -> dict[str, np.ndarray]:
    """Values of every layer for the block's pixels (float64), QA applied as configured."""
    fao = config.run.mode == "fao-v1.2"
    minmax = config.run.uncertainty != "none"
    qa = config.run.qa_mask
    t0 = sim["soc_t0"]  # (n, 3)
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for h, years in enumerate(config.all_horizons):
            main = years == config.run.years
            suffix = "" if main else f"_{t0_year + years}"
            final = sim["final_soc"][:, h].copy()  # (n, S, 3)
            if qa:  # script 13: final stocks outside [0, 300] are nodata before differences
                lo, hi = FINAL_RANGE
                for s, name in enumerate(scenarios):
                    runs = (0, 1, 2) if s > 0 else (0,)
                    for r in runs:
                        v = final[:, s, r]
                        bad = (v < lo) | (v > hi) | np.isinf(v)
                        if bad.any():
                            run_name = ("", "_min", "_max")[r]
                            counts[f"qa:finalSOC_{name}{run_name}{suffix} outside [0, 300]"] += int(
                                bad.sum()
                            )
                            v[bad] = np.nan
            f = final[:, :, 0]

            def put(
                product: str, values: np.ndarray, unc: bool = False, suffix: str = suffix
            ) -> None:
                kind = "UncertaintyMap030" if unc else "Map030"
                out[f"_GSOCseq_{product}{suffix}_{kind}.tif"] = values

            if main:
                put("T0", t0[:, 0])
            for s, name in enumerate(scenarios):
                put(f"finalSOC_{name}", f[:, s])
            for s, name in enumerate(scenarios):
                put(f"AbsDiff_{name}", f[:, s] - t0[:, 0])
            for s in range(1, len(scenarios)):
                put(f"RelDiff_{scenarios[s]}", f[:, s] - f[:, 0])
            for s, name in enumerate(scenarios):
                put(f"ASR_{name}", (f[:, s] - t0[:, 0]) / years)
            for s in range(1, len(scenarios)):
                put(f"RSR_{scenarios[s]}", (f[:, s] - f[:, 0]) / years)
            if not minmax:
                continue
            if fao:
                unc_0 = ((t0[:, 2] - t0[:, 1]) / (2 * t0[:, 0])) * 100
                unc_b = ((final[:, 0, 2] - final[:, 0, 1]) / (2 * f[:, 0])) * 100
                u = uncertain
                unc_s = ((final[:, u, 2] - final[:, u, 1]) / (2 * f[:, u])) * 100
                if main:
                    put("T0", unc_0, True)
                put("BAU", unc_b, True)
                put("SSM", unc_s, True)
                f0 = f[:, 0]
                put(
                    "ASR_BAU",
                    np.sqrt((unc_b * f0) ** 2 + (unc_0 * t0[:, 0]) ** 2) / np.abs(t0[:, 0] + f0),
                    True,
                )
                for s in range(1, len(scenarios)):
                    fs = f[:, s]
                    put(
                        f"ASR_{scenarios[s]}",
                        np.sqrt((unc_s * fs) ** 2 + (unc_0 * t0[:, 0]) ** 2)
                        / np.abs(t0[:, 0] + fs),
                        True,
                    )
                for s in range(1, len(scenarios)):
                    fs = f[:, s]
                    put(
                        f"RSR_{scenarios[s]}",
                        np.sqrt((unc_s * fs) ** 2 + (unc_b * f0) ** 2) / np.abs(f0 + fs),
                        True,
                    )
                continue
            if main:
                put("T0", _rel_unc(t0[:, 2], t0[:, 1], t0[:, 0]), True)
            for s, name in enumerate(scenarios):
                value = _rel_unc(final[:, s, 2], final[:, s, 1], f[:, s])
                put("BAU" if s == 0 else name, value, True)
                if name == "SSM2":
                    put("SSM", value, True)
            for s, name in enumerate(scenarios):
                dx = final[:, s, :] - t0  # (n, 3): same run's final minus t0
                put(
                    f"ASR_{name}",
                    100.0 * np.abs(dx[:, 2] - dx[:, 1]) / (2.0 * np.abs(dx[:, 0])),
                    True,
                )
            for s in range(1, len(scenarios)):
                dx = final[:, s, :] - final[:, 0, :]
                put(
                    f"RSR_{scenarios[s]}",
                    100.0 * np.abs(dx[:, 2] - dx[:, 1]) / (2.0 * np.abs(dx[:, 0])),
                    True,
                )
    if "mc" in sim:
        for k, (product, _) in enumerate(mc_products(scenarios)):
            for j, stat in enumerate(MC_STATS):
                out[f"_GSOCseq_{product}_{stat}_MC030.tif"] = sim["mc"][:, k, j]
    if "steady_years" in sim:
        for s, name in enumerate(scenarios):
            out[f"_GSOCseq_YearsToSteadyState_{name}.tif"] = sim["steady_years"][:, s]
    if config.run.intermediate:
        out["_GSOCseq_Ceq.tif"] = sim["ceq"][:, 0]
        out["_GSOCseq_Cin_t0.tif"] = sim["cin_t0"][:, 0]
        out["_GSOCseq_Cin_mean.tif"] = sim["cin_mean"][:, 0]
        out["_GSOCseq_Pools2000.tif"] = sim["pools_spinup"][:, 0, :]
        out[f"_GSOCseq_Pools{t0_year}.tif"] = sim["pools_t0"][:, 0, :]
    return out


def apply_qa(layer_list: Iterable[Layer], values: dict[str, np.ndarray], counts: Counter) -> None:
    """Script 15: each layer's values outside its range become nodata (layer by layer)."""
    for layer in layer_list:
        rng = qa_range(layer)
        v = values.get(layer.key)
        if rng is None or v is None:
            continue
        lo, hi, lo_in, hi_in = rng
        with np.errstate(invalid="ignore"):
            below = v < lo if lo_in else v <= lo
            above = v > hi if hi_in else v >= hi
            bad = (below | above) & ~np.isnan(v)
        if bad.any():
            counts[f"qa:{layer.key.lstrip('_')} outside range"] += int(bad.sum())
            v[bad] = np.nan


@functools.cache
def _temporary_compression() -> dict[str, object]:
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
    ) -> None:
        # tiles of the temporary files match the processing blocks: each tile written once
        tile = tile if tile <= 512 else 256
        self.out_dir = out_dir
        self.prefix = prefix
        self.layers = list(layer_list)
        self.tmp: dict[str, Path] = {}
        self.handles: dict[str, rasterio.io.DatasetWriter] = {}
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
            # (the COGs themselves are DEFLATE)
            **_temporary_compression(),
            "BIGTIFF": "IF_SAFER",
        }
        self.targets: dict[str, Path] = {}
        entries = [(layer.key, layer.file_name(prefix), layer) for layer in self.layers]
        if land_use:
            entries.append(("landuse", f"{prefix}_GSOCseq_LandUse.tif", None))
        try:
            for key, name, layer in entries:
                tmp = out_dir / f".{name}.part.tif"
                self.tmp[key] = tmp
                self.targets[key] = out_dir / name
                if layer is None:
                    profile = dict(base, dtype="int16", nodata=-999, count=1, predictor=2)
                else:
                    profile = dict(
                        base, dtype="float32", nodata=NODATA, count=layer.bands, predictor=3
                    )
                # a run killed while writing leaves a truncated temporary, which GDAL cannot
                # open to replace it: removed first
                tmp.unlink(missing_ok=True)
                with _gdal_writes(tmp):
                    ds = rasterio.open(tmp, "w", **profile)
                if layer is None:
                    ds.set_band_description(
                        1, "FAO land-use class of the forward runs (modelled pixels)"
                    )
                else:
                    if layer.bands == 5:
                        for b, pool in enumerate(("DPM", "RPM", "BIO", "HUM", "IOM"), start=1):
                            ds.set_band_description(b, f"{pool}: {layer.description}")
                    else:
                        ds.set_band_description(1, layer.description or layer.product)
                    ds.units = tuple([layer.units] * layer.bands)
                ds.update_tags(producer="gsocseq")
                self.handles[key] = ds
        except Exception:
            self.abort()
            raise

    def write(
        self,
        window: Window,
        rows: np.ndarray,
        cols: np.ndarray,
        values: dict[str, np.ndarray],
        land_use: np.ndarray,
    ) -> None:
        h, w = int(window.height), int(window.width)
        for layer in self.layers:
            ds = self.handles[layer.key]
            v = values.get(layer.key)
            block = np.full((layer.bands, h, w), NODATA, dtype=np.float32)
            if v is not None and len(rows):
                vv = v.reshape(len(rows), -1).T  # (bands, n)
                f32 = vv.astype(np.float32)
                f32[~np.isfinite(vv)] = NODATA
                block[:, rows, cols] = f32
            with _gdal_writes(self.tmp[layer.key]):
                ds.write(block, window=window)
        if "landuse" in self.handles:
            with _gdal_writes(self.tmp["landuse"]):
                self.handles["landuse"].write(land_use[None, :, :], window=window)

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
                rasterio.shutil.copy(
                    tmp,
                    cog,
                    driver="COG",
                    compress="DEFLATE",
                    predictor="2" if key == "landuse" else "3",
                    overview_resampling="nearest",
                    blocksize=512,
                )
            check_written(cog)
            os.replace(cog, target)
            tmp.unlink()
            return target

        keys = list(self.tmp)
        workers = max(1, min(COG_WORKERS, os.cpu_count() or 1, len(keys)))
        with rasterio.Env(GDAL_CACHEMAX=256, GDAL_NUM_THREADS=1):
            if workers == 1:
                done = [convert(k) for k in keys]
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    done = list(pool.map(convert, keys))
        self.tmp.clear()
        return done

    def abort(self) -> None:
        """Remove every temporary file (an interrupted or failed run leaves no partial layer)."""
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
