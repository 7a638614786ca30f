"""Type stubs of the compiled core (crates/gsocseq-py): the binding of gsocseq-core. Use the
faces in gsocseq.rothc, gsocseq.fao and gsocseq.chain; the exceptions are re-exported, with
the Python ones, by gsocseq.errors."""

from collections.abc import Iterator, Mapping
from typing import Any, Literal, Optional, Protocol, Union, final, overload

import numpy as np
import numpy.typing as npt

__all__ = [
    "FLAGS",
    "FORWARD_INPUTS",
    "HISTOGRAM_BINS",
    "MINMAX_CLIMATE",
    "MINMAX_INCREASE",
    "MODES",
    "MONTE_CARLO_SPREAD",
    "NO_EQUILIBRIUM",
    "NO_SOIL_WATER",
    "NUMERICAL_POOLS",
    "PATTERN_SUM_TOLERANCE",
    "PIXEL_STATUS",
    "PLAUSIBLE_RANGES",
    "SPINUP_METHODS",
    "ZERO_RATE",
    "ClassTable",
    "ConfigError",
    "GsocseqError",
    "InputError",
    "OptionError",
    "OutOfRangeError",
    "ShapeError",
    "SimulateResult",
    "Simulator",
    "__version__",
    "analytical_equilibrium",
    "check_pixels",
    "count_values",
    "equilibrium_inputs",
    "fao_analytical_spinup",
    "fao_euler",
    "fao_moisture",
    "fao_xi",
    "gather_pixels",
    "max_threads",
    "miami_npp",
    "monte_carlo_draws",
    "plain_table",
    "rate_modifiers",
    "run",
    "spinup",
]
__version__: str

_F64 = npt.NDArray[np.float64]
_U8 = npt.NDArray[np.uint8]

#: numerical mode (METHOD.md section 0); the spellings are ``MODES``
Mode = Literal["rothamsted", "fao-v1.2"]
#: spin-up method (METHOD.md section 3); ``SPINUP_METHODS``
SpinupMethod = Literal["equilibrium", "analytical", "numerical", "rothamsted-iterative"]
#: pools of the numerical spin-up; ``NUMERICAL_POOLS``
NumericalPools = Literal["second-run", "weihermuller"]
#: spin-up rule of the array API (``spinup``)
SpinupRule = Literal["rothamsted-iterative", "equilibrium"]
#: moisture function of the Rothamsted mode (ROTHC.md section 8): RothC-26.3 or a dryland
#: option of RothC v2.0.0
MoistureModel = Literal["rothc-26.3", "farina-2", "farina-3"]
#: bare-soil deficit limit of the moisture function
BareDeficit = Literal["standard", "wilting-point"]
#: plant input of the forward runs of a forward climate series (METHOD.md section 10);
#: ``FORWARD_INPUTS``
ForwardInputs = Literal["constant", "npp-scaled"]

MODES: tuple[Mode, ...]
SPINUP_METHODS: tuple[SpinupMethod, ...]
NUMERICAL_POOLS: tuple[NumericalPools, ...]
FORWARD_INPUTS: tuple[ForwardInputs, ...]
#: bits of the per-pixel flags of ``Simulator.simulate`` and their words
FLAGS: dict[int, str]
#: flag bit of a pixel whose spin-up has no equilibrium (not one of ``FLAGS``: an input error)
NO_EQUILIBRIUM: int
#: why such a pixel has no equilibrium, in words
ZERO_RATE: str
#: flag bit of a pixel whose soil water inputs give no moisture function (dryland options; not
#: one of ``FLAGS``: an input error)
NO_SOIL_WATER: int
#: (temperature, precipitation) factors of the central, min and max chains (METHOD.md 6)
MINMAX_CLIMATE: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
#: factors of the SSM input increase of the central, min and max chains
MINMAX_INCREASE: tuple[float, float, float]
#: 95 % half-widths of the Monte Carlo draws' factors: temperature, precipitation, increase
MONTE_CARLO_SPREAD: dict[str, float]
#: how far from 1 the 12 monthly shares of a class's input pattern may sum
PATTERN_SUM_TOLERANCE: float
#: status codes of the invalid-input checks (``gather_pixels``, ``check_pixels``): ok 0,
#: all_nodata 1, some_nodata 2, infinite 3, out_of_range 4
PIXEL_STATUS: dict[str, int]
#: the plausible range of each kind of input of a run: {kind: (lo, hi, unit)}
PLAUSIBLE_RANGES: dict[str, tuple[float, float, str]]
#: bins of the unit plausibility checks' histograms (``count_values``): one per value of the
#: top 16 bits of a float32
HISTOGRAM_BINS: int

class GsocseqError(Exception):
    exit_code: int

class ConfigError(GsocseqError, ValueError): ...

class OptionError(ConfigError):
    argument: str
    value: Optional[str]

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

    def __new__(
        cls, coefficient: _F64, dpm_rpm: _F64, paddy_factor: _F64, ssm_group: _U8
    ) -> ClassTable: ...
    @staticmethod
    def default() -> ClassTable: ...
    @property
    def coefficient(self) -> _F64: ...
    @property
    def dpm_rpm(self) -> _F64: ...
    @property
    def paddy_factor(self) -> _F64: ...
    @property
    def ssm_group(self) -> _U8: ...
    def __getnewargs__(self) -> tuple[_F64, _F64, _F64, _U8]: ...

class _WindowBands(Protocol):
    """The bands of a window as read (``gsocseq.inputs.WindowBands``)."""

    @property
    def raw(self) -> npt.NDArray[Any]: ...
    @property
    def pixels(self) -> npt.NDArray[np.int64]: ...
    @property
    def nodata(self) -> Optional[float]: ...
    @property
    def scale(self) -> float: ...
    @property
    def offset(self) -> float: ...
    @property
    def round_f32(self) -> bool: ...

#: a monthly series argument: (n, months) float64, or the bands of a window as read
_Series = Union[_F64, _WindowBands]

@final
class SimulateResult:
    """Every phase of n pixels (S scenarios, H horizons; chains central, min, max)."""

    ceq: _F64
    tsmd_spinup: _F64
    soc_t0: _F64
    cin_t0: _F64
    cin_mean: _F64
    tsmd_t0: _F64
    pools_spinup: _F64
    pools_t0: _F64
    final_soc: _F64
    spinup_months: npt.NDArray[np.uint64]
    steady_years: Optional[_F64]
    mc: Optional[_F64]
    flags: npt.NDArray[np.uint32]
    def keys(self) -> list[str]: ...
    def items(self) -> list[tuple[str, npt.NDArray[Any]]]: ...
    def __getitem__(self, key: str, /) -> npt.NDArray[Any]: ...
    def __contains__(self, key: str, /) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...

@final
class Simulator:
    """The GSOCseq chain of one run: options checked once, then ``simulate`` per block. An
    option left out takes the core's default (``Options::new``); an unknown one is a
    TypeError."""

    def __new__(
        cls,
        *,
        mode: Mode,
        spinup: SpinupMethod,
        horizons: list[int],
        scenarios: Union[_F64, list[tuple[float, float, float]]],
        main_horizon: int = ...,
        numerical_pools: NumericalPools = ...,
        uncertainty: bool = ...,
        fao_uncertain_scenario: Optional[int] = ...,
        depth: float = ...,
        evap_coefficient: float = ...,
        steady_state: bool = ...,
        mc_samples: int = ...,
        mc_seed: int = ...,
        forward_stepping: bool = ...,
        moisture: MoistureModel = ...,
        bare_deficit: BareDeficit = ...,
        min_moisture_rate: float = ...,
        class_table: Optional[ClassTable] = ...,
        class_input_pattern: Optional[_F64] = ...,
        class_cover: Optional[_F64] = ...,
        practices: Optional[list[dict[str, tuple[str, Any]]]] = ...,
        forward_inputs: ForwardInputs = ...,
        threads: Optional[int] = ...,
    ) -> Simulator: ...
    @property
    def horizons(self) -> list[int]: ...
    @property
    def mode(self) -> Mode: ...
    def simulate(
        self, block: Mapping[str, Any], /, *, threads: Optional[int] = None
    ) -> SimulateResult:
        """Every phase of every pixel of ``block``, a mapping of the arrays of n pixels: soc,
        clay, soc_uncertainty, clay_uncertainty, spinup_dpm_rpm, forward_dpm_rpm (n,) float64;
        spinup_class, forward_class (n,) uint8; spinup_cover, warmup_cover, forward_cover,
        spinup_temperature, spinup_precipitation, spinup_pet (n, 12) float64;
        warmup_temperature, warmup_precipitation, warmup_pet (n, 12 Y) float64 or window bands
        (``_WindowBands``); warmup_class (n, Y) uint8; warmup_dpm_rpm (n, Y) float64;
        npp_reference (n, 3) float64; pixel_id (n,) uint64; optional forward_temperature,
        forward_precipitation, forward_pet (n, 12) and reference_temperature,
        reference_precipitation (n, 12 R) float64; silt (%) and bulk_density (g/cm3), (n,)
        float64, needed by the dryland moisture options, with optional organic_carbon (%);
        optional calibration_input and calibration_rate multipliers (n,) float64 (rothamsted
        mode); the country refinements (rothamsted mode): scenario_values (n, columns) of the
        practices' per-pixel settings, forward_series_temperature, _precipitation, _pet (n,
        12 H) and warmup_npp or warmup_carbon_input (n, Y) t C/ha/yr, float64. Any other key
        is a KeyError (a misspelt optional array is not ignored)."""
    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]: ...

def miami_npp(mean_temperature: _F64, annual_precipitation: _F64) -> _F64:
    """MIAMI NPP, t C/ha/yr, of annual mean temperatures (degrees C) and precipitation (mm)."""

def max_threads() -> int:
    """The most threads a call uses on this machine (4 per core; larger requests are capped)."""

#: the per-month arguments by name, (n, months) float64 each: temperature, precipitation,
#: evaporation, cover, rate_factor, and (not for every function) plant_input, fym_input, dpm_rpm
_Monthly = Mapping[str, _F64]
#: the per-pixel arguments by name, (n,) float64 each: clay, depth, and as a function needs
#: them tsmd, iom, soc, pools (n, 5); silt, bulk_density, organic_carbon for the van
#: Genuchten moisture options
_PerPixel = Mapping[str, _F64]
#: (moisture, bare_deficit, min_moisture_rate), e.g. ("farina-2", "standard", 0.2)
_Moisture = tuple[str, str, float]

def run(
    monthly: _Monthly,
    pixels: _PerPixel,
    evap_coefficient: float,
    trajectory: bool,
    threads: Optional[int] = None,
    moisture: Optional[_Moisture] = None,
) -> tuple[_F64, _F64, _F64, Optional[_F64], Optional[_F64]]: ...
def rate_modifiers(
    monthly: _Monthly,
    pixels: _PerPixel,
    evap_coefficient: float,
    threads: Optional[int] = None,
    moisture: Optional[_Moisture] = None,
) -> tuple[_F64, _F64, _F64, _F64, _F64]: ...
def spinup(
    method: SpinupRule,
    monthly: _Monthly,
    pixels: _PerPixel,
    evap_coefficient: float,
    threads: Optional[int] = None,
    moisture: Optional[_Moisture] = None,
) -> tuple[_F64, _F64, Optional[npt.NDArray[np.int64]]]: ...
def equilibrium_inputs(
    monthly: _Monthly,
    pixels: _PerPixel,
    evap_coefficient: float,
    threads: Optional[int] = None,
    moisture: Optional[_Moisture] = None,
) -> tuple[_F64, _F64, _F64]: ...
def analytical_equilibrium(soc: _F64, xi: _F64, clay: _F64, dpm_rpm: _F64) -> tuple[_F64, _F64]: ...
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

#: a histogram of ``count_values``: the bins' counts, the count, the minimum, the maximum
_Counted = tuple[npt.NDArray[np.uint64], int, float, float]

def count_values(
    values: _F64,
    status: Optional[npt.NDArray[np.uint8]] = None,
    annual: Optional[Literal["mean", "sum"]] = None,
) -> tuple[_Counted, Optional[_Counted]]:
    """What the unit plausibility checks read of (n, bands) ``values`` with each pixel's
    ``status`` of :func:`check_pixels` (None: every pixel valid): the histogram of every finite
    value, and of each valid pixel's years (12 bands each) when ``annual`` is "mean" or "sum"
    (else None)."""

def plain_table(
    text: str, delimiter: str, fields: int, skip: Optional[int] = None
) -> Optional[_F64]:
    """The (rows, fields) float64 values of a plain site table ``text`` (header line first, not
    read; ``fields`` per line separated by ``delimiter``), the field ``skip`` left out; None
    when a row or a cell is not plain."""
