"""Type stubs of the compiled core (crates/gsocseq-py). Use the wrappers in gsocseq.rothc."""

from typing import Optional

import numpy as np
import numpy.typing as npt

__version__: str

F64 = npt.NDArray[np.float64]

def run(
    pools: F64,
    temperature: F64,
    precipitation: F64,
    evaporation: F64,
    cover: F64,
    plant_input: F64,
    fym_input: F64,
    dpm_rpm: F64,
    rate_factor: F64,
    clay: F64,
    depth: F64,
    tsmd: F64,
    evap_coefficient: float,
    trajectory: bool,
    threads: Optional[int] = None,
) -> tuple[F64, F64, F64, Optional[F64], Optional[F64]]: ...
def rate_modifiers(
    temperature: F64,
    precipitation: F64,
    evaporation: F64,
    cover: F64,
    rate_factor: F64,
    clay: F64,
    depth: F64,
    tsmd: F64,
    evap_coefficient: float,
    threads: Optional[int] = None,
) -> tuple[F64, F64, F64, F64, F64]: ...
def spinup(
    method: str,
    temperature: F64,
    precipitation: F64,
    evaporation: F64,
    cover: F64,
    plant_input: F64,
    fym_input: F64,
    dpm_rpm: F64,
    rate_factor: F64,
    clay: F64,
    depth: F64,
    iom: F64,
    evap_coefficient: float,
    threads: Optional[int] = None,
) -> tuple[F64, F64, Optional[npt.NDArray[np.int64]]]: ...
def equilibrium_inputs(
    soc: F64,
    temperature: F64,
    precipitation: F64,
    evaporation: F64,
    cover: F64,
    fym_input: F64,
    dpm_rpm: F64,
    rate_factor: F64,
    clay: F64,
    depth: F64,
    evap_coefficient: float,
    threads: Optional[int] = None,
) -> tuple[F64, F64, F64]: ...
def analytical_equilibrium(
    soc: F64, xi: F64, clay: F64, dpm_rpm: F64
) -> tuple[F64, F64]: ...
