"""The pipeline of ``gsocseq run`` and :func:`gsocseq.run`: the whole GSOCseq chain on the
rasters of a configuration, block by block.

Peak memory is bounded by the block size, not the raster size: every input is read one window
at a time, the chain (:mod:`gsocseq.chain`) runs all phases for the window's modelled pixels,
and the window's results are saved as a block checkpoint (:mod:`gsocseq.checkpoint`). Once
every block exists, the layers are assembled into tiled GeoTIFFs and converted to Cloud
Optimized GeoTIFFs, each under a temporary name renamed when complete; the run summary is
written last. Blocks are the unit of resumption (a killed run continues where it stopped), of
tiling (``--tile i/N``) and of distribution (Dask).

Rooms: :mod:`~gsocseq.pipeline.plan` (an opened run), :mod:`~gsocseq.pipeline.local` (blocks
on this machine, assembly), :mod:`~gsocseq.pipeline.dask` (blocks on a Dask cluster),
:mod:`~gsocseq.pipeline.memory` (the settings a memory budget chooses); this module chooses
among them. (A package named ``run`` would hide the function :func:`gsocseq.run` once
imported.)
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

import rasterio

from gsocseq.config import Config, load, with_options
from gsocseq.errors import ConfigError, InputError, OutputError
from gsocseq.folder import write_errors
from gsocseq.gdalcache import cache_env
from gsocseq.heap import pin_mmap_threshold
from gsocseq.pipeline.local import Assembly, assemble, compute_blocks
from gsocseq.pipeline.memory import (
    RUN_CACHE_MIB,
    MemoryPlan,
    budget_mib,
    input_bytes_per_pixel,
    input_tile,
    pins_heap,
    plan_memory,
)
from gsocseq.pipeline.plan import Interrupted, Plan, RunInterrupted, RunSummary
from gsocseq.survey import check_inputs

#: GDAL settings (a user's own settings win): a bounded block cache, so that memory does not
#: grow with the area (a run's: none, gsocseq.pipeline.memory.RUN_CACHE_MIB). GDAL_NUM_THREADS
#: is left to the user: the inputs of a block are already read side by side while the model
#: computes, and on 2 cores GDAL's own threads cost more CPU than they save (2x the CPU for
#: uncompressed inputs, measured). (GTIFF_DIRECT_IO=YES reads uncompressed inputs faster, but
#: then a truncated file reads as zeros without an error.) GDAL_CACHEMAX in MiB here;
#: :func:`gdal_env` gives it to rasterio in bytes.
GDAL_ENV = (("GDAL_CACHEMAX", 256),)


def gdal_env(cache_mib: Optional[int] = None) -> dict[str, Any]:
    """The GDAL settings of :data:`GDAL_ENV` (GDAL_CACHEMAX ``cache_mib`` MiB when given) that
    the environment does not set already, as rasterio.Env options (the cache in bytes:
    :mod:`gsocseq.gdalcache`)."""
    env = dict(GDAL_ENV)
    if cache_mib is not None:
        env["GDAL_CACHEMAX"] = cache_mib
    env.update(cache_env(env["GDAL_CACHEMAX"]))
    return {k: v for k, v in env.items() if k not in os.environ}


def with_memory_plan(cfg: Config) -> tuple[Config, MemoryPlan]:
    """``cfg`` with the block size its memory budget chooses, and the plan (block size, read
    ahead, GDAL cache; :mod:`gsocseq.pipeline.memory`)."""
    master = cfg.inputs["spinup_stack" if cfg.layout == "fao" else "soc"]
    try:
        with rasterio.open(master.path) as ds:
            height, width = ds.height, ds.width
        per_pixel, tile = input_bytes_per_pixel(cfg), input_tile(cfg)
    except rasterio.errors.RasterioIOError:
        # an input that does not open: the checks that follow name it
        return cfg, plan_memory(cfg, 1, 1, 1)
    mem = plan_memory(cfg, height, width, per_pixel, tile)
    if mem.block_size != cfg.run.block_size:
        cfg = with_options(cfg, block_size=mem.block_size)
    return cfg, mem


def parse_tile(tile: str) -> tuple[int, int]:
    """'i/N' -> (i, N) with 1 <= i <= N."""
    try:
        i, n = (int(v) for v in tile.split("/"))
    except ValueError:
        raise ConfigError(f"--tile: expected i/N such as 2/8, got {tile!r}") from None
    if not 1 <= i <= n:
        raise ConfigError(f"--tile: expected 1 <= i <= N, got {tile!r}")
    return i, n


def tile_blocks(count: int, tile: tuple[int, int]) -> list[int]:
    """Blocks of tile i of N: a contiguous run of the block order."""
    i, n = tile
    return list(range((i - 1) * count // n, i * count // n))


def _existing_summary(plan: Plan) -> RunSummary:
    data = json.loads(plan.summary_path.read_text(encoding="utf-8"))
    data["status"] = "up to date"
    data["output"] = str(plan.out_dir)  # the file has paths relative to it
    return RunSummary(**{k: v for k, v in data.items() if k in RunSummary.__dataclass_fields__})


def run(
    config: Union[str, os.PathLike, dict, Config],
    *,
    quiet: bool = True,
    progress: Optional[Callable[[int, int], None]] = None,
    tile: Optional[str] = None,
    scheduler: Optional[str] = None,
    wait: bool = False,
    notify: Optional[Callable[[str], None]] = None,
    **overrides: Any,
) -> RunSummary:
    """Run the GSOCseq chain for a configuration (path, mapping or :class:`Config`).

    ``overrides`` change [run] options (e.g. ``threads=1``, ``qa_mask=False``). Returns the run
    summary, also written as ``{name}_GSOCseq_run.json`` in the output folder, last. Running a
    finished run again with unchanged inputs (by content) and configuration does nothing; a run
    that was interrupted continues where it stopped; a folder holding a run of another
    configuration or other inputs is refused unless ``overwrite=True``. ``tile="i/N"`` computes
    only tile i of N (then :func:`assemble_run`); ``scheduler`` ("local:N" or a
    dask.distributed address) spreads the blocks over a Dask cluster. The output folder is held
    by one run at a time: ``wait`` waits for another holder to finish (``notify`` is told
    once; without ``quiet``, also when the layers are being assembled) instead of raising
    :class:`~gsocseq.folder.FolderInUse`. ``progress(done, total)`` counts pixels of the grid:
    called once before the first block (``done`` > 0: a resumed run) and as the parts of each
    block are computed.
    Raises :class:`~gsocseq.config.ConfigError` or :class:`~gsocseq.rasters.InputError` (and
    its :class:`~gsocseq.folder.OutputError` for the folder: in use, names too long, a write
    failure such as a full disk) for what the user can fix; :class:`RunInterrupted` when
    stopped by Ctrl-C (or :class:`Interrupted`), temporaries removed.
    Under a budget below the default ([run].memory), sets glibc's mmap threshold for the rest
    of the process (:mod:`gsocseq.heap`: freed buffers leave it; no number depends on it).
    """
    started = time.perf_counter()
    cfg = load(config)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        cfg = with_options(cfg, **overrides)
    scheduler = scheduler or cfg.run.scheduler
    if tile and scheduler:
        raise ConfigError("--tile and --scheduler exclude each other")
    chosen_tile = parse_tile(tile) if tile else None
    local = not (tile or scheduler)
    mode = "tile" if tile else "run"
    cfg, mem = with_memory_plan(cfg)
    if pins_heap(mem.budget_mib):  # freed buffers leave the process (gsocseq.heap)
        pin_mmap_threshold()
    with rasterio.Env(**gdal_env(RUN_CACHE_MIB)):
        check_inputs(cfg)  # the units, before any computation (METHOD.md 2)
    with (
        rasterio.Env(**gdal_env(RUN_CACHE_MIB)),
        Plan(cfg, defer_fingerprint=local, mode=mode, wait=wait, notify=notify) as plan,
    ):
        if plan.complete:
            return _existing_summary(plan)
        chosen = tile_blocks(len(plan.windows), chosen_tile) if chosen_tile else None
        with write_errors(plan.out_dir, plan.need_bytes):
            if plan.resumed:
                plan.verify(chosen)
            todo = plan.pending(chosen)
            # progress in pixels of the grid (a block's, as its parts are computed)
            total = plan.pixels(chosen if chosen is not None else range(len(plan.windows)))
            done = total - plan.pixels(todo)
            blocks = len(chosen) if chosen is not None else len(plan.windows)
            if notify is not None and not quiet and len(todo) < blocks:
                notify(f"resuming: {blocks - len(todo)} of {blocks} blocks done")
            if progress is not None:
                progress(done, total)

            def advance(pixels: int) -> None:
                nonlocal done
                done += pixels
                if progress is not None:
                    progress(done, total)

            assembly: Optional[Assembly] = None
            try:
                if scheduler:
                    from gsocseq.pipeline.dask import compute_on_dask

                    compute_on_dask(cfg, plan, todo, scheduler, advance)
                    plan.check_unchanged()
                else:
                    # the layers are written while the blocks compute (not for a tile of a run)
                    assembly = None if tile or not todo else Assembly(plan, RUN_CACHE_MIB)
                    try:
                        compute_blocks(plan, todo, advance, assembly, mem.read_ahead)
                        plan.settle_fingerprint()
                        plan.check_unchanged()
                    except BaseException:
                        if assembly is not None:
                            assembly.abort()
                        raise
                if tile:
                    return RunSummary(
                        name=cfg.run.name,
                        mode=cfg.run.mode,
                        output=str(plan.out_dir),
                        status=f"tile {tile} computed ({len(chosen or [])} blocks); run "
                        "gsocseq assemble when all tiles exist",
                    )
                if notify is not None and not quiet:
                    notify(f"assembling the layers in {plan.out_dir}")
                return assemble(plan, started, assembly, RUN_CACHE_MIB)
            except KeyboardInterrupt as exc:
                raise _interrupted(plan, exc, chosen) from None


def _interrupted(plan: Plan, exc: KeyboardInterrupt, chosen: Optional[Sequence[int]]) -> Any:
    """The :class:`RunInterrupted` of a run stopped by ``exc`` (its temporaries removed by
    then): the fingerprint hashed meanwhile is waited for, so that the blocks kept count."""
    try:
        plan.settle_fingerprint()
    except Exception:  # pragma: no cover - then the next run starts over
        pass
    indices = range(len(plan.windows)) if chosen is None else chosen
    kept = sum(1 for i in indices if plan.checkpoint.done(i))
    signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
    return RunInterrupted(signum, kept, len(indices))


def assemble_run(
    config: Union[str, os.PathLike, dict, Config],
    *,
    wait: bool = False,
    notify: Optional[Callable[[str], None]] = None,
    **overrides: Any,
) -> RunSummary:
    """Assemble the layers of a tiled run once every tile has been computed (a damaged block
    checkpoint is computed again). Refused for a configuration or inputs other than the
    tiles'."""
    cfg = load(config)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        cfg = with_options(cfg, **overrides)
    if pins_heap(budget_mib(cfg)):  # freed buffers leave the process (gsocseq.heap)
        pin_mmap_threshold()
    with (
        rasterio.Env(**gdal_env(RUN_CACHE_MIB)),
        Plan(cfg, mode="assemble", wait=wait, notify=notify) as plan,
    ):
        if plan.complete:
            return _existing_summary(plan)
        with write_errors(plan.out_dir, plan.need_bytes):
            try:
                bad = plan.verify()
                if bad and not plan.pending([i for i in range(len(plan.windows)) if i not in bad]):
                    compute_blocks(plan, bad)
                return assemble(plan, gdal_cache_mib=RUN_CACHE_MIB)
            except KeyboardInterrupt as exc:
                raise _interrupted(plan, exc, None) from None


__all__ = [
    "GDAL_ENV",
    "ConfigError",
    "InputError",
    "Interrupted",
    "OutputError",
    "Plan",
    "RunInterrupted",
    "RunSummary",
    "assemble_run",
    "gdal_env",
    "run",
]
