"""The C heap of a run (gsocseq.heap): after a run under a budget below the default, a buffer of a
window's size has a mapping of its own (it leaves the process when freed instead of staying in
malloc's heaps), unless the environment sets malloc's threshold; the default keeps glibc's."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from gsocseq import heap

from ..synthetic import make_area

#: in a fresh process: an optional run, then an 8 MiB buffer freed (which raises glibc's own
#: threshold to 8 MiB) and the bytes malloc maps for a 2 MiB array (a 512-pixel window in
#: float64) allocated after it
PROBE = """
import ctypes, json, sys
import numpy as np

class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
config = json.loads(sys.argv[1])
if config is not None:
    from gsocseq.pipeline import run
    run(config)
big = np.ones(1 << 20)
del big
before = libc.mallinfo2().hblkhd
window = np.ones((512, 512))
print(json.dumps({"mapped": libc.mallinfo2().hblkhd - before}))
"""


def mapped_bytes(config, env=None):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(config, default=str)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])["mapped"]


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the threshold is glibc's (elsewhere pin_mmap_threshold does nothing)",
)
def test_after_a_run_under_a_small_budget_a_window_has_its_own_mapping(tmp_path, monkeypatch):
    window = 512 * 512 * 8
    monkeypatch.delenv(heap.ENV_THRESHOLD, raising=False)

    def area(name, **run):
        cfg = make_area(tmp_path / name, rows=3, cols=4, seed=3)
        return {**cfg, "run": {**cfg["run"], **run}}

    # without a run, glibc's risen threshold serves the window from its heaps; so after a run
    # under the default budget
    assert mapped_bytes(None) < window
    assert mapped_bytes(area("default")) < window
    # after a run under 256M the window has a mapping of its own: unmapped, not kept, once freed
    assert mapped_bytes(area("small", memory="256M")) >= window
    # a threshold the user sets (64 MiB) wins over the run's
    env = {heap.ENV_THRESHOLD: str(64 << 20)}
    assert mapped_bytes(area("user", memory="256M"), env) < window
