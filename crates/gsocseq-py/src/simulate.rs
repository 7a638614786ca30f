//! The GSOCseq chain (`gsocseq.chain`, the core's `phases`): a [`Simulator`] built once per run
//! from its options and class table, then `simulate(block)` per block of pixels, returning a
//! typed [`SimulateResult`]; the class table, the flags and the perturbation factors as Python
//! sees them; a pixel's Monte Carlo draws.

use std::collections::HashMap;

use gsocseq_core::input::series::{window_pixels, SeriesColumn};
use gsocseq_core::phases::block::{simulate_block, Block as CoreBlock, BlockArrays};
use gsocseq_core::phases::chain::{MC_SPREAD, MC_SPREAD_NAMES, MINMAX_CLIMATE, MINMAX_INCREASE};
use gsocseq_core::phases::classes::{
    ClassRows, ClassTable as CoreClassTable, PATTERN_SUM_TOLERANCE,
};
use gsocseq_core::phases::montecarlo::Draws;
use gsocseq_core::phases::options::{
    flags, GivenOptions, Mode, NumericalPools, Options, SpinupMethod,
};
use gsocseq_core::phases::practices::{ForwardInputs, Practice, Setting, SettingValue};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyArray4, PyReadonlyArray1};
use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyIterator, PyList, PyMapping, PyTuple};

use crate::args::{c_order, from_mapping, interruptible, slice, FromMapping, RawArray};
use crate::error::IntoPyResult;

/// The land-use class table of the phases (METHOD.md section 2), indexed by FAO class code
/// 0..=255: NPP-to-input coefficient, DPM/RPM ratio (NaN for classes without coefficients),
/// rate factor (0.4 paddy, else 1) and SSM group (0 crops, 1 grass, 2 paddy, 255 none).
#[pyclass(frozen, module = "gsocseq._core")]
#[derive(Clone)]
pub struct ClassTable(CoreClassTable);

/// The methods of [`ClassTable`] over its columns, listed once: the name Python reads, the
/// type, the core's field.
macro_rules! class_table {
    ($($name:ident: $t:ty = $field:ident),*) => {
        #[pymethods]
        impl ClassTable {
            /// A table of its columns, 256 entries each (checked).
            #[new]
            fn new($($name: PyReadonlyArray1<'_, $t>),*) -> PyResult<Self> {
                $(let $name = slice(&$name);)*
                Ok(ClassTable(CoreClassTable::new($(&$name),*).py()?))
            }

            /// The FAO GLC-SHARE table of METHOD.md section 2.
            #[staticmethod]
            fn default() -> Self {
                ClassTable(CoreClassTable::default())
            }

            $(
                #[getter]
                fn $name<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<$t>> {
                    PyArray1::from_slice(py, &self.0.$field)
                }
            )*

            fn __getnewargs__<'py>(&self, py: Python<'py>) -> ($(Bound<'py, PyArray1<$t>>,)*) {
                ($(self.$name(py),)*)
            }
        }
    };
}

class_table! {
    coefficient: f64 = coef, dpm_rpm: f64 = dpm_rpm, paddy_factor: f64 = paddy,
    ssm_group: u8 = group
}

type F1<'py> = PyReadonlyArray1<'py, f64>;
type F2<'py> = PyReadonlyArray2<'py, f64>;
type U1<'py> = PyReadonlyArray1<'py, u8>;

/// The arrays of a block, listed once: [`Block`] by name (any other key is an error) and its
/// conversion into the core's [`CoreBlock`], field by field of the same name (see it for
/// their meaning and units); the warm-up series are [`SeriesArg`]s.
macro_rules! block {
    ({ $($r:ident: $rt:ty),* $(,)? } series { $($s:ident),* } optional { $($o:ident: $ot:ty),* $(,)? }) => {
        /// The arrays of a block of n pixels: (n,) per pixel, (n, 12) a month, (n, Y) warm-up
        /// classes and DPM/RPM, (n, 3) reference NPP.
        #[derive(FromPyObject)]
        #[pyo3(from_item_all)]
        struct Block<'py> {
            $($r: $rt,)*
            $($s: Bound<'py, PyAny>,)*
            $(#[pyo3(default)] $o: Option<$ot>,)*
        }

        impl<'py> FromMapping<'py> for Block<'py> {
            const KEYS: &'static [&'static str] =
                &[$(stringify!($r),)* $(stringify!($s),)* $(stringify!($o),)*];
        }

        impl<'py> Block<'py> {
            /// The warm-up series (borrowed for the call).
            fn series(&self) -> PyResult<Vec<SeriesArg<'py>>> {
                Ok(vec![$(SeriesArg::extract(stringify!($s), &self.$s)?),*])
            }

            /// The core's view of the block, its series read from `series`.
            fn core<'a>(&'a self, series: &'a [SeriesArg<'py>]) -> PyResult<CoreBlock<'a>> {
                let mut series = series.iter();
                Ok(CoreBlock {
                    $($r: self.$r.as_array(),)*
                    $($s: series.next().expect("a series").column(stringify!($s))?,)*
                    $($o: self.$o.as_ref().map(|a| a.as_array()),)*
                })
            }
        }
    };
}

block! {
    {
        soc: F1<'py>, clay: F1<'py>, soc_uncertainty: F1<'py>, clay_uncertainty: F1<'py>,
        spinup_cover: F2<'py>, warmup_cover: F2<'py>, forward_cover: F2<'py>,
        spinup_temperature: F2<'py>, spinup_precipitation: F2<'py>, spinup_pet: F2<'py>,
        spinup_class: U1<'py>, spinup_dpm_rpm: F1<'py>, warmup_class: PyReadonlyArray2<'py, u8>,
        warmup_dpm_rpm: F2<'py>, forward_class: U1<'py>, forward_dpm_rpm: F1<'py>,
        npp_reference: F2<'py>, pixel_id: PyReadonlyArray1<'py, u64>,
    }
    series { warmup_temperature, warmup_precipitation, warmup_pet }
    optional {
        forward_temperature: F2<'py>, forward_precipitation: F2<'py>, forward_pet: F2<'py>,
        reference_temperature: F2<'py>, reference_precipitation: F2<'py>, silt: F1<'py>,
        bulk_density: F1<'py>, organic_carbon: F1<'py>, calibration_input: F1<'py>,
        calibration_rate: F1<'py>, scenario_values: F2<'py>, forward_series_temperature: F2<'py>,
        forward_series_precipitation: F2<'py>, forward_series_pet: F2<'py>, warmup_npp: F2<'py>,
        warmup_carbon_input: F2<'py>,
    }
}

/// A monthly series argument, borrowed for the call: an (n, months) float64 array, or the
/// bands of a window as read (an object with the attributes of `gsocseq.inputs.WindowBands`:
/// `raw` (months, window pixels) in the raster's own type, `pixels` the flat window index of
/// each pixel, `nodata`, `scale`, `offset`, `round_f32`), read by the core where they lie.
enum SeriesArg<'py> {
    /// The array, C-contiguous (a copy when it is not).
    Rows(F2<'py>),
    Window {
        raw: RawArray<'py>,
        pixels: Vec<usize>,
        conversion: gsocseq_core::input::series::Conversion,
    },
}

impl<'py> SeriesArg<'py> {
    fn extract(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = obj.extract::<F2<'py>>() {
            return Ok(SeriesArg::Rows(c_order(a)));
        }
        let got = obj.get_type().name()?;
        let expected = format!("{name}: expected an (n, months) float64 array or WindowBands");
        let attr = |key: &str| {
            let error = |_| PyTypeError::new_err(format!("{expected}, got {got}"));
            obj.getattr(key).map_err(error)
        };
        let raw = RawArray::extract(&format!("{name}.raw"), &attr("raw")?)?;
        let pixels: PyReadonlyArray1<'py, i64> = attr("pixels")?
            .extract()
            .map_err(|e| PyTypeError::new_err(format!("{name}.pixels: {e}")))?;
        let pixels = window_pixels(&format!("{name}.pixels"), &slice(&pixels), raw.dim().1).py()?;
        let conversion = raw.values().conversion(
            attr("scale")?.extract()?,
            attr("offset")?.extract()?,
            attr("nodata")?.extract()?,
            attr("round_f32")?.extract()?,
        );
        Ok(SeriesArg::Window {
            raw,
            pixels,
            conversion,
        })
    }

    fn column(&self, name: &str) -> PyResult<SeriesColumn<'_>> {
        match self {
            SeriesArg::Rows(a) => {
                let values = a.as_slice().expect("C-contiguous");
                SeriesColumn::rows(name, values, a.shape()[1]).py()
            }
            SeriesArg::Window {
                raw,
                pixels,
                conversion,
            } => {
                let (months, width) = raw.dim();
                let values = raw.values();
                SeriesColumn::window(name, values, width, months, *conversion, pixels).py()
            }
        }
    }
}

/// The arrays of a result, listed once: [`SimulateResult`] of the core's [`BlockArrays`] (the
/// same names; see it for their shapes and units), read as attributes and as a mapping.
macro_rules! result {
    ($($a:ident: $at:ty),*; optional $($o:ident: $ot:ty),*; $($z:ident: $zt:ty),*) => {
        /// What [`Simulator::simulate`] gives for n pixels (the core's `BlockArrays`); it reads
        /// as a mapping too, `result["final_soc"]`, `dict(result)`.
        #[pyclass(frozen, get_all, module = "gsocseq._core")]
        pub struct SimulateResult {
            $($a: Py<$at>,)*
            $($o: Option<Py<$ot>>,)*
            $($z: Py<$zt>,)*
        }

        impl SimulateResult {
            fn new(py: Python<'_>, out: BlockArrays) -> Self {
                SimulateResult {
                    $($a: out.$a.into_pyarray(py).unbind(),)*
                    $($o: out.$o.map(|v| v.into_pyarray(py).unbind()),)*
                    $($z: out.$z.into_pyarray(py).unbind(),)*
                }
            }

            /// The names of the arrays held (the optional ones when asked for).
            fn names(&self) -> Vec<&'static str> {
                let mut names = vec![$(stringify!($a)),*];
                $(if self.$o.is_some() { names.push(stringify!($o)); })*
                names.extend([$(stringify!($z)),*]);
                names
            }
        }
    };
}

result! {
    ceq: PyArray2<f64>, tsmd_spinup: PyArray2<f64>, soc_t0: PyArray2<f64>,
    cin_t0: PyArray2<f64>, cin_mean: PyArray2<f64>, tsmd_t0: PyArray2<f64>,
    pools_spinup: PyArray3<f64>, pools_t0: PyArray3<f64>, final_soc: PyArray4<f64>,
    spinup_months: PyArray1<u64>;
    optional steady_years: PyArray2<f64>, mc: PyArray3<f64>;
    flags: PyArray1<u32>
}

#[pymethods]
impl SimulateResult {
    /// The names of the arrays held (`steady_years` and `mc` only when asked for).
    fn keys(&self) -> Vec<&'static str> {
        self.names()
    }

    fn __getitem__<'py>(slf: &Bound<'py, Self>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        match slf.get().names().contains(&key) {
            true => slf.getattr(key),
            false => Err(PyKeyError::new_err(key.to_string())),
        }
    }

    fn __contains__(&self, key: &str) -> bool {
        self.names().contains(&key)
    }

    fn __len__(&self) -> usize {
        self.names().len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        PyList::new(py, self.names())?.try_iter()
    }

    /// (name, array) of every array held.
    fn items<'py>(slf: &Bound<'py, Self>) -> PyResult<Vec<(&'static str, Bound<'py, PyAny>)>> {
        let names = slf.get().names();
        names
            .into_iter()
            .map(|k| Ok((k, slf.getattr(k)?)))
            .collect()
    }
}

/// The keywords of [`Simulator`], listed once: the options of a run (the core's
/// [`GivenOptions`], field by field of the same name: the core's default for each one left
/// out), then the class table, its input patterns and default covers, the practices, the
/// threads.
macro_rules! simulator_args {
    ({ $($r:ident: $rt:ty),* } optional { $($o:ident: $ot:ty),* } $($b:ident: $bt:ty),*) => {
        from_mapping! {
            SimulatorArgs { $($r: $rt),* } optional { $($o: $ot,)* $($b: $bt),* }
        }

        impl SimulatorArgs<'_> {
            fn options(&self) -> PyResult<GivenOptions> {
                let practices = self.practices.iter().flatten();
                let practices = practices.map(|d| practice(d.cast::<PyDict>()?));
                Ok(GivenOptions {
                    $($r: self.$r.clone(),)*
                    $($o: self.$o.clone(),)*
                    practices: practices.collect::<PyResult<_>>()?,
                })
            }
        }
    };
}

simulator_args! {
    { mode: String, spinup: String, horizons: Vec<usize>, scenarios: Vec<[f64; 3]> }
    optional {
        main_horizon: usize, numerical_pools: String, uncertainty: bool,
        fao_uncertain_scenario: usize, depth: f64, evap_coefficient: f64, steady_state: bool,
        mc_samples: usize, mc_seed: u64, forward_stepping: bool, moisture: String,
        bare_deficit: String, min_moisture_rate: f64, forward_inputs: String
    }
    class_table: ClassTable, class_input_pattern: F2<'py>, class_cover: F2<'py>,
    practices: Bound<'py, PyList>, threads: usize
}

/// The GSOCseq chain of one run: its options and class table, checked once; then
/// [`Simulator::simulate`] for any number of blocks of pixels.
#[pyclass(frozen, module = "gsocseq._core")]
pub struct Simulator {
    options: Options,
    table: ClassTable,
    threads: Option<usize>,
    /// The keywords as given (a deep copy): what rebuilds it (pickling, e.g. to Dask workers).
    keywords: Py<PyDict>,
}

#[pymethods]
impl Simulator {
    /// A simulator of the keywords of [`SimulatorArgs`].
    #[new]
    #[pyo3(signature = (**keywords))]
    fn new(py: Python<'_>, keywords: Option<Bound<'_, PyDict>>) -> PyResult<Self> {
        let keywords = keywords.unwrap_or_else(|| PyDict::new(py));
        let a = SimulatorArgs::checked::<PyTypeError>(
            keywords.as_mapping(),
            "an option of a Simulator",
        )?;
        let options = a.options()?.options().py()?;
        let mut table = a.class_table.clone().unwrap_or_else(ClassTable::default);
        for (rows, which) in [
            (&a.class_input_pattern, ClassRows::InputPattern),
            (&a.class_cover, ClassRows::Cover),
        ] {
            if let Some(rows) = rows {
                table.0.set_rows(which, rows.as_array()).py()?;
            }
        }
        let copy = py.import("copy")?.call_method1("deepcopy", (&keywords,))?;
        Ok(Simulator {
            options,
            table,
            threads: a.threads,
            keywords: copy.cast_into::<PyDict>()?.unbind(),
        })
    }

    /// The forward horizons, years.
    #[getter]
    fn horizons(&self) -> Vec<usize> {
        self.options.horizons.clone()
    }

    /// The numerical mode.
    #[getter]
    fn mode(&self) -> &'static str {
        self.options.mode.name()
    }

    /// Every phase of every pixel of `block` (a mapping of the arrays of [`Block`]), on
    /// `threads` threads (None: the simulator's; 0: all cores). Without forward climate arrays,
    /// each pixel's forward climate is the monthly mean of its warm-up series.
    #[pyo3(signature = (block, /, *, threads=None))]
    fn simulate(
        &self,
        py: Python<'_>,
        block: &Bound<'_, PyMapping>,
        threads: Option<usize>,
    ) -> PyResult<SimulateResult> {
        let block = Block::checked::<PyKeyError>(block, "an array of a block")?;
        let series = block.series()?;
        let block = block.core(&series)?;
        let (opts, table) = (&self.options, &self.table.0);
        let out = interruptible(py, threads.or(self.threads), |cancel| {
            simulate_block(opts, table, &block, cancel)
        })?;
        Ok(SimulateResult::new(py, out.into_arrays(opts)))
    }

    /// The keywords that rebuild this simulator (pickling, e.g. to Dask workers).
    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        Ok((PyTuple::empty(py), self.keywords.bind(py).copy()?))
    }
}

/// The Monte Carlo draws of one pixel (METHOD.md section 6), in the order the chains use them:
/// a (samples, 5) array of the factors of SOC, clay, temperature, precipitation and the input
/// increase. `pixel_id` is the pixel's position in the grid (row x width + column), `seed` the
/// run's seed, the uncertainties relative (0.2 = 20 %).
#[pyfunction]
#[pyo3(signature = (pixel_id, seed, samples, soc_uncertainty=0.2, clay_uncertainty=0.1))]
pub fn monte_carlo_draws<'py>(
    py: Python<'py>,
    pixel_id: u64,
    seed: u64,
    samples: usize,
    soc_uncertainty: f64,
    clay_uncertainty: f64,
) -> Bound<'py, PyArray2<f64>> {
    let draws = Draws::new(seed, pixel_id, soc_uncertainty, clay_uncertainty);
    let rows: Vec<f64> = draws.take(samples).flat_map(|d| d.factors()).collect();
    Array2::from_shape_vec((samples, 5), rows)
        .expect("samples x 5")
        .into_pyarray(py)
}

/// Adds the phases' constants to the module: `FLAGS` {bit: words}, `NO_EQUILIBRIUM` (the flag
/// bit of a pixel without equilibrium, not one of `FLAGS`) and `ZERO_RATE` (its cause, in
/// words), `NO_SOIL_WATER` (the flag bit of a pixel whose soil water gives no moisture
/// function, not one of `FLAGS`), `MINMAX_CLIMATE`
/// ((temperature, precipitation) factors of the central, min and max chains), `MINMAX_INCREASE`
/// (factors of the SSM increase), `MONTE_CARLO_SPREAD` (95 % half-widths of the draws' factors),
/// `PATTERN_SUM_TOLERANCE` (how far from 1 the 12 shares of an input pattern may sum), and the
/// spellings of the options (`MODES`, `SPINUP_METHODS`, `NUMERICAL_POOLS`,
/// `FORWARD_INPUTS`).
pub fn constants(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let words = PyDict::new(py);
    for (bit, text) in flags::DESCRIPTIONS {
        words.set_item(bit, text)?;
    }
    m.add("FLAGS", words)?;
    m.add("NO_EQUILIBRIUM", flags::NO_EQUILIBRIUM)?;
    m.add("NO_SOIL_WATER", flags::NO_SOIL_WATER)?;
    m.add("ZERO_RATE", gsocseq_core::rothc::equilibrium::ZERO_RATE)?;
    let climate = MINMAX_CLIMATE.map(|[t, p]| (t, p));
    m.add("MINMAX_CLIMATE", PyTuple::new(py, climate)?)?;
    m.add("MINMAX_INCREASE", PyTuple::new(py, MINMAX_INCREASE)?)?;
    let spread = PyDict::new(py);
    for (name, v) in MC_SPREAD_NAMES.iter().zip(MC_SPREAD) {
        spread.set_item(name, v)?;
    }
    m.add("MONTE_CARLO_SPREAD", spread)?;
    m.add("PATTERN_SUM_TOLERANCE", PATTERN_SUM_TOLERANCE)?;
    m.add("MODES", PyTuple::new(py, Mode::NAMES)?)?;
    m.add("SPINUP_METHODS", PyTuple::new(py, SpinupMethod::NAMES)?)?;
    m.add("NUMERICAL_POOLS", PyTuple::new(py, NumericalPools::NAMES)?)?;
    m.add("FORWARD_INPUTS", PyTuple::new(py, ForwardInputs::NAMES)?)?;
    m.add_class::<ClassTable>()?;
    m.add_class::<Simulator>()?;
    m.add_class::<SimulateResult>()
}

/// One setting of a practice from Python: None, or (kind, payload) with kind "everywhere"
/// (the value), "group" (3 values or None: crops, grass, paddy), "class" ({code: value}) or
/// "pixel" (the first column of the pixel's scenario values).
fn setting<'py, T>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Setting<T>>
where
    T: SettingValue + for<'a> FromPyObject<'a, 'py>,
{
    let Some(item) = d.get_item(key)? else {
        return Ok(Setting::Unset);
    };
    let bad = |what: &str| PyValueError::new_err(format!("practices: {key}: {what}"));
    let (kind, payload): (String, Bound<'py, PyAny>) =
        item.extract().map_err(|_| bad("expected (kind, value)"))?;
    Ok(match kind.as_str() {
        "everywhere" => Setting::Everywhere(payload.extract().map_err(|_| bad("a value"))?),
        "group" => Setting::ByGroup(payload.extract().map_err(|_| bad("3 values or None"))?),
        "class" => {
            let map: HashMap<u8, T> = payload
                .extract()
                .map_err(|_| bad("{class code 0-255: value}"))?;
            map.into_iter().collect()
        }
        "pixel" => Setting::ByPixel(payload.extract().map_err(|_| bad("a column"))?),
        other => return Err(bad(&format!("unknown kind {other:?}"))),
    })
}

/// A scenario's practice (METHOD.md section 10) from a dict of settings ([`setting`]).
fn practice(d: &Bound<'_, PyDict>) -> PyResult<Practice> {
    Ok(Practice {
        increase: setting(d, "increase")?,
        added_input: setting(d, "added_input")?,
        fym: setting(d, "fym")?,
        rate_factor: setting(d, "rate_factor")?,
        cover: setting(d, "cover")?,
        land_use: setting(d, "land_use")?,
        adoption_years: setting(d, "adoption_years")?,
    })
}
