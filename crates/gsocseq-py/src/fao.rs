//! Binding of the FAO GSOCseq v1.2 numerics (`gsocseq_core::fao`), one row per pixel.

use gsocseq_core::fao;
use numpy::ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

type Pair<'py, A, B> = (Bound<'py, A>, Bound<'py, B>);

fn rows12(name: &str, a: &PyReadonlyArray2<'_, f64>, n: usize) -> PyResult<Vec<[f64; 12]>> {
    let v = a.as_array();
    if v.nrows() != n || v.ncols() != 12 {
        return Err(PyValueError::new_err(format!(
            "{name}: shape {:?}, expected ({n}, 12)",
            v.shape()
        )));
    }
    Ok(v.rows()
        .into_iter()
        .map(|r| std::array::from_fn(|m| r[m]))
        .collect())
}

fn column(name: &str, a: &PyReadonlyArray1<'_, f64>, n: usize) -> PyResult<Vec<f64>> {
    let v = a.as_array();
    if v.len() != n {
        return Err(PyValueError::new_err(format!(
            "{name}: {} values, expected {n}",
            v.len()
        )));
    }
    Ok(v.to_vec())
}

/// Monthly xi = fT fW fC fPR of one year per pixel, (n, 12).
#[pyfunction]
pub fn fao_xi<'py>(
    py: Python<'py>,
    temperature: PyReadonlyArray2<'py, f64>,
    precipitation: PyReadonlyArray2<'py, f64>,
    pet: PyReadonlyArray2<'py, f64>,
    cover: PyReadonlyArray2<'py, f64>,
    clay: PyReadonlyArray1<'py, f64>,
    paddy: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let n = clay.as_array().len();
    let (t, p, e, c) = (
        rows12("temperature", &temperature, n)?,
        rows12("precipitation", &precipitation, n)?,
        rows12("pet", &pet, n)?,
        rows12("cover", &cover, n)?,
    );
    let (clay, paddy) = (column("clay", &clay, n)?, column("paddy", &paddy, n)?);
    let out = Array2::from_shape_fn((n, 12), |(i, m)| {
        fao::xi_months(&t[i], &p[i], &e[i], &c[i], clay[i], paddy[i])[m]
    });
    Ok(out.into_pyarray(py))
}

/// Moisture factor b of `fw1func` per month, (n, 12).
#[pyfunction]
pub fn fao_moisture<'py>(
    py: Python<'py>,
    precipitation: PyReadonlyArray2<'py, f64>,
    pet: PyReadonlyArray2<'py, f64>,
    cover: PyReadonlyArray2<'py, f64>,
    clay: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let n = clay.as_array().len();
    let (p, e, c) = (
        rows12("precipitation", &precipitation, n)?,
        rows12("pet", &pet, n)?,
        rows12("cover", &cover, n)?,
    );
    let clay = column("clay", &clay, n)?;
    let out = Array2::from_shape_fn((n, 12), |(i, m)| {
        let bare: [bool; 12] = std::array::from_fn(|k| c[i][k] > 0.8);
        fao::moisture_factors(&p[i], &e[i], clay[i], &bare)[m]
    });
    Ok(out.into_pyarray(py))
}

/// Script 11's analytical spin-up per pixel: (annual input, pools (n, 5)).
#[pyfunction]
pub fn fao_analytical_spinup<'py>(
    py: Python<'py>,
    soc: PyReadonlyArray1<'py, f64>,
    iom: PyReadonlyArray1<'py, f64>,
    xi: PyReadonlyArray1<'py, f64>,
    clay: PyReadonlyArray1<'py, f64>,
    dpm_rpm: PyReadonlyArray1<'py, f64>,
) -> PyResult<Pair<'py, PyArray1<f64>, PyArray2<f64>>> {
    let n = soc.as_array().len();
    let (soc, iom, xi) = (
        column("soc", &soc, n)?,
        column("iom", &iom, n)?,
        column("xi", &xi, n)?,
    );
    let (clay, dr) = (column("clay", &clay, n)?, column("dpm_rpm", &dpm_rpm, n)?);
    let res: Vec<_> = (0..n)
        .map(|i| fao::analytical_spinup(soc[i], iom[i], xi[i], clay[i], dr[i]))
        .collect();
    Ok((
        Array1::from_iter(res.iter().map(|r| r.0)).into_pyarray(py),
        Array2::from_shape_fn((n, 5), |(i, k)| res[i].1[k]).into_pyarray(py),
    ))
}

/// Forward Euler of soilassessment's `carbonTurnover` over `years` (R's time grid): returns
/// (pools (n, 5), DPM amplification (n,)).
#[pyfunction]
#[pyo3(signature = (pools, annual_input, xi, clay, dpm_rpm, years, start_years=0.0))]
#[allow(clippy::too_many_arguments)]
pub fn fao_euler<'py>(
    py: Python<'py>,
    pools: PyReadonlyArray2<'py, f64>,
    annual_input: PyReadonlyArray1<'py, f64>,
    xi: PyReadonlyArray2<'py, f64>,
    clay: PyReadonlyArray1<'py, f64>,
    dpm_rpm: PyReadonlyArray1<'py, f64>,
    years: f64,
    start_years: f64,
) -> PyResult<Pair<'py, PyArray2<f64>, PyArray1<f64>>> {
    let n = clay.as_array().len();
    let p = pools.as_array();
    if p.nrows() != n || p.ncols() != 5 {
        return Err(PyValueError::new_err(format!(
            "pools: shape {:?}, expected ({n}, 5)",
            p.shape()
        )));
    }
    if years.is_nan() || years < 1.0 / 12.0 || start_years < 0.0 || start_years > years {
        return Err(PyValueError::new_err(
            "years: expected 1/12 <= start_years <= years",
        ));
    }
    let xi = rows12("xi", &xi, n)?;
    let (input, clay, dr) = (
        column("annual_input", &annual_input, n)?,
        column("clay", &clay, n)?,
        column("dpm_rpm", &dpm_rpm, n)?,
    );
    let mut out = Array2::<f64>::zeros((n, 5));
    let mut amp = Array1::<f64>::zeros(n);
    for i in 0..n {
        let mut state: [f64; 5] = std::array::from_fn(|k| p[[i, k]]);
        let model = fao::EulerModel::new(clay[i], dr[i]);
        amp[i] = model.run_between(&mut state, input[i], &xi[i], years, start_years);
        for k in 0..5 {
            out[[i, k]] = state[k];
        }
    }
    Ok((out.into_pyarray(py), amp.into_pyarray(py)))
}

/// MIAMI NPP (t C/ha/yr) of each annual mean temperature (degrees C) and annual precipitation
/// (mm), as the core computes it (`gsocseq_core::fao::miami_npp`); arrays of one shape.
#[pyfunction]
pub fn miami_npp<'py>(
    py: Python<'py>,
    mean_temperature: numpy::PyReadonlyArrayDyn<'py, f64>,
    annual_precipitation: numpy::PyReadonlyArrayDyn<'py, f64>,
) -> PyResult<Bound<'py, numpy::PyArrayDyn<f64>>> {
    let (t, p) = (mean_temperature.as_array(), annual_precipitation.as_array());
    if t.shape() != p.shape() {
        return Err(crate::error::to_py(gsocseq_core::CoreError::Shape {
            argument: "annual_precipitation",
            found: p.len(),
            expected: t.len(),
        }));
    }
    Ok(numpy::ndarray::Zip::from(&t)
        .and(&p)
        .map_collect(|&t, &p| fao::miami_npp_or_nan(t, p))
        .into_pyarray(py))
}
