"""An independent oracle of the rothamsted-mode GSOCseq chain, written from METHOD.md
(sections 2-7 and 10) and ROTHC.md (sections 2, 3, 6 and 8) only, without reading the package:
plain float64 loops over months, one pixel at a time, numpy for one 4 x 4 solve. Slow and
obvious on purpose; tests/chain/test_chain_oracle.py compares the package with it.

A site is a dict of the columns of docs/sites.md (lists, physical units) plus what the options
need (``silt``, ``bulk_density``, ``organic_carbon``, ``warmup_npp``, ``warmup_carbon_input``,
``forward_series_*``). A scenario is a dict of ``inc`` (input increase, already the value of the
pixel's group), ``added_input``, ``fym``, ``rate_factor``, ``cover``, ``land_use``, ``adopt``."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

K = (10.0, 0.3, 0.66, 0.02)  # DPM, RPM, BIO, HUM, 1/yr (ROTHC.md 3)
DEPTH = 30.0  # cm (METHOD.md 1)
# METHOD.md 2: code -> (dpm_rpm, npp coefficient, rate factor, SSM group)
CLASSES: dict[int, tuple[float, float, float, Optional[str]]] = {
    2: (1.44, 0.53, 1.0, "crops"),
    3: (0.67, 0.72, 1.0, "grass"),
    4: (0.25, 0.88, 1.0, None),
    5: (0.67, 0.72, 1.0, "grass"),
    6: (0.67, 0.72, 1.0, "grass"),
    8: (0.67, 0.72, 1.0, "grass"),
    12: (1.44, 0.53, 1.0, "crops"),
    13: (1.44, 0.53, 0.4, "paddy"),
}
UNIFORM = [1.0 / 12.0] * 12
SSM = {"SSM1": {"inc": 0.05}, "SSM2": {"inc": 0.10}, "SSM3": {"inc": 0.20}}
MIN_RUN = dict(f_soc=0.8, f_clay=0.9, f_t=1.02, f_p=0.95, share=0.85)  # METHOD.md 6
MAX_RUN = dict(f_soc=1.2, f_clay=1.1, f_t=0.98, f_p=1.05, share=1.15)


def temperature_a(t: float) -> float:
    return 0.0 if t < -5.0 else 47.91 / (1.0 + math.exp(106.06 / (t + 18.27)))


def miami(t_mean: float, p_sum: float) -> float:
    npp_t = 3000.0 / (1.0 + math.exp(1.315 - 0.119 * t_mean))
    npp_p = 3000.0 * (1.0 - math.exp(-0.000664 * p_sum))
    return min(npp_t, npp_p) * 0.01 * 0.5


def van_genuchten_deficits(clay: float, silt: float, bd: float, oc: float, d: float):
    """ROTHC.md 8: deficits (mm) at 1 bar, wilting point and 1000 bar (Wosten et al. 1999)."""
    om, t, ln = 1.72 * oc, 1.0, math.log
    alpha = math.exp(
        -14.96 + 0.03135 * clay + 0.0351 * silt + 0.646 * om + 15.29 * bd - 0.192 * t
        - 4.671 * bd**2 - 0.000781 * clay**2 - 0.00687 * om**2 + 0.0449 / om + 0.0663 * ln(silt)
        + 0.1482 * ln(om) - 0.04546 * bd * silt - 0.4852 * bd * om + 0.00673 * clay * t
    )  # fmt: skip
    theta_s = (
        0.7919 + 0.001691 * clay - 0.29619 * bd - 0.000001491 * silt**2 + 0.0000821 * om**2
        + 0.02427 / clay + 0.01113 / silt + 0.01472 * ln(silt) - 0.0000733 * om * clay
        - 0.000619 * bd * clay - 0.001183 * bd * om - 0.0001664 * silt * t
    )  # fmt: skip
    n = 1.0 + math.exp(
        -25.23 - 0.02195 * clay + 0.0074 * silt - 0.194 * om + 45.5 * bd - 7.24 * bd**2
        + 0.0003658 * clay**2 + 0.002885 * om**2 - 12.81 / bd - 0.1524 / silt - 0.01958 / om
        - 0.2876 * ln(silt) - 0.0709 * ln(om) - 44.6 * ln(bd) - 0.02264 * bd * clay
        + 0.0896 * bd * om + 0.00718 * clay * t
    )  # fmt: skip
    m = 1.0 - 1.0 / n

    def theta(h: float) -> float:
        return 0.01 + (theta_s - 0.01) / (1.0 + (alpha * h) ** n) ** m

    def deficit(h: float) -> float:
        return (theta(h) - theta(50.0)) * 10.0 * d

    return deficit(1000.0), deficit(15000.0), deficit(1.0e6)


class Moisture:
    """Deficit limits and moisture factor b: option 1 rothc-26.3, 2 farina-2, 3 farina-3;
    bare 1 standard, 2 wilting point (ROTHC.md 2 and 8)."""

    def __init__(self, clay: float, option: int = 1, bare: int = 1, b_min: float = 0.2, **soil):
        self.option = option
        if option == 1:
            wp = -(20.0 + 1.3 * clay - 0.01 * clay * clay) * DEPTH / 23.0
            one_bar, self.b_min, self.max, bare_limit = 0.444 * wp, 0.2, wp, 0.556 * wp
        else:
            one_bar, wp, dry = van_genuchten_deficits(clay, d=DEPTH, **soil)
            self.b_min, self.max = b_min, dry if option == 2 else wp
            bare_limit = wp - (0.6388 / 0.8) * (wp - one_bar)
        self.wp, self.one_bar = wp, one_bar
        self.bare = wp if bare == 2 else bare_limit

    def update(self, acc: float, dw: float, cover: float) -> float:
        if cover > 0.8:  # a bare month (METHOD.md 1)
            return max(min(self.bare, acc), min(0.0, acc + dw))
        return max(self.max, min(0.0, acc + dw))

    def b(self, acc: float) -> float:
        if acc > self.one_bar:
            return 1.0
        if self.option == 2 and acc <= self.wp:
            return self.b_min
        return self.b_min + (1.0 - self.b_min) * (self.wp - acc) / (self.wp - self.one_bar)


def month(pools, acc, t, p, pet, cover, soil, factor, clay, plant, dr, fym=0.0):
    """One RothC month (ROTHC.md 2-3): the new pools and deficit."""
    acc = soil.update(acc, p - pet, cover)
    rate = temperature_a(t) * soil.b(acc) * cover * factor
    x = 1.67 * (1.85 + 1.60 * math.exp(-0.0786 * clay))
    new, decomposed = [0.0] * 4, 0.0
    for i in range(4):
        new[i] = pools[i] * math.exp(-rate * K[i] / 12.0)
        decomposed += pools[i] - new[i]
    new[2] += 0.46 / (x + 1.0) * decomposed
    new[3] += 0.54 / (x + 1.0) * decomposed
    new[0] += dr / (dr + 1.0) * plant + 0.49 * fym
    new[1] += 1.0 / (dr + 1.0) * plant + 0.49 * fym
    new[3] += 0.02 * fym
    return new, acc


def year(pools, acc, climate, cover, soil, factor, clay, annual, dr, pattern, fym=0.0):
    t, p, e = climate
    for m in range(12):
        pools, acc = month(
            pools, acc, t[m], p[m], e[m], cover[m], soil, factor, clay, annual * pattern[m], dr,
            fym / 12.0,
        )  # fmt: skip
    return pools, acc


def climate_of(series, y):
    return tuple(s[12 * y : 12 * y + 12] for s in series)


def chain(
    site: dict[str, Any],
    f_soc=1.0, f_clay=1.0, f_t=1.0, f_p=1.0, share=1.0,
    npp_reference: Optional[float] = None,
    scenarios: Optional[dict[str, dict[str, Any]]] = None,
    years: int = 20,
    classes=CLASSES,
    patterns: Optional[dict[int, list[float]]] = None,
    moisture=(1, 1, 0.2),
    spinup: str = "equilibrium",
    numerical_pools: str = "second-run",
    input_multiplier: float = 1.0,
    rate_multiplier: float = 1.0,
) -> dict[str, Any]:  # fmt: skip
    """One chain of the three phases (METHOD.md 3-5) with the perturbation factors of one
    min/max run (``share``: of each scenario's change)."""
    patterns = patterns or {}
    soc, clay = site["soc"] * f_soc, site["clay"] * f_clay
    y_count = len(site["warmup_temperature"]) // 12
    lu = list(np.atleast_1d(site["land_use"]))
    lu = [lu[0]] * (y_count - len(lu)) + lu
    option, bare, b_min = moisture
    if option == 1:
        soil = Moisture(clay, 1, bare)
    else:
        bd = site["bulk_density"]
        oc = site.get("organic_carbon") or soc / (bd * DEPTH)
        soil = Moisture(clay, option, bare, b_min, silt=site["silt"], bd=bd, oc=oc)
    cover = site["cover"]
    spin = ([v * f_t for v in site["spinup_temperature"]],
            [v * f_p for v in site["spinup_precipitation"]], site["spinup_pet"])  # fmt: skip
    warm = ([v * f_t for v in site["warmup_temperature"]],
            [v * f_p for v in site["warmup_precipitation"]], site["warmup_pet"])  # fmt: skip
    su = site.get("spinup_land_use") or next(c for c in lu if c in classes)
    dr, coef, rf, _ = classes[su]
    rf *= rate_multiplier
    pattern = patterns.get(su, UNIFORM)
    iom = 0.049 * soc**1.139
    # spin-up: the periodic deficit cycle, then the fixed point of the composed year map
    acc = 0.0
    for n in range(1000):
        before = acc
        for m in range(12):
            acc = soil.update(acc, spin[1][m] - spin[2][m], cover[m])
        if n > 0 and acc == before:
            break
    phi, g = np.eye(4), np.zeros(4)
    for k in range(4):  # column k of the year map: the image of a unit pool
        unit = [1.0 if i == k else 0.0 for i in range(4)]
        phi[:, k] = year(unit, acc, spin, cover, soil, rf, clay, 0.0, dr, pattern)[0]
    g[:] = year([0.0] * 4, acc, spin, cover, soil, rf, clay, 1.0, dr, pattern)[0]
    c_unit = np.linalg.solve(np.eye(4) - phi, g)
    ceq = (soc - iom) / c_unit.sum()
    pools = [ceq * v for v in c_unit]
    if spinup == "analytical":  # ROTHC.md 6, continuous steady state at the mean rate
        xi, a = 0.0, acc
        for m in range(12):
            a = soil.update(a, spin[1][m] - spin[2][m], cover[m])
            xi += temperature_a(spin[0][m]) * soil.b(a) * cover[m] * rf / 12.0
        x = 1.67 * (1.85 + 1.60 * math.exp(-0.0786 * clay))
        fb, fh = 0.46 / (1 + x), 0.54 / (1 + x)
        unit = [dr / (dr + 1) / (10 * xi), 1 / (dr + 1) / (0.3 * xi),
                fb / (1 - fb - fh) / (0.66 * xi), fh / (1 - fb - fh) / (0.02 * xi)]  # fmt: skip
        ceq = (soc - iom) / sum(unit)
        pools = [ceq * v for v in unit]
    elif spinup == "numerical":  # 500 years from empty pools with 1 t C/ha/yr

        def run500(annual):
            p, a = [0.0] * 4, 0.0
            for _ in range(500):
                p, a = year(p, a, spin, cover, soil, rf, clay, annual, dr, pattern)
            return p, a

        ceq = (soc - iom) / sum(run500(1.0)[0])
        pools, acc = run500(ceq)
        if numerical_pools == "weihermuller":
            grp = "crops" if su in (2, 12, 13) else ("tree" if su == 4 else "grass")
            abcd = {"RPM": (0.184, 0.1555, 1.275, -0.1158), "BIO": (0.014, 0.0075, 8.8473, 0.0567),
                    "HUM": (0.7148, 0.5069, 0.3421, 0.0184)}  # fmt: skip
            ef = {  # (e, f) of RPM, BIO, HUM
                "crops": ((0.9902, 0.4788), (1.09038, 0.04055), (0.9878, -0.3818)),
                "tree": ((1.7631, 0.4043), (0.9757, 0.0209), (0.8712, -0.2904)),
                "grass": ((1.3837, 0.4692), (1.03401, 0.02531), (0.9316, -0.5243)),
            }[grp]
            v = {}
            for (k, (a_, b_, c_, d_)), (e_, f_) in zip(abcd.items(), ef):
                v[k] = ((a_ * soc + b_) * (clay + c_) ** d_) * e_ + f_
            pools = [soc - iom - v["RPM"] - v["BIO"] - v["HUM"], v["RPM"], v["BIO"], v["HUM"]]
    elif spinup == "rothamsted-iterative":  # the official rule, C_eq/12 a month
        pools, acc, previous = [0.0] * 4, 0.0, 0.0
        while True:
            pools, acc = year(pools, acc, spin, cover, soil, rf, clay, ceq, dr, pattern)
            if abs(sum(pools) - previous) <= 1e-6:
                break
            previous = sum(pools)
    pools_2000 = [*pools, iom]
    # warm-up (METHOD.md 4 and 10)
    given_npp, given_input = site.get("warmup_npp"), site.get("warmup_carbon_input")
    if given_npp is not None:
        reference = site["npp_reference"] * coef  # the min/max runs divide by it too
    else:
        reference = (npp_reference if npp_reference is not None else site["npp_reference"]) * coef
    inputs, previous = [], None
    for y in range(y_count):
        climate, cls = climate_of(warm, y), lu[y]
        if cls not in classes:  # no coefficients: no input, restart next year
            inputs.append(0.0)
            previous = None
            pools, acc = year(pools, acc, climate, cover, soil, rate_multiplier, clay, 0.0, 1.0,
                              UNIFORM)  # fmt: skip
            continue
        cdr, ccoef, crf, _ = classes[cls]
        if given_input is not None:
            annual = given_input[y]
        else:
            npp = ccoef * (
                given_npp[y] if given_npp is not None
                else miami(sum(climate[0]) / 12.0, sum(climate[1]))
            )  # fmt: skip
            annual = ceq * npp / reference if previous is None else previous[0] * npp / previous[1]
            previous = (annual, npp)
        inputs.append(annual * input_multiplier)
        pools, acc = year(pools, acc, climate, cover, soil, crf * rate_multiplier, clay,
                          annual * input_multiplier, cdr, patterns.get(cls, UNIFORM))  # fmt: skip
    cin_mean = sum(inputs) / y_count
    t0, pools_t0, acc_t0 = sum(pools) + iom, [*pools, iom], acc
    # forward (METHOD.md 5 and 10)
    if "forward_temperature" in site:
        fwd = ([v * f_t for v in site["forward_temperature"]],
               [v * f_p for v in site["forward_precipitation"]], site["forward_pet"])  # fmt: skip
    else:
        fwd = tuple([sum(s[12 * y + m] for y in range(y_count)) / y_count for m in range(12)]
                    for s in warm)  # fmt: skip
    series = None
    if "forward_series_temperature" in site:
        series = ([v * f_t for v in site["forward_series_temperature"]],
                  [v * f_p for v in site["forward_series_precipitation"]],
                  site["forward_series_pet"])  # fmt: skip
        warm_npp = sum(miami(sum(climate_of(warm, y)[0]) / 12, sum(climate_of(warm, y)[1]))
                       for y in range(y_count)) / y_count  # fmt: skip
    last = lu[-1]
    finals = {}
    scenarios = SSM if scenarios is None else scenarios
    for name, sc in [("BAU", {}), *scenarios.items()]:
        cls = sc.get("land_use", last)
        cdr, ccoef, crf, grp = classes[cls]
        base = cin_mean * (ccoef / classes[last][1] if cls != last else 1.0)
        inc = sc.get("inc", 0.0) * share if classes[last][3] is not None else 0.0
        added, fym = sc.get("added_input", 0.0) * share, sc.get("fym", 0.0) * share
        factor = 1.0 + (sc.get("rate_factor", 1.0) - 1.0) * share
        cov = sc.get("cover", cover)
        adopt = sc.get("adopt", 0)
        pattern = patterns.get(cls, UNIFORM)
        p, a = list(pools_t0[:4]), acc_t0
        for y in range(years):
            w = (y + 1) / adopt if y < adopt else 1.0  # linear in years, full at year N
            climate = climate_of(series, y) if series else fwd
            scale = 1.0
            if series and site.get("npp_scaled"):
                scale = miami(sum(climate[0]) / 12, sum(climate[1])) / warm_npp
            annual = base * (1.0 + w * inc) * scale + w * added
            c_y = cov if w == 1.0 else [cover[m] + w * (cov[m] - cover[m]) for m in range(12)]
            f_y = crf * (factor if w == 1.0 else 1.0 + w * (factor - 1.0)) * rate_multiplier
            p, a = year(p, a, climate, c_y, soil, f_y, clay, annual, cdr, pattern, w * fym)
        finals[name] = sum(p) + iom
    return dict(ceq=ceq, cin_mean=cin_mean, cin_t0=inputs[-1], T0=t0, finals=finals,
                pools_2000=pools_2000, pools_t0=pools_t0)  # fmt: skip


def layers(
    site: dict[str, Any], unc=(0.2, 0.1), qa: bool = True, years: int = 20, **options
) -> dict[str, float]:
    """Central and min/max chains and the layer formulas of METHOD.md 6-7 (NaN: nodata)."""
    nan = float("nan")
    us, uc = unc
    runs = [
        chain(site, years=years, **options),
        chain(site, 1 - us, 1 - uc, 1.02, 0.95, 0.85, site.get("npp_reference_min"),
              years=years, **options),
        chain(site, 1 + us, 1 + uc, 0.98, 1.05, 1.15, site.get("npp_reference_max"),
              years=years, **options),
    ]  # fmt: skip

    def kept(v: float, name: str, minmax: bool) -> float:  # the script-13 filter
        filtered = qa and (not minmax or name != "BAU")
        return nan if filtered and not 0.0 <= v <= 300.0 else v

    f = [{n: kept(v, n, r > 0) for n, v in run["finals"].items()} for r, run in enumerate(runs)]
    t0 = [run["T0"] for run in runs]
    out = {k: runs[0][k] for k in ("ceq", "cin_mean", "cin_t0", "T0")}
    out["T0_uncertainty"] = 100 * abs(t0[2] - t0[1]) / (2 * t0[0])
    for n in f[0]:
        d = [f[r][n] - t0[r] for r in range(3)]
        out[f"finalSOC_{n}"], out[f"AbsDiff_{n}"], out[f"ASR_{n}"] = f[0][n], d[0], d[0] / years
        out[f"{n}_uncertainty"] = 100 * abs(f[2][n] - f[1][n]) / (2 * f[0][n])
        out[f"ASR_{n}_uncertainty"] = 100 * abs(d[2] - d[1]) / (2 * abs(d[0])) if d[0] else nan
        if n != "BAU":
            r_ = [f[r][n] - f[r]["BAU"] for r in range(3)]
            out[f"RelDiff_{n}"], out[f"RSR_{n}"] = r_[0], r_[0] / years
            out[f"RSR_{n}_uncertainty"] = (
                100 * abs(r_[2] - r_[1]) / (2 * abs(r_[0])) if r_[0] else nan
            )
    if "SSM2_uncertainty" in out:
        out["SSM_uncertainty"] = out["SSM2_uncertainty"]
    if qa:  # the script-15 ranges, layer by layer: (low, high, low included, high included)
        ranges = {"T0": (0, 800, 1, 1), "finalSOC": (0, 800, 1, 1), "AbsDiff": (-80, 80, 0, 0),
                  "RelDiff": (0, 80, 1, 0), "ASR": (-4, 4, 0, 1), "RSR": (0, 4, 1, 1)}  # fmt: skip
        for k, v in out.items():
            if k in ("ceq", "cin_mean", "cin_t0") or v != v:
                continue
            lo, hi, lo_in, hi_in = (
                (0, 200, 1, 1) if k.endswith("_uncertainty") else ranges[k.split("_")[0]]
            )
            if not ((v >= lo if lo_in else v > lo) and (v <= hi if hi_in else v < hi)):
                out[k] = nan
    return out


# fao-v1.2 (METHOD.md 9, ROTHC.md 7): the v1.2 scripts' numerics, from their description


def _f32(v: float) -> float:
    return float(np.float32(v))


def fao_b(p, e, cover, clay: float) -> list[float]:
    """The scripts' moisture factor of the 12 months of one year (ROTHC.md 7): January restarts
    at min(P - E, 0), unclamped; later months clamp to the month's maximum deficit (/1.8 when
    bare, from below); b of every month with December's maximum, then clamped at 0.2."""
    limit = [-(20 + 1.3 * clay - 0.01 * clay * clay) * DEPTH / 23.0 / (1.8 if c > 0.8 else 1.0)
             for c in cover]  # fmt: skip
    acc = [min(p[0] - e[0], 0.0)]
    for m in range(1, 12):
        acc.append(max(min(acc[-1] + p[m] - e[m], 0.0), limit[m]))
    top = limit[11]
    return [max(1.0 if a > 0.444 * top else 0.2 + 0.8 * (top - a) / (top - 0.444 * top), 0.2)
            for a in acc]  # fmt: skip


def fao_xi(climate, cover, clay: float, paddy: float) -> list[float]:
    t, p, e = climate
    b = fao_b(p, e, cover, clay)
    a = [47.9 / (1.0 + math.exp(106.0 / (t[m] + 18.3))) for m in range(12)]  # SoilR constants
    return [a[m] * b[m] * cover[m] * paddy for m in range(12)]


def fao_euler(pools, xi, steps: int, annual: float, dr: float, clay: float) -> list[float]:
    """Forward Euler on the continuous ODE, h = 1/12 yr, step j with month j's xi."""
    x = 1.67 * (1.85 + 1.60 * math.exp(-0.0786 * clay))
    fb, fh = 0.46 / (1 + x), 0.54 / (1 + x)
    p = list(pools)
    for j in range(steps):
        out = [K[i] * xi[j % 12] * p[i] for i in range(4)]
        flux = [annual * dr / (dr + 1) - out[0], annual / (dr + 1) - out[1],
                fb * sum(out) - out[2], fh * sum(out) - out[3]]  # fmt: skip
        p = [p[i] + flux[i] / 12.0 for i in range(4)]
    return p


def fao_chain(site, f_soc=1.0, f_clay=1.0, f_t=1.0, f_p=1.0, inputs=None) -> dict[str, Any]:
    """One chain as the scripts run it: the spin-up perturbs SOC and clay only, with the IOM
    of the central SOC, on the 2020 class; the warm-up and forward runs also T and P, with
    the central NPP reference; 11 steps a warm-up year, 239 forward; Cin_t0 of year 18."""
    soc, clay = site["soc"] * f_soc, site["clay"] * f_clay
    iom = 0.049 * site["soc"] ** 1.139
    lu, cover = list(site["land_use"]), site["cover"]
    dr, coef, paddy, _ = CLASSES[lu[-1]]
    spin = (site["spinup_temperature"], site["spinup_precipitation"], site["spinup_pet"])
    xi = sum(fao_xi(spin, cover, clay, paddy)) / 12.0
    x = 1.67 * (1.85 + 1.60 * math.exp(-0.0786 * clay))
    fb, fh = 0.46 / (1 + x), 0.54 / (1 + x)
    unit = [_f32(dr) / (_f32(dr) + 1) / (10 * xi), 1 / (_f32(dr) + 1) / (0.3 * xi),
            fb / (1 - fb - fh) / (0.66 * xi), fh / (1 - fb - fh) / (0.02 * xi)]  # fmt: skip
    ceq = (soc - iom) / sum(unit)
    pools = [ceq * u for u in unit]
    warm = ([v * f_t for v in site["warmup_temperature"]],
            [v * f_p for v in site["warmup_precipitation"]], site["warmup_pet"])  # fmt: skip
    reference, annual, previous, cin = site["npp_reference"] * coef, 0.0, 0.0, []
    for y in range(len(lu)):
        climate = climate_of(warm, y)
        ydr, ycoef, ypaddy, _ = CLASSES[lu[y]]
        npp = miami(sum(climate[0]) / 12.0, sum(climate[1])) * ycoef
        annual = ceq * npp / reference if y == 0 else annual * npp / previous
        previous = npp
        cin.append(annual)
        xi_y = fao_xi(climate, cover, clay, ypaddy)
        pools = fao_euler(pools, xi_y, 11, annual, _f32(ydr), clay)
    cin_mean = sum(cin) / len(cin)
    fwd = ([v * f_t for v in site["forward_temperature"]],
           [v * f_p for v in site["forward_precipitation"]], site["forward_pet"])  # fmt: skip
    xi_f = fao_xi(fwd, cover, clay, paddy)
    inputs = inputs or {"BAU": 1.0, "SSM1": 1.05, "SSM2": 1.10, "SSM3": 1.20}
    finals = {n: sum(fao_euler(pools, xi_f, 239, cin_mean * k, _f32(dr), clay)) + iom
              for n, k in inputs.items()}  # fmt: skip
    return dict(T0=sum(pools) + iom, finals=finals, ceq=ceq, cin_mean=cin_mean, cin_t0=cin[17])


def fao_layers(site: dict[str, Any]) -> dict[str, float]:
    """The 29 layers of script 13-14 (only SSM2 has min/max runs, at 0.95 and 1.25 Cin; signed
    stock uncertainties; rate uncertainties by the rule for a sum), QA as section 7."""
    nan = float("nan")
    runs = [fao_chain(site),
            fao_chain(site, 0.8, 0.9, 1.02, 0.95, {"BAU": 1.0, "SSM2": 0.95}),
            fao_chain(site, 1.2, 1.1, 0.98, 1.05, {"BAU": 1.0, "SSM2": 1.25})]  # fmt: skip
    f = [{n: v if 0.0 <= v <= 300.0 else nan for n, v in r["finals"].items()} for r in runs]
    t0 = runs[0]["T0"]
    out = {k: runs[0][k] for k in ("ceq", "cin_mean", "cin_t0", "T0")}
    out["T0_uncertainty"] = 100 * (runs[2]["T0"] - runs[1]["T0"]) / (2 * t0)
    u = {n: 100 * (f[2][n] - f[1][n]) / (2 * f[0][n]) for n in ("BAU", "SSM2")}
    out["BAU_uncertainty"], out["SSM_uncertainty"] = u["BAU"], u["SSM2"]
    for n, v in f[0].items():
        us = u["BAU" if n == "BAU" else "SSM2"]
        out[f"finalSOC_{n}"], out[f"AbsDiff_{n}"], out[f"ASR_{n}"] = v, v - t0, (v - t0) / 20
        out[f"ASR_{n}_uncertainty"] = math.hypot(us * v, out["T0_uncertainty"] * t0) / abs(t0 + v)
        if n != "BAU":
            bau = f[0]["BAU"]
            out[f"RelDiff_{n}"], out[f"RSR_{n}"] = v - bau, (v - bau) / 20
            out[f"RSR_{n}_uncertainty"] = math.hypot(us * v, u["BAU"] * bau) / abs(bau + v)
    return out
