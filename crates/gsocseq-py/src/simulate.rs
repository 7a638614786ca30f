//! The GSOCseq chain (`gsocseq.chain`, the core's `phases`): a [`Simulator`] built once per run
//! from its options and class table, then `simulate(block)` per block of pixels, returning a
//! typed [`SimulateResult`]; the class table, the flags and the perturbation factors as Python
//! sees them; a pixel's Monte Carlo draws.

use gsocseq_core::input::series::{window_pixels, SeriesColumn};
use gsocseq_core::phases::block::{simulate_block, Block as CoreBlock};
use gsocseq_core::phases::chain::{MC_SPREAD, MINMAX_CLIMATE, MINMAX_INCREASE};
use gsocseq_core::phases::classes::ClassTable as CoreClassTable;
use gsocseq_core::phases::montecarlo::Draws;
use gsocseq_core::phases::options::{flags, Mode, NumericalPools, Options, SpinupMethod};
use gsocseq_core::phases::practices::{ForwardInputs, Practice, Setting, SettingValue};
use gsocseq_core::rothc::water_retention::MoistureOptions;
use numpy::ndarray::{Array1, Array2, Array3, Array4};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyArray4, PyReadonlyArray1};
use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyIterator, PyList, PyMapping, PyTuple};

use crate::args::{c_order, interruptible, slice, RawArray};
use crate::error::IntoPyResult;

/// The land-use class table of the phases (METHOD.md section 2), indexed by FAO class code
/// 0..=255: NPP-to-input coefficient, DPM/RPM ratio (NaN for classes without coefficients),
/// rate factor (0.4 paddy, else 1) and SSM group (0 crops, 1 grass, 2 paddy, 255 none).
#[pyclass(frozen, module = "gsocseq._core")]
#[derive(Clone)]
pub struct ClassTable(CoreClassTable);

#[pymethods]
impl ClassTable {
    /// A table of its columns, 256 entries each (checked).
    #[new]
    fn new(
        coefficient: PyReadonlyArray1<'_, f64>,
        dpm_rpm: PyReadonlyArray1<'_, f64>,
        paddy_factor: PyReadonlyArray1<'_, f64>,
        ssm_group: PyReadonlyArray1<'_, u8>,
    ) -> PyResult<Self> {
        let (c, d, p, g) = (
            slice(&coefficient),
            slice(&dpm_rpm),
            slice(&paddy_factor),
            slice(&ssm_group),
        );
        Ok(ClassTable(CoreClassTable::new(&c, &d, &p, &g).py()?))
    }

    /// The FAO GLC-SHARE table of METHOD.md section 2.
    #[staticmethod]
    fn default() -> Self {
        ClassTable(CoreClassTable::default())
    }

    #[getter]
    fn coefficient<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.0.coef)
    }

    #[getter]
    fn dpm_rpm<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.0.dpm_rpm)
    }

    #[getter]
    fn paddy_factor<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.0.paddy)
    }

    #[getter]
    fn ssm_group<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u8>> {
        PyArray1::from_slice(py, &self.0.group)
    }

    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        use pyo3::IntoPyObjectExt;
        let t = &self.0;
        (
            PyArray1::from_slice(py, &t.coef),
            PyArray1::from_slice(py, &t.dpm_rpm),
            PyArray1::from_slice(py, &t.paddy),
            PyArray1::from_slice(py, &t.group),
        )
            .into_bound_py_any(py)
    }
}

type F1<'py> = PyReadonlyArray1<'py, f64>;
type F2<'py> = PyReadonlyArray2<'py, f64>;
type U1<'py> = PyReadonlyArray1<'py, u8>;

/// The arrays of a block of n pixels, from a mapping by name (see the core's `Block` for their
/// meaning and units): (n,) per pixel, (n, 12) a month, (n, Y) warm-up classes and DPM/RPM,
/// (n, 3) reference NPP; the warm-up series as [`SeriesArg`].
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Block<'py> {
    soc: F1<'py>,
    clay: F1<'py>,
    soc_uncertainty: F1<'py>,
    clay_uncertainty: F1<'py>,
    spinup_cover: F2<'py>,
    warmup_cover: F2<'py>,
    forward_cover: F2<'py>,
    spinup_temperature: F2<'py>,
    spinup_precipitation: F2<'py>,
    spinup_pet: F2<'py>,
    spinup_class: U1<'py>,
    spinup_dpm_rpm: F1<'py>,
    warmup_temperature: Bound<'py, PyAny>,
    warmup_precipitation: Bound<'py, PyAny>,
    warmup_pet: Bound<'py, PyAny>,
    warmup_class: PyReadonlyArray2<'py, u8>,
    warmup_dpm_rpm: F2<'py>,
    forward_class: U1<'py>,
    forward_dpm_rpm: F1<'py>,
    npp_reference: F2<'py>,
    pixel_id: PyReadonlyArray1<'py, u64>,
    #[pyo3(default)]
    forward_temperature: Option<F2<'py>>,
    #[pyo3(default)]
    forward_precipitation: Option<F2<'py>>,
    #[pyo3(default)]
    forward_pet: Option<F2<'py>>,
    #[pyo3(default)]
    reference_temperature: Option<F2<'py>>,
    #[pyo3(default)]
    reference_precipitation: Option<F2<'py>>,
    #[pyo3(default)]
    silt: Option<F1<'py>>,
    #[pyo3(default)]
    bulk_density: Option<F1<'py>>,
    #[pyo3(default)]
    organic_carbon: Option<F1<'py>>,
    #[pyo3(default)]
    calibration_input: Option<F1<'py>>,
    #[pyo3(default)]
    calibration_rate: Option<F1<'py>>,
    #[pyo3(default)]
    scenario_values: Option<F2<'py>>,
    #[pyo3(default)]
    forward_series_temperature: Option<F2<'py>>,
    #[pyo3(default)]
    forward_series_precipitation: Option<F2<'py>>,
    #[pyo3(default)]
    forward_series_pet: Option<F2<'py>>,
    #[pyo3(default)]
    warmup_npp: Option<F2<'py>>,
    #[pyo3(default)]
    warmup_carbon_input: Option<F2<'py>>,
}

/// The names of [`Block`]'s arrays: any other key (a misspelt optional array) is an error.
#[rustfmt::skip]
const BLOCK_KEYS: [&str; 37] = [
    "soc", "clay", "soc_uncertainty", "clay_uncertainty", "spinup_cover", "warmup_cover",
    "forward_cover", "spinup_temperature", "spinup_precipitation", "spinup_pet", "spinup_class",
    "spinup_dpm_rpm", "warmup_temperature", "warmup_precipitation", "warmup_pet", "warmup_class",
    "warmup_dpm_rpm", "forward_class", "forward_dpm_rpm", "npp_reference", "pixel_id",
    "forward_temperature", "forward_precipitation", "forward_pet", "reference_temperature",
    "reference_precipitation", "silt", "bulk_density", "organic_carbon", "calibration_input",
    "calibration_rate", "scenario_values", "forward_series_temperature",
    "forward_series_precipitation", "forward_series_pet", "warmup_npp", "warmup_carbon_input",
];

/// The view of an optional array.
fn view<'a, D: numpy::ndarray::Dimension>(
    a: &'a Option<numpy::PyReadonlyArray<'_, f64, D>>,
) -> Option<numpy::ndarray::ArrayView<'a, f64, D>> {
    a.as_ref().map(|a| a.as_array())
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
        let attr = |key: &str| {
            obj.getattr(key).map_err(|_| {
                let got = obj
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                PyTypeError::new_err(format!(
                    "{name}: expected an (n, months) float64 array or WindowBands, got {got}"
                ))
            })
        };
        let raw = RawArray::extract(&format!("{name}.raw"), &attr("raw")?)?;
        let pixels: PyReadonlyArray1<'py, i64> = attr("pixels")?
            .extract()
            .map_err(|e| PyTypeError::new_err(format!("{name}.pixels: {e}")))?;
        let pixels = window_pixels(&format!("{name}.pixels"), &slice(&pixels), raw.dim().1).py()?;
        let conversion = raw.conversion(
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

/// What [`Simulator::simulate`] gives for n pixels (S scenarios, H horizons; chains central,
/// min, max; t C/ha, t C/ha/yr, mm).
#[pyclass(frozen, get_all, module = "gsocseq._core")]
pub struct SimulateResult {
    /// Equilibrium input of the spin-up, (n, 3) t C/ha/yr.
    ceq: Py<PyArray2<f64>>,
    /// Deficit carried out of the spin-up, (n, 3) mm.
    tsmd_spinup: Py<PyArray2<f64>>,
    /// SOC at t0, (n, 3) t C/ha.
    soc_t0: Py<PyArray2<f64>>,
    /// Input of the last warm-up year (fao-v1.2: year 18), (n, 3) t C/ha/yr.
    cin_t0: Py<PyArray2<f64>>,
    /// Mean warm-up input, (n, 3) t C/ha/yr.
    cin_mean: Py<PyArray2<f64>>,
    /// Deficit at t0, (n, 3) mm.
    tsmd_t0: Py<PyArray2<f64>>,
    /// Pools at the end of the spin-up, (n, 3, 5) t C/ha.
    pools_spinup: Py<PyArray3<f64>>,
    /// Pools at t0, (n, 3, 5) t C/ha.
    pools_t0: Py<PyArray3<f64>>,
    /// Final total SOC, (n, H, S, 3) t C/ha.
    final_soc: Py<PyArray4<f64>>,
    /// Months of the official iterative spin-up (central chain), (n,).
    spinup_months: Py<PyArray1<u64>>,
    /// Years to the new steady state of each scenario, (n, S), when asked for.
    steady_years: Option<Py<PyArray2<f64>>>,
    /// Monte Carlo statistics, (n, products, 4: mean, P2.5, P97.5, U %), when asked for.
    mc: Option<Py<PyArray3<f64>>>,
    /// Bits of the flags of each pixel (`FLAGS`), (n,).
    flags: Py<PyArray1<u32>>,
}

#[pymethods]
impl SimulateResult {
    /// The names of the arrays held (`steady_years` and `mc` only when asked for): the result
    /// reads as a mapping too, `result["final_soc"]`, `dict(result)`.
    fn keys(&self) -> Vec<&'static str> {
        let mut names = vec![
            "ceq",
            "tsmd_spinup",
            "soc_t0",
            "cin_t0",
            "cin_mean",
            "tsmd_t0",
            "pools_spinup",
            "pools_t0",
            "final_soc",
            "spinup_months",
        ];
        if self.steady_years.is_some() {
            names.push("steady_years");
        }
        if self.mc.is_some() {
            names.push("mc");
        }
        names.push("flags");
        names
    }

    fn __getitem__<'py>(slf: &Bound<'py, Self>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        match slf.get().keys().contains(&key) {
            true => slf.getattr(key),
            false => Err(PyKeyError::new_err(key.to_string())),
        }
    }

    fn __contains__(&self, key: &str) -> bool {
        self.keys().contains(&key)
    }

    fn __len__(&self) -> usize {
        self.keys().len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        PyList::new(py, self.keys())?.try_iter()
    }

    /// (name, array) of every array held.
    fn items<'py>(slf: &Bound<'py, Self>) -> PyResult<Vec<(&'static str, Bound<'py, PyAny>)>> {
        let keys = slf.get().keys();
        keys.into_iter().map(|k| Ok((k, slf.getattr(k)?))).collect()
    }
}

/// The GSOCseq chain of one run: its options and class table, checked once; then
/// [`Simulator::simulate`] for any number of blocks of pixels.
#[pyclass(frozen, module = "gsocseq._core")]
pub struct Simulator {
    options: Options,
    table: ClassTable,
    /// The class table's input patterns as given (pickling), (256, 12) shares.
    class_input_pattern: Option<Vec<[f64; 12]>>,
    /// The practices as given (pickling).
    practices: Option<Py<PyList>>,
    threads: Option<usize>,
}

#[pymethods]
impl Simulator {
    #[new]
    #[pyo3(signature = (*, mode, spinup, horizons, scenarios, main_horizon=0, numerical_pools="second-run", uncertainty=false, fao_uncertain_scenario=None, depth=30.0, evap_coefficient=1.0, steady_state=false, mc_samples=0, mc_seed=0, forward_stepping=false, moisture="rothc-26.3", bare_deficit="standard", min_moisture_rate=0.2, class_table=None, class_input_pattern=None, practices=None, forward_inputs="constant", threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        mode: &str,
        spinup: &str,
        horizons: Vec<usize>,
        scenarios: Vec<[f64; 3]>,
        main_horizon: usize,
        numerical_pools: &str,
        uncertainty: bool,
        fao_uncertain_scenario: Option<usize>,
        depth: f64,
        evap_coefficient: f64,
        steady_state: bool,
        mc_samples: usize,
        mc_seed: u64,
        forward_stepping: bool,
        moisture: &str,
        bare_deficit: &str,
        min_moisture_rate: f64,
        class_table: Option<ClassTable>,
        class_input_pattern: Option<F2<'_>>,
        practices: Option<Bound<'_, PyList>>,
        forward_inputs: &str,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let mode: Mode = mode.parse().py()?;
        let spinup: SpinupMethod = spinup.parse().py()?;
        let mut options = Options::new(mode, spinup, horizons, main_horizon, scenarios).py()?;
        options.numerical_pools = numerical_pools.parse::<NumericalPools>().py()?;
        options.uncertainty = uncertainty;
        if let Some(s) = fao_uncertain_scenario {
            options.fao_uncertain_scenario = s;
        }
        options.depth = depth;
        options.evap_coefficient = evap_coefficient;
        options.steady_state = steady_state;
        options.mc_samples = mc_samples;
        options.mc_seed = mc_seed;
        options.forward_stepping = forward_stepping;
        let (model, bare) = (moisture.parse().py()?, bare_deficit.parse().py()?);
        options.moisture = MoistureOptions::new(model, bare, min_moisture_rate).py()?;
        if let Some(list) = &practices {
            options.practices = (list.iter())
                .map(|d| practice(d.cast::<PyDict>()?))
                .collect::<PyResult<_>>()?;
        }
        options.forward_inputs = forward_inputs.parse().py()?;
        options.check().py()?;
        let mut table = class_table.unwrap_or_else(ClassTable::default);
        let patterns = match &class_input_pattern {
            Some(p) => Some(input_patterns(&mut table.0, p)?),
            None => None,
        };
        Ok(Simulator {
            options,
            table,
            class_input_pattern: patterns,
            practices: practices.map(|p| p.unbind()),
            threads,
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
        for key in block.keys()? {
            let key: String = key.extract()?;
            if !BLOCK_KEYS.contains(&key.as_str()) {
                let expected = BLOCK_KEYS.join(", ");
                let message = format!("{key}: not an array of a block (expected {expected})");
                return Err(PyKeyError::new_err(message));
            }
        }
        let block: Block<'_> = block.extract()?;
        let b = &block;
        let series = [
            SeriesArg::extract("warmup_temperature", &b.warmup_temperature)?,
            SeriesArg::extract("warmup_precipitation", &b.warmup_precipitation)?,
            SeriesArg::extract("warmup_pet", &b.warmup_pet)?,
        ];
        let block = CoreBlock {
            soc: b.soc.as_array(),
            clay: b.clay.as_array(),
            soc_uncertainty: b.soc_uncertainty.as_array(),
            clay_uncertainty: b.clay_uncertainty.as_array(),
            spinup_cover: b.spinup_cover.as_array(),
            warmup_cover: b.warmup_cover.as_array(),
            forward_cover: b.forward_cover.as_array(),
            spinup_temperature: b.spinup_temperature.as_array(),
            spinup_precipitation: b.spinup_precipitation.as_array(),
            spinup_pet: b.spinup_pet.as_array(),
            spinup_class: b.spinup_class.as_array(),
            spinup_dpm_rpm: b.spinup_dpm_rpm.as_array(),
            warmup_temperature: series[0].column("warmup_temperature")?,
            warmup_precipitation: series[1].column("warmup_precipitation")?,
            warmup_pet: series[2].column("warmup_pet")?,
            warmup_class: b.warmup_class.as_array(),
            warmup_dpm_rpm: b.warmup_dpm_rpm.as_array(),
            forward_temperature: view(&b.forward_temperature),
            forward_precipitation: view(&b.forward_precipitation),
            forward_pet: view(&b.forward_pet),
            forward_class: b.forward_class.as_array(),
            forward_dpm_rpm: b.forward_dpm_rpm.as_array(),
            npp_reference: b.npp_reference.as_array(),
            reference_temperature: view(&b.reference_temperature),
            reference_precipitation: view(&b.reference_precipitation),
            pixel_id: b.pixel_id.as_array(),
            silt: view(&b.silt),
            bulk_density: view(&b.bulk_density),
            organic_carbon: view(&b.organic_carbon),
            calibration_input: view(&b.calibration_input),
            calibration_rate: view(&b.calibration_rate),
            scenario_values: view(&b.scenario_values),
            forward_series_temperature: view(&b.forward_series_temperature),
            forward_series_precipitation: view(&b.forward_series_precipitation),
            forward_series_pet: view(&b.forward_series_pet),
            warmup_npp: view(&b.warmup_npp),
            warmup_carbon_input: view(&b.warmup_carbon_input),
        };
        let (opts, table) = (&self.options, &self.table.0);
        let out = interruptible(py, threads.or(self.threads), |cancel| {
            simulate_block(opts, table, &block, cancel)
        })?;
        let n = block.len();
        let pixels = &out.pixels;
        let per_chain = |f: &dyn Fn(usize, usize) -> f64| {
            Array2::from_shape_fn((n, 3), |(i, r)| f(i, r))
                .into_pyarray(py)
                .unbind()
        };
        let pools = |f: &dyn Fn(usize, usize) -> [f64; 5]| {
            Array3::from_shape_fn((n, 3, 5), |(i, r, k)| f(i, r)[k])
                .into_pyarray(py)
                .unbind()
        };
        let (h, s) = (opts.horizons.len(), opts.scenarios.len());
        let (slen, mlen) = (out.steady.len() / n.max(1), out.mc.len() / n.max(1));
        Ok(SimulateResult {
            ceq: per_chain(&|i, r| pixels[i].chains[r].ceq),
            tsmd_spinup: per_chain(&|i, r| pixels[i].chains[r].tsmd_spinup),
            soc_t0: per_chain(&|i, r| pixels[i].chains[r].soc_t0),
            cin_t0: per_chain(&|i, r| pixels[i].chains[r].cin_t0),
            cin_mean: per_chain(&|i, r| pixels[i].chains[r].cin_mean),
            tsmd_t0: per_chain(&|i, r| pixels[i].chains[r].tsmd_t0),
            pools_spinup: pools(&|i, r| pixels[i].chains[r].pools_spinup),
            pools_t0: pools(&|i, r| pixels[i].chains[r].pools_t0),
            final_soc: Array4::from_shape_vec((n, h, s, 3), out.final_soc)
                .expect("n x horizons x scenarios x 3")
                .into_pyarray(py)
                .unbind(),
            spinup_months: Array1::from_iter(pixels.iter().map(|o| o.spinup_months))
                .into_pyarray(py)
                .unbind(),
            steady_years: opts.steady_state.then(|| {
                Array2::from_shape_vec((n, slen), out.steady)
                    .expect("n x scenarios")
                    .into_pyarray(py)
                    .unbind()
            }),
            mc: (opts.mc_samples > 0).then(|| {
                Array3::from_shape_vec((n, mlen / 4, 4), out.mc)
                    .expect("n x products x 4")
                    .into_pyarray(py)
                    .unbind()
            }),
            flags: Array1::from_iter(pixels.iter().map(|o| o.flags))
                .into_pyarray(py)
                .unbind(),
        })
    }

    /// The arguments that rebuild this simulator (pickling, e.g. to Dask workers).
    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        let o = &self.options;
        let kw = PyDict::new(py);
        kw.set_item("mode", o.mode.name())?;
        kw.set_item("spinup", o.spinup.name())?;
        kw.set_item("horizons", o.horizons.clone())?;
        kw.set_item("scenarios", o.scenarios.clone())?;
        kw.set_item("main_horizon", o.main_horizon)?;
        kw.set_item("numerical_pools", o.numerical_pools.name())?;
        kw.set_item("uncertainty", o.uncertainty)?;
        kw.set_item("fao_uncertain_scenario", o.fao_uncertain_scenario)?;
        kw.set_item("depth", o.depth)?;
        kw.set_item("evap_coefficient", o.evap_coefficient)?;
        kw.set_item("steady_state", o.steady_state)?;
        kw.set_item("mc_samples", o.mc_samples)?;
        kw.set_item("mc_seed", o.mc_seed)?;
        kw.set_item("forward_stepping", o.forward_stepping)?;
        kw.set_item("moisture", o.moisture.model.name())?;
        kw.set_item("bare_deficit", o.moisture.bare_deficit.name())?;
        kw.set_item("min_moisture_rate", o.moisture.min_rate)?;
        kw.set_item("class_table", self.table.clone())?;
        let pattern = self.class_input_pattern.as_ref().map(|rows| {
            Array2::from_shape_fn((rows.len(), 12), |(c, m)| rows[c][m]).into_pyarray(py)
        });
        kw.set_item("class_input_pattern", pattern)?;
        kw.set_item(
            "practices",
            self.practices.as_ref().map(|p| p.clone_ref(py)),
        )?;
        kw.set_item("forward_inputs", o.forward_inputs.name())?;
        kw.set_item("threads", self.threads)?;
        Ok((PyTuple::empty(py), kw))
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
    let rows: Vec<f64> = draws
        .take(samples)
        .flat_map(|d| [d.soc, d.clay, d.temperature, d.precipitation, d.increase])
        .collect();
    Array2::from_shape_vec((samples, 5), rows)
        .expect("samples x 5")
        .into_pyarray(py)
}

/// Adds the phases' constants to the module: `FLAGS` {bit: words}, `MINMAX_CLIMATE`
/// ((temperature, precipitation) factors of the central, min and max chains), `MINMAX_INCREASE`
/// (factors of the SSM increase), `MONTE_CARLO_SPREAD` (95 % half-widths of the draws' factors),
/// and the spellings of the options (`MODES`, `SPINUP_METHODS`, `NUMERICAL_POOLS`,
/// `FORWARD_INPUTS`).
pub fn constants(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let words = PyDict::new(py);
    for (bit, text) in flags::DESCRIPTIONS {
        words.set_item(bit, text)?;
    }
    m.add("FLAGS", words)?;
    let [central, low, high] = MINMAX_CLIMATE.map(|[t, p]| (t, p));
    m.add("MINMAX_CLIMATE", (central, low, high))?;
    let [c, l, h] = MINMAX_INCREASE;
    m.add("MINMAX_INCREASE", (c, l, h))?;
    let spread = PyDict::new(py);
    for (name, v) in ["temperature", "precipitation", "increase"]
        .iter()
        .zip(MC_SPREAD)
    {
        spread.set_item(name, v)?;
    }
    m.add("MONTE_CARLO_SPREAD", spread)?;
    m.add("MODES", PyTuple::new(py, Mode::NAMES)?)?;
    m.add("SPINUP_METHODS", PyTuple::new(py, SpinupMethod::NAMES)?)?;
    m.add("NUMERICAL_POOLS", PyTuple::new(py, NumericalPools::NAMES)?)?;
    m.add("FORWARD_INPUTS", PyTuple::new(py, ForwardInputs::NAMES)?)?;
    m.add_class::<ClassTable>()?;
    m.add_class::<Simulator>()?;
    m.add_class::<SimulateResult>()
}

/// Sets the input patterns of `table` from `pattern`, (256, 12) monthly shares of the annual
/// plant input (rows of NaN: I / 12 a month, left as they are); the rows as given.
fn input_patterns(table: &mut CoreClassTable, pattern: &F2<'_>) -> PyResult<Vec<[f64; 12]>> {
    let pattern = pattern.as_array();
    if pattern.shape() != [256, 12] {
        let shape = pattern.shape();
        return Err(PyValueError::new_err(format!(
            "class_input_pattern: shape {shape:?}, expected (256, 12) monthly shares (NaN rows: \
             1/12 each)"
        )));
    }
    let rows: Vec<[f64; 12]> = (pattern.rows().into_iter())
        .map(|row| std::array::from_fn(|m| row[m]))
        .collect();
    for (c, shares) in rows.iter().enumerate() {
        if !shares.iter().all(|v| v.is_nan()) {
            table.set_input_pattern(c as u8, shares).py()?;
        }
    }
    Ok(rows)
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
        "group" => {
            let v: Vec<Option<T>> = payload.extract().map_err(|_| bad("3 values or None"))?;
            let v: [Option<T>; 3] = v.try_into().map_err(|_| bad("3 values or None"))?;
            Setting::ByGroup(v)
        }
        "class" => {
            let map: std::collections::HashMap<u8, T> = payload
                .extract()
                .map_err(|_| bad("{class code 0-255: value}"))?;
            let mut by = Box::new([None; 256]);
            for (c, v) in map {
                by[c as usize] = Some(v);
            }
            Setting::ByClass(by)
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
