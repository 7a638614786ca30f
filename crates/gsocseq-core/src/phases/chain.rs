//! The GSOCseq phases for one pixel: spin-up (state at 2000), warm-up (2001..2000+Y, state at
//! t0) and forward scenarios (BAU and SSMs over one or more horizons), each as a central run
//! and, on request, min/max uncertainty runs. Both numerical modes of METHOD.md:
//! `Rothamsted` (official RothC numerics) and `Fao` (the v1.2 R scripts, see [`crate::fao`]).

use crate::equilibrium::{self, periodic_tsmd};
use crate::fao::{self, EulerModel, PedotransferGroup};
use crate::modifiers::Soil;
use crate::pools::{active, falloon_iom, split_fym, split_plant_input, total, Pools};
use crate::series::Series;
use crate::solver::{self, decompose, month_rate, MonthForcing, YearMap, YearMaps, YearRates};

/// Numerical mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Official discrete monthly RothC-26.3, exact equilibria, deficit carried on.
    Rothamsted,
    /// The numbers of the FAO GSOCseq v1.2 R scripts.
    Fao,
}

/// Spin-up method (METHOD.md section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpinupMethod {
    /// Exact discrete periodic equilibrium.
    Equilibrium,
    /// Continuous equilibrium at the mean rate (Dechow et al. 2019, script 11).
    Analytical,
    /// 500 years from empty pools (script 11.2, manual eq. 5.1).
    Numerical,
    /// C_eq of the equilibrium, then the official iterative rule without rescaling.
    RothamstedIterative,
}

/// Pools of the numerical spin-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumericalPools {
    /// A second run with C_eq.
    SecondRun,
    /// Pedotransfer functions of Weihermuller et al. (2013).
    Weihermuller,
}

/// The FAO GLC-SHARE classes of METHOD.md section 2 that have coefficients: (code, DPM/RPM
/// ratio, NPP-to-input coefficient, SSM group: 0 crops, 1 grass, 2 paddy, 255 none). Every other
/// code (1 artificial, 7 mangroves, 9 bare soil, 10 snow and glaciers, 11 water, 0 no data) has
/// none.
pub const FAO_CLASSES: [(u8, f64, f64, u8); 8] = [
    (2, 1.44, 0.53, 0),
    (3, 0.67, 0.72, 1),
    (4, 0.25, 0.88, 255),
    (5, 0.67, 0.72, 1),
    (6, 0.67, 0.72, 1),
    (8, 0.67, 0.72, 1),
    (12, 1.44, 0.53, 0),
    (13, 1.44, 0.53, 2),
];

/// The FAO class of paddy fields, whose decomposition rate is x [`PADDY_RATE_FACTOR`].
pub const PADDY_CLASS: u8 = 13;

/// Rate factor of paddy fields (METHOD.md section 2).
pub const PADDY_RATE_FACTOR: f64 = 0.4;

/// Per-class properties, indexed by FAO land-use code (0..=255).
#[derive(Debug, Clone)]
pub struct ClassTable {
    /// NPP-to-input coefficient; NaN for classes without coefficients.
    pub coef: [f64; 256],
    /// Rate factor (0.4 paddy, else 1).
    pub paddy: [f64; 256],
    /// SSM group: 0 crops, 1 grass, 2 paddy, 255 none.
    pub group: [u8; 256],
    /// DPM/RPM ratio of the plant input; NaN for classes without coefficients. The phases take
    /// each pixel's ratios as given (rasters of the FAO layout hold their own); this is the
    /// table they come from otherwise.
    pub dpm_rpm: [f64; 256],
}

impl Default for ClassTable {
    /// The FAO GLC-SHARE table of METHOD.md section 2 ([`FAO_CLASSES`]).
    fn default() -> Self {
        let mut t = ClassTable {
            coef: [f64::NAN; 256],
            paddy: [1.0; 256],
            group: [255; 256],
            dpm_rpm: [f64::NAN; 256],
        };
        for (class, dpm_rpm, coef, group) in FAO_CLASSES {
            t.coef[class as usize] = coef;
            t.group[class as usize] = group;
            t.dpm_rpm[class as usize] = dpm_rpm;
        }
        t.paddy[PADDY_CLASS as usize] = PADDY_RATE_FACTOR;
        t
    }
}

/// Run options shared by every pixel.
#[derive(Debug, Clone)]
pub struct Options {
    /// Numerical mode.
    pub mode: Mode,
    /// Spin-up method.
    pub spinup: SpinupMethod,
    /// Pools of the numerical spin-up.
    pub numerical_pools: NumericalPools,
    /// Forward horizons in years, ascending (the first output axis of the final stocks).
    pub horizons: Vec<usize>,
    /// Input increase of each scenario per SSM group (crops, grass, paddy), as fractions;
    /// scenario 0 is BAU (all zeros).
    pub scenarios: Vec<[f64; 3]>,
    /// Whether to run the min/max uncertainty chains.
    pub uncertainty: bool,
    /// FAO mode: the scenario that gets min/max runs (script 13's SSM2).
    pub fao_uncertain_scenario: usize,
    /// Layer depth, cm (30 in GSOCseq).
    pub depth: f64,
    /// Rothamsted mode: step the forward runs month by month instead of the closed form
    /// (for checking; the results agree to ~1e-13 relative).
    pub forward_stepping: bool,
    /// Rothamsted mode: also compute the years to the new steady state of every scenario
    /// (central run, main horizon's scenarios).
    pub steady_state: bool,
    /// Index in `horizons` of the main horizon (the one of the Monte Carlo products).
    pub main_horizon: usize,
    /// Monte Carlo samples per pixel (0: none).
    pub mc_samples: usize,
    /// Seed of the Monte Carlo draws (combined with the pixel's position).
    pub mc_seed: u64,
    /// Evaporation coefficient of the water balance (1.0 for PET).
    pub evap_coefficient: f64,
}

/// Everything known about one pixel. Temperatures degrees C, precipitation and PET mm/month,
/// SOC t C/ha, clay %, NPP t C/ha/yr, uncertainties as fractions (0.2 = 20 %).
#[derive(Debug, Clone, Copy)]
pub struct PixelInput<'a> {
    /// SOC of the map, t C/ha.
    pub soc: f64,
    /// Clay, %.
    pub clay: f64,
    /// Relative uncertainty of SOC (min run x (1 - u), max run x (1 + u)).
    pub soc_uncertainty: f64,
    /// Relative uncertainty of clay.
    pub clay_uncertainty: f64,
    /// Cover factor of each month in the spin-up.
    pub spinup_cover: &'a [f64; 12],
    /// Cover factor of each month in the warm-up.
    pub warmup_cover: &'a [f64; 12],
    /// Cover factor of each month in the forward runs.
    pub forward_cover: &'a [f64; 12],
    /// Spin-up climatology: temperature.
    pub spinup_temperature: &'a [f64; 12],
    /// Spin-up climatology: precipitation.
    pub spinup_precipitation: &'a [f64; 12],
    /// Spin-up climatology: PET.
    pub spinup_pet: &'a [f64; 12],
    /// Land-use class of the spin-up.
    pub spinup_class: u8,
    /// DPM/RPM ratio of the spin-up.
    pub spinup_dpm_rpm: f64,
    /// Warm-up monthly temperature, 12 Y values.
    pub warmup_temperature: Series<'a>,
    /// Warm-up monthly precipitation, 12 Y values.
    pub warmup_precipitation: Series<'a>,
    /// Warm-up monthly PET, 12 Y values.
    pub warmup_pet: Series<'a>,
    /// Land-use class of each warm-up year.
    pub warmup_class: &'a [u8],
    /// DPM/RPM ratio of each warm-up year.
    pub warmup_dpm_rpm: &'a [f64],
    /// Forward climatology: temperature.
    pub forward_temperature: &'a [f64; 12],
    /// Forward climatology: precipitation.
    pub forward_precipitation: &'a [f64; 12],
    /// Forward climatology: PET.
    pub forward_pet: &'a [f64; 12],
    /// Land-use class of the forward runs.
    pub forward_class: u8,
    /// DPM/RPM ratio of the forward runs.
    pub forward_dpm_rpm: f64,
    /// Reference NPP 1981-2000 before the land-use coefficient: central, min, max.
    pub npp_reference: [f64; 3],
    /// The 1981-2000 monthly temperature (degrees C) and precipitation (mm) series, 12 R
    /// values each, when given: the climate that a Monte Carlo draw's reference NPP follows
    /// (else the warm-up series; see [`draw_npp_reference`]).
    pub reference_climate: Option<[Series<'a>; 2]>,
}

/// Flags raised for a pixel (bits of [`PixelOutput::flags`]).
pub mod flags {
    /// The spin-up deficit did not repeat exactly within 1,000 years.
    pub const DEFICIT_NOT_PERIODIC: u32 = 1;
    /// A run ended with a negative pool.
    pub const NEGATIVE_POOL: u32 = 2;
    /// FAO mode: DPM amplification of forward Euler over the warm-up exceeded 1.
    pub const FAO_UNSTABLE_WARMUP: u32 = 4;
    /// FAO mode: DPM amplification of forward Euler over a forward run exceeded 1.
    pub const FAO_UNSTABLE_FORWARD: u32 = 8;
    /// Weihermuller pools with a negative DPM.
    pub const NEGATIVE_PEDOTRANSFER_DPM: u32 = 16;
    /// The official iterative spin-up did not converge.
    pub const SPINUP_NOT_CONVERGED: u32 = 32;
    /// A warm-up year's class has no coefficients (input 0 that year).
    pub const CLASS_WITHOUT_COEFFICIENT: u32 = 64;
    /// A result is not finite (no equilibrium, NaN from the FAO numerics, ...).
    pub const NOT_FINITE: u32 = 128;

    /// Every flag with the words of the run summary.
    pub const DESCRIPTIONS: [(u32, &str); 8] = [
        (
            DEFICIT_NOT_PERIODIC,
            "spin-up deficit not periodic after 1,000 years",
        ),
        (NEGATIVE_POOL, "a run ended with a negative pool"),
        (
            FAO_UNSTABLE_WARMUP,
            "fao-v1.2 warm-up Euler unstable (DPM amplification > 1)",
        ),
        (
            FAO_UNSTABLE_FORWARD,
            "fao-v1.2 forward Euler unstable (DPM amplification > 1)",
        ),
        (NEGATIVE_PEDOTRANSFER_DPM, "pedotransfer DPM negative"),
        (SPINUP_NOT_CONVERGED, "iterative spin-up not converged"),
        (
            CLASS_WITHOUT_COEFFICIENT,
            "a warm-up year's class has no coefficients",
        ),
        (NOT_FINITE, "a result is not finite"),
    ];
}

/// Results of one chain of phases (central, min or max).
#[derive(Debug, Clone, Copy, Default)]
pub struct ChainOutput {
    /// Equilibrium input C_eq, t C/ha/yr.
    pub ceq: f64,
    /// Pools at the end of the spin-up (2000), t C/ha.
    pub pools_spinup: Pools,
    /// Deficit carried out of the spin-up, mm.
    pub tsmd_spinup: f64,
    /// Pools at t0 (end of the warm-up), t C/ha.
    pub pools_t0: Pools,
    /// SOC at t0, t C/ha.
    pub soc_t0: f64,
    /// Input of the last warm-up year (FAO: year 18), t C/ha/yr.
    pub cin_t0: f64,
    /// Mean warm-up input, t C/ha/yr.
    pub cin_mean: f64,
    /// Deficit at t0, mm.
    pub tsmd_t0: f64,
}

/// Results of one pixel; the final stocks go to a separate slice.
#[derive(Debug, Clone, Copy, Default)]
pub struct PixelOutput {
    /// Central, min and max chains.
    pub chains: [ChainOutput; 3],
    /// Months of the official iterative spin-up (central), 0 otherwise.
    pub spinup_months: u64,
    /// Bits of [`flags`].
    pub flags: u32,
}

/// Scratch space reused across pixels (no allocation per pixel).
#[derive(Debug, Default)]
pub struct Workspace {
    rates: Vec<f64>,
    maps: Vec<YearMap>,
    samples: Vec<f64>,
    scratch: Vec<f64>,
    /// Warm-up forcing of each chain of a batch (besides its pixel's).
    warmup: Vec<WarmupChain>,
    /// Chains of a batch between the phases.
    states: Vec<ChainState>,
    /// Spin-up equilibria of the chains of a batch.
    equilibria: Vec<Equilibrium>,
    lanes1: solver::LaneForcing<1>,
    lanes2: solver::LaneForcing<2>,
    lanes4: solver::LaneForcing<4>,
    lanes8: solver::LaneForcing<8>,
    lanes16: solver::LaneForcing<16>,
}

/// What the warm-up of a chain takes besides its pixel's series: climate multipliers, the
/// spin-up's equilibrium input and the chain's NPP reference (scaled by the spin-up class).
#[derive(Debug, Clone, Copy, Default)]
struct WarmupChain {
    temperature: f64,
    precipitation: f64,
    /// Equilibrium annual input of the spin-up, t C/ha/yr.
    ceq: f64,
    /// NPP of the reference climate x the spin-up class's coefficient, t C/ha/yr.
    npp_reference: f64,
}

/// A Rothamsted-mode chain between its phases.
#[derive(Debug, Clone, Copy)]
struct ChainState {
    soil: Soil,
    pools: Pools,
    tsmd: f64,
}

/// Perturbation of a chain.
#[derive(Debug, Clone, Copy)]
struct Perturbation {
    soc: f64,
    clay: f64,
    temperature: f64,
    precipitation: f64,
    /// Multiplier of the SSM increase.
    increase: f64,
    /// Reference NPP of the chain before the land-use coefficient, t C/ha/yr.
    npp_reference: f64,
}

impl Perturbation {
    /// No perturbation (a placeholder; the reference NPP is set per pixel).
    const NONE: Perturbation = Perturbation {
        soc: 1.0,
        clay: 1.0,
        temperature: 1.0,
        precipitation: 1.0,
        increase: 1.0,
        npp_reference: f64::NAN,
    };
}

/// Climate factors (temperature, precipitation) of the central, min and max chains
/// (METHOD.md section 6): each month's temperature (degrees C) and precipitation (mm) x these.
pub const MINMAX_CLIMATE: [[f64; 2]; 3] = [[1.0, 1.0], [1.02, 0.95], [0.98, 1.05]];

/// Factors of the SSM input increase of the central, min and max chains (METHOD.md section 6:
/// +-15 % of the increase).
pub const MINMAX_INCREASE: [f64; 3] = [1.0, 0.85, 1.15];

/// Relative uncertainty of the SSM input increase (the +-15 % of [`MINMAX_INCREASE`]); the
/// fao-v1.2 chain adds it to the factor 1 + increase, as script 13 does.
pub const INCREASE_UNCERTAINTY: f64 = 0.15;

/// Half-widths of the 95 % intervals of the Monte Carlo draws' factors (METHOD.md section 6):
/// temperature, precipitation and input increase, relative (the min/max factors' distance
/// from 1).
pub const MC_SPREAD: [f64; 3] = [0.02, 0.05, INCREASE_UNCERTAINTY];

fn perturbations(px: &PixelInput<'_>) -> [Perturbation; 3] {
    let [central, low, high] = MINMAX_CLIMATE;
    [
        Perturbation {
            soc: 1.0,
            clay: 1.0,
            temperature: central[0],
            precipitation: central[1],
            increase: MINMAX_INCREASE[0],
            npp_reference: px.npp_reference[0],
        },
        Perturbation {
            soc: 1.0 - px.soc_uncertainty,
            clay: 1.0 - px.clay_uncertainty,
            temperature: low[0],
            precipitation: low[1],
            increase: MINMAX_INCREASE[1],
            npp_reference: px.npp_reference[1],
        },
        Perturbation {
            soc: 1.0 + px.soc_uncertainty,
            clay: 1.0 + px.clay_uncertainty,
            temperature: high[0],
            precipitation: high[1],
            increase: MINMAX_INCREASE[2],
            npp_reference: px.npp_reference[2],
        },
    ]
}

/// Number of values of the final stocks of one pixel: horizons x scenarios x 3 runs.
pub fn final_len(opts: &Options) -> usize {
    opts.horizons.len() * opts.scenarios.len() * 3
}

/// Number of Monte Carlo values of one pixel: (T0, final stocks, ASR, RSR) x (mean, 2.5 and
/// 97.5 percentiles, U %).
pub fn mc_len(opts: &Options) -> usize {
    if opts.mc_samples == 0 {
        0
    } else {
        3 * opts.scenarios.len() * 4
    }
}

/// Number of steady-state values of one pixel (one per scenario).
pub fn steady_len(opts: &Options) -> usize {
    if opts.steady_state {
        opts.scenarios.len()
    } else {
        0
    }
}

/// Pixels of [`simulate_pixels`] worth a batch: the warm-ups of their chains run as the lanes
/// of one kernel (16 central chains, then 16 min and 16 max).
pub const BATCH: usize = 16;

/// Runs every phase for one pixel. `final_soc` (length [`final_len`]) receives the final
/// total SOC (t C/ha) indexed `[horizon][scenario][run]` with run 0 central, 1 min, 2 max;
/// values not computed are NaN. `steady` ([`steady_len`]) receives the years to the new
/// steady state of each scenario, `mc` ([`mc_len`]) the Monte Carlo statistics; `pixel_id`
/// (the pixel's position in the grid) seeds its draws, so that tiling or threads never change
/// a number.
#[allow(clippy::too_many_arguments)]
pub fn simulate_pixel(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    ws: &mut Workspace,
    out: &mut PixelOutput,
    final_soc: &mut [f64],
    steady: &mut [f64],
    mc: &mut [f64],
    pixel_id: u64,
) {
    simulate_pixels(
        opts,
        table,
        std::slice::from_ref(px),
        ws,
        std::slice::from_mut(out),
        final_soc,
        steady,
        mc,
        &[pixel_id],
    )
}

/// [`simulate_pixel`] for several pixels at once (best [`BATCH`] of them): the same numbers,
/// faster. `final_soc`, `steady` and `mc` hold [`final_len`], [`steady_len`] and [`mc_len`]
/// values per pixel, one pixel after the other.
#[allow(clippy::too_many_arguments)]
pub fn simulate_pixels(
    opts: &Options,
    table: &ClassTable,
    pixels: &[PixelInput<'_>],
    ws: &mut Workspace,
    outs: &mut [PixelOutput],
    final_soc: &mut [f64],
    steady: &mut [f64],
    mc: &mut [f64],
    pixel_ids: &[u64],
) {
    let n = pixels.len();
    let (flen, slen, mlen) = (final_len(opts), steady_len(opts), mc_len(opts));
    assert_eq!(
        (
            outs.len(),
            final_soc.len(),
            steady.len(),
            mc.len(),
            pixel_ids.len()
        ),
        (n, n * flen, n * slen, n * mlen, n),
        "output lengths"
    );
    final_soc.fill(f64::NAN);
    steady.fill(f64::NAN);
    mc.fill(f64::NAN);
    outs.fill(PixelOutput::default());
    let runs = if opts.uncertainty { 3 } else { 1 };
    match opts.mode {
        Mode::Rothamsted => {
            // every chain r of every pixel (r outermost: lanes of one kernel share r)
            let mut jobs = [ChainJob {
                pixel: 0,
                perturb: Perturbation::NONE,
                run: 0,
            }; 3 * BATCH];
            for (k0, chunk) in (0..n)
                .step_by(BATCH)
                .map(|k0| (k0, k0..(k0 + BATCH).min(n)))
            {
                let m = chunk.len();
                for r in 0..runs {
                    for k in 0..m {
                        jobs[r * m + k] = ChainJob {
                            pixel: k,
                            perturb: perturbations(&pixels[k0 + k])[r],
                            run: r,
                        };
                    }
                }
                rothamsted_chains(
                    opts,
                    table,
                    &pixels[chunk.clone()],
                    &jobs[..runs * m],
                    ws,
                    &mut outs[chunk.clone()],
                    &mut final_soc[k0 * flen..(k0 + m) * flen],
                    &mut steady[k0 * slen..(k0 + m) * slen],
                );
            }
        }
        Mode::Fao => {
            for (k, px) in pixels.iter().enumerate() {
                let perturb = perturbations(px);
                for r in 0..runs {
                    let fin = &mut final_soc[k * flen..(k + 1) * flen];
                    fao_chain(opts, table, px, &perturb, r, &mut outs[k], fin);
                }
            }
        }
    }
    for (k, out) in outs.iter_mut().enumerate() {
        for chain in out.chains.iter().take(runs) {
            if chain.pools_t0.iter().any(|v| *v < 0.0) {
                out.flags |= flags::NEGATIVE_POOL;
            }
            if !chain.soc_t0.is_finite() {
                out.flags |= flags::NOT_FINITE;
            }
        }
        if final_soc[k * flen..(k + 1) * flen]
            .iter()
            .any(|v| v.is_infinite())
        {
            out.flags |= flags::NOT_FINITE;
        }
    }
    if opts.mc_samples > 0 && opts.mode == Mode::Rothamsted {
        for (k, px) in pixels.iter().enumerate() {
            monte_carlo(
                opts,
                table,
                px,
                ws,
                &mut mc[k * mlen..(k + 1) * mlen],
                pixel_ids[k],
            );
        }
    }
}

/// Monte Carlo chains (METHOD.md section 6): SOC, clay, temperature, precipitation and the
/// SSM increase drawn from normal distributions whose 95 % limits are the min/max factors.
fn monte_carlo(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    ws: &mut Workspace,
    mc: &mut [f64],
    pixel_id: u64,
) {
    let n_s = opts.scenarios.len();
    let n = opts.mc_samples;
    let width = 1 + n_s;
    let mut samples = std::mem::take(&mut ws.samples);
    let mut finals = std::mem::take(&mut ws.scratch);
    samples.clear();
    samples.resize(n * width, f64::NAN);
    finals.clear();
    finals.resize(BATCH * final_len(opts), f64::NAN);
    let h = opts.main_horizon;
    draw_samples(
        opts,
        table,
        px,
        ws,
        &mut samples,
        &mut finals,
        pixel_id,
        BATCH,
    );
    let years = opts.horizons[h] as f64;
    let mut values = std::mem::take(&mut ws.rates);
    let mut k = 0;
    let mut stat = |values: &mut Vec<f64>, k: &mut usize| {
        let (mean, lo, hi) = summarize(values);
        mc[*k * 4] = mean;
        mc[*k * 4 + 1] = lo;
        mc[*k * 4 + 2] = hi;
        mc[*k * 4 + 3] = 100.0 * (hi - lo) / (2.0 * mean.abs());
        *k += 1;
    };
    values.clear();
    values.extend((0..n).map(|d| samples[d * width]));
    stat(&mut values, &mut k);
    for s in 0..n_s {
        values.clear();
        values.extend((0..n).map(|d| samples[d * width + 1 + s]));
        stat(&mut values, &mut k);
    }
    for s in 0..n_s {
        values.clear();
        values.extend((0..n).map(|d| (samples[d * width + 1 + s] - samples[d * width]) / years));
        stat(&mut values, &mut k);
    }
    for s in 1..n_s {
        values.clear();
        values
            .extend((0..n).map(|d| (samples[d * width + 1 + s] - samples[d * width + 1]) / years));
        stat(&mut values, &mut k);
    }
    ws.rates = values;
    ws.samples = samples;
    ws.scratch = finals;
}

/// The Monte Carlo samples of a pixel into `samples` (per draw: T0, then the final stock of
/// each scenario at the main horizon), `lanes` (1..=[`BATCH`]) draws at a time, each draw a
/// chain of its own in the lanes of one warm-up kernel (each lane the same bits as a chain run
/// alone; the draws keep their order in the random stream). `finals` holds `lanes` x
/// [`final_len`] values.
#[allow(clippy::too_many_arguments)]
fn draw_samples(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    ws: &mut Workspace,
    samples: &mut [f64],
    finals: &mut [f64],
    pixel_id: u64,
    lanes: usize,
) {
    assert!((1..=BATCH).contains(&lanes), "1 to {BATCH} draws at a time");
    let mut draws = Draws::new(
        opts.mc_seed,
        pixel_id,
        px.soc_uncertainty,
        px.clay_uncertainty,
    );
    // the chain reads neither the uncertainty nor the Monte Carlo options: no copy needed
    let h = opts.main_horizon;
    let (n, width, n_s, flen) = (
        opts.mc_samples,
        1 + opts.scenarios.len(),
        opts.scenarios.len(),
        final_len(opts),
    );
    // every draw is a "pixel" of the batch (the same pixel), its chain the central run
    let pixels = [*px; BATCH];
    let mut outs = [PixelOutput::default(); BATCH];
    let central_npp = mean_miami_npp(px, 1.0, 1.0);
    for d0 in (0..n).step_by(lanes) {
        let k = (n - d0).min(lanes);
        let mut jobs = [ChainJob {
            pixel: 0,
            perturb: Perturbation::NONE,
            run: 0,
        }; BATCH];
        for (d, job) in jobs.iter_mut().enumerate().take(k) {
            let draw = draws.next().expect("an endless stream");
            *job = ChainJob {
                pixel: d,
                perturb: Perturbation {
                    soc: draw.soc,
                    clay: draw.clay,
                    temperature: draw.temperature,
                    precipitation: draw.precipitation,
                    increase: draw.increase,
                    npp_reference: draw_npp_reference(px, &draw, central_npp),
                },
                run: 0,
            };
        }
        outs[..k].fill(PixelOutput::default());
        finals[..k * flen].fill(f64::NAN);
        rothamsted_chains(
            opts,
            table,
            &pixels[..k],
            &jobs[..k],
            ws,
            &mut outs[..k],
            &mut finals[..k * flen],
            &mut [],
        );
        for (r, out) in outs.iter().enumerate().take(k) {
            let d = d0 + r;
            samples[d * width] = out.chains[0].soc_t0;
            for s in 0..n_s {
                samples[d * width + 1 + s] = finals[r * flen + index(opts, h, s, 0)];
            }
        }
    }
}

/// The factors of one Monte Carlo draw (METHOD.md section 6), multipliers of the pixel's SOC,
/// clay, monthly temperature and precipitation, and of the scenarios' input increase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// SOC factor, 1 + z u_SOC / 1.96.
    pub soc: f64,
    /// Clay factor, max(0, 1 + z u_clay / 1.96).
    pub clay: f64,
    /// Temperature factor, 1 + z 0.02 / 1.96.
    pub temperature: f64,
    /// Precipitation factor, 1 + z 0.05 / 1.96.
    pub precipitation: f64,
    /// Factor of the input increase, 1 + z 0.15 / 1.96.
    pub increase: f64,
}

/// The Monte Carlo draws of one pixel, in order: normal factors whose 95 % limits are the
/// min/max factors of METHOD.md section 6 (five independent standard normal values z per
/// draw, in the order of [`Draw`]'s fields). The stream is seeded by the run's seed and the
/// pixel's position in the grid only, so that tiling, threads or a cluster never change a
/// number.
#[derive(Debug, Clone)]
pub struct Draws {
    rng: rand_chacha::ChaCha8Rng,
    soc_uncertainty: f64,
    clay_uncertainty: f64,
}

impl Draws {
    /// The draws of the pixel `pixel_id` (row x width + column) with the relative SOC and clay
    /// uncertainties of the pixel (0.2 = 20 %).
    pub fn new(seed: u64, pixel_id: u64, soc_uncertainty: f64, clay_uncertainty: f64) -> Self {
        use rand::SeedableRng;
        Draws {
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(
                seed ^ pixel_id.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ),
            soc_uncertainty,
            clay_uncertainty,
        }
    }
}

impl Iterator for Draws {
    type Item = Draw;

    fn next(&mut self) -> Option<Draw> {
        use rand_distr::{Distribution, StandardNormal};
        let mut z = [0.0f64; 5];
        for v in z.iter_mut() {
            *v = StandardNormal.sample(&mut self.rng);
        }
        Some(Draw {
            soc: 1.0 + z[0] * self.soc_uncertainty / 1.96,
            clay: (1.0 + z[1] * self.clay_uncertainty / 1.96).max(0.0),
            temperature: 1.0 + z[2] * MC_SPREAD[0] / 1.96,
            precipitation: 1.0 + z[3] * MC_SPREAD[1] / 1.96,
            increase: 1.0 + z[4] * MC_SPREAD[2] / 1.96,
        })
    }
}

/// M(T fT, P fP): the mean over the years of yearly MIAMI NPP (t C/ha/yr, before the land-use
/// coefficient) of the pixel's 1981-2000 series when given, else of its warm-up series, every
/// month's temperature x `temperature` and precipitation x `precipitation` before the yearly
/// mean and sum (as the warm-up computes its NPP).
pub fn mean_miami_npp(px: &PixelInput<'_>, temperature: f64, precipitation: f64) -> f64 {
    let [t, p] = px
        .reference_climate
        .unwrap_or([px.warmup_temperature, px.warmup_precipitation]);
    let years = t.len() / 12;
    let mut sum = 0.0;
    for y in 0..years {
        let (ty, py) = (t.year(y), p.year(y));
        let (mut t_sum, mut p_sum) = (0.0, 0.0);
        for m in 0..12 {
            t_sum += ty[m] * temperature;
            p_sum += py[m] * precipitation;
        }
        sum += fao::miami_npp(t_sum / 12.0, p_sum);
    }
    sum / years as f64
}

/// The reference NPP of a Monte Carlo draw, before the land-use coefficient (METHOD.md
/// section 6): consistent with the draw's climate, as the _MIN/_MAX rasters are with theirs,
/// NPP_ref x M(T fT, P fP) / M(T, P) ([`mean_miami_npp`]; `central` = M(T, P)).
pub fn draw_npp_reference(px: &PixelInput<'_>, draw: &Draw, central: f64) -> f64 {
    px.npp_reference[0] * mean_miami_npp(px, draw.temperature, draw.precipitation) / central
}

/// Mean and the 2.5 and 97.5 percentiles (linear interpolation between order statistics, as
/// numpy's default) of `values`; NaN when any value is not finite.
fn summarize(values: &mut [f64]) -> (f64, f64, f64) {
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let q = |p: f64| {
        let x = p * (n - 1) as f64;
        let i = x.floor() as usize;
        let f = x - i as f64;
        if i + 1 < n {
            values[i] + f * (values[i + 1] - values[i])
        } else {
            values[n - 1]
        }
    };
    (mean, q(0.025), q(0.975))
}

fn index(opts: &Options, h: usize, s: usize, r: usize) -> usize {
    (h * opts.scenarios.len() + s) * 3 + r
}

fn increase(opts: &Options, table: &ClassTable, s: usize, class: u8) -> f64 {
    match table.group[class as usize] {
        g @ 0..=2 => opts.scenarios[s][g as usize],
        _ => 0.0,
    }
}

#[allow(clippy::too_many_arguments)]
/// A chain's soil: the pixel's clay perturbed by `p`.
fn chain_soil(opts: &Options, px: &PixelInput<'_>, p: &Perturbation) -> Soil {
    Soil::new(px.clay * p.clay, opts.depth, opts.evap_coefficient)
}

/// A year of a chain: the monthly temperature, precipitation and PET of a climatology
/// (temperature and precipitation perturbed by `p`), the cover, the class's rate factor and
/// DPM/RPM ratio, no input.
fn chain_year(
    table: &ClassTable,
    [t, pr, pet, cover]: [&[f64; 12]; 4],
    class: u8,
    dpm_rpm: f64,
    p: &Perturbation,
) -> [MonthForcing; 12] {
    let paddy = table.paddy[class as usize];
    std::array::from_fn(|m| MonthForcing {
        temperature: t[m] * p.temperature,
        precipitation: pr[m] * p.precipitation,
        evaporation: pet[m],
        cover: cover[m],
        plant_input: 0.0,
        fym_input: 0.0,
        dpm_rpm,
        rate_factor: paddy,
    })
}

/// The spin-up year of a chain (1981-2000 climatology).
fn spin_year(table: &ClassTable, px: &PixelInput<'_>, p: &Perturbation) -> [MonthForcing; 12] {
    let climate = [
        px.spinup_temperature,
        px.spinup_precipitation,
        px.spinup_pet,
        px.spinup_cover,
    ];
    chain_year(table, climate, px.spinup_class, px.spinup_dpm_rpm, p)
}

/// The forward year of a chain (the forward climatology).
fn forward_year(table: &ClassTable, px: &PixelInput<'_>, p: &Perturbation) -> [MonthForcing; 12] {
    let climate = [
        px.forward_temperature,
        px.forward_precipitation,
        px.forward_pet,
        px.forward_cover,
    ];
    chain_year(table, climate, px.forward_class, px.forward_dpm_rpm, p)
}

/// What [`equilibrium::equilibrium_inputs`] gives: annual input, pools, deficit, periodic.
type Equilibrium = (f64, Pools, f64, bool);

/// Spin-up (Rothamsted mode) of one chain, and what its warm-up takes (into `warmup`; the
/// warm-up itself runs in lanes with other chains: [`warm_up`]).
/// `equilibrium`: the chain's [`equilibrium::equilibrium_inputs`] when computed already (in
/// lanes with other chains).
#[allow(clippy::too_many_arguments)]
fn rothamsted_spinup(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    p: &Perturbation,
    r: usize,
    equilibrium: Option<Equilibrium>,
    warmup: &mut WarmupChain,
    out: &mut PixelOutput,
) -> ChainState {
    let soc = px.soc * p.soc;
    let clay = px.clay * p.clay;
    let soil = chain_soil(opts, px, p);
    let year = spin_year(table, px, p);
    let spin_year = |m: usize| year[m];
    let iom = falloon_iom(soc);

    // Phase 1: spin-up
    let (ceq, pools, tsmd) = match opts.spinup {
        SpinupMethod::Equilibrium | SpinupMethod::RothamstedIterative => {
            let (ceq, pools, tsmd, periodic) = equilibrium
                .unwrap_or_else(|| equilibrium::equilibrium_inputs(&soil, &spin_year, soc));
            if !periodic {
                out.flags |= flags::DEFICIT_NOT_PERIODIC;
            }
            if opts.spinup == SpinupMethod::RothamstedIterative {
                let year = |m: usize| MonthForcing {
                    plant_input: ceq / 12.0,
                    ..spin_year(m)
                };
                let it = equilibrium::iterative(&soil, &year, iom);
                if !it.converged {
                    out.flags |= flags::SPINUP_NOT_CONVERGED;
                }
                if r == 0 {
                    out.spinup_months = it.count as u64;
                }
                (ceq, it.pools, it.tsmd)
            } else {
                (ceq, pools, tsmd)
            }
        }
        SpinupMethod::Analytical => {
            let cycle = periodic_tsmd(&soil, &spin_year, 0.0);
            if !cycle.periodic {
                out.flags |= flags::DEFICIT_NOT_PERIODIC;
            }
            let mut acc = cycle.tsmd;
            let mut sum = 0.0;
            for m in 0..12 {
                sum += month_rate(&soil, &mut acc, &spin_year(m)).rate;
            }
            let (ceq, pools) =
                equilibrium::analytical_equilibrium(soc, sum / 12.0, clay, px.spinup_dpm_rpm);
            (ceq, pools, cycle.tsmd)
        }
        SpinupMethod::Numerical => {
            let mut unit: Pools = [0.0, 0.0, 0.0, 0.0, iom];
            let mut acc = 0.0;
            for k in 0..6000 {
                let f = spin_year(k % 12);
                let rate = month_rate(&soil, &mut acc, &f).rate;
                decompose(&mut unit, &soil, rate, 1.0 / 12.0, f.dpm_rpm, 0.0);
            }
            let ceq = (soc - iom) / active(&unit);
            let pools = match opts.numerical_pools {
                // the model is linear in the input: the second run is the first one scaled
                NumericalPools::SecondRun => [
                    ceq * unit[0],
                    ceq * unit[1],
                    ceq * unit[2],
                    ceq * unit[3],
                    iom,
                ],
                NumericalPools::Weihermuller => {
                    match PedotransferGroup::of_class(px.spinup_class) {
                        Some(g) => fao::weihermuller_pools(soc, clay, iom, g),
                        None => [f64::NAN; 5],
                    }
                }
            };
            if pools[0] < 0.0 {
                out.flags |= flags::NEGATIVE_PEDOTRANSFER_DPM;
            }
            (ceq, pools, acc)
        }
    };
    let chain = &mut out.chains[r];
    chain.ceq = ceq;
    chain.pools_spinup = pools;
    chain.tsmd_spinup = tsmd;

    // Phase 2 (warm-up) in lanes with other chains: `warm_up`
    *warmup = WarmupChain {
        temperature: p.temperature,
        precipitation: p.precipitation,
        ceq,
        npp_reference: p.npp_reference * table.coef[px.spinup_class as usize],
    };
    ChainState { soil, pools, tsmd }
}

/// One Rothamsted-mode chain of a batch: pixel `pixel` of the batch, perturbed by `perturb`,
/// its results in chain `run` of that pixel's output.
#[derive(Debug, Clone, Copy)]
struct ChainJob {
    pixel: usize,
    perturb: Perturbation,
    run: usize,
}

/// Rothamsted-mode chains of a batch of pixels: each spun up, then the 20 warm-up years of
/// all chains run side by side as the lanes of `solver::run_lanes_final` (each lane the same
/// bits as a chain run alone), then the forward scenarios of each. `final_soc` and `steady`
/// hold [`final_len`] and [`steady_len`] values per pixel (`steady` filled by run 0 only;
/// empty when not wanted).
#[allow(clippy::too_many_arguments)]
fn rothamsted_chains(
    opts: &Options,
    table: &ClassTable,
    pixels: &[PixelInput<'_>],
    jobs: &[ChainJob],
    ws: &mut Workspace,
    outs: &mut [PixelOutput],
    final_soc: &mut [f64],
    steady: &mut [f64],
) {
    if ws.warmup.len() < jobs.len() {
        ws.warmup.resize_with(jobs.len(), Default::default);
    }
    // The equilibria of up to 16 chains at once (their year maps in lanes).
    let mut equilibria = std::mem::take(&mut ws.equilibria);
    equilibria.clear();
    if matches!(
        opts.spinup,
        SpinupMethod::Equilibrium | SpinupMethod::RothamstedIterative
    ) {
        for group in jobs.chunks(BATCH) {
            match group.len() {
                1 => equilibria_of::<1>(opts, table, pixels, group, &mut equilibria),
                2 => equilibria_of::<2>(opts, table, pixels, group, &mut equilibria),
                0..=4 => equilibria_of::<4>(opts, table, pixels, group, &mut equilibria),
                5..=8 => equilibria_of::<8>(opts, table, pixels, group, &mut equilibria),
                _ => equilibria_of::<16>(opts, table, pixels, group, &mut equilibria),
            }
        }
    }
    let mut states = std::mem::take(&mut ws.states);
    states.clear();
    for (j, job) in jobs.iter().enumerate() {
        states.push(rothamsted_spinup(
            opts,
            table,
            &pixels[job.pixel],
            &job.perturb,
            job.run,
            equilibria.get(j).copied(),
            &mut ws.warmup[j],
            &mut outs[job.pixel],
        ));
    }
    ws.equilibria = equilibria;
    // Twenty years of months of up to 16 chains in one go (fewer lanes for a short tail: a
    // lane computed for nothing costs as much as a chain).
    let mut start = 0;
    while start < jobs.len() {
        let left = jobs.len() - start;
        let (st, js, w) = (&mut states[start..], &jobs[start..], &ws.warmup[start..]);
        start += match left {
            1 => warm_up::<1>(table, st, js, pixels, w, &mut ws.lanes1, outs),
            2 => warm_up::<2>(table, st, js, pixels, w, &mut ws.lanes2, outs),
            0..=4 => warm_up::<4>(table, st, js, pixels, w, &mut ws.lanes4, outs),
            5..=8 => warm_up::<8>(table, st, js, pixels, w, &mut ws.lanes8, outs),
            _ => warm_up::<16>(table, st, js, pixels, w, &mut ws.lanes16, outs),
        };
    }
    let (flen, slen) = (final_len(opts), steady.len() / pixels.len().max(1));
    for (job, state) in jobs.iter().zip(&states) {
        let chain = &mut outs[job.pixel].chains[job.run];
        chain.pools_t0 = state.pools;
        chain.soc_t0 = total(&state.pools);
        chain.tsmd_t0 = state.tsmd;
    }
    if opts.forward_stepping {
        for (job, state) in jobs.iter().zip(&states) {
            let k = job.pixel;
            let fin = &mut final_soc[k * flen..(k + 1) * flen];
            rothamsted_forward(
                opts,
                table,
                &pixels[k],
                &job.perturb,
                job.run,
                state,
                ws,
                &mut outs[k],
                fin,
            );
        }
    } else {
        // closed form, up to 16 chains at once
        for (group, group_states) in jobs.chunks(BATCH).zip(states.chunks(BATCH)) {
            let run = match group.len() {
                1 => forward_lanes::<1>,
                2 => forward_lanes::<2>,
                0..=4 => forward_lanes::<4>,
                5..=8 => forward_lanes::<8>,
                _ => forward_lanes::<16>,
            };
            run(opts, table, pixels, group, group_states, outs, final_soc);
        }
    }
    if slen > 0 {
        for (job, state) in jobs.iter().zip(&states).filter(|(j, _)| j.run == 0) {
            let k = job.pixel;
            let chain = outs[k].chains[0];
            let st = &mut steady[k * slen..(k + 1) * slen];
            chain_steady_state(opts, table, &pixels[k], &job.perturb, &chain, state, ws, st);
        }
    }
    ws.states = states;
}

/// The equilibria of the chains `jobs` (at most `L`) as lanes, appended to `out`; lanes beyond
/// the chains repeat the first one.
fn equilibria_of<const L: usize>(
    opts: &Options,
    table: &ClassTable,
    pixels: &[PixelInput<'_>],
    jobs: &[ChainJob],
    out: &mut Vec<Equilibrium>,
) {
    let job = |l: usize| &jobs[if l < jobs.len() { l } else { 0 }];
    let soils: [Soil; L] = std::array::from_fn(|l| {
        let j = job(l);
        chain_soil(opts, &pixels[j.pixel], &j.perturb)
    });
    let years: [[MonthForcing; 12]; L] = std::array::from_fn(|l| {
        let j = job(l);
        spin_year(table, &pixels[j.pixel], &j.perturb)
    });
    let soc: [f64; L] = std::array::from_fn(|l| {
        let j = job(l);
        pixels[j.pixel].soc * j.perturb.soc
    });
    let lanes = equilibrium::equilibrium_inputs_lanes(&soils, &years, &soc);
    out.extend_from_slice(&lanes[..jobs.len()]);
}

/// The warm-up of the first (up to) `L` chains of `states` (updated in place), jobs `jobs` of
/// `pixels` with `warmup`, as the lanes of one kernel call: year by year, each lane's plant
/// input from its MIAMI NPP (`cin_t0`, `cin_mean` and flags into `outs`), and its forcing
/// written straight into the kernel's month-major lanes. Lanes beyond the chains repeat the
/// first one. Returns the chains done.
///
/// The lanes are the inner loop: the chains' years (each a serial chain of sums, exponentials
/// and divisions) are independent of each other, so they overlap in the CPU, and each year's
/// series are read once for both the NPP and the forcing.
fn warm_up<const L: usize>(
    table: &ClassTable,
    states: &mut [ChainState],
    jobs: &[ChainJob],
    pixels: &[PixelInput<'_>],
    warmup: &[WarmupChain],
    buffers: &mut solver::LaneForcing<L>,
    outs: &mut [PixelOutput],
) -> usize {
    let n = states.len().min(L);
    let lane = |l: usize| if l < n { l } else { 0 };
    let mut pools: [Pools; L] = std::array::from_fn(|l| states[lane(l)].pools);
    let mut tsmd: [f64; L] = std::array::from_fn(|l| states[lane(l)].tsmd);
    let soils: [Soil; L] = std::array::from_fn(|l| states[lane(l)].soil);
    let years = pixels[jobs[0].pixel].warmup_class.len();
    buffers.prepare(12 * years);
    let (fym_dpm, fym_rpm, fym_hum) = split_fym(0.0);
    let mut v = solver::LaneYear::<L>::default();
    v.inputs[2] = [fym_dpm; L];
    v.inputs[3] = [fym_rpm; L];
    v.inputs[4] = [fym_hum; L];
    for l in 0..L {
        let px = &pixels[jobs[lane(l)].pixel];
        for (m, cover) in px.warmup_cover.iter().enumerate() {
            v.cover[m][l] = *cover;
        }
        assert_eq!(
            px.warmup_class.len(),
            years,
            "chains of different warm-up lengths"
        );
    }
    // the plant input of each lane: restarted from the equilibrium input after a year
    // without a coefficient (and in the first year), else last year's scaled by the NPP of
    // the year over last year's
    let mut previous_npp = [f64::NAN; L];
    let mut restart = [true; L];
    let mut input = [0.0; L];
    let mut input_sum = [0.0; L];
    let mut flagged = [0u32; L];
    for y in 0..years {
        for l in 0..L {
            let (w, px) = (&warmup[lane(l)], &pixels[jobs[lane(l)].pixel]);
            let class = px.warmup_class[y];
            let coef = table.coef[class as usize];
            let evap = soils[l].evap_coefficient;
            let t = px.warmup_temperature.year(y);
            let pr = px.warmup_precipitation.year(y);
            let pet = px.warmup_pet.year(y);
            let mut t_sum = 0.0;
            let mut p_sum = 0.0;
            for m in 0..12 {
                let temperature = t[m] * w.temperature;
                let precipitation = pr[m] * w.precipitation;
                t_sum += temperature;
                p_sum += precipitation;
                v.temperature[m][l] = temperature;
                v.water_balance[m][l] = precipitation - evap * pet[m];
            }
            if coef.is_nan() {
                input[l] = 0.0;
                restart[l] = true;
                flagged[l] |= flags::CLASS_WITHOUT_COEFFICIENT;
            } else {
                let npp = fao::miami_npp(t_sum / 12.0, p_sum) * coef;
                input[l] = if restart[l] {
                    w.ceq * npp / w.npp_reference
                } else {
                    input[l] * npp / previous_npp[l]
                };
                restart[l] = false;
                previous_npp[l] = npp;
            }
            input_sum[l] += input[l];
            // the bits of `LaneForcing::load` on the monthly columns: the plant input split
            // by `split_plant_input(1.0, ratio)`, then times the month's input
            let (to_dpm, to_rpm) = split_plant_input(1.0, px.warmup_dpm_rpm[y]);
            let plant = input[l] / 12.0;
            v.rate_factor[l] = table.paddy[class as usize];
            v.inputs[0][l] = to_dpm * plant;
            v.inputs[1][l] = to_rpm * plant;
        }
        buffers.set_year(y, &v);
    }
    solver::run_lanes_prepared(&mut pools, &mut tsmd, &soils, buffers, 12 * years);
    for (l, state) in states.iter_mut().take(n).enumerate() {
        (state.pools, state.tsmd) = (pools[l], tsmd[l]);
        let job = &jobs[l];
        let out = &mut outs[job.pixel];
        out.flags |= flagged[l];
        let chain = &mut out.chains[job.run];
        chain.cin_t0 = input[l];
        chain.cin_mean = input_sum[l] / years as f64;
    }
    n
}

/// The monthly input (t C/ha) of scenario `s` of a chain whose mean warm-up input is
/// `cin_mean` (t C/ha/yr).
fn scenario_input(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    p: &Perturbation,
    cin_mean: f64,
    s: usize,
) -> f64 {
    let inc = increase(opts, table, s, px.forward_class) * p.increase;
    cin_mean * (1.0 + inc) / 12.0
}

/// Forward scenarios of a Rothamsted-mode chain from its state at t0, one chain at a time:
/// stepped month by month, or in closed form.
#[allow(clippy::too_many_arguments)]
fn rothamsted_forward(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    p: &Perturbation,
    r: usize,
    state: &ChainState,
    ws: &mut Workspace,
    out: &mut PixelOutput,
    final_soc: &mut [f64],
) {
    let (soil, tsmd) = (state.soil, state.tsmd);
    // Phase 3: forward. The rates do not depend on the input, so every scenario shares them.
    let year = forward_year(table, px, p);
    let forcing = |m: usize| year[m];
    let cin_mean = out.chains[r].cin_mean;
    let inputs = |s: usize| scenario_input(opts, table, px, p, cin_mean, s);
    let pools_t0 = out.chains[r].pools_t0;
    let negative = if opts.forward_stepping {
        forward_stepping(
            opts, &soil, &forcing, tsmd, pools_t0, &inputs, r, ws, final_soc,
        )
    } else {
        forward_closed_form(opts, &soil, &forcing, tsmd, pools_t0, &inputs, r, final_soc)
    };
    if negative {
        out.flags |= flags::NEGATIVE_POOL;
    }
}

/// Closed-form forward runs of up to `L` chains of a batch as lanes (lanes beyond the chains
/// repeat the first one); the chain outputs at t0 must be set.
#[allow(clippy::too_many_arguments)]
fn forward_lanes<const L: usize>(
    opts: &Options,
    table: &ClassTable,
    pixels: &[PixelInput<'_>],
    jobs: &[ChainJob],
    states: &[ChainState],
    outs: &mut [PixelOutput],
    final_soc: &mut [f64],
) {
    let at = |l: usize| if l < jobs.len() { l } else { 0 };
    let job = |l: usize| &jobs[at(l)];
    let soils: [Soil; L] = std::array::from_fn(|l| states[at(l)].soil);
    let years: [[MonthForcing; 12]; L] = std::array::from_fn(|l| {
        let j = job(l);
        forward_year(table, &pixels[j.pixel], &j.perturb)
    });
    let rates: [YearRates; L] =
        std::array::from_fn(|l| YearRates::new(&soils[l], &|m| years[l][m]));
    let cin_mean: [f64; L] =
        std::array::from_fn(|l| outs[job(l).pixel].chains[job(l).run].cin_mean);
    let inputs = |l: usize, s: usize| {
        let j = job(l);
        scenario_input(opts, table, &pixels[j.pixel], &j.perturb, cin_mean[l], s)
    };
    let flen = final_len(opts);
    let negative = forward_closed_form_lanes(
        opts,
        &soils,
        &rates,
        &years.map(|y| y[0].dpm_rpm),
        &std::array::from_fn(|l| states[at(l)].tsmd),
        &std::array::from_fn(|l| states[at(l)].pools),
        &inputs,
        &std::array::from_fn(|l| job(l).run),
        &mut |l, i, v| {
            if l < jobs.len() {
                final_soc[jobs[l].pixel * flen + i] = v;
            }
        },
    );
    for (job, negative) in jobs.iter().zip(negative) {
        if negative {
            outs[job.pixel].flags |= flags::NEGATIVE_POOL;
        }
    }
}

/// Years to the new steady state of every scenario of a chain (`steady`), from its state at t0
/// ([`years_to_steady_state`]).
#[allow(clippy::too_many_arguments)]
fn chain_steady_state(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    p: &Perturbation,
    chain: &ChainOutput,
    state: &ChainState,
    ws: &mut Workspace,
    steady: &mut [f64],
) {
    let year = forward_year(table, px, p);
    // the monthly maps (for a unit input) are shared by every scenario
    let mut pre = std::mem::take(&mut ws.maps);
    let unit_year = forward_unit_maps(&state.soil, &|m| year[m], state.tsmd, &mut pre);
    for (s, years) in steady.iter_mut().enumerate() {
        let input = scenario_input(opts, table, px, p, chain.cin_mean, s);
        *years = match &unit_year {
            Some(y) => steady_years(&pre, y, chain.pools_t0, input),
            None => f64::NAN,
        };
    }
    ws.maps = pre;
}

/// Years after t0 to the new steady state (METHOD.md section 5, manual 5.2), on year-end
/// stocks: the smallest t (years, linear between year ends) after which
/// |SOC_Dec(y) - SOC_eq| <= 0.05 |SOC(t0) - SOC_eq| at every later year end y, with SOC the
/// total including IOM and SOC_eq the year-end total of the scenario's periodic equilibrium.
/// (The band is relative to SOC(t0), so SOC(t0) is outside it unless SOC(t0) = SOC_eq.) NaN
/// where SOC(t0) = SOC_eq exactly (no band), when a value is not finite, when the deficit is
/// not periodic within 10,000 years, or when the stocks do not stay within the band within
/// 1,000,000 years.
pub fn years_to_steady_state(
    soil: &Soil,
    forcing: &dyn Fn(usize) -> MonthForcing,
    tsmd: f64,
    pools_t0: Pools,
    monthly_input: f64,
) -> f64 {
    let mut pre = Vec::new();
    match forward_unit_maps(soil, forcing, tsmd, &mut pre) {
        Some(year) => steady_years(&pre, &year, pools_t0, monthly_input),
        None => f64::NAN,
    }
}

/// Monthly maps of the forward climate for a unit monthly input, from the deficit `tsmd`
/// (mm): the months before the deficit is periodic go to `pre` (whole years), the periodic
/// year is returned (None when the deficit is not periodic within 10,000 years).
fn forward_unit_maps(
    soil: &Soil,
    forcing: &dyn Fn(usize) -> MonthForcing,
    tsmd: f64,
    pre: &mut Vec<YearMap>,
) -> Option<[YearMap; 12]> {
    let dpm_rpm = forcing(0).dpm_rpm;
    let unit = [dpm_rpm / (dpm_rpm + 1.0), 1.0 / (dpm_rpm + 1.0), 0.0, 0.0];
    pre.clear();
    let mut year: [YearMap; 12] = [YearMap::identity(); 12];
    let mut acc = tsmd;
    let rates = YearRates::new(soil, forcing);
    for _ in 0..STEADY_MAX_YEARS {
        let start = acc;
        for (m, map) in year.iter_mut().enumerate() {
            *map = YearMap::month(soil, rates.rate(soil, &mut acc, m), unit);
        }
        if acc == start {
            return Some(year);
        }
        pre.extend_from_slice(&year);
    }
    None
}

/// Years stepped at most until the deficit is periodic.
const STEADY_MAX_YEARS: usize = 10_000;

/// Years stepped at most towards the band of the steady state.
const BAND_MAX_YEARS: usize = 1_000_000;

/// Years to the steady state for the monthly input `monthly_input` (t C/ha), from the unit
/// maps of [`forward_unit_maps`] (see [`years_to_steady_state`]). The year ends are stepped
/// with each year's composed map until no later year end can leave the band: the periodic
/// year's linear part is non-negative with column sums below 1 (carbon only stays, moves to
/// BIO and HUM, or leaves as CO2), so the sum of the pools' absolute distances to the
/// equilibrium never grows from one year end to the next, and it bounds |SOC - SOC_eq|.
fn steady_years(pre: &[YearMap], year: &[YearMap; 12], pools_t0: Pools, monthly_input: f64) -> f64 {
    let compose = |months: &[YearMap]| months.iter().fold(YearMap::identity(), |a, m| a.then(m));
    let iom = pools_t0[4];
    let periodic = compose(year);
    let c_eq = YearMap {
        g: periodic.g.map(|v| v * monthly_input),
        ..periodic
    }
    .fixed_point();
    let soc_eq = c_eq.iter().sum::<f64>() + iom;
    let soc_t0 = total(&pools_t0);
    let tol = 0.05 * (soc_t0 - soc_eq).abs();
    if !(tol > 0.0 && tol.is_finite()) {
        return f64::NAN;
    }
    let outside = |soc: f64| (soc - soc_eq).abs() > tol;
    // the last year end outside the band (year, SOC) and the SOC of the year end after it
    let mut last_fail = outside(soc_t0).then_some((0usize, soc_t0));
    let mut after = f64::NAN;
    let mut c = [pools_t0[0], pools_t0[1], pools_t0[2], pools_t0[3]];
    let mut y = 0usize;
    let mut step = |map: &YearMap, c: &mut [f64; 4], y: &mut usize| {
        *c = map.apply_scaled(*c, monthly_input);
        *y += 1;
        let soc = c.iter().sum::<f64>() + iom;
        if outside(soc) {
            last_fail = Some((*y, soc));
            after = f64::NAN;
        } else if matches!(last_fail, Some((f, _)) if f + 1 == *y) {
            after = soc;
        }
    };
    for months in pre.chunks(12) {
        step(&compose(months), &mut c, &mut y);
    }
    let mut settled = false;
    for _ in 0..BAND_MAX_YEARS {
        let distance: f64 = c.iter().zip(&c_eq).map(|(a, b)| (a - b).abs()).sum();
        if !distance.is_finite() {
            return f64::NAN;
        }
        if distance <= tol {
            settled = true;
            break;
        }
        step(&periodic, &mut c, &mut y);
    }
    match last_fail {
        _ if !settled => f64::NAN,
        None => 0.0,
        Some((y_fail, s_fail)) => {
            // the linear path between the year ends y_fail and y_fail + 1 enters the band at
            // its edge on the side of SOC(y_fail)
            let edge = if s_fail > soc_eq {
                soc_eq + tol
            } else {
                soc_eq - tol
            };
            let f = ((edge - s_fail) / (after - s_fail)).clamp(0.0, 1.0);
            y_fail as f64 + f
        }
    }
}

/// Month-by-month forward runs of every scenario (the reference for the closed form).
#[allow(clippy::too_many_arguments)]
fn forward_stepping(
    opts: &Options,
    soil: &Soil,
    forcing: &dyn Fn(usize) -> MonthForcing,
    tsmd: f64,
    pools_t0: Pools,
    inputs: &dyn Fn(usize) -> f64,
    r: usize,
    ws: &mut Workspace,
    final_soc: &mut [f64],
) -> bool {
    let months = 12 * opts.horizons.last().copied().unwrap_or(0);
    ws.rates.clear();
    let mut acc = tsmd;
    let rates = YearRates::new(soil, forcing);
    for k in 0..months {
        ws.rates.push(rates.rate(soil, &mut acc, k % 12));
    }
    let dpm_rpm = forcing(0).dpm_rpm;
    let mut negative = false;
    for s in 0..opts.scenarios.len() {
        let monthly_input = inputs(s);
        let mut fp = pools_t0;
        let mut h = 0;
        for (k, rate) in ws.rates.iter().enumerate() {
            decompose(&mut fp, soil, *rate, monthly_input, dpm_rpm, 0.0);
            while h < opts.horizons.len() && k + 1 == 12 * opts.horizons[h] {
                final_soc[index(opts, h, s, r)] = total(&fp);
                h += 1;
            }
        }
        negative |= fp.iter().any(|v| *v < 0.0);
    }
    negative
}

/// Forward runs in closed form: months are stepped (as affine maps, for a unit input) only
/// until the moisture deficit joins its periodic year, whose composed map is then raised to
/// the remaining years by squaring. The cost does not grow with the horizon, and all
/// scenarios, which differ only in the input, share the maps.
///
/// From the pools `pools_t0` (t C/ha) and deficit `tsmd` (mm) at t0, under the 12-month
/// `forcing` (its `dpm_rpm` splits the input) with `inputs(s)` t C/ha a month for scenario
/// `s`, writes the total SOC (t C/ha) of every horizon and scenario of `opts` for chain `r`
/// into `final_soc` (indexed as
/// in [`simulate_pixel`]). Returns whether a pool went negative. Panics unless `r < 3` and
/// `final_soc.len() >= final_len(opts)`.
#[allow(clippy::too_many_arguments)]
pub fn forward_closed_form(
    opts: &Options,
    soil: &Soil,
    forcing: &dyn Fn(usize) -> MonthForcing,
    tsmd: f64,
    pools_t0: Pools,
    inputs: &dyn Fn(usize) -> f64,
    r: usize,
    final_soc: &mut [f64],
) -> bool {
    let [negative] = forward_closed_form_lanes(
        opts,
        &[*soil],
        &[YearRates::new(soil, forcing)],
        &[forcing(0).dpm_rpm],
        &[tsmd],
        &[pools_t0],
        &|_, s| inputs(s),
        &[r],
        &mut |_, i, v| final_soc[i] = v,
    );
    negative
}

simd_dispatch! {
    /// [`forward_closed_form`] of `L` chains side by side, the same bits lane by lane: soils,
    /// rates of the forward year, DPM/RPM ratio, deficit and pools at t0 of each lane;
    /// `inputs(lane, s)` the monthly input of scenario `s`; `runs` the chain (0 central, 1 min,
    /// 2 max) of each lane; each final total SOC goes to `write(lane, index, value)` (index as in
    /// [`simulate_pixel`]). The year maps of all lanes are composed as vectors; the transient
    /// years before each lane's deficit is periodic are composed for every lane (and kept for
    /// those still in them).
    fn forward_closed_form_lanes<const L: usize>(
        opts: &Options,
        soils: &[Soil; L],
        rates: &[YearRates; L],
        dpm_rpm: &[f64; L],
        tsmd: &[f64; L],
        pools_t0: &[Pools; L],
        inputs: &dyn Fn(usize, usize) -> f64,
        runs: &[usize; L],
        write: &mut dyn FnMut(usize, usize, f64),
    ) -> [bool; L] {
        let (max_years, n_h) = (
            opts.horizons.last().copied().unwrap_or(0),
            opts.horizons.len(),
        );
        let mut unit = [[0.0; L]; 4];
        for (l, r) in dpm_rpm.iter().enumerate() {
            [unit[0][l], unit[1][l]] = [r / (r + 1.0), 1.0 / (r + 1.0)];
        }
        let partition = soils.map(|s| s.partition);
        let c0 = pools_t0.map(|p| [p[0], p[1], p[2], p[3]]);
        let mut negative = [false; L];
        let mut finals = |l: usize, map: &YearMap, h: usize, negative: &mut [bool; L]| {
            let iom = pools_t0[l][4];
            negative[l] |= write_finals(
                opts,
                map,
                c0[l],
                iom,
                &|s| inputs(l, s),
                h,
                runs[l],
                &mut |i, v| write(l, i, v),
            );
        };
        // Years before the deficit is periodic, composed; then the periodic year.
        let mut acc = *tsmd;
        let (mut pre, mut periodic) = (YearMaps::<L>::identity(), YearMaps::<L>::identity());
        let (mut pre_years, mut next_h) = ([0usize; L], [0usize; L]);
        let (mut transient, mut found) = ([true; L], [false; L]);
        for y in 0..max_years {
            if !transient.iter().any(|&t| t) {
                break;
            }
            let start = acc;
            let mut year = YearMaps::<L>::identity();
            for m in 0..12 {
                let mut rate = [0.0; L];
                for l in 0..L {
                    rate[l] = rates[l].rate(&soils[l], &mut acc[l], m);
                }
                year.push_month(&partition, &rate, &unit);
            }
            let joined: [bool; L] = std::array::from_fn(|l| transient[l] && acc[l] == start[l]);
            periodic.take_lanes(&year, &joined);
            for l in 0..L {
                found[l] |= joined[l];
                transient[l] &= !joined[l];
            }
            pre.take_lanes(&pre.then(&year), &transient);
            for l in (0..L).filter(|&l| transient[l]) {
                pre_years[l] += 1;
                while next_h[l] < n_h && opts.horizons[next_h[l]] == y + 1 {
                    finals(l, &pre.lane(l), next_h[l], &mut negative);
                    next_h[l] += 1;
                }
            }
        }
        // The remaining horizons: the periodic year raised to the years left after the transient.
        let mut power = YearMaps::<L>::identity();
        let mut power_years = [0usize; L];
        for h in 0..n_h {
            let todo: [bool; L] = std::array::from_fn(|l| found[l] && h >= next_h[l]);
            if !todo.iter().any(|&t| t) {
                continue;
            }
            let k: [usize; L] = std::array::from_fn(|l| {
                if todo[l] {
                    opts.horizons[h] - pre_years[l] - power_years[l]
                } else {
                    0
                }
            });
            power.take_lanes(&power.then(&periodic.power(&k)), &todo);
            let map = pre.then(&power);
            for l in (0..L).filter(|&l| todo[l]) {
                power_years[l] += k[l];
                finals(l, &map.lane(l), h, &mut negative);
            }
        }
        negative
    }
}

/// The final total SOC of every scenario at horizon `h` from the map of the horizon (chain
/// `r`), each to `write(index, value)`; whether a pool went negative.
#[allow(clippy::too_many_arguments)]
fn write_finals(
    opts: &Options,
    map: &YearMap,
    c0: [f64; 4],
    iom: f64,
    inputs: &dyn Fn(usize) -> f64,
    h: usize,
    r: usize,
    write: &mut dyn FnMut(usize, f64),
) -> bool {
    let mut negative = false;
    for s in 0..opts.scenarios.len() {
        let c = map.apply_scaled(c0, inputs(s));
        negative |= c.iter().any(|v| *v < 0.0);
        write(index(opts, h, s, r), c[0] + c[1] + c[2] + c[3] + iom);
    }
    negative
}

fn scaled(values: &[f64], factor: f64) -> [f64; 12] {
    let mut out = [0.0; 12];
    for (o, v) in out.iter_mut().zip(values.iter()) {
        *o = v * factor;
    }
    out
}

fn fao_chain(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    perturb: &[Perturbation; 3],
    r: usize,
    out: &mut PixelOutput,
    final_soc: &mut [f64],
) {
    let p = &perturb[r];
    let soc = px.soc * p.soc;
    let clay = px.clay * p.clay;
    let iom_central = fao::iom(px.soc);
    let spin_paddy = table.paddy[px.spinup_class as usize];

    // Phase 1: spin-up (scripts 11 / 11.2)
    let (ceq, pools) = match opts.spinup {
        SpinupMethod::Numerical => {
            let xi = fao::xi_months(
                &scaled(px.spinup_temperature, p.temperature),
                &scaled(px.spinup_precipitation, p.precipitation),
                px.spinup_pet,
                px.spinup_cover,
                clay,
                spin_paddy,
            );
            let model = EulerModel::new(clay, px.spinup_dpm_rpm);
            let mut fb: Pools = [0.0, 0.0, 0.0, 0.0, iom_central];
            model.run(&mut fb, 1.0, &xi, 500.0);
            let iom = fao::iom(soc);
            let ceq = (soc - iom) / ((fb[0] + fb[1] + fb[2] + fb[3] + fb[4] - iom) / 1.0);
            let pools = match opts.numerical_pools {
                NumericalPools::Weihermuller => {
                    match PedotransferGroup::of_class(px.spinup_class) {
                        Some(g) => fao::weihermuller_pools(soc, clay, iom, g),
                        None => [f64::NAN; 5],
                    }
                }
                NumericalPools::SecondRun => {
                    let mut pools: Pools = [0.0, 0.0, 0.0, 0.0, iom];
                    model.run(&mut pools, ceq, &xi, 500.0);
                    pools
                }
            };
            if pools[0] < 0.0 {
                out.flags |= flags::NEGATIVE_PEDOTRANSFER_DPM;
            }
            (ceq, pools)
        }
        _ => {
            // script 11: T and P not perturbed, IOM of the central SOC (its scoping bug)
            let xi = fao::xi_months(
                px.spinup_temperature,
                px.spinup_precipitation,
                px.spinup_pet,
                px.spinup_cover,
                clay,
                spin_paddy,
            );
            fao::analytical_spinup(soc, iom_central, fao::r_mean(&xi), clay, px.spinup_dpm_rpm)
        }
    };
    let chain = &mut out.chains[r];
    chain.ceq = ceq;
    chain.pools_spinup = pools;
    chain.tsmd_spinup = 0.0;

    // Phase 2: warm-up (script 12): the central NPP reference with the last year's class
    let years = px.warmup_class.len();
    let last_class = px.warmup_class[years - 1];
    let npp_reference = px.npp_reference[0] * table.coef[last_class as usize];
    let mut pools = pools;
    let mut amplification = 1.0;
    let (mut input, mut previous_npp) = (f64::NAN, f64::NAN);
    let mut inputs = [0.0f64; 128];
    let mut cin_t0 = f64::NAN;
    for y in 0..years {
        let class = px.warmup_class[y];
        let coef = table.coef[class as usize];
        let t = scaled(&px.warmup_temperature.year(y), p.temperature);
        let pr = scaled(&px.warmup_precipitation.year(y), p.precipitation);
        let pet = px.warmup_pet.year(y);
        let npp = if coef.is_nan() {
            out.flags |= flags::CLASS_WITHOUT_COEFFICIENT;
            0.0
        } else {
            fao::miami_npp(fao::r_mean(&t), fao::r_sum(&pr)) * coef
        };
        input = if y == 0 {
            (ceq / npp_reference) * npp
        } else {
            (input / previous_npp) * npp
        };
        previous_npp = npp;
        if y < inputs.len() {
            inputs[y] = input;
        }
        if y == 17 {
            cin_t0 = input;
        }
        let xi = fao::xi_months(
            &t,
            &pr,
            &pet,
            px.warmup_cover,
            clay,
            table.paddy[class as usize],
        );
        let model = EulerModel::new(clay, px.warmup_dpm_rpm[y]);
        amplification *= model.run(&mut pools, input, &xi, 1.0);
    }
    if years < 18 {
        cin_t0 = input;
    }
    if amplification > 1.0 {
        out.flags |= flags::FAO_UNSTABLE_WARMUP;
    }
    let cin_mean = fao::r_mean(&inputs[..years.min(inputs.len())]);
    let chain = &mut out.chains[r];
    chain.pools_t0 = pools;
    chain.soc_t0 = total(&pools);
    chain.cin_t0 = cin_t0;
    chain.cin_mean = cin_mean;
    chain.tsmd_t0 = 0.0;

    // Phase 3: forward (script 13)
    let xi = fao::xi_months(
        &scaled(px.forward_temperature, p.temperature),
        &scaled(px.forward_precipitation, p.precipitation),
        px.forward_pet,
        px.forward_cover,
        clay,
        table.paddy[px.forward_class as usize],
    );
    let model = EulerModel::new(clay, px.forward_dpm_rpm);
    let uncertain = opts.fao_uncertain_scenario;
    for s in 0..opts.scenarios.len() {
        let factor = 1.0 + increase(opts, table, s, px.forward_class);
        let input = match (r, s) {
            (0, _) => cin_mean * factor,
            (_, 0) => cin_mean,
            (1, s) if s == uncertain => cin_mean * (factor - INCREASE_UNCERTAINTY),
            (2, s) if s == uncertain => cin_mean * (factor + INCREASE_UNCERTAINTY),
            _ => continue,
        };
        let mut fp = out.chains[r].pools_t0;
        let mut done = 0.0;
        let mut amplification = 1.0;
        for (h, &horizon) in opts.horizons.iter().enumerate() {
            amplification *= model.run_between(&mut fp, input, &xi, horizon as f64, done);
            done = horizon as f64;
            final_soc[index(opts, h, s, r)] = total(&fp);
        }
        if amplification > 1.0 {
            out.flags |= flags::FAO_UNSTABLE_FORWARD;
        }
        if fp.iter().any(|v| *v < 0.0) {
            out.flags |= flags::NEGATIVE_POOL;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(stepping: bool) -> Options {
        Options {
            mode: Mode::Rothamsted,
            spinup: SpinupMethod::Equilibrium,
            numerical_pools: NumericalPools::SecondRun,
            horizons: vec![1, 20, 50, 100],
            scenarios: vec![[0.0; 3], [0.05; 3], [0.1; 3], [0.2; 3]],
            uncertainty: true,
            fao_uncertain_scenario: 2,
            depth: 30.0,
            evap_coefficient: 1.0,
            forward_stepping: stepping,
            steady_state: false,
            main_horizon: 1,
            mc_samples: 0,
            mc_seed: 0,
        }
    }

    #[test]
    fn class_table_is_the_method_table() {
        let t = ClassTable::default();
        // METHOD.md section 2, row by row: code, DPM/RPM, coefficient, SSM group
        for (code, dr, coef, group) in [
            (2, 1.44, 0.53, 0),
            (3, 0.67, 0.72, 1),
            (4, 0.25, 0.88, 255),
            (5, 0.67, 0.72, 1),
            (6, 0.67, 0.72, 1),
            (8, 0.67, 0.72, 1),
            (12, 1.44, 0.53, 0),
            (13, 1.44, 0.53, 2),
        ] {
            assert_eq!(
                (t.dpm_rpm[code], t.coef[code], t.group[code]),
                (dr, coef, group)
            );
        }
        for code in [0, 1, 7, 9, 10, 11, 14, 255] {
            assert!(t.coef[code].is_nan() && t.dpm_rpm[code].is_nan() && t.group[code] == 255);
        }
        let paddy: Vec<usize> = (0..256).filter(|&c| t.paddy[c] != 1.0).collect();
        assert_eq!((paddy, t.paddy[13]), (vec![13], 0.4));
    }

    #[test]
    fn flags_and_factors() {
        let bits: Vec<u32> = flags::DESCRIPTIONS.iter().map(|(b, _)| *b).collect();
        assert_eq!(bits, (0..8).map(|k| 1 << k).collect::<Vec<_>>());
        // the Monte Carlo draws' 95 % limits are the min/max factors (METHOD.md section 6)
        let [_, low, high] = MINMAX_CLIMATE;
        for (k, spread) in MC_SPREAD.iter().enumerate().take(2) {
            assert!(((high[k] - low[k]).abs() / 2.0 - spread).abs() < 1e-15);
        }
        let [_, low_inc, high_inc] = MINMAX_INCREASE;
        for half_width in [1.0 - low_inc, high_inc - 1.0] {
            assert!((half_width - MC_SPREAD[2]).abs() < 1e-15);
        }
    }

    #[test]
    fn closed_form_forward_equals_month_by_month() {
        let table = ClassTable::default();
        // humid, dry (deficit at the clamp), dry with bare months, paddy, cold
        let climates: [(f64, f64, f64, u8); 5] = [
            (12.0, 110.0, 40.0, 2),
            (24.0, 15.0, 150.0, 3),
            (20.0, 30.0, 90.0, 2),
            (27.0, 200.0, 120.0, 13),
            (-2.0, 40.0, 10.0, 5),
        ];
        for (t_mean, p_mean, e_mean, class) in climates {
            let season: [f64; 12] =
                std::array::from_fn(|m| (m as f64 * std::f64::consts::FRAC_PI_6).cos());
            let t: [f64; 12] = std::array::from_fn(|m| t_mean + 6.0 * season[m]);
            let pr: [f64; 12] = std::array::from_fn(|m| p_mean * (1.0 + 0.8 * season[m]));
            let e: [f64; 12] = std::array::from_fn(|m| e_mean * (1.0 - 0.5 * season[m]));
            let cover: [f64; 12] = std::array::from_fn(|m| if m < 3 { 1.0 } else { 0.6 });
            let wt: Vec<f64> = (0..240).map(|k| t[k % 12] + 0.01 * k as f64).collect();
            let wp: Vec<f64> = (0..240).map(|k| pr[k % 12]).collect();
            let we: Vec<f64> = (0..240).map(|k| e[k % 12]).collect();
            let classes = [class; 20];
            let dr = [1.44; 20];
            let px = PixelInput {
                soc: 55.0,
                clay: 28.0,
                soc_uncertainty: 0.2,
                clay_uncertainty: 0.1,
                spinup_cover: &cover,
                warmup_cover: &cover,
                forward_cover: &cover,
                spinup_temperature: &t,
                spinup_precipitation: &pr,
                spinup_pet: &e,
                spinup_class: class,
                spinup_dpm_rpm: 1.44,
                warmup_temperature: (&wt).into(),
                warmup_precipitation: (&wp).into(),
                warmup_pet: (&we).into(),
                warmup_class: &classes,
                warmup_dpm_rpm: &dr,
                forward_temperature: &t,
                forward_precipitation: &pr,
                forward_pet: &e,
                forward_class: class,
                forward_dpm_rpm: 1.44,
                npp_reference: [5.0, 4.8, 5.2],
                reference_climate: None,
            };
            let mut results = Vec::new();
            for stepping in [false, true] {
                let opts = options(stepping);
                let mut out = PixelOutput::default();
                let mut finals = vec![0.0; final_len(&opts)];
                simulate_pixel(
                    &opts,
                    &table,
                    &px,
                    &mut Workspace::default(),
                    &mut out,
                    &mut finals,
                    &mut [],
                    &mut [],
                    0,
                );
                results.push(finals);
            }
            for (a, b) in results[0].iter().zip(results[1].iter()) {
                assert!(a.is_finite() && b.is_finite());
                assert!((a / b - 1.0).abs() < 1e-12, "{a} vs {b} (T {t_mean})");
            }
        }
    }

    #[test]
    fn years_to_steady_state_equals_a_long_monthly_run() {
        let soil = Soil::new(30.0, 30.0, 1.0);
        let t = [
            2.0, 3.0, 6.0, 9.0, 13.0, 16.0, 18.0, 18.0, 15.0, 11.0, 6.0, 3.0,
        ];
        let pr = [
            60.0, 50.0, 45.0, 40.0, 50.0, 45.0, 50.0, 55.0, 60.0, 70.0, 75.0, 70.0,
        ];
        let e = [
            5.0, 10.0, 30.0, 55.0, 85.0, 100.0, 110.0, 90.0, 55.0, 25.0, 8.0, 4.0,
        ];
        let forcing = |m: usize| MonthForcing {
            temperature: t[m],
            precipitation: pr[m],
            evaporation: e[m],
            cover: if m == 8 { 1.0 } else { 0.6 },
            plant_input: 0.0,
            fym_input: 0.0,
            dpm_rpm: 1.44,
            rate_factor: 1.0,
        };
        let pools0 = [0.3, 4.0, 0.6, 25.0, 3.0];
        // below, near and above the input that holds SOC(t0)
        for input in [0.15, 0.25, 0.4] {
            let got = years_to_steady_state(&soil, &forcing, -20.0, pools0, input);
            // reference: 10,000 years month by month; the year ends, the last one outside the
            // band, linear between year ends
            let mut p = [pools0[0], pools0[1], pools0[2], pools0[3], pools0[4]];
            let mut acc = -20.0;
            let mut year_ends = vec![total(&p)];
            for k in 0..120_000 {
                let f = MonthForcing {
                    plant_input: input,
                    ..forcing(k % 12)
                };
                let rate = month_rate(&soil, &mut acc, &f).rate;
                decompose(&mut p, &soil, rate, input, 1.44, 0.0);
                if k % 12 == 11 {
                    year_ends.push(total(&p));
                }
            }
            let eq = year_ends[year_ends.len() - 1];
            let tol = 0.05 * (year_ends[0] - eq).abs();
            let last = (0..year_ends.len())
                .rev()
                .find(|&y| (year_ends[y] - eq).abs() > tol)
                .unwrap();
            let edge = if year_ends[last] > eq {
                eq + tol
            } else {
                eq - tol
            };
            let f = (edge - year_ends[last]) / (year_ends[last + 1] - year_ends[last]);
            let want = last as f64 + f;
            assert!(got.is_finite() && want > 1.0);
            assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        }
        // no band where SOC(t0) is the equilibrium exactly
        let eq = {
            let mut pre = Vec::new();
            let year = forward_unit_maps(&soil, &forcing, -20.0, &mut pre).unwrap();
            assert!(pre.is_empty() || pre.len() % 12 == 0);
            let composed = year.iter().fold(YearMap::identity(), |a, m| a.then(m));
            YearMap {
                g: composed.g.map(|v| v * 0.25),
                ..composed
            }
            .fixed_point()
        };
        let at_eq = [eq[0], eq[1], eq[2], eq[3], 3.0];
        assert_eq!(total(&at_eq), eq.iter().sum::<f64>() + 3.0);
        assert!(years_to_steady_state(&soil, &forcing, -20.0, at_eq, 0.25).is_nan());
    }

    /// Pixels of different climates, soils and land-use histories (20 warm-up years).
    struct TestArea {
        t: Vec<Vec<f64>>,
        p: Vec<Vec<f64>>,
        e: Vec<Vec<f64>>,
        t12: Vec<[f64; 12]>,
        p12: Vec<[f64; 12]>,
        e12: Vec<[f64; 12]>,
        covers: Vec<[f64; 12]>,
        classes: Vec<[u8; 20]>,
        dr: [f64; 20],
    }

    impl TestArea {
        fn new(n: usize) -> Self {
            let year = |i: usize, k: usize| {
                let m = (k % 12) as f64;
                let dry = 1.0 + (i % 5) as f64 * 0.6;
                (
                    4.0 + i as f64 * 1.3 + 8.0 * (m * 0.52).sin() + (k / 12) as f64 * 0.04,
                    (90.0 - 12.0 * (i % 7) as f64) * (1.0 + 0.5 * (m * 0.7 + i as f64).cos()),
                    dry * (40.0 + 35.0 * (m * 0.52).sin()),
                )
            };
            let series = |f: fn((f64, f64, f64)) -> f64| -> Vec<Vec<f64>> {
                (0..n)
                    .map(|i| (0..240).map(|k| f(year(i, k))).collect())
                    .collect()
            };
            let (t, p, e) = (series(|y| y.0), series(|y| y.1), series(|y| y.2));
            let first = |v: &Vec<f64>| -> [f64; 12] { std::array::from_fn(|m| v[m]) };
            TestArea {
                t12: t.iter().map(first).collect(),
                p12: p.iter().map(first).collect(),
                e12: e.iter().map(first).collect(),
                t,
                p,
                e,
                covers: (0..n)
                    .map(|i| std::array::from_fn(|m| if (m + i) % 4 == 0 { 1.0 } else { 0.6 }))
                    .collect(),
                classes: (0..n)
                    .map(|i| std::array::from_fn(|y| [2, 3, 13][(i + y / 7) % 3]))
                    .collect(),
                dr: [1.44; 20],
            }
        }

        fn pixels(&self) -> Vec<PixelInput<'_>> {
            (0..self.t.len())
                .map(|i| PixelInput {
                    soc: 20.0 + 4.0 * i as f64,
                    clay: 5.0 + 3.0 * i as f64,
                    soc_uncertainty: 0.2,
                    clay_uncertainty: 0.1,
                    spinup_cover: &self.covers[i],
                    warmup_cover: &self.covers[i],
                    forward_cover: &self.covers[i],
                    spinup_temperature: &self.t12[i],
                    spinup_precipitation: &self.p12[i],
                    spinup_pet: &self.e12[i],
                    spinup_class: self.classes[i][0],
                    spinup_dpm_rpm: 1.44,
                    warmup_temperature: (&self.t[i]).into(),
                    warmup_precipitation: (&self.p[i]).into(),
                    warmup_pet: (&self.e[i]).into(),
                    warmup_class: &self.classes[i],
                    warmup_dpm_rpm: &self.dr,
                    forward_temperature: &self.t12[i],
                    forward_precipitation: &self.p12[i],
                    forward_pet: &self.e12[i],
                    forward_class: self.classes[i][19],
                    forward_dpm_rpm: 1.44,
                    npp_reference: [5.0, 4.8, 5.2],
                    reference_climate: None,
                })
                .collect()
        }
    }

    #[test]
    fn warm_up_lanes_give_the_bits_of_run_on_monthly_columns() {
        // The warm-up forcing written straight into the kernel's lanes (`warm_up`) against the
        // monthly columns of each chain (temperature x factor, precipitation x factor, PET,
        // cover, rate factor, input / 12, FYM 0, DPM/RPM of the year) run by `solver::run`,
        // the input of each year computed chain by chain as METHOD.md section 4 has it.
        let table = ClassTable::default();
        let mut area = TestArea::new(11);
        // two years of a class without a coefficient: no input, then a restart from Ceq
        area.classes[3][5] = 7;
        area.classes[3][6] = 7;
        let pixels = area.pixels();
        let opts = options(false);
        let jobs: Vec<ChainJob> = pixels
            .iter()
            .enumerate()
            .flat_map(|(k, px)| {
                perturbations(px)
                    .into_iter()
                    .enumerate()
                    .map(move |(run, perturb)| ChainJob {
                        pixel: k,
                        perturb,
                        run,
                    })
            })
            .collect();
        let mut outs = vec![PixelOutput::default(); pixels.len()];
        let mut warmup = vec![WarmupChain::default(); jobs.len()];
        let states: Vec<ChainState> = jobs
            .iter()
            .zip(&mut warmup)
            .map(|(j, w)| {
                let px = &pixels[j.pixel];
                rothamsted_spinup(
                    &opts,
                    &table,
                    px,
                    &j.perturb,
                    j.run,
                    None,
                    w,
                    &mut outs[j.pixel],
                )
            })
            .collect();
        let mut lanes = states.clone();
        let mut buffers = solver::LaneForcing::<16>::default();
        let mut start = 0;
        while start < jobs.len() {
            let (st, js, w) = (&mut lanes[start..], &jobs[start..], &warmup[start..]);
            start += warm_up::<16>(&table, st, js, &pixels, w, &mut buffers, &mut outs);
        }
        let mut restarts = 0;
        for (j, (job, state)) in jobs.iter().zip(&states).enumerate() {
            let (px, p) = (&pixels[job.pixel], &job.perturb);
            let mut columns: [Vec<f64>; 8] = Default::default();
            let ceq = outs[job.pixel].chains[job.run].ceq;
            let npp_reference = p.npp_reference * table.coef[px.spinup_class as usize];
            let (mut input, mut sum, mut previous) = (0.0, 0.0, None);
            for y in 0..px.warmup_class.len() {
                let (t, pr, e) = (
                    px.warmup_temperature.year(y),
                    px.warmup_precipitation.year(y),
                    px.warmup_pet.year(y),
                );
                let class = px.warmup_class[y];
                let coef = table.coef[class as usize];
                if coef.is_nan() {
                    input = 0.0;
                    previous = None;
                    restarts += 1;
                } else {
                    let t_mean = (0..12).map(|m| t[m] * p.temperature).sum::<f64>() / 12.0;
                    let p_sum = (0..12).map(|m| pr[m] * p.precipitation).sum::<f64>();
                    let npp = fao::miami_npp(t_mean, p_sum) * coef;
                    input = match previous {
                        None => ceq * npp / npp_reference,
                        Some((input, previous_npp)) => input * npp / previous_npp,
                    };
                    previous = Some((input, npp));
                }
                sum += input;
                for m in 0..12 {
                    columns[0].push(t[m] * p.temperature);
                    columns[1].push(pr[m] * p.precipitation);
                    columns[2].push(e[m]);
                    columns[3].push(px.warmup_cover[m]);
                    columns[4].push(table.paddy[class as usize]);
                    columns[5].push(input / 12.0);
                    columns[6].push(0.0);
                    columns[7].push(px.warmup_dpm_rpm[y]);
                }
            }
            let chain = &outs[job.pixel].chains[job.run];
            assert!(chain.cin_mean > 0.0);
            assert_eq!(chain.cin_t0.to_bits(), input.to_bits(), "chain {j}");
            assert_eq!(
                chain.cin_mean.to_bits(),
                (sum / 20.0).to_bits(),
                "chain {j}"
            );
            let flagged = outs[job.pixel].flags & flags::CLASS_WITHOUT_COEFFICIENT != 0;
            assert_eq!(flagged, job.pixel == 3, "chain {j}");
            let (mut pools, mut tsmd) = (state.pools, state.tsmd);
            let series = solver::ForcingSeries::from_columns(&columns);
            let mut buf = solver::RunBuffers::default();
            solver::run(
                &mut pools,
                &mut tsmd,
                &state.soil,
                &series,
                &mut buf,
                |_, _, _| {},
            );
            assert_eq!(
                (pools.map(f64::to_bits), tsmd.to_bits()),
                (lanes[j].pools.map(f64::to_bits), lanes[j].tsmd.to_bits()),
                "chain {j}"
            );
        }
        assert_eq!(
            restarts, 6,
            "pixel 3's two years without a coefficient, 3 chains"
        );
    }

    #[test]
    fn a_batch_gives_the_bits_of_pixels_run_one_at_a_time() {
        // 19 pixels (a batch of 16 and a tail of 3) of different climates, soils, land-use
        // histories and deficits: different transient years before the forward deficit is
        // periodic, so the lanes of the spin-up, warm-up and forward kernels part ways.
        let table = ClassTable::default();
        let n = 19;
        let area = TestArea::new(n);
        let pixels = area.pixels();
        let mut opts = options(false);
        opts.steady_state = true;
        let (flen, slen) = (final_len(&opts), steady_len(&opts));
        let mut ws = Workspace::default();
        let mut outs = vec![PixelOutput::default(); n];
        let (mut finals, mut steady) = (vec![0.0; n * flen], vec![0.0; n * slen]);
        let ids: Vec<u64> = (0..n as u64).collect();
        simulate_pixels(
            &opts,
            &table,
            &pixels,
            &mut ws,
            &mut outs,
            &mut finals,
            &mut steady,
            &mut [],
            &ids,
        );
        assert!(finals.iter().all(|v| v.is_finite()));
        for (i, px) in pixels.iter().enumerate() {
            let mut out = PixelOutput::default();
            let (mut fin, mut st) = (vec![0.0; flen], vec![0.0; slen]);
            simulate_pixel(
                &opts,
                &table,
                px,
                &mut Workspace::default(),
                &mut out,
                &mut fin,
                &mut st,
                &mut [],
                ids[i],
            );
            let bits = |v: &[f64]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&fin),
                bits(&finals[i * flen..(i + 1) * flen]),
                "pixel {i}"
            );
            assert_eq!(
                bits(&st),
                bits(&steady[i * slen..(i + 1) * slen]),
                "pixel {i}"
            );
            for r in 0..3 {
                let (a, b) = (&out.chains[r], &outs[i].chains[r]);
                assert_eq!(
                    (a.pools_t0, a.tsmd_t0, a.ceq, a.pools_spinup),
                    (b.pools_t0, b.tsmd_t0, b.ceq, b.pools_spinup),
                    "pixel {i}, chain {r}"
                );
            }
            assert_eq!(out.flags, outs[i].flags, "pixel {i}");
        }
    }

    #[test]
    fn draw_npp_reference_follows_the_drawn_climate() {
        // a dry pixel: MIAMI is limited by precipitation, so the draw's P moves the reference
        let t: [f64; 12] = std::array::from_fn(|m| 24.0 + 4.0 * (m as f64 * 0.5).sin());
        let wt: Vec<f64> = (0..240).map(|k| t[k % 12] + 0.01 * k as f64).collect();
        let wp: Vec<f64> = (0..240)
            .map(|k| 20.0 + (k % 12) as f64 + (k / 12) as f64)
            .collect();
        let rt: Vec<f64> = wt.iter().map(|v| v - 0.5).collect();
        let rp: Vec<f64> = wp.iter().map(|v| v * 0.8).collect();
        let (cover, classes, dr) = ([0.6; 12], [2u8; 20], [1.44; 20]);
        let mut px = PixelInput {
            soc: 40.0,
            clay: 20.0,
            soc_uncertainty: 0.2,
            clay_uncertainty: 0.1,
            spinup_cover: &cover,
            warmup_cover: &cover,
            forward_cover: &cover,
            spinup_temperature: &t,
            spinup_precipitation: &t,
            spinup_pet: &t,
            spinup_class: 2,
            spinup_dpm_rpm: 1.44,
            warmup_temperature: (&wt).into(),
            warmup_precipitation: (&wp).into(),
            warmup_pet: (&wp).into(),
            warmup_class: &classes,
            warmup_dpm_rpm: &dr,
            forward_temperature: &t,
            forward_precipitation: &t,
            forward_pet: &t,
            forward_class: 2,
            forward_dpm_rpm: 1.44,
            npp_reference: [3.0, 2.9, 3.1],
            reference_climate: None,
        };
        // by hand: yearly MIAMI NPP of the perturbed months, averaged over the years
        let by_hand = |t: &[f64], p: &[f64], ft: f64, fp: f64| {
            let mut sum = 0.0;
            for y in 0..t.len() / 12 {
                let months = 12 * y..12 * y + 12;
                let t_mean = t[months.clone()].iter().map(|v| v * ft).sum::<f64>() / 12.0;
                let p_sum = p[months].iter().map(|v| v * fp).sum::<f64>();
                let npp_t = 3000.0 / (1.0 + (1.315 - 0.119 * t_mean).exp());
                let npp_p = 3000.0 * (1.0 - (-0.000664 * p_sum).exp());
                assert!(npp_p < npp_t, "water-limited");
                sum += npp_p.min(npp_t) * 0.01 * 0.5;
            }
            sum / (t.len() / 12) as f64
        };
        let draw = Draw {
            soc: 1.0,
            clay: 1.0,
            temperature: 1.01,
            precipitation: 0.97,
            increase: 1.0,
        };
        for reference in [None, Some([(&rt).into(), (&rp).into()])] {
            px.reference_climate = reference;
            let (t, p) = match reference {
                None => (&wt, &wp),
                Some(_) => (&rt, &rp),
            };
            let central = mean_miami_npp(&px, 1.0, 1.0);
            assert!((central / by_hand(t, p, 1.0, 1.0) - 1.0).abs() < 1e-14);
            let want = 3.0 * by_hand(t, p, 1.01, 0.97) / by_hand(t, p, 1.0, 1.0);
            let got = draw_npp_reference(&px, &draw, central);
            assert!((got / want - 1.0).abs() < 1e-14, "{got} vs {want}");
            // the precipitation draw (-3 %) moves it, nearly in proportion
            assert!(got < 3.0 * 0.985 && got > 3.0 * 0.96, "{got}");
        }
        // the stream of a pixel: the same draws for the same seed and position only
        let a: Vec<Draw> = Draws::new(3, 17, 0.2, 0.1).take(5).collect();
        assert_eq!(a, Draws::new(3, 17, 0.2, 0.1).take(5).collect::<Vec<_>>());
        assert_ne!(a, Draws::new(3, 18, 0.2, 0.1).take(5).collect::<Vec<_>>());
        assert_ne!(a, Draws::new(4, 17, 0.2, 0.1).take(5).collect::<Vec<_>>());
    }

    #[test]
    fn monte_carlo_is_reproducible_per_pixel_and_brackets_the_central_run() {
        let table = ClassTable::default();
        let t: [f64; 12] = std::array::from_fn(|m| 12.0 + 7.0 * (m as f64 * 0.5).sin());
        let pr = [80.0; 12];
        let e: [f64; 12] = std::array::from_fn(|m| 40.0 + 30.0 * (m as f64 * 0.5).sin());
        let cover = [0.6; 12];
        let wt: Vec<f64> = (0..240).map(|k| t[k % 12]).collect();
        let wp: Vec<f64> = (0..240).map(|k| pr[k % 12]).collect();
        let we: Vec<f64> = (0..240).map(|k| e[k % 12]).collect();
        let classes = [2u8; 20];
        let dr = [1.44; 20];
        let px = PixelInput {
            soc: 60.0,
            clay: 30.0,
            soc_uncertainty: 0.2,
            clay_uncertainty: 0.1,
            spinup_cover: &cover,
            warmup_cover: &cover,
            forward_cover: &cover,
            spinup_temperature: &t,
            spinup_precipitation: &pr,
            spinup_pet: &e,
            spinup_class: 2,
            spinup_dpm_rpm: 1.44,
            warmup_temperature: (&wt).into(),
            warmup_precipitation: (&wp).into(),
            warmup_pet: (&we).into(),
            warmup_class: &classes,
            warmup_dpm_rpm: &dr,
            forward_temperature: &t,
            forward_precipitation: &pr,
            forward_pet: &e,
            forward_class: 2,
            forward_dpm_rpm: 1.44,
            npp_reference: [5.0, 4.9, 5.1],
            reference_climate: None,
        };
        let mut opts = options(false);
        opts.horizons = vec![20];
        opts.main_horizon = 0;
        opts.mc_samples = 200;
        let run = |id: u64| {
            let mut out = PixelOutput::default();
            let mut finals = vec![0.0; final_len(&opts)];
            let mut mc = vec![0.0; mc_len(&opts)];
            simulate_pixel(
                &opts,
                &table,
                &px,
                &mut Workspace::default(),
                &mut out,
                &mut finals,
                &mut [],
                &mut mc,
                id,
            );
            (out, finals, mc)
        };
        let (out, _, a) = run(7);
        let (_, _, b) = run(7);
        let (_, _, c) = run(8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        // T0: mean near the central run, the 95 % interval inside the min/max range
        let t0 = out.chains[0].soc_t0;
        assert!((a[0] / t0 - 1.0).abs() < 0.02);
        let (lo, hi) = (out.chains[1].soc_t0, out.chains[2].soc_t0);
        assert!(a[1] < t0 && t0 < a[2]);
        assert!(a[1] > lo - 0.05 * t0 && a[2] < hi + 0.05 * t0);

        // Monte Carlo draws through the lanes (two groups of 3 and a tail of 1; one group of 7)
        // give the bits of draws run one at a time.
        let mut opts7 = options(false);
        opts7.horizons = vec![20];
        opts7.main_horizon = 0;
        opts7.mc_samples = 7;
        let width = 1 + opts7.scenarios.len();
        let mut ws = Workspace::default();
        let draws = |lanes: usize, ws: &mut Workspace| {
            let mut samples = vec![f64::NAN; 7 * width];
            let mut finals = vec![f64::NAN; BATCH * final_len(&opts7)];
            draw_samples(
                &opts7,
                &table,
                &px,
                ws,
                &mut samples,
                &mut finals,
                11,
                lanes,
            );
            samples
        };
        let one = draws(1, &mut ws);
        assert!(one.iter().all(|v| v.is_finite()));
        for lanes in [3, BATCH] {
            assert_eq!(
                one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                draws(lanes, &mut ws)
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                "{lanes} draws at a time"
            );
        }

        // The central, min and max chains run in step give the bits of chains run alone.
        let mut opts = options(false);
        opts.uncertainty = true;
        let mut together = PixelOutput::default();
        let mut finals = vec![f64::NAN; final_len(&opts)];
        let mut ws = Workspace::default();
        simulate_pixel(
            &opts,
            &table,
            &px,
            &mut ws,
            &mut together,
            &mut finals,
            &mut [],
            &mut [],
            0,
        );
        for (r, p) in perturbations(&px).iter().enumerate() {
            let mut alone = PixelOutput::default();
            let mut finals_alone = vec![f64::NAN; final_len(&opts)];
            let job = ChainJob {
                pixel: 0,
                perturb: *p,
                run: 0,
            };
            rothamsted_chains(
                &opts,
                &table,
                std::slice::from_ref(&px),
                &[job],
                &mut ws,
                std::slice::from_mut(&mut alone),
                &mut finals_alone,
                &mut [],
            );
            let (a, b) = (&together.chains[r], &alone.chains[0]);
            assert_eq!(
                (a.pools_t0, a.tsmd_t0, a.cin_mean),
                (b.pools_t0, b.tsmd_t0, b.cin_mean)
            );
            for s in 0..opts.scenarios.len() {
                assert_eq!(
                    finals[index(&opts, 0, s, r)].to_bits(),
                    finals_alone[index(&opts, 0, s, 0)].to_bits(),
                    "chain {r}, scenario {s}"
                );
            }
        }
    }
}
