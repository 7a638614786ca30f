//! The v1.2 numerics for many pixels (the array API, `gsocseq.fao`): per-pixel values (n,),
//! one year of months (n, 12), pools (n, 5); each function checks the shapes, then applies the
//! function of one pixel.

use ndarray::{Array1, Array2, ArrayD, ArrayView1, ArrayView2, ArrayViewD, Zip};

use super::{
    analytical_spinup as spinup_of, check_span, miami_npp_or_nan, moisture_factors, xi_months,
    EulerModel, MONTHS,
};
use crate::error::{CoreError, Result};
use crate::rothc::pools::Pools;

type F1<'a> = ArrayView1<'a, f64>;
type F2<'a> = ArrayView2<'a, f64>;

/// The pixels of the per-pixel arguments (the first one's length), checked against the others.
fn pixels(first: F1<'_>, named: &[(&str, F1<'_>)]) -> Result<usize> {
    let n = first.len();
    for (name, a) in named {
        if a.len() != n {
            return Err(CoreError::shape(
                *name,
                format!("{} values, expected {n}", a.len()),
            ));
        }
    }
    Ok(n)
}

/// The 12 months of each of n pixels of `a` (an error naming `name` unless it is (n, 12)).
fn months(name: &str, a: F2<'_>, n: usize) -> Result<Vec<[f64; MONTHS]>> {
    if a.dim() != (n, MONTHS) {
        return Err(CoreError::shape(
            name,
            format!("shape {:?}, expected ({n}, {MONTHS})", a.shape()),
        ));
    }
    Ok(a.rows()
        .into_iter()
        .map(|r| std::array::from_fn(|m| r[m]))
        .collect())
}

/// The monthly xi = fT fW fC fPR of one year of each pixel, (n, 12).
pub fn xi(
    [temperature, precipitation, pet, cover]: [F2<'_>; 4],
    clay: F1<'_>,
    paddy: F1<'_>,
) -> Result<Array2<f64>> {
    let n = pixels(clay, &[("paddy", paddy)])?;
    let t = months("temperature", temperature, n)?;
    let p = months("precipitation", precipitation, n)?;
    let e = months("pet", pet, n)?;
    let c = months("cover", cover, n)?;
    let rows: Vec<[f64; MONTHS]> = (0..n)
        .map(|i| xi_months(&t[i], &p[i], &e[i], &c[i], clay[i], paddy[i]))
        .collect();
    Ok(Array2::from_shape_fn((n, MONTHS), |(i, m)| rows[i][m]))
}

/// The moisture factor of the scripts' `fw1func` for each month of one year, (n, 12).
pub fn moisture([precipitation, pet, cover]: [F2<'_>; 3], clay: F1<'_>) -> Result<Array2<f64>> {
    let n = clay.len();
    let p = months("precipitation", precipitation, n)?;
    let e = months("pet", pet, n)?;
    let c = months("cover", cover, n)?;
    let rows: Vec<[f64; MONTHS]> = (0..n)
        .map(|i| {
            let bare: [bool; MONTHS] = std::array::from_fn(|m| c[i][m] > 0.8);
            moisture_factors(&p[i], &e[i], clay[i], &bare)
        })
        .collect();
    Ok(Array2::from_shape_fn((n, MONTHS), |(i, m)| rows[i][m]))
}

/// Script 11's analytical spin-up of each pixel: annual input (n,), pools (n, 5).
pub fn analytical_spinup(
    soc: F1<'_>,
    iom: F1<'_>,
    xi: F1<'_>,
    clay: F1<'_>,
    dpm_rpm: F1<'_>,
) -> Result<(Array1<f64>, Array2<f64>)> {
    let named = [
        ("iom", iom),
        ("xi", xi),
        ("clay", clay),
        ("dpm_rpm", dpm_rpm),
    ];
    let n = pixels(soc, &named)?;
    let out: Vec<(f64, Pools)> = (0..n)
        .map(|i| spinup_of(soc[i], iom[i], xi[i], clay[i], dpm_rpm[i]))
        .collect();
    Ok((
        out.iter().map(|o| o.0).collect(),
        Array2::from_shape_fn((n, 5), |(i, k)| out[i].1[k]),
    ))
}

/// Forward Euler of soilassessment's `carbonTurnover` over `years` (R's time grid), after
/// `start_years` (0: from `pools`), for each pixel: pools (n, 5), DPM amplification (n,).
pub fn euler(
    pools: F2<'_>,
    [annual_input, clay, dpm_rpm]: [F1<'_>; 3],
    xi: F2<'_>,
    years: f64,
    start_years: f64,
) -> Result<(Array2<f64>, Array1<f64>)> {
    let n = pixels(
        clay,
        &[("annual_input", annual_input), ("dpm_rpm", dpm_rpm)],
    )?;
    if pools.dim() != (n, 5) {
        return Err(CoreError::shape(
            "pools",
            format!("shape {:?}, expected ({n}, 5)", pools.shape()),
        ));
    }
    check_span(years, start_years)?;
    let xi = months("xi", xi, n)?;
    let mut out = pools.to_owned();
    let mut amplification = Array1::zeros(n);
    for (i, mut row) in out.rows_mut().into_iter().enumerate() {
        let mut state: Pools = std::array::from_fn(|k| row[k]);
        let model = EulerModel::new(clay[i], dpm_rpm[i]);
        amplification[i] =
            model.run_between(&mut state, annual_input[i], &xi[i], years, start_years);
        row.iter_mut().zip(state).for_each(|(o, v)| *o = v);
    }
    Ok((out, amplification))
}

/// MIAMI NPP of each annual mean temperature and annual precipitation (arrays of one shape),
/// NaN where either is NaN ([`miami_npp_or_nan`]).
pub fn miami(
    temperature: ArrayViewD<'_, f64>,
    precipitation: ArrayViewD<'_, f64>,
) -> Result<ArrayD<f64>> {
    if temperature.shape() != precipitation.shape() {
        return Err(CoreError::shape(
            "annual_precipitation",
            format!(
                "shape {:?}, expected {:?}",
                precipitation.shape(),
                temperature.shape()
            ),
        ));
    }
    Ok(Zip::from(&temperature)
        .and(&precipitation)
        .map_collect(|&t, &p| miami_npp_or_nan(t, p)))
}
