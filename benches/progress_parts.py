"""What computing a block in parts costs (the parts advance the progress in pixels): a run of
the end-to-end bench area with the parts (A) against the same run with each block in one call
into the core (B), alternating A and B in fresh processes, each into a fresh output folder.

    python benches/progress_parts.py [--size 1e5] [--rounds 5]

Prints the median CPU and wall seconds of each and the median of the A/B ratios taken pair by
pair (measured 2026-12-06 on the 2-core VM, 1e5 pixels, 5 pairs, under load: CPU 0.97
(0.95-1.06), wall 0.95, peak memory 540 vs 555 MiB: no cost to see).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

CHILD = """
import sys
import gsocseq.pipeline.local as local
from gsocseq.pipeline import run
if sys.argv[3] == "whole":
    local.MIN_PART = 10**12
run(sys.argv[1], output=sys.argv[2])
"""


def one(config: str, how: str, workdir: Path) -> tuple[float, float]:
    """(cpu s, wall s) of one run in a child process."""
    out = Path(tempfile.mkdtemp(dir=workdir))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD, config, str(out), how], check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(out)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=float, default=1e5, help="modelled pixels of the area")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/gsocseq-bench"))
    args = ap.parse_args()
    import end_to_end

    info = end_to_end.make_area(args.workdir, args.size, "none", 1)
    one(info["config"], "parts", args.workdir)  # warm the page cache
    a, b = [], []
    for _ in range(args.rounds):
        a.append(one(info["config"], "parts", args.workdir))
        b.append(one(info["config"], "whole", args.workdir))
    for label, runs in (("A parts", a), ("B whole", b)):
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        print(f"{label}: cpu {cpu:.2f} s, wall {wall:.2f} s (median of {len(runs)})")
    print(
        f"A/B cpu {statistics.median(x[0] / y[0] for x, y in zip(a, b)):.3f}, "
        f"wall {statistics.median(x[1] / y[1] for x, y in zip(a, b)):.3f}"
    )


if __name__ == "__main__":
    main()
