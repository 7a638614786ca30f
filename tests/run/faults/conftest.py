"""Shared helpers of the fault-injection suite: small areas, runs in subprocesses, layers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from ...synthetic import make_area
from ..test_scaleout import write_toml

__all__ = ["Area", "cli", "layers", "same", "start", "wait_blocks"]


def layers(out: Path) -> dict[str, bytes]:
    """Every layer under its final name: its pixels (bytes) and georeferencing."""
    res = {}
    for p in sorted(out.glob("[!.]*.tif")):
        with rasterio.open(p) as ds:
            res[p.name] = ds.read().tobytes() + repr((ds.crs, ds.transform, ds.nodata)).encode()
    return res


def same(a: dict, b: dict) -> None:
    assert set(a) == set(b) and a, sorted(set(a) ^ set(b))
    for k in a:
        assert a[k] == b[k], k


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``gsocseq ARGS`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "gsocseq.cli", *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=timeout,
    )


def interruptible(preexec=None):
    """A ``preexec_fn`` giving the child the default SIGINT disposition: a shell that starts
    this test suite in the background (CI, ``cmd &``) leaves SIGINT ignored in its children,
    and Python then installs no KeyboardInterrupt handler, so a test's Ctrl-C would be lost."""

    def reset() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if preexec is not None:
            preexec()

    return reset


def start(*args: str, preexec=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gsocseq.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible(preexec),
    )


def wait_blocks(proc: subprocess.Popen, out: Path, blocks: int, timeout: float = 60) -> None:
    """Wait until ``blocks`` block checkpoints of run TST exist in ``out`` (or ``proc`` ends)."""
    folder = out / ".gsocseq-TST" / "blocks"
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if folder.exists() and len(list(folder.glob("block_*.npz"))) >= blocks:
            return
        time.sleep(0.01)


class Area:
    """A small synthetic area (block size 16: 9 blocks) and the layers of its undisturbed run."""

    def __init__(self, root: Path, seed: int = 31) -> None:
        self.root = root
        self.cfg = make_area(root / "in", rows=48, cols=48, seed=seed)
        self.toml = write_toml(self.cfg, root / "run.toml", root / "out")
        self.out = root / "out"
        ref_toml = write_toml(self.cfg, root / "ref.toml", root / "ref")
        done = cli("run", str(ref_toml), "-q")
        assert done.returncode == 0, done.stderr
        self.ref = layers(root / "ref")

    def input(self, key: str) -> Path:
        v = self.cfg["inputs"][key]
        return Path(v["path"] if isinstance(v, dict) else v)

    def final_names_ok(self) -> None:
        """Every file under a final name is complete and bit-identical to the undisturbed run;
        anything else is a hidden temporary."""
        for p in self.out.glob("*.tif"):
            if p.name.startswith(".") and ".part" in p.name:
                continue  # a temporary (left by kill -9; removed by the next run)
            assert p.name in self.ref, p.name
            with rasterio.open(p) as ds:
                got = ds.read().tobytes() + repr((ds.crs, ds.transform, ds.nodata)).encode()
            assert got == self.ref[p.name], p.name


@pytest.fixture(scope="module")
def area(tmp_path_factory) -> Area:
    return Area(tmp_path_factory.mktemp("area"))


def fresh(area: Area, name: str) -> tuple[Path, Path]:
    """A new output folder for ``area``'s inputs: (config, folder)."""
    out = area.root / name
    toml = write_toml(area.cfg, area.root / f"{name}.toml", out)
    return toml, out


_ = np  # (numpy: the layers compare as bytes)
