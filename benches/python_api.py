"""Throughput of the Python API: gsocseq.rothc.run on 100,000 pixels x 240 months.

Reports pixel-months per second for 1 thread and all cores, and the ratio to a well-written
numpy vectorised implementation of the same monthly scheme (all pixels as one array, one month
at a time). Run: python benches/python_api.py [--pixels N] [--months M]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from gsocseq import rothc

K = np.array([10.0, 0.3, 0.66, 0.02])


def numpy_rothc(pools, t, p, e, c, plant, dr, clay, depth=23.0, evap=0.75):
    """The official monthly scheme vectorised over pixels with numpy (reference speed).

    Written for speed: forcing month-major ((months, n), each month one contiguous row),
    pools pool-major ((5, n)), operations in place into preallocated arrays. Returns (n, 5).
    """
    n = t.shape[1]
    pools = np.array(pools.T)  # (5, n), a copy
    acc = np.zeros(n)
    smd_max = -(20 + 1.3 * clay - 0.01 * clay * clay) * depth / 23.0
    one_bar, bare_lim = 0.444 * smd_max, 0.556 * smd_max
    x = 1.67 * (1.85 + 1.60 * np.exp(-0.0786 * clay))
    pb, ph = 0.46 / (x + 1), 0.54 / (x + 1)
    slope = 0.8 / (smd_max - one_bar)
    to_dpm, to_rpm = dr / (dr + 1), 1 / (dr + 1)
    k = (-K / 12)[:, None]
    a, b, w, d = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    left = np.empty((4, n))
    for m in range(t.shape[0]):
        np.add(t[m], 18.27, out=a)
        np.divide(106.06, a, out=a)
        np.exp(a, out=a)
        a += 1.0
        np.divide(47.91, a, out=a)
        a[t[m] < -5] = 0.0
        np.multiply(e[m], -evap, out=w)
        w += p[m]
        w += acc
        np.minimum(w, 0.0, out=w)
        acc = np.where(c[m] > 0.8, np.maximum(np.minimum(bare_lim, acc), w), np.maximum(smd_max, w))
        np.subtract(smd_max, acc, out=b)
        b *= slope
        b += 0.2
        b[acc > one_bar] = 1.0
        a *= b
        a *= c[m]
        np.multiply(k, a, out=left)
        np.exp(left, out=left)
        left *= pools[:4]
        np.subtract(pools[:4], left, out=pools[:4])
        pools[:4].sum(axis=0, out=d)
        pools[:4] = left
        pools[2] += d * pb
        pools[3] += d * ph
        pools[0] += to_dpm * plant[m]
        pools[1] += to_rpm * plant[m]
    return pools.T


def make_case(n: int, months: int, seed: int = 1) -> dict[str, Any]:
    """Random forcing of n pixels x months (degrees C, mm, t C/ha, %), as `rothc.run` keywords."""
    rng = np.random.default_rng(seed)
    return dict(
        pools=rng.uniform(0, 40, (n, 5)),
        temperature=rng.uniform(-5, 30, (n, months)),
        precipitation=rng.uniform(0, 200, (n, months)),
        evaporation=rng.uniform(0, 150, (n, months)),
        cover=rng.choice([0.6, 1.0], (n, months)),
        plant_input=rng.uniform(0, 0.5, (n, months)),
        dpm_rpm=1.44,
        clay=rng.uniform(5, 60, n),
    )


def month_major(kw: dict[str, Any]) -> dict[str, Any]:
    """The forcing of a `make_case` case as (months, n) arrays, the layout numpy wants."""
    names = ("temperature", "precipitation", "evaporation", "cover", "plant_input")
    return {**kw, **{k: np.ascontiguousarray(kw[k].T) for k in names}}


def numpy_on_case(kw: dict[str, Any]) -> np.ndarray:
    """`numpy_rothc` on a case of `month_major` (prepared outside the timing)."""
    return numpy_rothc(
        kw["pools"], kw["temperature"], kw["precipitation"], kw["evaporation"], kw["cover"],
        kw["plant_input"], kw["dpm_rpm"], kw["clay"],
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pixels", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=240)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    n, months = args.pixels, args.months
    kw = make_case(n, months)
    work = n * months

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    t1 = best(lambda: rothc.run(**kw, threads=1))
    tall = best(lambda: rothc.run(**kw))
    kw_np = month_major(kw)
    tnp = best(lambda: numpy_on_case(kw_np))
    ref = numpy_on_case(kw_np)
    got = rothc.run(**kw).pools
    agree = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-9)))
    cores = os.cpu_count()
    print(f"{n:,} pixels x {months} months = {work:,} pixel-months")
    print(
        f"gsocseq.rothc.run, 1 thread : {work / t1:,.0f} pixel-months/s ({t1 * 1e9 / work:.1f} ns)"
    )
    print(f"gsocseq.rothc.run, {cores} cores : {work / tall:,.0f} pixel-months/s")
    print(f"numpy vectorised (1 core)  : {work / tnp:,.0f} pixel-months/s")
    print(f"ratio gsocseq 1 thread / numpy : {tnp / t1:.1f}x; all cores / numpy: {tnp / tall:.1f}x")
    print(f"largest relative difference gsocseq vs numpy: {agree:.1e}")


if __name__ == "__main__":
    main()
