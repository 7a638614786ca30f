"""The rothamsted-mode chain against an independent oracle (tests/chain_oracle.py, written from
METHOD.md and ROTHC.md only) on a dozen pixels: tropical, dryland, cold (months below -5
degrees C), monsoon paddy; land-use histories with forest and bare-soil years; and the options
a country uses: uncertainty rasters, spin-up land use and methods, forward climate and series,
the class table, practice scenarios, dryland moisture, given NPP or carbon inputs, calibration,
other horizons, the QA filters. Per-pixel values agree to 1e-9 relative (the exact equilibrium
agrees to ~1e-12; differences of nearly equal stocks lose the rest)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from gsocseq.pixels import run_pixels
from tests import chain_oracle as oracle

Y = 20
CLIMATES = {  # T mean, T amplitude, P mean, P amplitude, PET mean, PET amplitude
    "temperate": (10.0, 8.0, 70.0, 20.0, 60.0, 50.0),
    "dry": (20.0, 7.0, 15.0, 12.0, 130.0, 50.0),
    "humid_hot": (27.0, 1.5, 250.0, 80.0, 120.0, 10.0),
    "cold": (-2.0, 14.0, 40.0, 15.0, 40.0, 40.0),
    "monsoon": (24.0, 5.0, 120.0, 150.0, 110.0, 30.0),
}
CROP = [1.0, 1.0, 0.9, 0.7, 0.6, 0.6, 0.6, 0.6, 0.7, 0.85, 1.0, 1.0]
GRASS = [0.6] * 12
MIX = [0.8, 0.81, 0.75, 0.6, 0.6, 0.62, 0.66, 0.7, 0.9, 0.95, 0.8, 0.8]


def _series(name: str, years: int, seed: int, shift: float = 0.0):
    tm, ta, pm, pa, em, ea = CLIMATES[name]
    rng = np.random.default_rng(seed)
    phase = np.cos(2 * np.pi * (np.arange(12) - 6) / 12)
    t, p, e = [], [], []
    for _ in range(years):
        dt = rng.normal(0, 0.6) + shift
        t += list(tm + dt + ta * phase + rng.normal(0, 0.5, 12))
        p += list(np.maximum(0.0, pm * rng.uniform(0.7, 1.3) + pa * phase + rng.normal(0, 10, 12)))
        e += list(np.maximum(0.0, em + ea * phase + rng.normal(0, 5, 12)))
    return [float(v) for v in t], [float(v) for v in p], [float(v) for v in e]


def _site(climate: str, soc: float, clay: float, land_use, cover, seed: int) -> dict[str, Any]:
    st, sp, se = _series(climate, 1, seed)
    wt, wp, we = _series(climate, Y, seed + 1000, shift=0.3)
    return dict(soc=soc, clay=clay, land_use=land_use, cover=list(cover),
                spinup_temperature=st, spinup_precipitation=sp, spinup_pet=se,
                warmup_temperature=wt, warmup_precipitation=wp, warmup_pet=we,
                npp_reference=oracle.miami(sum(st) / 12, sum(sp)) * 1.03)  # fmt: skip


def _sites() -> list[dict[str, Any]]:
    return [
        _site("temperate", 55.0, 22.0, 2, CROP, 1),
        _site("dry", 18.0, 12.0, 3, GRASS, 2),
        _site("humid_hot", 70.0, 45.0, 5, MIX, 3),
        _site("cold", 90.0, 30.0, 12, CROP, 4),
        _site("monsoon", 40.0, 38.0, 13, GRASS, 5),
        _site("dry", 25.0, 5.0, 2, MIX, 6),
        _site("temperate", 60.0, 18.0, [4] * 5 + [2] * 15, CROP, 7),  # forest first
        _site("temperate", 48.0, 28.0, [3] * 8 + [9] * 3 + [2] * 9, MIX, 8),  # bare soil between
        _site("monsoon", 33.0, 50.0, [2, 2, 13], GRASS, 9),  # 3 bands: the oldest repeated
        _site("dry", 30.0, 20.0, [9] * 4 + [3] * 16, CROP, 10),  # bare soil first
    ]


def _inputs(sites: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    lus = [list(np.atleast_1d(s["land_use"])) for s in sites]
    out["land_use"] = np.array([[lu[0]] * (Y - len(lu)) + lu for lu in lus])
    for k in sites[0]:
        if k != "land_use":
            out[k] = np.array([s[k] for s in sites], dtype=float)
    return out


def _group(site: dict[str, Any]) -> Any:
    return oracle.CLASSES[int(np.atleast_1d(site["land_use"])[-1])][3]


def _compare(got: dict[str, np.ndarray], want: list[dict[str, float]], what: str) -> None:
    for k in want[0]:
        assert k in got, f"{what}: {k} missing"
        for i, values in enumerate(want):
            g, w = float(got[k][i]), values[k]
            if math.isnan(w) or math.isnan(g):
                assert math.isnan(w) and math.isnan(g), f"{what}: {k} pixel {i}: {g} vs {w}"
            else:
                assert abs(g - w) <= 1e-9 * abs(w), f"{what}: {k} pixel {i}: {g} vs {w}"


def test_default_run_and_uncertainty_inputs() -> None:
    sites = _sites()
    _compare(run_pixels(_inputs(sites), threads=1), [oracle.layers(s) for s in sites], "default")
    for i, s in enumerate(sites):
        s["npp_reference_min"] = s["npp_reference"] * (0.93 + 0.01 * i)
        s["npp_reference_max"] = s["npp_reference"] * (1.04 + 0.005 * i)
        s["soc_uncertainty"], s["clay_uncertainty"] = 12.0 + 3 * i, 5.0 + 2 * i
        s["spinup_land_use"] = [3, 2, 2, 3, 2, 4, 3, 3, 13, 5][i]
        s["forward_temperature"] = [t + 1.5 for t in s["spinup_temperature"]]
        s["forward_precipitation"] = [p * 0.9 for p in s["spinup_precipitation"]]
        s["forward_pet"] = [e * 1.1 for e in s["spinup_pet"]]
    want = [oracle.layers(s, unc=(s["soc_uncertainty"] / 100, s["clay_uncertainty"] / 100))
            for s in sites]  # fmt: skip
    got = run_pixels(_inputs(sites), {"run": {"horizons": [50]}}, threads=1)
    _compare(got, want, "uncertainty inputs, spin-up class, forward climate")
    want = [oracle.layers(s, unc=(s["soc_uncertainty"] / 100, s["clay_uncertainty"] / 100),
                          years=50) for s in sites]  # fmt: skip
    horizon = {k.replace("_2070", ""): v for k, v in got.items() if "_2070" in k}
    _compare(horizon, [{k: w[k] for k in horizon} for w in want], "50 years")


@pytest.mark.parametrize("spinup", ["analytical", "numerical", "rothamsted-iterative"])
def test_spinup_methods(spinup: str) -> None:
    sites = _sites()[:5]
    for pools in ["second-run", "weihermuller"] if spinup == "numerical" else ["second-run"]:
        got = run_pixels(_inputs(sites), threads=1, spinup=spinup, numerical_pools=pools)
        want = [oracle.layers(s, spinup=spinup, numerical_pools=pools) for s in sites]
        _compare(got, want, f"{spinup} {pools}")


def test_practices_classes_and_adoption() -> None:
    sites = _sites()
    pattern = [0, 0, 0, 0, 0, 0, 0.3, 0.4, 0.3, 0, 0, 0]
    config = {
        "classes": {
            "2": {"input_pattern": pattern},
            "3": {"rate_factor": 0.8, "npp_coefficient": 0.6},
        },
        "scenarios": {
            "GRP": {"crops": 0.07, "grass": 0.03, "paddy": 0.12},
            "ADD": {"added_input": 0.4},
            "FYM": {"fym": 0.6},
            "RF": {"rate_factor": 0.93},
            "COV": {"cover": [0.6] * 12},
            "LUC": {"land_use": 3},
            "MIX": {"increase": 0.1, "fym": 0.3, "rate_factor": 0.95, "added_input": 0.2,
                    "adoption_years": 5},
            "SLOW": {"increase": 0.2, "cover": [0.6] * 12, "adoption_years": 25},
            "CLS": {"added_input": {"2": 0.5, "13": 0.25}, "rate_factor": {"grass": 0.9}},
        },
    }  # fmt: skip
    classes = dict(oracle.CLASSES)
    classes[3] = (0.67, 0.6, 0.8, "grass")
    with pytest.warns(UserWarning, match="adoption_years = 25"):
        got = run_pixels(_inputs(sites), config, threads=1)
    want = []
    for s in sites:
        group, last = _group(s), int(np.atleast_1d(s["land_use"])[-1])
        scenarios = {
            "GRP": {"inc": {"crops": 0.07, "grass": 0.03, "paddy": 0.12}[group]},
            "ADD": {"added_input": 0.4},
            "FYM": {"fym": 0.6},
            "RF": {"rate_factor": 0.93},
            "COV": {"cover": [0.6] * 12},
            "LUC": {"land_use": 3},
            "MIX": {"inc": 0.1, "fym": 0.3, "rate_factor": 0.95, "added_input": 0.2, "adopt": 5},
            "SLOW": {"inc": 0.2, "cover": [0.6] * 12, "adopt": 25},
            "CLS": {**({"added_input": {2: 0.5, 13: 0.25}[last]} if last in (2, 13) else {}),
                    **({"rate_factor": 0.9} if group == "grass" else {})},
        }  # fmt: skip
        want.append(oracle.layers(s, scenarios=scenarios, classes=classes, patterns={2: pattern}))
    _compare(got, want, "practices")


@pytest.mark.parametrize("moisture", ["farina-2", "farina-3"])
def test_dryland_moisture(moisture: str) -> None:
    sites = _sites()
    for i, s in enumerate(sites):
        s["silt"], s["bulk_density"] = 15.0 + 5 * i, 1.1 + 0.04 * i
    option = int(moisture[-1])
    for bare, b_min in (("standard", 0.2), ("wilting-point", 0.1)):
        got = run_pixels(_inputs(sites), threads=1, moisture=moisture, bare_deficit=bare,
                         min_moisture_rate=b_min)  # fmt: skip
        want = [oracle.layers(s, moisture=(option, 1 if bare == "standard" else 2, b_min))
                for s in sites]  # fmt: skip
        _compare(got, want, f"{moisture} {bare} {b_min}")
    for i, s in enumerate(sites):
        s["organic_carbon"] = 0.8 + 0.3 * i
    got = run_pixels(_inputs(sites), threads=1, moisture=moisture, min_moisture_rate=0.15)
    _compare(got, [oracle.layers(s, moisture=(option, 1, 0.15)) for s in sites], "given OC")


def test_given_npp_carbon_inputs_forward_series_and_calibration() -> None:
    sites = _sites()
    rng = np.random.default_rng(5)
    for s in sites:
        s["npp_reference_min"] = s["npp_reference"] * 0.9
        s["npp_reference_max"] = s["npp_reference"] * 1.1
    for key, low, high in (("warmup_npp", 2, 9), ("warmup_carbon_input", 1, 5)):
        given = [dict(s, **{key: list(rng.uniform(low, high, Y))}) for s in sites]
        _compare(run_pixels(_inputs(given), threads=1), [oracle.layers(s) for s in given], key)
    climates = ["temperate", "dry", "humid_hot", "cold", "monsoon"] * 2
    for i, s in enumerate(sites):
        series = _series(climates[i], Y, 500 + i, shift=1.0)
        for q, part in enumerate(("temperature", "precipitation", "pet")):
            s[f"forward_series_{part}"] = series[q]
    scenarios = {
        "SSM1": {"increase": 0.05},
        "A": {"added_input": 0.3, "fym": 0.2, "rate_factor": 0.9},
    }
    mine = {"SSM1": {"inc": 0.05}, "A": {"added_input": 0.3, "fym": 0.2, "rate_factor": 0.9}}
    for forward_inputs in ("constant", "npp-scaled"):
        got = run_pixels(_inputs(sites), {"scenarios": scenarios}, threads=1,
                         forward_inputs=forward_inputs)  # fmt: skip
        scaled = forward_inputs == "npp-scaled"
        want = [oracle.layers(dict(s, npp_scaled=scaled), scenarios=mine) for s in sites]
        _compare(got, want, f"forward series, {forward_inputs}")
    sites = _sites()
    k_input, k_rate = np.linspace(0.8, 1.3, 10), np.linspace(1.2, 0.85, 10)
    got = run_pixels(_inputs(sites), threads=1, calibration=(k_input, k_rate))
    want = [oracle.layers(s, input_multiplier=k_input[i], rate_multiplier=k_rate[i])
            for i, s in enumerate(sites)]  # fmt: skip
    _compare(got, want, "calibration")


def test_qa_filters() -> None:
    """Final stocks outside [0, 300] (central and the scenarios' min/max runs), then the
    script-15 ranges layer by layer; and the same values unfiltered with qa_mask = false."""
    sites = [
        _site("humid_hot", 250.0, 45.0, 5, GRASS, 31),
        _site("cold", 290.0, 30.0, 3, GRASS, 32),
        _site("cold", 260.0, 30.0, 2, GRASS, 33),
        _site("dry", 150.0, 10.0, 3, CROP, 36),
        _site("cold", 240.0, 30.0, 3, GRASS, 37),
        _site("temperate", 40.0, 30.0, 2, CROP, 38),
    ]
    scenarios = {"BIG": {"increase": 1.5}, "HUGE": {"increase": 6.0},
                 "WORSE": {"rate_factor": 1.6}, "F": {"fym": 8.0}}  # fmt: skip
    mine = {k: {"inc": v["increase"]} if "increase" in v else v for k, v in scenarios.items()}
    config = {"exclusions": {"enabled": False}, "scenarios": scenarios}
    for qa in (True, False):
        got = run_pixels(_inputs(sites), config, threads=1, qa_mask=qa)
        _compare(got, [oracle.layers(s, scenarios=mine, qa=qa) for s in sites], f"qa {qa}")


def test_fao_v12_mode() -> None:
    """fao-v1.2 against the oracle of the scripts' numerics (float32 inputs, as the FAO stacks
    hold them; the forward climate given), on pixels that stay in range: the layers agree to
    1e-9 relative (the Euler-unstable pixels are left out: their stocks leave every range)."""
    sites = [
        _site("temperate", 55.0, 22.0, 2, CROP, 1),
        _site("dry", 18.0, 12.0, 3, GRASS, 2),
        _site("temperate", 70.0, 45.0, 5, MIX, 3),
        _site("cold", 90.0, 30.0, 12, GRASS, 4),
        _site("temperate", 40.0, 38.0, 13, GRASS, 5),
        _site("temperate", 60.0, 18.0, [4] * 5 + [2] * 15, CROP, 7),
        _site("dry", 28.0, 8.0, 12, MIX, 17),
    ]
    for s in sites:
        s["land_use"] = list(np.broadcast_to(s["land_use"], Y))
        for k, v in list(s.items()):
            if k != "land_use":
                s[k] = np.asarray(v, dtype=np.float32).astype(float).tolist()
        for part in ("temperature", "precipitation", "pet"):
            monthly = np.reshape(s[f"warmup_{part}"], (Y, 12)).mean(axis=0)
            s[f"forward_{part}"] = monthly.astype(np.float32).astype(float).tolist()
    got = run_pixels(_inputs(sites), threads=1, mode="fao-v1.2")
    _compare(got, [oracle.fao_layers(s) for s in sites], "fao-v1.2")
