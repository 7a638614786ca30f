"""The dryland moisture options of the official RothC v2.0.0 (Farina et al. 2013; ROTHC.md
section 8) through the public numpy API: the official program's output for its example under
five option sets (tests/data/rothc_v2_farina) to 1e-9 relative, spin-up months exactly."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from gsocseq import rothc
from gsocseq.rothc.example import moisture_options, read_input, simulate

DATA = Path(__file__).parents[1] / "data" / "rothc_v2_farina"
POOLS = ["DPM_t_C_ha", "RPM_t_C_ha", "BIO_t_C_ha", "HUM_t_C_ha", "IOM_t_C_ha"]


def _runs() -> list[tuple[str, dict]]:
    with open(DATA / "options.csv", newline="") as f:
        return [
            (
                r["run"],
                moisture_options(
                    int(r["opt_RMmoist"]), int(r["opt_SMDbare"]), float(r["minRM_Moist"])
                ),
            )
            for r in csv.DictReader(f)
        ]


def _official(run: str) -> np.ndarray:
    return np.genfromtxt(
        DATA / run / "month_results.out", delimiter=",", names=True, autostrip=True
    )


@pytest.mark.parametrize(("run", "options"), _runs(), ids=[r for r, _ in _runs()])
def test_reproduces_the_official_v2_program(run, options):
    data = read_input(DATA / "RothC_input.dat")
    assert data.moisture["moisture"] == "rothc-26.3"  # the input as shipped: option 1
    assert (data.silt, data.bulk_density, data.organic_carbon) == (58.6, 1.27, 0.94)
    water = {**data.soil_water(), **options}
    if options["moisture"] != "rothc-26.3":
        water.update(
            silt=data.silt, bulk_density=data.bulk_density, organic_carbon=data.organic_carbon
        )
    official = _official(run)
    spin, forward = simulate(data, water)
    # the spin-up: the official iterative rule, the same number of months
    assert spin.months is not None and int(spin.months[0]) == int(official["Month"][1])
    start = np.array([official[p][1] for p in POOLS])
    np.testing.assert_allclose(spin.pools[0], start, rtol=1e-9, atol=0)
    # every month of the forward run: pools, SOC, the deficit and the moisture factor
    assert forward.monthly is not None
    rows = official[2:]
    for k, p in enumerate(POOLS):
        np.testing.assert_allclose(forward.monthly[0, :, k], rows[p], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        forward.monthly[0].sum(axis=1), rows["SOC_t_C_ha"], rtol=1e-9, atol=0
    )
    months = slice(12, None)
    _, b, _, _, tsmd = rothc.rate_modifiers(
        temperature=data.temperature[months],
        precipitation=data.precipitation[months],
        evaporation=data.evaporation[months],
        cover=data.cover[months],
        clay=data.clay,
        depth=data.depth,
        tsmd=spin.tsmd,
        **water,
    )
    np.testing.assert_allclose(tsmd[0], rows["SMD_mm"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b[0], rows["RM_Moist"], rtol=1e-9, atol=0)


def test_the_options_need_the_soil_water_and_check_it():
    data = read_input(DATA / "RothC_input.dat")
    common = {
        "temperature": data.temperature[:12],
        "precipitation": data.precipitation[:12],
        "evaporation": data.evaporation[:12],
        "cover": data.cover[:12],
        "clay": data.clay,
        "depth": data.depth,
    }
    with pytest.raises(ValueError, match="silt"):
        rothc.rate_modifiers(**common, moisture="farina-2")
    with pytest.raises(ValueError, match="bulk_density"):
        rothc.rate_modifiers(
            **common, moisture="farina-3", silt=58.6, bulk_density=127.0, organic_carbon=0.94
        )
    with pytest.raises(ValueError, match="moisture"):
        rothc.rate_modifiers(**common, moisture="farina")
    with pytest.raises(ValueError, match="min_moisture_rate"):
        rothc.rate_modifiers(**common, min_moisture_rate=0.1)
    # RothC-26.3 by name: the same numbers as without the option
    plain = rothc.rate_modifiers(**common)
    named = rothc.rate_modifiers(**common, moisture="rothc-26.3", bare_deficit="standard")
    for x, y in zip(plain, named):
        assert np.array_equal(x, y)
