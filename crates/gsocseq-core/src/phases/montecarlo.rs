//! Monte Carlo chains (METHOD.md section 6): draws of SOC, clay, temperature, precipitation and
//! the SSM increase whose 95 % limits are the min/max factors, reproducible per pixel, each draw
//! a chain of its own in the lanes of one kernel; their statistics.

use super::chain::{index, rothamsted_chains, ChainJob, Perturbation, Workspace, BATCH, MC_SPREAD};
use super::classes::ClassTable;
use super::options::{final_len, Options, PixelInput, PixelOutput, WarmupInputs};
use crate::fao;

/// Monte Carlo chains (METHOD.md section 6): SOC, clay, temperature, precipitation and the
/// SSM increase drawn from normal distributions whose 95 % limits are the min/max factors.
pub(crate) fn monte_carlo(
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
pub(crate) fn draw_samples(
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

impl Draw {
    /// The factors in the order of the fields: SOC, clay, temperature, precipitation, increase.
    pub fn factors(&self) -> [f64; 5] {
        [
            self.soc,
            self.clay,
            self.temperature,
            self.precipitation,
            self.increase,
        ]
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
/// NPP_ref x M(T fT, P fP) / M(T, P) ([`mean_miami_npp`]; `central` = M(T, P)); NPP_ref itself
/// when the warm-up takes the pixel's NPP or carbon inputs (METHOD.md section 10), which do not
/// follow the climate.
pub fn draw_npp_reference(px: &PixelInput<'_>, draw: &Draw, central: f64) -> f64 {
    match px.refinements.warmup_inputs {
        // the warm-up's NPP (or inputs) do not follow the climate: nor does its reference
        WarmupInputs::Npp(_) | WarmupInputs::Carbon(_) => px.npp_reference[0],
        WarmupInputs::Miami => {
            px.npp_reference[0] * mean_miami_npp(px, draw.temperature, draw.precipitation) / central
        }
    }
}

/// Mean and the 2.5 and 97.5 percentiles (linear interpolation between order statistics, as
/// numpy's default) of `values`; NaN when any value is not finite.
pub(crate) fn summarize(values: &mut [f64]) -> (f64, f64, f64) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::chain::{perturbations, simulate_pixel};
    use crate::phases::options::mc_len;
    use crate::phases::testing::{options, OnePixel};

    #[test]
    fn draw_npp_reference_follows_the_drawn_climate() {
        // a dry pixel: MIAMI is limited by precipitation, so the draw's P moves the reference
        let t: [f64; 12] = std::array::from_fn(|m| 24.0 + 4.0 * (m as f64 * 0.5).sin());
        let one = OnePixel::new(t, t, t, [0.6; 12], 2, 0.01);
        let wt = one.wt.clone();
        let wp: Vec<f64> = (0..240)
            .map(|k| 20.0 + (k % 12) as f64 + (k / 12) as f64)
            .collect();
        let rt: Vec<f64> = wt.iter().map(|v| v - 0.5).collect();
        let rp: Vec<f64> = wp.iter().map(|v| v * 0.8).collect();
        let mut px = PixelInput {
            warmup_precipitation: (&wp).into(),
            warmup_pet: (&wp).into(),
            ..one.input(40.0, 20.0, [3.0, 2.9, 3.1])
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
        let one = OnePixel::new(t, pr, e, [0.6; 12], 2, 0.0);
        let px = one.input(60.0, 30.0, [5.0, 4.9, 5.1]);
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

    #[test]
    fn a_draws_factors_are_its_fields_in_order() {
        let d = Draws::new(3, 11, 0.2, 0.1).next().unwrap();
        let f = [d.soc, d.clay, d.temperature, d.precipitation, d.increase];
        assert_eq!(d.factors(), f);
    }
}
