//! The numerics of the FAO GSOCseq v1.2 scripts (`gsocseq.fao`, the core's `fao::batch`):
//! numpy in, the core's function of each pixel, numpy out.

use gsocseq_core::fao::batch;
use numpy::PyReadonlyArrayDyn;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::error::IntoPyResult;

type F1<'py> = PyReadonlyArray1<'py, f64>;
type F2<'py> = PyReadonlyArray2<'py, f64>;
type Pair<'py, A, B> = (Bound<'py, A>, Bound<'py, B>);

/// Monthly xi = fT fW fC fPR of one year per pixel, (n, 12).
#[pyfunction]
pub fn fao_xi<'py>(
    py: Python<'py>,
    temperature: F2<'py>,
    precipitation: F2<'py>,
    pet: F2<'py>,
    cover: F2<'py>,
    clay: F1<'py>,
    paddy: F1<'py>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let months = [&temperature, &precipitation, &pet, &cover].map(|a| a.as_array());
    let out = batch::xi(months, clay.as_array(), paddy.as_array()).py()?;
    Ok(out.into_pyarray(py))
}

/// Moisture factor b of `fw1func` per month, (n, 12).
#[pyfunction]
pub fn fao_moisture<'py>(
    py: Python<'py>,
    precipitation: F2<'py>,
    pet: F2<'py>,
    cover: F2<'py>,
    clay: F1<'py>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let months = [&precipitation, &pet, &cover].map(|a| a.as_array());
    Ok(batch::moisture(months, clay.as_array())
        .py()?
        .into_pyarray(py))
}

/// Script 11's analytical spin-up per pixel: (annual input, pools (n, 5)).
#[pyfunction]
pub fn fao_analytical_spinup<'py>(
    py: Python<'py>,
    soc: F1<'py>,
    iom: F1<'py>,
    xi: F1<'py>,
    clay: F1<'py>,
    dpm_rpm: F1<'py>,
) -> PyResult<Pair<'py, PyArray1<f64>, PyArray2<f64>>> {
    let [soc, iom, xi, clay, dpm_rpm] = [&soc, &iom, &xi, &clay, &dpm_rpm].map(|a| a.as_array());
    let (input, pools) = batch::analytical_spinup(soc, iom, xi, clay, dpm_rpm).py()?;
    Ok((input.into_pyarray(py), pools.into_pyarray(py)))
}

/// Forward Euler of soilassessment's `carbonTurnover` over `years` (R's time grid): returns
/// (pools (n, 5), DPM amplification (n,)).
#[pyfunction]
#[pyo3(signature = (pools, annual_input, xi, clay, dpm_rpm, years, start_years=0.0))]
#[allow(clippy::too_many_arguments)]
pub fn fao_euler<'py>(
    py: Python<'py>,
    pools: F2<'py>,
    annual_input: F1<'py>,
    xi: F2<'py>,
    clay: F1<'py>,
    dpm_rpm: F1<'py>,
    years: f64,
    start_years: f64,
) -> PyResult<Pair<'py, PyArray2<f64>, PyArray1<f64>>> {
    let per_pixel = [&annual_input, &clay, &dpm_rpm].map(|a| a.as_array());
    let (p, xi) = (pools.as_array(), xi.as_array());
    let (pools, amplification) = batch::euler(p, per_pixel, xi, years, start_years).py()?;
    Ok((pools.into_pyarray(py), amplification.into_pyarray(py)))
}

/// MIAMI NPP (t C/ha/yr) of each annual mean temperature (degrees C) and annual precipitation
/// (mm), NaN where either is NaN; arrays of one shape.
#[pyfunction]
pub fn miami_npp<'py>(
    py: Python<'py>,
    mean_temperature: PyReadonlyArrayDyn<'py, f64>,
    annual_precipitation: PyReadonlyArrayDyn<'py, f64>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let (t, p) = (mean_temperature.as_array(), annual_precipitation.as_array());
    Ok(batch::miami(t, p).py()?.into_pyarray(py))
}
