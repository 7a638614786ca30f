"""The official Rothamsted RothC example (Hoosfield continuous barley), run with gsocseq.

``python -m gsocseq.rothc.example`` reads the example input shipped with the package (from
Rothamsted-Models/RothC_R, Apache-2.0), spins up with the official rule, runs the 70 years
month by month and prints the yearly SOC next to the official program's output.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from gsocseq import rothc
from gsocseq._arrays import F64

COVERED, BARE = 0.6, 1.0


@dataclass(frozen=True)
class RothCInput:
    """A Rothamsted RothC input table (``RothC_input.dat``).

    Rows 0-11 are the spin-up year, the rest the forward run. ``cover`` is the cover rate
    factor (0.6 where the table's PC flag is 1, 1.0 where it is 0).
    """

    clay: float
    depth: float
    iom: float
    year: np.ndarray
    month: np.ndarray
    modern: F64
    temperature: F64
    precipitation: F64
    evaporation: F64
    plant_input: F64
    fym_input: F64
    cover: F64
    dpm_rpm: F64
    #: RothC v2.0.0 inputs (None in the version 1 layout): silt %, bulk density g/cm3,
    #: organic carbon %, and the moisture options as gsocseq names them
    silt: float | None = None
    bulk_density: float | None = None
    organic_carbon: float | None = None
    moisture: dict[str, Any] = field(default_factory=dict)

    def soil_water(self) -> dict[str, Any]:
        """The moisture arguments of :func:`gsocseq.rothc.run` and :func:`gsocseq.rothc.spinup`
        for this input (none for RothC-26.3)."""
        if not self.moisture or self.moisture["moisture"] == "rothc-26.3":
            return dict(self.moisture)
        water = {
            "silt": self.silt,
            "bulk_density": self.bulk_density,
            "organic_carbon": self.organic_carbon,
        }
        return {**self.moisture, **water}


#: opt_RMmoist and opt_SMDbare of RothC v2.0.0 by gsocseq's names (ROTHC.md section 8)
MOISTURE_OPTIONS = {1: "rothc-26.3", 2: "farina-2", 3: "farina-3"}
BARE_DEFICIT_OPTIONS = {1: "standard", 2: "wilting-point"}


def moisture_options(opt_rm_moist: int, opt_smd_bare: int, min_rm_moist: float) -> dict[str, Any]:
    """gsocseq's moisture arguments for the options of the official RothC v2.0.0 program (its
    option 1 runs with 0.2 whatever minRM_Moist says)."""
    model = MOISTURE_OPTIONS[opt_rm_moist]
    return {
        "moisture": model,
        "bare_deficit": BARE_DEFICIT_OPTIONS[opt_smd_bare],
        "min_moisture_rate": 0.2 if model == "rothc-26.3" else min_rm_moist,
    }


def read_input(path: str | Path) -> RothCInput:
    """Parse an official ``RothC_input.dat`` (version 1 layout, or the v2.0.0 one with its
    moisture options, silt, bulk density and organic carbon)."""
    lines = Path(path).read_text().splitlines()
    soil: list[float] | None = None
    options: list[int] | None = None
    rows: list[list[float]] = []
    for i, line in enumerate(lines):
        words = line.split()
        if words[:1] == ["opt_RMmoist"] and i + 1 < len(lines):
            options = [int(v) for v in lines[i + 1].split()[:2]]
        if words and words[0] == "clay" and soil is None and i + 1 < len(lines):
            try:
                soil = [float(v) for v in lines[i + 1].split()]
            except ValueError:
                continue  # a comment line that starts with "clay"
        if words and words[0] == "year":
            rows = [[float(v) for v in r.split()] for r in lines[i + 1 :] if r.strip()]
            break
    if soil is None or not rows:
        raise ValueError(f"{path}: not a RothC input table (no 'clay' or 'year' header line)")
    table = np.array(rows)
    if table.shape[1] != 10:
        raise ValueError(f"{path}: expected 10 monthly columns, got {table.shape[1]}")
    nsteps = int(soil[3])
    if table.shape[0] != nsteps:
        raise ValueError(f"{path}: header says {nsteps} monthly rows, table has {table.shape[0]}")
    return RothCInput(
        clay=soil[0],
        depth=soil[1],
        iom=soil[2],
        year=table[:, 0].astype(int),
        month=table[:, 1].astype(int),
        modern=table[:, 2],
        temperature=table[:, 3],
        precipitation=table[:, 4],
        evaporation=table[:, 5],
        plant_input=table[:, 6],
        fym_input=table[:, 7],
        cover=np.where(table[:, 8] == 1, COVERED, BARE),
        dpm_rpm=table[:, 9],
        silt=soil[4] if len(soil) >= 8 else None,
        bulk_density=soil[5] if len(soil) >= 8 else None,
        organic_carbon=soil[6] if len(soil) >= 8 else None,
        moisture=moisture_options(options[0], options[1], soil[7])
        if options is not None and len(soil) >= 8
        else {},
    )


def _months(data: RothCInput, part: slice) -> dict[str, Any]:
    return {
        "temperature": data.temperature[part],
        "precipitation": data.precipitation[part],
        "evaporation": data.evaporation[part],
        "cover": data.cover[part],
        "plant_input": data.plant_input[part],
        "fym_input": data.fym_input[part],
        "dpm_rpm": data.dpm_rpm[part],
    }


def simulate(
    data: RothCInput, moisture: dict[str, Any] | None = None
) -> tuple[rothc.SpinupResult, rothc.RunResult]:
    """Official spin-up on rows 1-12, then the forward run on the rest, month by month; with
    the input's moisture options (RothC v2.0.0) or ``moisture`` (the arguments of
    :meth:`RothCInput.soil_water`)."""
    water = data.soil_water() if moisture is None else moisture
    spin = rothc.spinup(
        method="rothamsted-iterative",
        clay=data.clay,
        depth=data.depth,
        iom=data.iom,
        **water,
        **_months(data, slice(0, 12)),
    )
    forward = rothc.run(
        pools=spin.pools,
        tsmd=spin.tsmd,
        clay=data.clay,
        depth=data.depth,
        trajectory=True,
        **water,
        **_months(data, slice(12, None)),
    )
    return spin, forward


def main() -> int:
    base = resources.files("gsocseq") / "data" / "rothamsted"
    with resources.as_file(base / "RothC_input.dat") as path:
        data = read_input(path)
    with resources.as_file(base / "month_results.out") as path:
        official = np.genfromtxt(path, delimiter=",", names=True)
    spin, forward = simulate(data)
    assert forward.monthly is not None
    soc = forward.monthly.sum(axis=2)[0]
    print(
        "Rothamsted RothC example (Hoosfield continuous barley; clay "
        f"{data.clay} %, depth {data.depth} cm)"
    )
    print(
        f"spin-up: {int(spin.months[0]) if spin.months is not None else '-'} months "
        f"(official rule), SOC {spin.pools[0].sum():.6f} t C/ha"
    )
    print(f"{'year':>6} {'SOC gsocseq':>14} {'SOC official':>14} {'rel. diff':>10}")
    years = data.year[12:]
    ref = official["SOC_t_C_ha"]
    for k in range(11, len(soc), 12 * 5):
        print(f"{years[k]:>6} {soc[k]:>14.6f} {ref[k]:>14.6f} {abs(soc[k] / ref[k] - 1):>10.1e}")
    worst = float(np.max(np.abs(soc / ref - 1)))
    print(f"largest relative difference over {len(soc)} months: {worst:.1e}")
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
