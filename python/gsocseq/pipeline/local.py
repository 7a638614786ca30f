"""A run's blocks on this machine: each block read (the next one while this one computes),
every phase computed by the chain, its checkpoint saved; the layers assembled from the
checkpoints (:class:`Assembly`, :func:`assemble`) and the run summary written last.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from gsocseq import __version__, products, styles
from gsocseq.chain import FLAGS, MC_NOT_FINITE, exclusion_rules, unapplied_exclusion_rules
from gsocseq.checkpoint import CorruptBlock, layer_hashes
from gsocseq.config import GROUPS, Config, describe_scenarios
from gsocseq.errors import InputError, OutputError
from gsocseq.inputs import Block, WindowBands
from gsocseq.pipeline.memory import RUN_CACHE_MIB, budget_mib, protocol_workers
from gsocseq.pipeline.plan import Plan, RunSummary, write_json_atomic
from gsocseq.products import LAND_USE_NODATA
from gsocseq.qa_protocol import national
from gsocseq.writing import LayerWriter


def read_block(plan: Plan, index: int, threads: Optional[int] = None) -> tuple[Block, float]:
    """The inputs of block ``index`` read, checked and gathered; and the seconds it took."""
    a = time.perf_counter()
    threads = plan.config.run.threads if threads is None else threads
    block = plan.inputs.read_block(plan.windows[index], threads)
    block.arrays = plan.chain.arguments(block.values, block.classes, block.pixel_id, block.counts)
    return block, time.perf_counter() - a


#: the fewest pixels of one call into the core when a block is computed in parts (the parts
#: advance the progress; a block of fewer pixels is one call)
MIN_PART = 2048
#: parts of a block at most
PARTS = 16


def part_bounds(n: int) -> list[tuple[int, int]]:
    """(start, stop) of the parts of a block of ``n`` modelled pixels: up to :data:`PARTS`
    parts of at least :data:`MIN_PART` pixels, multiples of 16 (the core's lanes) but the
    last. Each pixel is computed alone, so the parts give the bits of one call."""
    if n <= MIN_PART:
        return [(0, n)]
    size = max(MIN_PART, -(-n // PARTS))
    size = -(-size // 16) * 16
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def part_of(arrays: dict[str, Any], n: int, a: int, b: int) -> dict[str, Any]:
    """The core's arguments of pixels ``a:b`` of a block of ``n`` (views; the warm-up series
    read where they lie: their pixel indices sliced)."""
    if (a, b) == (0, n):
        return arrays
    out: dict[str, Any] = {}
    for k, v in arrays.items():
        if isinstance(v, WindowBands):
            out[k] = replace(v, pixels=v.pixels[a:b])
        elif isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == n:
            out[k] = v[a:b]
        else:
            out[k] = v
    return out


def compute_block(
    plan: Plan,
    index: int,
    threads: Optional[int] = None,
    read: Optional[tuple[Block, float]] = None,
    advance: Optional[Callable[[int], None]] = None,
    commit: Optional[Callable[[int, Path], None]] = None,
) -> None:
    """Run every phase for block ``index`` (read now, or as ``read`` by :func:`read_block`)
    and save its checkpoint; ``advance(pixels)`` is told the block's pixels (of the grid, the
    window's) as its parts are computed (:func:`part_bounds`). With ``commit``, the
    checkpoint is written to its temporary here and ``commit(index, temporary)`` told to sync
    and rename it (:meth:`~gsocseq.checkpoint.Checkpoint.commit_block`, e.g. on another
    thread); else saved whole here."""
    block, read_s = read_block(plan, index, threads) if read is None else read
    b = time.perf_counter()
    window = plan.windows[index]
    pixels = int(window.height) * int(window.width)
    arrays: dict[str, np.ndarray] = {
        "rows": block.rows.astype(np.int32),
        "cols": block.cols.astype(np.int32),
        "land_use": block.land_use,
        "exclusion": block.exclusion,
    }
    flags: Counter = Counter()
    pixel_flags: list[np.ndarray] = []
    told = 0
    if block.n:
        # values of every modelled pixel (the excluded ones for the FAO delivery); the QA
        # counts are the national layers'
        masked = plan.chain.modelled.masked(block.exclusion)
        parts: dict[str, list[np.ndarray]] = {}
        bounds = part_bounds(block.n)

        def simulate(k: int) -> Any:
            lo, hi = bounds[k]
            return plan.chain.simulate(part_of(block.arrays, block.n, lo, hi), threads=threads)

        # the core computes the next part while this thread turns the last one into layer
        # values (numpy, much of it under the GIL: a core would wait for it otherwise); the
        # parts are computed apart anyway, so the bits are those of one call
        model = ThreadPoolExecutor(1, thread_name_prefix="gsocseq-model")
        try:
            model.submit(int)  # its thread started before any real work (see compute_blocks)
            coming = model.submit(simulate, 0)
            for k, (lo, hi) in enumerate(bounds):
                sim = coming.result()
                if k + 1 < len(bounds):
                    coming = model.submit(simulate, k + 1)

                def where(i: int, name: str, lo: int = lo) -> str:
                    r, c = int(block.rows[lo + i]), int(block.cols[lo + i])
                    return plan.inputs.spinup_location(window, r, c, name)

                # a pixel without equilibrium: an input error, or not modelled (its results NaN)
                none = plan.chain.no_equilibrium(sim, where, block.counts)
                if none.any():  # not modelled after all: out of the land-use layer and counts
                    for c in block.classes[lo:hi][none, -1]:
                        block.counts[f"modelled:class_{int(c)}"] -= 1
                    block.counts["modelled"] -= int(none.sum())
                    block.land_use[block.rows[lo:hi][none], block.cols[lo:hi][none]] = (
                        LAND_USE_NODATA
                    )
                flags.update(plan.chain.flag_counts(sim))
                pixel_flags.append(np.asarray(sim["flags"], dtype=np.uint8))
                counted = ~masked[lo:hi] if masked[lo:hi].any() else None
                values = plan.chain.layer_values(sim, block.counts, counted)
                for key, v in values.items():
                    parts.setdefault(f"layer{key}", []).append(v.astype(np.float32))
                del sim, values
                if advance is not None and k + 1 < len(bounds):
                    share = pixels * (k + 1) // len(bounds)
                    advance(share - told)
                    told = share
        finally:
            # stopped (a signal, an input error): the part being computed ends first
            model.shutdown(wait=True, cancel_futures=True)
        for key, chunks in parts.items():
            arrays[key] = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        arrays["flags"] = np.concatenate(pixel_flags)
    block.release()  # its buffers serve a later block
    c = time.perf_counter()
    meta = {
        "counts": {k: int(v) for k, v in block.counts.items() if v},
        "flags": dict(flags),
        "timings": {"read_s": read_s, "model_s": c - b},
    }
    if commit is None:
        plan.checkpoint.save_block(index, arrays, meta)
    else:
        commit(index, plan.checkpoint.write_block(index, arrays, meta))
    if advance is not None:
        advance(pixels - told)


def compute_blocks(
    plan: Plan,
    todo: Sequence[int],
    advance: Optional[Callable[[int], None]] = None,
    assembly: Optional[Assembly] = None,
    read_ahead: bool = True,
) -> None:
    """:func:`compute_block` for every block of ``todo`` in order, the next block read while
    this one computes (GDAL and the core release the GIL, so reading overlaps the model;
    with ``read_ahead`` False, one block after the other: half the blocks in memory);
    ``advance(pixels)`` told the pixels computed. Each block's checkpoint is written here and
    synced to disk and given its name on a thread of its own (the sync waits for the disk: the
    next block computes meanwhile); a failed sync stops the run as a failed write does, and a
    stop (a signal, an error) waits for the sync under way and removes the temporaries not
    synced, so that a checkpoint exists whole or not at all as before. With ``assembly``,
    every block done (and every earlier one) is written into the layers meanwhile, on that
    thread, after its checkpoint (from the checkpoint: the block's own memory is free by then,
    reading ahead or not)."""
    if not todo:
        return
    ahead = ThreadPoolExecutor(1, thread_name_prefix="gsocseq-read-ahead") if read_ahead else None
    writing = False  # a checkpoint may have been written (a temporary of this process)
    writes = ThreadPoolExecutor(1, thread_name_prefix="gsocseq-write")
    try:
        # each pool's one thread started before any real work: a signal that interrupts a
        # thread's start (submit waits for it) leaves that thread out of the pool's list, so
        # that shutdown would not wait for it (a block written while the layers are removed)
        writes.submit(int)
        upcoming: Optional[Future] = None
        if ahead is not None:
            ahead.submit(int)
            upcoming = ahead.submit(read_block, plan, todo[0])
        queued = assembly.written if assembly is not None else 0
        written: list[Future] = []

        def commit(index: int, tmp: Path) -> None:
            # in order, before the layers read the block (the one thread: first in, first run)
            written.append(writes.submit(plan.checkpoint.commit_block, index, tmp))

        for k, index in enumerate(todo):
            read = None
            if ahead is not None and upcoming is not None:
                read = upcoming.result()
                if k + 1 < len(todo):
                    upcoming = ahead.submit(read_block, plan, todo[k + 1])
            writing = True
            compute_block(plan, index, read=read, advance=advance, commit=commit)
            if assembly is not None:
                # blocks before this one are done too (``todo`` is in block order)
                written += [writes.submit(assembly.add, j) for j in range(queued, index + 1)]
                queued = index + 1
            # a failed write stops the run at the next block, not after all of them
            while written and written[0].done():
                written.pop(0).result()
        for done in written:
            done.result()
    finally:
        # stopped (a signal, an error): the writes not started are dropped, not waited for,
        # and so are the checkpoints not synced (their temporaries removed: computed again)
        if ahead is not None:
            ahead.shutdown(wait=True, cancel_futures=True)
        writes.shutdown(wait=True, cancel_futures=True)
        if writing:
            for tmp in plan.checkpoint.temporaries():
                tmp.unlink(missing_ok=True)


def exclusion_description(config: Config) -> str:
    """The exclusion mask's band description: its bits, and whether the national layers leave
    those pixels out."""
    rules = ", ".join(f"{bit} {text}" for _, bit, _, text in exclusion_rules(config))
    applied = (
        "left out of the national layers (their values: "
        f"{products.excluded_values_file(config.run.name)}, delivered by gsocseq export --fao)"
        if config.exclusions.enabled
        else "kept in the national layers ([exclusions] enabled = false)"
    )
    return f"exclusion rules met (sum of bits): {rules}; 0 none; 255 not modelled; {applied}"


def flags_description() -> str:
    """The flags layer's band description: each bit and its words."""
    words = "; ".join(f"{bit} {text}" for bit, text in sorted(FLAGS.items()))
    return f"warnings raised (sum of bits): {words}; 0 none; {products.FLAGS_NODATA} not modelled"


def provenance(config: Config) -> dict[str, str]:
    """The GeoTIFF tags of every layer of a run: what made it and how (mode, version,
    scenario input increases, exclusions, date)."""
    run = config.run
    increases = "; ".join(
        f"{name}: " + ", ".join(f"{g} +{100 * v:g} %" for g, v in zip(GROUPS, table))
        for name, table in config.scenarios.items()
    )
    return {
        "producer": f"gsocseq {__version__}",
        "gsocseq_run": run.name,
        "gsocseq_mode": run.mode,
        "gsocseq_spinup": run.spinup,
        "gsocseq_uncertainty": run.uncertainty,
        "gsocseq_years": str(run.years),
        "gsocseq_scenarios": increases,
        "gsocseq_exclusions": "masked" if config.exclusions.enabled else "not masked",
        "gsocseq_qa_mask": "yes" if run.qa_mask else "no",
        "gsocseq_date": _dt.datetime.now(_dt.timezone.utc).date().isoformat(),
    }


def _relative(path: Union[str, Path], base: Path) -> str:
    """``path`` relative to ``base`` (a run summary names no user's directory layout), or as
    it is where no relative path leads there (another drive on Windows)."""
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:
        return str(path)


class Assembly:
    """The layers of a run being written from its block checkpoints, block after block in
    block order (into temporary tiled files; :meth:`finish` converts them to COGs)."""

    def __init__(self, plan: Plan, gdal_cache_mib: int = RUN_CACHE_MIB) -> None:
        self.plan = plan
        self.counts: Counter = Counter()
        self.flags: Counter = Counter()
        self.timings: Counter = Counter()
        self.written = 0  # blocks written: the next one to write
        self.write_s = 0.0
        self.writer = LayerWriter(
            plan.out_dir,
            plan.prefix,
            plan.inputs.master.dataset,
            plan.layers,
            tile=plan.config.run.block_size,
            exclusion=exclusion_description(plan.config),
            excluded_layers=plan.excluded_layers,
            tags=provenance(plan.config),
            flags=flags_description() if plan.config.run.flags else None,
            gdal_cache_mib=gdal_cache_mib,
        )

    def add(self, index: int) -> None:
        """Write block ``index`` (the next one in order) from its checkpoint."""
        assert index == self.written, "blocks are written in order"
        a = time.perf_counter()
        try:
            arrays, meta = self.plan.checkpoint.load_block(index)
        except CorruptBlock as exc:  # damaged since it was checked: the next run computes it
            self.plan.checkpoint.block_path(index).unlink(missing_ok=True)
            raise OutputError(f"{exc}; run the same command again to compute it anew") from None
        values = {k[len("layer") :]: v for k, v in arrays.items() if k.startswith("layer")}
        window = self.plan.windows[index]
        # (a checkpoint of an earlier version has no exclusion bits: none met)
        bits = arrays.get("exclusion", np.zeros(len(arrays["rows"]), dtype=np.uint8))
        self.writer.write(
            window,
            arrays["rows"],
            arrays["cols"],
            values,
            arrays["land_use"],
            exclusion=bits,
            masked=self.plan.chain.modelled.masked(bits),
            flags=arrays.get("flags"),
        )
        self.counts.update(meta["counts"])
        self.flags.update(meta["flags"])
        self.timings.update(meta["timings"])
        self.written += 1
        self.write_s += time.perf_counter() - a

    def abort(self) -> None:
        self.writer.abort()


def assemble(
    plan: Plan,
    started: Optional[float] = None,
    assembly: Optional[Assembly] = None,
    gdal_cache_mib: int = RUN_CACHE_MIB,
) -> RunSummary:
    """Build the layers from the block checkpoints (all must exist; those not yet written by
    ``assembly``, when given; GDAL's cache ``gdal_cache_mib`` MiB), then the summary."""
    missing = plan.pending()
    if missing:
        if assembly is not None:
            assembly.abort()
        raise InputError(
            f"{plan.checkpoint.folder}: {len(missing)} of {len(plan.windows)} blocks are not "
            f"computed yet (first: block {missing[0]}); run the missing tiles first"
        )
    started = time.perf_counter() if started is None else started
    assembly = Assembly(plan, gdal_cache_mib) if assembly is None else assembly
    try:
        for index in range(assembly.written, len(plan.windows)):
            assembly.add(index)
        plan.inputs.drop_buffers()  # every block is read: their memory serves the COGs
        b = time.perf_counter()
        written = assembly.writer.finish()
        styles.write_styles(written, plan.prefix)
    except BaseException:
        assembly.abort()
        raise
    counts, flags, timings = assembly.counts, assembly.flags, assembly.timings
    cfg = plan.config
    warnings = list(plan.inputs.warnings) + plan.notes
    for text, k in sorted(flags.items()):
        warnings.append(f"{k} pixels: {text}")
        counts[f"flag:{text}"] = k
    # pixels of a modelled class left out for nodata in an input (a count in run.json only:
    # an uncertainty raster with holes took half an area out of every layer, exit 0)
    holes = {k.split(":", 1)[1]: int(v) for k, v in counts.items() if k.startswith("nodata:") and v}
    if holes:
        named = [
            f"{name} {n:,}" + (f" ({cfg.inputs[name].path.name})" if name in cfg.inputs else "")
            for name, n in sorted(holes.items())
        ]
        warnings.append(
            "pixels of a modelled class not modelled for nodata in every band of an input "
            f"(no value in any layer): {', '.join(named)}"
        )
    # pixels of the area (SOC has a value) without land use: prepare's report counted them,
    # the run said nothing (a land-use raster covering part of the country, exit 0)
    bare = counts.get("area:no_land_use", 0)
    if bare:
        outside = sum(v for k, v in counts.items() if k.startswith("area:class_"))
        soc = plan.inputs.master.path.name
        warnings.append(
            f"{bare:,} pixels of the area (SOC has a value in {soc}) have no land use in "
            f"{plan.inputs.land_use_source()}: not modelled, nodata in every layer (modelled "
            f"{counts.get('modelled', 0):,}, of classes not modelled {outside:,}); the land-use "
            "raster covers only part of the area: give it the SOC map's extent"
        )
    unapplied = unapplied_exclusion_rules(cfg)
    if unapplied and cfg.exclusions.enabled:
        warnings.append(
            "exclusion rules not applied, their input not given: "
            + ", ".join(f"{text} ([inputs] {name})" for name, text in unapplied)
            + ": no pixel is left out by them; give the rasters to apply them"
        )
    uncalibrated = counts.get("calibration:uncalibrated", 0)
    table = plan.chain.calibration
    if uncalibrated and table is not None:
        # (a count in run.json only: a table of zones the zone raster does not hold calibrated
        # nothing, exit 0)
        modelled = counts.get("modelled", 0)
        share = (
            f"none of the {modelled:,} modelled pixels has a multiplier"
            if uncalibrated >= modelled
            else f"{uncalibrated:,} of the {modelled:,} modelled pixels have no multiplier"
        )
        warnings.append(
            f"{share} in the calibration table {table.source} (by {table.by}: "
            f"groups {', '.join(sorted(set(table.input) | set(table.rate)))}): those pixels "
            "ran uncalibrated (multiplier 1)"
        )
    lost = counts.get(MC_NOT_FINITE, 0)
    if lost:
        warnings.append(
            f"{lost:,} pixels have no Monte Carlo values (nodata in the _MC030 layers): a draw "
            "gave no result, most likely SOC drawn below 0 (a draw is SOC x (1 + z "
            "soc_uncertainty / 196), below 0 for z < -196 / soc_uncertainty: with 100 draws "
            "in a few pixels from a soc_uncertainty of 45 %, in most from 80 %); the min/max "
            "layers have their values"
        )
    # invalid = "mask": say what was masked (a whole year x100 masks every pixel, exit 0)
    masked = {k.split(":", 1)[1]: int(v) for k, v in counts.items() if k.startswith("invalid:")}
    if any(masked.values()):
        listing = ", ".join(f"{name} {v:,}" for name, v in sorted(masked.items()) if v)
        warnings.append(
            f'pixels not modelled for invalid input ([run] invalid = "mask"): {listing}; '
            'invalid = "error" names the first value'
        )
    summary = RunSummary(
        name=cfg.run.name,
        mode=cfg.run.mode,
        output=str(plan.out_dir),
        layers=[p.name for p in written],
        counts={k: int(v) for k, v in sorted(counts.items()) if v},
        warnings=warnings,
        timings={
            "read_s": round(timings["read_s"], 3),
            "model_s": round(timings["model_s"], 3),
            "write_blocks_s": round(assembly.write_s, 3),
            "cog_s": round(time.perf_counter() - b, 3),
            "total_s": round(time.perf_counter() - started, 3),
        },
        options={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg.run).items()},
        inputs={k: str(v.path) for k, v in cfg.inputs.items()},
    )
    summary.options["scenarios"] = {k: list(v) for k, v in cfg.scenarios.items()}
    summary.options["scenario_descriptions"] = describe_scenarios(cfg)
    summary.options["modelled_classes"] = list(cfg.modelled)
    # the rules a pixel was tested against (sand > 90 % without a sand input was listed as
    # applied: the report said sandy soils were left out)
    unapplied = unapplied_exclusion_rules(cfg)
    summary.options["exclusions"] = {
        "enabled": cfg.exclusions.enabled,
        "rules": [
            text for name, _, _, text in exclusion_rules(cfg) if (name, text) not in unapplied
        ],
        "not_applied": [f"{text} (no {name} input)" for name, text in unapplied],
    }
    summary.options["platform"] = (
        f"{platform.system()} {platform.machine()} Python {sys.version.split()[0]}"
    )
    # paths in the file relative to the output folder; the summary returned has them whole
    written_summary = summary.to_dict()
    written_summary["output"] = "."
    written_summary["options"]["output"] = "."
    written_summary["inputs"] = {
        k: _relative(v, plan.out_dir) for k, v in written_summary["inputs"].items()
    }
    for key, path in summary.inputs.items():  # the warnings name inputs by the same paths
        rel = written_summary["inputs"][key]
        written_summary["warnings"] = [w.replace(path, rel) for w in written_summary["warnings"]]
    # the Annex II QA protocol on the national layers (also in the report and the export)
    # (its windows side by side but under budgets below the default: pipeline.memory)
    workers = protocol_workers(budget_mib(cfg))
    qa = national(plan.out_dir, plan.prefix, written_summary["options"], workers=workers)
    if qa is not None:
        summary.qa_protocol = written_summary["qa_protocol"] = qa.to_dict()
    write_json_atomic(plan.summary_path, written_summary)
    manifest = plan.checkpoint.load_manifest()
    manifest["complete"] = True
    # the layers' contents: a layer changed later is not taken for the run's (run, export)
    manifest["layer_hashes"] = layer_hashes(plan.out_dir, plan.outputs)
    plan.checkpoint.write_manifest(manifest)
    plan.checkpoint.remove_blocks()
    return summary
