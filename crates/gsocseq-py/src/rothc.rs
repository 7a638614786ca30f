//! The array API of RothC (`gsocseq.rothc`, the core's `rothc::batch`): numpy in, the core's
//! driver with the GIL released, numpy out. Shapes and broadcasting are settled by the Python
//! wrappers: the per-month arrays come as one mapping of (n, months) arrays, the per-pixel ones
//! as another of (n,) arrays (pools (n, 5)), possibly with zero strides.

use gsocseq_core::rothc::batch::{self, PixelForcing, Sites};
use gsocseq_core::rothc::equilibrium::SpinupRule;
use numpy::ndarray::{ArrayView, Dimension};
use numpy::PyReadonlyArray2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyReadonlyArray, PyReadonlyArray1};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;

use crate::args::{from_mapping, interruptible};
use crate::error::IntoPyResult;

type Arr1<'py> = Bound<'py, PyArray1<f64>>;
type Arr2<'py> = Bound<'py, PyArray2<f64>>;
type Arr3<'py> = Bound<'py, PyArray3<f64>>;
type F2<'py> = PyReadonlyArray2<'py, f64>;
type F1<'py> = PyReadonlyArray1<'py, f64>;

from_mapping! {
    /// The per-month arguments by name, (n, months) (the inputs and the DPM/RPM ratio may be
    /// left out).
    pub Monthly {
        temperature: F2<'py>, precipitation: F2<'py>, evaporation: F2<'py>, cover: F2<'py>,
        rate_factor: F2<'py>,
    } optional { plant_input: F2<'py>, fym_input: F2<'py>, dpm_rpm: F2<'py> }
}

impl Monthly<'_> {
    fn forcing(&self) -> PixelForcing<'_> {
        let climate = [
            &self.temperature,
            &self.precipitation,
            &self.evaporation,
            &self.cover,
            &self.rate_factor,
        ];
        let inputs = [&self.plant_input, &self.fym_input, &self.dpm_rpm];
        PixelForcing::new(
            climate.map(|a| a.as_array()),
            inputs.map(|a| a.as_ref().map(|a| a.as_array())),
        )
    }
}

from_mapping! {
    /// The per-pixel arguments by name, (n,) (pools (n, 5)).
    pub PerPixel {
        clay: F1<'py>, depth: F1<'py>,
    } optional {
        tsmd: F1<'py>, iom: F1<'py>, soc: F1<'py>, pools: F2<'py>, silt: F1<'py>,
        bulk_density: F1<'py>, organic_carbon: F1<'py>,
    }
}

/// The moisture options of the array API: (moisture, bare_deficit, min_moisture_rate); None
/// for RothC-26.3.
type MoistureArg = Option<(String, String, f64)>;

/// The forcing and the soil of a call (the core's `Sites::new`: moisture options spelled).
fn parts<'a>(
    monthly: &'a Monthly<'_>,
    pixels: &'a PerPixel<'_>,
    evap_coefficient: f64,
    moisture: &MoistureArg,
) -> PyResult<(PixelForcing<'a>, Sites<'a>)> {
    let moisture = moisture
        .as_ref()
        .map(|(m, b, r)| (m.as_str(), b.as_str(), *r));
    let water = [&pixels.silt, &pixels.bulk_density, &pixels.organic_carbon];
    let water = water.map(|a| a.as_ref().map(|a| a.as_array()));
    let (clay, depth) = (pixels.clay.as_array(), pixels.depth.as_array());
    let sites = Sites::new(clay, depth, evap_coefficient, moisture, water).py()?;
    Ok((monthly.forcing(), sites))
}

/// The per-pixel argument `name` a function needs (a KeyError when it is missing).
fn needed<'a, D: Dimension>(
    name: &str,
    a: &'a Option<PyReadonlyArray<'_, f64, D>>,
) -> PyResult<ArrayView<'a, f64, D>> {
    let a = a
        .as_ref()
        .ok_or_else(|| PyKeyError::new_err(name.to_string()));
    Ok(a?.as_array())
}

type RunOutput<'py> = (
    Arr2<'py>,
    Arr1<'py>,
    Arr1<'py>,
    Option<Arr3<'py>>,
    Option<Arr2<'py>>,
);

/// RothC over `months` months for n pixels from `pixels["pools"]` and `pixels["tsmd"]`.
/// Returns (pools, tsmd, co2, monthly, monthly_co2).
#[pyfunction]
#[pyo3(signature = (monthly, pixels, evap_coefficient, trajectory, threads=None, moisture=None))]
pub fn run<'py>(
    py: Python<'py>,
    monthly: Monthly<'py>,
    pixels: PerPixel<'py>,
    evap_coefficient: f64,
    trajectory: bool,
    threads: Option<usize>,
    moisture: MoistureArg,
) -> PyResult<RunOutput<'py>> {
    let (f, s) = parts(&monthly, &pixels, evap_coefficient, &moisture)?;
    let (pools, tsmd) = (
        needed("pools", &pixels.pools)?,
        needed("tsmd", &pixels.tsmd)?,
    );
    let (pools, tsmd, co2, by_month, co2_by_month) = interruptible(py, threads, |cancel| {
        batch::run(pools, &f, &s, tsmd, trajectory, cancel)
    })?;
    Ok((
        pools.into_pyarray(py),
        tsmd.into_pyarray(py),
        co2.into_pyarray(py),
        by_month.map(|m| m.into_pyarray(py)),
        co2_by_month.map(|m| m.into_pyarray(py)),
    ))
}

type Modifiers<'py> = (Arr2<'py>, Arr2<'py>, Arr2<'py>, Arr2<'py>, Arr2<'py>);

/// Rate modifiers a, b, c, rate and the deficit after every month, each (n, months), from
/// `pixels["tsmd"]`.
#[pyfunction]
#[pyo3(signature = (monthly, pixels, evap_coefficient, threads=None, moisture=None))]
pub fn rate_modifiers<'py>(
    py: Python<'py>,
    monthly: Monthly<'py>,
    pixels: PerPixel<'py>,
    evap_coefficient: f64,
    threads: Option<usize>,
    moisture: MoistureArg,
) -> PyResult<Modifiers<'py>> {
    let (f, s) = parts(&monthly, &pixels, evap_coefficient, &moisture)?;
    let tsmd = needed("tsmd", &pixels.tsmd)?;
    let out = interruptible(py, threads, |_| batch::rate_modifiers(&f, &s, tsmd))?;
    let [a, b, c, rate, tsmd] = out.map(|m| m.into_pyarray(py));
    Ok((a, b, c, rate, tsmd))
}

type SpinupOutput<'py> = (Arr2<'py>, Arr1<'py>, Option<Bound<'py, PyArray1<i64>>>);

/// Spin-up of n pixels over one 12-month year with inert pools `pixels["iom"]`. Returns
/// (pools, tsmd, months or None).
#[pyfunction]
#[pyo3(signature = (method, monthly, pixels, evap_coefficient, threads=None, moisture=None))]
pub fn spinup<'py>(
    py: Python<'py>,
    method: &str,
    monthly: Monthly<'py>,
    pixels: PerPixel<'py>,
    evap_coefficient: f64,
    threads: Option<usize>,
    moisture: MoistureArg,
) -> PyResult<SpinupOutput<'py>> {
    let rule: SpinupRule = method.parse().py()?;
    let (f, s) = parts(&monthly, &pixels, evap_coefficient, &moisture)?;
    let iom = needed("iom", &pixels.iom)?;
    let (pools, tsmd, months) = interruptible(py, threads, |cancel| {
        batch::spinup(rule, &f, &s, iom, cancel)
    })?;
    let months = months.map(|m| m.into_pyarray(py));
    Ok((pools.into_pyarray(py), tsmd.into_pyarray(py), months))
}

/// Plant input (t C/ha/yr, 1/12 a month) holding `pixels["soc"]` at the exact discrete
/// equilibrium. Returns (annual_input, pools, tsmd).
#[pyfunction]
#[pyo3(signature = (monthly, pixels, evap_coefficient, threads=None, moisture=None))]
pub fn equilibrium_inputs<'py>(
    py: Python<'py>,
    monthly: Monthly<'py>,
    pixels: PerPixel<'py>,
    evap_coefficient: f64,
    threads: Option<usize>,
    moisture: MoistureArg,
) -> PyResult<(Arr1<'py>, Arr2<'py>, Arr1<'py>)> {
    let (f, s) = parts(&monthly, &pixels, evap_coefficient, &moisture)?;
    let soc = needed("soc", &pixels.soc)?;
    let (input, pools, tsmd) =
        interruptible(py, threads, |_| batch::equilibrium_inputs(soc, &f, &s))?;
    Ok((
        input.into_pyarray(py),
        pools.into_pyarray(py),
        tsmd.into_pyarray(py),
    ))
}

/// Continuous equilibrium of Dechow et al. (2019) as FAO v1.2 script 11. Returns
/// (annual_input, pools).
#[pyfunction]
pub fn analytical_equilibrium<'py>(
    py: Python<'py>,
    soc: F1<'py>,
    xi: F1<'py>,
    clay: F1<'py>,
    dpm_rpm: F1<'py>,
) -> PyResult<(Arr1<'py>, Arr2<'py>)> {
    let [soc, xi, clay, dpm_rpm] = [&soc, &xi, &clay, &dpm_rpm].map(|a| a.as_array());
    let (input, pools) = batch::analytical_equilibrium(soc, xi, clay, dpm_rpm).py()?;
    Ok((input.into_pyarray(py), pools.into_pyarray(py)))
}
