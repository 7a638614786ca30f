"""Conformance with the official Rothamsted RothC programs on their published example."""

from __future__ import annotations

import numpy as np
import pytest

from gsocseq import rothc
from gsocseq.rothc.example import read_input, simulate

from ..conftest import DATA

RTOL = 1e-9
POOL_COLUMNS_R = ["DPM_t_C_ha", "RPM_t_C_ha", "Bio_t_C_ha", "Hum_t_C_ha", "IOM_t_C_ha"]
POOL_COLUMNS_PY = ["DPM_t_C_ha", "RPM_t_C_ha", "BIO_t_C_ha", "HUM_t_C_ha", "IOM_t_C_ha"]


def _read(path):
    return np.genfromtxt(path, delimiter=",", names=True)


def _rel(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


CASES = [
    ("RothC_R", "month_results.out", "year_results.out", POOL_COLUMNS_R, 20916),
    ("RothC_Py", "month_results.csv", "year_results.csv", POOL_COLUMNS_PY, 19872),
]


@pytest.mark.parametrize(("folder", "monthly", "yearly", "columns", "spin_months"), CASES)
def test_official_example(folder, monthly, yearly, columns, spin_months):
    data = read_input(DATA / "rothamsted_example" / folder / "RothC_input.dat")
    month_ref = _read(DATA / "rothamsted_example" / folder / monthly)
    year_ref = _read(DATA / "rothamsted_example" / folder / yearly)
    spin, fwd = simulate(data)

    # spin-up: month count identical, pools as the official first yearly row
    assert spin.months is not None and int(spin.months[0]) == spin_months
    assert int(year_ref["Month"][0]) == spin_months
    ref_spin = np.array([year_ref[c][0] for c in columns])
    assert _rel(spin.pools[0], ref_spin) < RTOL

    # every monthly pool and SOC
    assert fwd.monthly is not None and fwd.monthly_co2 is not None
    ref_pools = np.column_stack([month_ref[c] for c in columns])
    assert fwd.monthly.shape == (1, len(month_ref), 5)
    assert _rel(fwd.monthly[0], ref_pools) < RTOL
    assert _rel(fwd.monthly[0].sum(axis=1), month_ref["SOC_t_C_ha"]) < RTOL

    # yearly rows after the spin-up are the Decembers
    decembers = fwd.monthly[0, 11::12]
    ref_years = np.column_stack([year_ref[c][1:] for c in columns])
    assert _rel(decembers, ref_years) < RTOL


def test_rate_factors_deficit_and_co2():
    folder = DATA / "rothamsted_example" / "RothC_R"
    data = read_input(folder / "RothC_input.dat")
    ref = _read(folder / "month_results.out")
    spin, fwd = simulate(data)
    part = slice(12, None)
    a, b, c, rate, tsmd = rothc.rate_modifiers(
        data.temperature[part],
        data.precipitation[part],
        data.evaporation[part],
        data.cover[part],
        clay=data.clay,
        depth=data.depth,
        tsmd=spin.tsmd,
    )
    assert _rel(a[0], ref["RM_Temp"]) < RTOL
    assert _rel(b[0], ref["RM_Moist"]) < RTOL
    assert _rel(c[0], ref["RM_PC"]) < RTOL
    assert np.max(np.abs(tsmd[0] - ref["SMD_mm"])) < 1e-9 * np.max(np.abs(ref["SMD_mm"]))
    np.testing.assert_allclose(rate, a * b * c, rtol=1e-15)
    # the R program reports CO2 released since the end of the spin-up, cumulated
    assert fwd.monthly_co2 is not None
    assert _rel(np.cumsum(fwd.monthly_co2[0]), ref["CO2_t_C_ha"]) < RTOL
    assert abs(fwd.co2[0] / ref["CO2_t_C_ha"][-1] - 1) < RTOL


def test_example_module_runs(capsys):
    from gsocseq.rothc import example

    assert example.main() == 0
    out = capsys.readouterr().out
    assert "20916 months" in out
