"""Writing a run's layers when it is stopped: abort() never closes a file under a write, and a
signal while a pool thread starts leaves no pool work running once the blocks' loop has ended."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from gsocseq.errors import OutputError
from gsocseq.pipeline import local
from gsocseq.products import Layer
from gsocseq.writing import LayerWriter


def _master(path: Path) -> Path:
    profile = {
        "driver": "GTiff",
        "width": 8,
        "height": 8,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": Affine(0.01, 0.0, 10.0, 0.0, -0.01, 50.0),
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.zeros((1, 8, 8), dtype=np.float32))
    return path


def test_abort_waits_for_the_block_being_written(tmp_path: Path) -> None:
    with rasterio.open(_master(tmp_path / "master.tif")) as master:
        writer = LayerWriter(tmp_path, "x", master, [Layer("T0", units="t C/ha")])
    started, release = threading.Event(), threading.Event()
    real_write = writer._write
    seen_handles: list[int] = []

    def slow_write(*args: object) -> None:
        started.set()
        assert release.wait(10)
        seen_handles.append(len(writer.handles))  # the files are still open here
        real_write(*args)

    writer._write = slow_write  # type: ignore[method-assign]
    rows = cols = np.arange(3)
    args = (Window(0, 0, 8, 8), rows, cols, {"T0_Map030.tif": np.ones(3)}, np.ones((8, 8)))
    writing = threading.Thread(target=writer.write, args=args)
    writing.start()
    assert started.wait(10)
    aborting = threading.Thread(target=writer.abort)
    aborting.start()
    aborting.join(0.3)
    assert aborting.is_alive(), "abort() did not wait for the write in progress"
    release.set()
    writing.join(10)
    aborting.join(10)
    assert not aborting.is_alive()
    assert seen_handles == [2]  # the layer and the land use, both open during the write
    assert not writer.handles
    assert not [p for p in tmp_path.iterdir() if p.name != "master.tif"]


def test_signal_while_a_pool_thread_starts_leaves_no_work_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C inside a pool's ``submit`` (while it starts its thread) leaves that thread out
    of the pool's list, so that ``shutdown(wait=True)`` does not wait for it: the pools start
    their threads on no-op work first, so that no real work can run in such a thread."""
    reading, release = threading.Event(), threading.Event()
    finished = threading.Event()

    def read_block(plan: object, index: int) -> None:
        reading.set()
        release.wait(10)
        finished.set()

    monkeypatch.setattr(local, "read_block", read_block)
    real_start = threading.Thread.start
    interrupted: list[str] = []

    def start(self: threading.Thread) -> None:
        real_start(self)
        if not interrupted and self.name.startswith("gsocseq-read-ahead"):
            interrupted.append(self.name)
            reading.wait(1.0)  # the thread's first work, if it is a block, has begun
            raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", start)
    try:
        with pytest.raises(KeyboardInterrupt):
            local.compute_blocks(object(), [0, 1])  # type: ignore[arg-type]
        assert interrupted
        # the loop has ended: no block may be read in the background any more
        assert not reading.is_set() or finished.is_set()
    finally:
        release.set()


def test_a_write_after_abort_is_refused(tmp_path: Path) -> None:
    with rasterio.open(_master(tmp_path / "master.tif")) as master:
        writer = LayerWriter(tmp_path, "x", master, [Layer("T0", units="t C/ha")])
    writer.abort()
    with pytest.raises(OutputError, match="no longer open"):
        writer.write(Window(0, 0, 8, 8), np.arange(1), np.arange(1), {}, np.ones((8, 8)))
    assert not [p for p in tmp_path.iterdir() if p.name != "master.tif"]


def test_a_signal_while_the_files_are_created_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the writer creates its temporary files (the land use after the layers):
    the KeyboardInterrupt goes on, and no .part.tif is left in the output folder."""
    from gsocseq import writing

    def interrupted(ds: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writing, "set_land_use_legend", interrupted)
    with rasterio.open(_master(tmp_path / "master.tif")) as master:
        with pytest.raises(KeyboardInterrupt):
            LayerWriter(tmp_path, "x", master, [Layer("T0", units="t C/ha")])
    assert [p.name for p in tmp_path.iterdir()] == ["master.tif"]
