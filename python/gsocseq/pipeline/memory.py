"""The memory budget of a run ([run].memory, ``--memory``): the block size and whether the next
block is read while this one computes, chosen so that the run's peak resident memory stays
under the budget whatever the size of the map.

What a run holds at its peak (measured with ``benches/end_to_end.py --memory-profile``): the
interpreter, numpy, GDAL and the core (:data:`BASE_MIB`), GDAL's buffers (a share of the budget
set aside: :func:`gdal_cache_mib`; GDAL's block cache is none, :data:`RUN_CACHE_MIB`), and the
inputs of
the blocks in flight - every band of every input of a block, as stored (a 20-year monthly
series is 240 bands: 20 years of T, P and PET at float32 are 2.9 kB a pixel, 190 MB for a
256 x 256 block). Only the blocks depend on the settings chosen here; a map larger than a block
never holds more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio

from gsocseq.config import Config, ConfigError, parse_memory
from gsocseq.qa_protocol import WORKERS as QA_WORKERS
from gsocseq.rasters import NATIVE_DTYPES

#: inputs of many bands read into float64 arrays (not where they lie, as the warm-up series)
GATHERED_SERIES = (
    "forward_series_temperature",
    "forward_series_precipitation",
    "forward_series_pet",
    "warmup_npp",
    "warmup_carbon_input",
)

#: The budget of a run that does not set one, MiB.
DEFAULT_MIB = 512
#: GDAL's block cache in a run (reading the blocks, converting the layers to COGs), MiB: none.
#: Blocks of whole tiles decode each tile of a band once without it; blocks smaller than the
#: tiles would need the tiles of every band of every input cached (~190 MiB for 256-pixel tiles
#: of 20-year series: more than the budgets that choose such blocks); the temporary layers are
#: band-interleaved, so their conversion decodes each tile once a pass without it. Measured at
#: 10^6 pixels (docs/scaling.md): a real 32 MiB cache made neither phase faster and added
#: 30 MiB to the blocks' peak and 25-90 MiB to the conversions'. (Until 2026-12-06 the run
#: passed this module's MiB to rasterio, which reads bytes: the cache was tens of bytes, none in
#: effect; every peak measured before was measured so.)
RUN_CACHE_MIB = 0
#: Resident memory of a run besides GDAL's cache and the blocks, MiB: the interpreter, numpy,
#: rasterio and GDAL, the core, the opened inputs and the output folder (129-136 MiB measured
#: after the plan phase, Linux x86-64, Python 3.11), and about 44 MiB more while the blocks
#: compute (threads, the layers being written), with a margin.
BASE_MIB = 180
#: Resident bytes a pixel of the block being computed holds besides its inputs: the values
#: gathered for the core, the chains' outputs, the layers and their checkpoint (1,210 fitted
#: on runs of 10^6 pixels in blocks of 128 and 256 pixels, with a margin).
COMPUTE_BYTES_PER_PIXEL = 1300
#: Blocks smaller than this (pixels a side) lose more time to per-block work than reading
#: ahead saves: below it, the next block is not read ahead (one block in flight instead).
MIN_READ_AHEAD_BLOCK = 96


@dataclass(frozen=True)
class MemoryPlan:
    """The settings of a run under a memory budget."""

    budget_mib: int
    block_size: int  # pixels a side
    read_ahead: bool  # the next block read while this one computes
    gdal_cache_mib: int  # set aside for GDAL's buffers (its block cache: RUN_CACHE_MIB)


def budget_mib(config: Config) -> int:
    """The run's budget, MiB ([run].memory, or :data:`DEFAULT_MIB`)."""
    memory = config.run.memory
    return DEFAULT_MIB if memory is None else parse_memory(memory)


def protocol_workers(budget: int) -> int:
    """Windows of the run summary's QA protocol tallied side by side: two
    (:data:`gsocseq.qa_protocol.WORKERS`) under the default budget and above, one below (each
    window held is about 25 MiB: the protocol alone on the layers of a 10^6-pixel run peaked
    at 131-133 MiB against 107 with the heap pinned, docs/scaling.md; its wall time 1.44-1.75
    -> 0.90-1.05 s of the summary phase under 512M)."""
    return 1 if budget < DEFAULT_MIB else QA_WORKERS


def pins_heap(budget: int) -> bool:
    """Whether a run under ``budget`` MiB gives malloc's large buffers mappings of their own
    (:func:`gsocseq.heap.pin_mmap_threshold`): under budgets below the default. Measured at 10^6
    pixels under 256M (docs/scaling.md): the peaks of the blocks 172-187 -> 155-156 MiB, of the
    COGs 194-202 -> 144-145, of the run summary 250-259 -> 165-166 (it grew with the map: the
    heaps kept what the QA protocol freed; 139 with the protocol's layers opened a window at a
    time), for about 1.5 s more CPU converting to COGs (8.4-8.8 -> 9.9-10.2 s: every large
    buffer mapped afresh); the default keeps glibc's own threshold (its peak is its blocks')."""
    return budget < DEFAULT_MIB


def gdal_cache_mib(budget: int) -> int:
    """Memory set aside for GDAL under ``budget`` MiB besides the blocks: a sixteenth of it,
    16 to 256 MiB (the decoded tiles being read and, converting to COGs, the tiles being
    written and their overviews; GDAL's block cache itself is :data:`RUN_CACHE_MIB`)."""
    return max(16, min(256, budget // 16))


def input_bytes_per_pixel(config: Config) -> int:
    """Bytes a pixel of a block holds of the inputs as read: every band of every input at its
    stored type (float64 for a type the core does not read in place)."""
    total = 0
    for key, spec in config.inputs.items():
        with rasterio.open(spec.path) as ds:
            stored = ds.dtypes[0]
            # the refinements' series (hundreds of bands) are gathered into float64 too
            native = stored in NATIVE_DTYPES and key not in GATHERED_SERIES
            dtype = np.dtype(stored if native else np.float64)
            total += ds.count * dtype.itemsize
    return total


def input_tile(config: Config) -> int:
    """Pixels a side of the tiles of the input holding the most bytes a pixel (the warm-up
    series: their tiles are the ones decoded again for every block that meets them; the
    first such input on a tie), 16 for an input in strips or tiles of no multiple of 16."""
    best, tile = -1, 16
    for spec in config.inputs.values():
        with rasterio.open(spec.path) as ds:
            size = ds.count * np.dtype(ds.dtypes[0]).itemsize
            if size > best:
                rows, cols = ds.block_shapes[0]
                best, tile = size, min(rows, cols) if min(rows, cols) % 16 == 0 else 16
    return tile


def plan_memory(
    config: Config, height: int, width: int, per_pixel: int, tile: int = 16
) -> MemoryPlan:
    """The settings of a run of ``config`` on a grid of ``height`` x ``width`` pixels whose
    inputs hold ``per_pixel`` bytes a pixel and are tiled ``tile`` pixels a side: the largest
    block (a multiple of 16, at most [run].block_size) whose blocks in flight fit in the
    budget, in this order of preference: blocks of whole tiles reading ahead (two blocks in
    flight), then one at a time; blocks that divide the tiles reading ahead (at least
    :data:`MIN_READ_AHEAD_BLOCK` pixels), then one at a time; any block. A compressed tile is
    decoded once for every block it meets (measured: 96-pixel blocks on 256-pixel DEFLATE
    tiles read 5x slower), so fewer blocks in flight come before blocks that cut the tiles."""
    budget = budget_mib(config)
    cache = gdal_cache_mib(budget)
    room = (budget - BASE_MIB - cache) * 2**20

    def blocks_bytes(size: int, in_flight: int) -> float:
        pixels = min(size, height) * min(size, width)
        return pixels * (in_flight * per_pixel + COMPUTE_BYTES_PER_PIXEL)

    sizes = range(config.run.block_size, 15, -16)
    whole_tiles = [s for s in sizes if s % tile == 0 or s >= max(height, width)]
    in_tiles = [s for s in sizes if tile % s == 0]
    for in_flight, candidates in (
        (2, whole_tiles),
        (1, whole_tiles),
        (2, [s for s in in_tiles if s >= MIN_READ_AHEAD_BLOCK]),
        (1, in_tiles),
        (2, [s for s in sizes if s >= MIN_READ_AHEAD_BLOCK]),
        (1, sizes),
    ):
        for size in candidates:
            if blocks_bytes(size, in_flight) <= room:
                return MemoryPlan(budget, size, in_flight == 2, cache)
    raise ConfigError(
        f"memory: {budget}M cannot hold one block of 16 x 16 pixels of these inputs "
        f"({per_pixel} bytes a pixel) besides {BASE_MIB}M for the run itself: give more"
    )
