//! Phase 3, the forward runs (METHOD.md section 5): the forward climate when no forward layers
//! are given ([`forward_climatology`]), and the runs of Rothamsted-mode chains from t0, every
//! scenario and horizon in closed form (the periodic year's affine map raised to the years left,
//! up to 16 chains as lanes) or month by month (for checking).

use super::chain::{
    forward_year, index, scenario_input, ChainJob, ChainState, Perturbation, Workspace,
};
use super::classes::ClassTable;
use super::options::{final_len, flags, Options, PixelInput, PixelOutput};
use crate::input::series::Series;
use crate::rothc::modifiers::Soil;
use crate::rothc::pools::{total, Pools};
use crate::rothc::step::{decompose, MonthForcing, YearRates};
use crate::rothc::year_map::{YearMap, YearMaps};

/// The forward climate of a pixel without forward layers (METHOD.md section 5): the 12 monthly
/// means of its warm-up series (degrees C or mm), as numpy's
/// `series.reshape(years, 12).mean(axis=0)` computes them (the years added in order from the
/// first, then divided by their number).
pub fn forward_climatology(series: &Series<'_>) -> [f64; 12] {
    let years = series.len() / 12;
    let mut sum = series.year(0);
    for y in 1..years {
        for (s, x) in sum.iter_mut().zip(series.year(y)) {
            *s += x;
        }
    }
    sum.map(|s| s / years as f64)
}

/// Forward scenarios of a Rothamsted-mode chain from its state at t0, one chain at a time:
/// stepped month by month, or in closed form.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rothamsted_forward(
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
pub(crate) fn forward_lanes<const L: usize>(
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

/// Month-by-month forward runs of every scenario (the reference for the closed form).
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_stepping(
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
/// into `final_soc` (indexed as in [`super::chain::simulate_pixel`]). Returns whether a pool
/// went negative. Panics unless `r < 3` and `final_soc.len() >= final_len(opts)`.
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
pub(crate) fn write_finals(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::chain::{simulate_pixel, Workspace};
    use crate::phases::options::{Calibration, PixelInput, PixelOutput};
    use crate::phases::testing::{moisture_options, options, soil_water};

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
                soil_water: None,
                calibration: Calibration::NONE,
            };
            for (k, moisture) in moisture_options().into_iter().enumerate() {
                let px = PixelInput {
                    soil_water: Some(soil_water(k)),
                    ..px
                };
                let mut results = Vec::new();
                for stepping in [false, true] {
                    let mut opts = options(stepping);
                    opts.moisture = moisture;
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
                    assert!(
                        (a / b - 1.0).abs() < 1e-12,
                        "{a} vs {b} (T {t_mean}, {moisture:?})"
                    );
                }
            }
        }
    }
}
