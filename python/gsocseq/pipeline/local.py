"""A run's blocks on this machine: each block read (the next one while this one computes),
every phase computed by the chain, its checkpoint saved; the layers assembled from the
checkpoints (:class:`Assembly`, :func:`assemble`) and the run summary written last.
"""

from __future__ import annotations

import platform
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from gsocseq.checkpoint import CorruptBlock
from gsocseq.folder import OutputError
from gsocseq.inputs import Block
from gsocseq.pipeline.plan import Plan, RunSummary, write_json_atomic
from gsocseq.rasters import InputError
from gsocseq.writing import LayerWriter


def read_block(plan: Plan, index: int, threads: Optional[int] = None) -> tuple[Block, float]:
    """The inputs of block ``index`` read, checked and gathered; and the seconds it took."""
    a = time.perf_counter()
    threads = plan.config.run.threads if threads is None else threads
    block = plan.inputs.read_block(plan.windows[index], threads)
    block.arrays = plan.chain.arguments(block.values, block.classes, block.pixel_id)
    return block, time.perf_counter() - a


def compute_block(
    plan: Plan,
    index: int,
    threads: Optional[int] = None,
    read: Optional[tuple[Block, float]] = None,
) -> None:
    """Run every phase for block ``index`` (read now, or as ``read`` by :func:`read_block`)
    and save its checkpoint."""
    block, read_s = read_block(plan, index, threads) if read is None else read
    b = time.perf_counter()
    arrays: dict[str, np.ndarray] = {
        "rows": block.rows.astype(np.int32),
        "cols": block.cols.astype(np.int32),
        "land_use": block.land_use,
    }
    flags: dict[str, int] = {}
    if block.n:
        sim = plan.chain.simulate(block.arrays, threads=threads)
        flags = plan.chain.flag_counts(sim)
        values = plan.chain.layer_values(sim, block.counts)
        for key, v in values.items():
            arrays[f"layer{key}"] = v.astype(np.float32)
    block.release()  # its buffers serve a later block
    c = time.perf_counter()
    meta = {
        "counts": {k: int(v) for k, v in block.counts.items() if v},
        "flags": flags,
        "timings": {"read_s": read_s, "model_s": c - b},
    }
    plan.checkpoint.save_block(index, arrays, meta)


def compute_blocks(
    plan: Plan,
    todo: Sequence[int],
    progress: Optional[Callable[[], None]] = None,
    assembly: Optional[Assembly] = None,
) -> None:
    """:func:`compute_block` for every block of ``todo`` in order, the next block read while
    this one computes (GDAL and the core release the GIL, so reading overlaps the model).
    With ``assembly``, every block done (and every earlier one) is written into the layers
    meanwhile, on a thread of its own."""
    if not todo:
        return
    ahead = ThreadPoolExecutor(1, thread_name_prefix="gsocseq-read-ahead")
    writes = ThreadPoolExecutor(1, thread_name_prefix="gsocseq-write")
    try:
        upcoming = ahead.submit(read_block, plan, todo[0])
        queued = assembly.written if assembly is not None else 0
        written: list[Future] = []
        for k, index in enumerate(todo):
            read = upcoming.result()
            if k + 1 < len(todo):
                upcoming = ahead.submit(read_block, plan, todo[k + 1])
            compute_block(plan, index, read=read)
            if assembly is not None:
                # blocks before this one are done too (``todo`` is in block order)
                written += [writes.submit(assembly.add, j) for j in range(queued, index + 1)]
                queued = index + 1
            if progress is not None:
                progress()
        for done in written:
            done.result()
    finally:
        # stopped (a signal, an error): the writes not started are dropped, not waited for
        ahead.shutdown(wait=True, cancel_futures=True)
        writes.shutdown(wait=True, cancel_futures=True)


class Assembly:
    """The layers of a run being written from its block checkpoints, block after block in
    block order (into temporary tiled files; :meth:`finish` converts them to COGs)."""

    def __init__(self, plan: Plan) -> None:
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
        self.writer.write(window, arrays["rows"], arrays["cols"], values, arrays["land_use"])
        self.counts.update(meta["counts"])
        self.flags.update(meta["flags"])
        self.timings.update(meta["timings"])
        self.written += 1
        self.write_s += time.perf_counter() - a

    def abort(self) -> None:
        self.writer.abort()


def assemble(
    plan: Plan, started: Optional[float] = None, assembly: Optional[Assembly] = None
) -> RunSummary:
    """Build the layers from the block checkpoints (all must exist; those not yet written by
    ``assembly``, when given), then the summary."""
    missing = plan.pending()
    if missing:
        if assembly is not None:
            assembly.abort()
        raise InputError(
            f"{plan.checkpoint.folder}: {len(missing)} of {len(plan.windows)} blocks are not "
            f"computed yet (first: block {missing[0]}); run the missing tiles first"
        )
    started = time.perf_counter() if started is None else started
    assembly = Assembly(plan) if assembly is None else assembly
    try:
        for index in range(assembly.written, len(plan.windows)):
            assembly.add(index)
        b = time.perf_counter()
        written = assembly.writer.finish()
    except BaseException:
        assembly.abort()
        raise
    counts, flags, timings = assembly.counts, assembly.flags, assembly.timings
    cfg = plan.config
    warnings = list(plan.inputs.warnings) + plan.notes
    for text, k in sorted(flags.items()):
        warnings.append(f"{k} pixels: {text}")
        counts[f"flag:{text}"] = k
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
    summary.options["modelled_classes"] = list(cfg.modelled)
    summary.options["platform"] = (
        f"{platform.system()} {platform.machine()} Python {sys.version.split()[0]}"
    )
    write_json_atomic(plan.summary_path, summary.to_dict())
    manifest = plan.checkpoint.load_manifest()
    manifest["complete"] = True
    plan.checkpoint.write_manifest(manifest)
    plan.checkpoint.remove_blocks()
    return summary
