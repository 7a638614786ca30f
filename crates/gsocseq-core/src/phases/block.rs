//! A block of n pixels (a window of the pipeline, a table of sites, arrays of a user): every
//! phase of every pixel ([`simulate_block`]), the pixels in batches of [`BATCH`] (their chains
//! in the lanes of the core's kernels), the batches on rayon's threads, each thread with its
//! workspace kept from call to call. The forward climate of a pixel without forward layers is
//! the monthly mean of its warm-up series
//! ([`forward_climatology`](super::forward::forward_climatology)).

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2, Array3, Array4, ArrayView1, ArrayView2, CowArray, Dimension, Ix2};

use super::chain::{simulate_pixels, Workspace, BATCH};
use super::classes::ClassTable;
use super::forward::forward_climatologies;
use super::options::{
    final_len, mc_len, steady_len, Calibration, ChainOutput, Mode, Options, PixelInput,
    PixelOutput, PixelRefinements, WarmupInputs, MAX_WARMUP_YEARS,
};
use crate::error::{CoreError, Result};
use crate::input::series::{Series, SeriesColumn};
use crate::parallel::{self, with_scratch};
use crate::rothc::pools::Pools;
use crate::rothc::water_retention::SoilWaterInput;

type F1<'a> = ArrayView1<'a, f64>;
type F2<'a> = ArrayView2<'a, f64>;

/// The inputs of n pixels, one field per quantity (see [`PixelInput`] for the meaning and
/// units): per-pixel values (n,), monthly values (n, 12), warm-up classes and DPM/RPM ratios
/// (n, Y), reference NPP (n, 3: central, min, max). Any layout (an array whose rows are not
/// contiguous is copied once).
#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    /// SOC, t C/ha.
    pub soc: F1<'a>,
    /// Clay, %.
    pub clay: F1<'a>,
    /// Relative SOC uncertainty (0.2 = 20 %).
    pub soc_uncertainty: F1<'a>,
    /// Relative clay uncertainty.
    pub clay_uncertainty: F1<'a>,
    /// Cover factors of the spin-up (n, 12).
    pub spinup_cover: F2<'a>,
    /// Cover factors of the warm-up (n, 12).
    pub warmup_cover: F2<'a>,
    /// Cover factors of the forward runs (n, 12).
    pub forward_cover: F2<'a>,
    /// Spin-up climatology: temperature (n, 12).
    pub spinup_temperature: F2<'a>,
    /// Spin-up climatology: precipitation (n, 12).
    pub spinup_precipitation: F2<'a>,
    /// Spin-up climatology: PET (n, 12).
    pub spinup_pet: F2<'a>,
    /// Land-use class of the spin-up.
    pub spinup_class: ArrayView1<'a, u8>,
    /// DPM/RPM ratio of the spin-up.
    pub spinup_dpm_rpm: F1<'a>,
    /// Warm-up monthly temperature (n x 12 Y).
    pub warmup_temperature: SeriesColumn<'a>,
    /// Warm-up monthly precipitation (n x 12 Y).
    pub warmup_precipitation: SeriesColumn<'a>,
    /// Warm-up monthly PET (n x 12 Y).
    pub warmup_pet: SeriesColumn<'a>,
    /// Land-use class of each warm-up year (n, Y).
    pub warmup_class: ArrayView2<'a, u8>,
    /// DPM/RPM ratio of each warm-up year (n, Y).
    pub warmup_dpm_rpm: F2<'a>,
    /// Forward climatology: temperature (n, 12); None: [`forward_climatology`](super::forward::forward_climatology).
    pub forward_temperature: Option<F2<'a>>,
    /// Forward climatology: precipitation (n, 12); None: [`forward_climatology`](super::forward::forward_climatology).
    pub forward_precipitation: Option<F2<'a>>,
    /// Forward climatology: PET (n, 12); None: [`forward_climatology`](super::forward::forward_climatology).
    pub forward_pet: Option<F2<'a>>,
    /// Land-use class of the forward runs.
    pub forward_class: ArrayView1<'a, u8>,
    /// DPM/RPM ratio of the forward runs.
    pub forward_dpm_rpm: F1<'a>,
    /// Reference NPP before the land-use coefficient (n, 3), t C/ha/yr.
    pub npp_reference: F2<'a>,
    /// The 1981-2000 monthly temperature (degrees C), (n, 12 R), when given with the
    /// precipitation: the climate that a Monte Carlo draw's reference NPP follows (else the
    /// warm-up series).
    pub reference_temperature: Option<F2<'a>>,
    /// The 1981-2000 monthly precipitation (mm), (n, 12 R): with the temperature or not at all.
    pub reference_precipitation: Option<F2<'a>>,
    /// The position of each pixel in the grid (row x width + column), the seed of its Monte
    /// Carlo draws.
    pub pixel_id: ArrayView1<'a, u64>,
    /// Silt, %: with the bulk density, needed by the dryland moisture options
    /// ([`Options::moisture`]), else not read.
    pub silt: Option<F1<'a>>,
    /// Bulk density, g/cm3 (see `silt`).
    pub bulk_density: Option<F1<'a>>,
    /// Organic carbon, % (dryland moisture options); None: each chain's SOC / (bulk density x
    /// depth).
    pub organic_carbon: Option<F1<'a>>,
    /// Calibrated multiplier of the plant inputs after the spin-up (Rothamsted mode); None: 1.
    pub calibration_input: Option<F1<'a>>,
    /// Calibrated multiplier of the decomposition rates (Rothamsted mode); None: 1.
    pub calibration_rate: Option<F1<'a>>,
    /// The pixels' values of the scenario settings given per pixel (n, columns: at least the
    /// columns [`Options::practices`] read; NaN: BAU's value); None: no setting per pixel.
    pub scenario_values: Option<F2<'a>>,
    /// A forward climate series (METHOD.md section 10): temperature, degrees C (n, 12 H, H
    /// at least the longest horizon); with the precipitation and PET or not at all. The forward
    /// runs are then stepped month by month.
    pub forward_series_temperature: Option<F2<'a>>,
    /// A forward climate series: precipitation, mm (n, 12 H).
    pub forward_series_precipitation: Option<F2<'a>>,
    /// A forward climate series: PET, mm (n, 12 H).
    pub forward_series_pet: Option<F2<'a>>,
    /// NPP of each warm-up year, t C/ha/yr (n, Y): replaces MIAMI in the warm-up's scaling.
    pub warmup_npp: Option<F2<'a>>,
    /// Carbon input of each warm-up year, t C/ha/yr (n, Y), used as given (not with
    /// `warmup_npp`).
    pub warmup_carbon_input: Option<F2<'a>>,
}

/// A field of a [`Block`] with contiguous rows, pixel after pixel.
type Rows<'a, T, D> = CowArray<'a, T, D>;

/// `a` with contiguous rows: itself, or a copy in row-major order (`to_owned` would keep a
/// Fortran order).
fn rows<T: Clone, D: Dimension>(a: ndarray::ArrayView<'_, T, D>) -> Rows<'_, T, D> {
    if a.is_standard_layout() {
        CowArray::from(a)
    } else {
        CowArray::from(a.as_standard_layout().into_owned())
    }
}

/// The values of a standard-layout array.
fn values<'s, T, D: Dimension>(a: &'s Rows<'_, T, D>) -> &'s [T] {
    a.as_slice().expect("a standard layout")
}

impl Block<'_> {
    /// Pixels of the block.
    pub fn len(&self) -> usize {
        self.soc.len()
    }

    /// True for a block of no pixels.
    pub fn is_empty(&self) -> bool {
        self.soc.is_empty()
    }

    /// The warm-up years Y, after checking that every field is of its shape for n pixels (an
    /// error names the first one that is not), that there are 1 to 128 years, that the soil
    /// water of `opts`' moisture option is given and calibration only in Rothamsted mode.
    pub fn check(&self, opts: &Options) -> Result<usize> {
        let (n, years) = (self.len(), self.warmup_class.ncols());
        if !(1..=MAX_WARMUP_YEARS).contains(&years) {
            return Err(CoreError::shape(
                "warmup_class",
                format!("{years} warm-up years, expected 1 to {MAX_WARMUP_YEARS}"),
            ));
        }
        let expect = |name: &str, found: &[usize], expected: &[usize]| {
            if found == expected {
                return Ok(());
            }
            Err(CoreError::shape(
                name,
                format!("shape {found:?}, expected {expected:?}"),
            ))
        };
        for (name, found) in [
            ("clay", self.clay.shape()),
            ("soc_uncertainty", self.soc_uncertainty.shape()),
            ("clay_uncertainty", self.clay_uncertainty.shape()),
            ("spinup_class", self.spinup_class.shape()),
            ("spinup_dpm_rpm", self.spinup_dpm_rpm.shape()),
            ("forward_class", self.forward_class.shape()),
            ("forward_dpm_rpm", self.forward_dpm_rpm.shape()),
            ("pixel_id", self.pixel_id.shape()),
        ] {
            expect(name, found, &[n])?;
        }
        for (name, found) in [
            ("silt", self.silt),
            ("bulk_density", self.bulk_density),
            ("organic_carbon", self.organic_carbon),
            ("calibration_input", self.calibration_input),
            ("calibration_rate", self.calibration_rate),
        ] {
            if let Some(a) = found {
                expect(name, a.shape(), &[n])?;
            }
        }
        let model = opts.moisture.model;
        if model.uses_van_genuchten() && (self.silt.is_none() || self.bulk_density.is_none()) {
            return Err(CoreError::shape(
                "silt and bulk_density",
                format!(
                    "needed by moisture {:?} (silt %, bulk density g/cm3)",
                    model.name()
                ),
            ));
        }
        let calibrated = self.calibration_input.is_some() || self.calibration_rate.is_some();
        if calibrated && opts.mode != Mode::Rothamsted {
            return Err(CoreError::shape(
                "calibration_input, calibration_rate",
                "rothamsted mode only",
            ));
        }
        let reference_months = self.reference_temperature.map_or(0, |a| a.ncols());
        for (name, found, cols) in [
            ("spinup_cover", Some(self.spinup_cover), 12),
            ("warmup_cover", Some(self.warmup_cover), 12),
            ("forward_cover", Some(self.forward_cover), 12),
            ("spinup_temperature", Some(self.spinup_temperature), 12),
            ("spinup_precipitation", Some(self.spinup_precipitation), 12),
            ("spinup_pet", Some(self.spinup_pet), 12),
            ("warmup_dpm_rpm", Some(self.warmup_dpm_rpm), years),
            ("npp_reference", Some(self.npp_reference), 3),
            ("forward_temperature", self.forward_temperature, 12),
            ("forward_precipitation", self.forward_precipitation, 12),
            ("forward_pet", self.forward_pet, 12),
            (
                "reference_precipitation",
                self.reference_precipitation,
                reference_months,
            ),
        ] {
            if let Some(a) = found {
                expect(name, a.shape(), &[n, cols])?;
            }
        }
        expect("warmup_class", self.warmup_class.shape(), &[n, years])?;
        match (self.reference_temperature, self.reference_precipitation) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(CoreError::shape(
                    "reference_temperature and reference_precipitation",
                    "give both or neither",
                ))
            }
            (Some(t), _) if t.nrows() != n || !reference_months.is_multiple_of(12) => {
                return Err(CoreError::shape(
                    "reference_temperature",
                    format!("shape {:?}, expected ({n}, 12 per year)", t.shape()),
                ))
            }
            _ => {}
        }
        self.check_refinements(opts, years)?;
        for (name, series) in [
            ("warmup_temperature", &self.warmup_temperature),
            ("warmup_precipitation", &self.warmup_precipitation),
            ("warmup_pet", &self.warmup_pet),
        ] {
            series.expect(name, n, 12 * years)?;
        }
        Ok(years)
    }
}

impl Block<'_> {
    /// The fields of the country refinements (METHOD.md section 10): the scenario values of
    /// the per-pixel settings of `opts`' practices, a forward series of 12 months a year for
    /// at least the longest horizon (all three quantities or none), warm-up NPP or carbon
    /// inputs (one or neither) of Y years.
    fn check_refinements(&self, opts: &Options, years: usize) -> Result<()> {
        let n = self.len();
        let needed = (opts.practices.iter().map(|p| p.columns_end()).max()).unwrap_or(0);
        match self.scenario_values {
            Some(v) if v.nrows() != n || v.ncols() < needed => {
                return Err(CoreError::shape(
                    "scenario_values",
                    format!(
                        "shape {:?}, expected ({n}, >= {needed}) values of the per-pixel \
                         settings",
                        v.shape()
                    ),
                ))
            }
            None if needed > 0 => {
                return Err(CoreError::shape(
                    "scenario_values",
                    format!("the practices read {needed} values a pixel; none given"),
                ))
            }
            _ => {}
        }
        let series = [
            self.forward_series_temperature,
            self.forward_series_precipitation,
            self.forward_series_pet,
        ];
        match series {
            [None, None, None] => {}
            [Some(t), Some(_), Some(_)] => {
                let months = t.ncols();
                let needed = 12 * opts.horizons.last().copied().unwrap_or(0);
                if !months.is_multiple_of(12) || months < needed {
                    return Err(CoreError::shape(
                        "forward_series_temperature",
                        format!(
                            "{months} months, expected 12 per year and at least {needed} (the \
                             longest horizon)"
                        ),
                    ));
                }
                for (name, a) in [
                    "forward_series_temperature",
                    "forward_series_precipitation",
                    "forward_series_pet",
                ]
                .into_iter()
                .zip(series.into_iter().flatten())
                {
                    if a.shape() != [n, months] {
                        return Err(CoreError::shape(
                            name,
                            format!("shape {:?}, expected [{n}, {months}]", a.shape()),
                        ));
                    }
                }
            }
            _ => {
                return Err(CoreError::shape(
                    "forward_series_temperature, _precipitation, _pet",
                    "give all three or none",
                ))
            }
        }
        if self.warmup_npp.is_some() && self.warmup_carbon_input.is_some() {
            return Err(CoreError::shape(
                "warmup_npp and warmup_carbon_input",
                "give one or neither",
            ));
        }
        for (name, a) in [
            ("warmup_npp", self.warmup_npp),
            ("warmup_carbon_input", self.warmup_carbon_input),
        ] {
            if let Some(a) = a.filter(|a| a.shape() != [n, years]) {
                return Err(CoreError::shape(
                    name,
                    format!("shape {:?}, expected [{n}, {years}]", a.shape()),
                ));
            }
        }
        Ok(())
    }
}

/// What [`simulate_block`] gives for n pixels: the chains and flags of each pixel, and its
/// final stocks ([`final_len`] values a pixel, t C/ha), years to steady state ([`steady_len`])
/// and Monte Carlo statistics ([`mc_len`]), pixel after pixel.
#[derive(Debug, Clone, Default)]
pub struct BlockOutput {
    /// The chains and flags of each pixel.
    pub pixels: Vec<PixelOutput>,
    /// Final total SOC, `[pixel][horizon][scenario][run]`, t C/ha.
    pub final_soc: Vec<f64>,
    /// Years to the new steady state, `[pixel][scenario]`.
    pub steady: Vec<f64>,
    /// Monte Carlo statistics, `[pixel][product][mean, P2.5, P97.5, U %]`.
    pub mc: Vec<f64>,
}

/// [`BlockOutput`] as arrays, pixel first (S scenarios, H horizons; chains central, min, max;
/// t C/ha, t C/ha/yr, mm): what a binding hands over as they are.
#[derive(Debug, Clone)]
pub struct BlockArrays {
    /// Equilibrium input of the spin-up, (n, 3) t C/ha/yr.
    pub ceq: Array2<f64>,
    /// Deficit carried out of the spin-up, (n, 3) mm.
    pub tsmd_spinup: Array2<f64>,
    /// SOC at t0, (n, 3) t C/ha.
    pub soc_t0: Array2<f64>,
    /// Input of the last warm-up year (fao-v1.2: year 18), (n, 3) t C/ha/yr.
    pub cin_t0: Array2<f64>,
    /// Mean warm-up input, (n, 3) t C/ha/yr.
    pub cin_mean: Array2<f64>,
    /// Deficit at t0, (n, 3) mm.
    pub tsmd_t0: Array2<f64>,
    /// Pools at the end of the spin-up, (n, 3, 5) t C/ha.
    pub pools_spinup: Array3<f64>,
    /// Pools at t0, (n, 3, 5) t C/ha.
    pub pools_t0: Array3<f64>,
    /// Final total SOC, (n, H, S, 3) t C/ha.
    pub final_soc: Array4<f64>,
    /// Months of the official iterative spin-up (central chain), (n,).
    pub spinup_months: Array1<u64>,
    /// Years to the new steady state of each scenario, (n, S), when asked for.
    pub steady_years: Option<Array2<f64>>,
    /// Monte Carlo statistics, (n, products, 4: mean, P2.5, P97.5, U %), when asked for.
    pub mc: Option<Array3<f64>>,
    /// Bits of the flags of each pixel ([`super::options::flags`]), (n,).
    pub flags: Array1<u32>,
}

impl BlockOutput {
    /// The outputs as arrays ([`BlockArrays`]) of a block simulated with `opts`.
    pub fn into_arrays(self, opts: &Options) -> BlockArrays {
        let (n, p) = (self.pixels.len(), &self.pixels);
        let chain =
            |f: fn(&ChainOutput) -> f64| Array2::from_shape_fn((n, 3), |(i, r)| f(&p[i].chains[r]));
        let pools = |f: fn(&ChainOutput) -> Pools| {
            Array3::from_shape_fn((n, 3, 5), |(i, r, k)| f(&p[i].chains[r])[k])
        };
        let (h, s) = (opts.horizons.len(), opts.scenarios.len());
        let per_pixel = |v: &Vec<f64>| v.len() / n.max(1);
        let (steady, mc) = (per_pixel(&self.steady), per_pixel(&self.mc));
        BlockArrays {
            ceq: chain(|c| c.ceq),
            tsmd_spinup: chain(|c| c.tsmd_spinup),
            soc_t0: chain(|c| c.soc_t0),
            cin_t0: chain(|c| c.cin_t0),
            cin_mean: chain(|c| c.cin_mean),
            tsmd_t0: chain(|c| c.tsmd_t0),
            pools_spinup: pools(|c| c.pools_spinup),
            pools_t0: pools(|c| c.pools_t0),
            final_soc: Array4::from_shape_vec((n, h, s, 3), self.final_soc)
                .expect("n x horizons x scenarios x 3"),
            spinup_months: p.iter().map(|o| o.spinup_months).collect(),
            steady_years: opts
                .steady_state
                .then(|| Array2::from_shape_vec((n, steady), self.steady).expect("n x scenarios")),
            mc: (opts.mc_samples > 0).then(|| {
                Array3::from_shape_vec((n, mc / 4, 4), self.mc).expect("n x products x 4")
            }),
            flags: p.iter().map(|o| o.flags).collect(),
        }
    }
}

/// Per-thread buffers of the warm-up series of a group of batches read from a window, laid out
/// as the warm-up's lanes read them (each batch month-major, [`SeriesColumn::load`]).
#[derive(Default)]
struct BatchSeries([Vec<f64>; 3]);

fn array12(s: &[f64], i: usize) -> &[f64; 12] {
    s[i * 12..i * 12 + 12].try_into().expect("12 months")
}

/// Batches at most in a group of [`simulate_block`]: their pixels' warm-up series read from a
/// window in one pass (128 pixels: a row of the window is read 512 bytes at a time instead of
/// 64, and each of its pages met once for 8 batches instead of once a batch; that read cost
/// as much as a third of the chain before). 3 x 128 x 240 months of float64 scratch a thread.
pub const GATHER_BATCHES: usize = 8;

/// Batches of a group of [`simulate_block`] for `batches` batches on `threads` threads: up to
/// [`GATHER_BATCHES`], fewer when the threads would get fewer than 4 groups each (the groups
/// change no number: every pixel is computed alone, its batch the same).
pub fn group_batches(batches: usize, threads: usize) -> usize {
    (batches / (4 * threads.max(1))).clamp(1, GATHER_BATCHES)
}

/// Every phase of every pixel of `block` ([`simulate_pixels`] in batches of [`BATCH`], the
/// batches in parallel; the numbers do not depend on the threads). The options and the block
/// are checked first ([`Options::check`], [`Block::check`]); a set `cancel` skips the batches
/// not started (the outputs are then incomplete: the caller drops them).
pub fn simulate_block(
    opts: &Options,
    table: &ClassTable,
    block: &Block<'_>,
    cancel: &AtomicBool,
) -> Result<BlockOutput> {
    opts.check()?;
    let years = block.check(opts)?;
    let n = block.len();
    let (flen, slen, mlen) = (final_len(opts), steady_len(opts), mc_len(opts));
    // (an output of no values a pixel holds one unused value a pixel: every batch gets a
    // piece of every output)
    let mut out = BlockOutput {
        pixels: vec![PixelOutput::default(); n],
        final_soc: vec![0.0; n * flen.max(1)],
        steady: vec![0.0; n * slen.max(1)],
        mc: vec![0.0; n * mlen.max(1)],
    };
    let b = block;
    let (wt, wp, we) = (
        &b.warmup_temperature,
        &b.warmup_precipitation,
        &b.warmup_pet,
    );
    // every other field as rows of contiguous values
    let (soc, clay) = (rows(b.soc), rows(b.clay));
    let (soc_u, clay_u) = (rows(b.soc_uncertainty), rows(b.clay_uncertainty));
    let covers = [b.spinup_cover, b.warmup_cover, b.forward_cover].map(rows);
    let spinup_climate = [b.spinup_temperature, b.spinup_precipitation, b.spinup_pet].map(rows);
    let forward = [
        b.forward_temperature,
        b.forward_precipitation,
        b.forward_pet,
    ];
    let forward: [Option<Rows<'_, f64, Ix2>>; 3] = forward.map(|a| a.map(rows));
    let (sclass, sdr) = (rows(b.spinup_class), rows(b.spinup_dpm_rpm));
    let (wclass, wdr) = (rows(b.warmup_class), rows(b.warmup_dpm_rpm));
    let (fclass, fdr) = (rows(b.forward_class), rows(b.forward_dpm_rpm));
    let (npp, ids) = (rows(b.npp_reference), rows(b.pixel_id));
    let reference = b.reference_temperature.zip(b.reference_precipitation);
    let reference: Option<[Rows<'_, f64, Ix2>; 2]> = reference.map(|(t, p)| [t, p].map(rows));
    let reference_months = b.reference_temperature.map_or(0, |a| a.ncols());
    // the soil water only where the moisture option reads it
    let water = match opts.moisture.model.uses_van_genuchten() {
        true => b.silt.zip(b.bulk_density).map(|(s, d)| [s, d].map(rows)),
        false => None,
    };
    let organic_carbon = b.organic_carbon.map(rows);
    let calibration = [b.calibration_input, b.calibration_rate].map(|a| a.map(rows));
    let scenario_values = b.scenario_values.map(rows);
    let columns = b.scenario_values.map_or(0, |v| v.ncols());
    let forward_series = [
        b.forward_series_temperature,
        b.forward_series_precipitation,
        b.forward_series_pet,
    ];
    let forward_months = b.forward_series_temperature.map_or(0, |a| a.ncols());
    let forward_series = match forward_series {
        [Some(t), Some(p), Some(e)] => Some([t, p, e].map(rows)),
        _ => None,
    };
    let warmup_inputs = [b.warmup_npp, b.warmup_carbon_input].map(|a| a.map(rows));
    let (wclass, wdr, ids, npp) = (values(&wclass), values(&wdr), values(&ids), values(&npp));
    let covers = covers.each_ref().map(values);
    let spinup_climate = spinup_climate.each_ref().map(values);
    let forward = forward.each_ref().map(|a| a.as_ref().map(values));
    let reference = reference.as_ref().map(|r| r.each_ref().map(values));
    let scenario_values = scenario_values.as_ref().map_or(&[][..], values);
    let forward_series = forward_series.as_ref().map(|r| r.each_ref().map(values));
    let [warmup_npp, warmup_carbon] = warmup_inputs.each_ref().map(|a| a.as_ref().map(values));
    // Pixels go in batches (their warm-ups run side by side in the core's lanes), and the
    // batches in groups whose warm-up series are read from a window in one pass
    // ([`group_batches`]); a group is the unit of the threads.
    let group = group_batches(n.div_ceil(BATCH), parallel::threads());
    let (gf, gs, gm) = (flen.max(1), slen.max(1), mlen.max(1));
    let groups: Vec<_> = out
        .pixels
        .chunks_mut(BATCH * group)
        .zip(out.final_soc.chunks_mut(BATCH * group * gf))
        .zip(out.steady.chunks_mut(BATCH * group * gs))
        .zip(out.mc.chunks_mut(BATCH * group * gm))
        .enumerate()
        .collect();
    parallel::for_each(groups, |(g, (((outs, fin), steady), mc))| {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        with_scratch(|ws: &mut Workspace| {
            with_scratch(|loaded: &mut BatchSeries| {
                let g0 = g * BATCH * group;
                for (series, scratch) in [wt, wp, we].into_iter().zip(&mut loaded.0) {
                    series.load(g0, outs.len(), BATCH, scratch);
                    // the next group (most often this thread's next) while this computes
                    series.prefetch(g0 + BATCH * group, BATCH * group);
                }
                let [st0, st1, st2] = &loaded.0;
                let batches = outs
                    .chunks_mut(BATCH)
                    .zip(fin.chunks_mut(BATCH * gf))
                    .zip(steady.chunks_mut(BATCH * gs))
                    .zip(mc.chunks_mut(BATCH * gm));
                for (b, (((outs, fin), steady), mc)) in batches.enumerate() {
                    let (i0, m) = (g0 + b * BATCH, outs.len());
                    let series = |k: usize| {
                        [
                            wt.pixel(g0, b * BATCH + k, BATCH, st0),
                            wp.pixel(g0, b * BATCH + k, BATCH, st1),
                            we.pixel(g0, b * BATCH + k, BATCH, st2),
                        ]
                    };
                    // the tail of a short batch repeats its last pixel (and is not used)
                    let at = |k: usize| k.min(m - 1);
                    let warmup: [[Series<'_>; 3]; BATCH] = std::array::from_fn(|k| series(at(k)));
                    // the forward climate of the pixels without forward layers: their warm-up
                    // series' monthly means, the batch's pixels side by side
                    let means: [Option<[[f64; 12]; BATCH]>; 3] = std::array::from_fn(|q| {
                        forward[q]
                            .is_none()
                            .then(|| forward_climatologies(&warmup.map(|w| w[q])))
                    });
                    let climate: [[[f64; 12]; 3]; BATCH] = std::array::from_fn(|k| {
                        let i = i0 + at(k);
                        std::array::from_fn(|q| match (forward[q], &means[q]) {
                            (Some(given), _) => *array12(given, i),
                            (None, Some(means)) => means[k],
                            (None, None) => unreachable!("the means of a quantity not given"),
                        })
                    });
                    let pixels: [PixelInput<'_>; BATCH] = std::array::from_fn(|k| {
                        let i = i0 + at(k);
                        let [ft, fp, fe] = &climate[k];
                        let [w_t, w_p, w_e] = warmup[k];
                        let [s_cover, w_cover, f_cover] = covers.map(|c| array12(c, i));
                        let [s_t, s_p, s_e] = spinup_climate.map(|c| array12(c, i));
                        PixelInput {
                            soc: soc[i],
                            clay: clay[i],
                            soc_uncertainty: soc_u[i],
                            clay_uncertainty: clay_u[i],
                            spinup_cover: s_cover,
                            warmup_cover: w_cover,
                            forward_cover: f_cover,
                            spinup_temperature: s_t,
                            spinup_precipitation: s_p,
                            spinup_pet: s_e,
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
                            reference_climate: reference.map(|climate| {
                                let r = reference_months;
                                climate.map(|v| Series::from(&v[i * r..(i + 1) * r]))
                            }),
                            soil_water: water.as_ref().map(|[silt, bd]| SoilWaterInput {
                                silt: silt[i],
                                bulk_density: bd[i],
                                organic_carbon: organic_carbon.as_ref().map(|oc| oc[i]),
                            }),
                            calibration: Calibration {
                                input: calibration[0].as_ref().map_or(1.0, |c| c[i]),
                                rate: calibration[1].as_ref().map_or(1.0, |c| c[i]),
                            },
                            refinements: PixelRefinements {
                                scenario_values: &scenario_values[i * columns..(i + 1) * columns],
                                forward_climate: forward_series.map(|series| {
                                    let f = forward_months;
                                    series.map(|v| Series::from(&v[i * f..(i + 1) * f]))
                                }),
                                warmup_inputs: match (warmup_npp, warmup_carbon) {
                                    (Some(v), _) => {
                                        WarmupInputs::Npp(&v[i * years..(i + 1) * years])
                                    }
                                    (_, Some(v)) => {
                                        WarmupInputs::Carbon(&v[i * years..(i + 1) * years])
                                    }
                                    _ => WarmupInputs::Miami,
                                },
                            },
                        }
                    });
                    simulate_pixels(
                        opts,
                        table,
                        &pixels[..m],
                        ws,
                        outs,
                        &mut fin[..m * flen],
                        &mut steady[..m * slen],
                        &mut mc[..m * mlen],
                        &ids[i0..i0 + m],
                    );
                }
            })
        })
    });
    out.final_soc.truncate(n * flen);
    out.steady.truncate(n * slen);
    out.mc.truncate(n * mlen);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::series::{Conversion, Values};
    use crate::phases::testing::{moisture_options, options, soil_water, TestArea};
    use ndarray::{Array1, Array2, ShapeBuilder};

    /// The area's pixels as the (n, ...) arrays of a block.
    struct Arrays {
        f1: [Array1<f64>; 6],
        f2: [Array2<f64>; 11],
        u1: [Array1<u8>; 2],
        classes: Array2<u8>,
        series: [Vec<f64>; 3],
        ids: Array1<u64>,
    }

    fn arrays(area: &TestArea) -> Arrays {
        let px = area.pixels();
        let n = px.len();
        let per = |f: &dyn Fn(&PixelInput<'_>) -> f64| Array1::from_iter(px.iter().map(f));
        let monthly = |f: &dyn Fn(&PixelInput<'_>) -> [f64; 12]| {
            Array2::from_shape_fn((n, 12), |(i, m)| f(&px[i])[m])
        };
        let yearly = |f: &dyn Fn(&PixelInput<'_>, usize) -> f64| {
            Array2::from_shape_fn((n, 20), |(i, y)| f(&px[i], y))
        };
        Arrays {
            f1: [
                per(&|p| p.soc),
                per(&|p| p.clay),
                per(&|p| p.soc_uncertainty),
                per(&|p| p.clay_uncertainty),
                per(&|p| p.spinup_dpm_rpm),
                per(&|p| p.forward_dpm_rpm),
            ],
            f2: [
                monthly(&|p| *p.spinup_cover),
                monthly(&|p| *p.warmup_cover),
                monthly(&|p| *p.forward_cover),
                monthly(&|p| *p.spinup_temperature),
                monthly(&|p| *p.spinup_precipitation),
                monthly(&|p| *p.spinup_pet),
                yearly(&|p, y| p.warmup_dpm_rpm[y]),
                Array2::from_shape_fn((n, 3), |(i, r)| px[i].npp_reference[r]),
                monthly(&|p| *p.forward_temperature),
                monthly(&|p| *p.forward_precipitation),
                monthly(&|p| *p.forward_pet),
            ],
            u1: [
                Array1::from_iter(px.iter().map(|p| p.spinup_class)),
                Array1::from_iter(px.iter().map(|p| p.forward_class)),
            ],
            classes: Array2::from_shape_fn((n, 20), |(i, y)| px[i].warmup_class[y]),
            series: [
                px.iter()
                    .flat_map(|p| p.warmup_temperature.to_vec())
                    .collect(),
                px.iter()
                    .flat_map(|p| p.warmup_precipitation.to_vec())
                    .collect(),
                px.iter().flat_map(|p| p.warmup_pet.to_vec()).collect(),
            ],
            ids: Array1::from_iter(0..n as u64),
        }
    }

    fn block<'a>(a: &'a Arrays, series: [SeriesColumn<'a>; 3], forward: bool) -> Block<'a> {
        let [soc, clay, soc_u, clay_u, sdr, fdr] = a.f1.each_ref().map(|v| v.view());
        let [sc, wc, fc, st, sp, se, wdr, npp, ft, fp, fe] = a.f2.each_ref().map(|v| v.view());
        let [wt, wp, we] = series;
        Block {
            soc,
            clay,
            soc_uncertainty: soc_u,
            clay_uncertainty: clay_u,
            spinup_cover: sc,
            warmup_cover: wc,
            forward_cover: fc,
            spinup_temperature: st,
            spinup_precipitation: sp,
            spinup_pet: se,
            spinup_class: a.u1[0].view(),
            spinup_dpm_rpm: sdr,
            warmup_temperature: wt,
            warmup_precipitation: wp,
            warmup_pet: we,
            warmup_class: a.classes.view(),
            warmup_dpm_rpm: wdr,
            forward_temperature: forward.then_some(ft),
            forward_precipitation: forward.then_some(fp),
            forward_pet: forward.then_some(fe),
            forward_class: a.u1[1].view(),
            forward_dpm_rpm: fdr,
            npp_reference: npp,
            reference_temperature: None,
            reference_precipitation: None,
            pixel_id: a.ids.view(),
            silt: None,
            bulk_density: None,
            organic_carbon: None,
            calibration_input: None,
            calibration_rate: None,
            scenario_values: None,
            forward_series_temperature: None,
            forward_series_precipitation: None,
            forward_series_pet: None,
            warmup_npp: None,
            warmup_carbon_input: None,
        }
    }

    /// The area's series as (n, 240) rows.
    fn series(a: &Arrays) -> [SeriesColumn<'_>; 3] {
        std::array::from_fn(|q| SeriesColumn::rows("series", &a.series[q], 240).unwrap())
    }

    /// The final stocks and flags of `pixels`, one after the other.
    fn by_pixel(opts: &Options, pixels: &[PixelInput<'_>]) -> (Vec<f64>, Vec<u32>) {
        let n = pixels.len();
        let mut outs = vec![PixelOutput::default(); n];
        let mut fin = vec![0.0; n * final_len(opts)];
        let ids: Vec<u64> = (0..n as u64).collect();
        simulate_pixels(
            opts,
            &ClassTable::default(),
            pixels,
            &mut Workspace::default(),
            &mut outs,
            &mut fin,
            &mut [],
            &mut [],
            &ids,
        );
        (fin, outs.iter().map(|o| o.flags).collect())
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn a_block_gives_the_bits_of_its_pixels_and_the_forward_climatology() {
        // 37 pixels: two batches and a tail; their series as rows and as a window of bands
        let area = TestArea::new(37);
        let a = arrays(&area);
        let mut opts = options(false);
        opts.steady_state = true;
        let table = ClassTable::default();
        let rows: [SeriesColumn<'_>; 3] =
            std::array::from_fn(|q| SeriesColumn::rows("series", &a.series[q], 240).unwrap());
        let never = AtomicBool::new(false);
        let out = simulate_block(&opts, &table, &block(&a, rows, true), &never).unwrap();
        let px = area.pixels();
        let (mut outs, mut fin) = (vec![PixelOutput::default(); 37], vec![0.0; 37 * 48]);
        let mut steady = vec![0.0; 37 * 4];
        let ids: Vec<u64> = (0..37).collect();
        simulate_pixels(
            &opts,
            &table,
            &px,
            &mut Workspace::default(),
            &mut outs,
            &mut fin,
            &mut steady,
            &mut [],
            &ids,
        );
        assert_eq!(bits(&out.final_soc), bits(&fin));
        assert_eq!(bits(&out.steady), bits(&steady));
        assert!(out
            .pixels
            .iter()
            .zip(&outs)
            .all(|(a, b)| a.flags == b.flags));
        // band-major windows of the same series (months x pixels), the pixels in reverse;
        // without forward layers, the forward climate is the warm-up's monthly mean
        let windows: Vec<Vec<f64>> = a
            .series
            .iter()
            .map(|s| (0..240 * 37).map(|k| s[(k % 37) * 240 + k / 37]).collect())
            .collect();
        let pixels: Vec<usize> = (0..37).collect();
        let window = |q: usize| {
            let values = Values::F64(&windows[q]);
            SeriesColumn::window("series", values, 37, 240, Conversion::IDENTITY, &pixels).unwrap()
        };
        let without = simulate_block(
            &opts,
            &table,
            &block(&a, [0, 1, 2].map(window), false),
            &never,
        )
        .unwrap();
        let mean = |q: usize, i: usize, m: usize| {
            (0..20)
                .map(|y| a.series[q][i * 240 + 12 * y + m])
                .sum::<f64>()
                / 20.0
        };
        let mut climatology = arrays(&area);
        for q in 0..3 {
            climatology.f2[8 + q] = Array2::from_shape_fn((37, 12), |(i, m)| mean(q, i, m));
        }
        let rows: [SeriesColumn<'_>; 3] =
            std::array::from_fn(|q| SeriesColumn::rows("series", &a.series[q], 240).unwrap());
        let given =
            simulate_block(&opts, &table, &block(&climatology, rows, true), &never).unwrap();
        assert_eq!(bits(&without.final_soc), bits(&given.final_soc));
        assert_ne!(bits(&without.final_soc), bits(&out.final_soc));
    }

    /// `a` of `m` pixels made `n` pixels: pixel i is pixel i % m of `a` (its id i).
    fn repeated(a: &Arrays, m: usize, n: usize) -> Arrays {
        let of: Vec<usize> = (0..n).map(|i| i % m).collect();
        let series = |s: &Vec<f64>| -> Vec<f64> {
            of.iter()
                .flat_map(|&i| s[i * 240..(i + 1) * 240].iter().copied())
                .collect()
        };
        Arrays {
            f1: a.f1.each_ref().map(|v| v.select(ndarray::Axis(0), &of)),
            f2: a.f2.each_ref().map(|v| v.select(ndarray::Axis(0), &of)),
            u1: a.u1.each_ref().map(|v| v.select(ndarray::Axis(0), &of)),
            classes: a.classes.select(ndarray::Axis(0), &of),
            series: a.series.each_ref().map(series),
            ids: Array1::from_iter(0..n as u64),
        }
    }

    #[cfg(feature = "rayon")]
    #[test]
    fn groups_of_batches_read_from_a_window_give_the_bits_of_rows() {
        // 300 pixels: 19 batches, in groups of 4 on one thread (the last one short, with a
        // short batch), of 1 on 3 threads; the window's pixels a run, or every other one
        let n: usize = 300;
        assert_eq!(group_batches(n.div_ceil(BATCH), 1), 4);
        assert_eq!(group_batches(n.div_ceil(BATCH), 3), 1);
        assert_eq!(group_batches(10_000, 1), GATHER_BATCHES);
        let area = TestArea::new(37);
        let a = repeated(&arrays(&area), 37, n);
        let opts = options(false);
        let table = ClassTable::default();
        let never = AtomicBool::new(false);
        let on = |threads: usize, block: &Block<'_>| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
            let out = pool
                .unwrap()
                .install(|| simulate_block(&opts, &table, block, &never))
                .unwrap();
            let flags: Vec<u32> = out.pixels.iter().map(|p| p.flags).collect();
            (bits(&out.final_soc), flags)
        };
        let expected = on(1, &block(&a, series(&a), true));
        for step in [1, 2] {
            // band-major windows (months x step n pixels), pixel i at step i
            let width = step * n;
            let windows: Vec<Vec<f64>> = a
                .series
                .iter()
                .map(|s| {
                    let mut w = vec![f64::NAN; 240 * width];
                    for i in 0..n {
                        for m in 0..240 {
                            w[m * width + step * i] = s[i * 240 + m];
                        }
                    }
                    w
                })
                .collect();
            let pixels: Vec<usize> = (0..n).map(|i| step * i).collect();
            let window = |q: usize| {
                let values = Values::F64(&windows[q]);
                SeriesColumn::window("series", values, width, 240, Conversion::IDENTITY, &pixels)
                    .unwrap()
            };
            for threads in [1, 3] {
                let got = on(threads, &block(&a, [0, 1, 2].map(window), true));
                assert!(got == expected, "step {step}, {threads} threads");
            }
        }
    }

    #[test]
    fn fortran_ordered_fields_give_the_same_bits() {
        // 21 pixels: a batch and a tail
        let area = TestArea::new(21);
        let a = arrays(&area);
        let opts = options(false);
        let table = ClassTable::default();
        let never = AtomicBool::new(false);
        let c_order = simulate_block(&opts, &table, &block(&a, series(&a), true), &never).unwrap();
        // the same values, columns contiguous (a Fortran-ordered numpy array's view)
        fn fortran<T: Clone + Default>(x: &Array2<T>) -> Array2<T> {
            let mut t = Array2::from_elem(x.raw_dim().f(), T::default());
            t.assign(x);
            t
        }
        let mut f = arrays(&area);
        f.f2 = f.f2.each_ref().map(fortran);
        f.classes = fortran(&f.classes);
        assert!(!f.f2[0].is_standard_layout() && !f.classes.is_standard_layout());
        let f_order = simulate_block(&opts, &table, &block(&f, series(&f), true), &never).unwrap();
        assert_eq!(bits(&c_order.final_soc), bits(&f_order.final_soc));
        let flags = |o: &BlockOutput| o.pixels.iter().map(|p| p.flags).collect::<Vec<_>>();
        assert_eq!(flags(&c_order), flags(&f_order));
    }

    #[test]
    fn soil_water_and_calibration_reach_every_pixel() {
        let n = 21;
        let area = TestArea::new(n);
        let a = arrays(&area);
        let mut opts = options(false);
        opts.moisture = moisture_options()[1];
        let (table, never) = (ClassTable::default(), AtomicBool::new(false));
        let per = |f: &dyn Fn(usize) -> f64| Array1::from_iter((0..n).map(f));
        let silt = per(&|i| soil_water(i).silt);
        let bd = per(&|i| soil_water(i).bulk_density);
        let oc = per(&|i| 0.6 + 0.2 * (i % 5) as f64);
        let input = per(&|i| 0.8 + 0.03 * i as f64);
        let rate = per(&|i| 1.2 - 0.02 * i as f64);
        let plain = simulate_block(&opts, &table, &block(&a, series(&a), true), &never);
        assert!(plain
            .unwrap_err()
            .to_string()
            .starts_with("silt and bulk_density: needed"));
        for with_oc in [false, true] {
            let mut b = block(&a, series(&a), true);
            b.silt = Some(silt.view());
            b.bulk_density = Some(bd.view());
            b.organic_carbon = with_oc.then(|| oc.view());
            b.calibration_input = Some(input.view());
            b.calibration_rate = Some(rate.view());
            let out = simulate_block(&opts, &table, &b, &never).unwrap();
            let pixels: Vec<_> = (area.pixels().into_iter().enumerate())
                .map(|(i, p)| PixelInput {
                    soil_water: Some(SoilWaterInput {
                        silt: silt[i],
                        bulk_density: bd[i],
                        organic_carbon: with_oc.then(|| oc[i]),
                    }),
                    calibration: Calibration {
                        input: input[i],
                        rate: rate[i],
                    },
                    ..p
                })
                .collect();
            let (fin, flags) = by_pixel(&opts, &pixels);
            assert_eq!(bits(&out.final_soc), bits(&fin));
            assert!(out.pixels.iter().map(|p| p.flags).eq(flags));
            // the calibration and the soil water matter
            let uncalibrated: Vec<_> = (pixels.iter())
                .map(|p| PixelInput {
                    calibration: Calibration::NONE,
                    ..*p
                })
                .collect();
            assert_ne!(bits(&by_pixel(&opts, &uncalibrated).0), bits(&fin));
        }
        opts.mode = Mode::Fao;
        opts.moisture = Default::default();
        let mut b = block(&a, series(&a), true);
        b.calibration_rate = Some(rate.view());
        let e = simulate_block(&opts, &table, &b, &never).unwrap_err();
        assert_eq!(
            e.to_string(),
            "calibration_input, calibration_rate: rothamsted mode only"
        );
    }

    #[test]
    fn shapes_are_checked_and_named() {
        let area = TestArea::new(5);
        let mut a = arrays(&area);
        a.f2[1] = Array2::zeros((5, 11));
        let rows: [SeriesColumn<'_>; 3] =
            std::array::from_fn(|q| SeriesColumn::rows("series", &a.series[q], 240).unwrap());
        let e = block(&a, rows, true).check(&options(false)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "warmup_cover: shape [5, 11], expected [5, 12]"
        );
        let a = arrays(&area);
        let short = SeriesColumn::rows("warmup_pet", &a.series[2][..5 * 12], 12).unwrap();
        let mut b = block(
            &a,
            [0, 1, 2].map(|q| SeriesColumn::rows("s", &a.series[q], 240).unwrap()),
            true,
        );
        b.warmup_pet = short;
        let e = b.check(&options(false)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "warmup_pet: 5 pixels of 12 months, expected 5 of 240"
        );
        b = block(
            &a,
            [0, 1, 2].map(|q| SeriesColumn::rows("s", &a.series[q], 240).unwrap()),
            true,
        );
        b.reference_temperature = Some(a.f2[0].view());
        let e = b.check(&options(false)).unwrap_err();
        assert!(e.to_string().ends_with("give both or neither"), "{e}");
    }
}
