//! Thin PyO3 binding of `gsocseq-core`: numpy arrays in and out, the GIL released while the
//! core runs, pixels in parallel with rayon. Argument shapes and broadcasting are settled by
//! the Python wrappers (`gsocseq.rothc`); here every per-month array is (n, months) and every
//! per-pixel array (n,), possibly with zero strides.

use gsocseq_core::input::check::{self, Range};
use gsocseq_core::rothc::equilibrium;
use gsocseq_core::rothc::step::MonthOutcome;
mod solver {
    pub use gsocseq_core::rothc::{forcing::*, lanes::*, step::*};
}
use gsocseq_core::{CoreError, Pools, Soil};
use numpy::ndarray::{s, Array1, Array2, Array3, ArrayView1, ArrayView2};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

mod error;
mod fao;
mod gather;
mod pipeline;
mod series;
use pyo3::prelude::*;
use rayon::prelude::*;

type Arr1<'py> = Bound<'py, PyArray1<f64>>;
type Arr2<'py> = Bound<'py, PyArray2<f64>>;
type SpinupOutput<'py> = (Arr2<'py>, Arr1<'py>, Option<Bound<'py, PyArray1<i64>>>);

use error::{to_py, IntoPyResult};

/// Threads a call uses at most, per core of the machine: more only queue on the same cores,
/// and a mistyped count (`threads=10**6`) would spend minutes spawning them. Larger requests
/// are capped (the numbers do not depend on the thread count).
pub(crate) const MAX_THREADS_PER_CORE: usize = 4;

/// The most threads a call uses on this machine ([`MAX_THREADS_PER_CORE`] per core).
#[pyfunction]
pub(crate) fn max_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) * MAX_THREADS_PER_CORE
}

/// A rayon pool of `threads` threads (capped at [`max_threads`]); None for None or 0 (the
/// global pool, all cores).
fn pool(threads: Option<usize>) -> PyResult<Option<rayon::ThreadPool>> {
    match threads {
        None | Some(0) => Ok(None),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.min(max_threads()))
            .build()
            .map(Some)
            .map_err(|e| PyValueError::new_err(format!("threads: {e}"))),
    }
}

/// Runs `f` on a rayon pool of `threads` threads (None or 0: the global pool, all cores).
fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    Ok(match pool(threads)? {
        None => f(),
        Some(pool) => pool.install(f),
    })
}

/// How often a computation checks for Python signals (Ctrl-C, SIGTERM) while it runs.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// Runs `work` with the GIL released on a rayon pool of `threads` threads (as
/// [`with_threads`]) while the calling thread checks for Python signals every
/// [`SIGNAL_POLL`]. When a signal handler raises (Ctrl-C's KeyboardInterrupt), `cancel` is set:
/// `work` polls it between chunks of pixels and skips the rest, and the call returns the
/// handler's exception within a chunk's time instead of when the whole work is done.
pub(crate) fn interruptible<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    work: impl FnOnce(&AtomicBool) -> T + Send,
) -> PyResult<T> {
    let pool = pool(threads)?;
    let cancel = AtomicBool::new(false);
    let out = match &pool {
        Some(pool) => pool.in_place_scope(|scope| watch(py, scope, &cancel, work)),
        None => rayon::in_place_scope(|scope| watch(py, scope, &cancel, work)),
    }?;
    Ok(out.expect("the work returned a value or panicked"))
}

/// [`interruptible`] inside its rayon scope: `work` on the pool, signals checked here.
fn watch<'s, T: Send + 's>(
    py: Python<'_>,
    scope: &rayon::Scope<'s>,
    cancel: &'s AtomicBool,
    work: impl FnOnce(&AtomicBool) -> T + Send + 's,
) -> PyResult<Option<T>> {
    let (tx, mut rx) = mpsc::channel();
    scope.spawn(move |_| {
        // a receiver gone (the caller raised) only means nobody waits for the value
        let _ = tx.send(work(cancel));
    });
    let mut raised = None;
    loop {
        let (got, back) = py.detach(move || (rx.recv_timeout(SIGNAL_POLL), rx));
        rx = back;
        match got {
            Ok(value) => return raised.map_or(Ok(Some(value)), Err),
            // the work panicked: the scope re-raises the panic when it ends
            Err(RecvTimeoutError::Disconnected) => return raised.map_or(Ok(None), Err),
            Err(RecvTimeoutError::Timeout) => {
                if raised.is_none() {
                    if let Err(e) = py.check_signals() {
                        cancel.store(true, Ordering::Relaxed);
                        raised = Some(e);
                    }
                }
            }
        }
    }
}

/// The per-month forcing of every pixel, (n, months) views.
struct Forcing<'a> {
    temperature: ArrayView2<'a, f64>,
    precipitation: ArrayView2<'a, f64>,
    evaporation: ArrayView2<'a, f64>,
    cover: ArrayView2<'a, f64>,
    plant_input: ArrayView2<'a, f64>,
    fym_input: ArrayView2<'a, f64>,
    dpm_rpm: ArrayView2<'a, f64>,
    rate_factor: ArrayView2<'a, f64>,
}

impl<'a> Forcing<'a> {
    fn named(&self) -> [(&'static str, &ArrayView2<'_, f64>, Range); 8] {
        [
            ("temperature", &self.temperature, check::ANY),
            // The official example has months of negative evaporation (dew): not rejected.
            ("precipitation", &self.precipitation, check::ANY),
            ("evaporation", &self.evaporation, check::ANY),
            ("cover", &self.cover, check::COVER),
            ("plant_input", &self.plant_input, check::INPUT),
            ("fym_input", &self.fym_input, check::INPUT),
            ("dpm_rpm", &self.dpm_rpm, check::NON_NEGATIVE),
            ("rate_factor", &self.rate_factor, check::NON_NEGATIVE),
        ]
    }

    fn months(&self) -> usize {
        self.temperature.ncols()
    }

    /// The forcing rows of `pixels` stored contiguously, one slice per argument (empty for a
    /// broadcast argument: its one row stays in cache).
    fn contiguous_rows(&self, pixels: std::ops::Range<usize>) -> [&'a [f64]; 8] {
        let n = self.temperature.nrows();
        let pixels = pixels.start.min(n)..pixels.end.min(n);
        [
            &self.temperature,
            &self.precipitation,
            &self.evaporation,
            &self.cover,
            &self.plant_input,
            &self.fym_input,
            &self.dpm_rpm,
            &self.rate_factor,
        ]
        .map(|view| {
            (*view)
                .slice_move(s![pixels.clone(), ..])
                .to_slice()
                .unwrap_or(&[])
        })
    }

    /// Pixel `i`'s forcing as contiguous month slices (rows with strides, i.e. broadcast
    /// arguments, copied into `buffers`), checked in the same pass: Err for the first value
    /// out of its range (argument order, then month), None when a value is NaN or infinite
    /// (the pixel's outputs are then NaN).
    fn load<'s>(
        &'s self,
        i: usize,
        buffers: &'s mut RowBuffers,
    ) -> Result<Option<solver::ForcingSeries<'s>>, CoreError> {
        let mut rows: [&'s [f64]; 8] = [&[]; 8];
        let mut finite = true;
        for (k, (((name, view, range), buf), constant)) in self
            .named()
            .into_iter()
            .zip(&mut buffers.rows)
            .zip(&mut buffers.constant)
            .enumerate()
        {
            let row = view.row(i);
            let (values, checked): (&'s [f64], &[f64]) = match row.to_slice() {
                Some(values) => (values, values),
                // a scalar or per-pixel argument broadcast over the months: one value to
                // check, and the copy kept while the value does not change
                None if row.strides()[0] == 0 && !row.is_empty() => {
                    let v = row[0];
                    if !*constant || buf.len() != row.len() || buf[0].to_bits() != v.to_bits() {
                        buf.clear();
                        buf.resize(row.len(), v);
                        *constant = true;
                    }
                    (&buf[..], &buf[..1])
                }
                None => {
                    buf.clear();
                    buf.extend(row.iter().copied());
                    *constant = false;
                    (&buf[..], &buf[..])
                }
            };
            if !range.all_finite_and_accepted(checked) {
                for (m, &v) in values.iter().enumerate() {
                    range.check(name, v, || format!("pixel {i}, month {m}"))?;
                }
                finite &= values.iter().all(|v| v.is_finite());
            }
            rows[k] = values;
        }
        Ok(finite.then_some(solver::ForcingSeries {
            climate: solver::RateForcing {
                temperature: rows[0],
                precipitation: rows[1],
                evaporation: rows[2],
                cover: rows[3],
                rate_factor: rows[7],
            },
            plant_input: rows[4],
            fym_input: rows[5],
            dpm_rpm: rows[6],
        }))
    }

    /// Runs `body(i, forcing, output)` for every pixel `i` in parallel, `forcing`
    /// None when a value of the pixel is not finite. Returns the first out-of-range value in
    /// pixel order (the pixels of the other outputs are computed all the same).
    fn each_pixel<O: Send>(
        &self,
        outputs: impl IndexedParallelIterator<Item = O>,
        body: impl Fn(usize, Option<&solver::ForcingSeries<'_>>, O) + Sync + Send,
    ) -> Result<(), CoreError> {
        let first = FirstError::default();
        outputs.enumerate().for_each(|(i, out)| {
            with_scratch(|rows: &mut RowBuffers| match self.load(i, rows) {
                Ok(series) => body(i, series.as_ref(), out),
                Err(e) => first.record(i, e),
            })
        });
        first.into_result()
    }
}

thread_local! {
    /// Scratch space of this thread, one value per type, kept from call to call.
    static SCRATCH: RefCell<HashMap<TypeId, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// Runs `f` with this thread's scratch value of type `T`, kept from call to call (rayon's
/// threads outlive the calls): `for_each_init` would build a new one for every split of the
/// work, and the first writes to fresh memory cost page faults as large as the work itself.
pub(crate) fn with_scratch<T: Default + 'static, R>(f: impl FnOnce(&mut T) -> R) -> R {
    let key = TypeId::of::<T>();
    let taken = SCRATCH.with_borrow_mut(|map| map.remove(&key));
    let mut value = taken.unwrap_or_else(|| Box::new(T::default()));
    let out = f(value.downcast_mut::<T>().expect("scratch of its own type"));
    SCRATCH.with_borrow_mut(|map| map.insert(key, value));
    out
}

/// Per-thread buffers of `run`: forcing rows, the lanes kernel's month-major forcing, the
/// observed run's rates of the lanes and of a single pixel.
type RunScratch = (
    [RowBuffers; LANES],
    solver::LaneForcing<LANES>,
    solver::RunBuffers<LANES>,
    solver::RunBuffers,
);

/// Pixels run in step by `run` (16: two AVX-512 vectors or four AVX2 vectors a quantity, so
/// that two or more independent dependency chains fill the pipelines).
const LANES: usize = 16;

/// Per-thread copies of the strided forcing rows of one pixel.
#[derive(Default)]
struct RowBuffers {
    rows: [Vec<f64>; 8],
    /// Whether the row holds a broadcast value (kept while the value does not change).
    constant: [bool; 8],
}

/// The error of the lowest pixel index met in a parallel pass.
#[derive(Default)]
struct FirstError(Mutex<Option<(usize, CoreError)>>);

impl FirstError {
    fn record(&self, i: usize, e: CoreError) {
        let mut first = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if first.as_ref().is_none_or(|(j, _)| i < *j) {
            *first = Some((i, e));
        }
    }

    fn into_result(self) -> Result<(), CoreError> {
        match self.0.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }
}

/// Per-pixel site values: clay %, depth cm.
struct Sites<'a> {
    clay: ArrayView1<'a, f64>,
    depth: ArrayView1<'a, f64>,
    evap_coefficient: f64,
}

impl Sites<'_> {
    fn validate(&self) -> Result<(), CoreError> {
        for (name, a, range) in [
            ("clay", &self.clay, check::CLAY),
            ("depth", &self.depth, check::DEPTH),
        ] {
            for (i, &v) in a.iter().enumerate() {
                range.check(name, v, || format!("pixel {i}"))?;
            }
        }
        Ok(())
    }

    fn finite(&self, i: usize) -> bool {
        self.clay[i].is_finite() && self.depth[i].is_finite()
    }

    fn soil(&self, i: usize) -> Soil {
        Soil::new(self.clay[i], self.depth[i], self.evap_coefficient)
    }
}

fn check_per_pixel(
    name: &'static str,
    a: &ArrayView1<'_, f64>,
    range: Range,
) -> Result<(), CoreError> {
    for (i, &v) in a.iter().enumerate() {
        range.check(name, v, || format!("pixel {i}"))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn forcing<'a>(
    temperature: &'a PyReadonlyArray2<'_, f64>,
    precipitation: &'a PyReadonlyArray2<'_, f64>,
    evaporation: &'a PyReadonlyArray2<'_, f64>,
    cover: &'a PyReadonlyArray2<'_, f64>,
    plant_input: &'a PyReadonlyArray2<'_, f64>,
    fym_input: &'a PyReadonlyArray2<'_, f64>,
    dpm_rpm: &'a PyReadonlyArray2<'_, f64>,
    rate_factor: &'a PyReadonlyArray2<'_, f64>,
) -> Forcing<'a> {
    Forcing {
        temperature: temperature.as_array(),
        precipitation: precipitation.as_array(),
        evaporation: evaporation.as_array(),
        cover: cover.as_array(),
        plant_input: plant_input.as_array(),
        fym_input: fym_input.as_array(),
        dpm_rpm: dpm_rpm.as_array(),
        rate_factor: rate_factor.as_array(),
    }
}

type RunOutput<'py> = (
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Option<Bound<'py, PyArray3<f64>>>,
    Option<Bound<'py, PyArray2<f64>>>,
);

/// RothC over `months` months for n pixels. Returns (pools, tsmd, co2, monthly, monthly_co2).
#[pyfunction]
#[pyo3(signature = (pools, temperature, precipitation, evaporation, cover, plant_input, fym_input, dpm_rpm, rate_factor, clay, depth, tsmd, evap_coefficient, trajectory, threads=None))]
#[allow(clippy::too_many_arguments)]
fn run<'py>(
    py: Python<'py>,
    pools: PyReadonlyArray2<'py, f64>,
    temperature: PyReadonlyArray2<'py, f64>,
    precipitation: PyReadonlyArray2<'py, f64>,
    evaporation: PyReadonlyArray2<'py, f64>,
    cover: PyReadonlyArray2<'py, f64>,
    plant_input: PyReadonlyArray2<'py, f64>,
    fym_input: PyReadonlyArray2<'py, f64>,
    dpm_rpm: PyReadonlyArray2<'py, f64>,
    rate_factor: PyReadonlyArray2<'py, f64>,
    clay: PyReadonlyArray1<'py, f64>,
    depth: PyReadonlyArray1<'py, f64>,
    tsmd: PyReadonlyArray1<'py, f64>,
    evap_coefficient: f64,
    trajectory: bool,
    threads: Option<usize>,
) -> PyResult<RunOutput<'py>> {
    let f = forcing(
        &temperature,
        &precipitation,
        &evaporation,
        &cover,
        &plant_input,
        &fym_input,
        &dpm_rpm,
        &rate_factor,
    );
    let sites = Sites {
        clay: clay.as_array(),
        depth: depth.as_array(),
        evap_coefficient,
    };
    let pools0 = pools.as_array();
    let tsmd0 = tsmd.as_array();
    let n = pools0.nrows();
    let months = f.months();
    let result = interruptible(py, threads, |cancel| -> Result<_, CoreError> {
        sites.validate()?;
        check_per_pixel("tsmd", &tsmd0, check::TSMD)?;
        let mut out_pools = vec![0.0; n * 5];
        let mut out_tsmd = vec![0.0; n];
        let mut out_co2 = vec![0.0; n];
        let traj_len = if trajectory { months } else { 0 };
        // Without a trajectory the buffers hold one unused value per pixel.
        let (chunk, chunk_co2) = ((traj_len * 5).max(1), traj_len.max(1));
        let mut monthly = vec![0.0; n * chunk];
        let mut monthly_co2 = vec![0.0; n * chunk_co2];
        // Pixels go in groups of LANES, run in step (see `solver::run_lanes`).
        let first = FirstError::default();
        out_pools
            .par_chunks_mut(5 * LANES)
            .zip(out_tsmd.par_chunks_mut(LANES))
            .zip(out_co2.par_chunks_mut(LANES))
            .zip(monthly.par_chunks_mut(chunk * LANES))
            .zip(monthly_co2.par_chunks_mut(chunk_co2 * LANES))
            .enumerate()
            .for_each(|(g, ((((p_out, t_out), c_out), traj), traj_co2))| {
                if cancel.load(Ordering::Relaxed) {
                    return; // interrupted: the call returns the signal's exception
                }
                with_scratch(|scratch: &mut RunScratch| {
                    let (rows, lanes_in, buffers, single) = scratch;
                    let i0 = g * LANES;
                    let mut ok = [false; LANES];
                    let mut series = [solver::ForcingSeries::EMPTY; LANES];
                    let mut pools = [[f64::NAN; 5]; LANES];
                    let mut acc = [f64::NAN; LANES];
                    let mut soils = [Soil::new(0.0, 1.0, evap_coefficient); LANES];
                    let lanes = t_out.len();
                    for (l, rows) in rows.iter_mut().enumerate().take(lanes) {
                        let i = i0 + l;
                        match f.load(i, rows) {
                            Ok(Some(forcing)) => {
                                let row = pools0.row(i);
                                pools[l] = [row[0], row[1], row[2], row[3], row[4]];
                                acc[l] = tsmd0[i];
                                ok[l] = sites.finite(i)
                                    && acc[l].is_finite()
                                    && pools[l].iter().all(|v| v.is_finite());
                                series[l] = forcing;
                                soils[l] = sites.soil(i);
                            }
                            Ok(None) => {}
                            Err(e) => first.record(i, e),
                        }
                    }
                    let mut observe = |l: usize, m: usize, p: &Pools, o: &MonthOutcome| {
                        if trajectory {
                            let at = (l * months + m) * 5;
                            traj[at..at + 5].copy_from_slice(p);
                            traj_co2[l * months + m] = o.co2;
                        }
                    };
                    let co2 = if ok.iter().all(|&ok| ok) && !trajectory {
                        {
                            // the next group's forcing comes from memory meanwhile
                            let upcoming = f.contiguous_rows(i0 + LANES..i0 + 2 * LANES);
                            solver::run_lanes_final_prefetching(
                                &mut pools, &mut acc, &soils, &series, lanes_in, &upcoming,
                            )
                        }
                    } else if ok.iter().all(|&ok| ok) {
                        solver::run_lanes(
                            &mut pools,
                            &mut acc,
                            &soils,
                            &series,
                            buffers,
                            &mut observe,
                        )
                    } else {
                        let mut co2 = [f64::NAN; LANES];
                        for l in (0..lanes).filter(|&l| ok[l]) {
                            co2[l] = solver::run(
                                &mut pools[l],
                                &mut acc[l],
                                &soils[l],
                                &series[l],
                                single,
                                |m, p, o| observe(l, m, p, o),
                            );
                        }
                        co2
                    };
                    for l in 0..lanes {
                        if ok[l] {
                            p_out[5 * l..5 * l + 5].copy_from_slice(&pools[l]);
                            t_out[l] = acc[l];
                            c_out[l] = co2[l];
                        } else {
                            p_out[5 * l..5 * l + 5].fill(f64::NAN);
                            t_out[l] = f64::NAN;
                            c_out[l] = f64::NAN;
                            traj[l * chunk..(l + 1) * chunk].fill(f64::NAN);
                            traj_co2[l * chunk_co2..(l + 1) * chunk_co2].fill(f64::NAN);
                        }
                    }
                })
            });
        first.into_result()?;
        Ok((out_pools, out_tsmd, out_co2, monthly, monthly_co2))
    })?;
    let (out_pools, out_tsmd, out_co2, monthly, monthly_co2) = result.py()?;
    let pools_arr = Array2::from_shape_vec((n, 5), out_pools)
        .expect("shape")
        .into_pyarray(py);
    let (monthly, monthly_co2) = if trajectory {
        (
            Some(
                Array3::from_shape_vec((n, months, 5), monthly)
                    .expect("shape")
                    .into_pyarray(py),
            ),
            Some(
                Array2::from_shape_vec((n, months), monthly_co2)
                    .expect("shape")
                    .into_pyarray(py),
            ),
        )
    } else {
        (None, None)
    };
    Ok((
        pools_arr,
        Array1::from_vec(out_tsmd).into_pyarray(py),
        Array1::from_vec(out_co2).into_pyarray(py),
        monthly,
        monthly_co2,
    ))
}

type Modifiers<'py> = (
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
);

/// Rate modifiers a, b, c, rate and the deficit after every month, each (n, months).
#[pyfunction]
#[pyo3(signature = (temperature, precipitation, evaporation, cover, rate_factor, clay, depth, tsmd, evap_coefficient, threads=None))]
#[allow(clippy::too_many_arguments)]
fn rate_modifiers<'py>(
    py: Python<'py>,
    temperature: PyReadonlyArray2<'py, f64>,
    precipitation: PyReadonlyArray2<'py, f64>,
    evaporation: PyReadonlyArray2<'py, f64>,
    cover: PyReadonlyArray2<'py, f64>,
    rate_factor: PyReadonlyArray2<'py, f64>,
    clay: PyReadonlyArray1<'py, f64>,
    depth: PyReadonlyArray1<'py, f64>,
    tsmd: PyReadonlyArray1<'py, f64>,
    evap_coefficient: f64,
    threads: Option<usize>,
) -> PyResult<Modifiers<'py>> {
    let zeros = Array2::<f64>::zeros((1, 1));
    let zero_view = zeros
        .broadcast(temperature.as_array().raw_dim())
        .expect("broadcast");
    let f = Forcing {
        temperature: temperature.as_array(),
        precipitation: precipitation.as_array(),
        evaporation: evaporation.as_array(),
        cover: cover.as_array(),
        plant_input: zero_view,
        fym_input: zero_view,
        dpm_rpm: zero_view,
        rate_factor: rate_factor.as_array(),
    };
    let sites = Sites {
        clay: clay.as_array(),
        depth: depth.as_array(),
        evap_coefficient,
    };
    let tsmd0 = tsmd.as_array();
    let (n, months) = f.temperature.dim();
    let result = interruptible(py, threads, |_cancel| -> Result<_, CoreError> {
        sites.validate()?;
        check_per_pixel("tsmd", &tsmd0, check::TSMD)?;
        let mut out = vec![[0.0f64; 5]; n * months];
        f.each_pixel(
            out.par_chunks_mut(months.max(1)),
            |i, forcing, row| match forcing {
                Some(forcing) if sites.finite(i) && tsmd0[i].is_finite() => {
                    let soil = sites.soil(i);
                    let mut acc = tsmd0[i];
                    for (m, cell) in row.iter_mut().enumerate() {
                        let o = solver::month_rate(&soil, &mut acc, &forcing.month(m));
                        *cell = [o.a, o.b, o.c, o.rate, o.tsmd];
                    }
                }
                _ => row.fill([f64::NAN; 5]),
            },
        )?;
        Ok(out)
    })?;
    let out = result.py()?;
    let take = |k: usize| {
        Array2::from_shape_fn((n, months), |(i, m)| out[i * months + m][k]).into_pyarray(py)
    };
    Ok((take(0), take(1), take(2), take(3), take(4)))
}

/// Spin-up of n pixels over one 12-month year. Returns (pools, tsmd, months or None).
#[pyfunction]
#[pyo3(signature = (method, temperature, precipitation, evaporation, cover, plant_input, fym_input, dpm_rpm, rate_factor, clay, depth, iom, evap_coefficient, threads=None))]
#[allow(clippy::too_many_arguments)]
fn spinup<'py>(
    py: Python<'py>,
    method: &str,
    temperature: PyReadonlyArray2<'py, f64>,
    precipitation: PyReadonlyArray2<'py, f64>,
    evaporation: PyReadonlyArray2<'py, f64>,
    cover: PyReadonlyArray2<'py, f64>,
    plant_input: PyReadonlyArray2<'py, f64>,
    fym_input: PyReadonlyArray2<'py, f64>,
    dpm_rpm: PyReadonlyArray2<'py, f64>,
    rate_factor: PyReadonlyArray2<'py, f64>,
    clay: PyReadonlyArray1<'py, f64>,
    depth: PyReadonlyArray1<'py, f64>,
    iom: PyReadonlyArray1<'py, f64>,
    evap_coefficient: f64,
    threads: Option<usize>,
) -> PyResult<SpinupOutput<'py>> {
    let iterative = match method {
        "rothamsted-iterative" => true,
        "equilibrium" => false,
        other => {
            return Err(to_py(CoreError::UnknownOption {
                argument: "method",
                value: other.to_string(),
                expected: "'rothamsted-iterative', 'equilibrium'",
            }))
        }
    };
    let f = forcing(
        &temperature,
        &precipitation,
        &evaporation,
        &cover,
        &plant_input,
        &fym_input,
        &dpm_rpm,
        &rate_factor,
    );
    let sites = Sites {
        clay: clay.as_array(),
        depth: depth.as_array(),
        evap_coefficient,
    };
    let iom = iom.as_array();
    let n = f.temperature.nrows();
    let result = interruptible(py, threads, |cancel| -> Result<_, CoreError> {
        sites.validate()?;
        check_per_pixel("iom", &iom, check::INPUT)?;
        let mut out: Vec<(Pools, f64, i64)> = vec![([f64::NAN; 5], f64::NAN, 0); n];
        f.each_pixel(out.par_iter_mut(), |i, forcing, o| {
            if cancel.load(Ordering::Relaxed) {
                return; // interrupted: the call returns the signal's exception
            }
            if let Some(forcing) = forcing.filter(|_| sites.finite(i) && iom[i].is_finite()) {
                let soil = sites.soil(i);
                let year = |m: usize| forcing.month(m);
                let s = if iterative {
                    equilibrium::iterative(&soil, &year, iom[i])
                } else {
                    equilibrium::equilibrium(&soil, &year, iom[i])
                };
                *o = (s.pools, s.tsmd, s.count as i64);
            }
        })?;
        Ok(out)
    })?;
    let out = result.py()?;
    let pools = Array2::from_shape_fn((n, 5), |(i, k)| out[i].0[k]).into_pyarray(py);
    let tsmd = Array1::from_iter(out.iter().map(|o| o.1)).into_pyarray(py);
    let months = iterative.then(|| Array1::from_iter(out.iter().map(|o| o.2)).into_pyarray(py));
    Ok((pools, tsmd, months))
}

/// Plant input (t C/ha/yr, 1/12 a month) holding `soc` at the exact discrete equilibrium.
/// Returns (annual_input, pools, tsmd).
#[pyfunction]
#[pyo3(signature = (soc, temperature, precipitation, evaporation, cover, fym_input, dpm_rpm, rate_factor, clay, depth, evap_coefficient, threads=None))]
#[allow(clippy::too_many_arguments)]
fn equilibrium_inputs<'py>(
    py: Python<'py>,
    soc: PyReadonlyArray1<'py, f64>,
    temperature: PyReadonlyArray2<'py, f64>,
    precipitation: PyReadonlyArray2<'py, f64>,
    evaporation: PyReadonlyArray2<'py, f64>,
    cover: PyReadonlyArray2<'py, f64>,
    fym_input: PyReadonlyArray2<'py, f64>,
    dpm_rpm: PyReadonlyArray2<'py, f64>,
    rate_factor: PyReadonlyArray2<'py, f64>,
    clay: PyReadonlyArray1<'py, f64>,
    depth: PyReadonlyArray1<'py, f64>,
    evap_coefficient: f64,
    threads: Option<usize>,
) -> PyResult<(Arr1<'py>, Arr2<'py>, Arr1<'py>)> {
    let zeros = Array2::<f64>::zeros((1, 1));
    let zero_view = zeros
        .broadcast(temperature.as_array().raw_dim())
        .expect("broadcast");
    let f = Forcing {
        temperature: temperature.as_array(),
        precipitation: precipitation.as_array(),
        evaporation: evaporation.as_array(),
        cover: cover.as_array(),
        plant_input: zero_view,
        fym_input: fym_input.as_array(),
        dpm_rpm: dpm_rpm.as_array(),
        rate_factor: rate_factor.as_array(),
    };
    let sites = Sites {
        clay: clay.as_array(),
        depth: depth.as_array(),
        evap_coefficient,
    };
    let soc = soc.as_array();
    let n = f.temperature.nrows();
    let result = py.detach(|| {
        with_threads(threads, || -> Result<_, CoreError> {
            sites.validate()?;
            check_per_pixel("soc", &soc, check::INPUT)?;
            let mut out: Vec<(f64, Pools, f64)> = vec![(f64::NAN, [f64::NAN; 5], f64::NAN); n];
            f.each_pixel(out.par_iter_mut(), |i, forcing, o| {
                if let Some(forcing) = forcing.filter(|_| sites.finite(i) && soc[i].is_finite()) {
                    let soil = sites.soil(i);
                    let (annual, pools, tsmd, _) =
                        equilibrium::equilibrium_inputs(&soil, &|m| forcing.month(m), soc[i]);
                    *o = (annual, pools, tsmd);
                }
            })?;
            Ok(out)
        })
    })?;
    let out = result.py()?;
    Ok((
        Array1::from_iter(out.iter().map(|o| o.0)).into_pyarray(py),
        Array2::from_shape_fn((n, 5), |(i, k)| out[i].1[k]).into_pyarray(py),
        Array1::from_iter(out.iter().map(|o| o.2)).into_pyarray(py),
    ))
}

/// Continuous equilibrium of Dechow et al. (2019) as FAO v1.2 script 11. Returns
/// (annual_input, pools).
#[pyfunction]
fn analytical_equilibrium<'py>(
    py: Python<'py>,
    soc: PyReadonlyArray1<'py, f64>,
    xi: PyReadonlyArray1<'py, f64>,
    clay: PyReadonlyArray1<'py, f64>,
    dpm_rpm: PyReadonlyArray1<'py, f64>,
) -> PyResult<(Arr1<'py>, Arr2<'py>)> {
    let (soc, xi, clay, dpm_rpm) = (
        soc.as_array(),
        xi.as_array(),
        clay.as_array(),
        dpm_rpm.as_array(),
    );
    check_per_pixel("soc", &soc, check::INPUT).py()?;
    check_per_pixel("xi", &xi, check::NON_NEGATIVE).py()?;
    check_per_pixel("clay", &clay, check::CLAY).py()?;
    check_per_pixel("dpm_rpm", &dpm_rpm, check::NON_NEGATIVE).py()?;
    let n = soc.len();
    let out: Vec<(f64, Pools)> = (0..n)
        .map(|i| equilibrium::analytical_equilibrium(soc[i], xi[i], clay[i], dpm_rpm[i]))
        .collect();
    Ok((
        Array1::from_iter(out.iter().map(|o| o.0)).into_pyarray(py),
        Array2::from_shape_fn((n, 5), |(i, k)| out[i].1[k]).into_pyarray(py),
    ))
}

/// The compiled core of gsocseq.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(max_threads, m)?)?;
    m.add_function(wrap_pyfunction!(rate_modifiers, m)?)?;
    m.add_function(wrap_pyfunction!(spinup, m)?)?;
    m.add_function(wrap_pyfunction!(equilibrium_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(analytical_equilibrium, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::simulate, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::monte_carlo_draws, m)?)?;
    m.add_function(wrap_pyfunction!(fao::fao_xi, m)?)?;
    m.add_function(wrap_pyfunction!(gather::gather_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(gather::check_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(fao::fao_moisture, m)?)?;
    m.add_function(wrap_pyfunction!(fao::fao_analytical_spinup, m)?)?;
    m.add_function(wrap_pyfunction!(fao::fao_euler, m)?)?;
    m.add_function(wrap_pyfunction!(fao::miami_npp, m)?)?;
    pipeline::constants(m)?;
    error::register(m)
}
