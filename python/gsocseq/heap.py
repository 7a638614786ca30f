"""The C heap of a run: large buffers given back to the system when they are freed.

glibc's malloc serves a request of at least its mmap threshold with a mapping of its own, unmapped
when freed, and smaller requests from its heaps (arenas), whose freed memory it keeps for later
requests. The threshold starts at 128 KiB but, left to itself, rises to the size of every mapped
buffer freed (up to 32 MiB): once a run has freed its first block's arrays or GDAL's tiles,
buffers of up to 32 MiB (a 512-pixel window of a layer in float64 is 2 MiB) come from the heaps,
and what they leave free stays resident, interleaved with small live objects. Measured with
``benches/end_to_end.py --memory-profile`` (docs/scaling.md, "Memory"): under ``--memory 256M``
at 10^6 pixels, after the conversion to COGs the heaps held 137 MiB free against 28 MiB in use,
and the QA protocol of the run summary left 63 MiB more of them free (the run's peak 257-261
MiB, over the budget; more with the map). A fixed threshold (:func:`pin_mmap_threshold`, which
also stops it rising) maps every large buffer and unmaps it when freed; a run sets it under
budgets below the default (:func:`gsocseq.pipeline.memory.pins_heap`).

The numbers never depend on it: only where the memory of a buffer comes from.
"""

from __future__ import annotations

import ctypes
import os
import platform
from typing import Optional

__all__ = ["MMAP_THRESHOLD", "pin_mmap_threshold"]

#: Requests of at least this many bytes get a mapping of their own in a run (glibc; twice its
#: initial 128 KiB). At 10^6 pixels under 256M, 1, 2 and 4 MiB held 9-78 MiB more in the
#: blocks, the COGs or the QA protocol for at most 0.8 s less CPU (docs/scaling.md).
MMAP_THRESHOLD = 256 << 10
#: mallopt's parameter M_MMAP_THRESHOLD (glibc's malloc.h)
_M_MMAP_THRESHOLD = -3
#: the environment variable with which a user sets the threshold himself (glibc's tunable)
ENV_THRESHOLD = "MALLOC_MMAP_THRESHOLD_"


def _glibc() -> Optional[ctypes.CDLL]:
    """The process's C library when it is glibc (None elsewhere: musl, macOS, Windows)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)  # the symbols of the process itself, its C library among them
    except OSError:  # pragma: no cover - a process without dlopen
        return None
    return libc if hasattr(libc, "mallopt") else None


def pin_mmap_threshold(nbytes: int = MMAP_THRESHOLD) -> bool:
    """Give malloc's buffers of at least ``nbytes`` bytes mappings of their own for the rest of
    the process (glibc: ``mallopt(M_MMAP_THRESHOLD)``, which also stops the threshold rising),
    unless the environment sets the threshold (``MALLOC_MMAP_THRESHOLD_``: the user's choice
    wins). True when set; False where the C library is not glibc or the environment decides."""
    if ENV_THRESHOLD in os.environ:
        return False
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(nbytes)))
