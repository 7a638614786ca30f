//! A chain of the phases (METHOD.md sections 3-6) for a batch of pixels: spin-up (state at
//! 2000), warm-up (2001..2000+Y, state at t0) and forward scenarios (BAU and SSMs over one or
//! more horizons), each as a central chain and, on request, min/max chains (their
//! `Perturbation`s) or Monte Carlo draws. Both numerical modes of METHOD.md: `Rothamsted`
//! (official RothC numerics, the chains of a batch as the lanes of the core's kernels) and
//! `Fao` (the v1.2 R scripts, [`super::fao`]).

use super::classes::ClassTable;
use super::fao::fao_chains;
use super::forward::{forward_lanes, rothamsted_forward};
use super::montecarlo::monte_carlo;
use super::options::{
    final_len, flags, mc_len, steady_len, Mode, Options, PixelInput, PixelOutput, SpinupMethod,
    WarmupInputs,
};
use super::spinup::{equilibria_of, rothamsted_spinup, Equilibrium};
use super::steady::chain_steady_state;
use super::warmup::warm_up;
use crate::rothc::modifiers::Soil;
use crate::rothc::pools::{total, Pools};
use crate::rothc::step::MonthForcing;
use crate::rothc::water_retention::MoistureFunction;
use crate::rothc::year_map::YearMap;

/// Scratch space reused across pixels (no allocation per pixel).
#[derive(Debug, Default)]
pub struct Workspace {
    pub(crate) rates: Vec<f64>,
    pub(crate) maps: Vec<YearMap>,
    pub(crate) samples: Vec<f64>,
    pub(crate) scratch: Vec<f64>,
    /// Warm-up forcing of each chain of a batch (besides its pixel's).
    pub(crate) warmup: Vec<WarmupChain>,
    /// Chains of a batch between the phases.
    pub(crate) states: Vec<ChainState>,
    /// Spin-up equilibria of the chains of a batch.
    pub(crate) equilibria: Vec<Equilibrium>,
}

/// What the warm-up of a chain takes besides its pixel's series: climate multipliers, the
/// spin-up's equilibrium input and the chain's NPP reference (scaled by the spin-up class).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WarmupChain {
    pub(crate) temperature: f64,
    pub(crate) precipitation: f64,
    /// Equilibrium annual input of the spin-up, t C/ha/yr.
    pub(crate) ceq: f64,
    /// NPP of the reference climate x the spin-up class's coefficient, t C/ha/yr.
    pub(crate) npp_reference: f64,
    /// Whether the warm-up also takes the mean MIAMI NPP of its years (the inputs of a forward
    /// series follow the NPP: [`super::practices::ForwardInputs::NppScaled`]).
    pub(crate) npp_mean: bool,
}

/// A Rothamsted-mode chain between its phases.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainState {
    pub(crate) soil: Soil,
    pub(crate) pools: Pools,
    pub(crate) tsmd: f64,
    /// Mean MIAMI NPP of the warm-up years (t C/ha/yr, before land-use coefficients), when
    /// asked for ([`WarmupChain::npp_mean`]), else NaN.
    pub(crate) npp_mean: f64,
}

/// Perturbation of a chain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Perturbation {
    pub(crate) soc: f64,
    pub(crate) clay: f64,
    pub(crate) temperature: f64,
    pub(crate) precipitation: f64,
    /// Multiplier of the SSM increase.
    pub(crate) increase: f64,
    /// Reference NPP of the chain before the land-use coefficient, t C/ha/yr.
    pub(crate) npp_reference: f64,
}

impl Perturbation {
    /// No perturbation (a placeholder; the reference NPP is set per pixel).
    pub(crate) const NONE: Perturbation = Perturbation {
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
/// The quantities of [`MC_SPREAD`], in order.
pub const MC_SPREAD_NAMES: [&str; 3] = ["temperature", "precipitation", "increase"];

pub(crate) fn perturbations(px: &PixelInput<'_>) -> [Perturbation; 3] {
    let [central, low, high] = MINMAX_CLIMATE;
    // A given yearly NPP (METHOD.md section 10) does not follow the perturbed climate, nor does
    // its reference, the spin-up period's NPP of the same source: the min/max runs divide by
    // it too (as the Monte Carlo draws do), not by the MIAMI _MIN/_MAX rasters.
    let reference = |run: usize| match px.refinements.warmup_inputs {
        WarmupInputs::Npp(_) => px.npp_reference[0],
        _ => px.npp_reference[run],
    };
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
            npp_reference: reference(1),
        },
        Perturbation {
            soc: 1.0 + px.soc_uncertainty,
            clay: 1.0 + px.clay_uncertainty,
            temperature: high[0],
            precipitation: high[1],
            increase: MINMAX_INCREASE[2],
            npp_reference: reference(2),
        },
    ]
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
        Mode::Fao => fao_chains(opts, table, pixels, runs, outs, final_soc),
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

pub(crate) fn index(opts: &Options, h: usize, s: usize, r: usize) -> usize {
    (h * opts.scenarios.len() + s) * 3 + r
}

pub(crate) fn increase(opts: &Options, table: &ClassTable, s: usize, class: u8) -> f64 {
    match table.group[class as usize] {
        g @ 0..=2 => opts.scenarios[s][g as usize],
        _ => 0.0,
    }
}

/// A chain's soil: the pixel's clay perturbed by `p`; with a dryland moisture option, the
/// deficit limits of the pixel's soil water with that clay and, without an organic carbon
/// input, the chain's SOC (perturbed by `p`) over bulk density x depth. A soil whose limits
/// cannot be computed (values the binding's checks refuse) has NaN limits: NaN results.
pub(crate) fn chain_soil(opts: &Options, px: &PixelInput<'_>, p: &Perturbation) -> Soil {
    let clay = px.clay * p.clay;
    if opts.moisture.is_standard() {
        return Soil::new(clay, opts.depth, opts.evap_coefficient);
    }
    let water = px
        .soil_water
        .map(|w| w.soil_water(clay, px.soc * p.soc, opts.depth));
    let moisture = MoistureFunction::new(
        &opts.moisture,
        clay,
        opts.depth,
        water.as_ref(),
        String::new,
    )
    .unwrap_or(MoistureFunction::NAN);
    Soil::with_moisture(clay, opts.depth, opts.evap_coefficient, moisture)
}

/// A year of a chain: the monthly temperature, precipitation and PET of a climatology
/// (temperature and precipitation perturbed by `p`), the cover (the class's default where the
/// pixel has none), the class's rate factor (x the pixel's calibrated `rate_multiplier`) and
/// DPM/RPM ratio, no input.
// inlined with spin_year and forward_year: a call copied the 12 months back (+1 % of the
// periodic chain's instructions, callgrind)
#[inline(always)]
pub(crate) fn chain_year(
    table: &ClassTable,
    [t, pr, pet, cover]: [&[f64; 12]; 4],
    (class, dpm_rpm, rate_multiplier): (u8, f64, f64),
    p: &Perturbation,
) -> [MonthForcing; 12] {
    let paddy = table.paddy[class as usize] * rate_multiplier;
    let cover = &table.cover_or_default(cover, class);
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
#[inline]
pub(crate) fn spin_year(
    table: &ClassTable,
    px: &PixelInput<'_>,
    p: &Perturbation,
) -> [MonthForcing; 12] {
    let climate = [
        px.spinup_temperature,
        px.spinup_precipitation,
        px.spinup_pet,
        px.spinup_cover,
    ];
    chain_year(
        table,
        climate,
        (px.spinup_class, px.spinup_dpm_rpm, px.calibration.rate),
        p,
    )
}

/// The forward year of a chain (the forward climatology).
#[inline]
pub(crate) fn forward_year(
    table: &ClassTable,
    px: &PixelInput<'_>,
    p: &Perturbation,
) -> [MonthForcing; 12] {
    let climate = [
        px.forward_temperature,
        px.forward_precipitation,
        px.forward_pet,
        px.forward_cover,
    ];
    chain_year(
        table,
        climate,
        (px.forward_class, px.forward_dpm_rpm, px.calibration.rate),
        p,
    )
}

/// One Rothamsted-mode chain of a batch: pixel `pixel` of the batch, perturbed by `perturb`,
/// its results in chain `run` of that pixel's output.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainJob {
    pub(crate) pixel: usize,
    pub(crate) perturb: Perturbation,
    pub(crate) run: usize,
}

/// Rothamsted-mode chains of a batch of pixels: each spun up, then the 20 warm-up years of
/// all chains run side by side as the lanes of one kernel ([`super::warmup::warm_up`]; each lane the same
/// bits as a chain run alone), then the forward scenarios of each. `final_soc` and `steady`
/// hold [`final_len`] and [`steady_len`] values per pixel (`steady` filled by run 0 only;
/// empty when not wanted).
#[allow(clippy::too_many_arguments)]
pub(crate) fn rothamsted_chains(
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
            1 => warm_up::<1>(table, st, js, pixels, w, outs),
            2 => warm_up::<2>(table, st, js, pixels, w, outs),
            0..=4 => warm_up::<4>(table, st, js, pixels, w, outs),
            5..=8 => warm_up::<8>(table, st, js, pixels, w, outs),
            _ => warm_up::<16>(table, st, js, pixels, w, outs),
        };
    }
    let (flen, slen) = (final_len(opts), steady.len() / pixels.len().max(1));
    for (job, state) in jobs.iter().zip(&states) {
        let chain = &mut outs[job.pixel].chains[job.run];
        chain.pools_t0 = state.pools;
        chain.soc_t0 = total(&state.pools);
        chain.tsmd_t0 = state.tsmd;
    }
    let stepped = |job: &ChainJob| pixels[job.pixel].refinements.forward_climate.is_some();
    if opts.forward_stepping || jobs.iter().any(stepped) {
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

/// The monthly input (t C/ha) of scenario `s` of a chain whose mean warm-up input is
/// `cin_mean` (t C/ha/yr).
pub(crate) fn scenario_input(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::options::Calibration;
    use crate::phases::testing::{moisture_options, options, TestArea};
    use crate::rothc::water_retention::{MoistureOptions, SoilWaterInput};

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
    fn a_batch_gives_the_bits_of_pixels_run_one_at_a_time() {
        // 19 pixels (a batch of 16 and a tail of 3) of different climates, soils, land-use
        // histories and deficits: different transient years before the forward deficit is
        // periodic, so the lanes of the spin-up, warm-up and forward kernels part ways.
        // every moisture option (the soil water inputs are read by the dryland options only)
        for moisture in moisture_options() {
            batch_equals_pixels(moisture);
        }
    }

    fn batch_equals_pixels(moisture: MoistureOptions) {
        let table = ClassTable::default();
        let n = 19;
        let area = TestArea::new(n);
        let pixels = area.pixels();
        let mut opts = options(false);
        opts.steady_state = true;
        opts.moisture = moisture;
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

    /// Runs pixel `px` alone; (final stocks, output).
    fn alone(opts: &Options, px: &PixelInput<'_>) -> (Vec<f64>, PixelOutput) {
        let mut out = PixelOutput::default();
        let mut fin = vec![0.0; final_len(opts)];
        simulate_pixel(
            opts,
            &ClassTable::default(),
            px,
            &mut Workspace::default(),
            &mut out,
            &mut fin,
            &mut [],
            &mut [],
            0,
        );
        (fin, out)
    }

    #[test]
    fn dryland_options_in_the_chain() {
        let area = TestArea::new(6);
        let [standard, farina2, farina3] = moisture_options();
        let mut opts = options(false);
        let px = area.pixels()[3];
        opts.moisture = standard;
        let (fin_standard, _) = alone(&opts, &px);

        // a soil that never dries (rain every month above the PET): the dryland options give
        // the bits of RothC-26.3 (b = 1 in every month, no limit reached)
        let wet = [400.0; 12];
        let wet_series = vec![400.0; 240];
        let mut humid = px;
        humid.spinup_precipitation = &wet;
        humid.forward_precipitation = &wet;
        humid.warmup_precipitation = (&wet_series).into();
        opts.moisture = standard;
        let (humid_standard, out_standard) = alone(&opts, &humid);
        for moisture in [farina2, farina3] {
            opts.moisture = moisture;
            let (fin, out) = alone(&opts, &humid);
            assert_eq!(fin, humid_standard);
            assert_eq!(out.chains[0].pools_t0, out_standard.chains[0].pools_t0);
            // where it dries, they differ
            let (dry, _) = alone(&opts, &px);
            assert!(dry.iter().zip(&fin_standard).all(|(a, b)| a != b));
        }

        // without organic carbon, each chain's is its SOC / (bulk density x depth): the
        // central chain as with that value given, the min and max chains from their own SOC
        opts.moisture = farina2;
        let derived = SoilWaterInput {
            organic_carbon: None,
            ..px.soil_water.unwrap()
        };
        let given = SoilWaterInput {
            organic_carbon: Some(px.soc / (derived.bulk_density * opts.depth)),
            ..derived
        };
        let (a, out_a) = alone(
            &opts,
            &PixelInput {
                soil_water: Some(derived),
                ..px
            },
        );
        let (b, out_b) = alone(
            &opts,
            &PixelInput {
                soil_water: Some(given),
                ..px
            },
        );
        assert_eq!(out_a.chains[0].pools_t0, out_b.chains[0].pools_t0);
        assert_ne!(out_a.chains[1].pools_t0, out_b.chains[1].pools_t0);
        assert_ne!(a, b);

        // soil water the pedotransfer functions cannot take (a bulk density in cg/cm3): NaN
        // results, flagged (the binding refuses such values before a run)
        let (bad, out) = alone(
            &opts,
            &PixelInput {
                soil_water: Some(SoilWaterInput {
                    bulk_density: 127.0,
                    ..derived
                }),
                ..px
            },
        );
        assert!(bad.iter().all(|v| v.is_nan()));
        assert_ne!(out.flags & flags::NOT_FINITE, 0);
        assert_ne!(out.flags & flags::NO_SOIL_WATER, 0);
    }

    #[test]
    fn soil_water_without_a_retention_curve_is_flagged() {
        // an organic soil (30 % organic carbon, within its range) whose Wösten curve has no
        // ordered deficits (1 bar = wilting point = 0 mm): NaN results, flagged only as not
        // finite before; now NO_SOIL_WATER, which the caller's invalid-input rule takes
        let area = TestArea::new(6);
        let [standard, farina2, farina3] = moisture_options();
        let px = area.pixels()[3];
        let peat = PixelInput {
            soil_water: Some(SoilWaterInput {
                organic_carbon: Some(30.0),
                ..px.soil_water.unwrap()
            }),
            ..px
        };
        let mut opts = options(false);
        for moisture in [farina2, farina3] {
            opts.moisture = moisture;
            let (fin, out) = alone(&opts, &peat);
            assert!(fin.iter().all(|v| v.is_nan()));
            assert_ne!(out.flags & flags::NO_SOIL_WATER, 0, "{moisture:?}");
            let (fin, out) = alone(&opts, &px);
            assert!(fin.iter().all(|v| v.is_finite()));
            assert_eq!(out.flags & flags::NO_SOIL_WATER, 0, "{moisture:?}");
        }
        // RothC-26.3 does not read the soil water
        opts.moisture = standard;
        let (fin, out) = alone(&opts, &peat);
        assert!(fin.iter().all(|v| v.is_finite()));
        assert_eq!(out.flags & flags::NO_SOIL_WATER, 0);
    }

    #[test]
    fn a_spinup_that_never_decomposes_is_flagged() {
        // a rate multiplier of 0 (or a year below -5 degrees C): the rate is 0 every month,
        // no equilibrium; before, NaN results flagged only as not finite (the numerical
        // spin-up: a finite ceq of 500 years' accumulation)
        let area = TestArea::new(4);
        let px = area.pixels()[2];
        let frozen = PixelInput {
            calibration: Calibration {
                input: 1.0,
                rate: 0.0,
            },
            ..px
        };
        for method in [
            SpinupMethod::Equilibrium,
            SpinupMethod::RothamstedIterative,
            SpinupMethod::Analytical,
            SpinupMethod::Numerical,
        ] {
            let mut opts = options(false);
            opts.spinup = method;
            let (fin, out) = alone(&opts, &frozen);
            assert_ne!(out.flags & flags::NO_EQUILIBRIUM, 0, "{method:?}");
            assert!(out.chains[0].ceq.is_nan() && fin.iter().all(|v| v.is_nan()));
            let (fin, out) = alone(&opts, &px);
            assert_eq!(out.flags & flags::NO_EQUILIBRIUM, 0, "{method:?}");
            assert!(out.chains[0].ceq.is_finite() && fin[0].is_finite());
        }
    }

    #[test]
    fn calibration_multipliers() {
        let area = TestArea::new(4);
        let mut opts = options(false);
        opts.uncertainty = false;
        let px = area.pixels()[2];
        let with = |input: f64, rate: f64| PixelInput {
            calibration: Calibration { input, rate },
            ..px
        };
        let (none, out_none) = alone(&opts, &px);
        let (ones, out_ones) = alone(&opts, &with(1.0, 1.0));
        let bits = |v: &[f64]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&none), bits(&ones));
        assert_eq!(out_none.chains[0].pools_t0, out_ones.chains[0].pools_t0);

        // the input multiplier scales every input after the spin-up: SOC is affine in it
        let soc = |k: f64| {
            let (fin, out) = alone(&opts, &with(k, 1.0));
            assert!(
                (out.chains[0].cin_mean / (k * out_none.chains[0].cin_mean) - 1.0).abs() < 1e-15
            );
            assert_eq!(out.chains[0].pools_spinup, out_none.chains[0].pools_spinup);
            (out.chains[0].soc_t0, fin[0])
        };
        let (a, b, c) = (soc(0.6), soc(1.0), soc(1.4));
        assert!((a.0 + c.0 - 2.0 * b.0).abs() < 1e-12 * b.0);
        assert!((a.1 + c.1 - 2.0 * b.1).abs() < 1e-12 * b.1);
        assert!(a.0 < b.0 && b.0 < c.0);

        // the rate multiplier: the class table's rate factors x k, in every phase
        let mut table = ClassTable::default();
        for f in table.paddy.iter_mut() {
            *f *= 0.8;
        }
        let mut out = PixelOutput::default();
        let mut fin = vec![0.0; final_len(&opts)];
        simulate_pixel(
            &opts,
            &table,
            &px,
            &mut Workspace::default(),
            &mut out,
            &mut fin,
            &mut [],
            &mut [],
            0,
        );
        let (fin_rate, out_rate) = alone(&opts, &with(1.0, 0.8));
        assert_eq!(bits(&fin_rate), bits(&fin));
        assert_eq!(out_rate.chains[0].pools_t0, out.chains[0].pools_t0);
        assert_ne!(fin_rate[0], none[0]);
    }
}
