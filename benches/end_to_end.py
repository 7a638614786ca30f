"""End-to-end benchmark: `gsocseq run` on synthetic areas of N pixels, against the I/O floor.

Run (from the repository, in the project's venv):

    python benches/end_to_end.py --sizes 1e4 1e5 1e6 --workdir /tmp/gsocseq-bench \
        --json results.json

For each size N (modelled pixels, approximately) the script

1. generates an area in gsocseq's native layout (once; cached in WORKDIR/area-SIDE-COMPRESS and
   reused while its parameters are unchanged): a square EPSG:4326 grid of side
   ceil(sqrt(N / 0.9)) at 1/120 degree, ~10 % of it not modelled (4 % nodata "sea", 6 % land
   use 4 or 1), smooth fields (gradients + small noise) for SOC, clay, cover, 1981-2000
   climatology, 2001-2020 monthly series (240 bands; T and PET stored x10, read with
   scale = 0.1 as TerraClimate), 20 years of land use (3 % of pixels change class) and NPP
   (reference, min, max). Tiled (256 x 256, or --tile T; one tile for a grid below T pixels),
   band-interleaved float32 GeoTIFFs, nodata -999 (land use uint8, nodata 255); `--compress`
   none (default), deflate (level 1) or zstd (level 1). Written one band chunk (a year) at a
   time: a few hundred MB at most for 10^6 pixels;
2. runs `gsocseq.pipeline.run(config, overwrite=True)` (uncertainty "minmax": central, min
   and max chains) in a fresh subprocess and a fresh output folder;
3. measures the I/O floor in another subprocess: reads every band of every input, one input
   after the other, in the file's own blocks (all bands of a block at once), under the run's
   GDAL settings (gsocseq.pipeline.gdal_env(): a 256 MiB GDAL cache), then writes as many float32
   layers as the run wrote (its *Map030.tif files + LandUse) the way the run writes them: tiled
   (the run's block size) temporary GeoTIFFs (ZSTD level 1, or DEFLATE where GDAL lacks ZSTD:
   gsocseq.writing.temporary_compression; no predictor: gsocseq.writing.TEMPORARY_PREDICTOR)
   written window by window, then each copied
   to a COG (DEFLATE, predictor 3, 512 blocks, nearest overviews) under a 256 MiB cache and
   GDAL_NUM_THREADS=1, the conversions side by side on up to min(4, cores) threads (as
   gsocseq.writing.LayerWriter does).

The input files are read once before both measurements, so the run and the floor both read
from a warm page cache: the floor is GDAL's decoding and copying, not the disk.

Figures per size:

- modelled: counts["modelled"] of the run summary (pixels that ran the whole chain);
- run s: wall time of gsocseq.pipeline.run inside the subprocess (no interpreter start-up);
  with --rounds N, run and floor are measured N times alternately and the fastest of each is
  reported (peak memory: the largest), so that a slow spell of a shared machine does not
  decide the ratio;
- px/s, px/min: modelled pixels per second / minute of run wall time;
- read s, write s, floor s: the I/O floor (read + write), measured as in 3.;
- run/floor: run wall time / I/O floor (1.0 would be a run as fast as its own I/O);
- peak MiB: ru_maxrss of the run subprocess (peak resident memory seen by the OS); with
  --memory-profile also the largest RSS of each phase of the run (sampled every 20 ms: start,
  survey, plan, blocks, assemble, cog, summary; docs/scaling.md, "Memory") and the seconds of
  each phase: wall, CPU of all threads, and waiting for a CPU (the run queue, of the threads
  alive when the phase ends: /proc/self/task/*/schedstat): on a busy machine, the waiting
  shows apart from idle threads (docs/scaling.md, "Where the blocks phase spends its time");
  --memory M runs
  under the budget M ([run].memory); --no-floor skips the I/O floor;
- model ns/px: summary timings model_s / modelled, in ns. model_s covers all phases for a
  block (spin-up, warm-up, forward scenarios, the layers and QA) for the three chains
  (central, min, max), i.e. roughly 3 x the cost of one chain.

Once, a core comparison: (a) gsocseq.rothc.run month by month on --core-pixels pixels x 240
months (1 thread and all threads) against `numpy_rothc` of benches/python_api.py, in
pixel-months/s; (b) pyrothc (PyPI `pyrothc`, which integrates the ODE with scipy's odeint)
on 20 sites (a 12-month climatology repeated over 20 years, constant input) against
gsocseq.rothc.run on the same 20-year forcing, timed on 10,000 sites in one call and divided
per site. (b) is a timing comparison only: the two numerical schemes differ.

Prints Markdown tables and the machine, and writes everything to --json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from gsocseq.gdalcache import cache_env

HERE = Path(__file__).resolve().parent
NODATA = -999.0
LU_NODATA = 255
MODELLED = (2, 3, 5, 12, 13)
YEARS = 20
RES = 1 / 120  # degrees (~1 km, the GSOCseq resolution)
TILE = 256  # tiles of the generated inputs (--tile; `gsocseq prepare`'s default)
BLOCK = 256  # the run's default block size (gsocseq.config.RunOptions.block_size)
GEN_VERSION = 2  # bump when the generated data change: cached areas are regenerated
GEN_CACHEMAX = 64  # MiB of GDAL block cache while generating (bounds the writer's memory)
COMPRESSION = {
    "none": {},
    "deflate": {"compress": "deflate", "zlevel": 1},
    "zstd": {"compress": "zstd", "zstd_level": 1},
}

# ---------------------------------------------------------------------------------------------
# 1. synthetic area
# ---------------------------------------------------------------------------------------------


def grid_side(n: float) -> int:
    """Side of the square grid with ~n modelled pixels (90 % of the grid is modelled)."""
    return math.ceil(math.sqrt(n / 0.9))


def _norm(a: np.ndarray) -> np.ndarray:
    """Rescale to [0, 1]."""
    lo, hi = float(a.min()), float(a.max())
    return ((a - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)


def static_fields(side: int, seed: int) -> dict[str, np.ndarray]:
    """Every single-band field of the area, (side, side), plus the coordinates x and y."""
    rng = np.random.default_rng(seed)
    v = ((np.arange(side) + 0.5) / side).astype(np.float32)
    x, y = v[None, :], v[:, None]  # x grows eastwards, y southwards (rows)
    tau = np.float32(2 * np.pi)

    def noise(amp: float) -> np.ndarray:
        return (rng.random((side, side), dtype=np.float32) - 0.5) * np.float32(2 * amp)

    warmth = _norm(0.85 * y + 0.15 * x + 0.05 * np.sin(tau * (2 * x + y)))
    wetness = _norm(0.7 * (1 - x) + 0.3 * y + 0.1 * np.sin(1.5 * tau * x) * np.cos(tau * y))
    f: dict[str, np.ndarray] = {"x": x, "y": y}
    f["t_mean"] = np.clip(5 + 23 * warmth + noise(0.3), 5, 28)
    f["p_month"] = (500 + 1700 * wetness + noise(20)) / 12  # mean mm/month
    f["soc"] = np.clip(
        20
        + 100 * _norm(0.6 * (1 - warmth) + 0.4 * wetness + 0.1 * np.sin(tau * 2 * x * y))
        + noise(3),
        20,
        120,
    )
    f["clay"] = np.clip(5 + 55 * _norm(0.5 * x + 0.5 * np.sin(tau * y) ** 2) + noise(2), 5, 60)
    f["npp"] = np.clip(3 + 5 * _norm(0.5 * warmth + 0.5 * wetness) + noise(0.1), 3, 8)
    f["sea"] = np.broadcast_to((x - 1) ** 2 + y**2 < 0.2257**2, (side, side))  # ~4 %
    # land use of the last year: bands of the five modelled classes, then 6 % forest/artificial
    g = (1.3 * x + 0.9 * y + 0.2 * np.sin(2.5 * tau * x) * np.sin(1.5 * tau * y)) % 1.0
    last = np.asarray(MODELLED, dtype=np.uint8)[np.minimum((g * 5).astype(np.int64), 4)]
    u = rng.random((side, side), dtype=np.float32)
    last[u < 0.045] = 4
    last[(u >= 0.045) & (u < 0.06)] = 1
    last[f["sea"]] = LU_NODATA
    f["lu_last"] = last
    # 3 % of modelled pixels had another class during the first 1-11 years
    changed = (rng.random((side, side), dtype=np.float32) < 0.03) & np.isin(last, MODELLED)
    f["lu_changed"] = changed
    f["lu_until"] = np.where(changed, rng.integers(1, 12, (side, side)), 0).astype(np.uint8)
    f["lu_before"] = np.where(np.isin(last, (2, 12, 13)), 4, 2).astype(np.uint8)
    return f


def climate_month(f: dict[str, np.ndarray], month: int) -> tuple[np.ndarray, ...]:
    """1981-2000 mean T (degrees C), P and PET (mm/month) of a month (0 = January)."""
    season = np.float32(np.cos(2 * np.pi * (month - 6) / 12))  # warmest in July
    t = f["t_mean"] + np.float32(6.0) * season
    rain = np.float32(1 + 0.6 * np.cos(2 * np.pi * month / 12))  # wettest in January
    p = np.clip(f["p_month"] * rain, 10, 250)
    e = np.clip(15 + 5.5 * t, 20, 180)
    return t, p, e


def climatology(f: dict[str, np.ndarray], which: int) -> np.ndarray:
    """(12, side, side) climatology of T (0), P (1) or PET (2)."""
    out = np.empty((12, *f["t_mean"].shape), dtype=np.float32)
    for m in range(12):
        out[m] = climate_month(f, m)[which]
    return out


def series_chunks(f: dict[str, np.ndarray], which: int, seed: int) -> Iterator[np.ndarray]:
    """2001-2020 monthly series of T (0), P (1) or PET (2), one year (12 bands) at a time, as
    stored (T and PET x10, rounded). In-place arithmetic: three (12, side, side) arrays."""
    rng = np.random.default_rng(seed + 100 + which)
    clim = climatology(f, which)
    for year in range(YEARS):
        out = rng.random(clim.shape, dtype=np.float32)
        out -= np.float32(0.5)  # uniform noise -0.5 .. 0.5
        if which == 0:  # +-1 degree, +0.03 degree a year
            out *= np.float32(2)
            out += clim
            out += np.float32(0.03 * year)
            out *= np.float32(10)
            np.rint(out, out=out)
        elif which == 1:  # x 0.7 .. 1.3
            out *= np.float32(0.6)
            out += np.float32(1)
            out *= clim
        else:  # +-10 mm
            out *= np.float32(20)
            out += clim
            np.clip(out, 0, None, out=out)
            out *= np.float32(10)
            np.rint(out, out=out)
        yield out
        del out


def land_use(f: dict[str, np.ndarray]) -> np.ndarray:
    """(20, side, side) uint8 land use, 2001..2020."""
    years = np.arange(YEARS, dtype=np.uint8)[:, None, None]
    before = f["lu_changed"][None] & (years < f["lu_until"][None])
    return np.where(before, f["lu_before"][None], f["lu_last"][None]).astype(np.uint8)


def cover(f: dict[str, np.ndarray]) -> np.ndarray:
    """(12, side, side) cover factor: croplands and paddies are bare (1.0) four months a year
    (the months shift from west to east), everything else covered (0.6)."""
    crop = np.isin(f["lu_last"], (2, 12, 13))
    phase = (f["x"] * 12).astype(np.int64)
    months = np.arange(12)[:, None, None]
    bare = crop[None] & (((months - phase[None]) % 12) < 4)
    return np.where(bare, np.float32(1.0), np.float32(0.6))


def write_raster(
    path: Path,
    side: int,
    chunks: Iterator[np.ndarray] | list[np.ndarray],
    count: int,
    compress: str,
    dtype: str = "float32",
    mask: np.ndarray | None = None,
    tile: int = TILE,
) -> None:
    """Write a tiled (``tile`` x ``tile``), band-interleaved GeoTIFF one band chunk at a time;
    ``mask`` pixels are set to nodata in every band."""
    nodata = LU_NODATA if dtype == "uint8" else NODATA
    tile = min(tile, 16 * math.ceil(side / 16))  # no tiles much larger than a small grid
    extra = dict(COMPRESSION[compress])
    if extra:
        extra["predictor"] = 2 if dtype == "uint8" else 3
    profile = {
        "driver": "GTiff",
        "width": side,
        "height": side,
        "count": count,
        "dtype": dtype,
        "crs": "EPSG:4326",
        "transform": from_origin(10.0, 50.0, RES, RES),
        "nodata": nodata,
        "tiled": True,
        "blockxsize": tile,
        "blockysize": tile,
        "interleave": "band",
        "BIGTIFF": "IF_SAFER",
        **extra,
    }
    band = 1
    with rasterio.open(path, "w", **profile) as ds:
        for chunk in chunks:
            chunk = chunk.reshape(-1, side, side).astype(dtype, copy=False)
            if mask is not None:
                chunk[:, mask] = nodata
            ds.write(chunk, indexes=list(range(band, band + len(chunk))))
            band += len(chunk)
    if band != count + 1:
        raise RuntimeError(f"{path}: wrote {band - 1} bands, expected {count}")


FILES = {
    # config key: (file name, scale)
    "soc": ("SOC.tif", 1.0),
    "clay": ("Clay.tif", 1.0),
    "land_use": ("LU_2001-2020.tif", 1.0),
    "cover": ("Cover_12.tif", 1.0),
    "spinup_temperature": ("Temp_81-00.tif", 1.0),
    "spinup_precipitation": ("Prec_81-00.tif", 1.0),
    "spinup_pet": ("PET_81-00.tif", 1.0),
    "warmup_temperature": ("Temp_2001-2020.tif", 0.1),
    "warmup_precipitation": ("Prec_2001-2020.tif", 1.0),
    "warmup_pet": ("PET_2001-2020.tif", 0.1),
    "npp_reference": ("NPP_MIAMI_MEAN_81-00.tif", 1.0),
    "npp_reference_min": ("NPP_MIAMI_MEAN_81-00_MIN.tif", 1.0),
    "npp_reference_max": ("NPP_MIAMI_MEAN_81-00_MAX.tif", 1.0),
}


def write_config(folder: Path) -> Path:
    """config.toml of the area (paths relative to it; the output folder is given per run)."""
    lines = ["[run]", 'name = "BENCH"', 'mode = "rothamsted"', 'uncertainty = "minmax"', ""]
    lines.append("[inputs]")
    for key, (name, scale) in FILES.items():
        value = f'{{ path = "{name}", scale = {scale} }}' if scale != 1.0 else f'"{name}"'
        lines.append(f"{key} = {value}")
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_area(
    workdir: Path, n: float, compress: str, seed: int, tile: int = TILE
) -> dict[str, Any]:
    """Generate the area of size n with inputs tiled ``tile`` x ``tile`` (or reuse the cached
    one); return its description."""
    side = grid_side(n)
    # (areas of the default tiles keep their folder and parameters: cached ones stay valid)
    folder = workdir / (f"area-{side}-{compress}" + (f"-tile{tile}" if tile != TILE else ""))
    params: dict[str, Any] = {"version": GEN_VERSION, "side": side, "seed": seed}
    params["compress"] = compress
    if tile != TILE:
        params["tile"] = tile
    stamp = folder / "params.json"
    info = {"folder": str(folder), "side": side, "compress": compress, "generated_s": None}
    info["tile"] = tile
    if stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")) == params:
        info["config"] = str(folder / "config.toml")
        info["bytes"] = sum((folder / name).stat().st_size for name, _ in FILES.values())
        return info
    print(f"  generating {side} x {side} ({compress}) in {folder} ...", file=sys.stderr)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    f = static_fields(side, seed)
    sea = f["sea"]
    path = {key: folder / name for key, (name, _) in FILES.items()}
    with rasterio.Env(**cache_env(GEN_CACHEMAX)):
        for key in ("soc", "clay"):
            write_raster(path[key], side, [f[key]], 1, compress, mask=sea, tile=tile)
        npp = f["npp"]
        write_raster(path["npp_reference"], side, [npp], 1, compress, mask=sea, tile=tile)
        write_raster(
            path["npp_reference_min"], side, [npp * 0.93], 1, compress, mask=sea, tile=tile
        )
        write_raster(
            path["npp_reference_max"], side, [npp * 1.06], 1, compress, mask=sea, tile=tile
        )
        write_raster(
            path["land_use"], side, [land_use(f)], YEARS, compress, dtype="uint8", tile=tile
        )
        write_raster(path["cover"], side, [cover(f)], 12, compress, mask=sea, tile=tile)
        names = ("temperature", "precipitation", "pet")
        for which, name in enumerate(names):
            clim = [climatology(f, which)]
            write_raster(path[f"spinup_{name}"], side, clim, 12, compress, mask=sea, tile=tile)
            del clim
            chunks = series_chunks(f, which, seed)
            write_raster(
                path[f"warmup_{name}"], side, chunks, 12 * YEARS, compress, mask=sea, tile=tile
            )
    config = write_config(folder)
    stamp.write_text(json.dumps(params), encoding="utf-8")
    info["generated_s"] = round(time.perf_counter() - t0, 2)
    info["config"] = str(config)
    info["bytes"] = sum(p.stat().st_size for p in path.values())
    return info


def warm_cache(folder: Path) -> None:
    """Read the input files once so that the run and the floor both see a warm page cache."""
    for name, _ in FILES.values():
        with open(folder / name, "rb") as fh:
            while fh.read(16 << 20):
                pass


# ---------------------------------------------------------------------------------------------
# 2. and 3. the run and the I/O floor, each in a subprocess
# ---------------------------------------------------------------------------------------------


def in_subprocess(function: str, params: dict[str, Any]) -> dict[str, Any]:
    """Call ``function(json)`` of this module in a fresh interpreter; return its JSON line."""
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); import end_to_end; "
        f"end_to_end.{function}(sys.argv[1])"
    )
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(params)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"{function} failed (exit {proc.returncode}):\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = round(time.perf_counter() - t0, 3)
    return result


def _peak_kib() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def _rss_kib() -> int:
    """Resident memory of this process now, KiB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except OSError:  # pragma: no cover - not Linux
        return 0


class PhaseMemory:
    """Peak resident memory per phase of a run (--memory-profile): a thread samples the
    process's RSS every ``period`` s while the phase functions of gsocseq.pipeline, wrapped,
    say which phase is on (start: imports and configuration; survey: the input checks; plan:
    opening the inputs and the output folder; blocks: reading, computing and writing the
    blocks; assemble: the last blocks written; cog: the layers converted to COGs; summary: the
    rest). Each figure is the largest RSS seen in the phase (the sampling can miss a peak
    shorter than ``period``; ru_maxrss, reported beside it, cannot)."""

    def __init__(self, period: float = 0.02) -> None:
        import threading

        self.phase = "start"
        self.peaks: dict[str, int] = {}
        self.seconds: dict[str, list[float]] = {}  # wall, CPU, waiting for a CPU
        self._last = self._clock()
        self.period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.note()
            self._stop.wait(self.period)

    def note(self) -> None:
        rss = _rss_kib()
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)

    @staticmethod
    def _clock() -> tuple[float, float, dict[str, int]]:
        """(wall s, CPU s of the process, ns each live thread waited for a CPU by id)."""
        times = os.times()
        waited: dict[str, int] = {}
        try:
            for task in os.listdir("/proc/self/task"):
                try:
                    with open(f"/proc/self/task/{task}/schedstat", encoding="ascii") as fh:
                        waited[task] = int(fh.read().split()[1])
                except (OSError, IndexError, ValueError):
                    pass  # a thread that ended meanwhile
        except OSError:  # pragma: no cover - not Linux
            pass
        return time.perf_counter(), times.user + times.system, waited

    def switch(self, phase: str) -> None:
        """The phase ``phase`` on from now; the seconds since the last switch to the phase
        that ends (a thread's waiting counted while it lives at both ends, or since it
        started: a thread that ended meanwhile is left out of the waiting)."""
        now = self._clock()
        spent = self.seconds.setdefault(self.phase, [0.0, 0.0, 0.0])
        spent[0] += now[0] - self._last[0]
        spent[1] += now[1] - self._last[1]
        before = self._last[2]
        spent[2] += sum(ns - before.get(task, 0) for task, ns in now[2].items()) / 1e9
        self._last = now
        self.phase = phase

    def wrap(self, owner: Any, name: str, phase: str, after: str) -> None:
        """``owner.name`` runs as ``phase``, and ``after`` follows it."""
        function = getattr(owner, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.note()
            self.switch(phase)
            try:
                return function(*args, **kwargs)
            finally:
                self.note()
                self.switch(after)

        setattr(owner, name, wrapped)

    def __enter__(self) -> PhaseMemory:
        from gsocseq import pipeline
        from gsocseq.pipeline import plan
        from gsocseq.writing import LayerWriter

        self.wrap(pipeline, "check_inputs", "survey", "plan")
        self.wrap(plan.Plan, "__enter__", "plan", "plan")
        self.wrap(pipeline, "compute_blocks", "blocks", "assemble")
        self.wrap(LayerWriter, "finish", "cog", "summary")
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.note()
        self.switch(self.phase)

    def mib(self) -> dict[str, float]:
        return {k: round(v / 1024, 1) for k, v in self.peaks.items()}

    def phase_seconds(self) -> dict[str, dict[str, float]]:
        names = ("wall_s", "cpu_s", "wait_s")
        return {
            phase: {n: round(v, 2) for n, v in zip(names, spent)}
            for phase, spent in self.seconds.items()
        }


def child_run(params_json: str) -> None:
    """(subprocess) gsocseq.pipeline.run on the area's configuration (with the options of
    ``params["options"]``), its peak memory per phase with ``params["profile"]``."""
    from contextlib import nullcontext

    from gsocseq import pipeline

    p = json.loads(params_json)
    profile = PhaseMemory() if p.get("profile") else None
    t0 = time.perf_counter()
    with profile if profile is not None else nullcontext():
        summary = pipeline.run(
            p["config"],
            overwrite=True,
            output=p["output"],
            threads=p["threads"],
            **p.get("options", {}),
        )
    wall = time.perf_counter() - t0
    out = {
        "wall_s": wall,
        "modelled": summary.counts.get("modelled", 0),
        "timings": summary.timings,
        "status": summary.status,
        "layers": len(summary.layers),
        "maxrss_kib": _peak_kib(),
        "phase_peak_mib": profile.mib() if profile is not None else {},
        "phase_seconds": profile.phase_seconds() if profile is not None else {},
    }
    print(json.dumps(out))


def _windows(height: int, width: int, block: int) -> Iterator[Window]:
    for row in range(0, height, block):
        for col in range(0, width, block):
            yield Window(col, row, min(block, width - col), min(block, height - row))


def child_floor(params_json: str) -> None:
    """(subprocess) the I/O floor: read every input window by window, then write
    ``layers`` float32 layers as gsocseq.writing.LayerWriter does."""
    import rasterio.shutil

    from gsocseq import writing
    from gsocseq.pipeline import gdal_env

    p = json.loads(params_json)
    block, out_dir = p["block"], Path(p["output"])
    out_dir.mkdir(parents=True, exist_ok=True)
    with rasterio.Env(**gdal_env()):  # the run's GDAL settings
        t0 = time.perf_counter()
        inputs = [rasterio.open(path) for path in p["inputs"]]
        master = inputs[0]
        height, width = master.height, master.width
        nbytes = 0
        for ds in inputs:  # one input after the other, in the file's own blocks
            for _, window in ds.block_windows(1):
                nbytes += ds.read(window=window).nbytes  # all bands of the block
            ds.close()
        t1 = time.perf_counter()
        with rasterio.open(p["inputs"][0]) as soc_ds:  # the values written (not timed)
            soc = soc_ds.read(1).astype(np.float32)
            profile = {
                "driver": "GTiff",
                "width": width,
                "height": height,
                "crs": soc_ds.crs,
                "transform": soc_ds.transform,
                "tiled": True,
                "blockxsize": block,
                "blockysize": block,
                **writing.temporary_compression(),  # as the run's temporary layers
                # (3 before the temporaries lost their predictor: gsocseq.writing)
                "predictor": getattr(writing, "TEMPORARY_PREDICTOR", 3),
                "BIGTIFF": "IF_SAFER",
                "dtype": "float32",
                "nodata": NODATA,
                "count": 1,
            }
            soc[soc == soc_ds.nodata] = NODATA
        t2 = time.perf_counter()
        tmps = [out_dir / f".layer{i}.part.tif" for i in range(p["layers"])]
        handles = [rasterio.open(tmp, "w", **profile) for tmp in tmps]
        for window in _windows(height, width, block):
            values = soc[
                window.row_off : window.row_off + window.height,
                window.col_off : window.col_off + window.width,
            ]
            for ds in handles:
                ds.write(values[None], window=window)
        for ds in handles:
            ds.close()

        def convert(i: int) -> None:
            rasterio.shutil.copy(
                tmps[i],
                out_dir / f"layer{i}.tif",
                driver="COG",
                compress="DEFLATE",
                predictor="3",
                overview_resampling="nearest",
                blocksize=512,
            )
            tmps[i].unlink()

        # side by side as gsocseq.writing.LayerWriter.finish converts them
        workers = max(1, min(writing.COG_WORKERS, os.cpu_count() or 1, len(tmps)))
        with rasterio.Env(**cache_env(256), GDAL_NUM_THREADS=1):
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(convert, range(len(tmps))))
        t3 = time.perf_counter()
    out = {
        "read_s": t1 - t0,
        "write_s": t3 - t2,
        "read_bytes": nbytes,
        "maxrss_kib": _peak_kib(),
    }
    print(json.dumps(out))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _clear_stale(parent: Path) -> None:
    """Remove what earlier invocations left in ``parent`` (the outputs of runs of one area):
    every folder but the ``pid-N`` folders of benchmarks still running."""
    if not parent.exists():
        return
    for p in parent.iterdir():
        pid = p.name[len("pid-") :]
        if p.name.startswith("pid-") and pid.isdigit() and _running(int(pid)):
            continue
        shutil.rmtree(p, ignore_errors=True)


def bench_size(workdir: Path, n: float, args: argparse.Namespace) -> dict[str, Any]:
    """Steps 1-4 for one size."""
    area = make_area(workdir, n, args.compress, args.seed, args.tile)
    folder = Path(area["folder"])
    warm_cache(folder)
    # this invocation's outputs: two benchmarks may share a work folder (a shared folder once
    # lost a 10^7 run's blocks to the other's clearing)
    runs = workdir / "runs" / folder.name / f"pid-{os.getpid()}"
    _clear_stale(runs.parent)  # outputs of earlier invocations on this area
    # run and floor alternate --rounds times (each in a fresh output folder); the fastest of
    # each is reported, so that a slow spell of a shared machine does not decide the ratio
    best_run: dict[str, Any] = {}
    best_floor: dict[str, Any] = {}
    for k in range(args.rounds):
        output = runs / f"out-{time.strftime('%Y%m%d-%H%M%S')}-{k}"
        print(f"  run ({area['side']} x {area['side']}) -> {output}", file=sys.stderr)
        params = {"config": area["config"], "output": str(output), "threads": args.threads}
        params["profile"] = args.memory_profile
        params["options"] = {"memory": args.memory} if args.memory else {}
        run = in_subprocess("child_run", params)
        if args.memory_profile:
            print(f"  peak MiB by phase: {run['phase_peak_mib']}", file=sys.stderr)
            print(f"  wall, CPU, waiting s by phase: {run['phase_seconds']}", file=sys.stderr)
        if args.no_floor:
            layers = 0
            if not best_run or run["wall_s"] < best_run["wall_s"]:
                best_run, best_output = run, output
            best_run["maxrss_kib"] = max(run["maxrss_kib"], best_run["maxrss_kib"])
            continue
        layers = len(list(output.glob("*Map030.tif"))) + len(list(output.glob("*_LandUse.tif")))
        print(f"  I/O floor ({layers} layers)", file=sys.stderr)
        floor_dir = workdir / f"floor-tmp-{os.getpid()}"
        floor = in_subprocess(
            "child_floor",
            {
                "inputs": [str(folder / name) for name, _ in FILES.values()],
                "output": str(floor_dir),
                "layers": layers,
                "block": BLOCK,
            },
        )
        shutil.rmtree(floor_dir, ignore_errors=True)
        peak = max(run["maxrss_kib"], best_run.get("maxrss_kib", 0))
        if not best_run or run["wall_s"] < best_run["wall_s"]:
            best_run, best_output = run, output
        best_run["maxrss_kib"] = peak  # peak memory: the largest of the rounds
        if not best_floor or floor["read_s"] + floor["write_s"] < (
            best_floor["read_s"] + best_floor["write_s"]
        ):
            best_floor = floor
    run, output = best_run, best_output
    floor = best_floor or {"read_s": math.nan, "write_s": math.nan, "maxrss_kib": math.nan}
    modelled = run["modelled"]
    floor_s = floor["read_s"] + floor["write_s"]
    model_s = run["timings"].get("model_s", float("nan"))
    return {
        "target": n,
        "side": area["side"],
        "pixels": area["side"] ** 2,
        "modelled": modelled,
        "compression": args.compress,
        "tile": area["tile"],
        "input_bytes": area["bytes"],
        "generated_s": area["generated_s"],
        "run_s": run["wall_s"],
        "run_process_s": run["process_s"],
        "pixels_per_s": modelled / run["wall_s"],
        "pixels_per_min": 60 * modelled / run["wall_s"],
        "read_s": floor["read_s"],
        "write_s": floor["write_s"],
        "floor_s": floor_s,
        "run_over_floor": run["wall_s"] / floor_s,
        "peak_mib": run["maxrss_kib"] / 1024,
        "floor_peak_mib": floor["maxrss_kib"] / 1024,
        "model_ns_per_pixel": 1e9 * model_s / modelled if modelled else float("nan"),
        "memory": args.memory,
        "phase_peak_mib": run.get("phase_peak_mib", {}),
        "phase_seconds": run.get("phase_seconds", {}),
        "layers_written": layers,
        "run_timings": run["timings"],
        "output": str(output),
    }


# ---------------------------------------------------------------------------------------------
# 5. core comparison
# ---------------------------------------------------------------------------------------------


def _best(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def compare_numpy(pixels: int, months: int, repeat: int) -> dict[str, Any]:
    """gsocseq.rothc.run (1 thread, all threads) vs numpy_rothc of benches/python_api.py."""
    from gsocseq import rothc

    spec = importlib.util.spec_from_file_location("python_api", HERE / "python_api.py")
    assert spec is not None and spec.loader is not None
    python_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(python_api)
    kw = python_api.make_case(pixels, months)
    kw_np = python_api.month_major(kw)

    def numpy_run() -> np.ndarray:
        return python_api.numpy_on_case(kw_np)

    t1 = _best(lambda: rothc.run(**kw, threads=1), repeat)
    tall = _best(lambda: rothc.run(**kw), repeat)
    tnp = _best(numpy_run, repeat)
    ref = numpy_run()
    got = rothc.run(**kw).pools
    work = pixels * months
    return {
        "pixels": pixels,
        "months": months,
        "gsocseq_1thread_pm_per_s": work / t1,
        "gsocseq_all_pm_per_s": work / tall,
        "numpy_pm_per_s": work / tnp,
        "ratio_1thread_vs_numpy": tnp / t1,
        "ratio_all_vs_numpy": tnp / tall,
        "threads": os.cpu_count(),
        "max_rel_diff": float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-9))),
    }


def compare_pyrothc(sites: int, batch: int, years: int) -> dict[str, Any]:
    """pyrothc per site vs gsocseq.rothc.run per site on the same 20-year forcing."""
    try:
        from pyRothC import RothC as model

        if not callable(model):  # pyrothc 0.0.4: the class is pyRothC.RothC.RothC
            model = model.RothC
    except (ImportError, AttributeError) as exc:
        print(
            f"note: pyrothc comparison skipped ({exc}); to include it: "
            "pip install pyrothc pandas scipy matplotlib",
            file=sys.stderr,
        )
        return {"skipped": str(exc)}
    from gsocseq import rothc

    rng = np.random.default_rng(2)
    month = np.arange(12)
    t = rng.uniform(5, 28, (batch, 1)) + 6 * np.cos(2 * np.pi * (month - 6) / 12)
    p = rng.uniform(30, 150, (batch, 1)) * (1 + 0.6 * np.cos(2 * np.pi * month / 12))
    e = np.clip(15 + 5.5 * t, 20, 180)
    clay = rng.uniform(5, 60, batch)
    carbon = rng.uniform(1.5, 4.0, batch)  # t C/ha/yr
    # DPM, RPM, BIO, HUM, IOM
    c0 = rng.uniform([0.1, 2, 0.5, 20, 1], [1, 10, 2, 60, 5], (batch, 5))

    def py_sites() -> None:
        for i in range(sites):
            model(
                temperature=t[i],
                precip=p[i],
                evaporation=e[i],
                years=years,
                C0=c0[i],
                input_carbon=carbon[i],
                clay=clay[i],
                soil_thickness=23.0,
                pE=1.0,
            ).compute()

    kw: dict[str, Any] = {
        "pools": c0,
        "temperature": np.tile(t, years),
        "precipitation": np.tile(p, years),
        "evaporation": np.tile(e, years),
        "cover": 0.6,
        "plant_input": np.repeat(carbon[:, None] / 12, 12 * years, axis=1),
        "dpm_rpm": 1.44,
        "clay": clay,
        "depth": 23.0,
        "evap_coefficient": 1.0,
    }
    py = _best(py_sites, 1) / sites
    g1 = _best(lambda: rothc.run(**kw, threads=1), 3) / batch
    gall = _best(lambda: rothc.run(**kw), 3) / batch
    return {
        "sites": sites,
        "batch": batch,
        "years": years,
        "pyrothc_s_per_site": py,
        "gsocseq_1thread_s_per_site": g1,
        "gsocseq_all_s_per_site": gall,
        "speedup_1thread": py / g1,
        "speedup_all": py / gall,
    }


# ---------------------------------------------------------------------------------------------
# 6. report
# ---------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return {
        "processor": platform.processor() or platform.machine(),
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "ram_gib": ram_gib,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
    }


def report(results: dict[str, Any]) -> str:
    m = results["machine"]
    ram = f"{m['ram_gib']:.1f} GiB" if m["ram_gib"] else "?"
    lines = [
        f"Machine: {m['processor'] or '?'} ({m['cpu_model'] or 'unknown CPU'}), "
        f"{m['cpus']} CPUs, {ram} RAM; {m['platform']}, Python {m['python']}, "
        f"rasterio {m['rasterio']}, GDAL {m['gdal']}",
        "",
        "| target N | grid | modelled px | inputs | run s | px/s | px/min | read s | write s "
        "| floor s | run/floor | peak MiB | model ns/px (3 chains) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["sizes"]:
        lines.append(
            f"| {r['target']:.0e} | {r['side']}x{r['side']} | {r['modelled']:,} "
            f"| {r['input_bytes'] / 2**20:,.0f} MiB {r['compression']} | {r['run_s']:.2f} "
            f"| {r['pixels_per_s']:,.0f} | {r['pixels_per_min']:,.0f} | {r['read_s']:.2f} "
            f"| {r['write_s']:.2f} | {r['floor_s']:.2f} | {r['run_over_floor']:.1f} "
            f"| {r['peak_mib']:,.0f} | {r['model_ns_per_pixel']:,.0f} |"
        )
    if results["sizes"]:
        lines += [
            "",
            "| target N | run: read s | model s | write blocks s | COG s | total s "
            "| layers | floor peak MiB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in results["sizes"]:
            t = r["run_timings"]
            lines.append(
                f"| {r['target']:.0e} | {t.get('read_s', 0):.2f} | {t.get('model_s', 0):.2f} "
                f"| {t.get('write_blocks_s', 0):.2f} | {t.get('cog_s', 0):.2f} "
                f"| {t.get('total_s', 0):.2f} | {r['layers_written']} "
                f"| {r['floor_peak_mib']:,.0f} |"
            )
    c = results.get("core_numpy")
    if c:
        lines += [
            "",
            f"Core, {c['pixels']:,} pixels x {c['months']} months (pixel-months/s):",
            f"- gsocseq.rothc.run, 1 thread: {c['gsocseq_1thread_pm_per_s']:,.0f} "
            f"({1e9 / c['gsocseq_1thread_pm_per_s']:.1f} ns per pixel-month)",
            f"- gsocseq.rothc.run, all {c['threads']} threads: {c['gsocseq_all_pm_per_s']:,.0f}",
            f"- numpy_rothc (benches/python_api.py): {c['numpy_pm_per_s']:,.0f}",
            f"- gsocseq 1 thread / numpy: {c['ratio_1thread_vs_numpy']:.1f}x; all threads / "
            f"numpy: {c['ratio_all_vs_numpy']:.1f}x (largest relative difference "
            f"{c['max_rel_diff']:.1e})",
        ]
    py = results.get("core_pyrothc")
    if py and "skipped" not in py:
        lines += [
            "",
            f"pyrothc, {py['sites']} sites x {py['years']} years: "
            f"{py['pyrothc_s_per_site'] * 1e3:.1f} ms per site; gsocseq.rothc.run "
            f"({py['batch']:,} sites in one call): {py['gsocseq_1thread_s_per_site'] * 1e6:.2f} "
            f"us per site (1 thread), {py['gsocseq_all_s_per_site'] * 1e6:.2f} us (all threads)",
            f"- gsocseq per site is {py['speedup_1thread']:,.0f}x faster than pyrothc on 1 "
            f"thread ({py['speedup_all']:,.0f}x on all threads); timing only, the numerical "
            "schemes differ",
        ]
    elif py:
        lines += ["", f"pyrothc comparison skipped: {py['skipped']}"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", nargs="*", type=float, default=[1e4], help="modelled pixels")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/gsocseq-bench"))
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--compress", choices=sorted(COMPRESSION), default="none")
    ap.add_argument(
        "--tile",
        type=int,
        default=TILE,
        help="tile size of the generated inputs (a multiple of 16; areas cached per tile size)",
    )
    ap.add_argument("--threads", type=int, default=0, help="threads of the run (0 = all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--core-pixels", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2, help="repeats of the core timings")
    ap.add_argument(
        "--rounds", type=int, default=1, help="run + floor measured this many times; best of each"
    )
    ap.add_argument("--skip-core", action="store_true", help="no core comparison")
    ap.add_argument(
        "--memory-profile",
        action="store_true",
        help="record the run's peak resident memory per phase (survey, plan, blocks, cog)",
    )
    ap.add_argument("--memory", help="the run's memory budget ([run].memory, e.g. 256M)")
    ap.add_argument("--no-floor", action="store_true", help="the run only, no I/O floor")
    args = ap.parse_args()
    if args.tile < 16 or args.tile % 16:
        ap.error(f"--tile {args.tile}: a multiple of 16 (GeoTIFF tiles), e.g. 128 or 256")
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "sizes": []}
    for n in args.sizes:
        print(f"size {n:.0e}", file=sys.stderr)
        results["sizes"].append(bench_size(workdir, n, args))
    if not args.skip_core:
        print("core comparison", file=sys.stderr)
        results["core_numpy"] = compare_numpy(args.core_pixels, 240, args.repeat)
        results["core_pyrothc"] = compare_pyrothc(20, 10_000, YEARS)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
