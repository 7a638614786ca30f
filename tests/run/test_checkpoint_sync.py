"""Block checkpoints synced off the run's thread (issue 23): each block's checkpoint is written
on the run's thread, synced to disk and renamed on the writing thread, before the layers read
it; a failed sync stops the run with no temporary left, and a stop waits for the sync under way
and removes the temporaries of the checkpoints not synced (computed again by the next run)."""

from __future__ import annotations

import errno
import os
import threading
from collections import Counter
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from rasterio.windows import Window

from gsocseq.checkpoint import Checkpoint
from gsocseq.pipeline import local

BLOCKS = 4


class _Block:
    """A block of a 2 x 2 window without modelled pixels (no call into the core)."""

    n = 0

    def __init__(self, index: int) -> None:
        self.rows = np.array([0, 1, index % 2])
        self.cols = np.array([1, 0, 1])
        self.land_use = np.full((2, 2), index, dtype=np.int16)
        self.exclusion = np.zeros(3, dtype=np.uint8)
        self.counts = Counter({"pixels": 4 + index})

    def release(self) -> None:
        pass


def _plan(tmp_path: Path) -> Any:
    return SimpleNamespace(
        windows=[Window(0, 2 * i, 2, 2) for i in range(BLOCKS)],
        checkpoint=Checkpoint(tmp_path, "TST"),
    )


def _temporaries(plan: Any) -> list[str]:
    return sorted(p.name for p in plan.checkpoint.blocks.glob("*") if ".part" in p.name)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[int, BaseException]:
    """Blocks read without inputs; a block whose index is a key raises that exception."""
    raising: dict[int, BaseException] = {}

    def read_block(plan: Any, index: int, threads: Any = None) -> tuple[_Block, float]:
        if index in raising:
            raise raising[index]
        return _Block(index), 0.0

    monkeypatch.setattr(local, "read_block", read_block)
    return raising


class _Layers:
    """An assembly that records, for each block it writes, that its checkpoint was whole."""

    def __init__(self, plan: Any) -> None:
        self.plan, self.written, self.seen = plan, 0, []

    def add(self, index: int) -> None:
        assert index == self.written
        arrays, meta = self.plan.checkpoint.load_block(index)
        self.seen.append((index, int(arrays["land_use"][0, 0]), meta["counts"]["pixels"]))
        self.written += 1


def test_checkpoints_are_synced_off_the_runs_thread_before_the_layers_read_them(
    tmp_path: Path, reads: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(tmp_path)
    synced: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}") if Path("/proc/self/fd").is_dir() else ""
        synced.append((threading.current_thread().name, ".part" in name))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    layers = _Layers(plan)
    local.compute_blocks(plan, list(range(BLOCKS)), assembly=layers)  # type: ignore[arg-type]
    assert layers.seen == [(i, i, 4 + i) for i in range(BLOCKS)]
    assert len(synced) == BLOCKS
    assert all(t.startswith("gsocseq-write") for t, _ in synced), synced
    if Path("/proc/self/fd").is_dir():
        assert all(temporary for _, temporary in synced)  # synced before the rename
    assert not _temporaries(plan)
    # without layers (a tile of a run): every checkpoint synced and named all the same
    plan2 = _plan(tmp_path / "tile")
    local.compute_blocks(plan2, [1, 3])  # type: ignore[arg-type]
    assert [plan2.checkpoint.done(i) for i in range(BLOCKS)] == [False, True, False, True]
    assert plan2.checkpoint.load_block(3)[1]["counts"] == {"pixels": 7}
    assert not _temporaries(plan2)


def test_a_failed_sync_stops_the_run_leaving_no_temporary(
    tmp_path: Path, reads: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(tmp_path)
    real_fsync, calls = os.fsync, []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:  # block 1's checkpoint: the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError) as failed:
        local.compute_blocks(plan, list(range(BLOCKS)), assembly=_Layers(plan))  # type: ignore[arg-type]
    assert failed.value.errno == errno.ENOSPC
    assert plan.checkpoint.done(0) and not plan.checkpoint.done(1)
    assert plan.checkpoint.load_block(0)[1]["counts"] == {"pixels": 4}
    assert not _temporaries(plan)


def test_a_stop_waits_for_the_sync_under_way_and_removes_the_checkpoints_not_synced(
    tmp_path: Path, reads: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(tmp_path)
    reads[2] = KeyboardInterrupt()  # a signal while block 2 is read
    syncing, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        syncing.set()
        assert release.wait(30)  # the disk is slow: block 1's sync waits behind block 0's
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    # the sync under way goes on once the stop has dropped the work not started (block 1's
    # sync); after 20 s in any case (then block 1's checkpoint is there: the test fails)
    real_cancel = Future.cancel

    def cancel(self: Future) -> bool:
        cancelled = real_cancel(self)
        release.set()
        return cancelled

    monkeypatch.setattr(Future, "cancel", cancel)
    timer = threading.Timer(20, release.set)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            local.compute_blocks(plan, list(range(BLOCKS)))  # type: ignore[arg-type]
    finally:
        timer.cancel()
        release.set()
    assert syncing.is_set()
    # block 0's sync was under way: waited for, whole; block 1's not started: removed
    assert plan.checkpoint.done(0) and not plan.checkpoint.done(1)
    assert plan.checkpoint.load_block(0)[1]["counts"] == {"pixels": 4}
    assert not _temporaries(plan)
    # the next run computes the rest and every checkpoint is whole
    reads.clear()
    monkeypatch.setattr(os, "fsync", real_fsync)
    local.compute_blocks(plan, plan_pending(plan))  # type: ignore[arg-type]
    assert [plan.checkpoint.load_block(i)[1]["counts"]["pixels"] for i in range(BLOCKS)] == [
        4,
        5,
        6,
        7,
    ]


def plan_pending(plan: Any) -> list[int]:
    return [i for i in range(BLOCKS) if not plan.checkpoint.done(i)]


def test_a_run_leaves_another_processs_temporaries_with_the_same_pid(
    tmp_path: Path, reads: dict
) -> None:
    # tiles of one run on several machines or containers (every process may be pid 1) share
    # the folder: a tile finishing removed the temporaries named with its pid, another tile's
    # too (whose sync then failed with FileNotFoundError)
    plan = _plan(tmp_path)
    plan.checkpoint.blocks.mkdir(parents=True)
    other = plan.checkpoint.blocks / f".block_000002.{os.getpid()}.12345.part.npz"
    other.write_bytes(b"another tile's block, being written")
    local.compute_blocks(plan, [0, 1])  # type: ignore[arg-type]
    assert [plan.checkpoint.done(i) for i in range(BLOCKS)] == [True, True, False, False]
    assert other.read_bytes() == b"another tile's block, being written"
    # its own temporaries still removed on a stop
    reads[3] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        local.compute_blocks(plan, [2, 3])  # type: ignore[arg-type]
    assert _temporaries(plan) == [other.name]
