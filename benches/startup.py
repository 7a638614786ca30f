"""Start-up time of the command line: `gsocseq --help` against a bare `python -c pass`.

python benches/startup.py [--runs 20]

Runs each command in turn (A B A B ...) in the current environment and prints the median and
minimum wall time of each, their difference (what gsocseq adds) and the modules that took the
longest to import for `gsocseq --help` (python -X importtime). Target (issue 19): under 150 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# the console script pip writes beside the interpreter (gsocseq.exe on Windows)
SCRIPT = Path(sys.executable).with_name("gsocseq.exe" if os.name == "nt" else "gsocseq")
HELP = [str(SCRIPT), "--help"]
BARE = [sys.executable, "-c", "pass"]
IMPORTS = [sys.executable, "-X", "importtime", "-c", "from gsocseq.cli import main; main(['-h'])"]


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def slowest_imports(count: int) -> list[tuple[int, str]]:
    err = subprocess.run(
        IMPORTS,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    wall(HELP), wall(BARE)  # warm the file cache
    times: dict[str, list[float]] = {"gsocseq --help": [], "python -c pass": []}
    for _ in range(runs):
        times["gsocseq --help"].append(wall(HELP))
        times["python -c pass"].append(wall(BARE))
    for name, values in times.items():
        print(
            f"{name:16} median {1e3 * statistics.median(values):6.1f} ms, "
            f"min {1e3 * min(values):6.1f} ms ({runs} runs)"
        )
    added = statistics.median(times["gsocseq --help"]) - statistics.median(times["python -c pass"])
    print(f"gsocseq adds {1e3 * added:.1f} ms (medians); slowest imports (cumulative):")
    for micros, name in slowest_imports(8):
        print(f"  {micros / 1e3:7.1f} ms {name}")


if __name__ == "__main__":
    main()
