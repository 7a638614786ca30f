"""Type stubs of the compiled core (crates/gsocseq-py). Use the wrappers in gsocseq.rothc."""

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "analytical_equilibrium",
    "equilibrium_inputs",
    "rate_modifiers",
    "run",
    "spinup",
]
__version__: str

_F64 = npt.NDArray[np.float64]

def run(
    pools: _F64,
    temperature: _F64,
    precipitation: _F64,
    evaporation: _F64,
    cover: _F64,
    plant_input: _F64,
    fym_input: _F64,
    dpm_rpm: _F64,
    rate_factor: _F64,
    clay: _F64,
    depth: _F64,
    tsmd: _F64,
    evap_coefficient: float,
    trajectory: bool,
    threads: int | None = None,
) -> tuple[_F64, _F64, _F64, _F64 | None, _F64 | None]: ...
def rate_modifiers(
    temperature: _F64,
    precipitation: _F64,
    evaporation: _F64,
    cover: _F64,
    rate_factor: _F64,
    clay: _F64,
    depth: _F64,
    tsmd: _F64,
    evap_coefficient: float,
    threads: int | None = None,
) -> tuple[_F64, _F64, _F64, _F64, _F64]: ...
def spinup(
    method: str,
    temperature: _F64,
    precipitation: _F64,
    evaporation: _F64,
    cover: _F64,
    plant_input: _F64,
    fym_input: _F64,
    dpm_rpm: _F64,
    rate_factor: _F64,
    clay: _F64,
    depth: _F64,
    iom: _F64,
    evap_coefficient: float,
    threads: int | None = None,
) -> tuple[_F64, _F64, npt.NDArray[np.int64] | None]: ...
def equilibrium_inputs(
    soc: _F64,
    temperature: _F64,
    precipitation: _F64,
    evaporation: _F64,
    cover: _F64,
    fym_input: _F64,
    dpm_rpm: _F64,
    rate_factor: _F64,
    clay: _F64,
    depth: _F64,
    evap_coefficient: float,
    threads: int | None = None,
) -> tuple[_F64, _F64, _F64]: ...
def analytical_equilibrium(soc: _F64, xi: _F64, clay: _F64, dpm_rpm: _F64) -> tuple[_F64, _F64]: ...
