"""Type stubs of the compiled core (crates/gsocseq-py). Use the wrappers in gsocseq.rothc."""

from typing import Any, Optional, final, overload

import numpy as np
import numpy.typing as npt

__all__ = [
    "FLAGS",
    "MINMAX_CLIMATE",
    "MINMAX_INCREASE",
    "MONTE_CARLO_SPREAD",
    "ClassTable",
    "ConfigError",
    "GsocseqError",
    "InputError",
    "OptionError",
    "OutOfRangeError",
    "ShapeError",
    "__version__",
    "analytical_equilibrium",
    "check_pixels",
    "equilibrium_inputs",
    "fao_analytical_spinup",
    "fao_euler",
    "fao_moisture",
    "fao_xi",
    "gather_pixels",
    "max_threads",
    "miami_npp",
    "monte_carlo_draws",
    "rate_modifiers",
    "run",
    "simulate",
    "spinup",
]
__version__: str

#: bits of the per-pixel flags of ``simulate`` and their words
FLAGS: dict[int, str]
#: (temperature, precipitation) factors of the central, min and max chains (METHOD.md 6)
MINMAX_CLIMATE: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
#: factors of the SSM input increase of the central, min and max chains
MINMAX_INCREASE: tuple[float, float, float]
#: 95 % half-widths of the Monte Carlo draws' factors: temperature, precipitation, increase
MONTE_CARLO_SPREAD: dict[str, float]

# The exceptions the binding raises (re-exported, with the Python ones, by gsocseq.errors).
class GsocseqError(Exception):
    exit_code: int

class ConfigError(GsocseqError, ValueError): ...

class OptionError(ConfigError):
    argument: str
    value: str

class InputError(GsocseqError): ...

class OutOfRangeError(InputError, ValueError):
    argument: str
    location: str
    value: float
    expected: str

class ShapeError(InputError, ValueError):
    argument: str

@final
class ClassTable:
    """The land-use class table (METHOD.md section 2), indexed by FAO class code 0..255."""

    @staticmethod
    def default() -> ClassTable: ...
    @property
    def coefficient(self) -> _F64: ...
    @property
    def dpm_rpm(self) -> _F64: ...
    @property
    def paddy_factor(self) -> _F64: ...
    @property
    def ssm_group(self) -> npt.NDArray[np.uint8]: ...

def miami_npp(
    mean_temperature: npt.NDArray[np.float64], annual_precipitation: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]: ...
def max_threads() -> int:
    """The most threads a call uses on this machine (4 per core; larger requests are capped)."""

_F64 = npt.NDArray[np.float64]
#: a monthly series argument of ``simulate``: (n, months) float64, or an object with the
#: attributes of ``gsocseq.inputs.WindowBands`` (raw, pixels, nodata, scale, offset, round_f32)
_Series = Any

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
def simulate(
    *,
    mode: str,
    spinup: str,
    numerical_pools: str,
    horizons: list[int],
    scenarios: _F64,
    uncertainty: bool,
    fao_uncertain_scenario: int,
    depth: float,
    evap_coefficient: float,
    class_coef: _F64,
    class_paddy: _F64,
    class_group: npt.NDArray[np.uint8],
    soc: _F64,
    clay: _F64,
    soc_uncertainty: _F64,
    clay_uncertainty: _F64,
    spinup_cover: _F64,
    warmup_cover: _F64,
    forward_cover: _F64,
    spinup_temperature: _F64,
    spinup_precipitation: _F64,
    spinup_pet: _F64,
    spinup_class: npt.NDArray[np.uint8],
    spinup_dpm_rpm: _F64,
    warmup_temperature: _Series,
    warmup_precipitation: _Series,
    warmup_pet: _Series,
    warmup_class: npt.NDArray[np.uint8],
    warmup_dpm_rpm: _F64,
    forward_class: npt.NDArray[np.uint8],
    forward_dpm_rpm: _F64,
    npp_reference: _F64,
    pixel_id: npt.NDArray[np.uint64],
    forward_temperature: Optional[_F64] = None,
    forward_precipitation: Optional[_F64] = None,
    forward_pet: Optional[_F64] = None,
    reference_temperature: Optional[_F64] = None,
    reference_precipitation: Optional[_F64] = None,
    main_horizon: int = 0,
    steady_state: bool = False,
    mc_samples: int = 0,
    mc_seed: int = 0,
    forward_stepping: bool = False,
    threads: Optional[int] = None,
) -> dict[str, Any]: ...
def monte_carlo_draws(
    pixel_id: int,
    seed: int,
    samples: int,
    soc_uncertainty: float = 0.2,
    clay_uncertainty: float = 0.1,
) -> _F64: ...
def fao_xi(
    temperature: _F64,
    precipitation: _F64,
    pet: _F64,
    cover: _F64,
    clay: _F64,
    paddy: _F64,
) -> _F64: ...
def fao_moisture(precipitation: _F64, pet: _F64, cover: _F64, clay: _F64) -> _F64: ...
def fao_analytical_spinup(
    soc: _F64, iom: _F64, xi: _F64, clay: _F64, dpm_rpm: _F64
) -> tuple[_F64, _F64]: ...
def fao_euler(
    pools: _F64,
    annual_input: _F64,
    xi: _F64,
    clay: _F64,
    dpm_rpm: _F64,
    years: float,
    start_years: float = 0.0,
) -> tuple[_F64, _F64]: ...
@overload
def gather_pixels(
    raw: npt.NDArray[Any],
    pixels: npt.NDArray[np.int64],
    nodata: Optional[float],
    scale: float,
    offset: float,
    round_f32: bool,
    *,
    out: None = None,
    check: None = None,
) -> _F64: ...
@overload
def gather_pixels(
    raw: npt.NDArray[Any],
    pixels: npt.NDArray[np.int64],
    nodata: Optional[float],
    scale: float,
    offset: float,
    round_f32: bool,
    *,
    out: _F64,
    check: None = None,
) -> None: ...
@overload
def gather_pixels(
    raw: npt.NDArray[Any],
    pixels: npt.NDArray[np.int64],
    nodata: Optional[float],
    scale: float,
    offset: float,
    round_f32: bool,
    *,
    out: Optional[_F64] = None,
    check: tuple[float, float],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]: ...
def check_pixels(
    values: _F64, lo: float, hi: float
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]: ...
