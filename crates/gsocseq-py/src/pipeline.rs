//! Binding of the GSOCseq phases (`gsocseq_core::phases`) for a block of pixels.

use gsocseq_core::phases::chain::{simulate_pixels, Workspace, BATCH};
use gsocseq_core::phases::classes::ClassTable as CoreClassTable;
use gsocseq_core::phases::montecarlo::Draws;
use gsocseq_core::phases::options::{
    final_len, mc_len, steady_len, Calibration, Mode, NumericalPools, Options, PixelInput,
    PixelOutput, SpinupMethod,
};
use numpy::ndarray::{Array1, Array2, Array3, Array4};
use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;

use crate::series::SeriesArg;
use crate::{interruptible, with_scratch};
use gsocseq_core::input::series::Series;
use std::sync::atomic::{AtomicBool, Ordering};

fn contiguous<'a, T: numpy::Element, D: numpy::ndarray::Dimension>(
    name: &str,
    a: &'a numpy::PyReadonlyArray<'_, T, D>,
) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name}: expected a C-contiguous array")))
}

fn optional_contiguous<'a>(
    name: &str,
    a: &'a Option<PyReadonlyArray2<'_, f64>>,
) -> PyResult<Option<&'a [f64]>> {
    a.as_ref().map(|a| contiguous(name, a)).transpose()
}

fn width(name: &str, a: &PyReadonlyArray2<'_, f64>, n: usize, cols: usize) -> PyResult<()> {
    let shape = a.as_array().shape().to_vec();
    if shape[0] != n || (cols > 0 && shape[1] != cols) {
        return Err(PyValueError::new_err(format!(
            "{name}: shape {shape:?}, expected ({n}, {cols})"
        )));
    }
    Ok(())
}

fn array12(s: &[f64], i: usize) -> &[f64; 12] {
    s[i * 12..i * 12 + 12].try_into().expect("12 months")
}

/// Forward climate of pixel i: the given (n, 12) values, else the 12 monthly means of the
/// pixel's warm-up series, as numpy's `series.reshape(years, 12).mean(axis=0)` computes them
/// (the years added in order from the first, then divided by their number).
fn forward_or_mean(given: Option<&[f64]>, i: usize, series: &Series<'_>) -> [f64; 12] {
    if let Some(g) = given {
        return *array12(g, i);
    }
    let years = series.len() / 12;
    let mut sum = series.year(0);
    for y in 1..years {
        for (s, x) in sum.iter_mut().zip(series.year(y)) {
            *s += x;
        }
    }
    sum.map(|s| s / years as f64)
}

/// Per-thread buffers of the warm-up series of a batch read from a window.
#[derive(Default)]
struct BatchSeries([Vec<f64>; 3]);

/// Runs spin-up, warm-up and forward phases for n pixels; returns a dict of arrays. Without
/// forward climate arrays, each pixel's forward climate is the monthly mean of its warm-up
/// series ([`forward_or_mean`]). `reference_temperature` and `reference_precipitation`
/// ((n, 12 R), the 1981-2000 series, when given) are the climate that the reference NPP of a
/// Monte Carlo draw follows (else the warm-up series).
#[pyfunction]
#[pyo3(signature = (*, mode, spinup, numerical_pools, horizons, scenarios, uncertainty, fao_uncertain_scenario, depth, evap_coefficient, class_coef, class_paddy, class_group, soc, clay, soc_uncertainty, clay_uncertainty, spinup_cover, warmup_cover, forward_cover, spinup_temperature, spinup_precipitation, spinup_pet, spinup_class, spinup_dpm_rpm, warmup_temperature, warmup_precipitation, warmup_pet, warmup_class, warmup_dpm_rpm, forward_class, forward_dpm_rpm, npp_reference, pixel_id, forward_temperature=None, forward_precipitation=None, forward_pet=None, reference_temperature=None, reference_precipitation=None, main_horizon=0, steady_state=false, mc_samples=0, mc_seed=0, forward_stepping=false, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn simulate<'py>(
    py: Python<'py>,
    mode: &str,
    spinup: &str,
    numerical_pools: &str,
    horizons: Vec<usize>,
    scenarios: PyReadonlyArray2<'py, f64>,
    uncertainty: bool,
    fao_uncertain_scenario: usize,
    depth: f64,
    evap_coefficient: f64,
    class_coef: PyReadonlyArray1<'py, f64>,
    class_paddy: PyReadonlyArray1<'py, f64>,
    class_group: PyReadonlyArray1<'py, u8>,
    soc: PyReadonlyArray1<'py, f64>,
    clay: PyReadonlyArray1<'py, f64>,
    soc_uncertainty: PyReadonlyArray1<'py, f64>,
    clay_uncertainty: PyReadonlyArray1<'py, f64>,
    spinup_cover: PyReadonlyArray2<'py, f64>,
    warmup_cover: PyReadonlyArray2<'py, f64>,
    forward_cover: PyReadonlyArray2<'py, f64>,
    spinup_temperature: PyReadonlyArray2<'py, f64>,
    spinup_precipitation: PyReadonlyArray2<'py, f64>,
    spinup_pet: PyReadonlyArray2<'py, f64>,
    spinup_class: PyReadonlyArray1<'py, u8>,
    spinup_dpm_rpm: PyReadonlyArray1<'py, f64>,
    warmup_temperature: &Bound<'py, PyAny>,
    warmup_precipitation: &Bound<'py, PyAny>,
    warmup_pet: &Bound<'py, PyAny>,
    warmup_class: PyReadonlyArray2<'py, u8>,
    warmup_dpm_rpm: PyReadonlyArray2<'py, f64>,
    forward_class: PyReadonlyArray1<'py, u8>,
    forward_dpm_rpm: PyReadonlyArray1<'py, f64>,
    npp_reference: PyReadonlyArray2<'py, f64>,
    pixel_id: PyReadonlyArray1<'py, u64>,
    forward_temperature: Option<PyReadonlyArray2<'py, f64>>,
    forward_precipitation: Option<PyReadonlyArray2<'py, f64>>,
    forward_pet: Option<PyReadonlyArray2<'py, f64>>,
    reference_temperature: Option<PyReadonlyArray2<'py, f64>>,
    reference_precipitation: Option<PyReadonlyArray2<'py, f64>>,
    main_horizon: usize,
    steady_state: bool,
    mc_samples: usize,
    mc_seed: u64,
    forward_stepping: bool,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let mode = match mode {
        "rothamsted" => Mode::Rothamsted,
        "fao-v1.2" => Mode::Fao,
        other => return Err(PyValueError::new_err(format!("mode: unknown {other:?}"))),
    };
    let spinup = match spinup {
        "equilibrium" => SpinupMethod::Equilibrium,
        "analytical" => SpinupMethod::Analytical,
        "numerical" => SpinupMethod::Numerical,
        "rothamsted-iterative" => SpinupMethod::RothamstedIterative,
        other => return Err(PyValueError::new_err(format!("spinup: unknown {other:?}"))),
    };
    let numerical_pools = match numerical_pools {
        "second-run" => NumericalPools::SecondRun,
        "weihermuller" => NumericalPools::Weihermuller,
        other => {
            return Err(PyValueError::new_err(format!(
                "numerical_pools: unknown {other:?}"
            )))
        }
    };
    if horizons.is_empty() || horizons.windows(2).any(|w| w[0] >= w[1]) || horizons[0] == 0 {
        return Err(PyValueError::new_err(
            "horizons: expected ascending whole years >= 1",
        ));
    }
    let sc = scenarios.as_array();
    if sc.ncols() != 3 || sc.nrows() == 0 {
        return Err(PyValueError::new_err(
            "scenarios: expected (S, 3) increases (crops, grass, paddy)",
        ));
    }
    let opts = Options {
        mode,
        spinup,
        numerical_pools,
        horizons,
        scenarios: sc.rows().into_iter().map(|r| [r[0], r[1], r[2]]).collect(),
        uncertainty,
        fao_uncertain_scenario,
        depth,
        evap_coefficient,
        moisture: Default::default(),
        forward_stepping,
        steady_state,
        main_horizon,
        mc_samples,
        mc_seed,
    };
    if opts.main_horizon >= opts.horizons.len() {
        return Err(PyValueError::new_err(
            "main_horizon: not an index of horizons",
        ));
    }
    let mut table = CoreClassTable::default();
    let (coef, paddy, group) = (
        class_coef.as_array(),
        class_paddy.as_array(),
        class_group.as_array(),
    );
    if coef.len() != 256 || paddy.len() != 256 || group.len() != 256 {
        return Err(PyValueError::new_err(
            "class tables: expected 256 entries each",
        ));
    }
    for c in 0..256 {
        table.coef[c] = coef[c];
        table.paddy[c] = paddy[c];
        table.group[c] = group[c];
    }

    let n = soc.as_array().len();
    let years = warmup_class.as_array().ncols();
    if years == 0 || years > 128 {
        return Err(PyValueError::new_err("warm-up: expected 1 to 128 years"));
    }
    for (name, a, cols) in [
        ("spinup_cover", &spinup_cover, 12),
        ("warmup_cover", &warmup_cover, 12),
        ("forward_cover", &forward_cover, 12),
        ("spinup_temperature", &spinup_temperature, 12),
        ("spinup_precipitation", &spinup_precipitation, 12),
        ("spinup_pet", &spinup_pet, 12),
        ("warmup_dpm_rpm", &warmup_dpm_rpm, years),
        ("npp_reference", &npp_reference, 3),
    ] {
        width(name, a, n, cols)?;
    }
    for (name, a) in [
        ("forward_temperature", &forward_temperature),
        ("forward_precipitation", &forward_precipitation),
        ("forward_pet", &forward_pet),
    ] {
        if let Some(a) = a {
            width(name, a, n, 12)?;
        }
    }
    for (name, len) in [
        ("clay", clay.as_array().len()),
        ("soc_uncertainty", soc_uncertainty.as_array().len()),
        ("clay_uncertainty", clay_uncertainty.as_array().len()),
        ("spinup_class", spinup_class.as_array().len()),
        ("spinup_dpm_rpm", spinup_dpm_rpm.as_array().len()),
        ("forward_class", forward_class.as_array().len()),
        ("forward_dpm_rpm", forward_dpm_rpm.as_array().len()),
        ("warmup_class", warmup_class.as_array().nrows()),
    ] {
        if len != n {
            return Err(PyValueError::new_err(format!(
                "{name}: {len} pixels, expected {n}"
            )));
        }
    }
    let optional = |name, a| optional_contiguous(name, a);
    // the 1981-2000 series of the Monte Carlo draws' NPP reference: both or none, 12 R months
    let reference_months = match (&reference_temperature, &reference_precipitation) {
        (None, None) => 0,
        (Some(t), Some(p)) => {
            let months = t.as_array().ncols();
            if months == 0 || months % 12 != 0 {
                return Err(PyValueError::new_err(format!(
                    "reference_temperature: {months} months, expected 12 per year"
                )));
            }
            width("reference_temperature", t, n, months)?;
            width("reference_precipitation", p, n, months)?;
            months
        }
        _ => {
            return Err(PyValueError::new_err(
                "reference_temperature and reference_precipitation: give both or neither",
            ))
        }
    };
    let rt = optional("reference_temperature", &reference_temperature)?;
    let rp = optional("reference_precipitation", &reference_precipitation)?;
    let soc = contiguous("soc", &soc)?;
    let clay = contiguous("clay", &clay)?;
    let soc_u = contiguous("soc_uncertainty", &soc_uncertainty)?;
    let clay_u = contiguous("clay_uncertainty", &clay_uncertainty)?;
    let scover = contiguous("spinup_cover", &spinup_cover)?;
    let wcover = contiguous("warmup_cover", &warmup_cover)?;
    let fcover = contiguous("forward_cover", &forward_cover)?;
    let st = contiguous("spinup_temperature", &spinup_temperature)?;
    let sp = contiguous("spinup_precipitation", &spinup_precipitation)?;
    let se = contiguous("spinup_pet", &spinup_pet)?;
    let sclass = contiguous("spinup_class", &spinup_class)?;
    let sdr = contiguous("spinup_dpm_rpm", &spinup_dpm_rpm)?;
    let series = [
        SeriesArg::extract("warmup_temperature", warmup_temperature)?,
        SeriesArg::extract("warmup_precipitation", warmup_precipitation)?,
        SeriesArg::extract("warmup_pet", warmup_pet)?,
    ];
    for s in &series {
        s.expect(n, 12 * years)?;
    }
    let [wt, wp, we] = [series[0].view()?, series[1].view()?, series[2].view()?];
    let wclass = contiguous("warmup_class", &warmup_class)?;
    let wdr = contiguous("warmup_dpm_rpm", &warmup_dpm_rpm)?;
    let ft = optional("forward_temperature", &forward_temperature)?;
    let fp = optional("forward_precipitation", &forward_precipitation)?;
    let fe = optional("forward_pet", &forward_pet)?;
    let fclass = contiguous("forward_class", &forward_class)?;
    let fdr = contiguous("forward_dpm_rpm", &forward_dpm_rpm)?;
    let npp = contiguous("npp_reference", &npp_reference)?;
    let ids = contiguous("pixel_id", &pixel_id)?;
    if ids.len() != n {
        return Err(PyValueError::new_err(format!(
            "pixel_id: {} values, expected {n}",
            ids.len()
        )));
    }

    let flen = final_len(&opts);
    let slen = steady_len(&opts);
    let mlen = mc_len(&opts);
    let run = |cancel: &AtomicBool| {
        let mut outs = vec![PixelOutput::default(); n];
        let mut finals = vec![0.0; n * flen];
        let mut steady = vec![0.0; n * slen.max(1)];
        let mut mc = vec![0.0; n * mlen.max(1)];
        // Pixels go in batches (their warm-ups run side by side in the core's lanes).
        outs.par_chunks_mut(BATCH)
            .zip(finals.par_chunks_mut(BATCH * flen.max(1)))
            .zip(steady.par_chunks_mut(BATCH * slen.max(1)))
            .zip(mc.par_chunks_mut(BATCH * mlen.max(1)))
            .enumerate()
            .for_each(|(b, (((outs, fin), steady_out), mcs))| {
                if cancel.load(Ordering::Relaxed) {
                    return; // interrupted: the call returns the signal's exception
                }
                with_scratch(|ws: &mut Workspace| {
                    with_scratch(|loaded: &mut BatchSeries| {
                        let (i0, m) = (b * BATCH, outs.len());
                        for (view, scratch) in [&wt, &wp, &we].into_iter().zip(&mut loaded.0) {
                            view.load(i0, m, scratch);
                            // the next batch (most often this thread's next) while this computes
                            view.prefetch(i0 + BATCH, BATCH);
                        }
                        let [st0, st1, st2] = &loaded.0;
                        let series = |k: usize| {
                            [
                                wt.pixel(i0, k, st0),
                                wp.pixel(i0, k, st1),
                                we.pixel(i0, k, st2),
                            ]
                        };
                        // the tail of a short batch repeats its last pixel (and is not used)
                        let at = |k: usize| k.min(m - 1);
                        let batch: [[Series<'_>; 3]; BATCH] =
                            std::array::from_fn(|k| series(at(k)));
                        let forward: [[[f64; 12]; 3]; BATCH] = std::array::from_fn(|k| {
                            let i = i0 + at(k);
                            let [t, p, e] = &batch[k];
                            [(ft, t), (fp, p), (fe, e)]
                                .map(|(given, series)| forward_or_mean(given, i, series))
                        });
                        let pixels: [PixelInput<'_>; BATCH] = std::array::from_fn(|k| {
                            let i = i0 + at(k);
                            let [ft, fp, fe] = &forward[k];
                            let [w_t, w_p, w_e] = batch[k];
                            PixelInput {
                                soc: soc[i],
                                clay: clay[i],
                                soc_uncertainty: soc_u[i],
                                clay_uncertainty: clay_u[i],
                                spinup_cover: array12(scover, i),
                                warmup_cover: array12(wcover, i),
                                forward_cover: array12(fcover, i),
                                spinup_temperature: array12(st, i),
                                spinup_precipitation: array12(sp, i),
                                spinup_pet: array12(se, i),
                                spinup_class: sclass[i],
                                spinup_dpm_rpm: sdr[i],
                                warmup_temperature: w_t,
                                warmup_precipitation: w_p,
                                warmup_pet: w_e,
                                warmup_class: &wclass[i * years..(i + 1) * years],
                                warmup_dpm_rpm: &wdr[i * years..(i + 1) * years],
                                forward_temperature: ft,
                                forward_precipitation: fp,
                                forward_pet: fe,
                                forward_class: fclass[i],
                                forward_dpm_rpm: fdr[i],
                                npp_reference: [npp[3 * i], npp[3 * i + 1], npp[3 * i + 2]],
                                reference_climate: rt.zip(rp).map(|(t, p)| {
                                    let r = reference_months;
                                    [t, p].map(|v| Series::from(&v[i * r..(i + 1) * r]))
                                }),
                                soil_water: None,
                                calibration: Calibration::NONE,
                            }
                        });
                        simulate_pixels(
                            &opts,
                            &table,
                            &pixels[..m],
                            ws,
                            outs,
                            &mut fin[..m * flen],
                            &mut steady_out[..m * slen],
                            &mut mcs[..m * mlen],
                            &ids[i0..i0 + m],
                        );
                    })
                })
            });
        (outs, finals, steady, mc)
    };
    let (outs, finals, steady, mc) = interruptible(py, threads, run)?;

    let d = PyDict::new(py);
    let per_chain = |f: &dyn Fn(&PixelOutput, usize) -> f64| {
        Array2::from_shape_fn((n, 3), |(i, r)| f(&outs[i], r))
    };
    let per_chain_pools = |f: &dyn Fn(&PixelOutput, usize) -> [f64; 5]| {
        Array3::from_shape_fn((n, 3, 5), |(i, r, k)| f(&outs[i], r)[k])
    };
    d.set_item("ceq", per_chain(&|o, r| o.chains[r].ceq).into_pyarray(py))?;
    d.set_item(
        "tsmd_spinup",
        per_chain(&|o, r| o.chains[r].tsmd_spinup).into_pyarray(py),
    )?;
    d.set_item(
        "soc_t0",
        per_chain(&|o, r| o.chains[r].soc_t0).into_pyarray(py),
    )?;
    d.set_item(
        "cin_t0",
        per_chain(&|o, r| o.chains[r].cin_t0).into_pyarray(py),
    )?;
    d.set_item(
        "cin_mean",
        per_chain(&|o, r| o.chains[r].cin_mean).into_pyarray(py),
    )?;
    d.set_item(
        "tsmd_t0",
        per_chain(&|o, r| o.chains[r].tsmd_t0).into_pyarray(py),
    )?;
    d.set_item(
        "pools_spinup",
        per_chain_pools(&|o, r| o.chains[r].pools_spinup).into_pyarray(py),
    )?;
    d.set_item(
        "pools_t0",
        per_chain_pools(&|o, r| o.chains[r].pools_t0).into_pyarray(py),
    )?;
    let (h, s) = (opts.horizons.len(), opts.scenarios.len());
    d.set_item(
        "final_soc",
        Array4::from_shape_vec((n, h, s, 3), finals)
            .expect("shape")
            .into_pyarray(py),
    )?;
    d.set_item(
        "spinup_months",
        Array1::from_iter(outs.iter().map(|o| o.spinup_months)).into_pyarray(py),
    )?;
    if slen > 0 {
        d.set_item(
            "steady_years",
            Array2::from_shape_vec((n, slen), steady)
                .expect("shape")
                .into_pyarray(py),
        )?;
    }
    if mlen > 0 {
        d.set_item(
            "mc",
            Array3::from_shape_vec((n, mlen / 4, 4), mc)
                .expect("shape")
                .into_pyarray(py),
        )?;
    }
    d.set_item(
        "flags",
        Array1::from_iter(outs.iter().map(|o| o.flags)).into_pyarray(py),
    )?;
    Ok(d)
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
) -> Bound<'py, numpy::PyArray2<f64>> {
    let draws = Draws::new(seed, pixel_id, soc_uncertainty, clay_uncertainty);
    let rows: Vec<f64> = draws
        .take(samples)
        .flat_map(|d| [d.soc, d.clay, d.temperature, d.precipitation, d.increase])
        .collect();
    Array2::from_shape_vec((samples, 5), rows)
        .expect("shape")
        .into_pyarray(py)
}

/// The land-use class table of the phases (METHOD.md section 2), indexed by FAO class code
/// 0..=255: NPP-to-input coefficient, DPM/RPM ratio (NaN for classes without coefficients),
/// rate factor (0.4 paddy, else 1) and SSM group (0 crops, 1 grass, 2 paddy, 255 none).
#[pyclass(frozen, module = "gsocseq._core")]
pub struct ClassTable(pub CoreClassTable);

#[pymethods]
impl ClassTable {
    /// The FAO GLC-SHARE table of METHOD.md section 2.
    #[staticmethod]
    fn default() -> Self {
        ClassTable(Default::default())
    }

    #[getter]
    fn coefficient<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray1<f64>> {
        numpy::PyArray1::from_slice(py, &self.0.coef)
    }

    #[getter]
    fn dpm_rpm<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray1<f64>> {
        numpy::PyArray1::from_slice(py, &self.0.dpm_rpm)
    }

    #[getter]
    fn paddy_factor<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray1<f64>> {
        numpy::PyArray1::from_slice(py, &self.0.paddy)
    }

    #[getter]
    fn ssm_group<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray1<u8>> {
        numpy::PyArray1::from_slice(py, &self.0.group)
    }
}

/// Adds the phases' constants to the module: `FLAGS` {bit: words}, `MINMAX_CLIMATE`
/// ((temperature, precipitation) factors of the central, min and max chains), `MINMAX_INCREASE`
/// (factors of the SSM increase), `MONTE_CARLO_SPREAD` (95 % half-widths of the draws' factors).
pub fn constants(m: &Bound<'_, PyModule>) -> PyResult<()> {
    use gsocseq_core::phases::chain::{MC_SPREAD, MINMAX_CLIMATE, MINMAX_INCREASE};
    use gsocseq_core::phases::options::flags;
    let py = m.py();
    let words = PyDict::new(py);
    for (bit, text) in flags::DESCRIPTIONS {
        words.set_item(bit, text)?;
    }
    m.add("FLAGS", words)?;
    let [central, low, high] = MINMAX_CLIMATE.map(|[t, p]| (t, p));
    m.add("MINMAX_CLIMATE", (central, low, high))?;
    m.add(
        "MINMAX_INCREASE",
        (MINMAX_INCREASE[0], MINMAX_INCREASE[1], MINMAX_INCREASE[2]),
    )?;
    let spread = PyDict::new(py);
    for (name, v) in ["temperature", "precipitation", "increase"]
        .iter()
        .zip(MC_SPREAD)
    {
        spread.set_item(name, v)?;
    }
    m.add("MONTE_CARLO_SPREAD", spread)?;
    m.add_class::<ClassTable>()
}
