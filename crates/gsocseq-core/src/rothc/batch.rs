//! RothC for many pixels at once (the array API, `gsocseq.rothc`): every per-month argument an
//! (n, months) view and every per-pixel argument an (n,) view, either possibly broadcast (zero
//! strides). Each driver checks the values against their accepted ranges in the same pass as
//! it runs (an error names the argument and the first offending pixel and month, in pixel
//! order), gives NaN outputs to a pixel with a value that is not finite (the others are not
//! affected), and stops between groups of pixels once `cancel` is set (the caller then drops
//! the outputs). [`run`] advances 16 pixels in step as the lanes of one kernel.

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{s, Array1, Array2, Array3, ArrayView1, ArrayView2, ShapeBuilder};

use super::equilibrium::{self, SpinupRule};
use super::forcing::{ForcingSeries, RateForcing};
use super::lanes::{self, LaneForcing, RunBuffers};
use super::modifiers::Soil;
use super::pools::Pools;
use super::step::{month_rate, MonthOutcome};
use super::water_retention::{MoistureFunction, MoistureOptions, SoilWater};
use crate::error::{CoreError, Result};
use crate::input::check::{self, Range};
use crate::parallel::{self, with_scratch, FirstError};

/// Pixels [`run`] advances in step (16: two AVX-512 vectors or four AVX2 vectors a quantity,
/// so that two or more independent dependency chains fill the pipelines).
pub const LANES: usize = 16;

/// The per-month forcing of n pixels, (n, months) views (see [`super::step::MonthForcing`]
/// for the meaning and units).
#[derive(Debug, Clone, Copy)]
pub struct PixelForcing<'a> {
    /// Mean air temperature, degrees C.
    pub temperature: ArrayView2<'a, f64>,
    /// Precipitation, mm.
    pub precipitation: ArrayView2<'a, f64>,
    /// Evaporation, mm.
    pub evaporation: ArrayView2<'a, f64>,
    /// Cover rate factor c.
    pub cover: ArrayView2<'a, f64>,
    /// Plant carbon input, t C/ha.
    pub plant_input: ArrayView2<'a, f64>,
    /// Farmyard manure carbon input, t C/ha.
    pub fym_input: ArrayView2<'a, f64>,
    /// DPM/RPM ratio of the plant input.
    pub dpm_rpm: ArrayView2<'a, f64>,
    /// Extra multiplier of the decomposition rate.
    pub rate_factor: ArrayView2<'a, f64>,
}

/// The per-pixel soil of n pixels: clay %, depth cm, the evaporation coefficient of all, and
/// the moisture function (ROTHC.md section 8) with, for its van Genuchten options, each
/// pixel's silt %, bulk density g/cm3 and organic carbon %.
#[derive(Debug, Clone, Copy)]
pub struct Sites<'a> {
    /// Clay, %.
    pub clay: ArrayView1<'a, f64>,
    /// Depth of the layer, cm.
    pub depth: ArrayView1<'a, f64>,
    /// Evaporation coefficient (0.75 open pan, 1.0 PET).
    pub evap_coefficient: f64,
    /// The moisture options (RothC-26.3 by default).
    pub moisture: MoistureOptions,
    /// Silt, bulk density and organic carbon, (n,) each, when the options need them.
    pub soil_water: Option<[ArrayView1<'a, f64>; 3]>,
}

impl<'a> Sites<'a> {
    /// The soil of n pixels with the moisture options given as `(model, bare_deficit,
    /// min_rate)` spelled as in a configuration ([`MoistureOptions::spelled`]; None:
    /// RothC-26.3). `soil_water` (silt, bulk density, organic carbon) is read by the van
    /// Genuchten options only, and only when all three are given.
    pub fn new(
        clay: ArrayView1<'a, f64>,
        depth: ArrayView1<'a, f64>,
        evap_coefficient: f64,
        moisture: Option<(&str, &str, f64)>,
        soil_water: [Option<ArrayView1<'a, f64>>; 3],
    ) -> Result<Self> {
        let moisture = match moisture {
            None => MoistureOptions::default(),
            Some((model, bare, rate)) => {
                MoistureOptions::spelled(Some(model), Some(bare), Some(rate))?
            }
        };
        let soil_water = match soil_water {
            [Some(s), Some(b), Some(o)] if moisture.model.uses_van_genuchten() => Some([s, b, o]),
            _ => None,
        };
        Ok(Sites {
            clay,
            depth,
            evap_coefficient,
            moisture,
            soil_water,
        })
    }
}

impl Sites<'_> {
    fn soil_water(&self, i: usize) -> Option<SoilWater> {
        self.soil_water.as_ref().map(|[silt, bd, oc]| SoilWater {
            clay: self.clay[i],
            silt: silt[i],
            bulk_density: bd[i],
            organic_carbon: oc[i],
        })
    }

    fn moisture_function(&self, i: usize) -> Result<MoistureFunction> {
        MoistureFunction::new(
            &self.moisture,
            self.clay[i],
            self.depth[i],
            self.soil_water(i).as_ref(),
            || format!("pixel {i}"),
        )
    }

    fn validate(&self) -> Result<()> {
        check_per_pixel("clay", &self.clay, check::CLAY)?;
        check_per_pixel("depth", &self.depth, check::DEPTH)?;
        if let Some(water) = &self.soil_water {
            for (argument, a) in ["silt", "bulk_density", "organic_carbon"]
                .into_iter()
                .zip(water)
            {
                if a.len() != self.clay.len() {
                    return Err(CoreError::shape(
                        argument,
                        format!("{} pixels, expected {}", a.len(), self.clay.len()),
                    ));
                }
            }
        }
        if !self.moisture.is_standard() {
            // the limits of every pixel (a value out of its range, or a missing input, is the
            // error of the first such pixel)
            for i in (0..self.clay.len()).filter(|&i| self.finite(i)) {
                self.moisture_function(i)?;
            }
        }
        Ok(())
    }

    fn finite(&self, i: usize) -> bool {
        let water = self
            .soil_water
            .as_ref()
            .is_none_or(|w| w.iter().all(|a| a[i].is_finite()));
        self.clay[i].is_finite() && self.depth[i].is_finite() && water
    }

    fn soil(&self, i: usize) -> Soil {
        if self.moisture.is_standard() {
            return Soil::new(self.clay[i], self.depth[i], self.evap_coefficient);
        }
        // checked by `validate`: only a pixel with a value that is not finite gets NaN limits
        let moisture = self.moisture_function(i).unwrap_or(MoistureFunction::NAN);
        Soil::with_moisture(self.clay[i], self.depth[i], self.evap_coefficient, moisture)
    }
}

/// Every value of a per-pixel argument within `range` (the first one outside is the error).
fn check_per_pixel(name: &'static str, a: &ArrayView1<'_, f64>, range: Range) -> Result<()> {
    for (i, &v) in a.iter().enumerate() {
        range.check(name, v, || format!("pixel {i}"))?;
    }
    Ok(())
}

/// Per-thread copies of the strided forcing rows of one pixel.
#[derive(Default)]
struct RowBuffers {
    rows: [Vec<f64>; 8],
    /// Whether the row holds a broadcast value (kept while the value does not change).
    constant: [bool; 8],
}

/// A zero for inputs that do not enter a computation (broadcast to any shape).
static ZERO: [f64; 1] = [0.0];

impl<'a> PixelForcing<'a> {
    /// The forcing of the climate, cover and rate factor given, and of the plant input, FYM
    /// input and DPM/RPM ratio given (`inputs`, zeros for those not given: the inputs do not
    /// enter [`rate_modifiers`], and [`equilibrium_inputs`] computes the plant input).
    pub fn new(
        [temperature, precipitation, evaporation, cover, rate_factor]: [ArrayView2<'a, f64>; 5],
        [plant_input, fym_input, dpm_rpm]: [Option<ArrayView2<'a, f64>>; 3],
    ) -> PixelForcing<'a> {
        let (n, months) = temperature.dim();
        let zeros = ArrayView2::from_shape((n, months).strides((0, 0)), &ZERO[..])
            .expect("one value at every position");
        PixelForcing {
            temperature,
            precipitation,
            evaporation,
            cover,
            plant_input: plant_input.unwrap_or(zeros),
            fym_input: fym_input.unwrap_or(zeros),
            dpm_rpm: dpm_rpm.unwrap_or(zeros),
            rate_factor,
        }
    }

    fn named(&self) -> [(&'static str, &ArrayView2<'a, f64>, Range); 8] {
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

    /// Pixels (rows).
    pub fn pixels(&self) -> usize {
        self.temperature.nrows()
    }

    /// Months (columns).
    pub fn months(&self) -> usize {
        self.temperature.ncols()
    }

    /// Whether every argument is (n, months) like the temperature.
    fn check_shapes(&self) -> Result<()> {
        let dim = self.temperature.dim();
        for (name, view, _) in self.named() {
            if view.dim() != dim {
                return Err(CoreError::shape(
                    name,
                    format!("shape {:?}, expected {dim:?}", view.shape()),
                ));
            }
        }
        Ok(())
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
    ) -> Result<Option<ForcingSeries<'s>>> {
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
        Ok(finite.then_some(ForcingSeries {
            climate: RateForcing {
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

    /// Runs `body(i, forcing, output)` for every pixel `i` and its output item, in parallel,
    /// `forcing` None when a value of the pixel is not finite. Returns the first out-of-range
    /// value in pixel order (the pixels of the other outputs are computed all the same).
    fn each_pixel<O: Send>(
        &self,
        outputs: Vec<O>,
        body: impl Fn(usize, Option<&ForcingSeries<'_>>, O) + Sync + Send,
    ) -> Result<()> {
        let first = FirstError::default();
        let items: Vec<(usize, O)> = outputs.into_iter().enumerate().collect();
        parallel::for_each(items, |(i, out)| {
            with_scratch(|rows: &mut RowBuffers| match self.load(i, rows) {
                Ok(series) => body(i, series.as_ref(), out),
                Err(e) => first.record(i, e),
            })
        });
        first.into_result()
    }
}

/// What [`run`] computes: pools (n, 5) t C/ha and deficit (n,) mm at the end, the CO2-C
/// released over the run (n,) t C/ha and, with a trajectory, the pools (n, months, 5) and
/// CO2-C (n, months) of every month.
pub type RunOutput = (
    Array2<f64>,
    Array1<f64>,
    Array1<f64>,
    Option<Array3<f64>>,
    Option<Array2<f64>>,
);

/// (n, 5) pools of n pixels.
fn pools_array(pools: impl Iterator<Item = Pools>) -> Array2<f64> {
    let flat: Vec<f64> = pools.flat_map(|p| p.into_iter()).collect();
    Array2::from_shape_vec((flat.len() / 5, 5), flat).expect("n x 5")
}

/// Per-thread buffers of [`run`]: forcing rows, the lanes kernel's month-major forcing, the
/// observed run's rates of the lanes and of a single pixel.
type RunScratch = (
    [RowBuffers; LANES],
    LaneForcing<LANES>,
    RunBuffers<LANES>,
    RunBuffers,
);

/// RothC over `months` months for n pixels from `pools` (n, 5) and deficits `tsmd` (n,): groups
/// of [`LANES`] pixels in step, with the fused kernel when no month is observed and every pixel
/// of the group is finite (the next group's forcing prefetched meanwhile), the observed lanes
/// with a `trajectory`, pixel by pixel otherwise; every path gives the same bits.
pub fn run(
    pools: ArrayView2<'_, f64>,
    forcing: &PixelForcing<'_>,
    sites: &Sites<'_>,
    tsmd: ArrayView1<'_, f64>,
    trajectory: bool,
    cancel: &AtomicBool,
) -> Result<RunOutput> {
    forcing.check_shapes()?;
    let (n, months) = (forcing.pixels(), forcing.months());
    if pools.dim() != (n, 5) {
        let found = pools.shape();
        return Err(CoreError::shape(
            "pools",
            format!("shape {found:?}, expected ({n}, 5)"),
        ));
    }
    let f = forcing;
    sites.validate()?;
    check_per_pixel("tsmd", &tsmd, check::TSMD)?;
    let mut out_pools = vec![0.0; n * 5];
    let mut out_tsmd = vec![0.0; n];
    let mut out_co2 = vec![0.0; n];
    let traj_len = if trajectory { months } else { 0 };
    // Without a trajectory the buffers hold one unused value per pixel.
    let (chunk, chunk_co2) = ((traj_len * 5).max(1), traj_len.max(1));
    let mut monthly = vec![0.0; n * chunk];
    let mut monthly_co2 = vec![0.0; n * chunk_co2];
    let first = FirstError::default();
    let groups: Vec<_> = out_pools
        .chunks_mut(5 * LANES)
        .zip(out_tsmd.chunks_mut(LANES))
        .zip(out_co2.chunks_mut(LANES))
        .zip(monthly.chunks_mut(chunk * LANES))
        .zip(monthly_co2.chunks_mut(chunk_co2 * LANES))
        .enumerate()
        .collect();
    parallel::for_each(
        groups,
        |(g, ((((p_out, t_out), c_out), traj), traj_co2))| {
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            with_scratch(|scratch: &mut RunScratch| {
                let (rows, lanes_in, buffers, single) = scratch;
                let i0 = g * LANES;
                let mut ok = [false; LANES];
                let mut series = [ForcingSeries::EMPTY; LANES];
                let mut pools0 = [[f64::NAN; 5]; LANES];
                let mut acc = [f64::NAN; LANES];
                let mut soils = [Soil::new(0.0, 1.0, sites.evap_coefficient); LANES];
                let lanes = t_out.len();
                for (l, rows) in rows.iter_mut().enumerate().take(lanes) {
                    let i = i0 + l;
                    match f.load(i, rows) {
                        Ok(Some(forcing)) => {
                            let row = pools.row(i);
                            pools0[l] = [row[0], row[1], row[2], row[3], row[4]];
                            acc[l] = tsmd[i];
                            ok[l] = sites.finite(i)
                                && acc[l].is_finite()
                                && pools0[l].iter().all(|v| v.is_finite());
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
                    // the next group's forcing comes from memory meanwhile
                    let upcoming = f.contiguous_rows(i0 + LANES..i0 + 2 * LANES);
                    lanes::run_lanes_final_prefetching(
                        &mut pools0,
                        &mut acc,
                        &soils,
                        &series,
                        lanes_in,
                        &upcoming,
                    )
                } else if ok.iter().all(|&ok| ok) {
                    lanes::run_lanes(
                        &mut pools0,
                        &mut acc,
                        &soils,
                        &series,
                        buffers,
                        &mut observe,
                    )
                } else {
                    let mut co2 = [f64::NAN; LANES];
                    for l in (0..lanes).filter(|&l| ok[l]) {
                        co2[l] = lanes::run(
                            &mut pools0[l],
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
                        p_out[5 * l..5 * l + 5].copy_from_slice(&pools0[l]);
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
        },
    );
    first.into_result()?;
    let shape = |v, dim| Array2::from_shape_vec(dim, v).expect("pixels x values");
    Ok((
        shape(out_pools, (n, 5)),
        Array1::from_vec(out_tsmd),
        Array1::from_vec(out_co2),
        trajectory.then(|| Array3::from_shape_vec((n, months, 5), monthly).expect("n x m x 5")),
        trajectory.then(|| shape(monthly_co2, (n, months))),
    ))
}

/// The rate modifiers of every month of n pixels from deficits `tsmd`: a, b, c, rate and the
/// deficit after the month, each (n, months) (the inputs of `forcing` do not enter).
pub fn rate_modifiers(
    forcing: &PixelForcing<'_>,
    sites: &Sites<'_>,
    tsmd: ArrayView1<'_, f64>,
) -> Result<[Array2<f64>; 5]> {
    forcing.check_shapes()?;
    let (n, months) = (forcing.pixels(), forcing.months());
    sites.validate()?;
    check_per_pixel("tsmd", &tsmd, check::TSMD)?;
    let mut out = vec![[0.0f64; 5]; n * months];
    let rows: Vec<&mut [[f64; 5]]> = out.chunks_mut(months.max(1)).collect();
    forcing.each_pixel(rows, |i, series, row| match series {
        Some(series) if sites.finite(i) && tsmd[i].is_finite() => {
            let soil = sites.soil(i);
            let mut acc = tsmd[i];
            for (m, cell) in row.iter_mut().enumerate() {
                let o = month_rate(&soil, &mut acc, &series.month(m));
                *cell = [o.a, o.b, o.c, o.rate, o.tsmd];
            }
        }
        _ => row.fill([f64::NAN; 5]),
    })?;
    let take = |k| Array2::from_shape_fn((n, months), |(i, m)| out[i * months + m][k]);
    Ok([take(0), take(1), take(2), take(3), take(4)])
}

/// What [`spinup`] gives: pools (n, 5), deficit (n,), months (n,) of the iterative rule.
pub type Spinup = (Array2<f64>, Array1<f64>, Option<Array1<i64>>);

/// The spin-up of n pixels over one 12-month year by `rule`, with inert pools `iom` (t C/ha):
/// pools (n, 5), deficit carried into January (n,) and months run by the iterative rule (n,;
/// None for the equilibrium rule, which runs none).
pub fn spinup(
    rule: SpinupRule,
    forcing: &PixelForcing<'_>,
    sites: &Sites<'_>,
    iom: ArrayView1<'_, f64>,
    cancel: &AtomicBool,
) -> Result<Spinup> {
    forcing.check_shapes()?;
    sites.validate()?;
    check_per_pixel("iom", &iom, check::INPUT)?;
    let mut out: Vec<(Pools, f64, i64)> = vec![([f64::NAN; 5], f64::NAN, 0); forcing.pixels()];
    let none = FirstError::default();
    forcing.each_pixel(out.iter_mut().collect(), |i, series, o| {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        if let Some(series) = series.filter(|_| sites.finite(i) && iom[i].is_finite()) {
            let soil = sites.soil(i);
            let year = |m: usize| series.month(m);
            // no equilibrium: an error (the iterative rule would run a million years first)
            if let Err(e) = equilibrium::check_decomposes(&soil, &year, || format!("pixel {i}")) {
                return none.record(i, e);
            }
            let s = match rule {
                SpinupRule::RothamstedIterative => equilibrium::iterative(&soil, &year, iom[i]),
                SpinupRule::Equilibrium => equilibrium::equilibrium(&soil, &year, iom[i]),
            };
            *o = (s.pools, s.tsmd, s.count as i64);
        }
    })?;
    none.into_result()?;
    let iterative = rule == SpinupRule::RothamstedIterative;
    Ok((
        pools_array(out.iter().map(|o| o.0)),
        out.iter().map(|o| o.1).collect(),
        iterative.then(|| out.iter().map(|o| o.2).collect()),
    ))
}

/// The plant input (t C/ha/yr, 1/12 a month) that holds `soc` (t C/ha) of each of n pixels at
/// the exact discrete equilibrium of its 12-month forcing: annual input (n,), pools (n, 5) and
/// periodic year-end deficit (n,). The plant input of `forcing` is not used.
pub fn equilibrium_inputs(
    soc: ArrayView1<'_, f64>,
    forcing: &PixelForcing<'_>,
    sites: &Sites<'_>,
) -> Result<(Array1<f64>, Array2<f64>, Array1<f64>)> {
    forcing.check_shapes()?;
    sites.validate()?;
    check_per_pixel("soc", &soc, check::INPUT)?;
    let mut out = vec![(f64::NAN, [f64::NAN; 5], f64::NAN); forcing.pixels()];
    let none = FirstError::default();
    forcing.each_pixel(out.iter_mut().collect(), |i, series, o| {
        if let Some(series) = series.filter(|_| sites.finite(i) && soc[i].is_finite()) {
            let soil = sites.soil(i);
            let year = |m: usize| series.month(m);
            let (annual, pools, tsmd, _) = equilibrium::equilibrium_inputs(&soil, &year, soc[i]);
            // a finite input has an equilibrium: the rule only looks at the others
            if !annual.is_finite() {
                if let Err(e) = equilibrium::check_decomposes(&soil, &year, || format!("pixel {i}"))
                {
                    return none.record(i, e);
                }
            }
            *o = (annual, pools, tsmd);
        }
    })?;
    none.into_result()?;
    Ok((
        out.iter().map(|o| o.0).collect(),
        pools_array(out.iter().map(|o| o.1)),
        out.iter().map(|o| o.2).collect(),
    ))
}

/// The continuous equilibrium of Dechow et al. (2019) of each of n pixels, as FAO v1.2 script
/// 11 computes it: annual input (n,) t C/ha/yr and pools (n, 5) t C/ha.
pub fn analytical_equilibrium(
    soc: ArrayView1<'_, f64>,
    xi: ArrayView1<'_, f64>,
    clay: ArrayView1<'_, f64>,
    dpm_rpm: ArrayView1<'_, f64>,
) -> Result<(Array1<f64>, Array2<f64>)> {
    let n = soc.len();
    for (name, a) in [("xi", &xi), ("clay", &clay), ("dpm_rpm", &dpm_rpm)] {
        if a.len() != n {
            return Err(CoreError::shape(
                name,
                format!("{} values, expected {n}", a.len()),
            ));
        }
    }
    check_per_pixel("soc", &soc, check::INPUT)?;
    check_per_pixel("xi", &xi, check::NON_NEGATIVE)?;
    check_per_pixel("clay", &clay, check::CLAY)?;
    check_per_pixel("dpm_rpm", &dpm_rpm, check::NON_NEGATIVE)?;
    if let Some(i) = xi.iter().position(|&x| x == 0.0) {
        return Err(CoreError::NoEquilibrium {
            location: format!("pixel {i}"),
            cause: equilibrium::ZERO_XI,
        });
    }
    let out: Vec<(f64, Pools)> = (0..n)
        .map(|i| equilibrium::analytical_equilibrium(soc[i], xi[i], clay[i], dpm_rpm[i]))
        .collect();
    Ok((
        out.iter().map(|o| o.0).collect(),
        pools_array(out.iter().map(|o| o.1)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rothc::forcing::ForcingTable;
    use crate::rothc::step::MonthForcing;
    use ndarray::{Array1, Array2};

    fn month(i: usize, m: usize) -> MonthForcing {
        MonthForcing {
            temperature: -3.0 + 2.7 * ((m + 5 * i) % 13) as f64,
            precipitation: 8.0 + 15.0 * ((m + i) % 7) as f64,
            evaporation: 4.0 + 19.0 * ((m * (i + 1)) % 5) as f64,
            cover: if (m + i).is_multiple_of(4) { 1.0 } else { 0.6 },
            plant_input: 0.02 * ((m + i) % 9) as f64,
            fym_input: if i % 5 == 2 { 0.05 } else { 0.0 },
            dpm_rpm: 1.44,
            rate_factor: if i % 7 == 3 { 0.4 } else { 1.0 },
        }
    }

    /// (n, months) columns of `month(i, m)`.
    fn columns(n: usize, months: usize) -> [Array2<f64>; 8] {
        let column = |f: fn(&MonthForcing) -> f64| {
            Array2::from_shape_fn((n, months), |(i, m)| f(&month(i, m)))
        };
        [
            column(|f| f.temperature),
            column(|f| f.precipitation),
            column(|f| f.evaporation),
            column(|f| f.cover),
            column(|f| f.plant_input),
            column(|f| f.fym_input),
            column(|f| f.dpm_rpm),
            column(|f| f.rate_factor),
        ]
    }

    fn forcing(c: &[Array2<f64>; 8]) -> PixelForcing<'_> {
        PixelForcing {
            temperature: c[0].view(),
            precipitation: c[1].view(),
            evaporation: c[2].view(),
            cover: c[3].view(),
            plant_input: c[4].view(),
            fym_input: c[5].view(),
            dpm_rpm: c[6].view(),
            rate_factor: c[7].view(),
        }
    }

    #[test]
    fn groups_of_lanes_give_the_bits_of_pixels_run_alone() {
        // 37 pixels: two full groups of 16 and a tail of 5; pixel 20 has a NaN month (its
        // group runs pixel by pixel), with and without the monthly trajectory
        let (n, months) = (37, 60);
        let mut c = columns(n, months);
        c[0][[20, 7]] = f64::NAN;
        let pools =
            Array2::from_shape_fn((n, 5), |(i, k)| [0.5, 6.0, 0.8, 30.0, 3.0][k] + i as f64);
        let clay = Array1::from_shape_fn(n, |i| 5.0 + 2.0 * i as f64);
        let depth = Array1::from_elem(n, 23.0);
        let tsmd = Array1::from_shape_fn(n, |i| -(i as f64));
        let sites = Sites {
            clay: clay.view(),
            depth: depth.view(),
            evap_coefficient: 0.75,
            moisture: Default::default(),
            soil_water: None,
        };
        let never = AtomicBool::new(false);
        for trajectory in [false, true] {
            let out = run(
                pools.view(),
                &forcing(&c),
                &sites,
                tsmd.view(),
                trajectory,
                &never,
            )
            .unwrap();
            for i in 0..n {
                let table: ForcingTable = (0..months)
                    .map(|m| MonthForcing {
                        temperature: c[0][[i, m]],
                        ..month(i, m)
                    })
                    .collect();
                let (mut p, mut t) = ([0.0; 5], tsmd[i]);
                p.copy_from_slice(pools.row(i).as_slice().unwrap());
                let soil = Soil::new(clay[i], depth[i], 0.75);
                let co2 = lanes::run(
                    &mut p,
                    &mut t,
                    &soil,
                    &table.series(),
                    &mut RunBuffers::default(),
                    |_, _, _| {},
                );
                let got = out.0.row(i).to_vec();
                if i == 20 {
                    assert!(got.iter().all(|v| v.is_nan()) && out.2[i].is_nan());
                    continue;
                }
                assert_eq!(got, &p[..], "pixel {i}");
                assert_eq!((out.1[i], out.2[i]), (t, co2), "pixel {i}");
            }
            assert_eq!(out.3.is_some(), trajectory);
        }
    }

    #[test]
    fn the_first_bad_value_in_pixel_order_is_the_error() {
        let (n, months) = (40, 12);
        let mut c = columns(n, months);
        c[3][[33, 2]] = 1.5; // cover of pixel 33
        c[4][[17, 9]] = -0.5; // plant input of pixel 17: reported first
        let pools = Array2::from_elem((n, 5), 1.0);
        let (clay, depth, tsmd) = (
            Array1::from_elem(n, 20.0),
            Array1::from_elem(n, 23.0),
            Array1::zeros(n),
        );
        let sites = Sites {
            clay: clay.view(),
            depth: depth.view(),
            evap_coefficient: 0.75,
            moisture: Default::default(),
            soil_water: None,
        };
        let e = run(
            pools.view(),
            &forcing(&c),
            &sites,
            tsmd.view(),
            false,
            &AtomicBool::new(false),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "plant_input: value -0.5 at pixel 17, month 9 is outside >= 0 t C/ha"
        );
        // a cancelled run stops before any group
        c[4][[17, 9]] = 0.1;
        c[3][[33, 2]] = 0.6;
        let out = run(
            pools.view(),
            &forcing(&c),
            &sites,
            tsmd.view(),
            false,
            &AtomicBool::new(true),
        )
        .unwrap();
        assert!(out.0.iter().all(|&v| v == 0.0));
        // shapes that disagree
        let short = Array2::<f64>::zeros((n, 11));
        let mut f = forcing(&c);
        f.cover = short.view();
        let e = run(
            pools.view(),
            &f,
            &sites,
            tsmd.view(),
            false,
            &AtomicBool::new(false),
        )
        .unwrap_err();
        assert!(
            matches!(e, CoreError::Shape { ref argument, .. } if argument == "cover"),
            "{e}"
        );
    }

    #[test]
    fn sites_read_the_soil_water_with_the_van_genuchten_options_only() {
        use crate::rothc::water_retention::MoistureModel;
        let (clay, depth, silt) = ([20.0, 30.0], [30.0, 30.0], [40.0, 35.0]);
        let v = |a: &[f64; 2]| ndarray::ArrayView1::from(&a[..]).to_owned();
        let (c, d, s) = (v(&clay), v(&depth), v(&silt));
        let all = [Some(s.view()), Some(s.view()), Some(s.view())];
        let standard = Sites::new(c.view(), d.view(), 0.75, None, all).unwrap();
        assert!(standard.moisture.is_standard() && standard.soil_water.is_none());
        assert_eq!(standard.evap_coefficient, 0.75);
        let dry = Some(("farina-3", "wilting-point", 0.1));
        let farina = Sites::new(c.view(), d.view(), 1.0, dry, all).unwrap();
        assert_eq!(farina.moisture.model, MoistureModel::Farina3);
        assert_eq!(farina.soil_water(1).unwrap().silt, 35.0);
        let two = [Some(s.view()), None, Some(s.view())];
        assert!(Sites::new(c.view(), d.view(), 1.0, dry, two)
            .unwrap()
            .soil_water
            .is_none());
        let e = Sites::new(c.view(), d.view(), 1.0, Some(("wet", "standard", 0.2)), all);
        assert!(matches!(
            e,
            Err(CoreError::UnknownOption {
                argument: "moisture",
                ..
            })
        ));
    }
}
