"""The GSOCseq chain without rasters, against the core's own time on the same pixels.

python benches/embedding.py [--pixels 100000] [--sites 20000] [--rounds 3] [--threads 0]

(a) the array API, ``gsocseq.pixels.run_pixels`` on ``(n, months)`` numpy arrays (the names of
docs/sites.md), against the one call into the core it makes (``Chain.simulate`` on the
prepared arguments), each timed on the same arrays, alternately, best of ``--rounds``. Target
(issue 18): the array API within 1.5x of the core.

(b) ``gsocseq site`` on a CSV of ``--sites`` sites (20 warm-up years: 773 columns): the whole
command in a subprocess, and in process its parts (reading the table, the chain, writing the
results) and the core alone. ``--baseline DIR``: the command also with another gsocseq's
Python sources first on PYTHONPATH (e.g. a checkout of an earlier commit's ``python/`` with
this build's ``_core`` copied in), the two alternately.

Inputs are generated (uniform values in the plausible ranges; classes 2, 3, 12, 13).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gsocseq import chain as chain_module
from gsocseq.pixels import run_pixels
from gsocseq.site import read_table, run_sites, write_results

YEARS = 20


def make_inputs(n: int, years: int = YEARS, seed: int = 1) -> dict[str, np.ndarray]:
    """Inputs of ``n`` pixels named as docs/sites.md, in physical units."""
    rng = np.random.default_rng(seed)
    season = np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False))

    def monthly(mean: np.ndarray, amplitude: float, months: int) -> np.ndarray:
        wave = np.tile(season, months // 12)
        noise = rng.normal(0, 0.1 * amplitude, (len(mean), months))
        return mean[:, None] + amplitude * wave[None, :] + noise

    t = rng.uniform(5, 25, n)
    p = rng.uniform(30, 120, n)
    out = {
        "soc": rng.uniform(20, 120, n),
        "clay": rng.uniform(5, 60, n),
        "npp_reference": rng.uniform(4, 12, n),
        "cover": np.clip(monthly(np.full(n, 0.8), 0.15, 12), 0.6, 1.0),
        "spinup_temperature": monthly(t, 6.0, 12),
        "spinup_precipitation": np.abs(monthly(p, 20.0, 12)),
        "spinup_pet": np.abs(monthly(p * 0.9, 30.0, 12)),
        "warmup_temperature": monthly(t + 0.5, 6.0, 12 * years),
        "warmup_precipitation": np.abs(monthly(p, 20.0, 12 * years)),
        "warmup_pet": np.abs(monthly(p * 0.9, 30.0, 12 * years)),
        "land_use": rng.choice(np.array([2.0, 3.0, 12.0, 13.0]), n),
    }
    return out


def write_csv(inputs: dict[str, np.ndarray], path: Path) -> int:
    """The inputs as a site table; returns its column count."""
    header = ["site"]
    n = len(inputs["soc"])
    header_cols = []
    for name, v in inputs.items():
        if v.ndim == 1:
            header_cols.append((name, v))
        else:
            header_cols += [(f"{name}_{b + 1}", v[:, b]) for b in range(v.shape[1])]
    header += [h for h, _ in header_cols]
    columns = [[f"s{i}" for i in range(n)]] + [
        [repr(x) for x in v.tolist()] for _, v in header_cols
    ]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(zip(*columns))
    return len(header)


class CoreTimer:
    """Wraps Chain.simulate: the seconds spent in the core, and the last call's arguments."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.arrays: Any = None
        self.chain: Any = None
        self._real = chain_module.Chain.simulate

    def __enter__(self) -> CoreTimer:
        timer = self

        def simulate(chain: Any, arrays: Any, threads: Any = None) -> Any:
            timer.arrays, timer.chain = arrays, chain
            a = time.perf_counter()
            out = timer._real(chain, arrays, threads)
            timer.seconds += time.perf_counter() - a
            return out

        chain_module.Chain.simulate = simulate  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        chain_module.Chain.simulate = self._real  # type: ignore[method-assign]


def best(fns: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Each function timed ``rounds`` times, alternately; the fastest of each."""
    out = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            a = time.perf_counter()
            fn()
            out[k] = min(out[k], time.perf_counter() - a)
    return out


def array_api(pixels: int, rounds: int, threads: int) -> None:
    inputs = make_inputs(pixels)
    with CoreTimer() as timer:
        run_pixels(inputs, threads=threads)
    arrays, chain = timer.arrays, timer.chain
    times = best(
        {
            "run_pixels": lambda: run_pixels(inputs, threads=threads),
            "core": lambda: chain_module.Chain.simulate(chain, arrays, threads),
        },
        rounds,
    )
    ratio = times["run_pixels"] / times["core"]
    print(
        f"(a) {pixels:,} pixels, {YEARS} warm-up years, threads={threads}: "
        f"run_pixels {times['run_pixels']:.3f} s, the core alone {times['core']:.3f} s: "
        f"{ratio:.2f}x the core"
    )


def site_command(sites: int, rounds: int, threads: int, baseline: str | None = None) -> None:
    inputs = make_inputs(sites, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "sites.csv"
        columns = write_csv(inputs, table)
        out = Path(tmp) / "results.csv"
        script = Path(sys.executable).with_name("gsocseq")
        command = [str(script), "site", str(table), "-o", str(out), "-q"]
        commands = {"cli": lambda: subprocess.run(command, check=True)}
        if baseline:
            env = dict(os.environ, PYTHONPATH=baseline)
            commands["baseline"] = lambda: subprocess.run(command, check=True, env=env)
        walls = best(commands, rounds)
        whole = walls["cli"]
        parts = {"read": float("inf"), "chain": float("inf"), "write": float("inf")}
        core = float("inf")
        for _ in range(rounds):
            a = time.perf_counter()
            read_table(table)
            parts["read"] = min(parts["read"], time.perf_counter() - a)
            with CoreTimer() as timer:
                a = time.perf_counter()
                result = run_sites(table, threads=threads)
                total = time.perf_counter() - a
            core = min(core, timer.seconds)
            parts["chain"] = min(parts["chain"], total)
            a = time.perf_counter()
            write_results(result, out)
            parts["write"] = min(parts["write"], time.perf_counter() - a)
        size = table.stat().st_size / 2**20
    print(
        f"(b) gsocseq site, {sites:,} sites ({columns} columns, {size:.0f} MiB CSV): "
        f"{whole:.2f} s the command; in process: run_sites {parts['chain']:.2f} s (the core "
        f"{core:.2f} s of it), writing the results {parts['write']:.2f} s; the csv module's "
        f"reader alone (read_table, for tables that are not plain numbers) {parts['read']:.2f} s"
    )
    if baseline:
        print(f"    the baseline ({baseline}): {walls['baseline']:.2f} s the command")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    parser.add_argument("--only", choices=("arrays", "site"))
    parser.add_argument("--baseline", help="PYTHONPATH of another gsocseq for (b)")
    args = parser.parse_args()
    if args.only != "site":
        array_api(args.pixels, args.rounds, args.threads)
    if args.only != "arrays":
        site_command(args.sites, args.rounds, args.threads, args.baseline)


if __name__ == "__main__":
    main()
