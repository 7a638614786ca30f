"""fao-v1.2 mode against the FAO GSOCseq v1.2 R scripts on the public 1,000-pixel area, and
against the same chain run by hand with the gsocseq.fao Python API."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio

from gsocseq import classes, fao
from gsocseq.pipeline import run

from ..conftest import DATA

T1000 = DATA / "fao_v1.2_t1000"
INPUTS = T1000 / "inputs"


def fao_config(output: Path, **run_options) -> dict:
    return {
        "run": {"name": "THA_NP", "mode": "fao-v1.2", "output": str(output), **run_options},
        "inputs": {
            "fao": {
                "spinup_stack": str(INPUTS / "STACK/THA_NP_Stack_Set_SPIN_UP.tif"),
                "warmup_stack": str(INPUTS / "STACK/THA_NP_Stack_Set_Warm_UP.tif"),
                "forward_stack": str(INPUTS / "STACK/THA_NP_Stack_Set_Forward.tif"),
                "warmup_temperature": {
                    "path": str(INPUTS / "TERRA_CLIMATE/AverageTemperature_2001-2020.tif"),
                    "scale": 0.1,
                },
                "warmup_precipitation": str(INPUTS / "TERRA_CLIMATE/Precipitation_2001-2020.tif"),
                "warmup_pet": {
                    "path": str(INPUTS / "TERRA_CLIMATE/PET_2001-2020.tif"),
                    "scale": 0.1,
                },
                "npp_reference": str(INPUTS / "NPP_TERRA/NPP_MIAMI_MEAN_81-00_AOI.tif"),
                "npp_reference_min": str(INPUTS / "NPP_TERRA/NPP_MIAMI_MEAN_81-00_AOI_MIN.tif"),
                "npp_reference_max": str(INPUTS / "NPP_TERRA/NPP_MIAMI_MEAN_81-00_AOI_MAX.tif"),
            }
        },
    }


@pytest.fixture(scope="module")
def fao_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fao")
    summary = run(fao_config(out))
    return out, summary


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        a = ds.read(1).astype(np.float64)
        if ds.nodata is not None and not math.isnan(ds.nodata):
            a[a == ds.nodata] = np.nan
        return a


def test_layers_match_the_r_maps_within_one_ulp(fao_run):
    out, summary = fao_run
    ref_maps = sorted((T1000 / "outputs/maps").glob("*.tif"))
    assert len(ref_maps) == 29
    produced = sorted(p.name for p in out.glob("*Map030.tif"))
    assert produced == sorted(p.name for p in ref_maps)  # exactly the 29 FAO layers
    for ref in ref_maps:
        a = _read(ref).astype(np.float32)
        b = _read(out / ref.name).astype(np.float32)
        assert np.array_equal(np.isnan(a), np.isnan(b)), ref.name
        m = ~np.isnan(a)
        ulp = np.abs(a[m].view(np.int32).astype(np.int64) - b[m].view(np.int32).astype(np.int64))
        assert ulp.max() <= 1, (ref.name, ulp.max())
    assert summary.counts["modelled"] == 1000


def test_outputs_are_float32_cogs_on_the_master_grid(fao_run):
    out, _ = fao_run
    with rasterio.open(INPUTS / "STACK/THA_NP_Stack_Set_SPIN_UP.tif") as master:
        grid = (master.crs, master.transform, master.shape)
    for path in out.glob("*Map030.tif"):
        with rasterio.open(path) as ds:
            assert ds.dtypes[0] == "float32" and ds.nodata == -999
            assert (ds.crs, ds.transform, ds.shape) == grid
            assert ds.descriptions[0] and ds.units[0]
            assert ds.profile["tiled"]
    with rasterio.open(out / "THA_NP_GSOCseq_LandUse.tif") as ds:
        lu = ds.read(1)
        assert ds.dtypes[0] == "int16" and ds.nodata == 0  # METHOD.md section 7
        assert set(np.unique(lu)) <= {0, 2, 3, 5, 12, 13}
        assert (lu != 0).sum() == 1000
    summary = json.loads((out / "THA_NP_GSOCseq_run.json").read_text())
    assert summary["mode"] == "fao-v1.2"
    assert summary["counts"]["flag:a run ended with a negative pool"] == 23


def _table(name: str) -> dict[tuple[int, int], dict[str, float]]:
    with open(T1000 / "outputs" / name) as f:
        return {
            (int(r["row"]), int(r["col"])): {k: float(v) for k, v in r.items()}
            for r in csv.DictReader(f)
        }


def test_per_pixel_chain_by_hand_with_the_python_api(fao_run):
    """Spin-up, warm-up and forward BAU of 40 pixels with gsocseq.fao, against the layers and
    the R scripts' tables."""
    out, _ = fao_run
    with rasterio.open(INPUTS / "STACK/THA_NP_Stack_Set_SPIN_UP.tif") as ds:
        spin = ds.read().astype(np.float64)
    with rasterio.open(INPUTS / "STACK/THA_NP_Stack_Set_Warm_UP.tif") as ds:
        warm = ds.read().astype(np.float64)
    with rasterio.open(INPUTS / "STACK/THA_NP_Stack_Set_Forward.tif") as ds:
        fwd = ds.read().astype(np.float64)
    series = {}
    for key, name, scale in (
        ("t", "AverageTemperature_2001-2020.tif", 0.1),
        ("p", "Precipitation_2001-2020.tif", 1.0),
        ("e", "PET_2001-2020.tif", 0.1),
    ):
        with rasterio.open(INPUTS / "TERRA_CLIMATE" / name) as ds:
            raw = ds.read().astype(np.float64)
        # the scripts hold the scaled series in float32
        series[key] = (raw * scale).astype(np.float32).astype(np.float64) if scale != 1 else raw
    with rasterio.open(INPUTS / "NPP_TERRA/NPP_MIAMI_MEAN_81-00_AOI.tif") as ds:
        npp_raster = ds.read(1).astype(np.float64)
    _, coef, paddy_of, _ = classes.lookup_tables()
    t0_layer = _read(out / "THA_NP_GSOCseq_T0_Map030.tif")
    bau_layer = _read(out / "THA_NP_GSOCseq_finalSOC_BAU_Map030.tif")
    warm_table = _table("WARM_UP.csv")
    pixels = sorted(warm_table)[::25]
    for r, c in pixels:
        soc, clay = spin[0, r, c], spin[1, r, c]
        lu_last = int(spin[39, r, c])
        xi_spin = fao.xi(
            spin[2:14, r, c],
            spin[14:26, r, c],
            spin[26:38, r, c],
            spin[40:52, r, c],
            clay,
            paddy_of[lu_last],
        )
        cin_eq, pools = fao.analytical_spinup(
            soc, xi_mean=fao.r_mean(xi_spin), clay=clay, dpm_rpm=spin[38, r, c]
        )
        npp_ref = npp_raster[r, c] * coef[lu_last]
        inputs: list[float] = []
        prev_npp = np.nan
        for y in range(20):
            lu = int(warm[14 + y, r, c])
            months = slice(12 * y, 12 * y + 12)
            t, p, e = (series[k][months, r, c] for k in ("t", "p", "e"))
            npp = fao.miami_npp(fao.r_mean(t), math.fsum(p)) * coef[lu]
            cin = (cin_eq / npp_ref) * npp if y == 0 else (inputs[-1] / prev_npp) * npp
            inputs.append(float(np.squeeze(cin)))
            prev_npp = npp
            xi_y = fao.xi(t, p, e, warm[2:14, r, c], clay, paddy_of[lu])
            pools, _ = fao.euler(
                pools,
                annual_input=inputs[-1],
                xi_months=xi_y,
                clay=clay,
                dpm_rpm=warm[34 + y, r, c],
                years=1,
            )
        t0 = pools.sum()
        cin_mean = float(fao.r_mean(np.array(inputs)))
        xi_f = fao.xi(
            fwd[2:14, r, c],
            fwd[14:26, r, c],
            fwd[26:38, r, c],
            fwd[40:52, r, c],
            clay,
            paddy_of[int(fwd[39, r, c])],
        )
        final, _ = fao.euler(
            pools, annual_input=cin_mean, xi_months=xi_f, clay=clay, dpm_rpm=fwd[38, r, c], years=20
        )
        ref = warm_table[(r, c)]
        assert abs(t0 / ref["SOC_t0"] - 1) < 1e-12
        assert abs(cin_mean / ref["Cin_mean"] - 1) < 1e-12
        assert np.float32(t0) == np.float32(t0_layer[r, c])
        assert np.float32(final.sum()) == np.float32(bau_layer[r, c])


def test_per_pixel_tables_within_1e12(tmp_path):
    from gsocseq.config import from_dict
    from gsocseq.rasters import windows

    from ..blocks import read_block

    cfg = from_dict(fao_config(tmp_path))
    chain, block = read_block(cfg, next(windows(41, 41, 256)))
    sim = chain.simulate(block.arrays)
    index = {(int(r), int(c)): i for i, (r, c) in enumerate(zip(block.rows, block.cols))}
    spin, warm, fwd = _table("SPIN_UP.csv"), _table("WARM_UP.csv"), _table("FORWARD.csv")
    assert set(index) == set(spin) == set(warm) == set(fwd)
    checks = [
        (spin, "Cinput_EQ", sim["ceq"][:, 0]),
        (spin, "CIneq_min", sim["ceq"][:, 1]),
        (spin, "CIneq_max", sim["ceq"][:, 2]),
        (warm, "SOC_t0", sim["soc_t0"][:, 0]),
        (warm, "SOC_t0min", sim["soc_t0"][:, 1]),
        (warm, "SOC_t0max", sim["soc_t0"][:, 2]),
        (warm, "Cin_t0", sim["cin_t0"][:, 0]),
        (warm, "Cin_mean", sim["cin_mean"][:, 0]),
        (warm, "Cin_min", sim["cin_mean"][:, 1]),
        (warm, "Cin_max", sim["cin_mean"][:, 2]),
        (fwd, "SOC_BAU_20", sim["final_soc"][:, 0, 0, 0]),
        (fwd, "Lw_Sc", sim["final_soc"][:, 0, 1, 0]),
        (fwd, "Md_Sc", sim["final_soc"][:, 0, 2, 0]),
        (fwd, "Hgh_S", sim["final_soc"][:, 0, 3, 0]),
        (fwd, "SOC_BAU__1", sim["final_soc"][:, 0, 0, 1]),
        (fwd, "SOC_BAU__2", sim["final_soc"][:, 0, 0, 2]),
        (fwd, "Md_Scn_mn", sim["final_soc"][:, 0, 2, 1]),
        (fwd, "Md_Scn_mx", sim["final_soc"][:, 0, 2, 2]),
    ]
    for k, pool in enumerate(("DPM", "RPM", "BIO", "HUM", "IOM")):
        checks.append((spin, f"{pool}_pedotr", sim["pools_spinup"][:, 0, k]))
        checks.append((spin, f"{pool}_min", sim["pools_spinup"][:, 1, k]))
        checks.append((spin, f"{pool}_max", sim["pools_spinup"][:, 2, k]))
        checks.append((warm, f"{pool}_w_up", sim["pools_t0"][:, 0, k]))
    for table, field, values in checks:
        rel = max(abs(values[index[k]] / row[field] - 1) for k, row in table.items())
        assert rel < 1e-12, (field, rel)


def test_numerical_spinup_subset():
    """Script 11.2 (numerical spin-up, Weihermuller pools) on its 100-pixel subset."""
    from gsocseq.config import from_dict
    from gsocseq.rasters import windows

    from ..blocks import read_block

    cfg = from_dict(fao_config(Path("/nonexistent"), spinup="numerical"))
    chain, block = read_block(cfg, next(windows(41, 41, 256)))
    sim = chain.simulate(block.arrays)
    index = {(int(r), int(c)): i for i, (r, c) in enumerate(zip(block.rows, block.cols))}
    table = _table("SPIN_UP_11.2_numerical_subset.csv")
    fields = [
        ("Cnpt_EQ", sim["ceq"][:, 0]),
        ("CInq_mn", sim["ceq"][:, 1]),
        ("CInq_mx", sim["ceq"][:, 2]),
    ]
    for k, pool in enumerate(("DPM", "RPM", "BIO", "HUM", "IOM")):
        fields += [
            (f"{pool}_pdt", sim["pools_spinup"][:, 0, k]),
            (f"{pool}_min", sim["pools_spinup"][:, 1, k]),
            (f"{pool}_max", sim["pools_spinup"][:, 2, k]),
        ]
    for field, values in fields:
        rel = max(abs(values[index[k]] / row[field] - 1) for k, row in table.items())
        assert rel < 1e-12, (field, rel)


def test_a_dpm_rpm_the_stacks_override_is_refused(tmp_path):
    """The FAO layout reads the DPM/RPM ratio of every phase from the stacks' DR bands: a
    [classes.N] dpm_rpm changing a default class was accepted and changed no pixel (the layers
    were those of the stacks' DR, bit for bit, without a word). Now refused, naming the class,
    the value and the fix; a value equal to the default, a class new to the table and a class a
    scenario's land_use moves pixels to (its forward runs take the table's) are accepted."""
    from gsocseq.config import ConfigError, from_dict

    for mode in ("fao-v1.2", "rothamsted"):
        cfg = fao_config(tmp_path, mode=mode)
        with pytest.raises(ConfigError, match=r"\[classes\.2\]\.dpm_rpm: 3 \(default 1\.44\) is "):
            from_dict({**cfg, "classes": {"2": {"dpm_rpm": 3.0}}})
    cfg = fao_config(tmp_path, mode="rothamsted")
    from_dict({**cfg, "classes": {"2": {"dpm_rpm": 1.44}}})
    new = {"name": "agroforestry", "dpm_rpm": 0.5, "npp_coefficient": 0.8}
    from_dict({**cfg, "classes": {"14": new}})
    luc = {"LUC": {"land_use": 3}}
    from_dict({**cfg, "classes": {"3": {"dpm_rpm": 0.5}}, "scenarios": luc})
    # without the scenario that moves pixels to class 3, its dpm_rpm could never apply
    with pytest.raises(ConfigError, match=r"\[classes\.3\]\.dpm_rpm: 0\.5"):
        from_dict({**cfg, "classes": {"3": {"dpm_rpm": 0.5}}})
